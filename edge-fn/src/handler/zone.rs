//! The residency steps around sealing: the zone stamp the sealing viewer-request trigger puts
//! on a request, and the origin-request trigger's routing of a request to a region of its
//! zone (docs/residency.md), whichever trigger seals.

use pii_core::{engine::RejectReason, Rejection};

use crate::cloudfront::{self, EventType, Header, Request as CfRequest};
use crate::log::{Decision, RequestLog};
use crate::problem::Problem;

use super::{reject, reject_reason, HandlerOutput};

/// The header in which the sealing viewer-request trigger tells the origin-request trigger the
/// residency zone it sealed to. Any value a viewer sends is removed before the policies run.
pub const ZONE_HEADER: &str = "x-pii-edge-zone";
const ZONE_HEADER_KEY: &str = "X-Pii-Edge-Zone";
/// The stamp of a request sealed without a zone (no rule encrypted).
const NO_ZONE: &str = "-";

/// A request on the trigger that does not seal (`sealAt` names the other one). Running the
/// policies here again would seal the envelopes a second time: a viewer-request trigger
/// forwards; an origin-request trigger routes by the zone the sealing trigger stamped, and
/// refuses a protected route's request that carries no stamp (the sealing trigger did not run).
pub(super) fn pass_through(
    engine: &pii_core::Engine,
    mut request: CfRequest,
    event_type: &EventType,
    entry: &mut RequestLog,
) -> HandlerOutput {
    entry.decision = Decision::Unmatched;
    entry.status = 200;
    entry.note = Some("policies run in the other trigger");
    if *event_type != EventType::OriginRequest {
        return HandlerOutput::Forward(Box::new(request));
    }
    let headers = match cloudfront::core_headers(&request.headers) {
        Ok(headers) => headers,
        Err(e) => return reject(entry, Problem::invalid_event(e.to_string())),
    };
    let stamps = request.headers.values(ZONE_HEADER);
    let stamped = !stamps.is_empty();
    let zone = stamps.first().map(|z| z.to_string());
    match (zone.filter(|z| z != NO_ZONE), engine.residency()) {
        (Some(zone), Some(residency)) => {
            if let Err(problem) = route(&mut request, residency, &zone, entry) {
                return reject(entry, problem);
            }
        }
        (None, _) if !stamped => {
            let probe = pii_core::Request {
                method: request.method.clone(),
                path: request.uri.clone(),
                headers,
                ..pii_core::Request::default()
            };
            if engine.policy_for(&probe).is_some() {
                entry.note = Some("sealAt is viewer-request but the request carries no zone stamp: attach the package to the viewer-request trigger too");
                return reject_reason(entry, RejectReason::PolicyUnavailable);
            }
        }
        _ => {}
    }
    HandlerOutput::Forward(Box::new(request))
}

/// After sealing: on viewer-request, stamp the zone the request was sealed to (`-` when no
/// rule needed one) for the origin-request trigger; on origin-request, route to a region of
/// that zone.
pub(super) fn stamp_or_route(
    request: &mut CfRequest,
    event_type: &EventType,
    residency: Option<&pii_core::Residency>,
    zone: Option<String>,
    entry: &mut RequestLog,
) -> Result<(), Problem> {
    match (event_type, residency, zone) {
        (EventType::OriginRequest, Some(residency), Some(zone)) => {
            route(request, residency, &zone, entry)
        }
        (EventType::ViewerRequest, _, zone) => {
            let stamp = zone.unwrap_or_else(|| NO_ZONE.to_owned());
            request
                .headers
                .set(ZONE_HEADER, vec![Header::new(ZONE_HEADER_KEY, &stamp)]);
            Ok(())
        }
        _ => Ok(()),
    }
}

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
