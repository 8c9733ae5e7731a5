//! The private keys of one region: opening envelopes and revealing requests with them.

use pii_core::envelope::{self, OpenError as CoreOpenError};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::envelope::{opened, Opened};
use crate::error::{key_error, open_error, InvalidKeys, NoKey};
use crate::location::location_arg;
use crate::read_file;
use crate::reveal::Revealed;
use crate::strict::Policies;

/// The private keys of one region (X25519 JWK Set with `d`). `repr` shows zones and key
/// ids, never key material; the keys are wiped from memory when the keyring is dropped.
#[pyclass(frozen, module = "pii_edge")]
pub(crate) struct PrivateKeyring {
    pub(crate) inner: pii_core::PrivateKeyring,
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
    pub(crate) fn from_file(path: &str) -> PyResult<Self> {
        let text = zeroize::Zeroizing::new(read_file(path)?);
        pii_core::PrivateKeyring::from_jwks(&text)
            .map(|inner| PrivateKeyring { inner })
            .map_err(|e| InvalidKeys::new_err(format!("{path}: {e}")))
    }

    /// The residency zones this keyring can open.
    #[getter]
    pub(crate) fn zones(&self) -> Vec<String> {
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
    /// have inspected raises `Uninspectable`. With `subject_keys` (a
    /// `pii_edge.erasure.SubjectKeys`, or any object with `key_by_id(subject, key_id)`) the
    /// fields at rest (`pr1.`) of the request open too, each with its subject key; one of an
    /// erased subject raises `Erased`.
    #[pyo3(signature = (method, path, headers = None, body = None, query = None, policy = None, zone = None, strict = None, subject_keys = None))]
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
        subject_keys: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Revealed> {
        crate::reveal::reveal(
            self,
            py,
            method,
            path,
            headers,
            body,
            query,
            policy,
            zone,
            strict,
            subject_keys,
        )
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
    pub(crate) fn open_error(&self, e: CoreOpenError, envelope: &str) -> PyErr {
        match e {
            CoreOpenError::NoKey => NoKey::new_err(envelope::no_key_reason(&self.inner, envelope)),
            other => open_error(other),
        }
    }
}

/// Adds the keyring to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PrivateKeyring>()
}
