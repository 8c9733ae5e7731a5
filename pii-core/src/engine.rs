//! The engine: picks the policy that matches a request and applies it, returning the protected
//! request or a rejection.

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::action::{self, Context, Failure, Input, Output, Reuse, SealerCache};
use crate::error::ConfigError;
use crate::json::{self, Edit, JsonProblem, RewriteError, Seg};
use crate::jsonpath::onepass;
use crate::keys::{PublicKeyring, TokenKeys};
use crate::location::{Location, Part};
use crate::policy::{Action, BodyFormat, Policy};
use crate::request::Request;
use crate::residency::Residency;
use crate::select::{self, CompiledSelector};
use crate::spec::{ActionKind, OnError};

/// Compiled policies plus the public keys and token keys they use. Build it once, share it
/// (it is `Send + Sync`), and call [`Engine::apply`] for every request.
///
/// ```
/// use pii_core::{Engine, Outcome, Policy, PublicKeyring, Request, TokenKeys};
/// let policy = Policy::from_json(r#"{"apiVersion":"pii-edge/v1","name":"signup",
///   "match":{"methods":["POST"],"paths":["/api/users"]},
///   "rules":[{"select":{"json":"$.user.phone"},"action":"mask","keepLast":2}]}"#).unwrap();
/// let engine = Engine::new(vec![policy], PublicKeyring::default(), TokenKeys::default()).unwrap();
///
/// let req = Request::new("POST", "/api/users")
///     .with_header("content-type", "application/json")
///     .with_body(br#"{"user": {"phone": "+49301234567", "id": 12345678901234567890}}"#.to_vec());
/// match engine.apply(&req) {
///     Outcome::Protected(p) => assert_eq!(
///         p.request.body,
///         br#"{"user": {"phone": "**********67", "id": 12345678901234567890}}"#.to_vec()
///     ),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug)]
pub struct Engine {
    policies: Vec<Policy>,
    keys: PublicKeyring,
    tokens: TokenKeys,
    residency: Option<Residency>,
    reuse: Option<SealerCache>,
    /// `Some` when requests no policy matches are refused, except on these pass-through
    /// routes (`Engine::with_unmatched_rejected`).
    unmatched_reject: Option<PassThrough>,
}

/// What the engine decided for a request.
#[derive(Debug)]
#[must_use]
#[non_exhaustive]
pub enum Outcome {
    /// No policy matches: forward the request unchanged.
    Unmatched,
    /// A policy matched and every selected value is protected.
    Protected(Protected),
    /// The request must not be forwarded; answer with the rejection instead.
    Rejected(Rejection),
}

/// A protected request and what was done to it.
#[derive(Debug)]
pub struct Protected {
    /// The request with every selected value protected.
    pub request: Request,
    /// The policy that applied.
    pub policy: String,
    /// The residency zone the values were sealed to (the policy's, or the request's as
    /// resolved); `None` when nothing needed one.
    pub zone: Option<String>,
    /// One entry per protected value, in request order (body, query, headers, cookies).
    pub fields: Vec<FieldReport>,
    /// Whether the body was changed (adapters write it back only then).
    pub body_changed: bool,
    /// Whether the query string was changed.
    pub query_changed: bool,
    /// Whether any header (cookies included) was changed or removed.
    pub headers_changed: bool,
}

impl Protected {
    /// Number of protected values per action, for logs and metrics.
    pub fn counts(&self) -> crate::spec::ActionCounts {
        self.fields.iter().map(|f| f.action).collect()
    }
}

/// What happened to one selected value. Its locations contain member names from the request,
/// so treat reports like request metadata, not like log-safe constants.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldReport {
    /// The rule's name (or its selector).
    pub rule: String,
    /// Where the value is in the forwarded request (`json:$['a'][1]`, `query:email#1`,
    /// `header:x-id`; see [`Location`]): the location an envelope is bound to. For a removed
    /// value, where it was.
    pub location: Location,
    /// Where the value was in the request as it arrived. It differs from `location` only for
    /// JSON array elements after an element that was removed.
    pub original: Location,
    /// The rule's action.
    pub action: ActionKind,
    /// The value was removed: by `redact`, or because the action did not fit it and the
    /// policy says `onError: remove`.
    pub removed: bool,
    /// The action did not fit the value (only with `onError: remove`).
    pub failed: bool,
}

/// A request the engine will not forward, with the HTTP status to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// HTTP status for the generated response.
    pub status: u16,
    /// Why.
    pub reason: RejectReason,
    /// The policy that matched, if any.
    pub policy: Option<String>,
}

impl Rejection {
    /// A rejection for `reason`, with its standard status.
    ///
    /// ```
    /// let r = pii_core::Rejection::new(pii_core::engine::RejectReason::BodyTruncated, None);
    /// assert_eq!(r.status, 413);
    /// assert_eq!(r.reason.code(), "body-truncated");
    /// ```
    pub fn new(reason: RejectReason, policy: Option<String>) -> Self {
        Rejection {
            status: reason.status(),
            reason,
            policy,
        }
    }
}

/// Why a request was rejected. Details never contain request values.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectReason {
    /// The body was cut by the transport before inspection.
    BodyTruncated,
    /// The protected body (after encryption) is larger than the transport accepts back.
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is compressed or otherwise encoded (`Content-Encoding`).
    ContentEncoding,
    /// A body without `Content-Type` (or with several) on a protected route.
    MissingContentType,
    /// A body of a media type this route does not allow.
    UnsupportedMediaType,
    /// A JSON body declared in a charset other than UTF-8.
    UnsupportedCharset,
    /// The body is not valid JSON.
    MalformedJson {
        /// Byte offset of the problem.
        offset: usize,
    },
    /// The JSON body has an object with the same member name twice.
    DuplicateKey {
        /// Byte offset of the second occurrence.
        offset: usize,
    },
    /// The JSON body is nested deeper than the policy allows.
    TooDeep {
        /// The policy's limit.
        limit: usize,
    },
    /// The form body is not `application/x-www-form-urlencoded` as declared.
    MalformedForm,
    /// A parameter or member name that a lenient origin parser could read as a protected name
    /// (`email[]`, ` email`, `q=1;email=`, `Email` for `email`), but that the policy does not
    /// select as written: refused rather than forwarded unprotected.
    AmbiguousName,
    /// A percent-escape that is not `%HH` (`%u0065`, which IIS decodes) in a query string or
    /// form body, or a parameter name that is not UTF-8 once decoded.
    InvalidEncoding,
    /// The request path reads as routes of different policies under the readings origin
    /// routers apply (`%2F`, `%5C` and dot segments decoded or kept): refused rather than
    /// protected by the wrong policy.
    AmbiguousPath,
    /// A body whose shape the rules cannot address (an array root, a JSON Patch document,
    /// where every JSON rule names a member of an object root).
    BodyShape,
    /// No policy matches the request and the bundle refuses unmatched requests
    /// (`unmatched: reject`) on a route not declared pass-through.
    Unmatched,
    /// The request declares a body (`Content-Length` above zero or `Transfer-Encoding`) that
    /// the adapter was not given (a CloudFront trigger without include-body): the route's
    /// body rules cannot be applied, and the transport would forward the body unread.
    BodyNotReceived,
    /// A rule's action does not fit a value it selected (with `onError: reject`).
    NotApplicable {
        /// The rule.
        rule: String,
        /// The action.
        action: ActionKind,
        /// Why it does not fit.
        why: &'static str,
    },
    /// A rule would remove the whole body.
    RemoveRoot {
        /// The rule.
        rule: String,
    },
    /// The request's residency zone could not be determined and there is no default zone.
    NoZone,
    /// Every region of the request's zone is unavailable; the request is not sent elsewhere.
    ZoneUnavailable,
    /// Sealing failed (no usable keys or a limit); an operator must act.
    Sealing,
    /// No policy could be loaded, so nothing may pass.
    PolicyUnavailable,
    /// The request could not be processed (an internal fault); nothing was forwarded.
    Internal,
}

impl RejectReason {
    /// The HTTP status that fits.
    pub fn status(&self) -> u16 {
        use RejectReason::*;
        match self {
            BodyTruncated | BodyTooLarge { .. } => 413,
            ContentEncoding | MissingContentType | UnsupportedMediaType | UnsupportedCharset => 415,
            MalformedJson { .. }
            | DuplicateKey { .. }
            | TooDeep { .. }
            | MalformedForm
            | AmbiguousName
            | AmbiguousPath
            | InvalidEncoding => 400,
            Unmatched => 403,
            NotApplicable { .. } | RemoveRoot { .. } | NoZone | BodyShape => 422,
            Sealing | PolicyUnavailable | ZoneUnavailable => 503,
            Internal | BodyNotReceived => 500,
        }
    }

    /// A stable machine-readable code (used as the problem type suffix).
    pub fn code(&self) -> &'static str {
        use RejectReason::*;
        match self {
            BodyTruncated => "body-truncated",
            BodyTooLarge { .. } => "body-too-large",
            ContentEncoding => "content-encoding",
            MissingContentType => "missing-content-type",
            UnsupportedMediaType => "unsupported-media-type",
            UnsupportedCharset => "unsupported-charset",
            MalformedJson { .. } => "malformed-json",
            DuplicateKey { .. } => "duplicate-key",
            TooDeep { .. } => "too-deep",
            MalformedForm => "malformed-form",
            AmbiguousName => "ambiguous-name",
            InvalidEncoding => "invalid-encoding",
            AmbiguousPath => "ambiguous-path",
            BodyShape => "body-shape",
            Unmatched => "unmatched",
            BodyNotReceived => "body-not-received",
            NotApplicable { .. } => "not-applicable",
            RemoveRoot { .. } => "remove-root",
            NoZone => "no-zone",
            ZoneUnavailable => "zone-unavailable",
            Sealing => "sealing-failed",
            PolicyUnavailable => "policy-unavailable",
            Internal => "internal",
        }
    }

    /// A short human title.
    pub fn title(&self) -> &'static str {
        use RejectReason::*;
        match self {
            BodyTruncated => "Request body too large to inspect",
            BodyTooLarge { .. } => "Protected request body too large",
            ContentEncoding => "Encoded request bodies are not accepted",
            MissingContentType => "Content-Type required",
            UnsupportedMediaType => "Unsupported media type",
            UnsupportedCharset => "Unsupported charset",
            MalformedJson { .. } => "Malformed JSON",
            DuplicateKey { .. } => "Duplicate JSON member name",
            TooDeep { .. } => "JSON nested too deeply",
            MalformedForm => "Malformed form body",
            AmbiguousName => "Ambiguous field name",
            InvalidEncoding => "Invalid percent-encoding or name",
            AmbiguousPath => "Ambiguous request path",
            BodyShape => "Body shape not addressed by the policy",
            Unmatched => "No protection policy for this route",
            BodyNotReceived => "Request body not received",
            NotApplicable { .. } => "Value cannot be protected",
            RemoveRoot { .. } => "Policy would remove the whole body",
            NoZone => "Residency zone unknown",
            ZoneUnavailable => "No region of the residency zone is available",
            Sealing => "Protection unavailable",
            PolicyUnavailable => "Protection unavailable",
            Internal => "Internal error",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RejectReason::*;
        match self {
            BodyTruncated => {
                f.write_str("the body was cut before it could be inspected; send a smaller body")
            }
            BodyTooLarge { limit } => write!(
                f,
                "the protected body would exceed {limit} bytes; send a smaller body"
            ),
            ContentEncoding => f.write_str(
                "send the body without Content-Encoding (uncompressed) so it can be inspected",
            ),
            MissingContentType => f.write_str("send exactly one Content-Type header with the body"),
            UnsupportedMediaType => {
                f.write_str("this route does not accept bodies of this media type")
            }
            UnsupportedCharset => f.write_str(
                "requests on this route must be UTF-8: send no charset other than utf-8 in Content-Type or _charset_",
            ),
            MalformedJson { offset } => write!(f, "the body is not valid JSON (at byte {offset})"),
            DuplicateKey { offset } => write!(
                f,
                "an object has the same member name twice (at byte {offset}); send each name once"
            ),
            TooDeep { limit } => write!(f, "the body is nested deeper than {limit} levels"),
            MalformedForm => {
                f.write_str("the body is not a valid application/x-www-form-urlencoded form")
            }
            AmbiguousName => f.write_str(
                "a field name could be read as a protected field by the server; send each field under its exact name",
            ),
            InvalidEncoding => f.write_str(
                "send percent-escapes as %HH and parameter names as UTF-8",
            ),
            AmbiguousPath => f.write_str(
                "the path reads as different routes depending on how %2F, %5C and dot segments are decoded; send the path without encoded separators or dot segments",
            ),
            BodyShape => f.write_str(
                "the body's shape (for example an array root or a JSON Patch document) is not one this route's protection rules address; send one object per request",
            ),
            Unmatched => f.write_str(
                "no protection policy covers this route and unmatched requests are refused",
            ),
            BodyNotReceived => f.write_str(
                "the request has a body but the edge function was not given it, so it cannot be protected; the CloudFront trigger must include the body (include-body)",
            ),
            NotApplicable { rule, action, why } => write!(
                f,
                "rule `{rule}` cannot {} a selected value: {why}",
                action.as_str()
            ),
            RemoveRoot { rule } => write!(f, "rule `{rule}` selects the whole body for removal"),
            NoZone => f.write_str("the request's data residency zone could not be determined; send the account's zone or country"),
            ZoneUnavailable => f.write_str("no region allowed to hold this data is available; try again later"),
            Sealing => f.write_str("the request could not be protected; try again later"),
            PolicyUnavailable => {
                f.write_str("the protection policy is not available; try again later")
            }
            Internal => f.write_str("the request could not be processed; try again later"),
        }
    }
}

impl Engine {
    /// Assemble an engine, checking that every zone a policy encrypts to has public keys and
    /// every token domain has a key.
    pub fn new(
        policies: Vec<Policy>,
        keys: PublicKeyring,
        tokens: TokenKeys,
    ) -> Result<Engine, ConfigError> {
        Engine::build(policies, keys, tokens, None)
    }

    /// Like [`Engine::new`], with a residency configuration: policies without a fixed `zone`
    /// seal to the zone resolved for each request, and every region of every zone must have a
    /// public key.
    ///
    /// ```
    /// # #[cfg(feature = "open")]
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use pii_core::{Engine, Outcome, Policy, keys::PrivateKey, PrivateKeyring, Request, Residency, TokenKeys};
    /// let mut keys = PrivateKeyring::new();
    /// keys.push(PrivateKey::generate("eu-west", "eu-west-1", 1)?);
    /// let residency = Residency::from_json(r#"{"apiVersion":"pii-edge/v1","kind":"Residency",
    ///   "zones":{"eu-west":{"regions":["eu-west-1"]}},
    ///   "resolve":[{"header":{"name":"x-user-country"}}],"countries":{"IE":"eu-west"}}"#)?;
    /// let policy = Policy::from_json(r#"{"apiVersion":"pii-edge/v1","name":"p","match":{},
    ///   "rules":[{"select":{"header":"x-ssn"},"action":"encrypt"}]}"#)?;
    /// let engine = Engine::with_residency(vec![policy], keys.public(), TokenKeys::default(), residency)?;
    /// let req = Request::new("GET", "/").with_header("x-user-country", "IE").with_header("x-ssn", "1");
    /// let Outcome::Protected(p) = engine.apply(&req) else { panic!() };
    /// assert_eq!(p.zone.as_deref(), Some("eu-west"));
    /// let Outcome::Rejected(r) = engine.apply(&Request::new("GET", "/")) else { panic!() };
    /// assert_eq!(r.reason.code(), "no-zone");
    /// # Ok(()) }
    /// # #[cfg(not(feature = "open"))]
    /// # fn main() {}
    /// ```
    pub fn with_residency(
        policies: Vec<Policy>,
        keys: PublicKeyring,
        tokens: TokenKeys,
        residency: Residency,
    ) -> Result<Engine, ConfigError> {
        Engine::build(policies, keys, tokens, Some(residency))
    }

    fn build(
        policies: Vec<Policy>,
        keys: PublicKeyring,
        tokens: TokenKeys,
        residency: Option<Residency>,
    ) -> Result<Engine, ConfigError> {
        if let Some(r) = &residency {
            for (zone, spec) in &r.spec().zones {
                let sealed_to = keys.recipients(zone).unwrap_or_default();
                for region in &spec.regions {
                    if !sealed_to.iter().any(|k| k.region() == region) {
                        return Err(ConfigError::NoKeysForRegion {
                            zone: zone.clone(),
                            region: region.clone(),
                        });
                    }
                }
            }
        }
        let mut names = HashSet::new();
        for p in &policies {
            if !names.insert(p.name().to_string()) {
                return Err(ConfigError::DuplicatePolicy {
                    name: p.name().to_string(),
                });
            }
            for rule in &p.rules {
                match &rule.action {
                    Action::Encrypt if p.zone().is_none() && residency.is_none() => {
                        return Err(ConfigError::NoZone {
                            policy: p.name().to_string(),
                        });
                    }
                    Action::Encrypt => {
                        let zone = p.zone().unwrap_or_default();
                        if p.zone().is_some() && keys.recipients(zone).is_err() {
                            return Err(ConfigError::NoKeysForZone {
                                policy: p.name().to_string(),
                                zone: zone.to_string(),
                            });
                        }
                    }
                    Action::Tokenize { domain, .. } if tokens.get(domain).is_none() => {
                        return Err(ConfigError::NoTokenKey {
                            policy: p.name().to_string(),
                            domain: domain.clone(),
                        });
                    }
                    _ => {}
                }
            }
        }
        Ok(Engine {
            unmatched_reject: None,
            policies,
            keys,
            tokens,
            residency,
            reuse: None,
        })
    }

    /// The policies, in the order they are tried.
    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    /// The public keys used for sealing.
    pub fn keys(&self) -> &PublicKeyring {
        &self.keys
    }

    /// **Hazard: weakens the keying of every value.** Reuse one encapsulation (one data key
    /// and its HPKE wraps) for the requests of this engine, within `limits`, instead of a fresh
    /// one per request. Sealing a small request then costs microseconds instead of one X25519
    /// operation per region; the price is that one data key protects every value of the window:
    /// whoever reads that key from the instance's memory reads the whole window, not one
    /// request, and envelopes of one window are linkable by their equal recipient block (see
    /// `docs/envelope.md`, "Amortized encapsulation", and `docs/threat-model.md`). Off by
    /// default; the name says so wherever it is used.
    ///
    /// ```
    /// # #[cfg(feature = "open")]
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use pii_core::{Engine, Outcome, Policy, keys::PrivateKey, PrivateKeyring, Request, danger::Reuse, TokenKeys};
    /// let mut keys = PrivateKeyring::new();
    /// keys.push(PrivateKey::generate("eu", "eu-central-1", 1)?);
    /// let policy = Policy::from_json(r#"{"apiVersion":"pii-edge/v1","name":"p","zone":"eu",
    ///   "match":{},"rules":[{"select":{"header":"x-ssn"},"action":"encrypt"}]}"#)?;
    /// let engine = Engine::new(vec![policy], keys.public(), TokenKeys::default())?
    ///     .with_reused_data_key_hazard(Reuse { max_age: Duration::from_secs(300), max_fields: 100_000 });
    /// let req = Request::new("GET", "/").with_header("x-ssn", "123");
    /// let (Outcome::Protected(a), Outcome::Protected(b)) = (engine.apply(&req), engine.apply(&req))
    /// else { panic!() };
    /// // Same wrapped data key in both requests, different field counters.
    /// assert_ne!(a.request.header("x-ssn"), b.request.header("x-ssn"));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "open"))]
    /// # fn main() {}
    /// ```
    pub fn with_reused_data_key_hazard(mut self, limits: Reuse) -> Engine {
        self.reuse = Some(SealerCache::new(limits));
        self
    }

    /// The residency configuration, if any.
    pub fn residency(&self) -> Option<&Residency> {
        self.residency.as_ref()
    }

    /// The first policy whose match conditions hold for the request, under every reading of
    /// its path an origin router may apply (`select::path_readings`). `None` when no reading
    /// matches; a request whose readings match different policies is
    /// [`RejectReason::AmbiguousPath`] in [`Engine::apply`] and has no policy here.
    pub fn policy_for(&self, req: &Request) -> Option<&Policy> {
        self.route(req).ok().flatten()
    }

    /// Refuse requests no policy matches (403 `unmatched`), except those whose path reads,
    /// under every reading, as one of `pass_through` (patterns as in a policy's
    /// `match.paths`). Without it unmatched requests are forwarded unchanged, which fails
    /// open on any route the policies do not name (a new endpoint, a spelling of the path no
    /// policy foresaw); with it a route nobody declared fails closed and must be listed as
    /// pass-through or given a policy. Errors name the pattern that does not parse.
    ///
    /// ```
    /// use pii_core::{Engine, Outcome, Policy, PublicKeyring, Request, TokenKeys};
    /// let policy = Policy::from_json(r#"{"apiVersion": "pii-edge/v1", "name": "p",
    ///   "match": {"paths": ["/x"]}, "rules": [{"select": {"header": "x-id"}, "action": "hash"}]}"#)?;
    /// let engine = Engine::new(vec![policy], PublicKeyring::default(), TokenKeys::default())?
    ///     .with_unmatched_rejected(&["/health".to_string()])?;
    /// assert!(matches!(engine.apply(&Request::new("GET", "/health")), Outcome::Unmatched));
    /// let Outcome::Rejected(r) = engine.apply(&Request::new("GET", "/y")) else { panic!() };
    /// assert_eq!(r.reason.code(), "unmatched");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_unmatched_rejected(mut self, pass_through: &[String]) -> Result<Engine, String> {
        self.unmatched_reject = Some(PassThrough::new(pass_through)?);
        Ok(self)
    }

    /// The policy for `req` under every path reading, or why it has none ([`route`]).
    fn route(&self, req: &Request) -> Result<Option<&Policy>, RejectReason> {
        route(&self.policies, req)
    }

    /// Apply the matching policy to a request.
    pub fn apply(&self, req: &Request) -> Outcome {
        self.apply_owned(req.clone())
    }

    /// [`Engine::apply`] for a request the caller no longer needs: a protected request is the
    /// same value, changed in place, instead of a copy (the body, the headers). What an edge
    /// adapter that builds the request for the engine wants.
    ///
    /// ```
    /// use pii_core::{Engine, Outcome, Policy, PublicKeyring, Request, TokenKeys};
    ///
    /// let policy = Policy::from_json(r#"{"apiVersion": "pii-edge/v1", "name": "p",
    ///   "match": {"paths": ["/x"]}, "rules": [{"select": {"header": "x-id"}, "action": "hash"}]}"#)?;
    /// let engine = Engine::new(vec![policy], PublicKeyring::default(), TokenKeys::default())?;
    /// let req = Request::new("GET", "/x").with_header("x-id", "42");
    /// let Outcome::Protected(p) = engine.apply_owned(req) else { panic!("not protected") };
    /// assert!(p.request.header("x-id").is_some_and(|v| v.starts_with("sha256:")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply_owned(&self, req: Request) -> Outcome {
        self.apply_owned_in_zone(req, None)
    }

    /// [`Engine::apply_owned`] with the zone a verified identity names
    /// ([`crate::Residency::identify`]): it replaces the residency's `resolve` steps for this
    /// request (a policy's own `zone` still wins). `None`: resolve as usual.
    pub fn apply_owned_in_zone(&self, req: Request, zone: Option<&str>) -> Outcome {
        let policy = match self.route(&req) {
            Ok(Some(policy)) => policy,
            Ok(None)
                if self
                    .unmatched_reject
                    .as_ref()
                    .is_none_or(|p| p.passes(&req)) =>
            {
                return Outcome::Unmatched
            }
            Ok(None) => return Outcome::Rejected(Rejection::new(RejectReason::Unmatched, None)),
            Err(reason) => return Outcome::Rejected(Rejection::new(reason, None)),
        };
        Self::outcome(policy, self.protect(policy, req, zone))
    }

    fn outcome(policy: &Policy, result: Result<Protected, RejectReason>) -> Outcome {
        match result {
            Ok(p) => Outcome::Protected(p),
            Err(reason) => {
                Outcome::Rejected(Rejection::new(reason, Some(policy.name().to_string())))
            }
        }
    }

    fn protect(
        &self,
        policy: &Policy,
        req: Request,
        verified_zone: Option<&str>,
    ) -> Result<Protected, RejectReason> {
        // The policy's own zone wins; then the zone of a verified identity; otherwise the
        // request's zone as residency resolves it.
        let zone = policy
            .zone()
            .or(verified_zone)
            .or_else(|| self.residency.as_ref().and_then(|r| r.resolve(&req)));
        let encrypts = policy
            .rules
            .iter()
            .any(|r| matches!(r.action, Action::Encrypt));
        if encrypts && zone.is_none() {
            return Err(RejectReason::NoZone);
        }
        let mut ctx = Context::new(
            &self.keys,
            &self.tokens,
            policy.name(),
            zone.unwrap_or_default(),
            self.reuse.as_ref(),
        );
        let mut out = Protected {
            policy: policy.name().to_string(),
            zone: zone.map(str::to_string),
            request: req,
            fields: Vec::new(),
            body_changed: false,
            query_changed: false,
            headers_changed: false,
        };
        let req = &out.request;
        declared_charsets(req)?;

        if let Some(format) = body_format(policy, req)? {
            let body = match format {
                BodyFormat::Json => {
                    let mut one = |b: &[u8], at, f: &mut Vec<FieldReport>| {
                        json_in_shape(policy, b, at, &mut ctx, f)
                    };
                    // A shape the policy declares (`shape.rs`), else the body as it is.
                    match crate::shape::json_body(
                        &policy.spec,
                        policy.max_depth,
                        &req.body,
                        &mut one,
                        &mut out.fields,
                    )? {
                        Some(body) => body,
                        None => one(&req.body, None, &mut out.fields)?,
                    }
                }
                BodyFormat::Form => {
                    if !select::plausible_form(&req.body) {
                        return Err(RejectReason::MalformedForm);
                    }
                    let text =
                        std::str::from_utf8(&req.body).map_err(|_| RejectReason::MalformedForm)?;
                    protect_params(policy, text, Part::Form, &mut ctx, &mut out.fields)?
                        .map(String::into_bytes)
                }
            };
            if let Some(body) = body {
                out.request.body = body;
                out.body_changed = true;
            }
        }
        let req = &out.request;
        if let Some(q) = protect_params(policy, &req.query, Part::Query, &mut ctx, &mut out.fields)?
        {
            out.request.query = q;
            out.query_changed = true;
        }
        out.headers_changed =
            protect_headers(policy, &mut out.request.headers, &mut ctx, &mut out.fields)?;
        if out.body_changed {
            let len = out.request.body.len().to_string();
            for (name, value) in out.request.headers.iter_mut() {
                if name.eq_ignore_ascii_case("content-length") {
                    *value = len.clone();
                    out.headers_changed = true;
                }
            }
        }
        Ok(out)
    }
}

/// The first of `policies` whose match conditions hold for `req`, under every reading of its
/// path an origin router may apply (`docs/policy.md`, "Path readings"): `Ok(None)` when no
/// reading matches, [`RejectReason::AmbiguousPath`] when readings match different policies.
///
/// ```
/// use pii_core::{engine::route, Policy, Request};
/// let p = |name: &str, path: &str| Policy::from_json(&format!(r#"{{"apiVersion": "pii-edge/v1",
///   "name": "{name}", "match": {{"paths": ["{path}"]}},
///   "rules": [{{"select": {{"header": "x-id"}}, "action": "hash"}}]}}"#)).unwrap();
/// let policies = [p("users", "/api/users/*"), p("other", "/api/users/*/x")];
/// // Express routes `42%2Fx` as one segment, a decoding proxy as two.
/// let r = route(&policies, &Request::new("PUT", "/api/users/42%2Fx"));
/// assert_eq!(r.unwrap_err().code(), "ambiguous-path");
/// let r = route(&policies, &Request::new("PUT", "/api/users/%2e%2e"));
/// assert_eq!(r.unwrap().map(|p| p.name()), Some("users"));
/// ```
pub fn route<'p, I>(policies: I, req: &Request) -> Result<Option<&'p Policy>, RejectReason>
where
    I: IntoIterator<Item = &'p Policy> + Clone,
{
    let mut found: Option<(usize, &'p Policy)> = None;
    for segments in select::path_readings(&req.path) {
        // `/api/users.json` is `/api/users` to Rails and to Spring MVC before 5.3.
        let stem = select::without_format_suffix(&segments);
        let hit = policies.clone().into_iter().enumerate().find(|(_, p)| {
            matches(p, req, &segments) || stem.as_ref().is_some_and(|s| matches(p, req, s))
        });
        match (found, hit) {
            (_, None) => {}
            (None, Some(h)) => found = Some(h),
            (Some((a, _)), Some((b, _))) if a == b => {}
            (Some(_), Some(_)) => return Err(RejectReason::AmbiguousPath),
        }
    }
    Ok(found.map(|(_, p)| p))
}

/// Routes declared pass-through when unmatched requests are refused
/// ([`Engine::with_unmatched_rejected`]): path patterns as in a policy's `match.paths`.
#[derive(Debug)]
pub struct PassThrough(Vec<select::PathPattern>);

impl PassThrough {
    /// Compile the patterns; the error names the first that does not parse.
    pub fn new(patterns: &[String]) -> Result<PassThrough, String> {
        patterns
            .iter()
            .map(|p| select::PathPattern::parse(p))
            .collect::<Result<Vec<_>, _>>()
            .map(PassThrough)
    }

    /// Whether `req` is pass-through: every reading of its path matches a pattern.
    pub fn passes(&self, req: &Request) -> bool {
        select::path_readings(&req.path)
            .iter()
            .all(|segs| self.0.iter().any(|p| p.matches(segs)))
    }
}

/// Headers through which frameworks let a client override the method (and `_method` in the
/// query string).
const METHOD_OVERRIDES: [&str; 3] = [
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

fn matches(p: &Policy, req: &Request, segments: &[String]) -> bool {
    // The policy applies when the request's method, or a method an origin framework would
    // take from an override, is one it lists.
    let overrides = METHOD_OVERRIDES
        .iter()
        .flat_map(|h| req.header_values(h))
        .map(str::to_owned)
        .chain(
            crate::params::pairs(&req.query, Part::Query)
                .into_iter()
                .filter(|q| q.name.eq_ignore_ascii_case("_method"))
                .map(|q| String::from_utf8_lossy(&q.value).into_owned()),
        )
        .collect::<Vec<_>>();
    let method_ok = |m: &String| {
        m.eq_ignore_ascii_case(&req.method)
            || overrides.iter().any(|o| m.eq_ignore_ascii_case(o.trim()))
    };
    (p.methods.is_empty() || p.methods.iter().any(method_ok))
        && (p.paths.is_empty() || p.paths.iter().any(|pat| pat.matches(segments)))
        && p.headers.iter().all(|c| {
            let mut values = req.header_values(&c.name).peekable();
            let present = values.peek().is_some();
            if c.present.is_some_and(|want| want != present) {
                return false;
            }
            match &c.equals {
                Some(want) => values.any(|v| v == want),
                None => true,
            }
        })
}

/// A request on a protected route that declares a charset other than UTF-8, in any
/// `Content-Type` (Django decodes the *query string* in it, body or not).
fn declared_charsets(req: &Request) -> Result<(), RejectReason> {
    // Every `charset` parameter counts: servers disagree on which of two is read (Django's
    // header parser keeps the last, ours the first).
    for ct in req.header_values("content-type") {
        for param in ct.split(';').skip(1) {
            let (k, v) = param.split_once('=').unwrap_or((param, ""));
            if !k.trim().eq_ignore_ascii_case("charset") {
                continue;
            }
            let v = v.trim().trim_matches('"');
            if !(v.eq_ignore_ascii_case("utf-8") || v.eq_ignore_ascii_case("utf8")) {
                return Err(RejectReason::UnsupportedCharset);
            }
        }
    }
    Ok(())
}

/// The checks a JSON body needs beyond its rules (`params.rs`): a root the rules address, no
/// query or form parameter sent as a top-level member, no member Rails' ParamsWrapper would
/// wrap into a protected parameter, no protected argument as a GraphQL literal. `members` are
/// the root object's members as the rules' pass read them (it validated the body).
fn json_shape(
    policy: &Policy,
    body: &[u8],
    members: &[(String, Option<String>)],
) -> Result<(), RejectReason> {
    use crate::params::{self, Source};
    if policy.params.is_empty() {
        return Ok(());
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') && params::expects_object_root(&policy.params) {
        return Err(RejectReason::BodyShape);
    }
    if members.is_empty() {
        return Ok(());
    }
    let query = crate::names::skeleton("query");
    for (name, value) in members {
        let sk = [crate::names::skeleton(name)];
        let merged = policy.params.iter().any(|p| {
            p.own != Source::Json && p.sources.has(Source::Json) && params::related(&p.path, &sk)
        });
        if merged && !params::json_covers(&policy.params, &sk) {
            return Err(RejectReason::AmbiguousName);
        }
        if let Some(text) = value {
            if sk[0] == query && graphql_literal(policy, text) {
                return Err(RejectReason::AmbiguousName);
            }
            // JSON as the text of a member a rule looks inside (`"variables": "{\"email\":…}"`,
            // which express-graphql parses): the rules cannot address it.
            let json_text = matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'['));
            let container = policy.params.iter().any(|p| {
                p.own == Source::Json
                    && p.path.len() >= 2
                    && matches!(p.path.first(), Some(params::PathSeg::Name(n)) if *n == sk[0])
            });
            if json_text && container {
                return Err(RejectReason::BodyShape);
            }
        }
    }
    if !crate::shape::wraps(&policy.spec) && params::wrapped_member(&policy.params, members) {
        return Err(RejectReason::AmbiguousName);
    }
    Ok(())
}

impl From<crate::shape::NotAddressable> for RejectReason {
    fn from(_: crate::shape::NotAddressable) -> Self {
        RejectReason::BodyShape
    }
}

impl crate::shape::Located for FieldReport {
    fn location(&self) -> &Location {
        &self.location
    }

    fn relocate(&mut self, at: &crate::shape::Relocate) {
        self.location = at.apply(&self.location);
        self.original = at.apply(&self.original);
    }
}

/// One JSON body, real or virtual (a declared shape, `shape.rs`), through the policy's JSON
/// rules and checks; `at` says where its values are in the request as forwarded.
fn json_in_shape(
    policy: &Policy,
    body: &[u8],
    at: Option<crate::shape::Relocate>,
    ctx: &mut Context<'_>,
    fields: &mut Vec<FieldReport>,
) -> Result<Option<Vec<u8>>, RejectReason> {
    let mut members = Vec::new();
    ctx.relocate = at;
    let out = protect_json(policy, body, ctx, fields, &mut members);
    ctx.relocate = None;
    let out = out?;
    json_shape(policy, body, &members)?;
    Ok(out)
}

/// Whether a GraphQL document passes a protected parameter as a literal argument.
fn graphql_literal(policy: &Policy, doc: &str) -> bool {
    let leaves: Vec<&str> = policy.params.iter().filter_map(|p| p.leaf()).collect();
    crate::params::graphql_literal_argument(doc, &leaves)
}

/// Decide how the body must be read, rejecting what cannot be inspected.
fn body_format(policy: &Policy, req: &Request) -> Result<Option<BodyFormat>, RejectReason> {
    if policy.formats.is_empty() {
        return Ok(None);
    }
    if req.body_withheld && req.declares_body() {
        return Err(RejectReason::BodyNotReceived);
    }
    if req.body_truncated {
        return Err(RejectReason::BodyTruncated);
    }
    if req.body.is_empty() {
        return Ok(None);
    }
    if req
        .header_values("content-encoding")
        .any(|v| !v.trim().is_empty() && !v.trim().eq_ignore_ascii_case("identity"))
    {
        return Err(RejectReason::ContentEncoding);
    }
    let mut types = req.header_values("content-type");
    let (Some(ct), None) = (types.next(), types.next()) else {
        return Err(RejectReason::MissingContentType);
    };
    let media = select::parse_media_type(ct);
    if media.repeated {
        // `charset=utf-8; charset=ibm037`: servers disagree on which parameter counts.
        return Err(RejectReason::UnsupportedMediaType);
    }
    let format = policy
        .formats
        .iter()
        .find(|(pattern, _)| select::media_type_matches(pattern, &media.essence))
        .map(|(_, f)| *f)
        .ok_or(RejectReason::UnsupportedMediaType)?;
    // Every body type is read as UTF-8: a form in `charset=ibm037` is decoded as EBCDIC by
    // ASP.NET, and its names would not be the ones the rules compare.
    if media
        .charset
        .as_deref()
        .is_some_and(|c| c != "utf-8" && c != "utf8")
    {
        return Err(RejectReason::UnsupportedCharset);
    }
    Ok(Some(format))
}

fn json_problem(p: JsonProblem, limit: usize) -> RejectReason {
    match p {
        JsonProblem::Empty => RejectReason::MalformedJson { offset: 0 },
        JsonProblem::Syntax { offset, .. } | JsonProblem::NumberOutOfRange { offset } => {
            RejectReason::MalformedJson { offset }
        }
        JsonProblem::DuplicateKey { offset } => RejectReason::DuplicateKey { offset },
        JsonProblem::TooDeep { .. } => RejectReason::TooDeep { limit },
    }
}

/// Why a rewrite of the body failed, as a rejection. Removing the root never reaches the
/// rewrite (the plan refuses it first), so it is an internal fault there.
fn rewrite_failure(e: RewriteError<RejectReason>, limit: usize) -> RejectReason {
    match e {
        RewriteError::Json(p) => json_problem(p, limit),
        RewriteError::Edit(reason) => reason,
        RewriteError::RemoveRoot => RejectReason::Internal,
    }
}

impl FieldReport {
    /// A report for a value `rule` selected, its location and outcome still to fill in.
    fn of(rule: &crate::policy::Rule) -> FieldReport {
        FieldReport {
            rule: rule.label.clone(),
            location: Location::Json(Vec::new()),
            original: Location::Json(Vec::new()),
            action: rule.action.kind(),
            removed: false,
            failed: false,
        }
    }
}

fn failure(f: Failure, rule: &crate::policy::Rule) -> RejectReason {
    match f {
        Failure::NotApplicable(why) => RejectReason::NotApplicable {
            rule: rule.label.clone(),
            action: rule.action.kind(),
            why,
        },
        Failure::Seal => RejectReason::Sealing,
        Failure::TooLarge => RejectReason::BodyTooLarge {
            limit: crate::envelope::MAX_PLAINTEXT,
        },
    }
}

/// What the plan says for one JSON target.
enum Plan {
    Apply {
        location: Location,
    },
    Remove {
        failed: bool,
    },
    /// The request is rejected when the rewrite reaches this value: the first failure in
    /// document order is the one reported, as in the one-pass evaluation.
    Fail(RejectReason),
}

/// The JSON rules of `policy` on `body`; `members` gets the root object's members (name, and
/// the string for a string value) for the checks of [`json_shape`].
fn protect_json(
    policy: &Policy,
    body: &[u8],
    ctx: &mut Context<'_>,
    fields: &mut Vec<FieldReport>,
    members: &mut Vec<(String, Option<String>)>,
) -> Result<Option<Vec<u8>>, RejectReason> {
    match &policy.onepass {
        Some(queries) => protect_json_onepass(policy, queries, body, ctx, fields, members),
        None => protect_json_tree(policy, body, ctx, fields, members),
    }
}

/// The JSON rules of `policy` in one pass over the body (every JSONPath is in the one-pass
/// subset). Gives the same answers as [`protect_json_tree`], including which problem wins
/// when there are several: invalid JSON, then an ambiguous name, then a rule's failure.
fn protect_json_onepass(
    policy: &Policy,
    queries: &onepass::Queries,
    body: &[u8],
    ctx: &mut Context<'_>,
    fields: &mut Vec<FieldReport>,
    members: &mut Vec<(String, Option<String>)>,
) -> Result<Option<Vec<u8>>, RejectReason> {
    let limit = policy.max_depth;
    let mut failed: Option<RejectReason> = None;
    let mut reports = Vec::new();
    let pass = onepass::select_rewrite(body, limit, queries, |hit| {
        if failed.is_some() {
            // The body is still read to its end: invalid JSON later on wins.
            return Ok::<_, RejectReason>(Edit::Keep);
        }
        let Some(rule) = queries
            .rules
            .get(hit.query)
            .and_then(|&i| policy.rules.get(i))
        else {
            return Err(RejectReason::Internal);
        };
        let mut report = FieldReport::of(rule);
        let remove = if matches!(rule.action, Action::Redact { replace_with: None }) {
            Some(false)
        } else {
            match action::fits_json(&rule.action, action::kind_of(hit.raw)) {
                Ok(()) => None,
                Err(why) => match policy.spec.on_error {
                    OnError::Reject => {
                        failed = Some(failure(Failure::NotApplicable(why), rule));
                        return Ok(Edit::Keep);
                    }
                    OnError::Remove => Some(true),
                },
            }
        };
        let edit = match remove {
            Some(_) if hit.is_root() => {
                failed = Some(RejectReason::RemoveRoot {
                    rule: rule.label.clone(),
                });
                return Ok(Edit::Keep);
            }
            Some(why_failed) => {
                report.location = Location::Json(hit.path(false));
                report.original = report.location.clone();
                report.removed = true;
                report.failed = why_failed;
                Edit::Remove
            }
            None => {
                report.location = Location::Json(hit.path(true));
                report.original = Location::Json(hit.path(false));
                match action::apply(&rule.action, Input::Json(hit.raw), &report.location, ctx) {
                    Err(f) => {
                        failed = Some(failure(f, rule));
                        return Ok(Edit::Keep);
                    }
                    Ok(Output::Json(text)) => Edit::Replace(text),
                    Ok(Output::Remove) if !hit.is_root() => {
                        report.removed = true;
                        Edit::Remove
                    }
                    Ok(_) => return Err(RejectReason::Internal),
                }
            }
        };
        reports.push(report);
        Ok(edit)
    });
    let mut pass = pass.map_err(|e| rewrite_failure(e, limit))?;
    *members = std::mem::take(&mut pass.members);
    if pass.ambiguous {
        return Err(RejectReason::AmbiguousName);
    }
    if let Some(reason) = failed {
        return Err(reason);
    }
    if pass.hits == 0 {
        return Ok(None);
    }
    fields.extend(reports);
    Ok(Some(pass.out))
}

/// The JSON rules of `policy` evaluated by serde_json_path on a document tree, for policies
/// with a JSONPath outside the one-pass subset (filters, slices, negative indexes).
fn protect_json_tree(
    policy: &Policy,
    body: &[u8],
    ctx: &mut Context<'_>,
    fields: &mut Vec<FieldReport>,
    members: &mut Vec<(String, Option<String>)>,
) -> Result<Option<Vec<u8>>, RejectReason> {
    let limit = policy.max_depth;
    let doc = json::parse_strict(body, limit).map_err(|p| json_problem(p, limit))?;

    // Every selected location, first rule wins.
    let mut targets: Vec<(Vec<Seg>, usize)> = Vec::new();
    let mut index: HashMap<Vec<Seg>, usize> = HashMap::new();
    let mut values = Vec::new();
    for (ri, rule) in policy.rules.iter().enumerate() {
        let CompiledSelector::Json(query) = &rule.selector else {
            continue;
        };
        for (segs, value) in query.locate(&doc) {
            if !index.contains_key(&segs) {
                index.insert(segs.clone(), targets.len());
                targets.push((segs, ri));
                values.push(value);
            }
        }
    }
    // The root's members, unless the root itself is protected as a whole (as the one-pass
    // evaluation, which does not enter a selected root).
    if let (Some(root), false) = (doc.as_object(), index.contains_key(&Vec::new())) {
        *members = root
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string)))
            .collect();
    }
    // A value inside another selected value is protected with it: the outer one wins.
    let keep: Vec<bool> = targets
        .iter()
        .map(|(segs, _)| !(0..segs.len()).any(|n| index.contains_key(&segs[..n])))
        .collect();
    // Selected nodes by identity (their addresses, sorted): the walk builds no paths.
    let mut selected: Vec<usize> = values
        .iter()
        .map(|v| std::ptr::from_ref::<serde_json::Value>(v) as usize)
        .collect();
    selected.sort_unstable();
    let is_selected = |v: &serde_json::Value| {
        selected
            .binary_search(&(std::ptr::from_ref(v) as usize))
            .is_ok()
    };
    if crate::jsonpath::checks::ambiguous_in_tree(&policy.json_names, &doc, &is_selected) {
        return Err(RejectReason::AmbiguousName);
    }
    if targets.is_empty() {
        return Ok(None);
    }

    // Plan removals first: array indexes after a removed element shift, and the location bound
    // into ciphertext must be where the value is in the protected body.
    let mut plans = Vec::with_capacity(targets.len());
    for (i, (segs, ri)) in targets.iter().enumerate() {
        let rule = &policy.rules[*ri];
        let plan = if !keep[i] {
            // Inside a value another rule protects as a whole: nothing to decide here.
            Plan::Remove { failed: false }
        } else if matches!(rule.action, Action::Redact { replace_with: None }) {
            if segs.is_empty() {
                Plan::Fail(RejectReason::RemoveRoot {
                    rule: rule.label.clone(),
                })
            } else {
                Plan::Remove { failed: false }
            }
        } else {
            match action::fits_json(&rule.action, action::kind_of_value(values[i])) {
                Ok(()) => Plan::Apply {
                    location: Location::Json(Vec::new()),
                },
                Err(why) => match policy.spec.on_error {
                    OnError::Reject => Plan::Fail(failure(Failure::NotApplicable(why), rule)),
                    OnError::Remove if !segs.is_empty() => Plan::Remove { failed: true },
                    OnError::Remove => Plan::Fail(RejectReason::RemoveRoot {
                        rule: rule.label.clone(),
                    }),
                },
            }
        };
        plans.push(plan);
    }
    let removed: Vec<&[Seg]> = targets
        .iter()
        .zip(&plans)
        .zip(&keep)
        .filter(|((_, p), k)| **k && matches!(p, Plan::Remove { .. }))
        .map(|(((s, _), _), _)| s.as_slice())
        .collect();
    for (i, plan) in plans.iter_mut().enumerate() {
        if let Plan::Apply { location } = plan {
            *location = Location::Json(shifted(&targets[i].0, &removed));
        }
    }

    let kept: Vec<usize> = (0..targets.len()).filter(|&i| keep[i]).collect();
    let paths: Vec<Vec<Seg>> = kept.iter().map(|&i| targets[i].0.clone()).collect();
    let mut reports: Vec<(usize, FieldReport)> = Vec::new();
    let rewritten = json::rewrite(body, &paths, limit, |k, raw| {
        let i = kept[k];
        let rule = &policy.rules[targets[i].1];
        let mut report = FieldReport::of(rule);
        let edit = match &plans[i] {
            Plan::Fail(reason) => return Err(reason.clone()),
            Plan::Remove { failed } => {
                report.location = Location::Json(targets[i].0.clone());
                report.original = report.location.clone();
                report.removed = true;
                report.failed = *failed;
                Edit::Remove
            }
            Plan::Apply { location } => {
                report.location = location.clone();
                report.original = Location::Json(targets[i].0.clone());
                match action::apply(&rule.action, Input::Json(raw), location, ctx)
                    .map_err(|f| failure(f, rule))?
                {
                    Output::Json(text) => Edit::Replace(text),
                    Output::Remove => {
                        report.removed = true;
                        Edit::Remove
                    }
                    Output::Text(_) => return Err(RejectReason::Internal),
                }
            }
        };
        reports.push((k, report));
        Ok(edit)
    });
    let rewritten = rewritten.map_err(|e| rewrite_failure(e, limit))?;
    fields.extend(reports.into_iter().map(|(_, r)| r));
    Ok(Some(rewritten))
}

/// The path of a value after the removals before it in the same arrays.
fn shifted(path: &[Seg], removed: &[&[Seg]]) -> Vec<Seg> {
    let mut out = path.to_vec();
    for (k, seg) in path.iter().enumerate() {
        if let Seg::Index(n) = seg {
            let before = removed
                .iter()
                .filter(|r| {
                    r.len() == k + 1
                        && r[..k] == path[..k]
                        && matches!(r[k], Seg::Index(m) if m < *n)
                })
                .count();
            out[k] = Seg::Index(n - before);
        }
    }
    out
}

/// Protect query parameters or form fields; returns the new text when anything changed.
fn protect_params(
    policy: &Policy,
    raw: &str,
    part: Part,
    ctx: &mut Context<'_>,
    fields: &mut Vec<FieldReport>,
) -> Result<Option<String>, RejectReason> {
    // A query or form rule protects its parameter, as written, in the query string and in a
    // form body (unless its `sources` say otherwise): servlets, Spring, PHP `$_REQUEST`,
    // Flask `request.values` and Rails merge query and body parameters.
    let rules: Vec<(&crate::policy::Rule, &str)> = policy
        .rules
        .iter()
        .filter_map(|r| r.protects_as_written(part).map(|n| (r, n)))
        .collect();
    let source = match part {
        Part::Form => crate::params::Source::Form,
        _ => crate::params::Source::Query,
    };
    let checked = policy.params.iter().any(|p| p.sources.has(source))
        || !policy.spec.shape.json_params.is_empty();
    if (rules.is_empty() && !checked) || raw.is_empty() {
        return Ok(None);
    }
    // An escape that is not `%HH` (`%u0065`, which IIS decodes) is read differently by
    // different servers.
    if !select::strict_escapes(raw) {
        return Err(RejectReason::InvalidEncoding);
    }
    // JSON text in a parameter the policy declares (`shape.jsonParams`): its rules first.
    let rewritten = json_params(policy, raw, ctx, fields)?;
    let raw = rewritten.as_deref().unwrap_or(raw);
    // Origins differ in how they read names (`;` as a separator, `user[email]`, `[email]`,
    // `email]`, `card[number`, `email[]` arrays, leading spaces, NUL, `.` and space for `_`,
    // Unicode case): a name some origin reads as a protected parameter (`params.rs`) must be
    // selected as written, or the request is refused.
    let query = crate::names::skeleton("query");
    for piece in raw.split(['&', ';']) {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        let decoded = select::percent_decode(name.as_bytes(), true);
        let Ok(decoded) = std::str::from_utf8(&decoded) else {
            return Err(RejectReason::InvalidEncoding);
        };
        if decoded.eq_ignore_ascii_case("_charset_") {
            let v = select::percent_decode(value.as_bytes(), true);
            if !(v.eq_ignore_ascii_case(b"utf-8") || v.eq_ignore_ascii_case(b"utf8")) {
                return Err(RejectReason::UnsupportedCharset);
            }
        }
        let as_written = (rules.iter().any(|(_, n)| n.eq_ignore_ascii_case(decoded))
            || crate::shape::json_param_name(&policy.spec, decoded).is_some())
            && raw.split('&').any(|p| p == piece);
        if as_written {
            continue;
        }
        if crate::params::names_protected(&policy.params, source, decoded) {
            return Err(RejectReason::AmbiguousName);
        }
        if crate::names::skeleton_is(decoded, &query) {
            let doc = select::percent_decode(value.as_bytes(), true);
            if graphql_literal(policy, &String::from_utf8_lossy(&doc)) {
                return Err(RejectReason::AmbiguousName);
            }
        }
    }
    if rules.is_empty() {
        return Ok(rewritten);
    }
    let params = crate::params::pairs(raw, part);
    let mut pieces: Vec<String> = Vec::with_capacity(params.len());
    let mut changed = false;
    for p in &params {
        let Some((rule, _)) = rules.iter().find(|(_, n)| n.eq_ignore_ascii_case(&p.name)) else {
            pieces.push(p.raw.to_string());
            continue;
        };
        let location = p.location();
        let out = action::apply(&rule.action, Input::Text(&p.value), &location, ctx)
            .map_err(|f| failure(f, rule))?;
        changed = true;
        let removed = matches!(out, Output::Remove);
        if let Output::Text(v) = out {
            pieces.push(format!("{}={}", p.raw_name, select::percent_encode(&v)));
        }
        fields.push(FieldReport {
            original: location.clone(),
            location,
            removed,
            ..FieldReport::of(rule)
        });
    }
    Ok(if changed {
        Some(pieces.join("&"))
    } else {
        rewritten
    })
}

/// The declared JSON parameters (`shape.jsonParams`) of a query string or form body, their
/// JSON text through the policy's JSON rules (`shape::json_param`): the new text when any
/// changed. Only pieces spelled `name=value` with the declared name as written are read so;
/// other spellings meet the parameter checks.
fn json_params(
    policy: &Policy,
    raw: &str,
    ctx: &mut Context<'_>,
    fields: &mut Vec<FieldReport>,
) -> Result<Option<String>, RejectReason> {
    if policy.spec.shape.json_params.is_empty() {
        return Ok(None);
    }
    let mut changed = false;
    let mut pieces = Vec::new();
    for piece in raw.split('&') {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        let decoded = select::percent_decode(name.as_bytes(), true);
        let declared = std::str::from_utf8(&decoded)
            .ok()
            .and_then(|n| crate::shape::json_param_name(&policy.spec, n));
        let Some(declared) = declared else {
            pieces.push(piece.to_string());
            continue;
        };
        let text = select::percent_decode(value.as_bytes(), true);
        let mut one = |b: &[u8], at, f: &mut Vec<FieldReport>| json_in_shape(policy, b, at, ctx, f);
        match crate::shape::json_param(declared, &text, &mut one, fields)? {
            Some(new) => {
                changed = true;
                pieces.push(format!("{name}={}", select::percent_encode(&new)));
            }
            None => pieces.push(piece.to_string()),
        }
    }
    Ok(changed.then(|| pieces.join("&")))
}

/// Protect headers and cookies in place; returns whether anything changed.
fn protect_headers(
    policy: &Policy,
    headers: &mut Vec<(String, String)>,
    ctx: &mut Context<'_>,
    fields: &mut Vec<FieldReport>,
) -> Result<bool, RejectReason> {
    check_header_and_cookie_names(policy, headers)?;
    let mut changed = false;
    for rule in &policy.rules {
        match &rule.selector {
            CompiledSelector::Header(name) => {
                let mut nth = 0;
                let mut keep = Vec::with_capacity(headers.len());
                for (n, v) in headers.drain(..) {
                    if !n.eq_ignore_ascii_case(name) {
                        keep.push((n, v));
                        continue;
                    }
                    let location = Location::field(Part::Header, name.as_str(), nth);
                    nth += 1;
                    let out =
                        action::apply(&rule.action, Input::Text(v.as_bytes()), &location, ctx)
                            .map_err(|f| failure(f, rule))?;
                    let removed = matches!(out, Output::Remove);
                    if let Output::Text(t) = out {
                        keep.push((n, header_safe(&t)));
                    }
                    fields.push(FieldReport {
                        original: location.clone(),
                        location,
                        removed,
                        ..FieldReport::of(rule)
                    });
                    changed = true;
                }
                *headers = keep;
            }
            CompiledSelector::Cookie(name) => {
                let mut nth = 0;
                for (n, v) in headers.iter_mut() {
                    if !n.eq_ignore_ascii_case("cookie") {
                        continue;
                    }
                    // Every way an origin splits cookies (`;`, `,`, white space): a cookie
                    // some origin reads under the selected name is protected.
                    let mut edits: Vec<(usize, usize, String)> = Vec::new();
                    for piece in select::cookie_pieces(v) {
                        if !piece.name.eq_ignore_ascii_case(name) {
                            continue;
                        }
                        let location = Location::field(Part::Cookie, name.as_str(), nth);
                        nth += 1;
                        let out = action::apply(
                            &rule.action,
                            Input::Text(piece.value.as_bytes()),
                            &location,
                            ctx,
                        )
                        .map_err(|f| failure(f, rule))?;
                        let removed = matches!(out, Output::Remove);
                        match out {
                            // A cookie sent without `=` gets one: `session_id` would
                            // otherwise become `session_idpe2.…`, another name.
                            Output::Text(t) => edits.push((
                                piece.value_start,
                                piece.end,
                                format!(
                                    "{}{}",
                                    if piece.has_eq { "" } else { "=" },
                                    select::percent_encode(&t)
                                ),
                            )),
                            _ => edits.push((piece.start, piece.end, String::new())),
                        }
                        fields.push(FieldReport {
                            original: location.clone(),
                            location,
                            removed,
                            ..FieldReport::of(rule)
                        });
                    }
                    if !edits.is_empty() {
                        *v = select::edit_cookie_header(v, &edits);
                        changed = true;
                    }
                }
                headers.retain(|(n, v)| !(n.eq_ignore_ascii_case("cookie") && v.is_empty()));
            }
            _ => {}
        }
    }
    Ok(changed)
}

/// Refuse header and cookie names that some origin reads as a selected one
/// (`names::equivalent`: `X_National_ID` for `x-national-id`, which WSGI servers merge;
/// `tracking.email` or `tracking%5Femail` for the cookie `tracking_email`, which PHP decodes
/// and rewrites) but that the rule does not select as written (case-insensitively).
fn check_header_and_cookie_names(
    policy: &Policy,
    headers: &[(String, String)],
) -> Result<(), RejectReason> {
    let mut header_rules = policy.rules.iter().filter_map(|r| match &r.selector {
        CompiledSelector::Header(n) => Some((n.as_str(), r.skeleton.as_str())),
        _ => None,
    });
    let cookie_rules: Vec<(&str, &str)> = policy
        .rules
        .iter()
        .filter_map(|r| match &r.selector {
            CompiledSelector::Cookie(n) => Some((n.as_str(), r.skeleton.as_str())),
            _ => None,
        })
        .collect();
    if header_rules.next().is_some() {
        for (n, _) in headers {
            let ambiguous = policy.rules.iter().any(|r| {
                matches!(&r.selector, CompiledSelector::Header(h)
                    if !h.eq_ignore_ascii_case(n) && crate::names::skeleton_is(n, &r.skeleton))
            });
            if ambiguous {
                return Err(RejectReason::AmbiguousName);
            }
        }
    }
    let params = policy
        .params
        .iter()
        .any(|p| p.sources.has(crate::params::Source::Cookie));
    if cookie_rules.is_empty() && !params {
        return Ok(());
    }
    for (_, v) in headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
    {
        for piece in select::cookie_pieces(v) {
            if cookie_rules
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(piece.name))
            {
                continue;
            }
            // PHP decodes cookie names before it rewrites them, and merges cookies into
            // `$_REQUEST` (`params.rs`).
            let decoded = select::percent_decode(piece.name.as_bytes(), false);
            let decoded = String::from_utf8_lossy(&decoded);
            if cookie_rules
                .iter()
                .any(|(_, sk)| crate::names::skeleton_is(&decoded, sk))
                || crate::params::names_protected(
                    &policy.params,
                    crate::params::Source::Cookie,
                    &decoded,
                )
            {
                return Err(RejectReason::AmbiguousName);
            }
        }
    }
    Ok(())
}

/// Header values must stay visible ASCII; anything else is percent-encoded.
fn header_safe(v: &[u8]) -> String {
    if v.iter().all(|&b| (0x20..0x7f).contains(&b)) {
        String::from_utf8_lossy(v).into_owned()
    } else {
        select::percent_encode(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_paths() {
        let p = vec![Seg::Name("a".into()), Seg::Index(3), Seg::Name("b".into())];
        let r1 = vec![Seg::Name("a".into()), Seg::Index(1)];
        let r2 = vec![Seg::Name("a".into()), Seg::Index(5)];
        let r3 = vec![Seg::Name("x".into()), Seg::Index(0)];
        let removed: Vec<&[Seg]> = vec![&r1, &r2, &r3];
        assert_eq!(
            shifted(&p, &removed),
            vec![Seg::Name("a".into()), Seg::Index(2), Seg::Name("b".into())]
        );
    }

    mod onepass_and_tree_agree {
        //! The one-pass evaluation and the document-tree one give the same answer: output
        //! bytes, field reports, or the same rejection.
        use super::*;
        use proptest::prelude::*;

        const NAMES: &[&str] = &["a", "A", "b", "c", "aa", "B", "e\\u0061"];
        const PATHS: &[&str] = &[
            "$",
            "$.a",
            "$.A",
            "$.b",
            "$..a",
            "$..b",
            "$.a.b",
            "$.c[0]",
            "$[*]",
            "$.a[*]",
            "$..c[1]",
            "$..*",
            "$.a.a",
            "$[0]",
            "$..aa",
            "$['a','b']",
            "$..[0,1]",
            "$.*.*",
            "$.c[*].a",
            "$.ea",
            // Blank space and escaped names: in the one-pass subset since issue 26.
            "$[ 'a' ] ['b']",
            "$['\\u0061a']",
        ];
        const ACTIONS: &[&str] = &[
            r#""action": "mask", "keepFirst": 1"#,
            r#""action": "hash""#,
            r#""action": "redact""#,
            r#""action": "redact", "replaceWith": {"r": 1}"#,
        ];

        fn doc() -> impl Strategy<Value = String> {
            let leaf = prop_oneof![
                any::<i32>().prop_map(|n| n.to_string()),
                "[a-z]{0,4}".prop_map(|s| format!("\"{s}\"")),
                Just("true".to_string()),
                Just("null".to_string()),
                Just("1.5e3".to_string()),
            ];
            leaf.prop_recursive(4, 40, 5, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..5)
                        .prop_map(|v| format!("[{}]", v.join(", "))),
                    prop::collection::btree_map(prop::sample::select(NAMES), inner, 0..5).prop_map(
                        |m| {
                            let members: Vec<String> =
                                m.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                            format!("{{ {} }}", members.join(","))
                        }
                    ),
                ]
            })
        }

        fn policy(
            rules: &[(usize, usize)],
            remove_on_error: bool,
            onepass: bool,
        ) -> Option<Policy> {
            let rules: Vec<String> = rules
                .iter()
                .map(|&(p, a)| {
                    format!(
                        r#"{{"select": {{"json": "{}"}}, {}}}"#,
                        PATHS[p], ACTIONS[a]
                    )
                })
                .collect();
            let on_error = if remove_on_error { "remove" } else { "reject" };
            let mut policy = Policy::from_json(&format!(
                r#"{{"apiVersion": "pii-edge/v1", "name": "p", "onError": "{on_error}",
                     "match": {{"paths": ["/x"]}}, "rules": [{}]}}"#,
                rules.join(",")
            ))
            .ok()?; // some combinations are refused (a rule another one shadows)
            assert!(policy.onepass.is_some());
            if !onepass {
                policy.onepass = None;
            }
            Some(policy)
        }

        fn answer(engine: &Engine, body: &str) -> String {
            let req = Request::new("POST", "/x")
                .with_header("content-type", "application/json")
                .with_body(body.as_bytes().to_vec());
            match engine.apply(&req) {
                Outcome::Protected(p) => format!(
                    "{}\n{:?}",
                    String::from_utf8_lossy(&p.request.body),
                    p.fields
                ),
                Outcome::Rejected(r) => format!("rejected {:?}", r.reason),
                Outcome::Unmatched => "unmatched".into(),
            }
        }

        proptest! {
            #![proptest_config({
                let cases = std::env::var("PII_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512);
                // About one policy in ten is refused (a rule shadowed by another): skipped.
                ProptestConfig { cases, max_global_rejects: cases, ..ProptestConfig::default() }
            })]
            #[test]
            fn same_answer(
                body in doc().prop_flat_map(|d| {
                    let n = d.len();
                    // Also broken bodies: cut short, or with a member repeated.
                    (Just(d), 0..n + 1, any::<bool>(), any::<bool>()).prop_map(|(d, cut, dup, short)| {
                        let d = if dup { d.replacen("\"a\":", "\"a\":1,\"a\":", 1) } else { d };
                        if short { d[..cut.min(d.len())].to_string() } else { d }
                    })
                }),
                rules in prop::collection::vec((0..PATHS.len(), 0..ACTIONS.len()), 1..4),
                remove_on_error in any::<bool>(),
            ) {
                let (one, tree) = (policy(&rules, remove_on_error, true), policy(&rules, remove_on_error, false));
                prop_assume!(one.is_some() && tree.is_some());
                let (Some(one), Some(tree)) = (one, tree) else { unreachable!() };
                let one = Engine::new(vec![one], PublicKeyring::default(), TokenKeys::default()).expect("engine");
                let tree = Engine::new(vec![tree], PublicKeyring::default(), TokenKeys::default()).expect("engine");
                prop_assert_eq!(answer(&one, &body), answer(&tree, &body));
            }
        }
    }

    #[test]
    fn engine_is_send_sync() {
        fn assert<T: Send + Sync>() {}
        assert::<Engine>();
        assert::<Policy>();
    }
}
