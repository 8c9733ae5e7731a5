//! Fields at rest under a key of their data subject (`pr1.`, docs/at-rest.md): subject keys,
//! rewrap, opening. pii-core does the work; the key store around it is `pii_edge.erasure`
//! (Python: SQLite and PostgreSQL).

use pii_core::at_rest::{self, AtRestError};
use pii_core::token::Normalize;
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::envelope::{opened_parts, Opened};
use crate::error::{
    open_error, Malformed, NoKey, OpenError, PiiEdgeError, Tampered, UnsupportedVersion,
};
use crate::keys::PrivateKeyring;
use crate::now_seconds;
use crate::request::body_bytes;

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
    InvalidDomain,
    PiiEdgeError,
    "A token domain must be 1 to 64 bytes of a-z, 0-9 and -, parts joined by single dots."
);
create_exception!(
    pii_edge,
    Untokenizable,
    PiiEdgeError,
    "The value cannot be normalized with the steps given (not text, no digit, not an e-mail)."
);
create_exception!(
    pii_edge,
    InvalidSubject,
    PiiEdgeError,
    "A subject id must be 1 to 255 bytes of UTF-8 without control characters."
);

pub(crate) fn at_rest_error(e: AtRestError) -> PyErr {
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
        AtRestError::InvalidDomain => InvalidDomain::new_err(message),
        AtRestError::Untokenizable => Untokenizable::new_err(message),
        _ => PiiEdgeError::new_err(message),
    }
}

/// The key of one data subject (256 random bits), unwrapped in memory and wiped when dropped.
/// A key store holds it only wrapped (`wrap`, `psk1.`). `repr` shows subject and key id.
#[pyclass(frozen, module = "pii_edge")]
pub(crate) struct SubjectKey {
    pub(crate) inner: at_rest::SubjectKey,
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

    /// The per-subject token of `value` (str or bytes) in `domain` (`ts1.<domain>.…`,
    /// docs/at-rest.md §7), after the normalization steps `normalize` (`"trim"`,
    /// `"casefold"`, ...). Nobody can compute it once the key is destroyed. Raises
    /// `InvalidDomain`, `Untokenizable`, `ValueError` for an unknown step.
    #[pyo3(signature = (domain, value, normalize = Vec::new()))]
    fn token(
        &self,
        domain: &str,
        value: &Bound<'_, PyAny>,
        normalize: Vec<String>,
    ) -> PyResult<String> {
        let steps = steps(&normalize)?;
        let value = body_bytes(value)?;
        self.inner
            .token(domain, &steps, &value)
            .map_err(at_rest_error)
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
        .map_err(|e| rewrap_error(keys, e, envelope))
}

/// `rewrap`, and the per-subject token of the same value in `domain` after `normalize`
/// (`SubjectKey.token`), from one opening: `(field, token)`. Raises what `rewrap` and
/// `SubjectKey.token` raise.
#[pyfunction]
#[pyo3(signature = (keys, envelope, key, domain, normalize = Vec::new()))]
fn rewrap_with_token(
    py: Python<'_>,
    keys: &PrivateKeyring,
    envelope: &str,
    key: &SubjectKey,
    domain: &str,
    normalize: Vec<String>,
) -> PyResult<(String, String)> {
    let steps = steps(&normalize)?;
    py.detach(|| at_rest::rewrap_with_token(&keys.inner, envelope, &key.inner, domain, &steps))
        .map_err(|e| rewrap_error(keys, e, envelope))
}

/// A rewrap's error: the envelope's `NoKey` says which keys it needs.
fn rewrap_error(keys: &PrivateKeyring, e: AtRestError, envelope: &str) -> PyErr {
    match e {
        AtRestError::Envelope(pii_core::envelope::OpenError::NoKey) => {
            keys.open_error(pii_core::envelope::OpenError::NoKey, envelope)
        }
        other => at_rest_error(other),
    }
}

/// Normalization steps from their names (`"trim"`, `"casefold"`, ...).
fn steps(names: &[String]) -> PyResult<Vec<Normalize>> {
    names
        .iter()
        .map(|n| {
            Normalize::from_name(n).ok_or_else(|| {
                PyValueError::new_err(format!(
                    "unknown normalization step {n:?}: one of trim, fullwidth, casefold, digits, \
                     email-domain, email-subaddress"
                ))
            })
        })
        .collect()
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

/// Adds the at-rest API to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<SubjectKey>()?;
    m.add_function(wrap_pyfunction!(rewrap, m)?)?;
    m.add_function(wrap_pyfunction!(rewrap_with_token, m)?)?;
    m.add_function(wrap_pyfunction!(open_at_rest, m)?)?;
    m.add_function(wrap_pyfunction!(at_rest_header, m)?)?;
    m.add_function(wrap_pyfunction!(is_at_rest, m)?)?;
    m.add("Erased", py.get_type::<Erased>())?;
    m.add("WrongKey", py.get_type::<WrongKey>())?;
    m.add("InvalidSubject", py.get_type::<InvalidSubject>())?;
    m.add("InvalidDomain", py.get_type::<InvalidDomain>())?;
    m.add("Untokenizable", py.get_type::<Untokenizable>())?;
    Ok(())
}
