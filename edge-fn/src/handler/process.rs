//! One invocation as small steps, in the order the module documentation gives: take the
//! event's one record ([`trigger`]), pass the request on when the other trigger seals
//! ([`zone::pass_through`]), convert and seal ([`process`]), write back, stamp or route and
//! sign the protected request ([`forward_protected`]).

use pii_core::engine::{FieldReport, RejectReason};
use pii_core::receipt::SubjectId;
use pii_core::{Outcome, Protected, Rejection};

use crate::bundle::Edge;
use crate::cloudfront::{
    self, BodyLimits, CloudFrontEvent, Config, EventType, Request as CfRequest, WriteBackError,
    ORIGIN_REQUEST_LIMITS, VIEWER_REQUEST_LIMITS,
};
use crate::log::{Decision, RequestLog};
use crate::problem::Problem;

use super::receipt::{self, Checked, ReceiptBody};
use super::zone::{self, ZONE_HEADER};
use super::{reject, reject_reason, HandlerOutput};

/// The event's one record: the trigger's configuration, the request, and the body limits of
/// that trigger.
struct Trigger {
    config: Config,
    request: CfRequest,
    limits: BodyLimits,
}

/// Everything from a parsed event (or the problem of one that did not parse) to the answer.
pub(super) fn process(
    edge: &Edge,
    event: Result<CloudFrontEvent, Problem>,
    entry: &mut RequestLog,
    fields: &mut Vec<FieldReport>,
) -> HandlerOutput {
    let trigger = match event {
        Ok(event) => trigger(event, entry),
        Err(problem) => Err(reject(entry, problem)),
    };
    let mut trigger = match trigger {
        Ok(trigger) => trigger,
        Err(answer) => return answer,
    };
    let engine = match edge.engine() {
        Ok(engine) => engine,
        Err(_) => {
            entry.note = Some("bundle not loaded at start (see the init log line)");
            return reject_reason(entry, RejectReason::PolicyUnavailable);
        }
    };
    if !edge.seal_at().is(&trigger.config.event_type) {
        return zone::pass_through(engine, trigger.request, &trigger.config.event_type, entry);
    }

    // Only the sealing trigger may stamp: a value a viewer sent is never trusted.
    trigger.request.headers.remove(ZONE_HEADER);
    trigger.request.headers.remove(pii_core::receipt::HEADER);
    let core = match cloudfront::to_core(&trigger.request) {
        Ok(core) => core,
        Err(e) => return reject(entry, Problem::invalid_event(e.to_string())),
    };
    if let Some(fault) = edge.fault() {
        fault(&core);
    }
    // The viewer's verified identity (issue 22): its zone, when it names one, replaces the
    // residency's resolve steps; its subject goes into the receipt.
    let identified = match crate::identity::check(engine.residency(), &core) {
        Ok(identified) => identified,
        Err(problem) => return reject(entry, problem),
    };
    let verified_zone = identified.as_ref().and_then(|i| i.zone.as_deref());
    let subject = identified.as_ref().and_then(|i| {
        i.subject.as_deref().map(|sub| SubjectId {
            iss: &i.issuer,
            sub,
        })
    });
    match engine.apply_owned_in_zone(core, verified_zone) {
        Outcome::Unmatched => {
            entry.decision = Decision::Unmatched;
            entry.status = 200;
            let Trigger {
                config,
                mut request,
                ..
            } = trigger;
            let request_id = config.request_id.as_deref();
            receipt::sign(
                edge,
                &mut request,
                ReceiptBody::Decode,
                None,
                request_id,
                subject,
            );
            HandlerOutput::Forward(Box::new(request))
        }
        Outcome::Rejected(rejection) => rejected(entry, &rejection),
        Outcome::Protected(protected) => {
            forward_protected(edge, engine, trigger, protected, subject, entry, fields)
        }
        // An outcome this adapter does not know (pii-core grew one): fail closed.
        _ => {
            entry.note =
                Some("an engine outcome this handler does not know; nothing was forwarded");
            reject_reason(entry, RejectReason::Internal)
        }
    }
}

/// The event's single record on a request trigger; anything else is answered here.
fn trigger(event: CloudFrontEvent, entry: &mut RequestLog) -> Result<Trigger, HandlerOutput> {
    let mut records = event.records;
    let record = match (records.pop(), records.is_empty()) {
        (Some(record), true) => record,
        _ => {
            return Err(reject(
                entry,
                Problem::invalid_event("the event must hold exactly one record"),
            ))
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
            return Err(reject_reason(entry, RejectReason::Internal));
        }
    };
    entry.event_type = Some(config.event_type.as_str().to_owned());
    Ok(Trigger {
        config,
        request: record.cf.request,
        limits,
    })
}

/// The engine refused the request: the policy and, where the operator can act on it, a note go
/// into the log; the viewer gets the problem.
fn rejected(entry: &mut RequestLog, rejection: &Rejection) -> HandlerOutput {
    entry.policy.clone_from(&rejection.policy);
    if rejection.reason == RejectReason::BodyNotReceived {
        // Without include-body on the trigger, the event has no `body` and CloudFront
        // forwards the viewer's body unread (the engine refuses it: `body_withheld`).
        entry.note = Some(
            "the request has a body but the event has none: enable include-body on the CloudFront trigger",
        );
    }
    reject(entry, Problem::from_rejection(rejection))
}

/// A protected request: written back into the CloudFront request, stamped or routed to its
/// zone, signed; the field reports move to the caller.
fn forward_protected(
    edge: &Edge,
    engine: &pii_core::Engine,
    trigger: Trigger,
    mut protected: Protected,
    subject: Option<SubjectId<'_>>,
    entry: &mut RequestLog,
    fields: &mut Vec<FieldReport>,
) -> HandlerOutput {
    let Trigger {
        config,
        mut request,
        limits,
    } = trigger;
    entry.policy = Some(protected.policy.clone());
    entry.counts = protected.counts();
    // What the receipt says was checked, before the reports move out.
    let checked = Checked::of(edge, engine, &protected);
    // Counted: the reports go to the caller (moved) instead of being dropped.
    *fields = std::mem::take(&mut protected.fields);
    let zone = protected.zone.clone();
    let forwarded_body =
        match write_back(&mut request, protected, &config.event_type, limits, entry) {
            Ok(bytes) => bytes,
            Err(problem) => return reject(entry, problem),
        };
    let residency = engine.residency();
    if let Err(problem) =
        zone::stamp_or_route(&mut request, &config.event_type, residency, zone, entry)
    {
        return reject(entry, problem);
    }
    entry.decision = Decision::Protected;
    entry.status = 200;
    if let Some(checked) = &checked {
        receipt::sign(
            edge,
            &mut request,
            ReceiptBody::Bytes(&forwarded_body),
            Some(checked),
            config.request_id.as_deref(),
            subject,
        );
    }
    HandlerOutput::Forward(Box::new(request))
}

/// Writes what the engine changed back into the CloudFront request (the one conversion,
/// [`cloudfront::write_back`]); a failure becomes the problem to answer, with a log note for the
/// operator where the viewer cannot act on it.
fn write_back(
    request: &mut CfRequest,
    protected: Protected,
    event_type: &EventType,
    limits: BodyLimits,
    entry: &mut RequestLog,
) -> Result<Vec<u8>, Problem> {
    let policy = Some(protected.policy.clone());
    cloudfront::write_back(request, protected, event_type, limits).map_err(|error| match error {
        WriteBackError::UriTooLong { limit } => Problem::uri_too_long(limit, policy),
        WriteBackError::BodyTooLarge { limit } => Problem::from_rejection(&Rejection::new(
            RejectReason::BodyTooLarge { limit },
            policy,
        )),
        WriteBackError::RestrictedHeader { note } => {
            entry.note = Some(note);
            Problem::from_rejection(&Rejection::new(RejectReason::Internal, policy))
        }
        _ => {
            entry.note = Some("the engine changed a body the event did not carry");
            Problem::from_rejection(&Rejection::new(RejectReason::Internal, policy))
        }
    })
}
