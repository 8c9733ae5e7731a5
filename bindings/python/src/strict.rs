//! Policies compiled for strict opening (`pii_core::strict`).

use pii_core::strict::Strict;
use pyo3::prelude::*;

use crate::error::PolicyError;

/// Policies for strict opening, compiled once: `PrivateKeyring.reveal(..., strict=policies)`
/// refuses a request in which a location they encrypt holds plaintext.
#[pyclass(frozen, module = "pii_edge")]
pub(crate) struct Policies {
    pub(crate) strict: Strict,
    pub(crate) names: Vec<String>,
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
        // The one loader's rules (pii_core::load): `*.yaml` and `*.yml` directly in a
        // directory, in name order; an empty directory is an error; every problem reported.
        let files = pii_core::load::policy_files(&paths).map_err(crate::load_error)?;
        let loaded = pii_core::load::policies(&files)
            .map_err(|problems| PolicyError::new_err(pii_core::load::describe(&problems)))?;
        Self::build(loaded.into_iter().map(|(_, p)| p).collect())
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

/// Adds `Policies` to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Policies>()
}
