//! The request handler: a CloudFront viewer-request or origin-request event in, the request to
//! forward (possibly rewritten) or a generated response out.
//!
//! What it does, in order:
//!
//! 1. Takes the single record of the event; anything else is a 400 `invalid-event`.
//! 2. Refuses response triggers (500: the function is attached to the wrong event) and, when
//!    the bundle did not load, answers 503 `policy-unavailable`: it never forwards unprotected.
//! 3. Builds a `pii_core::Request`: `uri` -> path, `querystring` -> query, headers flattened to
//!    `(key or name, value)` pairs in order, the body decoded from base64 (or taken as text),
//!    `inputTruncated` -> `body_truncated` (the engine rejects a truncated body on a protected
//!    route with 413).
//! 4. Applies the engine, catching panics (a panic becomes a 500 and the function keeps
//!    serving).
//! 5. Writes back only what changed: the body with `action: "replace"` (base64, or text when
//!    only text fits), the query string, the headers. A body that grows past what CloudFront
//!    accepts back ([`BodyLimits`]) is rejected with 413 `body-too-large`, never cut. A change
//!    to a header CloudFront does not let functions change (read-only or disallowed) is
//!    rejected with 500 `internal` and logged.
//! 6. Rejections become a generated response with an RFC 9457 `application/problem+json`
//!    body (see [`crate::problem`]).
//! 7. Logs one JSON line (see [`crate::log`]).
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

use pii_core::{Outcome, Protected, RejectReason, Rejection};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::bundle::Edge;
use crate::cloudfront::{
    CloudFrontEvent, EventType, Header, Headers, Request as CfRequest, Response,
};
use crate::log::{Decision, RequestLog};
use crate::problem::Problem;

/// How large a replaced body CloudFront accepts back from a function, in bytes of `data`.
///
/// AWS documents "40 KB as text, 53.2 KB as base64" on viewer-request and "1 MB / 1.33 MB" on
/// origin-request; the limits here read KB and MB as decimal (1,000) so that they are never
/// above the real ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// Largest `data` with `encoding: "text"` (bytes of UTF-8).
    pub text: usize,
    /// Largest `data` with `encoding: "base64"` (characters of base64).
    pub base64: usize,
}

/// Body limits of viewer-request triggers.
pub const VIEWER_REQUEST_LIMITS: BodyLimits = BodyLimits {
    text: 40_000,
    base64: 53_200,
};

/// Body limits of origin-request triggers.
pub const ORIGIN_REQUEST_LIMITS: BodyLimits = BodyLimits {
    text: 1_000_000,
    base64: 1_330_000,
};

/// The URI plus the query string a function returns must stay below this many characters.
pub const MAX_URI_AND_QUERY: usize = 8_192;

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
    let started = Instant::now();
    let mut entry = RequestLog::new(Decision::Rejected, 500);
    let output = match catch_unwind(AssertUnwindSafe(|| process(edge, event, &mut entry))) {
        Ok(output) => output,
        Err(_) => {
            entry.note = Some("panic caught; nothing was forwarded");
            reject_reason(&mut entry, RejectReason::Internal)
        }
    };
    entry.duration_micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    edge.log().write_line(&entry.to_json());
    output
}

/// Records a rejection in the log entry and builds the generated response.
fn reject(entry: &mut RequestLog, problem: Problem) -> HandlerOutput {
    entry.decision = Decision::Rejected;
    entry.status = problem.status;
    entry.reason = Some(problem.code);
    entry.counts = [0; 5];
    if entry.policy.is_none() {
        entry.policy.clone_from(&problem.policy);
    }
    HandlerOutput::Respond(Box::new(problem.to_response()))
}

fn reject_reason(entry: &mut RequestLog, reason: RejectReason) -> HandlerOutput {
    let rejection = Rejection::new(reason, entry.policy.clone());
    reject(entry, Problem::from_rejection(&rejection))
}

fn process(
    edge: &Edge,
    event: Result<CloudFrontEvent, Problem>,
    entry: &mut RequestLog,
) -> HandlerOutput {
    let event = match event {
        Ok(event) => event,
        Err(problem) => return reject(entry, problem),
    };
    let mut records = event.records;
    let record = match (records.pop(), records.is_empty()) {
        (Some(record), true) => record,
        _ => {
            return reject(
                entry,
                Problem::invalid_event("the event must hold exactly one record"),
            )
        }
    };
    let config = record.cf.config;
    entry.request_id = config
        .request_id
        .as_deref()
        .map(|id| id.chars().take(128).collect());
    let limits = match config.event_type {
        EventType::ViewerRequest => VIEWER_REQUEST_LIMITS,
        EventType::OriginRequest => ORIGIN_REQUEST_LIMITS,
        _ => {
            entry.event_type = Some("other".to_owned());
            entry.note = Some(
                "attached to a response trigger; attach it to viewer-request or origin-request",
            );
            return reject_reason(entry, RejectReason::Internal);
        }
    };
    entry.event_type = Some(config.event_type.as_str().to_owned());

    let engine = match edge.engine() {
        Ok(engine) => engine,
        Err(_) => {
            entry.note = Some("bundle not loaded at start (see the init log line)");
            return reject_reason(entry, RejectReason::PolicyUnavailable);
        }
    };

    let mut request = record.cf.request;
    let residency = engine.residency();
    if !edge.seal_at().is(&config.event_type) {
        // The other trigger seals. Running the policies here again would seal the envelopes a
        // second time: a viewer-request trigger forwards, an origin-request trigger routes by
        // the zone the sealing trigger stamped.
        entry.decision = Decision::Unmatched;
        entry.status = 200;
        entry.note = Some("policies run in the other trigger");
        if config.event_type == EventType::OriginRequest {
            let zone = request
                .headers
                .values(ZONE_HEADER)
                .first()
                .map(|z| z.to_string());
            let probe = pii_core::Request {
                method: request.method.clone(),
                path: request.uri.clone(),
                headers: flatten(&request.headers),
                ..pii_core::Request::default()
            };
            match (zone.filter(|z| z != NO_ZONE), residency) {
                (Some(zone), Some(residency)) => {
                    if let Err(problem) = route(&mut request, residency, &zone, entry) {
                        return reject(entry, problem);
                    }
                }
                // A protected route whose request was not stamped: the viewer-request trigger
                // that should have sealed it did not run. Never forward it.
                (None, _)
                    if engine.policy_for(&probe).is_some()
                        && request.headers.values(ZONE_HEADER).is_empty() =>
                {
                    entry.note = Some("sealAt is viewer-request but the request carries no zone stamp: attach the package to the viewer-request trigger too");
                    return reject_reason(entry, RejectReason::PolicyUnavailable);
                }
                _ => {}
            }
        }
        return HandlerOutput::Forward(Box::new(request));
    }

    let (body, body_truncated) = match &request.body {
        None => (Vec::new(), false),
        Some(body) => match body.decode() {
            Ok(bytes) => (bytes, body.input_truncated),
            Err(e) => return reject(entry, Problem::invalid_event(e.to_string())),
        },
    };
    // Only the sealing trigger may stamp: a value a viewer sent is never trusted.
    request.headers.remove(ZONE_HEADER);
    request.headers.remove(pii_core::receipt::HEADER);
    let core = pii_core::Request {
        method: request.method.clone(),
        path: request.uri.clone(),
        query: request.querystring.clone(),
        headers: flatten(&request.headers),
        body,
        body_truncated,
    };

    if let Some(fault) = edge.fault() {
        fault(&core);
    }
    match engine.apply_owned(core) {
        Outcome::Unmatched => {
            entry.decision = Decision::Unmatched;
            entry.status = 200;
            add_receipt(edge, &mut request, None, config.request_id.as_deref());
            HandlerOutput::Forward(Box::new(request))
        }
        Outcome::Rejected(rejection) => {
            entry.policy.clone_from(&rejection.policy);
            reject(entry, Problem::from_rejection(&rejection))
        }
        Outcome::Protected(protected) => {
            entry.policy = Some(protected.policy.clone());
            let zone = protected.zone.clone();
            let checked = Checked::of(engine, &protected);
            if let Err(problem) =
                write_back(&mut request, protected, &config.event_type, limits, entry)
            {
                return reject(entry, problem);
            }
            match (&config.event_type, residency, zone) {
                (EventType::OriginRequest, Some(residency), Some(zone)) => {
                    if let Err(problem) = route(&mut request, residency, &zone, entry) {
                        return reject(entry, problem);
                    }
                }
                (EventType::ViewerRequest, _, zone) => {
                    // Tell the origin-request trigger that this request was sealed, and to
                    // which zone (`-` when no rule needed one).
                    let stamp = zone.unwrap_or_else(|| NO_ZONE.to_owned());
                    request
                        .headers
                        .set(ZONE_HEADER, vec![Header::new(ZONE_HEADER_KEY, &stamp)]);
                }
                _ => {}
            }
            entry.decision = Decision::Protected;
            entry.status = 200;
            let request_id = config.request_id.as_deref();
            add_receipt(edge, &mut request, Some(&checked), request_id);
            HandlerOutput::Forward(Box::new(request))
        }
    }
}

/// What a receipt says the edge checked on a protected request (see [`add_receipt`]).
struct Checked {
    policy: String,
    zone: Option<String>,
    locations: Vec<String>,
    bound_headers: Vec<String>,
}

impl Checked {
    fn of(engine: &pii_core::Engine, protected: &Protected) -> Checked {
        let bound_headers = engine
            .policies()
            .iter()
            .find(|p| p.name() == protected.policy)
            .map(pii_core::receipt::bound_headers)
            .unwrap_or_default();
        Checked {
            policy: protected.policy.clone(),
            zone: protected.zone.clone(),
            locations: protected
                .fields
                .iter()
                .map(|f| f.location.to_string())
                .collect(),
            bound_headers,
        }
    }
}

/// Adds the signed receipt header (docs/receipt.md) to a request about to be forwarded, when
/// the bundle has a receipt key: what was checked (`checked`, `None` when no policy matched),
/// bound to the method, target, forwarded body and protected headers. A body the edge did not
/// see whole (absent from the event, or truncated) is not vouched for.
fn add_receipt(
    edge: &Edge,
    request: &mut CfRequest,
    checked: Option<&Checked>,
    request_id: Option<&str>,
) {
    let Some(signer) = edge.receipt_signer() else {
        return;
    };
    let body = match &request.body {
        Some(body) if !body.input_truncated => body.decode().ok(),
        _ => None,
    };
    let headers = flatten(&request.headers);
    let target = pii_core::receipt::target(&request.uri, &request.querystring);
    let facts = pii_core::receipt::ReceiptFacts {
        policy: checked.map(|c| c.policy.as_str()),
        zone: checked.and_then(|c| c.zone.as_deref()),
        method: &request.method,
        target: &target,
        body: body.as_deref(),
        headers: &headers,
        bound_headers: checked.map_or(&[], |c| c.bound_headers.as_slice()),
        locations: checked.map_or(&[], |c| c.locations.as_slice()),
        request_id,
    };
    let issued_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let value = signer.sign(&facts, issued_at);
    request.headers.set(
        pii_core::receipt::HEADER,
        vec![Header::new(pii_core::receipt::HEADER_KEY, value)],
    );
}

/// The header in which the sealing viewer-request trigger tells the origin-request trigger the
/// residency zone it sealed to. Any value a viewer sends is removed before the policies run.
pub const ZONE_HEADER: &str = "x-pii-edge-zone";
const ZONE_HEADER_KEY: &str = "X-Pii-Edge-Zone";
/// The stamp of a request sealed without a zone (no rule encrypted).
const NO_ZONE: &str = "-";

/// Send the request to the origin of the first available region of its zone; never outside it.
fn route(
    request: &mut CfRequest,
    residency: &pii_core::Residency,
    zone: &str,
    entry: &mut RequestLog,
) -> Result<(), Problem> {
    let policy = entry.policy.clone();
    let unavailable = || {
        Problem::from_rejection(&Rejection::new(
            RejectReason::ZoneUnavailable,
            policy.clone(),
        ))
    };
    let target = residency
        .route(zone, |_| false)
        .map_err(|_| unavailable())?;
    let Some(custom) = request.origin.as_mut().and_then(|o| o.custom.as_mut()) else {
        entry.note = Some("residency routing needs a custom origin on the cache behavior");
        return Err(Problem::from_rejection(&Rejection::new(
            RejectReason::Internal,
            policy,
        )));
    };
    custom.domain_name = target.origin.to_string();
    request
        .headers
        .set("host", vec![Header::new("Host", target.origin)]);
    entry.region = Some(target.region.to_string());
    entry.failover = target.failover;
    Ok(())
}

/// Headers as the engine sees them: `(key, value)` in order, `key` the original-case name
/// when CloudFront gave one, else the lowercase name.
fn flatten(headers: &Headers) -> Vec<(String, String)> {
    let mut flat = Vec::new();
    for (name, values) in headers.iter() {
        for header in values {
            // `key` only spells the name; one that names another header is not trusted.
            let key = header
                .key
                .as_deref()
                .filter(|k| k.eq_ignore_ascii_case(name))
                .unwrap_or(name);
            flat.push((key.to_owned(), header.value.clone()));
        }
    }
    flat
}

/// Writes what the engine changed back into the CloudFront request.
fn write_back(
    request: &mut CfRequest,
    protected: Protected,
    event_type: &EventType,
    limits: BodyLimits,
    entry: &mut RequestLog,
) -> Result<(), Problem> {
    let counts = protected.counts();
    for (slot, (_, count)) in entry.counts.iter_mut().zip(counts) {
        *slot = count;
    }
    let policy = Some(protected.policy.clone());
    let internal = |entry: &mut RequestLog, note: &'static str| {
        entry.note = Some(note);
        Problem::from_rejection(&Rejection::new(RejectReason::Internal, policy.clone()))
    };

    if protected.headers_changed {
        match rebuild_headers(
            &request.headers,
            &protected.request.headers,
            event_type,
            protected.body_changed,
        ) {
            Ok(headers) => request.headers = headers,
            Err(note) => return Err(internal(entry, note)),
        }
    }

    if protected.query_changed {
        let query = protected.request.query;
        if request.uri.len() + 1 + query.len() >= MAX_URI_AND_QUERY {
            return Err(Problem::uri_too_long(MAX_URI_AND_QUERY, policy.clone()));
        }
        request.querystring = query;
    }

    if protected.body_changed {
        let Some(body) = request.body.as_mut() else {
            return Err(internal(
                entry,
                "the engine changed a body the event did not carry",
            ));
        };
        let bytes = protected.request.body;
        let base64_len = bytes.len().div_ceil(3) * 4;
        if base64_len <= limits.base64 {
            body.replace_with_bytes(&bytes);
        } else if bytes.len() <= limits.text {
            match String::from_utf8(bytes) {
                Ok(text) => body.replace_with_text(text),
                Err(_) => {
                    return Err(Problem::from_rejection(&Rejection::new(
                        RejectReason::BodyTooLarge {
                            limit: limits.base64 / 4 * 3,
                        },
                        policy.clone(),
                    )))
                }
            }
        } else {
            return Err(Problem::from_rejection(&Rejection::new(
                RejectReason::BodyTooLarge { limit: limits.text },
                policy.clone(),
            )));
        }
    }
    Ok(())
}

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
/// The reason is a fixed text (log-safe).
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

/// Builds the headers to return from the engine's `(name, value)` list. Names whose values did
/// not change keep their original entries untouched; changed names get the new values (with
/// the original `key` spelling); removed names disappear. Changing a restricted header is an
/// error (the fixed log note).
///
/// When the body was replaced, `content-length` keeps its original entry whatever the engine
/// wrote: it is read-only for functions and CloudFront sets it for a replaced body itself.
fn rebuild_headers(
    original: &Headers,
    changed: &[(String, String)],
    event_type: &EventType,
    body_replaced: bool,
) -> Result<Headers, &'static str> {
    let old_groups = group(
        original
            .iter()
            .flat_map(|(name, values)| values.iter().map(move |h| (name, h))),
    );
    let new_groups = group(changed.iter().map(|(name, value)| (name.as_str(), value)));

    let mut out = Headers::new();
    for (name, old) in &old_groups {
        let new: &[(&str, &String)] = new_groups
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
            .unwrap_or(&[]);
        let unchanged = (body_replaced && name == "content-length")
            || (old.len() == new.len()
                && old.iter().zip(new).all(|((_, h), (_, v))| h.value == **v));
        if unchanged {
            out.set(name, old.iter().map(|(_, h)| (*h).clone()).collect());
            continue;
        }
        if let Some(note) = header_restriction(name, event_type) {
            return Err(note);
        }
        let values: Vec<Header> = new
            .iter()
            .enumerate()
            .map(|(i, (key, value))| match old.get(i) {
                Some((_, h)) => Header {
                    key: h.key.clone(),
                    value: (*value).clone(),
                    extra: h.extra.clone(),
                },
                None => Header::new(*key, (*value).clone()),
            })
            .collect();
        out.set(name, values);
    }
    for (name, new) in &new_groups {
        if old_groups.iter().any(|(n, _)| n == name) || (body_replaced && name == "content-length")
        {
            continue;
        }
        if let Some(note) = header_restriction(name, event_type) {
            return Err(note);
        }
        for (key, value) in new {
            out.append(name, Header::new(*key, (*value).clone()));
        }
    }
    Ok(out)
}

/// Groups `(name, item)` pairs by lowercase name, keeping the order of first appearance.
fn group<'a, T>(items: impl Iterator<Item = (&'a str, T)>) -> Vec<(String, Vec<(&'a str, T)>)> {
    let mut groups: Vec<(String, Vec<(&'a str, T)>)> = Vec::new();
    for (name, item) in items {
        let lower = name.to_ascii_lowercase();
        match groups.iter_mut().find(|(n, _)| *n == lower) {
            Some((_, list)) => list.push((name, item)),
            None => groups.push((lower, vec![(name, item)])),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restrictions_by_trigger() {
        let viewer = EventType::ViewerRequest;
        let origin = EventType::OriginRequest;
        assert!(header_restriction("host", &viewer).is_some());
        assert!(header_restriction("range", &viewer).is_none());
        assert!(header_restriction("range", &origin).is_some());
        assert!(header_restriction("x-amz-cf-id", &viewer).is_some());
        assert!(header_restriction("x-amzn-trace-id", &origin).is_some());
        assert!(header_restriction("x-national-id", &viewer).is_none());
        assert!(header_restriction("cookie", &viewer).is_none());
    }

    #[test]
    fn rebuild_keeps_untouched_entries_and_spelling() {
        let mut headers = Headers::new();
        headers.append("host", Header::new("Host", "d1.cloudfront.net"));
        headers.append("cookie", Header::new("Cookie", "a=1; b=2"));
        headers.append("x-id", Header::new("X-Id", "secret"));
        let changed = vec![
            ("Host".to_owned(), "d1.cloudfront.net".to_owned()),
            ("Cookie".to_owned(), "a=1".to_owned()),
        ];
        let out = rebuild_headers(&headers, &changed, &EventType::ViewerRequest, false).unwrap();
        assert_eq!(out.values("cookie"), ["a=1"]);
        assert_eq!(
            out.get("cookie").next().unwrap().key.as_deref(),
            Some("Cookie")
        );
        assert!(!out.contains("x-id"));
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn rebuild_refuses_read_only() {
        let mut headers = Headers::new();
        headers.append("host", Header::new("Host", "d1.cloudfront.net"));
        let changed = vec![("Host".to_owned(), "x".to_owned())];
        assert!(rebuild_headers(&headers, &changed, &EventType::ViewerRequest, false).is_err());
        let added = vec![
            ("Host".to_owned(), "d1.cloudfront.net".to_owned()),
            ("X-Amz-Cf-Id".to_owned(), "x".to_owned()),
        ];
        assert!(rebuild_headers(&headers, &added, &EventType::ViewerRequest, false).is_err());
    }

    #[test]
    fn content_length_of_a_replaced_body_is_left_to_cloudfront() {
        let mut headers = Headers::new();
        headers.append("content-length", Header::new("Content-Length", "231"));
        let changed = vec![("Content-Length".to_owned(), "1432".to_owned())];
        let out = rebuild_headers(&headers, &changed, &EventType::ViewerRequest, true).unwrap();
        assert_eq!(out.values("content-length"), ["231"]);
        assert!(rebuild_headers(&headers, &changed, &EventType::ViewerRequest, false).is_err());
    }
}
