//! Signed erasure receipts (docs/erasure.md §5): signing at the origin, verifying with the
//! public key alone.

use pii_core::erasure::{self as core_erasure, Erasure};
use pii_core::receipt::ReceiptSigner;
use pyo3::prelude::*;

use crate::error::{key_error, receipt_error, InvalidKeys};
use crate::receipt::ReceiptKeys;
use crate::{now_seconds, read_file};

/// Signs erasure receipts (docs/erasure.md §5) with an Ed25519 private JWK
/// (`pii-edge keygen --receipt`; the origin's own key, not the edge's). `repr` shows the kid.
#[pyclass(frozen, module = "pii_edge")]
struct ErasureSigner {
    inner: ReceiptSigner,
}

#[pymethods]
impl ErasureSigner {
    /// Reads a private Ed25519 JWK. Raises `InvalidKeys`.
    #[staticmethod]
    fn from_jwk(text: &str) -> PyResult<Self> {
        ReceiptSigner::from_jwk(text)
            .map(|inner| ErasureSigner { inner })
            .map_err(key_error)
    }

    /// Reads `from_jwk` from a file (`OSError` for the file, `InvalidKeys` for the key).
    #[staticmethod]
    fn from_file(path: &str) -> PyResult<Self> {
        let text = zeroize::Zeroizing::new(read_file(path)?);
        ReceiptSigner::from_jwk(&text)
            .map(|inner| ErasureSigner { inner })
            .map_err(|e| InvalidKeys::new_err(format!("{path}: {e}")))
    }

    /// The public key as a JWK, for auditors (`ReceiptKeys.from_jwks`).
    #[getter]
    fn public_jwk(&self) -> String {
        self.inner.public_jwk()
    }

    /// The key id.
    #[getter]
    fn kid(&self) -> &str {
        self.inner.kid()
    }

    /// The receipt (JWS compact) stating that `by` erased `subject`'s key `key_id` at
    /// `erased_at` (unix seconds, default now).
    #[pyo3(signature = (by, subject, key_id, erased_at = None))]
    fn sign(&self, by: &str, subject: &str, key_id: &str, erased_at: Option<u64>) -> String {
        core_erasure::sign(
            &self.inner,
            &Erasure {
                by: by.to_owned(),
                subject: subject.to_owned(),
                key_id: key_id.to_owned(),
                erased_at: erased_at.unwrap_or_else(now_seconds),
            },
        )
    }

    fn __repr__(&self) -> String {
        format!("ErasureSigner(kid='{}')", self.inner.kid())
    }
}

/// Verifies an erasure receipt with public keys only: returns a dict with `by`, `subject`,
/// `key_id`, `erased_at` and `signed_by` (the signing key's kid). Raises `ReceiptError`
/// (`code`: `unknown-key`, `bad-signature`, `malformed`).
#[pyfunction]
fn verify_erasure(
    py: Python<'_>,
    receipt: &str,
    keys: &ReceiptKeys,
) -> PyResult<Py<pyo3::types::PyDict>> {
    let verified = core_erasure::verify(receipt, &keys.inner).map_err(|e| receipt_error(py, &e))?;
    let out = pyo3::types::PyDict::new(py);
    out.set_item("by", verified.erasure.by)?;
    out.set_item("subject", verified.erasure.subject)?;
    out.set_item("key_id", verified.erasure.key_id)?;
    out.set_item("erased_at", verified.erasure.erased_at)?;
    out.set_item("signed_by", verified.signed_by)?;
    Ok(out.unbind())
}

/// Adds the erasure-receipt API to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ErasureSigner>()?;
    m.add_function(wrap_pyfunction!(verify_erasure, m)?)?;
    Ok(())
}
