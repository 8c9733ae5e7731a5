//! Verifying the viewer's identity token: a JSON Web Token (RFC 7519) signed as a JWS in the
//! compact serialization (RFC 7515 §7.1), against key sets given in advance (no network).
//!
//! The edge chooses a residency zone and names the data subject from what a token says, so
//! only a token whose signature, issuer, audience and validity period all check out counts:
//!
//! - **The algorithm comes from the key**, never from the token: an `RSA` key verifies `RS256`
//!   (or `PS256` when the key says `"alg": "PS256"`), an `EC` P-256 key `ES256`, an `OKP`
//!   Ed25519 key `EdDSA` (`Ed25519`, RFC 9864). A token whose `alg` differs from its key's is
//!   refused, so `alg: none`, `HS256` keyed with the public key (algorithm confusion) and
//!   `RS256`/`PS256` switching all fail. Shared-secret (`oct`) keys are refused at load: the
//!   package is public, and a public secret verifies nothing.
//! - **`iss` picks the key set**, `kid` the key in it: a token signed by another issuer's key
//!   names a `kid` its claimed issuer does not have. A `kid` that looks like a key id but is
//!   not in the set is [`JwtError::UnknownKey`]: the packaged key set is stale.
//! - Headers that would fetch or carry keys (`jku`, `x5u`, `jwk`, `x5c`) and any `crit`
//!   extension are refused: we understand none, and we never take a key from the token.
//! - Header and payload are parsed strictly: a repeated member name (`{"sub":"a","sub":"b"}`,
//!   which parsers resolve differently) is refused, as are tokens over [`MAX_TOKEN_LEN`].
//! - `exp` is required; `exp`, `nbf` and `iat` are checked with the configured leeway; `aud`
//!   must name one of the issuer's audiences.
//!
//! ```
//! use pii_core::jwt::{Issuer, Verifier, JwtError};
//!
//! let jwks = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1",
//!   "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
//! let issuer = Issuer::from_jwks("https://id.example", vec!["app".into()], jwks)?;
//! let verifier = Verifier::new(vec![issuer], 60);
//! // An unsigned token is refused whatever it claims.
//! let none = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUifQ.";
//! assert_eq!(verifier.verify(none, 1_700_000_000), Err(JwtError::AlgNone));
//! # Ok::<(), pii_core::jwt::JwtError>(())
//! ```

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::crypto::JwsKey;

/// Longest token accepted, in bytes (header, payload and signature with the dots). Identity
/// tokens of Cognito, Auth0 and Okta are 1 to 2 KB; CloudFront limits all headers to 20 KB.
pub const MAX_TOKEN_LEN: usize = 8192;
/// Longest decoded protected header, in bytes.
pub const MAX_HEADER_LEN: usize = 1024;
/// Deepest nesting in a header or payload.
const MAX_DEPTH: usize = 16;
/// Longest `kid` (characters).
const MAX_KID_LEN: usize = 256;

/// Why a token was refused, or a key set was not accepted. Messages never quote the token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwtError {
    /// Not three base64url parts of a JSON header and payload (a JWE, five parts, is this
    /// too), or a part is not valid base64url / JSON / an object.
    Malformed(&'static str),
    /// Longer than [`MAX_TOKEN_LEN`], or a header longer than [`MAX_HEADER_LEN`].
    TooLarge,
    /// `alg: none`: an unsigned token.
    AlgNone,
    /// The token's `alg` is not the algorithm of the key its `kid` selects.
    AlgorithmMismatch,
    /// The header has `crit`, or a member that would fetch or carry a key.
    UnsupportedHeader(&'static str),
    /// A member name appears twice in the header or the payload.
    DuplicateMember,
    /// `iss` is missing or names no configured issuer.
    UnknownIssuer,
    /// The `kid` is not in the issuer's packaged key set (or the token has no `kid` and the
    /// set has several keys): the package was built before the issuer rotated its keys.
    UnknownKey,
    /// The signature does not verify.
    BadSignature,
    /// `exp` is missing, or not a number.
    MissingExpiry,
    /// `exp` has passed (beyond the leeway).
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    IssuedInFuture,
    /// `aud` does not name one of the issuer's audiences.
    WrongAudience,
    /// A key of a key set is unusable (configuration, at package time or load).
    Key {
        /// Its position in the set.
        index: usize,
        /// Why.
        reason: String,
    },
}

impl JwtError {
    /// A stable, short code for logs and problem types (`token-expired`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            JwtError::UnknownKey => "token-key-unknown",
            JwtError::Expired => "token-expired",
            _ => "token-invalid",
        }
    }
}

impl fmt::Display for JwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwtError::Malformed(what) => write!(f, "the token is not a signed JWT: {what}"),
            JwtError::TooLarge => write!(
                f,
                "the token is over {MAX_TOKEN_LEN} bytes or its header over {MAX_HEADER_LEN}"
            ),
            JwtError::AlgNone => f.write_str("the token is unsigned (alg none)"),
            JwtError::AlgorithmMismatch => f.write_str(
                "the token's alg is not the algorithm of its issuer's key (the key decides)",
            ),
            JwtError::UnsupportedHeader(what) => {
                write!(f, "the token's header has `{what}`, which is refused")
            }
            JwtError::DuplicateMember => {
                f.write_str("the token repeats a member name in its header or claims")
            }
            JwtError::UnknownIssuer => f.write_str("the token's issuer (iss) is not configured"),
            JwtError::UnknownKey => f.write_str(
                "the token is signed with a key (kid) that is not in the key set packaged for its issuer: the packaged key set is stale; rebuild the package with the issuer's current JWKS",
            ),
            JwtError::BadSignature => f.write_str("the token's signature does not verify"),
            JwtError::MissingExpiry => f.write_str("the token has no numeric exp"),
            JwtError::Expired => f.write_str("the token has expired"),
            JwtError::NotYetValid => f.write_str("the token is not valid yet (nbf)"),
            JwtError::IssuedInFuture => f.write_str("the token is issued in the future (iat)"),
            JwtError::WrongAudience => {
                f.write_str("the token is not for this application (aud)")
            }
            JwtError::Key { index, reason } => write!(f, "key #{index}: {reason}"),
        }
    }
}

impl std::error::Error for JwtError {}

/// One key of an issuer.
#[derive(Clone)]
struct IssuerKey {
    kid: Option<String>,
    key: JwsKey,
}

impl IssuerKey {
    /// The `alg` names a token signed with this key may carry.
    fn accepts(&self, alg: &str) -> bool {
        match self.key {
            JwsKey::Rs256 { .. } => alg == "RS256",
            JwsKey::Ps256 { .. } => alg == "PS256",
            #[cfg(feature = "es256")]
            JwsKey::Es256(_) => alg == "ES256",
            JwsKey::Ed25519(_) => alg == "EdDSA" || alg == "Ed25519",
        }
    }
}

/// An identity provider: its issuer identifier, the audiences it issues tokens for that this
/// edge accepts, and its public key set (taken at package time).
#[derive(Clone)]
pub struct Issuer {
    issuer: String,
    audiences: Vec<String>,
    keys: Vec<IssuerKey>,
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("keys", &self.keys.len())
            .finish()
    }
}

fn b64(value: Option<&Value>, index: usize, member: &str) -> Result<Vec<u8>, JwtError> {
    let text = value.and_then(Value::as_str).ok_or_else(|| JwtError::Key {
        index,
        reason: format!("`{member}` is missing or not a string"),
    })?;
    URL_SAFE_NO_PAD.decode(text).map_err(|_| JwtError::Key {
        index,
        reason: format!("`{member}` is not base64url without padding"),
    })
}

/// One JWK (RFC 7517) as a verifying key, with its algorithm taken from `kty`/`crv`/`alg`.
fn parse_key(index: usize, jwk: &Map<String, Value>) -> Result<IssuerKey, JwtError> {
    let fail = |reason: String| JwtError::Key { index, reason };
    let text = |m: &str| jwk.get(m).and_then(Value::as_str);
    for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
        if jwk.contains_key(private) {
            return Err(fail(format!(
                "has the private or secret member `{private}`: an issuer's key set for the edge holds public keys only"
            )));
        }
    }
    if let Some(u) = jwk.get("use") {
        if u.as_str() != Some("sig") {
            return Err(fail("`use` is not `sig`".into()));
        }
    }
    let alg = text("alg");
    let key = match (text("kty"), text("crv")) {
        (Some("RSA"), _) => {
            let n = b64(jwk.get("n"), index, "n")?;
            let e = b64(jwk.get("e"), index, "e")?;
            let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
            if !(2048..=8192).contains(&bits) {
                return Err(fail(format!(
                    "an RSA modulus of about {bits} bits; 2048 to 8192 are accepted"
                )));
            }
            match alg {
                None | Some("RS256") => JwsKey::Rs256 { n, e },
                Some("PS256") => JwsKey::Ps256 { n, e },
                Some(other) => {
                    return Err(fail(format!(
                        "alg `{}` for an RSA key; RS256 and PS256 are supported",
                        other.chars().take(16).collect::<String>()
                    )))
                }
            }
        }
        #[cfg(not(feature = "es256"))]
        (Some("EC"), Some("P-256")) => {
            return Err(fail(
                "an EC P-256 key (ES256): this build leaves ES256 out (ring's P-256 table is about 140 KB of the 1 MB package); build the addon with `cargo build --release -p pii-edge-node --features es256` and package with `--es256`"
                    .into(),
            ))
        }
        #[cfg(feature = "es256")]
        (Some("EC"), Some("P-256")) if matches!(alg, None | Some("ES256")) => {
            let x = b64(jwk.get("x"), index, "x")?;
            let y = b64(jwk.get("y"), index, "y")?;
            if x.len() != 32 || y.len() != 32 {
                return Err(fail("P-256 coordinates must be 32 bytes each".into()));
            }
            let mut point = Vec::with_capacity(65);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            JwsKey::Es256(point)
        }
        (Some("OKP"), Some("Ed25519")) if matches!(alg, None | Some("EdDSA" | "Ed25519")) => {
            let x = b64(jwk.get("x"), index, "x")?;
            let x: [u8; 32] = x
                .try_into()
                .map_err(|_| fail("an Ed25519 key must be 32 bytes".into()))?;
            JwsKey::Ed25519(x)
        }
        (Some("oct"), _) => {
            return Err(fail(
                "a shared-secret key (HS256): the edge package is public, so a secret in it verifies nothing; use the issuer's public keys"
                    .into(),
            ))
        }
        _ => {
            return Err(fail(
                "unsupported key: RSA (RS256, PS256), EC P-256 (ES256) and OKP Ed25519 (EdDSA) are supported"
                    .into(),
            ))
        }
    };
    let kid = match jwk.get("kid") {
        None => None,
        Some(Value::String(k)) if !k.is_empty() && k.chars().count() <= MAX_KID_LEN => {
            Some(k.clone())
        }
        Some(_) => {
            return Err(fail(format!(
                "`kid` must be a string of 1 to {MAX_KID_LEN} characters"
            )))
        }
    };
    Ok(IssuerKey { kid, key })
}

impl Issuer {
    /// An issuer with its public JWK Set (`{"keys": [...]}`, as the issuer's `jwks_uri`
    /// serves it). Every key must be usable: RSA of 2048 to 8192 bits, EC P-256 or OKP
    /// Ed25519, `use` absent or `sig`, no private member; `kid`s unique, and present when the
    /// set has more than one key. `audiences` must not be empty.
    pub fn from_jwks(
        issuer: impl Into<String>,
        audiences: Vec<String>,
        jwks: &str,
    ) -> Result<Issuer, JwtError> {
        let set: Value = serde_json::from_str(jwks)
            .map_err(|_| JwtError::Malformed("the key set is not JSON"))?;
        Issuer::from_jwks_value(issuer, audiences, &set)
    }

    /// [`Issuer::from_jwks`] for a parsed set.
    pub fn from_jwks_value(
        issuer: impl Into<String>,
        audiences: Vec<String>,
        set: &Value,
    ) -> Result<Issuer, JwtError> {
        let issuer = issuer.into();
        let keys = set
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(JwtError::Malformed("the key set is not {\"keys\": [...]}"))?;
        let mut parsed: Vec<IssuerKey> = Vec::with_capacity(keys.len());
        for (index, key) in keys.iter().enumerate() {
            let map = key.as_object().ok_or_else(|| JwtError::Key {
                index,
                reason: "not a JSON object".into(),
            })?;
            let key = parse_key(index, map)?;
            if keys.len() > 1 && key.kid.is_none() {
                return Err(JwtError::Key {
                    index,
                    reason: "no `kid`, in a set of several keys".into(),
                });
            }
            if parsed.iter().any(|k| k.kid == key.kid) {
                return Err(JwtError::Key {
                    index,
                    reason: "the same `kid` as an earlier key".into(),
                });
            }
            parsed.push(key);
        }
        if parsed.is_empty() {
            return Err(JwtError::Malformed("the key set has no key"));
        }
        if audiences.is_empty() || audiences.iter().any(String::is_empty) {
            return Err(JwtError::Malformed(
                "an issuer needs at least one non-empty audience (its client or API id)",
            ));
        }
        Ok(Issuer {
            issuer,
            audiences,
            keys: parsed,
        })
    }

    /// The issuer identifier (`iss`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The key ids of its packaged key set, in order (`None` for a lone key without one).
    pub fn kids(&self) -> Vec<Option<&str>> {
        self.keys.iter().map(|k| k.kid.as_deref()).collect()
    }
}

/// A verified token: who issued it and what it claims.
#[derive(Clone, PartialEq)]
pub struct Verified {
    /// The issuer (`iss`) whose key verified it.
    pub issuer: String,
    /// Every claim of the payload.
    pub claims: Map<String, Value>,
}

impl fmt::Debug for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Claims are personal data (email, name): only their names.
        f.debug_struct("Verified")
            .field("issuer", &self.issuer)
            .field("claims", &self.claims.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Verified {
    /// A claim as a string, when it is one.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

/// Verifies tokens against the packaged key sets of several issuers.
#[derive(Debug, Clone)]
pub struct Verifier {
    issuers: Vec<Issuer>,
    leeway: u64,
}

/// A NumericDate (RFC 7519 §2): a non-negative number of seconds, possibly fractional.
fn numeric_date(v: &Value) -> Option<f64> {
    v.as_f64().filter(|n| n.is_finite() && *n >= 0.0)
}

fn decode_part(part: &str, what: &'static str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Malformed(what))
}

fn parse_object(bytes: &[u8], what: &'static str) -> Result<Map<String, Value>, JwtError> {
    match crate::json::parse_strict(bytes, MAX_DEPTH) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(JwtError::Malformed(what)),
        Err(crate::json::JsonProblem::DuplicateKey { .. }) => Err(JwtError::DuplicateMember),
        Err(_) => Err(JwtError::Malformed(what)),
    }
}

impl Verifier {
    /// A verifier for these issuers, with `leeway_seconds` of clock tolerance on `exp`, `nbf`
    /// and `iat`.
    pub fn new(issuers: Vec<Issuer>, leeway_seconds: u64) -> Verifier {
        Verifier {
            issuers,
            leeway: leeway_seconds,
        }
    }

    /// The configured issuers.
    pub fn issuers(&self) -> &[Issuer] {
        &self.issuers
    }

    /// Verifies a compact JWS token at `now` (unix seconds). See the module documentation for
    /// every check, in the order they run.
    pub fn verify(&self, token: &str, now: u64) -> Result<Verified, JwtError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed("not three dot-separated parts"));
        };
        if h.len() > MAX_HEADER_LEN * 4 / 3 + 4 {
            return Err(JwtError::TooLarge);
        }
        let header = parse_object(
            &decode_part(h, "the header is not base64url")?,
            "the header is not a JSON object",
        )?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(JwtError::Malformed("the header has no string alg"))?;
        if alg.eq_ignore_ascii_case("none") {
            return Err(JwtError::AlgNone);
        }
        for refused in ["crit", "jku", "x5u", "jwk", "x5c"] {
            if header.contains_key(refused) {
                return Err(JwtError::UnsupportedHeader(refused));
            }
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(k)) => Some(k.as_str()),
            Some(_) => return Err(JwtError::Malformed("kid is not a string")),
        };
        let claims = parse_object(
            &decode_part(p, "the payload is not base64url")?,
            "the payload is not a JSON object",
        )?;
        let iss = claims.get("iss").and_then(Value::as_str);
        let issuer = self
            .issuers
            .iter()
            .find(|i| Some(i.issuer.as_str()) == iss)
            .ok_or(JwtError::UnknownIssuer)?;
        let key = match kid {
            Some(kid) => issuer.keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
            None if issuer.keys.len() == 1 => issuer.keys.first(),
            None => None,
        }
        .ok_or(JwtError::UnknownKey)?;
        if !key.accepts(alg) {
            return Err(JwtError::AlgorithmMismatch);
        }
        let signature = decode_part(s, "the signature is not base64url")?;
        let signed = &token.as_bytes()[..h.len() + 1 + p.len()];
        if !key.key.verify(signed, &signature) {
            return Err(JwtError::BadSignature);
        }
        self.check_claims(issuer, &claims, now)?;
        Ok(Verified {
            issuer: issuer.issuer.clone(),
            claims,
        })
    }

    fn check_claims(
        &self,
        issuer: &Issuer,
        claims: &Map<String, Value>,
        now: u64,
    ) -> Result<(), JwtError> {
        let now = now as f64;
        let leeway = self.leeway as f64;
        let date = |name: &str| -> Result<Option<f64>, JwtError> {
            match claims.get(name) {
                None => Ok(None),
                Some(v) => numeric_date(v).map(Some).ok_or(JwtError::Malformed(
                    "a date claim is not a non-negative number",
                )),
            }
        };
        let exp = date("exp")?.ok_or(JwtError::MissingExpiry)?;
        if now > exp + leeway {
            return Err(JwtError::Expired);
        }
        if date("nbf")?.is_some_and(|nbf| now + leeway < nbf) {
            return Err(JwtError::NotYetValid);
        }
        if date("iat")?.is_some_and(|iat| iat > now + leeway) {
            return Err(JwtError::IssuedInFuture);
        }
        let for_us = |a: &Value| {
            a.as_str()
                .is_some_and(|a| issuer.audiences.iter().any(|x| x == a))
        };
        let audience_ok = match claims.get("aud") {
            Some(Value::Array(list)) => list.iter().any(for_us),
            Some(one) => for_us(one),
            None => false,
        };
        if !audience_ok {
            return Err(JwtError::WrongAudience);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SigningKey;

    const NOW: u64 = 1_700_000_000;

    fn ed_key(seed: u8) -> SigningKey {
        SigningKey::from_seed(&[seed; 32], None).expect("seed")
    }

    fn jwks(key: &SigningKey, kid: &str) -> String {
        format!(
            r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"{kid}","x":"{}"}}]}}"#,
            URL_SAFE_NO_PAD.encode(key.public())
        )
    }

    fn token(key: &SigningKey, header: &str, claims: &str) -> String {
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let sig = key.sign(signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    fn verifier() -> (Verifier, SigningKey) {
        let key = ed_key(7);
        let issuer = Issuer::from_jwks("https://a.example", vec!["app".into()], &jwks(&key, "k1"))
            .expect("issuer");
        (Verifier::new(vec![issuer], 60), key)
    }

    const GOOD: &str =
        r#"{"iss":"https://a.example","aud":"app","sub":"u1","exp":1700000100,"iat":1699999000}"#;

    #[test]
    fn a_good_token_verifies_and_every_change_is_refused() {
        let (v, key) = verifier();
        let ok = token(&key, r#"{"alg":"EdDSA","kid":"k1"}"#, GOOD);
        let verified = v.verify(&ok, NOW).expect("valid");
        assert_eq!(verified.claim_str("sub"), Some("u1"));
        assert!(!format!("{verified:?}").contains("u1"));
        // Ed25519 as RFC 9864 names it.
        assert!(v
            .verify(&token(&key, r#"{"alg":"Ed25519","kid":"k1"}"#, GOOD), NOW)
            .is_ok());

        let cases: Vec<(String, JwtError)> = vec![
            (
                token(&key, r#"{"alg":"ES256","kid":"k1"}"#, GOOD),
                JwtError::AlgorithmMismatch,
            ),
            (
                token(&key, r#"{"alg":"HS256","kid":"k1"}"#, GOOD),
                JwtError::AlgorithmMismatch,
            ),
            (
                token(&key, r#"{"alg":"EdDSA","kid":"k2"}"#, GOOD),
                JwtError::UnknownKey,
            ),
            (
                token(&key, r#"{"alg":"EdDSA","kid":"../k1"}"#, GOOD),
                JwtError::UnknownKey,
            ),
            (
                token(&key, r#"{"alg":"EdDSA","kid":"k1","crit":["exp"]}"#, GOOD),
                JwtError::UnsupportedHeader("crit"),
            ),
            (
                token(
                    &key,
                    r#"{"alg":"EdDSA","kid":"k1","jku":"https://evil"}"#,
                    GOOD,
                ),
                JwtError::UnsupportedHeader("jku"),
            ),
            (
                token(&key, r#"{"alg":"EdDSA","kid":"k1","kid":"k1"}"#, GOOD),
                JwtError::DuplicateMember,
            ),
            (
                token(
                    &key,
                    r#"{"alg":"EdDSA","kid":"k1"}"#,
                    &GOOD.replace(r#""sub":"u1""#, r#""sub":"u1","sub":"u2""#),
                ),
                JwtError::DuplicateMember,
            ),
            (
                token(
                    &key,
                    r#"{"alg":"EdDSA","kid":"k1"}"#,
                    &GOOD.replace("1700000100", "1699999900"),
                ),
                JwtError::Expired,
            ),
            (
                token(
                    &key,
                    r#"{"alg":"EdDSA","kid":"k1"}"#,
                    &GOOD.replace(r#","exp":1700000100"#, ""),
                ),
                JwtError::MissingExpiry,
            ),
            (
                token(
                    &key,
                    r#"{"alg":"EdDSA","kid":"k1"}"#,
                    &GOOD.replace(r#""aud":"app""#, r#""aud":["x","y"]"#),
                ),
                JwtError::WrongAudience,
            ),
            (
                token(
                    &key,
                    r#"{"alg":"EdDSA","kid":"k1"}"#,
                    &GOOD.replace("https://a.example", "https://b.example"),
                ),
                JwtError::UnknownIssuer,
            ),
            (
                token(
                    &key,
                    r#"{"alg":"EdDSA","kid":"k1"}"#,
                    &GOOD.replace("1699999000", "1700000100"),
                ),
                JwtError::IssuedInFuture,
            ),
            (
                token(
                    &key,
                    r#"{"alg":"EdDSA","kid":"k1"}"#,
                    &GOOD
                        .replace(r#""iat""#, r#""nbf""#)
                        .replace("1699999000", "1700000061"),
                ),
                JwtError::NotYetValid,
            ),
            (
                token(&ed_key(8), r#"{"alg":"EdDSA","kid":"k1"}"#, GOOD),
                JwtError::BadSignature,
            ),
            (token(&key, r#"{"alg":"none"}"#, GOOD), JwtError::AlgNone),
            (
                token(&key, r#"{"alg":"NONE","kid":"k1"}"#, GOOD),
                JwtError::AlgNone,
            ),
            (
                format!("{ok}."),
                JwtError::Malformed("not three dot-separated parts"),
            ),
            ("a".repeat(MAX_TOKEN_LEN + 1), JwtError::TooLarge),
        ];
        for (t, expected) in cases {
            assert_eq!(v.verify(&t, NOW), Err(expected));
        }
        // Within the leeway: 59 s after exp still verifies, 61 s does not.
        assert!(v.verify(&ok, 1_700_000_159).is_ok());
        assert_eq!(v.verify(&ok, 1_700_000_161), Err(JwtError::Expired));
    }

    /// What the `jwt_verify` fuzz target checks, on every one-byte change and every cut of a
    /// valid token: no panic, and nothing but the token itself verifies.
    #[test]
    fn no_change_of_a_valid_token_verifies() {
        let (v, key) = verifier();
        let ok = token(&key, r#"{"alg":"EdDSA","kid":"k1"}"#, GOOD);
        let bytes = ok.as_bytes();
        for i in 0..bytes.len() {
            for b in [b'A', b'_', b'-', b'.', b'=', b'0', 0xff] {
                if bytes[i] == b {
                    continue;
                }
                let mut changed = bytes.to_vec();
                changed[i] = b;
                let changed = String::from_utf8_lossy(&changed);
                assert!(v.verify(&changed, NOW).is_err(), "byte {i} -> {b}");
            }
            assert!(v.verify(&ok[..i], NOW).is_err(), "cut at {i}");
        }
        assert!(v.verify(&format!("{ok}="), NOW).is_err());
        assert!(v.verify(&format!(" {ok}"), NOW).is_err());
    }

    #[test]
    fn key_sets_that_verify_nothing_are_refused() {
        let ok_x = URL_SAFE_NO_PAD.encode(ed_key(1).public());
        for (set, what) in [
            (
                r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#.to_owned(),
                "private or secret",
            ),
            (
                format!(
                    r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{ok_x}","d":"{ok_x}"}}]}}"#
                ),
                "private",
            ),
            (
                format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{ok_x}","use":"enc"}}]}}"#),
                "use",
            ),
            (
                format!(
                    r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{ok_x}","alg":"ES256"}}]}}"#
                ),
                "unsupported",
            ),
            (
                format!(
                    r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{ok_x}"}},{{"kty":"OKP","crv":"Ed25519","x":"{ok_x}","kid":"b"}}]}}"#
                ),
                "kid",
            ),
            (
                r#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#.to_owned(),
                "modulus",
            ),
        ] {
            let err = Issuer::from_jwks("i", vec!["a".into()], &set).expect_err(&set);
            assert!(err.to_string().contains(what), "{err}");
        }
        let set = format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{ok_x}"}}]}}"#);
        assert!(Issuer::from_jwks("i", vec![], &set).is_err());
    }
}
