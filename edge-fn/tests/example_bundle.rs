//! The example bundle (`examples/bundle/bundle.json`), which the `bootstrap` binary embeds by
//! default and the package tests ship.
//!
//! It is made from `policies/*.yaml` (converted to JSON: the edge has no YAML parser), the
//! demo public keys `examples/keys/public.jwks` and the demo token keys
//! `examples/keys/tokens.jwks`.
//!
//! Regenerate it with
//! `PII_EDGE_REGENERATE=1 cargo test -p edge-fn --test example_bundle -- regenerate`
//! (this also creates the demo keys when `examples/keys/` has none).

use std::fs;
use std::path::{Path, PathBuf};

use edge_fn::bundle::{load_bundle, Bundle};
use pii_core::{keys::PrivateKey, spec::PolicySpec, Policy, PublicKeyring, TokenKeys};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn sorted_files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == ext))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The YAML policies of `policies/`, as specs.
fn yaml_policies() -> Vec<PolicySpec> {
    sorted_files(&root().join("policies"), "yaml")
        .iter()
        .map(|path| {
            let text = read(path);
            Policy::from_yaml(&path.display().to_string(), &text)
                .unwrap_or_else(|e| panic!("{e}"))
                .spec()
                .clone()
        })
        .collect()
}

fn bundle_path() -> PathBuf {
    root().join("examples/bundle/bundle.json")
}

#[test]
fn example_bundle_loads() {
    let engine = load_bundle(&read(&bundle_path())).unwrap_or_else(|e| panic!("{e}"));
    assert!(engine.policies().len() >= 3);
    assert!(!engine.keys().is_empty());
}

#[test]
fn example_bundle_holds_public_keys_only() {
    let bundle: Bundle = serde_json::from_str(&read(&bundle_path())).expect("bundle");
    for key in bundle.keys["keys"].as_array().expect("keys array") {
        assert!(key.get("d").is_none(), "private key in the example bundle");
    }
    let public = read(&root().join("examples/keys/public.jwks"));
    assert_eq!(
        PublicKeyring::from_jwks(&bundle.keys.to_string()).expect("bundle keys"),
        PublicKeyring::from_jwks(&public).expect("examples/keys/public.jwks"),
        "the bundle's keys are not examples/keys/public.jwks: regenerate the bundle"
    );
}

/// Every policy of the bundle that has a source file is the same as that source: a changed
/// policy must be followed by a regenerated bundle. New policies not yet in the bundle are
/// reported, not failed (they do not change what the bundle does).
#[test]
fn example_bundle_matches_its_sources() {
    let bundle: Bundle = serde_json::from_str(&read(&bundle_path())).expect("bundle");
    let sources = yaml_policies();
    for value in &bundle.policies {
        let spec: PolicySpec = serde_json::from_value(value.clone()).expect("policy spec");
        if let Some(source) = sources.iter().find(|s| s.name == spec.name) {
            assert_eq!(
                &spec, source,
                "policy `{}` differs from its source: run PII_EDGE_REGENERATE=1 cargo test -p edge-fn --test example_bundle -- regenerate",
                spec.name
            );
        }
    }
    for source in &sources {
        if !bundle
            .policies
            .iter()
            .any(|p| p["name"] == source.name.as_str())
        {
            eprintln!(
                "note: policy `{}` is not in examples/bundle/bundle.json yet (regenerate to add it)",
                source.name
            );
        }
    }
}

fn write_jwks(path: &Path, keys: &[String]) {
    let text = format!("{{\"keys\":[\n  {}\n]}}\n", keys.join(",\n  "));
    fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Makes the demo keys when there are none: an X25519 key pair per region of zone
/// `eu-central` and a token key per token domain. Demo only (see examples/keys/README.md).
fn ensure_demo_keys(dir: &Path) {
    fs::create_dir_all(dir).expect("examples/keys");
    let public = dir.join("public.jwks");
    let private = dir.join("private.jwks");
    if !public.exists() && !private.exists() {
        let created = 1_767_225_600; // 2026-01-01T00:00:00Z
        let keys: Vec<PrivateKey> = ["eu-central-1", "eu-central-2"]
            .iter()
            .map(|region| PrivateKey::generate("eu-central", region, created).expect("keygen"))
            .collect();
        write_jwks(
            &private,
            &keys.iter().map(PrivateKey::to_jwk).collect::<Vec<_>>(),
        );
        write_jwks(
            &public,
            &keys.iter().map(|k| k.public().to_jwk()).collect::<Vec<_>>(),
        );
    }
    let tokens = dir.join("tokens.jwks");
    if !tokens.exists() {
        let keys: Vec<String> = ["email", "patient"]
            .iter()
            .map(|domain| TokenKeys::generate(domain).expect("token key").to_jwk())
            .collect();
        write_jwks(&tokens, &keys);
    }
}

#[test]
fn regenerate() {
    if std::env::var_os("PII_EDGE_REGENERATE").is_none() {
        return;
    }
    let keys_dir = root().join("examples/keys");
    ensure_demo_keys(&keys_dir);
    let public = read(&keys_dir.join("public.jwks"));
    let tokens = read(&keys_dir.join("tokens.jwks"));

    let specs = yaml_policies();
    let text = edge_fn::bundle::build_bundle(&specs, &public, Some(&tokens))
        .unwrap_or_else(|e| panic!("{e}"));
    // Pretty, stable output for review.
    let value: Value = serde_json::from_str(&text).expect("bundle json");
    let mut pretty = serde_json::to_string_pretty(&value).expect("pretty");
    pretty.push('\n');
    fs::write(bundle_path(), pretty).expect("write bundle");
    eprintln!(
        "wrote {} with {} policies",
        bundle_path().display(),
        specs.len()
    );
}
