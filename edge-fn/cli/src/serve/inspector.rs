//! The inspector: the recent requests `serve` handled and what every rule did to each, as
//! JSON for the page at `/_pii-edge/` (which polls it) and as that page.
//!
//! What it shows is what the handler's log line says (decision, policy, status, rejection
//! code) and, per protected value, the rule, the location, the action and the value as it was
//! *forwarded* (an envelope, a token, a mask: like `pii-edge apply --explain`). It never holds
//! a value as the viewer sent it, a query string, a header value or a body, unless `serve` was
//! started with `--show-values` (local fake data only).

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use pii_core::{engine::FieldReport, Request};
use serde::{Deserialize, Serialize};

use crate::shared::inspect;
use crate::shared::inspect::{result_of, shorten};

/// The page, with its script (no external resources).
pub(super) const PAGE: &str = include_str!("inspector.html");

/// One request as the inspector lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Entry {
    /// Position in the list, from 1; the page asks for entries after the last it has.
    pub(super) seq: u64,
    /// The `requestId` of the event (also `X-Amz-Cf-Id` at the upstream and in the response).
    pub(super) id: String,
    /// When it arrived, milliseconds since the Unix epoch.
    pub(super) time: u64,
    pub(super) method: String,
    /// The path without the query string.
    pub(super) path: String,
    /// `protected`, `unmatched` or `rejected` (the handler's), `failed` when the upstream did
    /// not answer, `refused` when serve refused the request before the handler.
    pub(super) decision: String,
    pub(super) policy: Option<String>,
    /// The status the viewer got.
    pub(super) status: u16,
    /// The rejection or failure code (`body-truncated`, `upstream-unavailable`, ...).
    pub(super) reason: Option<String>,
    /// The handler's note for operators, if any.
    pub(super) note: Option<String>,
    /// Time in serve and the upstream until the response headers, microseconds.
    pub(super) latency_micros: u64,
    /// Time in the handler, microseconds (its log line's `DurationMicros`).
    pub(super) handler_micros: u64,
    /// What every rule did.
    pub(super) rules: Vec<Rule>,
    /// The query string as sent; only with `--show-values`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) query: Option<String>,
}

/// What one rule did to one value.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Rule {
    pub(super) rule: String,
    pub(super) location: String,
    pub(super) action: &'static str,
    /// The value as forwarded, shortened (`"pe2.…(402 chars)"`, `"e***@example.de"`), or
    /// `removed`.
    pub(super) result: String,
    /// The value as the viewer sent it; only with `--show-values`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) original: Option<String>,
}

/// The members of the handler's log line the inspector shows.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LogLine {
    pub(super) decision: String,
    pub(super) policy: Option<String>,
    pub(super) reason: Option<String>,
    pub(super) note: Option<String>,
    #[serde(rename = "DurationMicros")]
    pub(super) duration_micros: u64,
}

impl LogLine {
    /// Parses a handler log line (`policy` is `-` when none applied).
    pub(super) fn parse(line: &str) -> LogLine {
        let mut parsed: LogLine = serde_json::from_str(line).unwrap_or_default();
        if parsed.policy.as_deref() == Some(edge_fn::log::NO_POLICY) {
            parsed.policy = None;
        }
        parsed
    }
}

/// What every rule did: the handler's field reports (`handler::handle_reporting`), each value
/// read from the request that was actually forwarded. `seen` is the request as the handler saw
/// it.
pub(super) fn rules(
    fields: &[FieldReport],
    seen: &Request,
    forwarded: Request,
    show_values: bool,
) -> Vec<Rule> {
    fields
        .iter()
        .map(|field| Rule {
            rule: field.rule.clone(),
            location: field.location.to_string(),
            action: field.action.as_str(),
            result: result_of(&forwarded, field),
            original: show_values.then(|| original(seen, &field.location)),
        })
        .collect()
}

/// The value the viewer sent at `location`, shortened (as `apply --explain` shows values).
fn original(seen: &Request, location: &pii_core::Location) -> String {
    match inspect::value_at(seen, location) {
        Some(found) if matches!(location, pii_core::Location::Json(_)) => {
            shorten(&String::from_utf8_lossy(&found.raw), 44)
        }
        Some(found) => shorten(&format!("{:?}", found.text), 44),
        None => "(not found)".to_owned(),
    }
}

/// The recent requests, newest last, at most `capacity`.
pub(super) struct History {
    capacity: usize,
    inner: Mutex<Inner>,
}

struct Inner {
    next: u64,
    /// `(seq, entry as JSON)`.
    entries: VecDeque<(u64, String)>,
}

impl History {
    pub(super) fn new(capacity: usize) -> History {
        History {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner {
                next: 1,
                entries: VecDeque::new(),
            }),
        }
    }

    /// Adds an entry (its `seq` is set here).
    pub(super) fn push(&self, mut entry: Entry) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        entry.seq = inner.next;
        inner.next += 1;
        let json = serde_json::to_string(&entry).unwrap_or_else(|_| "null".to_owned());
        inner.entries.push_back((entry.seq, json));
        while inner.entries.len() > self.capacity {
            inner.entries.pop_front();
        }
    }

    /// The entries after `seq`, as a JSON array.
    pub(super) fn after(&self, seq: u64) -> String {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::from("[");
        for (i, (_, json)) in inner.entries.iter().filter(|(s, _)| *s > seq).enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(json);
        }
        out.push(']');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> Entry {
        Entry {
            seq: 0,
            id: "id".into(),
            time: 0,
            method: "GET".into(),
            path: path.into(),
            decision: "unmatched".into(),
            policy: None,
            status: 200,
            reason: None,
            note: None,
            latency_micros: 1,
            handler_micros: 1,
            rules: Vec::new(),
            query: None,
        }
    }

    #[test]
    fn history_keeps_the_newest_and_pages_by_seq() {
        let h = History::new(2);
        for p in ["/a", "/b", "/c"] {
            h.push(entry(p));
        }
        let all: Vec<serde_json::Value> = serde_json::from_str(&h.after(0)).expect("json");
        assert_eq!(all.len(), 2);
        assert_eq!(all[0]["path"], "/b");
        assert_eq!(all[1]["seq"], 3);
        let newer: Vec<serde_json::Value> = serde_json::from_str(&h.after(2)).expect("json");
        assert_eq!(newer.len(), 1);
        assert!(!h.after(0).contains("\"query\""));
    }

    #[test]
    fn log_lines_give_the_decision() {
        let mut log = edge_fn::log::RequestLog::new(edge_fn::log::Decision::Rejected, 413);
        log.reason = Some("body-truncated");
        log.duration_micros = 7;
        let parsed = LogLine::parse(&log.to_json());
        assert_eq!(parsed.decision, "rejected");
        assert_eq!(parsed.reason.as_deref(), Some("body-truncated"));
        assert_eq!(parsed.policy, None);
        assert_eq!(parsed.duration_micros, 7);
    }

    #[test]
    fn rules_show_forwarded_values_and_originals_only_when_asked() {
        use pii_core::{Engine, Outcome};
        let policy = pii_core::Policy::from_yaml(
            "p.yaml",
            "apiVersion: pii-edge/v1\nname: p\nmatch: {paths: [/s]}\nrules:\n  - select: {query: email}\n    action: mask\n    keepFirst: 1\n",
        )
        .expect("policy");
        let engine = Engine::new(
            vec![policy],
            pii_core::PublicKeyring::default(),
            pii_core::TokenKeys::default(),
        )
        .expect("engine");
        let seen = Request {
            method: "GET".into(),
            path: "/s".into(),
            query: "email=erika%40example.de".into(),
            ..Request::default()
        };
        let forwarded = Request {
            query: "email=e%2A%2A%2A".into(),
            ..seen.clone()
        };
        let Outcome::Protected(protected) = engine.apply(&seen) else {
            panic!("not protected");
        };
        let rows = rules(&protected.fields, &seen, forwarded.clone(), false);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].location, "query:email");
        assert_eq!(rows[0].action, "mask");
        assert_eq!(rows[0].result, "\"e***\"");
        let json = serde_json::to_string(&rows).expect("json");
        assert!(!json.contains("erika"), "{json}");
        let rows = rules(&protected.fields, &seen, forwarded, true);
        assert!(rows[0]
            .original
            .as_deref()
            .unwrap_or("")
            .contains("erika@example.de"));
    }
}
