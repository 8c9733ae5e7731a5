//! What `pii-edge check` finds in policy authors' text beyond what compiling a policy refuses
//! (feature `yaml`, the author-facing side; the edge never runs these): a method one letter from
//! an HTTP method, a zone that is not one of the deployment's. Each problem names what was
//! probably meant.

use crate::policy::Policy;
use crate::spec::{PolicySpec, SpecPart, SpecPath, SpecProblem};

impl Policy {
    /// A problem when the policy's `zone` is not one of `zones` (the zones a residency
    /// configuration defines, or that a key set has keys for), at the zone's value, naming the
    /// closest zone when one is a likely typo. `None` without a `zone`.
    ///
    /// ```
    /// let p = pii_core::Policy::from_json(r#"{"apiVersion":"pii-edge/v1","name":"p",
    ///   "zone":"eu-centrl","match":{},"rules":[{"select":{"header":"x-a"},"action":"encrypt"}]}"#)?;
    /// let problem = p.zone_problem_against(&["eu-central", "eu-west"]).expect("unknown zone");
    /// assert!(problem.message.contains("did you mean `eu-central`?"), "{}", problem.message);
    /// assert!(p.zone_problem_against(&["eu-centrl"]).is_none());
    /// # Ok::<(), pii_core::error::PolicyError>(())
    /// ```
    pub fn zone_problem_against(&self, zones: &[&str]) -> Option<SpecProblem> {
        let zone = self.spec.zone.as_deref()?;
        if zones.contains(&zone) {
            return None;
        }
        let hint = match closest(zone, zones, 2) {
            Some(near) => format!("; did you mean `{near}`?"),
            None => String::new(),
        };
        Some(SpecProblem {
            path: SpecPath {
                parts: vec![SpecPart::Key("zone")],
                offset: Some(0),
            },
            message: format!(
                "policy `{}` seals to zone `{zone}`, which is not a zone of the deployment ({}){hint}",
                self.spec.name,
                zones.join(", ")
            ),
        })
    }
}

/// HTTP's methods (RFC 9110 section 9, PATCH from RFC 5789) and WebDAV's (RFC 4918): what a
/// policy's `match.methods` is compared with for typos.
const KNOWN_METHODS: [&str; 16] = [
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "CONNECT",
    "OPTIONS",
    "TRACE",
    "PATCH",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
];

/// Typos in `match`: methods and media types. A lint of policy authors' text, so it runs where
/// YAML is read (`pii-edge check`, `package`), not in the edge.
pub(crate) fn misspellings(spec: &PolicySpec) -> Vec<SpecProblem> {
    let mut problems = methods(spec);
    problems.extend(media_types(spec));
    problems
}

/// The media types a body in a policy's reach usually has: what `match.contentTypes` is compared
/// with for typos.
const KNOWN_MEDIA_TYPES: [&str; 5] = [
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "text/plain",
    "application/*+json",
];

/// `match.contentTypes` entries two edits or fewer from a usual media type (`application/jsn`):
/// no client sends them, so every body would be refused with 415.
fn media_types(spec: &PolicySpec) -> Vec<SpecProblem> {
    spec.matches
        .content_types
        .iter()
        .enumerate()
        .filter_map(|(i, given)| {
            let lower = given.to_ascii_lowercase();
            if KNOWN_MEDIA_TYPES.contains(&lower.as_str()) {
                return None;
            }
            let close = closest(&lower, &KNOWN_MEDIA_TYPES, 2)?;
            Some(SpecProblem {
                path: SpecPath {
                    parts: vec![
                        SpecPart::Key("match"),
                        SpecPart::Key("contentTypes"),
                        SpecPart::Index(i),
                    ],
                    offset: Some(0),
                },
                message: format!(
                    "`{given}` is not a media type bodies come with; did you mean `{close}`? (every body of another type is refused with 415)"
                ),
            })
        })
        .collect()
}

/// `match.methods` entries one letter (or one swap) away from a known method, such as `POTS`:
/// no client sends them, so the policy would silently never apply. An extension method further
/// from every known one (`PURGE`, `QUERY`) is the author's to name.
fn methods(spec: &PolicySpec) -> Vec<SpecProblem> {
    spec.matches
        .methods
        .iter()
        .enumerate()
        .filter_map(|(i, method)| {
            let upper = method.to_ascii_uppercase();
            if KNOWN_METHODS.contains(&upper.as_str()) {
                return None;
            }
            let close = closest(&upper, &KNOWN_METHODS, 1)?;
            Some(SpecProblem {
                path: SpecPath {
                    parts: vec![SpecPart::Key("match"), SpecPart::Key("methods"), SpecPart::Index(i)],
                    offset: Some(0),
                },
                message: format!(
                    "`{method}` is not an HTTP method; did you mean `{close}`? (no client sends it, so the policy would never apply)"
                ),
            })
        })
        .collect()
}

/// The one of `candidates` at most `edits` edits (insertions, deletions, substitutions, swaps
/// of neighbours) from `given` and nearest to it, for a did-you-mean; never `given` itself.
fn closest<'c>(given: &str, candidates: &[&'c str], edits: usize) -> Option<&'c str> {
    candidates
        .iter()
        .map(|c| (strsim::osa_distance(given, c), *c))
        .filter(|(d, _)| (1..=edits).contains(d))
        .min()
        .map(|(_, c)| c)
}
