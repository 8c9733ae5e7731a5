//! Every policy under `policies/` loads and compiles.
#![cfg(feature = "yaml")]

use std::path::Path;

#[test]
fn every_example_policy_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    let mut loaded = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("policies dir") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(
            text.starts_with('#'),
            "{}: start the policy with a comment saying what it protects and why",
            path.display()
        );
        let name = path.display().to_string();
        match pii_core::Policy::from_yaml(&name, &text) {
            Ok(p) => loaded.push(p.name().to_string()),
            Err(e) => panic!("{e}"),
        }
    }
    assert!(
        loaded.len() >= 3,
        "at least three example policies, found {loaded:?}"
    );
}
