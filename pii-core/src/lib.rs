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
//! - `open` (default): private keys, key generation and [`reveal()`]. The edge build disables
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
pub mod engine;
pub mod envelope;
#[cfg(feature = "open")]
pub mod erasure;
pub mod error;
pub mod identity;
mod json;
mod jsonpath;
pub mod jwt;
pub mod keys;
#[cfg(feature = "yaml")]
mod lint;
#[cfg(feature = "fs")]
pub mod load;
pub mod location;
mod names;
pub mod params;
mod policy;
pub mod receipt;
mod request;
pub mod residency;
#[cfg(feature = "open")]
pub mod reveal;
mod select;
mod shape;
pub mod spec;
#[cfg(feature = "open")]
pub mod strict;
#[cfg(feature = "open")]
pub mod subject_keys;
pub mod token;
#[cfg(feature = "yaml")]
mod yaml;

// The names most programs need; everything else lives in the module that owns it.
pub use engine::{Engine, Outcome, Protected, Rejection};
pub use error::Error;
#[cfg(feature = "open")]
pub use keys::PrivateKeyring;
pub use keys::{PublicKeyring, TokenKeys};
pub use location::Location;
pub use policy::Policy;
pub use request::Request;
pub use residency::Residency;
#[cfg(feature = "open")]
pub use reveal::reveal;

/// Hazardous settings, correct only under the conditions their documentation states.
pub mod danger {
    /// Reuse of one HPKE encapsulation (data key) across requests, bounded in time and count
    /// (`docs/envelope.md`, "Amortized encapsulation"): fewer X25519 operations per request,
    /// at the cost that one leaked data key opens every value sealed under it.
    pub use crate::action::Reuse;
}

/// Entry points for fuzz targets and tests of other crates; not a stable API.
#[doc(hidden)]
pub mod hooks {
    pub use crate::json::json_span;
    /// The name equivalence ([`crate::names::equivalent`]), for the `names` fuzz target.
    pub mod names {
        pub use crate::names::*;
    }
}

/// Evaluate an RFC 9535 JSONPath exactly as a policy rule does, returning each selected value
/// with its location, a [`Location::Json`] (printed `json:$['user']['email']`: the normalized
/// path of RFC 9535 §2.7). Useful to try a selector on a sample body.
///
/// ```
/// use pii_core::{Location, location::PathElement};
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
