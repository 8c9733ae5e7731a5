//! Strict opening: given the policies, refuse a request in which a location a policy encrypts
//! holds plaintext instead of an envelope, or a value a policy removes is present.
//!
//! [`reveal`](crate::reveal()) opens what it finds and leaves the rest alone: a request sent around
//! the edge, with every field in clear, reveals to itself with zero values opened. An origin that
//! knows the policies asks [`Strict::reveal`] instead. It runs the policies' own selectors over
//! the received request (the same compiled JSONPath, form, query, header and cookie selection as
//! the edge, with the same limits), and requires:
//!
//! - every value an `encrypt` rule selects to be an envelope that opens for that location (and,
//!   through [`Expect`], for that policy);
//! - no value a `redact` rule without `replaceWith` selects to be present (the edge removed it);
//! - the request to be inspectable as the edge inspected it (a body the policy cannot read, such
//!   as malformed or compressed JSON, is refused, never waved through).
//!
//! Values of `mask`, `hash`, `tokenize` and `redact` with `replaceWith` rules are not checked:
//! their output is not recognizable as such (use receipts, `docs/receipt.md`, to know a request
//! came through the edge).
//!
//! ```
//! use pii_core::{Engine, Outcome, Policy, keys::PrivateKey, PrivateKeyring, Request, TokenKeys};
//! use pii_core::strict::{Strict, StrictError};
//!
//! let mut keys = PrivateKeyring::new();
//! keys.push(PrivateKey::generate("eu-central", "eu-central-1", 1)?);
//! let policy = Policy::from_json(r#"{"apiVersion":"pii-edge/v1","name":"signup","zone":"eu-central",
//!   "match":{"paths":["/api/users"]},"rules":[{"select":{"json":"$.email"},"action":"encrypt"}]}"#)?;
//! let strict = Strict::new(std::slice::from_ref(&policy))?;
//!
//! let sent = Request::new("POST", "/api/users")
//!     .with_header("content-type", "application/json")
//!     .with_body(br#"{"email":"erika@example.de"}"#.to_vec());
//! // Around the edge: the e-mail is in clear.
//! let err = strict.reveal(&keys, &sent, Default::default()).unwrap_err();
//! assert!(matches!(err, StrictError::Plaintext { .. }));
//! assert_eq!(err.to_string(), "json:$['email'] holds plaintext where policy `signup` requires an envelope");
//!
//! // Through the edge: it opens.
//! let engine = Engine::new(vec![policy], keys.public(), TokenKeys::default())?;
//! let Outcome::Protected(p) = engine.apply(&sent) else { panic!() };
//! let revealed = strict.reveal(&keys, &p.request, Default::default())?;
//! assert_eq!(revealed.request.body, sent.body);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashSet;
use std::fmt;

use crate::engine::{Engine, Outcome, RejectReason};
use crate::keys::{PrivateKeyring, PublicKeyring, TokenKeys};
use crate::location::Location;
use crate::policy::Policy;
use crate::request::Request;
use crate::reveal::{reveal, reveal_at_rest, Expect, RevealError, Revealed, SubjectKeyring};
use crate::spec::ActionKind;
use crate::{error::PolicyError, Error};

/// What a location selected by a rule must hold at the origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Requirement {
    /// An envelope (`encrypt`).
    Envelope,
    /// Nothing: the edge removed it (`redact` without `replaceWith`).
    Absent,
}

/// The matching policy and the locations it requires an envelope at (`false`) or nothing at
/// (`true`).
type Selected = (String, Vec<(Location, bool)>);

/// Policies compiled once for strict opening (`Send + Sync`, share it).
#[derive(Debug)]
pub struct Strict {
    /// The policies with every checked rule turned into a `redact` (to a constant) named by its
    /// index in `requirements`: selection only, no keys needed.
    engine: Engine,
    requirements: Vec<Requirement>,
}

/// Why strict opening refused a request. Messages name locations and policies, never values.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StrictError {
    /// A location the policy encrypts holds plaintext, or a value it removes is present.
    Plaintext {
        /// Where.
        location: Location,
        /// The policy that protects it.
        policy: String,
        /// `true`: the policy removes this value; `false`: it requires an envelope.
        removed: bool,
    },
    /// The request cannot be inspected as the edge would (malformed or compressed body,
    /// duplicate keys, too deep, ...): it cannot be shown to be protected.
    Uninspectable {
        /// The policy that matched.
        policy: Option<String>,
        /// The edge's reason code (`malformed-json`, `content-encoding`, ...).
        reason: &'static str,
    },
    /// An envelope did not open.
    Open(RevealError),
}

impl fmt::Display for StrictError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StrictError::Plaintext {
                location,
                policy,
                removed: false,
            } => write!(
                f,
                "{location} holds plaintext where policy `{policy}` requires an envelope"
            ),
            StrictError::Plaintext {
                location,
                policy,
                removed: true,
            } => write!(
                f,
                "{location} holds a value that policy `{policy}` removes at the edge"
            ),
            StrictError::Uninspectable { policy, reason } => match policy {
                Some(p) => write!(
                    f,
                    "the request cannot be inspected under policy `{p}` ({reason}): it cannot be shown to be protected"
                ),
                None => write!(f, "the request cannot be inspected ({reason})"),
            },
            StrictError::Open(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for StrictError {}

impl From<RevealError> for StrictError {
    fn from(e: RevealError) -> Self {
        StrictError::Open(e)
    }
}

impl Strict {
    /// Compiles the checks of `policies` (tried in order, first match wins, as at the edge).
    ///
    /// Fails only with policies that do not go together at the edge either (two with one
    /// name).
    pub fn new(policies: &[Policy]) -> Result<Strict, Error> {
        let mut requirements = Vec::new();
        let mut compiled = Vec::with_capacity(policies.len());
        for policy in policies {
            let mut spec = policy.spec().clone();
            spec.zone = None;
            let mut rules = Vec::new();
            for mut rule in std::mem::take(&mut spec.rules) {
                let requirement = match rule.action {
                    ActionKind::Encrypt => Requirement::Envelope,
                    ActionKind::Redact if rule.replace_with.is_none() => Requirement::Absent,
                    _ => continue,
                };
                rule.name = Some(requirements.len().to_string());
                rule.action = ActionKind::Redact;
                rule.replace_with = Some(match rule.select {
                    crate::spec::SelectorSpec::Json(_) => serde_json::Value::Null,
                    _ => serde_json::Value::String(String::new()),
                });
                rule.domain = None;
                rule.keep_first = None;
                rule.keep_last = None;
                rule.mask_char = None;
                requirements.push(requirement);
                rules.push(rule);
            }
            spec.rules = rules;
            let name = spec.name.clone();
            compiled.push(
                Policy::compile(spec)
                    .map_err(|problems| PolicyError::unlocated(&name, problems))?,
            );
        }
        let engine = Engine::new(compiled, PublicKeyring::default(), TokenKeys::default())?;
        Ok(Strict {
            engine,
            requirements,
        })
    }

    /// The locations of `req` that the matching policy encrypts (must hold envelopes) or
    /// removes (must be absent): `(policy, [(location, removed)])`, or `None` when no policy
    /// matches the request.
    fn selected(&self, req: &Request) -> Result<Option<Selected>, StrictError> {
        match self.engine.apply(req) {
            Outcome::Unmatched => Ok(None),
            Outcome::Rejected(r) => Err(StrictError::Uninspectable {
                policy: r.policy.clone(),
                reason: reason_code(&r.reason),
            }),
            Outcome::Protected(p) => {
                let mut out = Vec::with_capacity(p.fields.len());
                for field in p.fields {
                    let requirement = field
                        .rule
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| self.requirements.get(i));
                    if let Some(requirement) = requirement {
                        out.push((field.location, *requirement == Requirement::Absent));
                    }
                }
                Ok(Some((p.policy, out)))
            }
        }
    }

    /// Reveals `req` like [`reveal`](crate::reveal()), after checking that every location the
    /// matching policy encrypts holds an envelope that opens (sealed by that policy) and that
    /// nothing it removes is present. A request no policy matches is revealed as is.
    pub fn reveal(
        &self,
        keys: &PrivateKeyring,
        req: &Request,
        expect: Expect<'_>,
    ) -> Result<Revealed, StrictError> {
        self.checked(req, expect, |expect| reveal(keys, req, expect))
    }

    /// [`Strict::reveal`] that also opens fields at rest (`pr1.`) with `subject_keys`, like
    /// [`reveal_at_rest`](crate::reveal::reveal_at_rest): a protected location may hold either.
    pub fn reveal_at_rest(
        &self,
        keys: &PrivateKeyring,
        subject_keys: &SubjectKeyring<'_>,
        req: &Request,
        expect: Expect<'_>,
    ) -> Result<Revealed, StrictError> {
        self.checked(req, expect, |expect| {
            reveal_at_rest(keys, subject_keys, req, expect)
        })
    }

    fn checked(
        &self,
        req: &Request,
        expect: Expect<'_>,
        reveal: impl FnOnce(Expect<'_>) -> Result<Revealed, RevealError>,
    ) -> Result<Revealed, StrictError> {
        let selected = self.selected(req)?;
        let expect = match &selected {
            Some((policy, _)) => Expect {
                policy: Some(policy.as_str()),
                zone: expect.zone,
            },
            None => expect,
        };
        let revealed = reveal(expect)?;
        if let Some((policy, locations)) = selected {
            let opened: HashSet<&Location> = revealed
                .fields
                .iter()
                .map(|f| &f.binding.location)
                .collect();
            for (location, removed) in locations {
                if removed || !opened.contains(&location) {
                    return Err(StrictError::Plaintext {
                        location,
                        policy,
                        removed,
                    });
                }
            }
        }
        Ok(revealed)
    }
}

fn reason_code(reason: &RejectReason) -> &'static str {
    reason.code()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{keys::PrivateKey, TokenKeys};

    fn policy() -> Policy {
        Policy::from_json(
            r#"{"apiVersion":"pii-edge/v1","name":"profile","zone":"eu-central",
            "match":{"paths":["/profile"]},"rules":[
              {"select":{"json":"$.user.email"},"action":"encrypt"},
              {"select":{"json":"$.password"},"action":"redact"},
              {"select":{"json":"$.user.name"},"action":"mask","keepFirst":1},
              {"select":{"header":"x-national-id"},"action":"encrypt"},
              {"select":{"query":"email"},"action":"encrypt"},
              {"select":{"cookie":"sid"},"action":"encrypt"}]}"#,
        )
        .expect("policy")
    }

    fn keys() -> PrivateKeyring {
        let mut keys = PrivateKeyring::new();
        keys.push(PrivateKey::generate("eu-central", "eu-central-1", 1).expect("key"));
        keys
    }

    fn sent() -> Request {
        Request::new("POST", "/profile")
            .with_query("email=a%40b.de&x=1")
            .with_header("content-type", "application/json")
            .with_header("x-national-id", "DE-1")
            .with_header("cookie", "sid=s1; theme=dark")
            .with_body(
                br#"{"user":{"email":"a@b.de","name":"Erika"},"password":"p","n":1}"#.to_vec(),
            )
    }

    #[test]
    fn protected_requests_pass_and_every_plaintext_kind_is_refused() {
        let keys = keys();
        let strict = Strict::new(&[policy()]).expect("strict");
        let engine =
            Engine::new(vec![policy()], keys.public(), TokenKeys::default()).expect("engine");
        let Outcome::Protected(p) = engine.apply(&sent()) else {
            panic!("protected")
        };
        let revealed = strict
            .reveal(&keys, &p.request, Expect::default())
            .expect("strict reveal");
        assert_eq!(revealed.opened(), 4);

        // Around the edge.
        let err = strict
            .reveal(&keys, &sent(), Expect::default())
            .expect_err("plaintext");
        assert!(matches!(err, StrictError::Plaintext { .. }), "{err}");
        assert!(!err.to_string().contains("a@b.de"));

        // One protected header put back in clear, everything else protected.
        let mut one = p.request.clone();
        for (name, value) in &mut one.headers {
            if name == "x-national-id" {
                *value = "DE-1".into();
            }
        }
        let err = strict
            .reveal(&keys, &one, Expect::default())
            .expect_err("plaintext header");
        assert_eq!(
            err.to_string(),
            "header:x-national-id holds plaintext where policy `profile` requires an envelope"
        );

        // A removed value put back.
        let mut back = p.request.clone();
        let body = String::from_utf8(back.body.clone()).expect("utf8");
        back.body = body.replacen('{', r#"{"password":"p","#, 1).into_bytes();
        let err = strict
            .reveal(&keys, &back, Expect::default())
            .expect_err("removed value");
        assert!(
            matches!(err, StrictError::Plaintext { removed: true, .. }),
            "{err}"
        );

        // A body the edge could not read either.
        let mut broken = p.request.clone();
        broken.body = b"{\"user\":".to_vec();
        assert!(matches!(
            strict.reveal(&keys, &broken, Expect::default()),
            Err(StrictError::Uninspectable { .. })
        ));

        // A request no policy matches is revealed as is.
        let other = Request::new("GET", "/health");
        assert_eq!(
            strict
                .reveal(&keys, &other, Expect::default())
                .expect("unmatched")
                .opened(),
            0
        );
    }
}
