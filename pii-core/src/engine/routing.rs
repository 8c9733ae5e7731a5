//! Which policy a request's route belongs to, under every reading of its path, and the
//! routes an unmatched-reject bundle lets through.

use super::outcome::RejectReason;
use crate::location::Part;
use crate::policy::Policy;
use crate::request::Request;
use crate::select::{self};

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
    Ok(route_indexed(policies, req)?.map(|(_, p)| p))
}

/// [`route`], with the policy's position in `policies`.
pub(super) fn route_indexed<'p, I>(
    policies: I,
    req: &Request,
) -> Result<Option<(usize, &'p Policy)>, RejectReason>
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
    Ok(found)
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
pub(super) const METHOD_OVERRIDES: [&str; 3] = [
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

pub(super) fn matches(p: &Policy, req: &Request, segments: &[String]) -> bool {
    method_ok(p, req) && path_ok(p, segments) && failed_header(p, req).is_none()
}

/// The policy applies to the request's method, or to a method an origin framework would take
/// from an override.
fn method_ok(p: &Policy, req: &Request) -> bool {
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
    p.methods.is_empty() || p.methods.iter().any(method_ok)
}

fn path_ok(p: &Policy, segments: &[String]) -> bool {
    p.paths.is_empty() || p.paths.iter().any(|pat| pat.matches(segments))
}

/// The name of the policy's first header condition the request does not meet.
fn failed_header<'p>(p: &'p Policy, req: &Request) -> Option<&'p str> {
    p.headers
        .iter()
        .find(|c| {
            let mut values = req.header_values(&c.name).peekable();
            let present = values.peek().is_some();
            if c.present.is_some_and(|want| want != present) {
                return true;
            }
            match &c.equals {
                Some(want) => !values.any(|v| v == want),
                None => false,
            }
        })
        .map(|c| c.name.as_str())
}

/// Why `req` is not taken by the policies whose paths it matches: one sentence per such policy
/// that names the method or header condition it fails (empty when no policy's path matches).
/// For tools that explain an unmatched request (`pii-edge test`, `apply --explain`).
///
/// ```
/// use pii_core::{engine::near_misses, Policy, Request};
/// let p = Policy::from_json(r#"{"apiVersion": "pii-edge/v1", "name": "signup",
///   "match": {"methods": ["POST"], "paths": ["/signup"]},
///   "rules": [{"select": {"header": "x-id"}, "action": "hash"}]}"#).unwrap();
/// let why = near_misses([&p], &Request::new("GET", "/signup"));
/// assert_eq!(why, ["policy `signup` matches the path /signup but takes POST only, not GET"]);
/// assert!(near_misses([&p], &Request::new("POST", "/sigup")).is_empty());
/// ```
pub fn near_misses<'p, I>(policies: I, req: &Request) -> Vec<String>
where
    I: IntoIterator<Item = &'p Policy>,
{
    let readings = select::path_readings(&req.path);
    let mut out = Vec::new();
    for p in policies {
        let on_path = readings.iter().any(|segments| {
            path_ok(p, segments)
                || select::without_format_suffix(segments).is_some_and(|s| path_ok(p, &s))
        });
        if !on_path {
            continue;
        }
        if !method_ok(p, req) {
            out.push(format!(
                "policy `{}` matches the path {} but takes {} only, not {}",
                p.name(),
                req.path,
                p.methods.join(", "),
                req.method
            ));
        } else if let Some(header) = failed_header(p, req) {
            out.push(format!(
                "policy `{}` matches the path {} and the method, but not its condition on the header `{header}`",
                p.name(),
                req.path
            ));
        }
    }
    out
}
