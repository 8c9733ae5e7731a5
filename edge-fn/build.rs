//! Tells the `bootstrap` binary where its bundle is: `PII_EDGE_BUNDLE` at build time (a path,
//! relative to this crate's directory or absolute), default `../examples/bundle/bundle.json`.
//! The binary embeds it with `include_str!`: Lambda functions behind CloudFront get their
//! configuration in the artifact, not from the environment.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=PII_EDGE_BUNDLE");
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let given = std::env::var_os("PII_EDGE_BUNDLE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../examples/bundle/bundle.json"));
    let path = if given.is_absolute() {
        given
    } else {
        manifest_dir.join(given)
    };
    println!("cargo:rerun-if-changed={}", path.display());
    println!("cargo:rustc-env=PII_EDGE_BUNDLE_PATH={}", path.display());
}
