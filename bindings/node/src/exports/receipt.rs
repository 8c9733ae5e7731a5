//! `ReceiptKeys` and `verifyReceipt`.

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use super::{js, pairs, Result};
use crate::error::Failure;

/// The edge's public receipt keys.
#[napi]
pub struct ReceiptKeys {
    pub(crate) inner: pii_core::receipt::ReceiptKeys,
}

#[napi]
impl ReceiptKeys {
    /// A public Ed25519 JWK or JWK Set.
    #[napi(factory)]
    pub fn from_jwks(text: String) -> Result<Self> {
        crate::receipt::load_receipt_keys(&text)
            .map(|inner| ReceiptKeys { inner })
            .map_err(js)
    }

    /// `fromJwks` of a file.
    #[napi(factory)]
    pub fn from_file(path: String) -> Result<Self> {
        let text = crate::read_file(&path).map_err(js)?;
        crate::receipt::load_receipt_keys(&text)
            .map(|inner| ReceiptKeys { inner })
            .map_err(|e| js(Failure::new(e.kind, format!("{path}: {}", e.message))))
    }

    /// The key ids.
    #[napi(getter)]
    pub fn kids(&self) -> Vec<String> {
        self.inner
            .keys()
            .iter()
            .map(|k| k.kid().to_owned())
            .collect()
    }
}

/// A verified receipt.
#[napi(object)]
pub struct Receipt {
    /// Key id that signed it.
    pub kid: String,
    /// Unix seconds when the edge issued it.
    pub issued_at: f64,
    /// CloudFront's request id.
    pub request_id: Option<String>,
    /// The policy that applied; null when none matched.
    pub policy: Option<String>,
    /// The zone values were sealed to.
    pub zone: Option<String>,
    /// Protected locations (text form).
    pub locations: Vec<String>,
    /// Protected locations not listed.
    pub more_locations: f64,
    /// Header names the receipt binds.
    pub bound_headers: Vec<String>,
    /// Whether the receipt binds the body.
    pub body_bound: bool,
}

/// `verifyReceipt(method, target, headers, body, keys, maxAge, now?)` (index.js normalizes
/// the headers to pairs).
#[napi]
pub fn verify_receipt(
    method: String,
    target: String,
    headers: Vec<Vec<String>>,
    body: Buffer,
    keys: &ReceiptKeys,
    max_age: f64,
    now: Option<f64>,
) -> Result<Receipt> {
    let headers = pairs(headers)?;
    let r = crate::receipt::verify(
        &method,
        &target,
        &headers,
        &body,
        &keys.inner,
        seconds(max_age),
        now.map(seconds),
    )
    .map_err(js)?;
    Ok(Receipt {
        kid: r.kid,
        issued_at: r.issued_at as f64,
        request_id: r.request_id,
        policy: r.policy,
        zone: r.zone,
        locations: r.locations,
        more_locations: r.more_locations as f64,
        bound_headers: r.bound_headers,
        body_bound: r.body_bound,
    })
}

/// Whole seconds of a JavaScript number (negative and NaN are 0).
pub(crate) fn seconds(n: f64) -> u64 {
    if n.is_finite() && n > 0.0 {
        n as u64
    } else {
        0
    }
}
