//! The edge's receipts (docs/receipt.md): the public keys and the verification.

use pii_core::receipt;
use pyo3::prelude::*;

use crate::error::{key_error, receipt_error, InvalidKeys};
use crate::request::header_pairs;
use crate::{now_seconds, read_file};

/// The public keys of the edge's receipt signing key (Ed25519 JWK, or a JWK Set during a
/// rotation). `repr` shows the key ids.
#[pyclass(frozen, module = "pii_edge")]
pub(crate) struct ReceiptKeys {
    pub(crate) inner: receipt::ReceiptKeys,
}

#[pymethods]
impl ReceiptKeys {
    /// Reads a public Ed25519 JWK or JWK Set. Raises `InvalidKeys` (a private key is refused).
    #[staticmethod]
    fn from_jwks(text: &str) -> PyResult<Self> {
        receipt::ReceiptKeys::from_jwks(text)
            .map(|inner| ReceiptKeys { inner })
            .map_err(key_error)
    }

    /// Reads `from_jwks` from a file.
    #[staticmethod]
    fn from_file(path: &str) -> PyResult<Self> {
        let text = read_file(path)?;
        receipt::ReceiptKeys::from_jwks(&text)
            .map(|inner| ReceiptKeys { inner })
            .map_err(|e| InvalidKeys::new_err(format!("{path}: {e}")))
    }

    /// The key ids (RFC 7638 thumbprints).
    #[getter]
    fn kids(&self) -> Vec<String> {
        self.inner
            .keys()
            .iter()
            .map(|k| k.kid().to_owned())
            .collect()
    }

    fn __repr__(&self) -> String {
        format!("ReceiptKeys(kids={:?})", self.kids())
    }
}

/// A verified receipt: what the edge checked on this request.
#[pyclass(frozen, get_all, module = "pii_edge")]
pub(crate) struct Receipt {
    /// Key id that signed it.
    pub(crate) kid: String,
    /// Unix seconds when the edge issued it.
    pub(crate) issued_at: u64,
    /// CloudFront's request id, when the edge knew it.
    pub(crate) request_id: Option<String>,
    /// The policy that applied, or None when no policy matched.
    pub(crate) policy: Option<String>,
    /// The residency zone values were sealed to, if any.
    pub(crate) zone: Option<String>,
    /// The protected locations (text form).
    pub(crate) locations: Vec<String>,
    /// Locations protected but not listed (the list is capped at 1024 bytes).
    pub(crate) more_locations: u64,
    /// Header names whose values the receipt binds.
    pub(crate) bound_headers: Vec<String>,
    /// Whether the receipt binds the body (False: it vouches only for an empty body).
    pub(crate) body_bound: bool,
}

#[pymethods]
impl Receipt {
    fn __repr__(&self) -> String {
        let py = |o: &Option<String>| o.as_ref().map_or("None".to_owned(), |s| format!("'{s}'"));
        format!(
            "Receipt(policy={}, zone={}, request_id={}, issued_at={}, locations={})",
            py(&self.policy),
            py(&self.zone),
            py(&self.request_id),
            self.issued_at,
            self.locations.len() as u64 + self.more_locations
        )
    }
}

/// Verifies the edge's receipt on a request as the origin received it (docs/receipt.md).
/// `path` is the raw request target (path as received, then `?query` when there is one),
/// `headers` pairs or a mapping (str or bytes), `body` the raw body bytes. Returns the
/// `Receipt`; raises `ReceiptError` (with `.code`) when the receipt is missing, forged, older
/// than `max_age` seconds, or issued for another request.
#[pyfunction]
#[pyo3(signature = (method, path, headers, body, keys, max_age = 300, now = None))]
#[allow(clippy::too_many_arguments)] // the signature of the issue, the same in both packages
pub(crate) fn verify_receipt(
    py: Python<'_>,
    method: &str,
    path: &str,
    headers: &Bound<'_, PyAny>,
    body: &[u8],
    keys: &ReceiptKeys,
    max_age: u64,
    now: Option<u64>,
) -> PyResult<Receipt> {
    let headers = header_pairs(headers)?;
    let now = now.unwrap_or_else(now_seconds);
    let request = receipt::ReceiptRequest {
        method,
        target: path,
        headers: &headers,
        body,
    };
    let verified = py
        .detach(|| receipt::verify_receipt(&request, &keys.inner, max_age, now))
        .map_err(|e| receipt_error(py, &e))?;
    Ok(Receipt {
        kid: verified.kid,
        issued_at: verified.issued_at,
        request_id: verified.request_id,
        policy: verified.policy,
        zone: verified.zone,
        locations: verified.locations,
        more_locations: verified.more_locations,
        bound_headers: verified.bound_headers,
        body_bound: verified.body_bound,
    })
}

/// Adds the receipt API to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ReceiptKeys>()?;
    m.add_class::<Receipt>()?;
    m.add_function(wrap_pyfunction!(verify_receipt, m)?)?;
    m.add("RECEIPT_HEADER", receipt::HEADER)?;
    Ok(())
}
