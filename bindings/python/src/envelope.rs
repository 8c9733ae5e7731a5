//! Opened values and their binding (docs/envelope.md), and the envelope syntax check.

use pii_core::envelope::{self, ValueKind};
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::error::Malformed;
use crate::location::Location;

/// Policy, zone and location a value was sealed for (authenticated inside the envelope).
#[pyclass(frozen, get_all, module = "pii_edge")]
pub(crate) struct Binding {
    /// Name of the policy that sealed the value.
    pub(crate) policy: String,
    /// Residency zone whose regions may open it.
    pub(crate) zone: String,
    /// Where the value was in the request.
    pub(crate) location: Py<Location>,
}

#[pymethods]
impl Binding {
    fn __repr__(&self) -> String {
        self.repr_text()
    }
}

pub(crate) fn binding(py: Python<'_>, b: &envelope::Binding) -> PyResult<Py<Binding>> {
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
pub(crate) struct Opened {
    /// The value: str, int, float, bool, None, dict or list.
    pub(crate) value: Py<PyAny>,
    /// `text`, `string`, `number`, `bool`, `null`, `object` or `array`.
    pub(crate) kind: &'static str,
    /// Where the value belongs.
    pub(crate) binding: Py<Binding>,
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
    pub(crate) fn repr_text(&self) -> String {
        format!(
            "Binding(policy='{}', zone='{}', location={})",
            self.policy,
            self.zone,
            self.location.get().__repr__()
        )
    }
}

pub(crate) fn opened(py: Python<'_>, o: &envelope::Opened) -> PyResult<Opened> {
    opened_parts(py, o.kind(), o.plaintext(), o.binding())
}

/// An `Opened` of a value of `kind` (an envelope's or a field at rest's).
pub(crate) fn opened_parts(
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

/// Whether `text` has the form of an envelope (`pe<version>.` and base64url): a syntax check
/// only, it opens nothing. Use it to refuse plaintext where an envelope belongs without
/// decrypting; `open` proves the envelope authentic.
#[pyfunction]
pub(crate) fn is_envelope(text: &str) -> bool {
    envelope::is_envelope(text)
}

/// Adds the opened-value classes and `is_envelope` to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Binding>()?;
    m.add_class::<Opened>()?;
    m.add_function(wrap_pyfunction!(is_envelope, m)?)?;
    Ok(())
}
