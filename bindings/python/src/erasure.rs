//! Erasure for Python origins (docs/erasure.md): subject keys, rewrap to the at-rest format
//! (`pr1.`, docs/at-rest.md), opening it, and signed erasure receipts. pii-core does the work;
//! the key store around it is `pii_edge.erasure` (Python: SQLite and PostgreSQL).

use pii_core::at_rest::{self, AtRestError};
use pii_core::erasure::{self as core_erasure, Erasure};
use pii_core::receipt::ReceiptSigner;
use pyo3::create_exception;
use pyo3::prelude::*;

use super::{
    key_error, now_seconds, open_error, opened_parts, read_file, receipt_error, Malformed, NoKey,
    OpenError, Opened, PiiEdgeError, PrivateKeyring, ReceiptKeys, Tampered, UnsupportedVersion,
};

create_exception!(
    pii_edge,
    Erased,
    OpenError,
    "The data subject was erased (`forget`): the key of this field is destroyed, for good."
);
create_exception!(
    pii_edge,
    WrongKey,
    OpenError,
    "The field at rest names another subject key than the one given."
);
create_exception!(
    pii_edge,
    InvalidSubject,
    PiiEdgeError,
    "A subject id must be 1 to 255 bytes of UTF-8 without control characters."
);

fn at_rest_error(e: AtRestError) -> PyErr {
    let message = e.to_string();
    match e {
        AtRestError::Malformed => Malformed::new_err(message),
        AtRestError::UnsupportedVersion => UnsupportedVersion::new_err(message),
        AtRestError::Envelope(e) => open_error(e),
        AtRestError::WrongKey => WrongKey::new_err(message),
        AtRestError::Tampered => Tampered::new_err(message),
        AtRestError::Erased => Erased::new_err(message),
        AtRestError::NoKey => NoKey::new_err(message),
        AtRestError::InvalidSubject => InvalidSubject::new_err(message),
        _ => PiiEdgeError::new_err(message),
    }
}

/// The key of one data subject (256 random bits), unwrapped in memory and wiped when dropped.
/// A key store holds it only wrapped (`wrap`, `psk1.`). `repr` shows subject and key id.
#[pyclass(frozen, module = "pii_edge")]
struct SubjectKey {
    inner: at_rest::SubjectKey,
}

#[pymethods]
impl SubjectKey {
    /// A new random key for `subject`, created now (or at `created`, unix seconds). Raises
    /// `InvalidSubject`.
    #[staticmethod]
    #[pyo3(signature = (subject, created = None))]
    fn generate(subject: &str, created: Option<u64>) -> PyResult<Self> {
        at_rest::SubjectKey::generate(subject, created.unwrap_or_else(now_seconds))
            .map(|inner| SubjectKey { inner })
            .map_err(at_rest_error)
    }

    /// Unwraps a key store's `psk1.` record with the region's private keys. Raises `NoKey`,
    /// `Tampered` or `Malformed`.
    #[staticmethod]
    fn unwrap(py: Python<'_>, keys: &PrivateKeyring, wrapped: &str) -> PyResult<Self> {
        py.detach(|| at_rest::SubjectKey::unwrap(&keys.inner, wrapped))
            .map(|inner| SubjectKey { inner })
            .map_err(at_rest_error)
    }

    /// The key as a key store holds it: `psk1.` text, HPKE-sealed to the newest key of `zone`
    /// in `keys`. Raises `NoKey` when `keys` has no key of that zone.
    fn wrap(&self, py: Python<'_>, keys: &PrivateKeyring, zone: &str) -> PyResult<String> {
        py.detach(|| self.inner.wrap(&keys.inner, zone))
            .map_err(at_rest_error)
    }

    /// The data subject's id.
    #[getter]
    fn subject(&self) -> &str {
        self.inner.subject()
    }

    /// The key id (22 characters of base64url): fields and erasure receipts name the key by it.
    #[getter]
    fn key_id(&self) -> String {
        self.inner.key_id()
    }

    /// Creation time, unix seconds.
    #[getter]
    fn created(&self) -> u64 {
        self.inner.created()
    }

    fn __repr__(&self) -> String {
        format!(
            "SubjectKey(subject={:?}, key_id='{}')",
            self.inner.subject(),
            self.inner.key_id()
        )
    }
}

/// Seals the value of the edge's envelope `envelope` (`pe2.`) under the subject key `key`
/// (`pr1.`, docs/at-rest.md), keeping kind, policy, zone and location. The plaintext exists
/// only inside this call. Raises the envelope's open error (`NoKey`, `Tampered`, ...).
#[pyfunction]
fn rewrap(
    py: Python<'_>,
    keys: &PrivateKeyring,
    envelope: &str,
    key: &SubjectKey,
) -> PyResult<String> {
    py.detach(|| at_rest::rewrap(&keys.inner, envelope, &key.inner))
        .map_err(|e| match e {
            AtRestError::Envelope(pii_core::envelope::OpenError::NoKey) => {
                keys.open_error(pii_core::envelope::OpenError::NoKey, envelope)
            }
            other => at_rest_error(other),
        })
}

/// Opens a field at rest (`pr1.`) with its subject key: the value with its JSON type restored
/// and its binding, like `PrivateKeyring.open`. Raises `WrongKey`, `Tampered`, `Malformed`,
/// `UnsupportedVersion`.
#[pyfunction]
fn open_at_rest(py: Python<'_>, key: &SubjectKey, text: &str) -> PyResult<Opened> {
    let o = py
        .detach(|| at_rest::open(&key.inner, text))
        .map_err(at_rest_error)?;
    opened_parts(py, o.kind(), o.plaintext(), o.binding())
}

/// The subject id and key id a field at rest names, read from its clear header without a key
/// (to find the key in a store): `(subject, key_id)`. Raises `Malformed` or
/// `UnsupportedVersion`. Authenticates nothing.
#[pyfunction]
fn at_rest_header(text: &str) -> PyResult<(String, String)> {
    at_rest::header(text)
        .map(|h| (h.subject, h.key_id))
        .map_err(at_rest_error)
}

/// Whether `text` has the form of a field at rest (`pr<version>.`): syntax only.
#[pyfunction]
fn is_at_rest(text: &str) -> bool {
    at_rest::is_at_rest(text)
}

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
            .map_err(|e| super::InvalidKeys::new_err(format!("{path}: {e}")))
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

/// Adds the erasure API to the module `pii_edge._native`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<SubjectKey>()?;
    m.add_class::<ErasureSigner>()?;
    m.add_function(wrap_pyfunction!(rewrap, m)?)?;
    m.add_function(wrap_pyfunction!(open_at_rest, m)?)?;
    m.add_function(wrap_pyfunction!(at_rest_header, m)?)?;
    m.add_function(wrap_pyfunction!(is_at_rest, m)?)?;
    m.add_function(wrap_pyfunction!(verify_erasure, m)?)?;
    m.add("Erased", py.get_type::<Erased>())?;
    m.add("WrongKey", py.get_type::<WrongKey>())?;
    m.add("InvalidSubject", py.get_type::<InvalidSubject>())?;
    Ok(())
}
