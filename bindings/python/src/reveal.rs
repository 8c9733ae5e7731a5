//! A request with its envelopes opened (`pii_core::reveal`).

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::envelope::{binding, Binding};
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
    let expect = pii_core::Expect { policy, zone };
    let revealed = match strict {
        Some(policies) => py
            .detach(|| policies.strict.reveal(&keys.inner, &request, expect))
            .map_err(|e| strict_error(py, e))?,
        None => py
            .detach(|| pii_core::reveal(&keys.inner, &request, expect))
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

/// Adds the revealed-request classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Revealed>()?;
    m.add_class::<RevealedField>()?;
    Ok(())
}
