//! A request with its envelopes opened (`pii_core::reveal`).

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use pii_core::reveal::SubjectKeyring;
use pyo3::exceptions::PyTypeError;

use crate::at_rest::{Erased, SubjectKey};
use crate::envelope::{binding, Binding};
use crate::error::NoKey;
use crate::error::{reveal_error, strict_error};
use crate::keys::PrivateKeyring;
use crate::request::{body_bytes, header_pairs};
use crate::strict::Policies;

/// One opened value of a revealed request (never its plaintext).
#[pyclass(frozen, get_all, module = "pii_edge")]
pub(crate) struct RevealedField {
    /// Policy, zone and location.
    pub(crate) binding: Py<Binding>,
    /// `text`, `string`, `number`, `bool`, `null`, `object` or `array`.
    pub(crate) kind: &'static str,
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
pub(crate) struct Revealed {
    /// The method.
    pub(crate) method: String,
    /// The path (without the query).
    pub(crate) path: String,
    /// The raw query string (values opened, percent-encoded).
    pub(crate) query: String,
    /// `(name, value)` pairs, values opened.
    pub(crate) headers: Vec<(String, String)>,
    /// The body with every envelope opened.
    pub(crate) body: Py<PyBytes>,
    /// One report per opened value, in request order.
    pub(crate) fields: Vec<Py<RevealedField>>,
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

/// `PrivateKeyring.reveal`: opens every envelope of a request (see its documentation).
#[allow(clippy::too_many_arguments)]
pub(crate) fn reveal(
    keys: &PrivateKeyring,
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
    let revealed = match subject_keys {
        None => match strict {
            Some(policies) => py
                .detach(|| policies.strict.reveal(&keys.inner, &request, expect))
                .map_err(|e| strict_error(py, e))?,
            None => py
                .detach(|| pii_core::reveal(&keys.inner, &request, expect))
                .map_err(|e| reveal_error(py, e))?,
        },
        Some(source) => {
            let (held, erased) = fetch_subject_keys(py, source, &request)?;
            let mut ring = SubjectKeyring::new();
            for key in &held {
                ring.push(&key.get().inner);
            }
            for key_id in &erased {
                ring.push_erased(key_id);
            }
            match strict {
                Some(policies) => py
                    .detach(|| {
                        policies
                            .strict
                            .reveal_at_rest(&keys.inner, &ring, &request, expect)
                    })
                    .map_err(|e| strict_error(py, e))?,
                None => py
                    .detach(|| {
                        pii_core::reveal::reveal_at_rest(&keys.inner, &ring, &request, expect)
                    })
                    .map_err(|e| reveal_error(py, e))?,
            }
        }
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

/// The subject keys of the request's fields at rest, from `source.key_by_id(subject, key_id)`:
/// the keys it gave, and the key ids it said were erased (`Erased`). `NoKey` leaves the key
/// out (the field then fails with `NoKey`, saying where); any other exception propagates.
fn fetch_subject_keys(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    request: &pii_core::Request,
) -> PyResult<(Vec<Py<SubjectKey>>, Vec<String>)> {
    let wanted = pii_core::reveal::at_rest_keys(request).map_err(|e| reveal_error(py, e))?;
    let mut held = Vec::with_capacity(wanted.len());
    let mut erased = Vec::new();
    for (subject, key_id) in wanted {
        match source.call_method1("key_by_id", (subject, key_id.as_str())) {
            Ok(key) => held.push(
                key.cast_into::<SubjectKey>()
                    .map_err(|_| {
                        PyTypeError::new_err("subject_keys.key_by_id must return a SubjectKey")
                    })?
                    .unbind(),
            ),
            Err(e) if e.is_instance_of::<Erased>(py) => erased.push(key_id),
            Err(e) if e.is_instance_of::<NoKey>(py) => {}
            Err(e) => return Err(e),
        }
    }
    Ok((held, erased))
}

/// Adds the revealed-request classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Revealed>()?;
    m.add_class::<RevealedField>()?;
    Ok(())
}
