//! What CloudFront lets a request function change: headers that are read-only on a trigger,
//! and headers a function may not add at all. CloudFront answers 502 when a function returns a
//! request that changes one, so the handler refuses such a change itself (500, logged) and
//! `pii-edge check` / `pii-edge package` refuse a policy rule that would make one.
//!
//! Source: "Restrictions on edge functions", CloudFront Developer Guide (read-only headers of
//! viewer-request and origin-request events, disallowed headers and prefixes).
//!
//! ```
//! use edge_fn::cloudfront::{header_restriction, EventType};
//!
//! assert!(header_restriction("via", &EventType::ViewerRequest).is_some());
//! assert!(header_restriction("x-national-id", &EventType::ViewerRequest).is_none());
//! ```

use pii_core::spec::{PolicySpec, SelectorSpec};

use super::event::EventType;

/// Headers a function may read but not add, change or remove, per trigger.
const READ_ONLY_VIEWER_REQUEST: &[(&str, &str)] = &[
    (
        "content-length",
        "a policy changed read-only header content-length",
    ),
    ("host", "a policy changed read-only header host"),
    (
        "transfer-encoding",
        "a policy changed read-only header transfer-encoding",
    ),
    ("via", "a policy changed read-only header via"),
];

const READ_ONLY_ORIGIN_REQUEST: &[(&str, &str)] = &[
    (
        "accept-encoding",
        "a policy changed read-only header accept-encoding",
    ),
    (
        "content-length",
        "a policy changed read-only header content-length",
    ),
    (
        "if-modified-since",
        "a policy changed read-only header if-modified-since",
    ),
    (
        "if-none-match",
        "a policy changed read-only header if-none-match",
    ),
    ("if-range", "a policy changed read-only header if-range"),
    (
        "if-unmodified-since",
        "a policy changed read-only header if-unmodified-since",
    ),
    ("range", "a policy changed read-only header range"),
    (
        "transfer-encoding",
        "a policy changed read-only header transfer-encoding",
    ),
    ("via", "a policy changed read-only header via"),
];

/// Headers a function may not add (CloudFront answers 502 when it does).
const DISALLOWED: &[(&str, &str)] = &[
    (
        "connection",
        "a policy changed disallowed header connection",
    ),
    ("expect", "a policy changed disallowed header expect"),
    (
        "keep-alive",
        "a policy changed disallowed header keep-alive",
    ),
    (
        "proxy-authenticate",
        "a policy changed disallowed header proxy-authenticate",
    ),
    (
        "proxy-authorization",
        "a policy changed disallowed header proxy-authorization",
    ),
    (
        "proxy-connection",
        "a policy changed disallowed header proxy-connection",
    ),
    ("trailer", "a policy changed disallowed header trailer"),
    ("upgrade", "a policy changed disallowed header upgrade"),
    ("x-cache", "a policy changed disallowed header x-cache"),
    (
        "x-forwarded-proto",
        "a policy changed disallowed header x-forwarded-proto",
    ),
    ("x-real-ip", "a policy changed disallowed header x-real-ip"),
];

/// Prefixes of headers a function may not add. `cloudfront-` headers are CloudFront's own.
const DISALLOWED_PREFIXES: &[(&str, &str)] = &[
    ("x-accel-", "a policy changed a disallowed x-accel-* header"),
    (
        "x-amz-cf-",
        "a policy changed a disallowed x-amz-cf-* header",
    ),
    ("x-amzn-", "a policy changed a disallowed x-amzn-* header"),
    ("x-edge-", "a policy changed a disallowed x-edge-* header"),
    ("cloudfront-", "a policy changed a cloudfront-* header"),
];

/// Why a function may not change the header `name` (lowercase) on this trigger, if it may not.
/// The reason is a fixed text (log-safe). Triggers other than origin-request are held to the
/// viewer-request rules.
pub fn header_restriction(name: &str, event_type: &EventType) -> Option<&'static str> {
    let read_only = match event_type {
        EventType::OriginRequest => READ_ONLY_ORIGIN_REQUEST,
        _ => READ_ONLY_VIEWER_REQUEST,
    };
    read_only
        .iter()
        .chain(DISALLOWED)
        .find(|(n, _)| *n == name)
        .map(|(_, note)| *note)
        .or_else(|| {
            DISALLOWED_PREFIXES
                .iter()
                .find(|(prefix, _)| name.starts_with(prefix))
                .map(|(_, note)| *note)
        })
}

/// A policy rule that selects a header no request trigger may change.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RestrictedRule {
    /// The rule's index in the policy's `rules`.
    pub rule: usize,
    /// The header it selects, lowercase.
    pub header: String,
    /// The first trigger on which CloudFront refuses the change (viewer-request before
    /// origin-request: the package may be attached to either).
    pub trigger: EventType,
}

impl RestrictedRule {
    /// The problem as one sentence for a policy author, naming the rule's `select.header`.
    pub fn message(&self) -> String {
        format!("rules[{}].select.header: {}", self.rule, self.reason())
    }

    /// [`RestrictedRule::message`] without the rule's path, for a diagnostic that points at it.
    pub fn reason(&self) -> String {
        format!(
            "CloudFront does not let a function change header `{}` on {} (read-only or disallowed: every request this rule touches would be answered 500); protect it at the origin instead",
            self.header, self.trigger
        )
    }
}

/// The rules of `policy` that select a header CloudFront does not let a request function
/// change on viewer-request or origin-request. Every request such a rule touched would be
/// answered 500 by the handler (CloudFront itself would answer 502), so `pii-edge check` and
/// the bundle refuse the policy instead.
///
/// ```
/// use edge_fn::cloudfront::restricted_header_rules;
///
/// let policy = pii_core::Policy::from_json(r#"{"apiVersion":"pii-edge/v1","name":"p",
///   "match":{},"rules":[{"select":{"header":"x-id"},"action":"redact"},
///                       {"select":{"header":"Via"},"action":"hash"}]}"#)?;
/// let found = restricted_header_rules(policy.spec());
/// assert_eq!(found.len(), 1);
/// assert_eq!((found[0].rule, found[0].header.as_str()), (1, "via"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn restricted_header_rules(policy: &PolicySpec) -> Vec<RestrictedRule> {
    policy
        .rules
        .iter()
        .enumerate()
        .filter_map(|(rule, spec)| match &spec.select {
            SelectorSpec::Header(name) => {
                let header = name.to_ascii_lowercase();
                [EventType::ViewerRequest, EventType::OriginRequest]
                    .into_iter()
                    .find(|trigger| header_restriction(&header, trigger).is_some())
                    .map(|trigger| RestrictedRule {
                        rule,
                        header,
                        trigger,
                    })
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restrictions_by_trigger() {
        let viewer = EventType::ViewerRequest;
        let origin = EventType::OriginRequest;
        assert!(header_restriction("host", &viewer).is_some());
        assert!(header_restriction("via", &viewer).is_some());
        assert!(header_restriction("range", &viewer).is_none());
        assert!(header_restriction("range", &origin).is_some());
        assert!(header_restriction("x-amz-cf-id", &viewer).is_some());
        assert!(header_restriction("x-amzn-trace-id", &origin).is_some());
        assert!(header_restriction("upgrade", &viewer).is_some());
        assert!(header_restriction("x-national-id", &viewer).is_none());
        assert!(header_restriction("cookie", &viewer).is_none());
    }

    #[test]
    fn restricted_rules_name_the_first_trigger_that_refuses() {
        let spec: PolicySpec = serde_json::from_value(serde_json::json!({
            "apiVersion": "pii-edge/v1", "name": "p", "match": {},
            "rules": [
                {"select": {"header": "X-National-ID"}, "action": "redact"},
                {"select": {"header": "Range"}, "action": "redact"},
                {"select": {"header": "X-Amzn-Trace-Id"}, "action": "hash"},
                {"select": {"query": "via"}, "action": "redact"}
            ]
        }))
        .expect("spec");
        let found = restricted_header_rules(&spec);
        let seen: Vec<(usize, &str, &str)> = found
            .iter()
            .map(|r| (r.rule, r.header.as_str(), r.trigger.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                (1, "range", "origin-request"),
                (2, "x-amzn-trace-id", "viewer-request")
            ]
        );
        assert!(found[0].message().starts_with("rules[1].select.header:"));
        assert!(found[0].message().contains("`range` on origin-request"));
    }
}
