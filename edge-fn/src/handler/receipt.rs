//! The signed receipt a forwarded request carries when the bundle has a receipt key
//! (docs/receipt.md): what the edge checked, bound to the method, target, forwarded body and
//! the headers the policy protects.

use pii_core::receipt::SubjectId;

use crate::bundle::Edge;
use crate::cloudfront::{Header, Request as CfRequest};

/// What a receipt says the edge checked on a protected request.
pub(super) struct Checked {
    policy: String,
    zone: Option<String>,
    locations: Vec<String>,
    bound_headers: Vec<String>,
}

impl Checked {
    /// What to sign for `protected`, taken before its reports move out; `None` when the
    /// bundle has no receipt key (then nothing is collected, nothing is signed).
    pub(super) fn of(
        edge: &Edge,
        engine: &pii_core::Engine,
        protected: &pii_core::Protected,
    ) -> Option<Checked> {
        edge.receipt_signer()?;
        Some(Checked {
            policy: protected.policy.clone(),
            zone: protected.zone.clone(),
            locations: protected
                .fields
                .iter()
                .map(|f| f.location.to_string())
                .collect(),
            bound_headers: engine
                .policy_of(protected)
                .map(pii_core::receipt::bound_headers)
                .unwrap_or_default(),
        })
    }
}

/// The body a receipt vouches for: the bytes the request forwards when the handler has them
/// (what `write_back` returned), or decoded from the event's body.
pub(super) enum ReceiptBody<'a> {
    Bytes(&'a [u8]),
    Decode,
}

/// Adds the signed receipt header to a request about to be forwarded, when the bundle has a
/// receipt key: what was checked (`checked`, `None` when no policy matched), bound to the
/// method, target, forwarded body and protected headers. A body the edge did not see whole
/// (absent from the event, or truncated) is not vouched for. Only the bound headers are read
/// from the request, not all of them.
pub(super) fn sign(
    edge: &Edge,
    request: &mut CfRequest,
    body: ReceiptBody<'_>,
    checked: Option<&Checked>,
    request_id: Option<&str>,
    subject: Option<SubjectId<'_>>,
) {
    let Some(signer) = edge.receipt_signer() else {
        return;
    };
    let decoded;
    let body = match (&request.body, body) {
        (Some(b), ReceiptBody::Bytes(bytes)) if !b.input_truncated => Some(bytes),
        (Some(b), ReceiptBody::Decode) if !b.input_truncated => {
            decoded = b.decode().ok();
            decoded.as_deref()
        }
        _ => None,
    };
    let bound_headers = checked.map_or(&[][..], |c| c.bound_headers.as_slice());
    let headers: Vec<(String, String)> = bound_headers
        .iter()
        .flat_map(|name| {
            request
                .headers
                .values(name)
                .into_iter()
                .map(move |value| (name.clone(), value.to_owned()))
        })
        .collect();
    let target = pii_core::receipt::target(&request.uri, &request.querystring);
    let facts = pii_core::receipt::ReceiptFacts {
        policy: checked.map(|c| c.policy.as_str()),
        zone: checked.and_then(|c| c.zone.as_deref()),
        method: &request.method,
        target: &target,
        body,
        headers: &headers,
        bound_headers,
        locations: checked.map_or(&[], |c| c.locations.as_slice()),
        request_id,
        subject,
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
