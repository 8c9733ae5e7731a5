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
//! entry.counts.set(pii_core::spec::ActionKind::Encrypt, 4);
//! entry.counts.set(pii_core::spec::ActionKind::Mask, 1);
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

use pii_core::spec::{ActionCounts, ActionKind};
use serde::Serialize;
use serde_json::json;

/// The CloudWatch namespace of the metrics.
pub const METRIC_NAMESPACE: &str = "pii-edge";

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
    /// Protected fields per action.
    pub counts: ActionCounts,
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
            counts: ActionCounts::default(),
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
    /// Written directly, not built as a `serde_json::Value`: the same text (members sorted by
    /// name, as a `Value` object writes them) without the ~60 allocations of a `Value` tree,
    /// and without sending the ~30 fixed names and metric definitions through serde_json's
    /// string escaper (built for size, it goes byte by byte) on every request.
    pub fn to_json_at(&self, timestamp_millis: u64) -> String {
        use std::fmt::Write as _;
        // Fixed text and numbers written directly, strings through `push_json_str`
        // (serde_json's escaping, skipped when not needed). The counts are written per
        // `ActionKind`, as `Fields<Kind>` (the metric) and by the action's own name.
        let mut out = String::with_capacity(720);
        let _ = write!(out, "{{\"DurationMicros\":{}", self.duration_micros);
        for (kind, n) in self.counts.iter() {
            let _ = write!(out, ",\"{}\":{n}", kind.metric());
        }
        let _ = write!(
            out,
            ",\"Requests\":1,\"_aws\":{{\"CloudWatchMetrics\":{},\"Timestamp\":{timestamp_millis}}},\
             \"decision\":",
            cloud_watch_metrics()
        );
        push_json_str(&mut out, self.decision.as_str());
        for (kind, n) in self.counts.iter() {
            let _ = write!(out, ",\"{}\":{n}", kind.as_str());
        }
        if let Some(event_type) = &self.event_type {
            out.push_str(",\"eventType\":");
            push_json_str(&mut out, event_type);
        }
        if self.region.is_some() {
            let _ = write!(out, ",\"failover\":{}", self.failover);
        }
        if let Some(note) = self.note {
            out.push_str(",\"note\":");
            push_json_str(&mut out, note);
        }
        out.push_str(",\"policy\":");
        push_json_str(&mut out, self.policy.as_deref().unwrap_or(NO_POLICY));
        out.push_str(",\"reason\":");
        push_opt_json_str(&mut out, self.reason);
        if let Some(region) = &self.region {
            out.push_str(",\"region\":");
            push_json_str(&mut out, region);
        }
        out.push_str(",\"requestId\":");
        push_opt_json_str(&mut out, self.request_id.as_deref());
        let _ = write!(out, ",\"status\":{}}}", self.status);
        out
    }
}

/// Appends `s` as a JSON string, exactly as serde_json writes it.
fn push_json_str(out: &mut String, s: &str) {
    if crate::cloudfront::needs_no_json_escape(s) {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(s).unwrap_or_default());
    }
}

fn push_opt_json_str(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => push_json_str(out, s),
        None => out.push_str("null"),
    }
}

/// The `CloudWatchMetrics` member of every line: the same for all, written once.
fn cloud_watch_metrics() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        serde_json::to_string(&[CloudWatchMetrics {
            dimensions: [["policy", "decision"]],
            metrics: metrics(),
            namespace: METRIC_NAMESPACE,
        }])
        .unwrap_or_default()
    })
}

/// The EMF metric definitions: the duration, one count per action kind, the request.
fn metrics() -> Vec<Metric> {
    let mut metrics = vec![Metric {
        name: "DurationMicros",
        unit: "Microseconds",
    }];
    metrics.extend(ActionKind::ALL.iter().map(|k| Metric {
        name: k.metric(),
        unit: "Count",
    }));
    metrics.push(Metric {
        name: "Requests",
        unit: "Count",
    });
    metrics
}

#[derive(Serialize)]
struct CloudWatchMetrics {
    #[serde(rename = "Dimensions")]
    dimensions: [[&'static str; 2]; 1],
    #[serde(rename = "Metrics")]
    metrics: Vec<Metric>,
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

    /// The line as it was built before, as a `serde_json::Value`.
    fn reference_line(entry: &RequestLog, timestamp_millis: u64) -> String {
        let mut metrics = vec![json!({"Name": "DurationMicros", "Unit": "Microseconds"})];
        metrics.extend(
            ActionKind::ALL
                .iter()
                .map(|k| json!({"Name": k.metric(), "Unit": "Count"})),
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
        for (kind, count) in entry.counts.iter() {
            line.insert(kind.as_str().into(), Value::from(count));
            line.insert(kind.metric().into(), Value::from(count));
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
            for (i, kind) in ActionKind::ALL.iter().enumerate() {
                entry.counts.set(*kind, i + 1);
            }
            entry.counts.set(ActionKind::Hash, usize::MAX);
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
                // The same members and values (the order of members is not part of the line's
                // meaning: CloudWatch and log queries read it by name).
                let line: Value = serde_json::from_str(&entry.to_json_at(at)).expect("JSON");
                let reference: Value =
                    serde_json::from_str(&reference_line(entry, at)).expect("JSON");
                assert_eq!(line, reference, "{entry:?}");
            }
        }
    }
}
