//! # pii-core
//!
//! Protect personal data in HTTP requests with declarative policies, before the request
//! reaches an origin. A policy (YAML or JSON, see `docs/policy.md`) selects parts of a request
//! (JSON body fields by RFC 9535 JSONPath, form fields, query parameters, headers, cookies) and
//! encrypts, tokenizes, masks, redacts or hashes them. The engine compiles policies once and
//! applies them to every request; a request it cannot fully inspect is rejected, never
//! forwarded as if it had been (fail closed).
//!
//! ```
//! use pii_core::{Engine, Outcome, Policy, PublicKeyring, Request, TokenKeys};
//!
//! let policy = Policy::from_json(r#"{
//!   "apiVersion": "pii-edge/v1", "name": "search",
//!   "match": {"methods": ["GET"], "paths": ["/api/search"]},
//!   "rules": [{"select": {"query": "email"}, "action": "mask", "keepFirst": 1}]
//! }"#)?;
//! let engine = Engine::new(vec![policy], PublicKeyring::default(), TokenKeys::default())?;
//!
//! let req = Request::new("GET", "/api/search").with_query("email=erika%40example.de&q=shoes");
//! let Outcome::Protected(p) = engine.apply(&req) else { panic!("not protected") };
//! assert_eq!(p.request.query, "email=e%2A%2A%2A%2A%2A%2A%2A%2A%2A%2A%2A%2A%2A%2A%2A&q=shoes");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The origin side (feature `open`, on by default) opens what the edge sealed: see
//! `reveal` and `PrivateKeyring`.
//!
//! ## Features
//! - `yaml` (default): [`Policy::from_yaml`] with file/line/column errors.
//! - `open` (default): private keys, key generation and [`reveal`]. The edge build disables
//!   it so the package carries no private-key code.
//!
//! Residency (which zone a request's data belongs to, and which region serves it) is
//! configured with a [`Residency`] and documented in `docs/residency.md`.
//! - `schema`: JSON Schema of the policy language (`policies/schema.json`).
#![forbid(unsafe_code)]

mod action;
#[cfg(feature = "open")]
pub mod at_rest;
#[cfg(feature = "open")]
pub mod batch;
mod crypto;
mod engine;
pub mod envelope;
#[cfg(feature = "open")]
pub mod erasure;
mod error;
mod identity;
mod json;
mod jsonpath;
pub mod jwt;
mod keys;
mod location;
pub mod names;
pub mod params;
mod policy;
pub mod receipt;
mod request;
mod residency;
#[cfg(feature = "open")]
mod reveal;
mod select;
mod shape;
pub mod spec;
#[cfg(feature = "open")]
pub mod strict;
#[cfg(feature = "open")]
pub mod subject_keys;
mod token;
#[cfg(feature = "yaml")]
mod yaml;

pub use action::Reuse;
pub use engine::{
    route, Engine, FieldReport, Outcome, PassThrough, Protected, RejectReason, Rejection,
};
pub use error::{ConfigError, Diagnostic, Error, PolicyError};
pub use identity::{Identified, Identity, IdentityError, IdentitySpec, IssuerSpec, TokenSource};
pub use json::json_span;
pub use keys::{KeyError, PublicKey, PublicKeyring, TokenKey, TokenKeys};
#[cfg(feature = "open")]
pub use keys::{PrivateKey, PrivateKeyring};
pub use location::{Location, LocationError, Part, PathElement, UnknownPart};
pub use policy::Policy;
pub use request::Request;
pub use residency::{NoRoute, Residency, ResidencySpec, ResolveStep, Route, ZoneSpec};
#[cfg(feature = "open")]
pub use reveal::{
    at_rest_keys, reveal, reveal_at_rest, Expect, RevealError, Revealed, RevealedField,
    SubjectKeyring,
};
pub use spec::ActionKind;
pub use token::{tokens, Normalize, Token, TokenError};

/// The JSON Schema of the policy language, as written to `policies/schema.json`.
///
/// ```
/// let schema = pii_core::policy_schema();
/// assert!(schema.contains("\"apiVersion\""));
/// ```
#[cfg(feature = "schema")]
pub fn policy_schema() -> String {
    let mut text =
        serde_json::to_string_pretty(&schemars::schema_for!(spec::PolicySpec)).unwrap_or_default();
    text.push('\n');
    text
}

/// The JSON Schema of residency configurations, as written to `policies/residency.schema.json`.
///
/// ```
/// assert!(pii_core::residency_schema().contains("\"countries\""));
/// ```
#[cfg(feature = "schema")]
pub fn residency_schema() -> String {
    let mut text =
        serde_json::to_string_pretty(&schemars::schema_for!(ResidencySpec)).unwrap_or_default();
    text.push('\n');
    text
}

/// Evaluate an RFC 9535 JSONPath exactly as a policy rule does, returning each selected value
/// with its location, a [`Location::Json`] (printed `json:$['user']['email']`: the normalized
/// path of RFC 9535 §2.7). Useful to try a selector on a sample body.
///
/// ```
/// use pii_core::{Location, PathElement};
///
/// let doc = serde_json::json!({"users": [{"email": "a@x.de"}, {"email": "b@x.de"}]});
/// let found = pii_core::select_json("$.users[*].email", &doc).unwrap();
/// assert_eq!(found[1].0.to_string(), "json:$['users'][1]['email']");
/// let Location::Json(path) = &found[1].0 else { unreachable!() };
/// assert_eq!(path[1], PathElement::Index(1));
/// assert!(pii_core::select_json("$.users[", &doc).is_err());
/// ```
pub fn select_json(
    path: &str,
    document: &serde_json::Value,
) -> Result<Vec<(Location, serde_json::Value)>, spec::SpecProblem> {
    let query =
        jsonpath::JsonQuery::compile(path).map_err(|(offset, message)| spec::SpecProblem {
            path: spec::SpecPath {
                parts: Vec::new(),
                offset,
            },
            message,
        })?;
    Ok(query
        .locate(document)
        .into_iter()
        .map(|(path, value)| (Location::Json(path), value.clone()))
        .collect())
}
