//! `pii_edge._native`: the Python face of pii-core. Every operation is pii-core's; this file
//! converts Python values to Rust and back, and pii-core's errors to Python exceptions. The
//! Python package around it (`python/pii_edge`) adds the middleware and the typing stubs.
//!
//! No message, `repr` or exception carries a plaintext value or key material.

use std::time::{SystemTime, UNIX_EPOCH};

mod batch;
mod erasure;

use pii_core::envelope::{self, OpenError as CoreOpenError, ValueKind};
use pii_core::receipt::{self, ReceiptError as CoreReceiptError};
use pii_core::strict::{Strict, StrictError};
use pii_core::{location::Part, location::PathElement, Location as CoreLocation};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyList, PyString, PyTuple};

create_exception!(
    pii_edge,
    PiiEdgeError,
    PyException,
    "Base class of every error of pii_edge."
);
create_exception!(
    pii_edge,
    InvalidKeys,
    PiiEdgeError,
    "A key or key set was refused (the message names the key by position or kid, never its material)."
);
create_exception!(
    pii_edge,
    OpenError,
    PiiEdgeError,
    "An envelope did not open. Subclasses say why; messages say nothing about the contents."
);
create_exception!(
    pii_edge,
    Malformed,
    OpenError,
    "Not a well-formed envelope."
);
create_exception!(
    pii_edge,
    UnsupportedVersion,
    OpenError,
    "An envelope of a format version this library does not know."
);
create_exception!(
    pii_edge,
    WrongZone,
    OpenError,
    "Sealed for another residency zone than the one expected."
);
create_exception!(
    pii_edge,
    WrongPolicy,
    OpenError,
    "Sealed by another policy than the one expected."
);
create_exception!(
    pii_edge,
    WrongLocation,
    OpenError,
    "Sealed for another location in the request than the one expected."
);
create_exception!(
    pii_edge,
    NoKey,
    OpenError,
    "No private key of the keyring is a recipient of the envelope."
);
create_exception!(
    pii_edge,
    Tampered,
    OpenError,
    "The envelope was changed, or not sealed to this key."
);
create_exception!(
    pii_edge,
    PlaintextFound,
    PiiEdgeError,
    "Strict opening: a location the policy protects holds plaintext instead of an envelope."
);
create_exception!(
    pii_edge,
    Uninspectable,
    PiiEdgeError,
    "Strict opening: the request cannot be inspected as the edge would (malformed or compressed body, ...)."
);
create_exception!(
    pii_edge,
    LocationError,
    PiiEdgeError,
    "A location text that is not in the spec's form (json:$['a'], header:x-id, query:email#1)."
);
create_exception!(
    pii_edge,
    PolicyError,
    PiiEdgeError,
    "A policy that does not load (the message has the file, line and column)."
);
create_exception!(
    pii_edge,
    ReceiptError,
    PiiEdgeError,
    "A request without a valid, fresh receipt of the edge. `code` names the failed check."
);

fn key_error(e: pii_core::keys::KeyError) -> PyErr {
    InvalidKeys::new_err(e.to_string())
}

fn receipt_error(py: Python<'_>, e: &CoreReceiptError) -> PyErr {
    let err = ReceiptError::new_err(e.to_string());
    // `code` is a short stable name (docs/receipt.md, "Verifying").
    let _ = err.value(py).setattr("code", e.code());
    err
}

/// Reads a file for a key or policy; the error is Python's `OSError` subclass for the cause
/// (`FileNotFoundError`, `PermissionError`, ...) and names the path, never content.
fn read_file(path: &str) -> PyResult<String> {
    std::fs::read_to_string(path).map_err(|e| os_error(path, &e))
}

fn os_error(path: &str, e: &std::io::Error) -> PyErr {
    use pyo3::exceptions::{
        PyFileNotFoundError, PyIsADirectoryError, PyOSError, PyPermissionError,
    };
    let message = format!("cannot read {path}: {e}");
    match e.kind() {
        std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
        std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(message),
        std::io::ErrorKind::IsADirectory => PyIsADirectoryError::new_err(message),
        _ => PyOSError::new_err(message),
    }
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

/// Body bytes from `bytes`, `bytearray`, `memoryview` or `str` (UTF-8).
fn body_bytes(body: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(s) = body.cast::<PyString>() {
        return Ok(s.to_cow()?.as_bytes().to_vec());
    }
    body.extract::<Vec<u8>>()
        .map_err(|_| PyTypeError::new_err("body must be bytes, bytearray or str"))
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

    /// Opens one envelope: returns the value with its JSON type restored and its binding.
    /// Raises `Malformed`, `UnsupportedVersion`, `NoKey` or `Tampered`.
    fn open(&self, py: Python<'_>, envelope: &str) -> PyResult<Opened> {
        let o = py
            .detach(|| envelope::open(&self.inner, envelope))
            .map_err(|e| self.open_error(e, envelope))?;
        opened(py, &o)
    }

    /// Opens one envelope only if it was sealed by `policy`, for `zone`, at `location` (a
    /// `Location` or its text); raises `WrongPolicy`, `WrongZone` or `WrongLocation` for a
    /// value bound elsewhere (moved, or from another tenant or region).
    fn open_expecting(
        &self,
        py: Python<'_>,
        envelope: &str,
        policy: &str,
        zone: &str,
        location: &Bound<'_, PyAny>,
    ) -> PyResult<Opened> {
        let expected = envelope::Binding::new(policy, zone, location_arg(location)?);
        let o = py
            .detach(|| envelope::open_expecting(&self.inner, envelope, &expected))
            .map_err(|e| self.open_error(e, envelope))?;
        opened(py, &o)
    }

    /// Opens every envelope of a request (JSON or form body, query, headers, cookies), each
    /// checked against where it is found, as `pii-edge reveal` does. `path` may carry the
    /// query (`/a?b=c`) when `query` is not given. With `policy`/`zone` every value must have
    /// been sealed by / for them. With `strict` (a `Policies`) a location the matching policy
    /// encrypts that holds plaintext raises `PlaintextFound`, and a body the edge could not
    /// have inspected raises `Uninspectable`.
    #[pyo3(signature = (method, path, headers = None, body = None, query = None, policy = None, zone = None, strict = None))]
    #[allow(clippy::too_many_arguments)]
    fn reveal(
        &self,
        py: Python<'_>,
        method: &str,
        path: &str,
        headers: Option<&Bound<'_, PyAny>>,
        body: Option<&Bound<'_, PyAny>>,
        query: Option<&str>,
        policy: Option<&str>,
        zone: Option<&str>,
        strict: Option<&Policies>,
    ) -> PyResult<Revealed> {
        let (path, query) = match query {
            Some(q) => (path, q),
            None => path.split_once('?').unwrap_or((path, "")),
        };
        let mut request = pii_core::Request::new(method, path).with_query(query);
        if let Some(headers) = headers {
            request.headers = header_pairs(headers)?;
        }
        if let Some(body) = body {
            request.body = body_bytes(body)?;
        }
        let expect = pii_core::reveal::Expect { policy, zone };
        let revealed = match strict {
            Some(policies) => py
                .detach(|| policies.strict.reveal(&self.inner, &request, expect))
                .map_err(|e| strict_error(py, e))?,
            None => py
                .detach(|| pii_core::reveal(&self.inner, &request, expect))
                .map_err(|e| reveal_error(py, e))?,
        };
        let mut fields = Vec::with_capacity(revealed.fields.len());
        for f in &revealed.fields {
            fields.push(Py::new(
                py,
                RevealedField {
                    binding: binding(py, &f.binding)?,
                    kind: f.kind.name(),
                },
            )?);
        }
        let r = revealed.request;
        Ok(Revealed {
            method: r.method,
            path: r.path,
            query: r.query,
            headers: r.headers,
            body: PyBytes::new(py, &r.body).unbind(),
            fields,
        })
    }

    /// Opens every envelope of a JSON (or, with that content type, form) body: `reveal` of a
    /// `POST /` with this body. Returns the `Revealed` (`.body`, `.json()`, `.fields`).
    #[pyo3(signature = (body, content_type = "application/json", policy = None, zone = None))]
    fn reveal_body(
        &self,
        py: Python<'_>,
        body: &Bound<'_, PyAny>,
        content_type: &str,
        policy: Option<&str>,
        zone: Option<&str>,
    ) -> PyResult<Revealed> {
        let headers = PyList::new(
            py,
            [(String::from("content-type"), content_type.to_owned())],
        )?;
        self.reveal(
            py,
            "POST",
            "/",
            Some(headers.as_any()),
            Some(body),
            Some(""),
            policy,
            zone,
            None,
        )
    }

    fn __repr__(&self) -> String {
        format!("PrivateKeyring(zones={:?})", self.zones())
    }
}

impl PrivateKeyring {
    /// `open_error`, with `NoKey` saying which zone and key ids the envelope needs beside the
    /// keys this keyring has.
    fn open_error(&self, e: CoreOpenError, envelope: &str) -> PyErr {
        match e {
            CoreOpenError::NoKey => NoKey::new_err(envelope::no_key_reason(&self.inner, envelope)),
            other => open_error(other),
        }
    }
}

fn open_error(e: CoreOpenError) -> PyErr {
    let message = e.to_string();
    match e {
        CoreOpenError::Malformed => Malformed::new_err(message),
        CoreOpenError::UnsupportedVersion => UnsupportedVersion::new_err(message),
        CoreOpenError::WrongZone => WrongZone::new_err(message),
        CoreOpenError::WrongPolicy => WrongPolicy::new_err(message),
        CoreOpenError::WrongLocation => WrongLocation::new_err(message),
        CoreOpenError::NoKey => NoKey::new_err(message),
        CoreOpenError::Tampered => Tampered::new_err(message),
        _ => OpenError::new_err(message),
    }
}

/// An open error raised for a value of a request: the message and `.location` say where.
fn reveal_error(py: Python<'_>, e: pii_core::reveal::RevealError) -> PyErr {
    let err = open_error(e.error);
    let text = format!("{}", e);
    let value = err.value(py);
    let _ = value.setattr("args", (text,));
    let _ = value.setattr("location", e.location.to_string());
    err
}

fn strict_error(py: Python<'_>, e: StrictError) -> PyErr {
    match e {
        StrictError::Open(e) => reveal_error(py, e),
        StrictError::Plaintext { ref location, .. } => {
            let err = PlaintextFound::new_err(e.to_string());
            let _ = err.value(py).setattr("location", location.to_string());
            err
        }
        StrictError::Uninspectable { .. } => Uninspectable::new_err(e.to_string()),
        other => PiiEdgeError::new_err(other.to_string()),
    }
}

/// Where a value is in a request, in the spec's one text form (`json:$['user']['email']`,
/// `header:x-national-id`, `query:email#1`, `form:card_number`, `cookie:session`).
#[pyclass(frozen, eq, hash, module = "pii_edge")]
#[derive(Clone, PartialEq, Eq, Hash)]
struct Location {
    inner: CoreLocation,
}

#[pymethods]
impl Location {
    /// Parses the text form; raises `LocationError` (with the byte offset) for any other
    /// spelling.
    #[new]
    fn new(text: &str) -> PyResult<Self> {
        Self::parse(text)
    }

    /// Parses the text form (same as the constructor).
    #[staticmethod]
    fn parse(text: &str) -> PyResult<Self> {
        text.parse::<CoreLocation>()
            .map(|inner| Location { inner })
            .map_err(|e| LocationError::new_err(e.to_string()))
    }

    /// A JSON body location from its path: member names (str) and array indexes (int).
    #[staticmethod]
    fn json(path: &Bound<'_, PyAny>) -> PyResult<Self> {
        let mut elements = Vec::new();
        for item in path.try_iter()? {
            let item = item?;
            if item.is_instance_of::<PyInt>() {
                elements.push(PathElement::Index(item.extract()?));
            } else if let Ok(name) = item.cast::<PyString>() {
                elements.push(PathElement::Name(name.to_cow()?.into_owned()));
            } else {
                return Err(PyTypeError::new_err(
                    "a JSON path is a list of member names (str) and array indexes (int)",
                ));
            }
        }
        Ok(Location {
            inner: CoreLocation::json(elements),
        })
    }

    /// A named location: `part` is `header`, `query`, `form` or `cookie`; `name` is
    /// lower-cased; `index` counts values of that name from 0.
    #[staticmethod]
    #[pyo3(signature = (part, name, index = 0))]
    fn field(part: &str, name: &str, index: usize) -> PyResult<Self> {
        let part = part
            .parse::<Part>()
            .map_err(|e| LocationError::new_err(e.to_string()))?;
        Ok(Location {
            inner: CoreLocation::field(part, name, index),
        })
    }

    /// `json`, `header`, `query`, `form` or `cookie`.
    #[getter]
    fn part(&self) -> &'static str {
        self.inner.part().map_or("json", Part::as_str)
    }

    /// The field's decoded name (None for a JSON location).
    #[getter]
    fn name(&self) -> Option<String> {
        match &self.inner {
            CoreLocation::Field { name, .. } => Some(name.clone()),
            _ => None,
        }
    }

    /// Which value of that name (None for a JSON location).
    #[getter]
    fn index(&self) -> Option<usize> {
        match &self.inner {
            CoreLocation::Field { index, .. } => Some(*index),
            _ => None,
        }
    }

    /// The JSON path as a list of names and indexes (None for a named location).
    #[getter]
    fn path<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyList>>> {
        match &self.inner {
            CoreLocation::Json(path) => {
                let list = PyList::empty(py);
                for element in path {
                    match element {
                        PathElement::Name(n) => list.append(n)?,
                        PathElement::Index(i) => list.append(i)?,
                    }
                }
                Ok(Some(list))
            }
            _ => Ok(None),
        }
    }

    fn __str__(&self) -> String {
        self.inner.to_string()
    }

    fn __repr__(&self) -> String {
        format!("Location({:?})", self.inner.to_string())
    }
}

fn location_arg(value: &Bound<'_, PyAny>) -> PyResult<CoreLocation> {
    if let Ok(loc) = value.cast::<Location>() {
        return Ok(loc.get().inner.clone());
    }
    let text: String = value.extract()?;
    Location::parse(&text).map(|l| l.inner)
}

/// Policy, zone and location a value was sealed for (authenticated inside the envelope).
#[pyclass(frozen, get_all, module = "pii_edge")]
struct Binding {
    /// Name of the policy that sealed the value.
    policy: String,
    /// Residency zone whose regions may open it.
    zone: String,
    /// Where the value was in the request.
    location: Py<Location>,
}

#[pymethods]
impl Binding {
    fn __repr__(&self) -> String {
        self.repr_text()
    }
}

fn binding(py: Python<'_>, b: &envelope::Binding) -> PyResult<Py<Binding>> {
    Py::new(
        py,
        Binding {
            policy: b.policy.clone(),
            zone: b.zone.clone(),
            location: Py::new(
                py,
                Location {
                    inner: b.location.clone(),
                },
            )?,
        },
    )
}

/// An opened value: the Python value with its JSON type restored (`str` for text), its kind
/// and its binding. `repr` does not show the value.
#[pyclass(frozen, get_all, module = "pii_edge")]
struct Opened {
    /// The value: str, int, float, bool, None, dict or list.
    value: Py<PyAny>,
    /// `text`, `string`, `number`, `bool`, `null`, `object` or `array`.
    kind: &'static str,
    /// Where the value belongs.
    binding: Py<Binding>,
}

#[pymethods]
impl Opened {
    fn __repr__(&self) -> String {
        format!(
            "Opened(kind={:?}, binding={}, value=<hidden>)",
            self.kind,
            self.binding.get().repr_text()
        )
    }
}

impl Binding {
    fn repr_text(&self) -> String {
        format!(
            "Binding(policy='{}', zone='{}', location={})",
            self.policy,
            self.zone,
            self.location.get().__repr__()
        )
    }
}

fn opened(py: Python<'_>, o: &envelope::Opened) -> PyResult<Opened> {
    opened_parts(py, o.kind(), o.plaintext(), o.binding())
}

/// An `Opened` of a value of `kind` (an envelope's or a field at rest's).
fn opened_parts(
    py: Python<'_>,
    kind: ValueKind,
    plaintext: &[u8],
    at: &envelope::Binding,
) -> PyResult<Opened> {
    let text = std::str::from_utf8(plaintext)
        .map_err(|_| Malformed::new_err("the opened value is not UTF-8"))?;
    let value = match kind {
        ValueKind::Text => PyString::new(py, text).into_any().unbind(),
        _ => py.import("json")?.call_method1("loads", (text,))?.unbind(),
    };
    Ok(Opened {
        value,
        kind: kind.name(),
        binding: binding(py, at)?,
    })
}

/// Policies for strict opening, compiled once: `PrivateKeyring.reveal(..., strict=policies)`
/// refuses a request in which a location they encrypt holds plaintext.
#[pyclass(frozen, module = "pii_edge")]
struct Policies {
    strict: Strict,
    names: Vec<String>,
}

impl Policies {
    fn build(policies: Vec<pii_core::Policy>) -> PyResult<Self> {
        let names = policies.iter().map(|p| p.name().to_owned()).collect();
        let strict = Strict::new(&policies).map_err(|e| PolicyError::new_err(e.to_string()))?;
        Ok(Policies { strict, names })
    }
}

#[pymethods]
impl Policies {
    /// Policies from YAML files, or directories of `*.yaml` (in file name order), tried in
    /// the order given, first match wins, as at the edge.
    #[staticmethod]
    fn from_files(paths: Vec<String>) -> PyResult<Self> {
        let mut policies = Vec::new();
        for path in paths {
            let meta = std::fs::metadata(&path).map_err(|e| os_error(&path, &e))?;
            let mut files = Vec::new();
            if meta.is_dir() {
                let entries = std::fs::read_dir(&path).map_err(|e| os_error(&path, &e))?;
                for entry in entries.flatten() {
                    let p = entry.path();
                    if p.extension().and_then(|e| e.to_str()) == Some("yaml") && p.is_file() {
                        files.push(p);
                    }
                }
                files.sort();
            } else {
                files.push(path.into());
            }
            for file in files {
                let shown = file.display().to_string();
                let text = read_file(&shown)?;
                policies.push(
                    pii_core::Policy::from_yaml(&shown, &text)
                        .map_err(|e| PolicyError::new_err(e.to_string()))?,
                );
            }
        }
        Self::build(policies)
    }

    /// Policies from their YAML text (`source` names it in errors).
    #[staticmethod]
    #[pyo3(signature = (text, source = "<yaml>"))]
    fn from_yaml(text: &str, source: &str) -> PyResult<Self> {
        let policy = pii_core::Policy::from_yaml(source, text)
            .map_err(|e| PolicyError::new_err(e.to_string()))?;
        Self::build(vec![policy])
    }

    /// The policy names, in order.
    #[getter]
    fn names(&self) -> Vec<String> {
        self.names.clone()
    }

    fn __repr__(&self) -> String {
        format!("Policies({:?})", self.names)
    }
}

/// One opened value of a revealed request (never its plaintext).
#[pyclass(frozen, get_all, module = "pii_edge")]
struct RevealedField {
    /// Policy, zone and location.
    binding: Py<Binding>,
    /// `text`, `string`, `number`, `bool`, `null`, `object` or `array`.
    kind: &'static str,
}

#[pymethods]
impl RevealedField {
    fn __repr__(&self) -> String {
        format!(
            "RevealedField(kind={:?}, binding={})",
            self.kind,
            self.binding.get().repr_text()
        )
    }
}

/// A request with its envelopes opened, and a report per opened value.
#[pyclass(frozen, get_all, module = "pii_edge")]
struct Revealed {
    /// The method.
    method: String,
    /// The path (without the query).
    path: String,
    /// The raw query string (values opened, percent-encoded).
    query: String,
    /// `(name, value)` pairs, values opened.
    headers: Vec<(String, String)>,
    /// The body with every envelope opened.
    body: Py<PyBytes>,
    /// One report per opened value, in request order.
    fields: Vec<Py<RevealedField>>,
}

#[pymethods]
impl Revealed {
    /// How many values were opened.
    #[getter]
    fn opened(&self) -> usize {
        self.fields.len()
    }

    /// The body parsed as JSON.
    fn json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py.import("json")?
            .call_method1("loads", (self.body.bind(py).as_bytes(),))
    }

    fn __repr__(&self) -> String {
        format!(
            "Revealed(method={:?}, path=<{} bytes>, opened={}, body=<hidden>)",
            self.method,
            self.path.len(),
            self.fields.len()
        )
    }
}

/// Whether `text` has the form of an envelope (`pe<version>.` and base64url): a syntax check
/// only, it opens nothing. Use it to refuse plaintext where an envelope belongs without
/// decrypting; `open` proves the envelope authentic.
#[pyfunction]
fn is_envelope(text: &str) -> bool {
    envelope::is_envelope(text)
}

/// The module `pii_edge._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<PrivateKeyring>()?;
    m.add_class::<ReceiptKeys>()?;
    m.add_class::<Receipt>()?;
    m.add_class::<Location>()?;
    m.add_class::<Binding>()?;
    m.add_class::<Opened>()?;
    m.add_class::<Policies>()?;
    m.add_class::<Revealed>()?;
    m.add_class::<RevealedField>()?;
    m.add_function(wrap_pyfunction!(verify_receipt, m)?)?;
    m.add_function(wrap_pyfunction!(is_envelope, m)?)?;
    batch::register(m)?;
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
        ("Uninspectable", py.get_type::<Uninspectable>()),
        ("LocationError", py.get_type::<LocationError>()),
        ("PolicyError", py.get_type::<PolicyError>()),
        ("ReceiptError", py.get_type::<ReceiptError>()),
    ] {
        m.add(name, class)?;
    }
    m.add("RECEIPT_HEADER", receipt::HEADER)?;
    erasure::register(m)?;
    Ok(())
}
