//! The files `serve` runs (policies, public keys, token keys, residency) loaded into an
//! [`Edge`], exactly as `pii-edge package` would bundle them: the same validation, the same
//! bundle document, the same handler afterwards.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use edge_fn::bundle::Edge;
use edge_fn::log::LogSink;

use crate::shared::bundle::BundleArgs;

/// A bundle that loaded: the edge that runs it and what the inspector says about it.
pub(super) struct Loaded {
    /// The handler's state, as in the Lambda function.
    pub(super) edge: Edge,
    /// The policy names, in the order they are tried.
    pub(super) policies: Vec<String>,
    /// When it was loaded.
    pub(super) at: SystemTime,
}

/// Loads every file and builds the edge. The error is a message a person can act on: every
/// policy problem as `file:line:col: message` with the line and a caret, or the key, token or
/// residency problem. It never holds key material (the key loaders' messages do not).
pub(super) fn load(sources: &BundleArgs, log: Arc<dyn LogSink>) -> Result<Loaded, String> {
    let policies = load_policies(&sources.policies)?;
    let names = policies.iter().map(|p| p.name().to_owned()).collect();
    let doc = sources
        .document(&policies, &[])
        .map_err(|e| e.to_string())?;
    let receipt = doc.receipt_signer().map_err(|e| {
        format!(
            "{}: {e}",
            sources
                .receipt_key
                .as_deref()
                .map(pii_core::load::shown)
                .unwrap_or_default()
        )
    })?;
    let engine = doc
        .into_engine()
        .map_err(|e| format!("the bundle does not validate: {e}"))?;
    let edge = Edge::new(Ok(engine), log);
    Ok(Loaded {
        edge: match receipt {
            Some(signer) => edge.with_receipt_signer(signer),
            None => edge,
        },
        policies: names,
        at: SystemTime::now(),
    })
}

/// Every policy of `inputs`, or every problem found (not printed: the caller shows them on
/// stderr and in the inspector), by the one loader's rules.
fn load_policies(inputs: &[PathBuf]) -> Result<Vec<pii_core::Policy>, String> {
    match pii_core::load::policies(inputs) {
        Ok(loaded) => Ok(loaded.into_iter().map(|(_, p)| p).collect()),
        Err(problems) => Err(pii_core::load::describe(&problems)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Quiet;
    impl LogSink for Quiet {
        fn write_line(&self, _: &str) {}
    }

    fn root() -> PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn the_example_policies_load_with_the_demo_keys() {
        let sources = BundleArgs {
            policies: vec![root().join("policies")],
            keys: root().join("examples/keys/public.jwks"),
            tokens: Some(root().join("examples/keys/tokens.jwks")),
            residency: None,
            receipt_key: None,
        };
        let loaded = load(&sources, Arc::new(Quiet)).expect("loads");
        assert!(loaded.edge.is_ready());
        assert!(loaded.policies.contains(&"signup".to_owned()));
    }

    #[test]
    fn a_private_key_set_is_refused_without_showing_it() {
        let private = root().join("examples/keys/private.jwks");
        let sources = BundleArgs {
            policies: vec![root().join("policies")],
            keys: private.clone(),
            tokens: Some(root().join("examples/keys/tokens.jwks")),
            residency: None,
            receipt_key: None,
        };
        let err = load(&sources, Arc::new(Quiet)).err().expect("refused");
        assert!(err.contains("private key"), "{err}");
        let text = std::fs::read_to_string(private).expect("demo keys");
        let d = text
            .split("\"d\":\"")
            .nth(1)
            .and_then(|r| r.split('"').next());
        assert!(
            !err.contains(d.expect("a d member")),
            "key material in {err}"
        );
    }

    #[test]
    fn every_policy_problem_is_reported_with_its_position() {
        let dir =
            std::env::temp_dir().join(format!("pii-edge-serve-bundle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        std::fs::write(dir.join("a.yaml"), "apiVersion: pii-edge/v1\nname: a\nmatch: {}\nrules:\n  - select: {json: \"$.x[\"}\n    action: hash\n").expect("write");
        std::fs::write(dir.join("b.yaml"), "name: [unclosed\n").expect("write");
        let sources = BundleArgs {
            policies: vec![dir.clone()],
            keys: root().join("examples/keys/public.jwks"),
            tokens: None,
            residency: None,
            receipt_key: None,
        };
        let err = load(&sources, Arc::new(Quiet)).err().expect("refused");
        assert!(err.contains("a.yaml:5:"), "{err}");
        assert!(err.contains("b.yaml:"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
