//! One structured JSON log line per request, readable as CloudWatch Embedded Metric Format.
//!
//! Each line carries the policy name, the decision, the HTTP status, the rejection code, the
//! number of protected fields per action and the duration in microseconds. It never carries a
//! value, a path, a query string or a header value: paths may hold personal data
//! (`/users/erika@example.de`), so only the *policy name* says which route was hit.
//!
//! The `_aws` member makes CloudWatch Logs extract metrics from the same line (namespace
//! `pii-edge`, dimensions `policy` x `decision`), so no metrics API call is made per request:
//!
//! ```
//! use edge_fn::log::{Decision, RequestLog};
//!
//! let mut entry = RequestLog::new(Decision::Protected, 200);
//! entry.policy = Some("signup".into());
//! entry.counts = [4, 0, 1, 1, 0];
//! entry.duration_micros = 180;
//! let line = entry.to_json_at(1_700_000_000_000);
//! let v: serde_json::Value = serde_json::from_str(&line).unwrap();
//! assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "pii-edge");
//! assert_eq!(v["FieldsEncrypted"], 4);
//! assert_eq!(v["encrypt"], 4);
//! assert_eq!(v["decision"], "protected");
//! ```
//!
//! Where the line goes is a [`LogSink`]: [`StdoutSink`] in production (Lambda sends stdout to
//! CloudWatch Logs), [`MemorySink`] in tests, which can then assert that no plaintext appears.

use std::io::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::json;

/// The CloudWatch namespace of the metrics.
pub const METRIC_NAMESPACE: &str = "pii-edge";

/// The metric names, in the order of `pii_core::ActionKind::ALL`
/// (encrypt, tokenize, mask, redact, hash).
const FIELD_METRICS: [&str; 5] = [
    "FieldsEncrypted",
    "FieldsTokenized",
    "FieldsMasked",
    "FieldsRedacted",
    "FieldsHashed",
];

/// The `policy` dimension value when no policy applied (unmatched, or rejected before a
/// policy was chosen). EMF needs every dimension present.
pub const NO_POLICY: &str = "-";

/// Where log lines go. Implementations must be cheap and must not fail loudly: logging never
/// changes what happens to a request.
pub trait LogSink: Send + Sync {
    /// Writes one complete line (without its trailing newline).
    fn write_line(&self, line: &str);
}

/// Writes each line to standard output (Lambda forwards it to CloudWatch Logs), one `write`
/// per line so that lines of concurrent requests do not interleave.
#[derive(Debug, Default, Clone, Copy)]
pub struct StdoutSink;

impl LogSink for StdoutSink {
    fn write_line(&self, line: &str) {
        let mut buffer = String::with_capacity(line.len() + 1);
        buffer.push_str(line);
        buffer.push('\n');
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        // A closed stdout must not take the request down with it.
        let _ = lock.write_all(buffer.as_bytes());
        let _ = lock.flush();
    }
}

/// Keeps every line in memory, for tests.
///
/// ```
/// use edge_fn::log::{LogSink, MemorySink};
/// let sink = MemorySink::default();
/// sink.write_line("{}");
/// assert_eq!(sink.lines(), ["{}"]);
/// ```
#[derive(Debug, Default)]
pub struct MemorySink {
    lines: Mutex<Vec<String>>,
}

impl MemorySink {
    /// A copy of every line written so far, in order.
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl LogSink for MemorySink {
    fn write_line(&self, line: &str) {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line.to_owned());
    }
}

/// What happened to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A policy applied and the (possibly changed) request was forwarded.
    Protected,
    /// A generated error response was returned instead of forwarding.
    Rejected,
    /// No policy applied; the request was forwarded unchanged.
    Unmatched,
}

impl Decision {
    /// `protected`, `rejected` or `unmatched`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Protected => "protected",
            Decision::Rejected => "rejected",
            Decision::Unmatched => "unmatched",
        }
    }
}

/// The log line of one request. Every member is log-safe by construction: names from the
/// configuration, codes from fixed lists, numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLog {
    /// The policy that applied, if any (its name comes from the bundle, not the request).
    pub policy: Option<String>,
    /// The decision.
    pub decision: Decision,
    /// The HTTP status: 200 when forwarded, the generated response's status otherwise.
    pub status: u16,
    /// The rejection code (`body-truncated`, `malformed-json`, ...), when rejected.
    pub reason: Option<&'static str>,
    /// A fixed-text note for operators (e.g. which read-only header a policy tried to change).
    pub note: Option<&'static str>,
    /// Protected fields per action: encrypt, tokenize, mask, redact, hash.
    pub counts: [usize; 5],
    /// Wall time spent in the handler, in microseconds.
    pub duration_micros: u64,
    /// CloudFront's request id (`config.requestId`), to join with access logs.
    pub request_id: Option<String>,
    /// The trigger (`viewer-request`, `origin-request`), when the event said.
    pub event_type: Option<String>,
    /// The region an origin-request trigger routed to (residency).
    pub region: Option<String>,
    /// The region is not its zone's preferred one.
    pub failover: bool,
}

impl RequestLog {
    /// An entry with a decision and a status, everything else empty.
    pub fn new(decision: Decision, status: u16) -> Self {
        RequestLog {
            policy: None,
            decision,
            status,
            reason: None,
            note: None,
            counts: [0; 5],
            duration_micros: 0,
            request_id: None,
            event_type: None,
            region: None,
            failover: false,
        }
    }

    /// The line, timestamped now.
    pub fn to_json(&self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        self.to_json_at(now)
    }

    /// The line, with an explicit EMF `Timestamp` (milliseconds since the epoch).
    ///
    /// Written through borrowed structs, not built as a `serde_json::Value`: the same text
    /// (members sorted by name, as a `Value` object writes them), without the ~60 allocations
    /// of a `Value` tree, which cost about as much as everything else the handler does around
    /// the engine for a small request.
    pub fn to_json_at(&self, timestamp_millis: u64) -> String {
        let [encrypt, tokenize, mask, redact, hash] = self.counts;
        let line = Line {
            duration_micros: self.duration_micros,
            fields_encrypted: encrypt,
            fields_hashed: hash,
            fields_masked: mask,
            fields_redacted: redact,
            fields_tokenized: tokenize,
            requests: 1,
            aws: Aws {
                cloud_watch_metrics: [CloudWatchMetrics {
                    dimensions: [["policy", "decision"]],
                    metrics: METRICS,
                    namespace: METRIC_NAMESPACE,
                }],
                timestamp: timestamp_millis,
            },
            decision: self.decision.as_str(),
            encrypt,
            event_type: self.event_type.as_deref(),
            failover: self.region.as_ref().map(|_| self.failover),
            hash,
            mask,
            note: self.note,
            policy: self.policy.as_deref().unwrap_or(NO_POLICY),
            reason: self.reason,
            redact,
            region: self.region.as_deref(),
            request_id: self.request_id.as_deref(),
            status: self.status,
            tokenize,
        };
        // Strings, numbers and booleans only: this cannot fail.
        serde_json::to_string(&line).unwrap_or_default()
    }
}

/// The EMF metric definitions: the duration, the field counts (`FIELD_METRICS`), the request.
const METRICS: [Metric; 7] = [
    Metric {
        name: "DurationMicros",
        unit: "Microseconds",
    },
    Metric {
        name: FIELD_METRICS[0],
        unit: "Count",
    },
    Metric {
        name: FIELD_METRICS[1],
        unit: "Count",
    },
    Metric {
        name: FIELD_METRICS[2],
        unit: "Count",
    },
    Metric {
        name: FIELD_METRICS[3],
        unit: "Count",
    },
    Metric {
        name: FIELD_METRICS[4],
        unit: "Count",
    },
    Metric {
        name: "Requests",
        unit: "Count",
    },
];

/// One log line. The members are declared in the order a `serde_json::Value` object writes
/// them (sorted by name, bytewise), so that the text is what it was when the line was built
/// as a `Value`; the count members are `FIELD_METRICS` and the short names (`encrypt`,
/// `tokenize`, `mask`, `redact`, `hash`) for log queries (`filter encrypt > 0`).
#[derive(Serialize)]
struct Line<'a> {
    #[serde(rename = "DurationMicros")]
    duration_micros: u64,
    #[serde(rename = "FieldsEncrypted")]
    fields_encrypted: usize,
    #[serde(rename = "FieldsHashed")]
    fields_hashed: usize,
    #[serde(rename = "FieldsMasked")]
    fields_masked: usize,
    #[serde(rename = "FieldsRedacted")]
    fields_redacted: usize,
    #[serde(rename = "FieldsTokenized")]
    fields_tokenized: usize,
    #[serde(rename = "Requests")]
    requests: u8,
    #[serde(rename = "_aws")]
    aws: Aws,
    decision: &'a str,
    encrypt: usize,
    #[serde(rename = "eventType", skip_serializing_if = "Option::is_none")]
    event_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failover: Option<bool>,
    hash: usize,
    mask: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
    policy: &'a str,
    reason: Option<&'a str>,
    redact: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
    #[serde(rename = "requestId")]
    request_id: Option<&'a str>,
    status: u16,
    tokenize: usize,
}

/// The `_aws` member (CloudWatch Embedded Metric Format).
#[derive(Serialize)]
struct Aws {
    #[serde(rename = "CloudWatchMetrics")]
    cloud_watch_metrics: [CloudWatchMetrics; 1],
    #[serde(rename = "Timestamp")]
    timestamp: u64,
}

#[derive(Serialize)]
struct CloudWatchMetrics {
    #[serde(rename = "Dimensions")]
    dimensions: [[&'static str; 2]; 1],
    #[serde(rename = "Metrics")]
    metrics: [Metric; 7],
    #[serde(rename = "Namespace")]
    namespace: &'static str,
}

#[derive(Serialize, Clone, Copy)]
struct Metric {
    #[serde(rename = "Name")]
    name: &'static str,
    #[serde(rename = "Unit")]
    unit: &'static str,
}

/// The line logged once at cold start when the bundle could not be loaded. `error` is a
/// [`BundleError`](crate::bundle::BundleError) message: it names policies, rules and key
/// positions, never key material.
pub fn init_failure_line(error: &str) -> String {
    json!({
        "level": "error",
        "event": "init",
        "decision": "unavailable",
        "error": error,
        "effect": "every request is answered 503 policy-unavailable until a fixed bundle is deployed",
    })
    .to_string()
}

/// Replaces the default panic hook with one that prints only the location of a panic, never
/// its message: a message could quote a request value. Call it once at start (the `bootstrap`
/// binary and the Node.js addon do). Panics inside the handler are caught and answered 500.
pub fn install_quiet_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_else(|| "unknown".to_owned());
        let line = json!({"level": "error", "event": "panic", "location": location}).to_string();
        let _ = writeln!(std::io::stderr(), "{line}");
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value};

    /// The short count members, in the same order, for log queries (`filter encrypt > 0`).
    const FIELD_COUNTS: [&str; 5] = ["encrypt", "tokenize", "mask", "redact", "hash"];

    /// The line as it was built before, as a `serde_json::Value`.
    fn reference_line(entry: &RequestLog, timestamp_millis: u64) -> String {
        let mut metrics = vec![json!({"Name": "DurationMicros", "Unit": "Microseconds"})];
        metrics.extend(
            FIELD_METRICS
                .iter()
                .map(|name| json!({"Name": name, "Unit": "Count"})),
        );
        metrics.push(json!({"Name": "Requests", "Unit": "Count"}));

        let mut line = Map::new();
        line.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_millis,
                "CloudWatchMetrics": [{
                    "Namespace": METRIC_NAMESPACE,
                    "Dimensions": [["policy", "decision"]],
                    "Metrics": metrics,
                }],
            }),
        );
        line.insert(
            "policy".into(),
            Value::from(entry.policy.as_deref().unwrap_or(NO_POLICY)),
        );
        line.insert("decision".into(), Value::from(entry.decision.as_str()));
        line.insert("status".into(), Value::from(entry.status));
        line.insert(
            "reason".into(),
            entry.reason.map_or(Value::Null, Value::from),
        );
        if let Some(region) = &entry.region {
            line.insert("region".into(), Value::from(region.as_str()));
            line.insert("failover".into(), Value::from(entry.failover));
        }
        if let Some(note) = entry.note {
            line.insert("note".into(), Value::from(note));
        }
        for ((short, metric), count) in FIELD_COUNTS.iter().zip(FIELD_METRICS).zip(entry.counts) {
            line.insert((*short).into(), Value::from(count));
            line.insert(metric.into(), Value::from(count));
        }
        line.insert("DurationMicros".into(), Value::from(entry.duration_micros));
        line.insert("Requests".into(), Value::from(1));
        line.insert(
            "requestId".into(),
            entry.request_id.as_deref().map_or(Value::Null, Value::from),
        );
        if let Some(event_type) = &entry.event_type {
            line.insert("eventType".into(), Value::from(event_type.as_str()));
        }
        Value::Object(line).to_string()
    }

    #[test]
    fn the_line_is_the_text_it_was() {
        let mut entries = Vec::new();
        for decision in [Decision::Protected, Decision::Rejected, Decision::Unmatched] {
            let mut entry = RequestLog::new(decision, 200);
            entries.push(entry.clone());
            entry.policy = Some("signup \"quoted\" \\ \u{1}".into());
            entry.status = 413;
            entry.reason = Some("body-too-large");
            entry.note = Some("a note");
            entry.counts = [1, 2, 3, 4, usize::MAX];
            entry.duration_micros = u64::MAX;
            entry.request_id = Some("r-\n\"1\"".into());
            entry.event_type = Some("viewer-request".into());
            entries.push(entry.clone());
            entry.region = Some("eu-central-1".into());
            entries.push(entry.clone());
            entry.failover = true;
            entries.push(entry);
        }
        for entry in &entries {
            for at in [0, 1_700_000_000_000, u64::MAX] {
                assert_eq!(entry.to_json_at(at), reference_line(entry, at), "{entry:?}");
            }
        }
    }
}
