//! Policies for strict opening, from YAML files or directories of them.

use crate::error::Failure;

pub(crate) fn load_policies(paths: &[String]) -> Result<Vec<pii_core::Policy>, Failure> {
    // The one loader's rules (pii_core::load): `*.yaml` and `*.yml` directly in a directory, in
    // name order; an empty directory is an error; every problem reported.
    let files = pii_core::load::policy_files(paths)
        .map_err(|e| Failure::new("PolicyError", e.to_string()))?;
    let loaded = pii_core::load::policies(&files)
        .map_err(|problems| Failure::new("PolicyError", pii_core::load::describe(&problems)))?;
    Ok(loaded.into_iter().map(|(_, p)| p).collect())
}
