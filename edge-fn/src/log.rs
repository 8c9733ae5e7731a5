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

use serde_json::{json, Map, Value};

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

/// The short count members, in the same order, for log queries (`filter encrypt > 0`).
const FIELD_COUNTS: [&str; 5] = ["encrypt", "tokenize", "mask", "redact", "hash"];

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
    pub fn to_json_at(&self, timestamp_millis: u64) -> String {
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
            Value::from(self.policy.as_deref().unwrap_or(NO_POLICY)),
        );
        line.insert("decision".into(), Value::from(self.decision.as_str()));
        line.insert("status".into(), Value::from(self.status));
        line.insert(
            "reason".into(),
            self.reason.map_or(Value::Null, Value::from),
        );
        if let Some(region) = &self.region {
            line.insert("region".into(), Value::from(region.as_str()));
            line.insert("failover".into(), Value::from(self.failover));
        }
        if let Some(note) = self.note {
            line.insert("note".into(), Value::from(note));
        }
        for ((short, metric), count) in FIELD_COUNTS.iter().zip(FIELD_METRICS).zip(self.counts) {
            line.insert((*short).into(), Value::from(count));
            line.insert(metric.into(), Value::from(count));
        }
        line.insert("DurationMicros".into(), Value::from(self.duration_micros));
        line.insert("Requests".into(), Value::from(1));
        line.insert(
            "requestId".into(),
            self.request_id.as_deref().map_or(Value::Null, Value::from),
        );
        if let Some(event_type) = &self.event_type {
            line.insert("eventType".into(), Value::from(event_type.as_str()));
        }
        Value::Object(line).to_string()
    }
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
