//! The viewer's verified identity: which token a request carries, whether the route requires
//! one, and the zone and data subject it names. Configured by a residency file's `identity`
//! ([`IdentitySpec`]); the token itself is checked by [`crate::jwt`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::jwt::{Issuer, JwtError, Verifier};
use crate::request::Request;
use crate::select::{normalize_path, PathPattern};

/// Where the zone and the data subject come from when the viewer presents an identity token
/// (a JWT, RFC 7519) from one of `issuers`. The token is verified at the edge with the
/// issuers' public keys, given at package time (`pii-edge package --issuer-jwks`): no
/// network call. See `docs/residency.md`, "Zone from a verified token".
///
/// - A request that carries a token in the configured place has it verified: a token that
///   fails (bad signature, expired, wrong audience, an unknown issuer or key, ...) is refused
///   with 401 on every route, never ignored.
/// - On a `required` route a request without a token is refused with 401, and when
///   `zoneClaim` is set the zone comes from the token only (never from a resolve step the
///   viewer controls).
/// - Elsewhere a request without a token resolves its zone by the `resolve` steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct IdentitySpec {
    /// The identity providers whose tokens are accepted.
    pub issuers: Vec<IssuerSpec>,
    /// Where the token is: `{"header": "authorization"}` (the default; `Bearer <token>`) or
    /// `{"cookie": "<name>"}`.
    #[serde(default)]
    pub token: TokenSource,
    /// Clock tolerance on `exp`, `nbf` and `iat`, in seconds (at most 300; default 60).
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
    /// The claim that names the zone (`custom:residency`): its value is a zone name, or a
    /// country code mapped through `countries`. Absent: the zone is resolved as without a
    /// token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_claim: Option<String>,
    /// The claim that names the data subject, bound into the receipt (default `sub`).
    #[serde(default = "default_subject_claim")]
    pub subject_claim: String,
    /// Routes (path patterns, as in a policy's `match.paths`) on which a verified token is
    /// required.
    #[serde(default)]
    pub required: Vec<String>,
}

/// One identity provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct IssuerSpec {
    /// The issuer identifier, exactly as in the tokens' `iss`
    /// (`https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_AbC`).
    pub issuer: String,
    /// The audiences (`aud`) accepted: the application's client id(s) or API identifier.
    pub audiences: Vec<String>,
    /// The issuer's public JWK Set (`{"keys": [...]}`, what its `jwks_uri` serves), put here
    /// by `pii-edge package --issuer-jwks` or written inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
}

/// Where the identity token travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub enum TokenSource {
    /// A header (case-insensitive) whose value is `Bearer <token>`.
    Header(String),
    /// A cookie whose value is the token.
    Cookie(String),
}

impl Default for TokenSource {
    fn default() -> Self {
        TokenSource::Header("authorization".into())
    }
}

fn default_leeway() -> u64 {
    60
}

fn default_subject_claim() -> String {
    "sub".into()
}

/// Longest clock tolerance accepted in a configuration, in seconds.
const MAX_LEEWAY: u64 = 300;

/// A compiled `identity` configuration (see [`IdentitySpec`]).
#[derive(Debug, Clone)]
pub struct Identity {
    verifier: Verifier,
    token: TokenSource,
    zone_claim: Option<String>,
    subject_claim: String,
    required: Vec<PathPattern>,
}

/// What a verified token says about the request.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Identified {
    /// The issuer (`iss`) whose key verified the token.
    pub issuer: String,
    /// The data subject (the configured subject claim, `sub` by default), when the token has it
    /// as a string.
    pub subject: Option<String>,
    /// The zone the token names (through `zoneClaim`), when configured and known.
    pub zone: Option<String>,
}

impl fmt::Debug for Identified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identified")
            .field("issuer", &self.issuer)
            .field("subject", &self.subject.as_ref().map(|_| "<redacted>"))
            .field("zone", &self.zone)
            .finish()
    }
}

/// Why a request's identity was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityError {
    /// The route requires a verified token and the request carries none (or the header is
    /// not `Bearer <token>`, or is repeated).
    Missing,
    /// The token did not verify.
    Invalid(JwtError),
    /// The route requires a token and `zoneClaim` is set, but the verified token names no
    /// configured zone or country.
    NoZone,
}

impl IdentityError {
    /// The HTTP status to answer with: 401 (RFC 6750: no or an invalid token), 403 for a
    /// valid token that names no zone.
    pub fn status(&self) -> u16 {
        match self {
            IdentityError::NoZone => 403,
            _ => 401,
        }
    }

    /// A stable code (the suffix of the problem type).
    pub fn code(&self) -> &'static str {
        match self {
            IdentityError::Missing => "token-missing",
            IdentityError::Invalid(e) => e.code(),
            IdentityError::NoZone => "token-no-zone",
        }
    }
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityError::Missing => f.write_str(
                "this route requires a verified identity token: send `Authorization: Bearer <token>` (or the configured cookie) from a configured issuer",
            ),
            IdentityError::Invalid(e) => e.fmt(f),
            IdentityError::NoZone => f.write_str(
                "the verified token names no residency zone this edge knows (its zone claim is missing or unmapped)",
            ),
        }
    }
}

impl std::error::Error for IdentityError {}

impl Identity {
    /// Compiles the configuration; every problem as a message.
    pub(crate) fn compile(spec: &IdentitySpec) -> Result<Identity, Vec<String>> {
        let mut problems = Vec::new();
        if spec.issuers.is_empty() {
            problems.push("identity: give at least one issuer".to_owned());
        }
        let mut issuers = Vec::new();
        for (i, issuer) in spec.issuers.iter().enumerate() {
            if spec.issuers[..i].iter().any(|e| e.issuer == issuer.issuer) {
                problems.push(format!("identity.issuers[{i}]: the issuer is listed twice"));
            }
            let Some(jwks) = &issuer.jwks else {
                problems.push(format!(
                    "identity.issuers[{i}] ({}): no key set; give it with `pii-edge package --issuer-jwks {}=FILE` (the JWKS its jwks_uri serves) or inline as `jwks`",
                    issuer.issuer, issuer.issuer
                ));
                continue;
            };
            match Issuer::from_jwks_value(issuer.issuer.clone(), issuer.audiences.clone(), jwks) {
                Ok(issuer) => issuers.push(issuer),
                Err(e) => problems.push(format!("identity.issuers[{i}] ({}): {e}", issuer.issuer)),
            }
        }
        if spec.leeway_seconds > MAX_LEEWAY {
            problems.push(format!("identity.leewaySeconds: at most {MAX_LEEWAY}"));
        }
        match &spec.token {
            TokenSource::Header(n) | TokenSource::Cookie(n) if n.is_empty() => {
                problems.push("identity.token: the header or cookie name is empty".to_owned())
            }
            _ => {}
        }
        let mut required = Vec::new();
        for (i, pattern) in spec.required.iter().enumerate() {
            match PathPattern::parse(pattern) {
                Ok(p) => required.push(p),
                Err(e) => problems.push(format!("identity.required[{i}]: {e}")),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Identity {
            verifier: Verifier::new(issuers, spec.leeway_seconds),
            token: spec.token.clone(),
            zone_claim: spec.zone_claim.clone(),
            subject_claim: spec.subject_claim.clone(),
            required,
        })
    }

    /// The token verifier (the issuers and their packaged key sets).
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Whether a verified token is required on this request's path.
    pub fn required_for(&self, req: &Request) -> bool {
        let segments = normalize_path(&req.path);
        self.required.iter().any(|p| p.matches(&segments))
    }

    /// The token the request carries: `Ok(None)` when it carries none, `Err` when the place
    /// is used but not as it must be (a repeated header, not `Bearer`).
    fn token<'r>(&'r self, req: &'r Request) -> Result<Option<&'r str>, IdentityError> {
        match &self.token {
            TokenSource::Header(name) => {
                let mut values = req.header_values(name);
                match (values.next(), values.next()) {
                    (None, _) => Ok(None),
                    (Some(v), None) => {
                        let v = v.trim();
                        match v.split_once(' ') {
                            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                                Ok(Some(token.trim()))
                            }
                            _ => Err(IdentityError::Invalid(JwtError::Malformed(
                                "the header is not `Bearer <token>`",
                            ))),
                        }
                    }
                    _ => Err(IdentityError::Invalid(JwtError::Malformed(
                        "the token header is repeated",
                    ))),
                }
            }
            TokenSource::Cookie(name) => {
                let mut found = req
                    .header_values("cookie")
                    .flat_map(|c| c.split(';'))
                    .filter_map(|pair| pair.split_once('='))
                    .filter(|(n, _)| n.trim() == name)
                    .map(|(_, v)| v.trim());
                match (found.next(), found.next()) {
                    (first, None) => Ok(first),
                    _ => Err(IdentityError::Invalid(JwtError::Malformed(
                        "the token cookie is repeated",
                    ))),
                }
            }
        }
    }

    /// Checks a request's identity at `now` (unix seconds); `zone_of` maps a claim value (a
    /// zone or a country) to a zone. `Ok(None)`: no token, on a route that does not require
    /// one.
    pub(crate) fn check<'z>(
        &self,
        req: &Request,
        now: u64,
        zone_of: impl Fn(&str) -> Option<&'z str>,
    ) -> Result<Option<Identified>, IdentityError> {
        let required = self.required_for(req);
        let token = match self.token(req)? {
            Some(token) => token,
            None if required => return Err(IdentityError::Missing),
            None => return Ok(None),
        };
        let verified = self
            .verifier
            .verify(token, now)
            .map_err(IdentityError::Invalid)?;
        let zone = self
            .zone_claim
            .as_deref()
            .and_then(|claim| verified.claim_str(claim))
            .and_then(zone_of)
            .map(str::to_owned);
        if required && self.zone_claim.is_some() && zone.is_none() {
            return Err(IdentityError::NoZone);
        }
        Ok(Some(Identified {
            subject: verified.claim_str(&self.subject_claim).map(str::to_owned),
            issuer: verified.issuer,
            zone,
        }))
    }
}
