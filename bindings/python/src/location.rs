//! Where a value is in a request, in the spec's text form.

use pii_core::{location::Part, location::PathElement, Location as CoreLocation};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyList, PyString};

use crate::error::LocationError;

/// Where a value is in a request, in the spec's one text form (`json:$['user']['email']`,
/// `header:x-national-id`, `query:email#1`, `form:card_number`, `cookie:session`).
#[pyclass(frozen, eq, hash, module = "pii_edge")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Location {
    pub(crate) inner: CoreLocation,
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

    pub(crate) fn __repr__(&self) -> String {
        format!("Location({:?})", self.inner.to_string())
    }
}

pub(crate) fn location_arg(value: &Bound<'_, PyAny>) -> PyResult<CoreLocation> {
    if let Ok(loc) = value.cast::<Location>() {
        return Ok(loc.get().inner.clone());
    }
    let text: String = value.extract()?;
    Location::parse(&text).map(|l| l.inner)
}

/// Adds `Location` to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Location>()
}
