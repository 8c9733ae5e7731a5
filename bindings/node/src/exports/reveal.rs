//! A revealed request (`pii_core::reveal`).

use napi::bindgen_prelude::{Buffer, ClassInstance};
use napi_derive::napi;
use pii_core::reveal::SubjectKeyring;

use super::at_rest::SubjectKey;
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
    at_rest: Option<(&[ClassInstance<'_, SubjectKey>], &[String])>,
) -> Result<RevealedRequest> {
    let request = request_of(method, path, query, headers, body)?;
    let expect = pii_core::reveal::Expect {
        policy: policy.as_deref(),
        zone: zone.as_deref(),
    };
    let strict_failure = |e| js(crate::error::strict_failure(e));
    let reveal_failure = |e| js(crate::error::reveal_failure(e));
    let revealed = match at_rest {
        None => match strict {
            Some(p) => p
                .strict
                .reveal(keys, &request, expect)
                .map_err(strict_failure)?,
            None => pii_core::reveal(keys, &request, expect).map_err(reveal_failure)?,
        },
        Some((subject_keys, erased)) => {
            let mut ring = SubjectKeyring::new();
            for key in subject_keys {
                ring.push(&key.inner);
            }
            for key_id in erased {
                ring.push_erased(key_id);
            }
            match strict {
                Some(p) => p
                    .strict
                    .reveal_at_rest(keys, &ring, &request, expect)
                    .map_err(strict_failure)?,
                None => pii_core::reveal::reveal_at_rest(keys, &ring, &request, expect)
                    .map_err(reveal_failure)?,
            }
        }
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

fn request_of(
    method: String,
    path: String,
    query: String,
    headers: Vec<Vec<String>>,
    body: Buffer,
) -> Result<pii_core::Request> {
    let mut request = pii_core::Request::new(method, path).with_query(query);
    request.headers = pairs(headers)?;
    request.body = body.to_vec();
    Ok(request)
}

/// `atRestKeys(method, path, query, headers, body)`: `[subject, keyId]` of every field at rest
/// (`pr1.`) of the request, without repeats: the keys to fetch before `reveal` opens them.
#[napi]
pub fn at_rest_keys(
    method: String,
    path: String,
    query: String,
    headers: Vec<Vec<String>>,
    body: Buffer,
) -> Result<Vec<Vec<String>>> {
    let request = request_of(method, path, query, headers, body)?;
    pii_core::reveal::at_rest_keys(&request)
        .map(|found| found.into_iter().map(|(s, k)| vec![s, k]).collect())
        .map_err(|e| js(crate::error::reveal_failure(e)))
}
