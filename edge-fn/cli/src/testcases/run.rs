//! Running a case: its CloudFront event through the real handler (`edge_fn::handler`), with the
//! limits of its trigger, exactly as the deployed function runs it; or, for comparison, through
//! the engine alone.
//!
//! What the handler answers is read back as an [`Happened`]: a forwarded request (protected by
//! a policy or unmatched) as the origin receives it, or the generated problem response with the
//! operator note of the function's log line (which read-only header a rule changed, ...).

use std::sync::{Arc, Mutex};

use edge_fn::bundle::Edge;
use edge_fn::cloudfront::{self, BodyAction, CloudFrontEvent, Request as CfRequest};
use edge_fn::handler::{self, HandlerOutput, ZONE_HEADER};
use edge_fn::log::LogSink;
use edge_fn::problem::PROBLEM_TYPE_BASE;
use pii_core::{engine::FieldReport, Engine, Request};
use serde_json::Value;

/// A request forwarded protected: the policy, what happened to each value, and the request
/// as the origin receives it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Forwarded {
    pub(super) policy: String,
    pub(super) fields: Vec<FieldReport>,
    pub(super) request: Request,
}

/// A request answered with a generated problem response instead of being forwarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refused {
    pub(super) status: u16,
    /// The problem code (`body-truncated`, `invalid-event`, ...).
    pub(super) code: String,
    pub(super) detail: String,
    pub(super) policy: Option<String>,
    /// The operator note of the function's log line, when it wrote one.
    pub(super) note: Option<String>,
}

/// What the function did with a case's request.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Happened {
    /// No policy matched: forwarded unchanged.
    Unmatched,
    Protected(Forwarded),
    Rejected(Refused),
}

/// The function's log, keeping its last line (the handler writes one per request).
#[derive(Default)]
struct LastLine(Mutex<Option<String>>);

impl LogSink for LastLine {
    fn write_line(&self, line: &str) {
        if let Ok(mut last) = self.0.lock() {
            *last = Some(line.to_owned());
        }
    }
}

/// The function of a test run: `engine` behind the real handler, its log kept for the notes.
pub(super) struct Function {
    edge: Edge,
    log: Arc<LastLine>,
}

impl Function {
    pub(super) fn new(engine: Engine) -> Function {
        let log = Arc::new(LastLine::default());
        Function {
            edge: Edge::new(Ok(engine), log.clone()),
            log,
        }
    }

    /// The engine behind the handler.
    pub(super) fn engine(&self) -> Option<&Engine> {
        self.edge.engine().ok()
    }

    /// Runs one event through the handler, as the deployed function would.
    pub(super) fn run(&self, event: CloudFrontEvent) -> Result<Happened, String> {
        let reported = handler::handle_reporting(&self.edge, event);
        match reported.output {
            HandlerOutput::Respond(response) => {
                let note = self
                    .log
                    .0
                    .lock()
                    .ok()
                    .and_then(|last| last.as_deref().map(serde_json::from_str::<Value>))
                    .and_then(Result::ok)
                    .and_then(|line| line["note"].as_str().map(str::to_string));
                refused(response.body.as_deref().unwrap_or_default(), note).map(Happened::Rejected)
            }
            HandlerOutput::Forward(request) => match reported.policy {
                None => Ok(Happened::Unmatched),
                Some(policy) => Ok(Happened::Protected(Forwarded {
                    policy,
                    fields: reported.fields,
                    request: as_origin_receives(*request)?,
                })),
            },
        }
    }
}

/// The generated response's RFC 9457 body, read back.
fn refused(body: &str, note: Option<String>) -> Result<Refused, String> {
    let problem: Value = serde_json::from_str(body)
        .map_err(|e| format!("the function answered a response that is not a problem: {e}"))?;
    let text = |key: &str| problem[key].as_str().map(str::to_string);
    Ok(Refused {
        status: problem["status"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(0),
        code: text("type")
            .and_then(|t| t.strip_prefix(PROBLEM_TYPE_BASE).map(str::to_string))
            .unwrap_or_default(),
        detail: text("detail").unwrap_or_default(),
        policy: text("policy"),
        note,
    })
}

/// The request the origin receives for a forwarded request: the zone stamp the viewer-request
/// trigger adds for the origin-request trigger is dropped (it is the function's, not the
/// viewer's), and a replaced body's `Content-Length` is the new length (CloudFront sets it).
fn as_origin_receives(mut request: CfRequest) -> Result<Request, String> {
    request.headers.remove(ZONE_HEADER);
    let replaced = request
        .body
        .as_ref()
        .is_some_and(|b| b.action == BodyAction::Replace);
    let mut core = cloudfront::to_core(&request)
        .map_err(|e| format!("the function forwarded a request that does not read back: {e}"))?;
    if replaced {
        let length = core.body.len().to_string();
        for (name, value) in &mut core.headers {
            if name.eq_ignore_ascii_case("content-length") {
                value.clone_from(&length);
            }
        }
    }
    Ok(core)
}

/// Runs one event through the engine alone, with the same conversion as the handler but none
/// of its limits: what `pii-edge test` did before it ran the handler. For the comparison test.
#[cfg(test)]
pub(super) fn through_engine(engine: &Engine, event: &CloudFrontEvent) -> Happened {
    let Some(record) = event.single_record() else {
        return Happened::Rejected(invalid_event("not one record".into()));
    };
    let request = match cloudfront::to_core(&record.cf.request) {
        Ok(request) => request,
        Err(e) => return Happened::Rejected(invalid_event(e.to_string())),
    };
    use pii_core::Outcome;
    match engine.apply_owned(request) {
        Outcome::Unmatched => Happened::Unmatched,
        Outcome::Protected(p) => Happened::Protected(Forwarded {
            policy: p.policy,
            fields: p.fields,
            request: p.request,
        }),
        Outcome::Rejected(r) => Happened::Rejected(Refused {
            status: r.status,
            code: r.reason.code().to_string(),
            detail: r.reason.to_string(),
            policy: r.policy,
            note: None,
        }),
        _ => Happened::Rejected(Refused {
            status: 500,
            code: "internal".into(),
            detail: "an engine outcome this version does not know".into(),
            policy: None,
            note: None,
        }),
    }
}

#[cfg(test)]
fn invalid_event(detail: String) -> Refused {
    Refused {
        status: 400,
        code: "invalid-event".into(),
        detail,
        policy: None,
        note: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::run_keys::{keys_for, KeyTexts};
    use pii_core::Policy;

    fn function(policy: &str) -> Function {
        let policy = Policy::from_json(policy).expect("policy");
        let (public, _, tokens) =
            keys_for(&KeyTexts::none(), std::slice::from_ref(&policy)).expect("keys");
        Function::new(Engine::new(vec![policy], public, tokens).expect("engine"))
    }

    fn event(request: &Request) -> CloudFrontEvent {
        cloudfront::viewer_request_event(cloudfront::from_core(request))
    }

    const SIGNUP: &str = r#"{"apiVersion":"pii-edge/v1","name":"signup","zone":"eu-central",
        "match":{"paths":["/signup"]},
        "rules":[{"select":{"json":"$.notes"},"action":"encrypt"}]}"#;

    #[test]
    fn a_body_that_grows_past_the_viewer_request_limit_fails_with_413() {
        let f = function(SIGNUP);
        let notes = "n".repeat(38_000);
        let request = Request::new("POST", "/signup")
            .with_header("Content-Type", "application/json")
            .with_body(format!(r#"{{"notes":"{notes}"}}"#).into_bytes());
        let engine = f.engine().expect("engine");
        assert!(
            matches!(
                through_engine(engine, &event(&request)),
                Happened::Protected(_)
            ),
            "the engine alone has no transport limit"
        );
        match f.run(event(&request)).expect("runs") {
            Happened::Rejected(r) => {
                assert_eq!((r.status, r.code.as_str()), (413, "body-too-large"));
                assert_eq!(r.policy.as_deref(), Some("signup"));
            }
            other => panic!("not rejected: {other:?}"),
        }
        // A small body is protected, and the origin sees the new Content-Length.
        let small = Request::new("POST", "/signup")
            .with_header("Content-Type", "application/json")
            .with_header("Content-Length", "16")
            .with_body(br#"{"notes":"hi"}"#.to_vec());
        match f.run(event(&small)).expect("runs") {
            Happened::Protected(p) => {
                assert_eq!(p.policy, "signup");
                assert_eq!(p.fields.len(), 1);
                assert_eq!(
                    p.request.header("content-length"),
                    Some(p.request.body.len().to_string().as_str())
                );
                assert!(
                    p.request.header(ZONE_HEADER).is_none(),
                    "the stamp is the function's"
                );
            }
            other => panic!("not protected: {other:?}"),
        }
    }

    #[test]
    fn a_rule_that_changes_a_read_only_header_fails_with_500_and_the_log_note() {
        let f = function(
            r#"{"apiVersion":"pii-edge/v1","name":"proxy","match":{},
            "rules":[{"select":{"header":"via"},"action":"hash"}]}"#,
        );
        let request = Request::new("GET", "/").with_header("Via", "1.1 proxy.example");
        match f.run(event(&request)).expect("runs") {
            Happened::Rejected(r) => {
                assert_eq!((r.status, r.code.as_str()), (500, "internal"));
                assert_eq!(
                    r.note.as_deref(),
                    Some("a policy changed read-only header via")
                );
            }
            other => panic!("not rejected: {other:?}"),
        }
        let engine = f.engine().expect("engine");
        assert!(matches!(
            through_engine(engine, &event(&request)),
            Happened::Protected(_)
        ));
    }

    #[test]
    fn unmatched_and_refused_events() {
        let f = function(SIGNUP);
        assert_eq!(
            f.run(event(&Request::new("GET", "/elsewhere")))
                .expect("runs"),
            Happened::Unmatched
        );
        let mut refused = event(&Request::new("GET", "/signup"));
        if let Some(record) = refused.single_record_mut() {
            record.cf.request.headers.append(
                "x-trace",
                edge_fn::cloudfront::Header::new("X-National-ID", "v"),
            );
        }
        let engine = f.engine().expect("engine");
        let by_engine = through_engine(engine, &refused);
        match f.run(refused).expect("runs") {
            Happened::Rejected(r) => {
                assert_eq!((r.status, r.code.as_str()), (400, "invalid-event"));
                assert_eq!(r.policy, None);
                assert_eq!(by_engine, Happened::Rejected(Refused { note: None, ..r }));
            }
            other => panic!("not rejected: {other:?}"),
        }
    }

    #[test]
    fn a_response_that_is_not_a_problem_is_an_error() {
        assert!(refused("not json", None).is_err());
        let r = refused(
            r#"{"type":"https://pii-edge.dev/problems/too-deep","status":400,"detail":"d"}"#,
            None,
        )
        .expect("problem");
        assert_eq!(
            (r.status, r.code.as_str(), r.policy),
            (400, "too-deep", None)
        );
    }
}
