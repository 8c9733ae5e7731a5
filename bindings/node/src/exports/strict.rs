//! `Policies` compiled for strict opening.

use napi_derive::napi;

use super::{js, Result};
use crate::error::Failure;

/// Policies compiled for strict opening.
#[napi]
pub struct Policies {
    pub(crate) strict: pii_core::strict::Strict,
    names: Vec<String>,
}

#[napi]
impl Policies {
    /// Policies from YAML files or directories of them.
    #[napi(factory)]
    pub fn from_files(paths: Vec<String>) -> Result<Self> {
        let policies = crate::strict::load_policies(&paths).map_err(js)?;
        let names = policies.iter().map(|p| p.name().to_owned()).collect();
        let strict = pii_core::strict::Strict::new(&policies)
            .map_err(|e| js(Failure::new("PolicyError", e.to_string())))?;
        Ok(Policies { strict, names })
    }

    /// The policy names.
    #[napi(getter)]
    pub fn names(&self) -> Vec<String> {
        self.names.clone()
    }
}
