//! Verifying the edge's receipts (docs/receipt.md).

use pii_core::receipt;

use crate::error::{receipt_code, Failure};
use crate::now_seconds;

pub(crate) fn load_receipt_keys(text: &str) -> Result<receipt::ReceiptKeys, Failure> {
    receipt::ReceiptKeys::from_jwks(text).map_err(|e| Failure::new("InvalidKeys", e.to_string()))
}

/// A verified receipt, as JavaScript sees it.
#[derive(Debug)]
pub(crate) struct VerifiedReceipt {
    pub(crate) kid: String,
    pub(crate) issued_at: u64,
    pub(crate) request_id: Option<String>,
    pub(crate) policy: Option<String>,
    pub(crate) zone: Option<String>,
    pub(crate) locations: Vec<String>,
    pub(crate) more_locations: u64,
    pub(crate) bound_headers: Vec<String>,
    pub(crate) body_bound: bool,
}

pub(crate) fn verify(
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
    keys: &receipt::ReceiptKeys,
    max_age: u64,
    now: Option<u64>,
) -> Result<VerifiedReceipt, Failure> {
    let request = receipt::ReceiptRequest {
        method,
        target,
        headers,
        body,
    };
    let r = receipt::verify_receipt(&request, keys, max_age, now.unwrap_or_else(now_seconds))
        .map_err(|e| Failure::new(receipt_code(&e), e.to_string()))?;
    Ok(VerifiedReceipt {
        kid: r.kid,
        issued_at: r.issued_at,
        request_id: r.request_id,
        policy: r.policy,
        zone: r.zone,
        locations: r.locations,
        more_locations: r.more_locations,
        bound_headers: r.bound_headers,
        body_bound: r.body_bound,
    })
}
