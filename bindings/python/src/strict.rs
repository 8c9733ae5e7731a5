//! Policies compiled for strict opening (`pii_core::strict`).

use pii_core::strict::Strict;
use pyo3::prelude::*;

use crate::error::PolicyError;
use crate::{os_error, read_file};

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

/// Adds `Policies` to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Policies>()
}
