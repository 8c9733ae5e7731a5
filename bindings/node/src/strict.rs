//! Policies for strict opening, from YAML files or directories of them.

use crate::error::Failure;

pub(crate) fn load_policies(paths: &[String]) -> Result<Vec<pii_core::Policy>, Failure> {
    let policy_error = |m: String| Failure::new("PolicyError", m);
    let mut policies = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path)
            .map_err(|e| policy_error(format!("cannot read {path}: {e}")))?;
        let mut files = Vec::new();
        if meta.is_dir() {
            let entries = std::fs::read_dir(path)
                .map_err(|e| policy_error(format!("cannot read {path}: {e}")))?;
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
            let text = std::fs::read_to_string(&file)
                .map_err(|e| policy_error(format!("cannot read {shown}: {e}")))?;
            policies.push(
                pii_core::Policy::from_yaml(&shown, &text)
                    .map_err(|e| policy_error(e.to_string()))?,
            );
        }
    }
    Ok(policies)
}
