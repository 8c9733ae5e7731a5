//! A revealed request (`pii_core::reveal`).

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use super::envelope::{binding, ValueBinding};
use super::strict::Policies;
use super::{js, pairs, Result};

/// One opened value of a revealed request.
#[napi(object)]
pub struct RevealedValue {
    /// The kind.
    pub kind: String,
    /// Where it belongs.
    pub binding: ValueBinding,
}

/// A revealed request.
#[napi(object)]
pub struct RevealedRequest {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Raw query.
    pub query: String,
    /// `[name, value]` pairs.
    pub headers: Vec<Vec<String>>,
    /// Body.
    pub body: Buffer,
    /// One report per opened value.
    pub fields: Vec<RevealedValue>,
}

/// `PrivateKeyring.reveal`: opens every envelope of a request.
#[allow(clippy::too_many_arguments)]
pub(crate) fn reveal(
    keys: &pii_core::PrivateKeyring,
    method: String,
    path: String,
    query: String,
    headers: Vec<Vec<String>>,
    body: Buffer,
    policy: Option<String>,
    zone: Option<String>,
    strict: Option<&Policies>,
) -> Result<RevealedRequest> {
    let mut request = pii_core::Request::new(method, path).with_query(query);
    request.headers = pairs(headers)?;
    request.body = body.to_vec();
    let expect = pii_core::Expect {
        policy: policy.as_deref(),
        zone: zone.as_deref(),
    };
    let revealed = match strict {
        Some(p) => p
            .strict
            .reveal(keys, &request, expect)
            .map_err(|e| js(crate::error::strict_failure(e)))?,
        None => pii_core::reveal(keys, &request, expect)
            .map_err(|e| js(crate::error::reveal_failure(e)))?,
    };
    let fields = revealed
        .fields
        .iter()
        .map(|f| RevealedValue {
            kind: f.kind.name().to_owned(),
            binding: binding(&f.binding),
        })
        .collect();
    let r = revealed.request;
    Ok(RevealedRequest {
        method: r.method,
        path: r.path,
        query: r.query,
        headers: r.headers.into_iter().map(|(n, v)| vec![n, v]).collect(),
        body: r.body.into(),
        fields,
    })
}
