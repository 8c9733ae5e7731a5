//! `policies/schema.json` is generated from the policy types; this test fails when they drift.
//! Regenerate with `UPDATE_SCHEMA=1 cargo test -p pii-core --all-features --test schema`.

use std::path::Path;

fn check(file: &str, generated: String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../policies")
        .join(file);
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).expect("write schema");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "policies/{file} is out of date; run: UPDATE_SCHEMA=1 cargo test -p pii-core --all-features --test schema"
    );
}

#[test]
fn committed_schema_matches_the_types() {
    check("schema.json", pii_core::spec::policy_schema());
}

#[test]
fn committed_residency_schema_matches_the_types() {
    check(
        "residency.schema.json",
        pii_core::residency::residency_schema(),
    );
}

#[test]
fn example_policies_validate_against_the_schema_shape() {
    // Every example policy, read as plain data, only uses keys the schema knows.
    let schema: serde_json::Value =
        serde_json::from_str(&pii_core::spec::policy_schema()).expect("schema is JSON");
    let props = schema["properties"].as_object().expect("properties");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    for entry in std::fs::read_dir(dir).expect("policies dir") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let doc: serde_json::Value = serde_saphyr::from_str(&text).expect("yaml");
        for key in doc.as_object().expect("mapping").keys() {
            assert!(
                props.contains_key(key),
                "{}: key {key} not in schema",
                path.display()
            );
        }
    }
}
