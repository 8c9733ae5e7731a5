//! The engine: compiled policies and keys, and applying them to a request.

use std::collections::HashSet;

use super::body::{body_format, declared_charsets, json_in_shape};
use super::fields::{protect_headers, protect_params};
use super::outcome::{FieldReport, Outcome, Protected, RejectReason, Rejection};
use super::routing::{route_indexed, PassThrough};
use crate::action::{Context, Reuse, SealerCache};
use crate::error::ConfigError;
use crate::keys::{PublicKeyring, TokenKeys};
use crate::location::Part;
use crate::policy::{Action, BodyFormat, Policy};
use crate::request::Request;
use crate::residency::Residency;
use crate::select::{self};

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
    pub(super) policies: Vec<Policy>,
    pub(super) keys: PublicKeyring,
    pub(super) tokens: TokenKeys,
    pub(super) residency: Option<Residency>,
    pub(super) reuse: Option<SealerCache>,
    /// `Some` when requests no policy matches are refused, except on these pass-through
    /// routes (`Engine::with_unmatched_rejected`).
    pub(super) unmatched_reject: Option<PassThrough>,
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

    pub(super) fn build(
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
        self.route(req).ok().flatten().map(|(_, p)| p)
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

    /// The policy for `req` under every path reading and its position in
    /// [`Engine::policies`], or why it has none ([`super::route`]).
    pub(super) fn route(&self, req: &Request) -> Result<Option<(usize, &Policy)>, RejectReason> {
        route_indexed(&self.policies, req)
    }

    /// The policy of this engine that protected `protected` (found by position, not by name):
    /// what an adapter reads after [`Engine::apply`] returns, for example the headers a
    /// receipt binds. `None` for a [`Protected`] another engine returned.
    ///
    /// ```
    /// use pii_core::{Engine, Outcome, Policy, PublicKeyring, Request, TokenKeys};
    ///
    /// let policy = |name: &str, path: &str| Policy::from_json(&format!(r#"{{"apiVersion": "pii-edge/v1",
    ///   "name": "{name}", "match": {{"paths": ["{path}"]}},
    ///   "rules": [{{"select": {{"header": "x-id"}}, "action": "hash"}}]}}"#));
    /// let engine = Engine::new(vec![policy("a", "/a")?, policy("b", "/b")?],
    ///     PublicKeyring::default(), TokenKeys::default())?;
    /// let Outcome::Protected(p) = engine.apply(&Request::new("GET", "/b").with_header("x-id", "7"))
    ///     else { panic!("not protected") };
    /// assert_eq!(engine.policy_of(&p).map(|p| p.name()), Some("b"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn policy_of(&self, protected: &Protected) -> Option<&Policy> {
        self.policies
            .get(protected.policy_index)
            .filter(|p| p.name() == protected.policy)
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
        let (index, policy) = match self.route(&req) {
            Ok(Some(found)) => found,
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
        Self::outcome(policy, self.protect((index, policy), req, zone))
    }

    pub(super) fn outcome(policy: &Policy, result: Result<Protected, RejectReason>) -> Outcome {
        match result {
            Ok(p) => Outcome::Protected(p),
            Err(reason) => {
                Outcome::Rejected(Rejection::new(reason, Some(policy.name().to_string())))
            }
        }
    }

    pub(super) fn protect(
        &self,
        (policy_index, policy): (usize, &Policy),
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
            policy_index,
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
