//! `pii_edge._native`: the Python face of pii-core. Every operation is pii-core's; this file
//! converts Python values to Rust and back, and pii-core's errors to Python exceptions. The
//! Python package around it (`python/pii_edge`) adds the middleware and the typing stubs.
//!
//! No message, `repr` or exception carries a plaintext value or key material.

use std::time::{SystemTime, UNIX_EPOCH};

use pii_core::receipt::{self, ReceiptError as CoreReceiptError};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

create_exception!(
    _native,
    PiiEdgeError,
    PyException,
    "Base class of every error of pii_edge."
);
create_exception!(
    _native,
    InvalidKeys,
    PiiEdgeError,
    "A key or key set was refused (the message names the key by position or kid, never its material)."
);
create_exception!(
    _native,
    OpenError,
    PiiEdgeError,
    "An envelope did not open. Subclasses say why; messages say nothing about the contents."
);
create_exception!(_native, Malformed, OpenError, "Not a well-formed envelope.");
create_exception!(
    _native,
    UnsupportedVersion,
    OpenError,
    "An envelope of a format version this library does not know."
);
create_exception!(
    _native,
    WrongZone,
    OpenError,
    "Sealed for another residency zone than the one expected."
);
create_exception!(
    _native,
    WrongPolicy,
    OpenError,
    "Sealed by another policy than the one expected."
);
create_exception!(
    _native,
    WrongLocation,
    OpenError,
    "Sealed for another location in the request than the one expected."
);
create_exception!(
    _native,
    NoKey,
    OpenError,
    "No private key of the keyring is a recipient of the envelope."
);
create_exception!(
    _native,
    Tampered,
    OpenError,
    "The envelope was changed, or not sealed to this key."
);
create_exception!(
    _native,
    PlaintextFound,
    PiiEdgeError,
    "Strict opening: a location the policy protects holds plaintext instead of an envelope."
);
create_exception!(
    _native,
    LocationError,
    PiiEdgeError,
    "A location text that is not in the spec's form (json:$['a'], header:x-id, query:email#1)."
);
create_exception!(
    _native,
    PolicyError,
    PiiEdgeError,
    "A policy that does not load (the message has the file, line and column)."
);
create_exception!(
    _native,
    ReceiptError,
    PiiEdgeError,
    "A request without a valid, fresh receipt of the edge. `code` names the failed check."
);

fn key_error(e: pii_core::KeyError) -> PyErr {
    InvalidKeys::new_err(e.to_string())
}

fn receipt_error(py: Python<'_>, e: &CoreReceiptError) -> PyErr {
    let err = ReceiptError::new_err(e.to_string());
    // `code` is a short stable name (docs/receipt.md, "Verifying").
    let _ = err.value(py).setattr("code", e.code());
    err
}

/// Reads a file for a key or policy; the error names the path and the cause, never content.
fn read_file(path: &str) -> PyResult<String> {
    std::fs::read_to_string(path)
        .map_err(|e| PiiEdgeError::new_err(format!("cannot read {path}: {e}")))
}

/// Header pairs from any iterable of `(name, value)` pairs or a mapping with `.items()`;
/// `bytes` are decoded as Latin-1 (what HTTP header bytes are), `str` taken as is.
fn header_pairs(headers: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let items = if headers.hasattr("items")? {
        headers.call_method0("items")?
    } else {
        headers.clone()
    };
    let mut out = Vec::new();
    for item in items.try_iter()? {
        let item = item?;
        let pair = item.cast::<PyTuple>().map(|t| t.to_owned()).or_else(|_| {
            PyTuple::new(item.py(), item.try_iter()?.collect::<PyResult<Vec<_>>>()?)
        })?;
        if pair.len() != 2 {
            return Err(PyTypeError::new_err(
                "headers must be (name, value) pairs or a mapping of name to value",
            ));
        }
        out.push((text(&pair.get_item(0)?)?, text(&pair.get_item(1)?)?));
    }
    Ok(out)
}

fn text(value: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(s.to_cow()?.into_owned());
    }
    if let Ok(b) = value.cast::<PyBytes>() {
        return Ok(b.as_bytes().iter().map(|&c| char::from(c)).collect());
    }
    Err(PyTypeError::new_err(
        "header names and values must be str or bytes",
    ))
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The public keys of the edge's receipt signing key (Ed25519 JWK, or a JWK Set during a
/// rotation). `repr` shows the key ids.
#[pyclass(frozen, module = "pii_edge")]
struct ReceiptKeys {
    inner: receipt::ReceiptKeys,
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
struct Receipt {
    /// Key id that signed it.
    kid: String,
    /// Unix seconds when the edge issued it.
    issued_at: u64,
    /// CloudFront's request id, when the edge knew it.
    request_id: Option<String>,
    /// The policy that applied, or None when no policy matched.
    policy: Option<String>,
    /// The residency zone values were sealed to, if any.
    zone: Option<String>,
    /// The protected locations (text form).
    locations: Vec<String>,
    /// Locations protected but not listed (the list is capped at 1024 bytes).
    more_locations: u64,
    /// Header names whose values the receipt binds.
    bound_headers: Vec<String>,
    /// Whether the receipt binds the body (False: it vouches only for an empty body).
    body_bound: bool,
}

#[pymethods]
impl Receipt {
    fn __repr__(&self) -> String {
        format!(
            "Receipt(policy={:?}, zone={:?}, request_id={:?}, issued_at={}, locations={})",
            self.policy,
            self.zone,
            self.request_id,
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
fn verify_receipt(
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

/// The private keys of one region (X25519 JWK Set with `d`). `repr` shows zones and key
/// ids, never key material; the keys are wiped from memory when the keyring is dropped.
#[pyclass(frozen, module = "pii_edge")]
struct PrivateKeyring {
    inner: pii_core::PrivateKeyring,
}

#[pymethods]
impl PrivateKeyring {
    /// Reads a private JWK Set (what `pii-edge keygen` writes as `private.jwks`). Raises
    /// `InvalidKeys`, whose message names the key by position, never its material.
    #[staticmethod]
    fn from_jwks(text: &str) -> PyResult<Self> {
        pii_core::PrivateKeyring::from_jwks(text)
            .map(|inner| PrivateKeyring { inner })
            .map_err(key_error)
    }

    /// Reads `from_jwks` from a file.
    #[staticmethod]
    fn from_file(path: &str) -> PyResult<Self> {
        let text = zeroize::Zeroizing::new(read_file(path)?);
        pii_core::PrivateKeyring::from_jwks(&text)
            .map(|inner| PrivateKeyring { inner })
            .map_err(|e| InvalidKeys::new_err(format!("{path}: {e}")))
    }

    /// The residency zones this keyring can open.
    #[getter]
    fn zones(&self) -> Vec<String> {
        self.inner.zones().into_iter().map(str::to_owned).collect()
    }

    fn __repr__(&self) -> String {
        format!("PrivateKeyring(zones={:?})", self.zones())
    }
}

/// The module `pii_edge._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<PrivateKeyring>()?;
    m.add_class::<ReceiptKeys>()?;
    m.add_class::<Receipt>()?;
    m.add_function(wrap_pyfunction!(verify_receipt, m)?)?;
    for (name, class) in [
        ("PiiEdgeError", py.get_type::<PiiEdgeError>()),
        ("InvalidKeys", py.get_type::<InvalidKeys>()),
        ("OpenError", py.get_type::<OpenError>()),
        ("Malformed", py.get_type::<Malformed>()),
        ("UnsupportedVersion", py.get_type::<UnsupportedVersion>()),
        ("WrongZone", py.get_type::<WrongZone>()),
        ("WrongPolicy", py.get_type::<WrongPolicy>()),
        ("WrongLocation", py.get_type::<WrongLocation>()),
        ("NoKey", py.get_type::<NoKey>()),
        ("Tampered", py.get_type::<Tampered>()),
        ("PlaintextFound", py.get_type::<PlaintextFound>()),
        ("LocationError", py.get_type::<LocationError>()),
        ("PolicyError", py.get_type::<PolicyError>()),
        ("ReceiptError", py.get_type::<ReceiptError>()),
    ] {
        m.add(name, class)?;
    }
    m.add("RECEIPT_HEADER", receipt::HEADER)?;
    Ok(())
}
