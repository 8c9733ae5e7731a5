//! The request handler: a CloudFront viewer-request or origin-request event in, the request to
//! forward (possibly rewritten) or a generated response out.
//!
//! What it does, in order:
//!
//! 1. Takes the single record of the event; anything else is a 400 `invalid-event`.
//! 2. Refuses response triggers (500: the function is attached to the wrong event) and, when
//!    the bundle did not load, answers 503 `policy-unavailable`: it never forwards unprotected.
//! 3. Builds a `pii_core::Request` with the one conversion, [`cloudfront::to_core`] (a
//!    truncated body is rejected by the engine on a protected route with 413; a header entry
//!    whose `key` names another header, which CloudFront never sends, is a 400
//!    `invalid-event`).
//! 4. When the residency file has `identity` (docs/residency.md), verifies the viewer's
//!    identity token: a refused token (or none on a route that requires one) is a 401/403
//!    problem; a verified token's zone replaces the residency's resolve steps and its subject
//!    goes into the receipt. Then applies the engine, catching panics (a panic becomes a 500
//!    and the function keeps serving).
//! 5. Writes back only what changed ([`cloudfront::write_back`]): the body with
//!    `action: "replace"` (base64, or text when only text fits), the query string, the
//!    headers. A body that grows past what CloudFront accepts back ([`BodyLimits`]) is
//!    rejected with 413 `body-too-large`, never cut. A change to a header CloudFront does not
//!    let functions change (read-only or disallowed) is rejected with 500 `internal` and
//!    logged.
//! 6. Rejections become a generated response with an RFC 9457 `application/problem+json`
//!    body (see [`crate::problem`]).
//! 7. Logs one JSON line (see [`crate::log`]).
//!
//! The entry points ([`handle`], [`handle_json`], [`handle_parts`], [`handle_value`]) are thin
//! adapters over the same steps: `process.rs` (the order above), `zone.rs` (the zone stamp
//! and residency routing) and `receipt.rs` (the signed receipt, which reads only the headers
//! the policy binds and the body bytes the write-back produced).
//!
//! ```
//! use std::sync::Arc;
//! use edge_fn::{bundle::Edge, handler::handle_json, log::MemorySink};
//!
//! let bundle = r#"{"policies":[{"apiVersion":"pii-edge/v1","name":"search",
//!   "match":{"paths":["/api/search"]},
//!   "rules":[{"select":{"query":"email"},"action":"mask","keepFirst":1}]}],
//!   "keys":{"keys":[]},"tokens":null}"#;
//! let log = Arc::new(MemorySink::default());
//! let edge = Edge::from_bundle_with_log(bundle, log.clone());
//! let event = r#"{"Records":[{"cf":{"config":{"distributionId":"E1","eventType":"viewer-request"},
//!   "request":{"clientIp":"203.0.113.1","method":"GET","uri":"/api/search",
//!   "querystring":"email=erika%40example.de","headers":{}}}}]}"#;
//! let out: serde_json::Value = serde_json::from_str(&handle_json(&edge, event)).unwrap();
//! assert!(out["querystring"].as_str().unwrap().starts_with("email=e%2A"));
//! assert!(!log.lines()[0].contains("erika"));
//! ```

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use pii_core::{engine::FieldReport, engine::RejectReason, Rejection};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::bundle::Edge;
use crate::cloudfront::{CloudFrontEvent, Request as CfRequest, Response};
use crate::log::{Decision, RequestLog};
use crate::problem::Problem;

mod process;
mod receipt;
mod zone;

use process::process;
pub use zone::ZONE_HEADER;

pub use crate::cloudfront::{
    BodyLimits, MAX_URI_AND_QUERY, ORIGIN_REQUEST_LIMITS, VIEWER_REQUEST_LIMITS,
};

/// Largest generated response (headers and body) on viewer-request, in bytes.
pub const MAX_GENERATED_RESPONSE: usize = 40_000;

/// What the handler returns to CloudFront: the request to forward, or a response to answer
/// with. Serializes to exactly the object CloudFront expects (the `request` object, or a
/// response object with `status`).
#[derive(Debug, Clone, PartialEq)]
pub enum HandlerOutput {
    /// Forward this request (to the cache / origin).
    Forward(Box<CfRequest>),
    /// Answer the viewer with this generated response.
    Respond(Box<Response>),
}

impl Serialize for HandlerOutput {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            HandlerOutput::Forward(request) => request.serialize(serializer),
            HandlerOutput::Respond(response) => response.serialize(serializer),
        }
    }
}

impl HandlerOutput {
    /// The HTTP status: 200 for a forwarded request, the response's status otherwise.
    pub fn status(&self) -> u16 {
        match self {
            HandlerOutput::Forward(_) => 200,
            HandlerOutput::Respond(response) => response.status.parse().unwrap_or(500),
        }
    }

    /// The output as CloudFront's JSON: the text `serde_json::to_string` gives, with a
    /// forwarded body's base64 appended without going through the string escaper (see
    /// [`CfRequest::to_json`]).
    pub fn to_json(&self) -> String {
        let json = match self {
            HandlerOutput::Forward(request) => request.to_json(),
            HandlerOutput::Respond(response) => serde_json::to_string(response),
        };
        json.unwrap_or_else(|_| FALLBACK_RESPONSE.to_owned())
    }

    /// The output as a JSON value (what `lambda_runtime` returns).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self)
            .unwrap_or_else(|_| serde_json::from_str(FALLBACK_RESPONSE).unwrap_or(Value::Null))
    }
}

/// Answered if an output cannot be serialized (which does not happen with these types).
const FALLBACK_RESPONSE: &str = r#"{"status":"500","statusDescription":"Internal Server Error","headers":{"content-type":[{"key":"Content-Type","value":"application/problem+json"}],"cache-control":[{"key":"Cache-Control","value":"no-store"}]},"body":"{\"type\":\"https://pii-edge.dev/problems/internal\",\"title\":\"Internal error\",\"status\":500}","bodyEncoding":"text"}"#;

/// Handles one CloudFront event.
pub fn handle(edge: &Edge, event: CloudFrontEvent) -> HandlerOutput {
    run(edge, Ok(event))
}

/// What the handler answered, with what it knows about a protected request that the answer
/// does not show: for tools that check a policy against the deployed behaviour
/// (`pii-edge test`). See [`handle_reporting`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Reported {
    /// What [`handle`] returns for the same event.
    pub output: HandlerOutput,
    /// The policy that matched (protected or rejected), if any.
    pub policy: Option<String>,
    /// What happened to each protected value, when the request was forwarded protected
    /// (locations name request member names: treat them as request metadata).
    pub fields: Vec<FieldReport>,
}

/// Handles one CloudFront event exactly as [`handle`] does (same answer, same log line), and
/// also returns the matching policy and the engine's field reports.
///
/// ```
/// use std::sync::Arc;
/// use edge_fn::{bundle::Edge, cloudfront, handler::{handle_reporting, HandlerOutput}, log::MemorySink};
///
/// let bundle = r#"{"policies":[{"apiVersion":"pii-edge/v1","name":"search",
///   "match":{"paths":["/api/search"]},
///   "rules":[{"select":{"query":"email"},"action":"mask","keepFirst":1}]}],
///   "keys":{"keys":[]},"tokens":null}"#;
/// let edge = Edge::from_bundle_with_log(bundle, Arc::new(MemorySink::default()));
/// let request = pii_core::Request::new("GET", "/api/search").with_query("email=erika%40example.de");
/// let event = cloudfront::viewer_request_event(cloudfront::from_core(&request));
/// let reported = handle_reporting(&edge, event);
/// assert!(matches!(reported.output, HandlerOutput::Forward(_)));
/// assert_eq!(reported.policy.as_deref(), Some("search"));
/// assert_eq!(reported.fields.len(), 1);
/// ```
pub fn handle_reporting(edge: &Edge, event: CloudFrontEvent) -> Reported {
    let mut fields = Vec::new();
    let (output, policy) = run_reporting(edge, Ok(event), &mut fields);
    Reported {
        output,
        policy,
        fields,
    }
}

/// Handles one event given as JSON and returns CloudFront's JSON. Never panics: an event that
/// does not parse is answered with a 400 generated response. Used by the Node.js addon.
pub fn handle_json(edge: &Edge, event_json: &str) -> String {
    let parsed = event_json
        .parse::<CloudFrontEvent>()
        .map_err(|e| parse_problem(&e));
    run(edge, parsed).to_json()
}

/// CloudFront's answer with a forwarded body's `data` apart from the rest, see
/// [`handle_parts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerParts {
    /// The answer as JSON, what [`handle_json`] returns, except that when `body_data` is
    /// `Some` the forwarded request's `body.data` in it is `""`.
    pub json: String,
    /// The forwarded request's `body.data`: `Some` exactly when the answer is a forwarded
    /// request with a body (whether or not the body was replaced). `None` for a generated
    /// response and for a request without a body.
    pub body_data: Option<String>,
}

impl AnswerParts {
    /// The whole answer JSON, `body_data` put back in place: the text [`handle_json`] returns
    /// for the same event. Parses and writes the answer again: for tests and tools.
    pub fn joined(&self) -> Result<String, serde_json::Error> {
        let Some(data) = &self.body_data else {
            return Ok(self.json.clone());
        };
        // A forwarded request: parsing and writing it gives back the same text.
        let mut request: CfRequest = serde_json::from_str(&self.json)?;
        if let Some(body) = request.body.as_mut() {
            body.data.clone_from(data);
        }
        request.to_json()
    }
}

/// Handles one event whose body `data` travels apart from the rest of it, the path of the
/// Node.js addon: the caller takes `Records[0].cf.request.body.data` out of the event, sets it
/// to `""`, and passes the event JSON and the data separately; the forwarded request's new
/// `data` comes back separately too ([`AnswerParts`]). The large base64 string is then
/// never written into or parsed out of a JSON text on either side of the bridge.
///
/// The answer is the one [`handle_json`] gives for the whole event. `body_data: None` is
/// [`handle_json`] (with the answer's body data taken out all the same). Never panics and
/// fails closed: given `body_data`, an event that does not hold exactly one record whose
/// request has a body with `data: ""` is answered 400 `invalid-event`, like any other event
/// that is not what it should be.
///
/// ```
/// use edge_fn::{bundle::Edge, handler::{handle_json, handle_parts}, log::MemorySink};
/// # let bundle = r#"{"policies":[{"apiVersion":"pii-edge/v1","name":"signup",
/// #   "match":{"paths":["/signup"]},
/// #   "rules":[{"select":{"json":"$.email"},"action":"mask","keepFirst":1}]}],
/// #   "keys":{"keys":[]},"tokens":null}"#;
/// # let edge = Edge::from_bundle_with_log(bundle, std::sync::Arc::new(MemorySink::default()));
/// let event = |data: &str| format!(r#"{{"Records":[{{"cf":{{
///   "config":{{"distributionId":"E1","eventType":"viewer-request"}},
///   "request":{{"clientIp":"203.0.113.1","method":"POST","uri":"/signup","querystring":"",
///     "headers":{{"content-type":[{{"key":"Content-Type","value":"application/json"}}]}},
///     "body":{{"inputTruncated":false,"action":"read-only","encoding":"base64",
///       "data":"{data}"}}}}}}}}]}}"#);
/// let data = "eyJlbWFpbCI6ImVyaWthQGV4YW1wbGUuZGUifQ=="; // {"email":"erika@example.de"}
///
/// let parts = handle_parts(&edge, &event(""), Some(data.to_owned()));
/// let new_data = parts.body_data.clone().expect("forwarded with a body");
/// assert_ne!(new_data, data);
/// assert_eq!(parts.joined()?, handle_json(&edge, &event(data)));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn handle_parts(edge: &Edge, event_json: &str, body_data: Option<String>) -> AnswerParts {
    let parsed = event_json
        .parse::<CloudFrontEvent>()
        .map_err(|e| parse_problem(&e))
        .and_then(|event| put_body_data(event, body_data));
    match run(edge, parsed) {
        HandlerOutput::Forward(mut request) => {
            let body_data = request
                .body
                .as_mut()
                .map(|body| std::mem::take(&mut body.data));
            match request.to_json() {
                Ok(json) => AnswerParts { json, body_data },
                // Not reached (see `HandlerOutput::to_json`); never half an answer.
                Err(_) => AnswerParts {
                    json: FALLBACK_RESPONSE.to_owned(),
                    body_data: None,
                },
            }
        }
        output @ HandlerOutput::Respond(_) => AnswerParts {
            json: output.to_json(),
            body_data: None,
        },
    }
}

/// Puts the body data passed apart back into its event (see [`handle_parts`]).
fn put_body_data(
    mut event: CloudFrontEvent,
    body_data: Option<String>,
) -> Result<CloudFrontEvent, Problem> {
    let Some(data) = body_data else {
        return Ok(event);
    };
    let body = match event.records.as_mut_slice() {
        [record] => record.cf.request.body.as_mut(),
        _ => None,
    };
    match body {
        Some(body) if body.data.is_empty() => {
            body.data = data;
            Ok(event)
        }
        _ => Err(Problem::invalid_event(
            "body data was passed apart, but the event does not hold one request body with empty data",
        )),
    }
}

/// Handles one event given as a JSON value (what `lambda_runtime` passes) and returns the
/// output as a value.
pub fn handle_value(edge: &Edge, event: Value) -> Value {
    let parsed = serde_json::from_value::<CloudFrontEvent>(event).map_err(|e| parse_problem(&e));
    run(edge, parsed).to_value()
}

/// A 400 for an event that does not parse. serde_json's messages may quote input, so only the
/// category and the position are kept.
fn parse_problem(error: &serde_json::Error) -> Problem {
    let what = match error.classify() {
        serde_json::error::Category::Io => "could not be read",
        serde_json::error::Category::Syntax => "is not valid JSON",
        serde_json::error::Category::Eof => "is incomplete JSON",
        serde_json::error::Category::Data => "is not a CloudFront request event",
    };
    let detail = if error.line() > 0 {
        format!(
            "the event {what} (line {}, column {})",
            error.line(),
            error.column()
        )
    } else {
        format!("the event {what}")
    };
    Problem::invalid_event(detail)
}

/// Runs one invocation: process, catch panics, log.
fn run(edge: &Edge, event: Result<CloudFrontEvent, Problem>) -> HandlerOutput {
    run_reporting(edge, event, &mut Vec::new()).0
}

/// [`run`], also handing out the field reports of a protected request (moved, not copied) and
/// the policy that decided.
fn run_reporting(
    edge: &Edge,
    event: Result<CloudFrontEvent, Problem>,
    fields: &mut Vec<FieldReport>,
) -> (HandlerOutput, Option<String>) {
    let started = Instant::now();
    let mut entry = RequestLog::new(Decision::Rejected, 500);
    let output = match catch_unwind(AssertUnwindSafe(|| {
        process(edge, event, &mut entry, fields)
    })) {
        Ok(output) => output,
        Err(_) => {
            entry.note = Some("panic caught; nothing was forwarded");
            reject_reason(&mut entry, RejectReason::Internal)
        }
    };
    entry.duration_micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    edge.log().write_line(&entry.to_json());
    if matches!(output, HandlerOutput::Respond(_)) {
        // Nothing was forwarded (a write-back refused, a panic): no value was protected.
        fields.clear();
    }
    (output, entry.policy)
}

/// Records a rejection in the log entry and builds the generated response.
fn reject(entry: &mut RequestLog, problem: Problem) -> HandlerOutput {
    entry.decision = Decision::Rejected;
    entry.status = problem.status;
    entry.reason = Some(problem.code);
    entry.counts = pii_core::spec::ActionCounts::default();
    if entry.policy.is_none() {
        entry.policy.clone_from(&problem.policy);
    }
    HandlerOutput::Respond(Box::new(problem.to_response()))
}

fn reject_reason(entry: &mut RequestLog, reason: RejectReason) -> HandlerOutput {
    let rejection = Rejection::new(reason, entry.policy.clone());
    reject(entry, Problem::from_rejection(&rejection))
}
