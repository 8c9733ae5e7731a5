//! The configuration of the edge function: a *bundle*, compiled into the package.
//!
//! Lambda@Edge has no environment variables and no layers, and a network call at start would
//! cost every cold start. So the policies and the public keys travel inside the package as one
//! JSON document:
//!
//! ```json
//! {
//!   "policies": [ {"apiVersion": "pii-edge/v1", "name": "signup", ...} ],
//!   "keys":     {"keys": [ {"kty": "OKP", "crv": "X25519", "x": "...", "zone": "eu-central", ...} ]},
//!   "tokens":   {"keys": [ {"kty": "oct", "domain": "email", "k": "..."} ]}
//! }
//! ```
//!
//! - `policies`: the JSON form of each policy (`pii_core::spec::PolicySpec`; the edge carries no
//!   YAML parser, `pii-edge package` converts).
//! - `keys`: the public JWK Set (X25519) the edge seals to. A key with a private member (`d`)
//!   is refused: the package is readable by anyone who can read the function.
//! - `tokens`: the token keys (JWK Set of `oct` keys) or `null` when no policy tokenizes.
//! - `receipt` (optional): the private Ed25519 JWK with which the edge signs a receipt on
//!   every request it forwards (docs/receipt.md). Like the token keys it is a secret the
//!   package carries: whoever reads the package can forge receipts, so keep it private and
//!   rotate it with `pii-edge keygen --receipt`. Without it no receipt is added.
//!
//! [`load_bundle`] validates everything once: every policy compiles, the key sets parse, every
//! zone a policy encrypts to has keys and every token domain has a key. [`Edge`] does it once
//! per cold start and keeps the outcome: a bad bundle does not crash the function (a crash
//! loop would make CloudFront answer 503 without saying why) but makes it reject **every**
//! request with 503 `policy-unavailable`, after logging the reason once. It never forwards.
//!
//! ```
//! use edge_fn::bundle::{load_bundle, BundleError};
//!
//! let leaked = r#"{"policies":[{"apiVersion":"pii-edge/v1","name":"p","match":{},
//!   "rules":[{"select":{"header":"x-ssn"},"action":"redact"}]}],
//!   "keys":{"keys":[{"kty":"OKP","crv":"X25519","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08",
//!     "d":"XasIfmJKikt54X-Lg4AO5m87sSkmGLb9HC-LJ_-I4Os","zone":"eu","region":"eu-1","created":1}]},
//!   "tokens":null}"#;
//! let err = load_bundle(leaked).unwrap_err();
//! assert!(matches!(err, BundleError::PrivateKey { index: 0 }));
//! assert!(err.to_string().contains("private key"));
//! ```

use std::fmt;
use std::sync::Arc;

use pii_core::receipt::ReceiptSigner;
use pii_core::{
    keys::KeyError, spec::PolicySpec, Engine, Policy, PublicKeyring, Residency, TokenKeys,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cloudfront::{restricted_header_rules, EventType, RestrictedRule};
use crate::log::{self, LogSink, StdoutSink};

/// The bundle document, as written by [`build_bundle`] and read by [`load_bundle`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// The policies, in the order the engine tries them (first match wins).
    pub policies: Vec<Value>,
    /// The public JWK Set of the recipients.
    pub keys: Value,
    /// The token JWK Set, or `null`.
    #[serde(default)]
    pub tokens: Option<Value>,
    /// The residency configuration (`kind: Residency`, as JSON), or `null`. With it, policies
    /// without a fixed zone seal to the request's zone, and origin-request triggers route to a
    /// region of that zone (see docs/residency.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residency: Option<Value>,
    /// Which trigger runs the policies: `each` (default: whichever trigger the function is
    /// attached to), or `viewer-request` / `origin-request` when the same package is attached
    /// to both (running the policies twice would seal envelopes a second time). With
    /// `viewer-request`, the origin-request trigger only routes, and rejects a request that
    /// matches a policy but carries no zone stamp (the viewer trigger did not run).
    #[serde(default, rename = "sealAt", skip_serializing_if = "SealAt::is_default")]
    pub seal_at: SealAt,
    /// Reuse one encapsulation across the requests of a function instance, within limits
    /// (`{"maxAgeSeconds": 300, "maxFields": 100000}`); absent: one per request. See
    /// docs/envelope.md, "Amortized encapsulation".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reuse: Option<ReuseSpec>,
    /// The private Ed25519 JWK that signs receipts (docs/receipt.md), or absent: no receipts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Value>,
    /// What happens to a request no policy matches (absent: `forward`). See
    /// [`UnmatchedSpec`] and docs/policy.md, "Unmatched requests".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmatched: Option<UnmatchedSpec>,
}

/// What the edge does with a request no policy matches.
///
/// `{"action": "forward"}` (the default) forwards it unchanged: a route the policies do not
/// name, or a spelling of a path no reading maps to a policy, reaches the origin unread (fails
/// open, nothing to declare). `{"action": "reject", "passThrough": ["/health", "/static/**"]}`
/// answers every other unmatched request 403 `unmatched` (fails closed: a new endpoint must be
/// given a policy or declared pass-through before it is reachable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnmatchedSpec {
    /// `forward` or `reject`.
    pub action: UnmatchedAction,
    /// With `reject`: path patterns (as in a policy's `match.paths`) forwarded unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pass_through: Vec<String>,
}

/// See [`UnmatchedSpec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnmatchedAction {
    /// Forward unmatched requests unchanged.
    Forward,
    /// Refuse unmatched requests except on pass-through routes.
    Reject,
}

/// Limits of reusing one encapsulation (see [`pii_core::danger::Reuse`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReuseSpec {
    /// Longest a data key is used, in seconds (at most 3600).
    pub max_age_seconds: u64,
    /// Most values sealed under one data key (at most 2^32).
    pub max_fields: u64,
}

/// The trigger that runs the policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SealAt {
    /// Whichever trigger receives the event (the default; safe when attached to one trigger).
    #[default]
    Each,
    /// Only the viewer-request trigger (the earliest point, 40 KB bodies).
    ViewerRequest,
    /// Only the origin-request trigger (1 MB bodies, sees `CloudFront-Viewer-Country`).
    OriginRequest,
}

impl SealAt {
    fn is_default(&self) -> bool {
        *self == SealAt::Each
    }

    /// Whether the trigger of `event_type` runs the policies.
    pub fn is(&self, event_type: &EventType) -> bool {
        matches!(
            (self, event_type),
            (SealAt::Each, _)
                | (SealAt::ViewerRequest, EventType::ViewerRequest)
                | (SealAt::OriginRequest, EventType::OriginRequest)
        )
    }
}

/// Why a bundle was refused. Messages name policies, rules and key positions and say how to
/// fix the cause; they never contain key material.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BundleError {
    /// The bundle is not valid JSON, or not of the bundle's shape.
    Json {
        /// What serde_json reported (position and expectation, no content).
        message: String,
    },
    /// The bundle has no policy: it would forward everything unprotected.
    NoPolicies,
    /// A policy does not compile.
    Policy {
        /// Position of the policy in `policies`.
        index: usize,
        /// Its name, when it has one.
        name: Option<String>,
        /// Every problem found, as `path: message`.
        problems: Vec<String>,
    },
    /// The public key set holds a private key: refused, the package is readable by many.
    PrivateKey {
        /// Position of the key in `keys.keys`.
        index: usize,
    },
    /// The public key set is invalid.
    Keys(KeyError),
    /// The token key set is invalid.
    Tokens(KeyError),
    /// Policies and keys do not fit together (a zone without keys, a token domain without a
    /// key, two policies with one name).
    Config(String),
    /// The receipt signing key is invalid.
    Receipt(KeyError),
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BundleError::Json { message } => write!(
                f,
                "bundle is not a valid bundle document ({message}); expected {{\"policies\":[...],\"keys\":{{\"keys\":[...]}},\"tokens\":{{...}}|null}}"
            ),
            BundleError::NoPolicies => f.write_str(
                "bundle has no policy: the function would forward every request unprotected; add at least one policy",
            ),
            BundleError::Policy {
                index,
                name,
                problems,
            } => {
                match name {
                    Some(name) => write!(f, "policy #{index} `{name}` is invalid")?,
                    None => write!(f, "policy #{index} is invalid")?,
                }
                for problem in problems {
                    write!(f, "; {problem}")?;
                }
                Ok(())
            }
            BundleError::PrivateKey { index } => write!(
                f,
                "the public key set holds a private key (key #{index} has a \"d\" member): the edge package is readable by anyone who can read the function, so it must carry public keys only; publish the public JWKS (`pii-edge keygen` writes it apart) and keep the private key in its region"
            ),
            BundleError::Keys(e) => write!(f, "public key set: {e}"),
            BundleError::Tokens(e) => write!(f, "token key set: {e}"),
            BundleError::Config(e) => write!(f, "policies and keys do not fit: {e}"),
            BundleError::Receipt(e) => write!(
                f,
                "receipt signing key: {e} (it must be the private Ed25519 JWK `pii-edge keygen --receipt` writes)"
            ),
        }
    }
}

impl std::error::Error for BundleError {}

/// Parses and validates a bundle and builds the engine. Call once per cold start.
pub fn load_bundle(json: &str) -> Result<Engine, BundleError> {
    let bundle: Bundle = serde_json::from_str(json).map_err(|e| BundleError::Json {
        message: e.to_string(),
    })?;
    bundle.receipt_signer()?;
    bundle.into_engine()
}

/// Writes a bundle document from policies and key sets, after checking that it loads (so a
/// package built from it cannot fail at start). Used by `pii-edge package`.
///
/// `public_jwks` is the recipients' public JWK Set, `token_jwks` the token JWK Set (or `None`
/// when no policy tokenizes).
///
/// ```
/// let spec: pii_core::spec::PolicySpec = serde_json::from_str(r#"{"apiVersion":"pii-edge/v1",
///   "name":"search","match":{"paths":["/api/search"]},
///   "rules":[{"select":{"query":"email"},"action":"mask","keepFirst":1}]}"#).unwrap();
/// let json = edge_fn::bundle::build_bundle(&[spec], r#"{"keys":[]}"#, None).unwrap();
/// assert!(edge_fn::bundle::load_bundle(&json).is_ok());
/// ```
pub fn build_bundle(
    policies: &[PolicySpec],
    public_jwks: &str,
    token_jwks: Option<&str>,
) -> Result<String, BundleError> {
    let json_error = |what: &str, e: serde_json::Error| BundleError::Json {
        message: format!("{what}: line {}, column {}", e.line(), e.column()),
    };
    let policies = policies
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| json_error("policies", e))?;
    let keys: Value =
        serde_json::from_str(public_jwks).map_err(|e| json_error("public key set", e))?;
    let tokens = token_jwks
        .map(serde_json::from_str::<Value>)
        .transpose()
        .map_err(|e| json_error("token key set", e))?;
    let bundle = Bundle {
        policies,
        keys,
        tokens,
        residency: None,
        seal_at: SealAt::default(),
        reuse: None,
        receipt: None,
        unmatched: None,
    };
    let text = bundle.to_json();
    load_bundle(&text)?;
    Ok(text)
}

impl Bundle {
    /// The bundle as pretty-printed JSON (what goes into the package as `bundle.json`).
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The receipt signer of the `receipt` member, if the bundle has one.
    pub fn receipt_signer(&self) -> Result<Option<ReceiptSigner>, BundleError> {
        match &self.receipt {
            None | Some(Value::Null) => Ok(None),
            Some(jwk) => ReceiptSigner::from_jwk(&jwk.to_string())
                .map(Some)
                .map_err(BundleError::Receipt),
        }
    }

    /// Validates the bundle and builds the engine.
    pub fn into_engine(self) -> Result<Engine, BundleError> {
        if self.policies.is_empty() {
            return Err(BundleError::NoPolicies);
        }
        let mut policies = Vec::with_capacity(self.policies.len());
        for (index, value) in self.policies.into_iter().enumerate() {
            let name = value
                .get("name")
                .and_then(Value::as_str)
                .map(|n| n.chars().take(64).collect::<String>());
            let spec: PolicySpec =
                serde_json::from_value(value).map_err(|e| BundleError::Policy {
                    index,
                    name: name.clone(),
                    problems: vec![e.to_string()],
                })?;
            let policy = Policy::compile(spec).map_err(|problems| BundleError::Policy {
                index,
                name: name.clone(),
                problems: problems
                    .iter()
                    .map(|p| format!("{}: {}", p.path, p.message))
                    .collect(),
            })?;
            check_headers(index, &policy)?;
            policies.push(policy);
        }
        let keys = PublicKeyring::from_jwks(&self.keys.to_string()).map_err(|e| match e {
            KeyError::PrivateKeyInPublicSet { index } => BundleError::PrivateKey { index },
            other => BundleError::Keys(other),
        })?;
        let tokens = match self.tokens {
            None | Some(Value::Null) => TokenKeys::default(),
            Some(set) => TokenKeys::from_jwks(&set.to_string()).map_err(BundleError::Tokens)?,
        };
        let reuse = match self.reuse {
            None => None,
            Some(r)
                if r.max_age_seconds == 0
                    || r.max_age_seconds > 3600
                    || r.max_fields == 0
                    || r.max_fields > 1 << 32 =>
            {
                return Err(BundleError::Config(
                    "reuse: maxAgeSeconds must be 1..=3600 and maxFields 1..=4294967296".into(),
                ))
            }
            Some(r) => Some(pii_core::danger::Reuse {
                max_age: std::time::Duration::from_secs(r.max_age_seconds),
                max_fields: r.max_fields,
            }),
        };
        let engine = match self.residency {
            None | Some(Value::Null) => Engine::new(policies, keys, tokens),
            Some(r) => {
                let residency = Residency::from_json(&r.to_string())
                    .map_err(|e| BundleError::Config(format!("residency: {e}")))?;
                Engine::with_residency(policies, keys, tokens, residency)
            }
        }
        .map_err(|e| BundleError::Config(e.to_string()))?;
        let engine = match self.unmatched {
            Some(UnmatchedSpec {
                action: UnmatchedAction::Reject,
                pass_through,
            }) => engine
                .with_unmatched_rejected(&pass_through)
                .map_err(|e| BundleError::Config(format!("unmatched.passThrough: {e}")))?,
            Some(UnmatchedSpec { pass_through, .. }) if !pass_through.is_empty() => {
                return Err(BundleError::Config(
                    "unmatched.passThrough only applies with `action: reject`".into(),
                ))
            }
            _ => engine,
        };
        Ok(match reuse {
            Some(limits) => engine.with_reused_data_key_hazard(limits),
            None => engine,
        })
    }
}

/// Refuses a policy whose rules select a header CloudFront does not let a function change
/// (read-only or disallowed on viewer-request or origin-request): every request it matches
/// would otherwise be answered 500. Found here, at package time, instead.
fn check_headers(index: usize, policy: &Policy) -> Result<(), BundleError> {
    let problems: Vec<String> = restricted_header_rules(policy.spec())
        .iter()
        .map(RestrictedRule::message)
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(BundleError::Policy {
            index,
            name: Some(policy.name().to_owned()),
            problems,
        })
    }
}

/// The function's state for its whole life: the engine, or why there is none, and where log
/// lines go. Build it once per cold start, outside the request loop, and share it
/// (it is `Send + Sync`).
pub struct Edge {
    engine: Result<Engine, String>,
    receipt: Option<ReceiptSigner>,
    seal_at: SealAt,
    log: Arc<dyn LogSink>,
    fault: Option<fn(&pii_core::Request)>,
}

impl fmt::Debug for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Edge")
            .field("ready", &self.engine.is_ok())
            .finish_non_exhaustive()
    }
}

impl Edge {
    /// Loads a bundle, logging to standard output. A bundle that does not load gives an
    /// `Edge` that rejects every request with 503 (and logs why once, now).
    pub fn from_bundle(json: &str) -> Edge {
        Edge::from_bundle_with_log(json, Arc::new(StdoutSink))
    }

    /// Like [`Edge::from_bundle`], with log lines going to `log`.
    pub fn from_bundle_with_log(json: &str, log: Arc<dyn LogSink>) -> Edge {
        let parsed: Result<Bundle, BundleError> =
            serde_json::from_str(json).map_err(|e| BundleError::Json {
                message: e.to_string(),
            });
        let seal_at = parsed.as_ref().map(|b| b.seal_at).unwrap_or_default();
        let receipt = parsed
            .as_ref()
            .map_err(Clone::clone)
            .and_then(Bundle::receipt_signer);
        let (engine, receipt) = match receipt {
            Ok(receipt) => (parsed.and_then(Bundle::into_engine), receipt),
            // A receipt key that does not load fails closed like any other bundle error.
            Err(e) => (Err(e), None),
        };
        let mut edge = Edge::new(engine.map_err(|e| e.to_string()), log);
        edge.seal_at = seal_at;
        edge.receipt = receipt;
        edge
    }

    /// An `Edge` over an engine already built, or over the reason there is none (logged once,
    /// now).
    pub fn new(engine: Result<Engine, String>, log: Arc<dyn LogSink>) -> Edge {
        if let Err(reason) = &engine {
            log.write_line(&log::init_failure_line(reason));
        }
        Edge {
            engine,
            receipt: None,
            seal_at: SealAt::default(),
            log,
            fault: None,
        }
    }

    /// Test hook: `fault` runs just before the engine on every request (fault-injection tests
    /// make it panic to prove a panic is caught and the function keeps serving). Not for
    /// production use.
    #[doc(hidden)]
    pub fn with_fault_injection(mut self, fault: fn(&pii_core::Request)) -> Edge {
        self.fault = Some(fault);
        self
    }

    pub(crate) fn fault(&self) -> Option<fn(&pii_core::Request)> {
        self.fault
    }

    /// Signs receipts with `signer` (see [`Bundle::receipt`]).
    pub fn with_receipt_signer(mut self, signer: ReceiptSigner) -> Edge {
        self.receipt = Some(signer);
        self
    }

    /// The receipt signer, when the bundle has a receipt key.
    pub fn receipt_signer(&self) -> Option<&ReceiptSigner> {
        self.receipt.as_ref()
    }

    /// The trigger that runs the policies (see [`Bundle::seal_at`]).
    pub fn seal_at(&self) -> SealAt {
        self.seal_at
    }

    /// The engine, or why the bundle was refused.
    pub fn engine(&self) -> Result<&Engine, &str> {
        self.engine.as_ref().map_err(String::as_str)
    }

    /// Whether the bundle loaded (otherwise every request is rejected with 503).
    pub fn is_ready(&self) -> bool {
        self.engine.is_ok()
    }

    /// Where this edge writes its log lines.
    pub fn log(&self) -> &dyn LogSink {
        self.log.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_is_shareable_across_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Edge>();
    }

    #[test]
    fn empty_and_malformed_bundles_are_refused_with_a_reason() {
        assert_eq!(
            load_bundle(r#"{"policies":[],"keys":{"keys":[]}}"#).err(),
            Some(BundleError::NoPolicies)
        );
        assert!(matches!(load_bundle("{"), Err(BundleError::Json { .. })));
        assert!(matches!(
            load_bundle(r#"{"policies":[],"keys":{},"extra":1}"#),
            Err(BundleError::Json { .. })
        ));
        let bad_policy = r#"{"policies":[{"apiVersion":"pii-edge/v1","name":"p","match":{},
            "rules":[{"select":{"json":"$.a["},"action":"hash"}]}],"keys":{"keys":[]}}"#;
        let err = load_bundle(bad_policy).expect_err("refused");
        assert!(err.to_string().contains("rules[0].select.json"), "{err}");
        let no_keys = r#"{"policies":[{"apiVersion":"pii-edge/v1","name":"p","zone":"eu-central",
            "match":{},"rules":[{"select":{"json":"$.a"},"action":"encrypt"}]}],"keys":{"keys":[]}}"#;
        assert!(matches!(load_bundle(no_keys), Err(BundleError::Config(_))));
    }
}
