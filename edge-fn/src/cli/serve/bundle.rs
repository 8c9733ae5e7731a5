//! The files `serve` runs (policies, public keys, token keys, residency) loaded into an
//! [`Edge`], exactly as `pii-edge package` would bundle them: the same validation, the same
//! bundle document, the same handler afterwards.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use edge_fn::bundle::Edge;
use edge_fn::log::LogSink;

use super::super::files;
use super::super::package::bundle_document;

/// The files named on the command line.
#[derive(Debug, Clone)]
pub(super) struct Sources {
    /// `--policies`: directories (every `*.yaml` directly inside) or files.
    pub(super) policies: Vec<PathBuf>,
    /// `--keys`: the public JWK Set.
    pub(super) keys: PathBuf,
    /// `--tokens`: the token JWK Set.
    pub(super) tokens: Option<PathBuf>,
    /// `--residency`: the residency configuration (YAML).
    pub(super) residency: Option<PathBuf>,
    /// `--receipt-key`: the private Ed25519 JWK that signs a receipt on every forwarded
    /// request (docs/receipt.md).
    pub(super) receipt: Option<PathBuf>,
}

impl Sources {
    /// The single files named (keys, tokens, residency), for the watcher.
    pub(super) fn files(&self) -> Vec<&Path> {
        let mut files = vec![self.keys.as_path()];
        files.extend(self.tokens.as_deref());
        files.extend(self.residency.as_deref());
        files.extend(self.receipt.as_deref());
        files.extend(
            self.policies
                .iter()
                .filter(|p| !p.is_dir())
                .map(PathBuf::as_path),
        );
        files
    }
}

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
pub(super) fn load(sources: &Sources, log: Arc<dyn LogSink>) -> Result<Loaded, String> {
    // Keys first, as `package` does: a private key in the public set must never run.
    let public_text = files::read_text(&sources.keys).map_err(|e| e.to_string())?;
    files::load_public(&sources.keys).map_err(|e| e.to_string())?;
    let tokens_text = match &sources.tokens {
        Some(path) => {
            files::load_tokens(path).map_err(|e| e.to_string())?;
            Some(files::read_text(path).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let policies = load_policies(&sources.policies)?;
    let names = policies.iter().map(|p| p.name().to_owned()).collect();
    let specs: Vec<pii_core::spec::PolicySpec> =
        policies.iter().map(|p| p.spec().clone()).collect();
    let mut doc = bundle_document(
        &specs,
        &public_text,
        tokens_text.as_deref(),
        sources.residency.as_deref(),
        &[],
    )
    .map_err(|e| e.to_string())?;
    if let Some(path) = &sources.receipt {
        let text = files::read_text(path).map_err(|e| e.to_string())?;
        doc.receipt = Some(serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}: not a JWK (line {}, column {})",
                files::shown(path),
                e.line(),
                e.column()
            )
        })?);
    }
    let receipt = doc.receipt_signer().map_err(|e| {
        format!(
            "{}: {e}",
            sources
                .receipt
                .as_deref()
                .map(files::shown)
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
/// stderr and in the inspector).
fn load_policies(inputs: &[PathBuf]) -> Result<Vec<pii_core::Policy>, String> {
    let paths = files::policy_files(inputs).map_err(|e| e.to_string())?;
    let mut policies: Vec<(String, pii_core::Policy)> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    for path in paths {
        let shown = files::shown(&path);
        match files::load_policy(&path) {
            Ok(policy) => {
                if let Some((other, _)) = policies.iter().find(|(_, p)| p.name() == policy.name()) {
                    problems.push(format!(
                        "{shown}: policy name `{}` is already used by {other}; names are bound into ciphertext and must be unique",
                        policy.name()
                    ));
                } else {
                    policies.push((shown, policy));
                }
            }
            Err(diagnostics) => problems.extend(diagnostics.iter().map(ToString::to_string)),
        }
    }
    if problems.is_empty() {
        Ok(policies.into_iter().map(|(_, p)| p).collect())
    } else {
        Err(problems.join("\n"))
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
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn the_example_policies_load_with_the_demo_keys() {
        let sources = Sources {
            policies: vec![root().join("policies")],
            keys: root().join("examples/keys/public.jwks"),
            tokens: Some(root().join("examples/keys/tokens.jwks")),
            residency: None,
            receipt: None,
        };
        let loaded = load(&sources, Arc::new(Quiet)).expect("loads");
        assert!(loaded.edge.is_ready());
        assert!(loaded.policies.contains(&"signup".to_owned()));
    }

    #[test]
    fn a_private_key_set_is_refused_without_showing_it() {
        let private = root().join("examples/keys/private.jwks");
        let sources = Sources {
            policies: vec![root().join("policies")],
            keys: private.clone(),
            tokens: Some(root().join("examples/keys/tokens.jwks")),
            residency: None,
            receipt: None,
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
        let sources = Sources {
            policies: vec![dir.clone()],
            keys: root().join("examples/keys/public.jwks"),
            tokens: None,
            residency: None,
            receipt: None,
        };
        let err = load(&sources, Arc::new(Quiet)).err().expect("refused");
        assert!(err.contains("a.yaml:5:"), "{err}");
        assert!(err.contains("b.yaml:"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
