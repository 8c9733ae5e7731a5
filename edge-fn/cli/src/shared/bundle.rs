//! The files a bundle is made of, shared by `package` and `serve`: one set of arguments
//! (`--policies`, `--keys`, `--tokens`, `--residency`, `--receipt-key`) and the one bundle
//! document they make (the same validation whichever command runs it).

use std::path::{Path, PathBuf};

use clap::Args;

use super::files::{read_text, shown};
use super::CliError;

/// The bundle's files.
#[derive(Args, Debug, Clone)]
pub(crate) struct BundleArgs {
    /// Policy files or directories (every *.yaml and *.yml directly inside, tried in file name
    /// order); repeatable
    #[arg(long, value_name = "FILE|DIR", required = true)]
    pub(crate) policies: Vec<PathBuf>,
    /// Public key set (JWKS) the edge seals to; private keys are refused
    #[arg(long, value_name = "PUBLIC_JWKS", required = true)]
    pub(crate) keys: PathBuf,
    /// Token key set (JWKS), needed when a policy tokenizes
    #[arg(long, value_name = "TOKEN_JWKS")]
    pub(crate) tokens: Option<PathBuf>,
    /// Residency configuration (YAML, `kind: Residency`): zones resolved per request, and
    /// origin-request routing inside the zone (docs/residency.md)
    #[arg(long, value_name = "FILE")]
    pub(crate) residency: Option<PathBuf>,
    /// Private Ed25519 JWK (`pii-edge keygen --receipt`) that signs a receipt on every
    /// forwarded request (docs/receipt.md)
    #[arg(long, value_name = "JWK")]
    pub(crate) receipt_key: Option<PathBuf>,
}

impl BundleArgs {
    /// The single files named (keys, tokens, residency, receipt key, policy files), for a
    /// watcher.
    pub(crate) fn files(&self) -> Vec<&Path> {
        let mut files = vec![self.keys.as_path()];
        files.extend(self.tokens.as_deref());
        files.extend(self.residency.as_deref());
        files.extend(self.receipt_key.as_deref());
        files.extend(
            self.policies
                .iter()
                .filter(|p| !p.is_dir())
                .map(PathBuf::as_path),
        );
        files
    }

    /// The bundle document of `policies` (loaded by the caller from `self.policies`) and these
    /// files: validated (every policy compiles, every zone has keys, every token domain a key,
    /// the public set holds no private key, the receipt key signs); `seal_at` and `reuse` are
    /// left at their defaults. Messages never hold key material.
    pub(crate) fn document(
        &self,
        policies: &[pii_core::Policy],
        issuer_jwks: &[IssuerJwks],
    ) -> Result<edge_fn::bundle::Bundle, CliError> {
        // Keys first: a private key in the public set must never run or ship. Each file is
        // read once: the text goes into the bundle after the loader's checks of it.
        let checked = |e: pii_core::load::LoadError| CliError::new(e.to_string());
        let public_text = read_text(&self.keys)?;
        pii_core::load::key_set(&self.keys, &public_text, pii_core::PublicKeyring::from_jwks)
            .map_err(checked)?;
        let tokens_text = match &self.tokens {
            Some(path) => {
                let text = read_text(path)?;
                pii_core::load::key_set(path, &text, pii_core::TokenKeys::from_jwks)
                    .map_err(checked)?;
                Some(text)
            }
            None => None,
        };
        let specs: Vec<pii_core::spec::PolicySpec> =
            policies.iter().map(|p| p.spec().clone()).collect();
        let mut doc = bundle_document(
            &specs,
            &public_text,
            tokens_text.as_deref(),
            self.residency.as_deref(),
            issuer_jwks,
        )?;
        if let Some(path) = &self.receipt_key {
            let text = read_text(path)?;
            pii_core::receipt::ReceiptSigner::from_jwk(&text)
                .map_err(|e| CliError::new(format!("{}: {e}", shown(path))))?;
            doc.receipt = Some(serde_json::from_str(&text).map_err(|e| {
                CliError::new(format!(
                    "{}: not a JWK (line {}, column {})",
                    shown(path),
                    e.line(),
                    e.column()
                ))
            })?);
        }
        doc.receipt_signer()
            .map_err(|e| CliError::new(format!("the bundle does not validate: {e}")))?;
        Ok(doc)
    }
}

/// The bundle document of `specs` and the key sets (their JSON text), with the residency
/// configuration (YAML) when given: what `package` puts in the zip and `serve` runs. Validated
/// (every policy compiles, every zone has keys, every token domain a key); `seal_at` and
/// `reuse` are left at their defaults.
fn bundle_document(
    specs: &[pii_core::spec::PolicySpec],
    public_text: &str,
    tokens_text: Option<&str>,
    residency: Option<&Path>,
    issuer_jwks: &[IssuerJwks],
) -> Result<edge_fn::bundle::Bundle, CliError> {
    let text = edge_fn::bundle::build_bundle(specs, public_text, tokens_text)
        .map_err(|e| CliError::new(format!("the bundle does not validate: {e}")))?;
    let mut doc: edge_fn::bundle::Bundle = serde_json::from_str(&text)
        .map_err(|e| CliError::new(format!("internal: bundle round trip failed: {e}")))?;
    if let Some(path) = residency {
        let text = read_text(path)?;
        let residency =
            pii_core::Residency::from_yaml_completed(&path.display().to_string(), &text, |spec| {
                put_issuer_jwks(spec, issuer_jwks)
            })
            .map_err(|e| CliError::new(e.to_string()))?;
        doc.residency = Some(
            serde_json::to_value(residency.spec())
                .map_err(|e| CliError::new(format!("internal: {e}")))?,
        );
        doc.clone()
            .into_engine()
            .map_err(|e| CliError::new(format!("the bundle does not validate: {e}")))?;
    }
    Ok(doc)
}

/// An issuer's key set given with `--issuer-jwks [ISSUER=]FILE`.
pub(crate) struct IssuerJwks {
    /// The issuer it is for; `None`: the residency file's only issuer.
    issuer: Option<String>,
    /// The file it came from (for messages).
    file: String,
    /// The key set.
    jwks: serde_json::Value,
}

/// Reads every `--issuer-jwks [ISSUER=]FILE`. Issuer identifiers are URLs, which hold no `=`
/// before their path; a file name with `=` in it can be given as `ISSUER=FILE`.
pub(crate) fn issuer_jwks(args: &[String]) -> Result<Vec<IssuerJwks>, CliError> {
    args.iter()
        .map(|arg| {
            let (issuer, file) = match arg.split_once('=') {
                Some((issuer, file)) if issuer.contains("://") => (Some(issuer.to_owned()), file),
                _ => (None, arg.as_str()),
            };
            let path = Path::new(file);
            let text = read_text(path)?;
            let jwks = serde_json::from_str(&text).map_err(|e| {
                CliError::new(format!(
                    "{}: not a JWK Set (line {}, column {})",
                    shown(path),
                    e.line(),
                    e.column()
                ))
            })?;
            Ok(IssuerJwks {
                issuer,
                file: shown(path),
                jwks,
            })
        })
        .collect()
}

/// Puts each given key set into its issuer of the residency's `identity`.
fn put_issuer_jwks(
    spec: &mut pii_core::residency::ResidencySpec,
    given: &[IssuerJwks],
) -> Result<(), String> {
    if given.is_empty() {
        return Ok(());
    }
    let Some(identity) = spec.identity.as_mut() else {
        return Err(
            "--issuer-jwks was given but the residency file has no `identity` section".into(),
        );
    };
    for g in given {
        let issuer = match &g.issuer {
            Some(name) => identity.issuers.iter_mut().find(|i| &i.issuer == name),
            None if identity.issuers.len() == 1 => identity.issuers.first_mut(),
            None => {
                return Err(format!(
                "--issuer-jwks {}: the residency file lists {} issuers; say which as ISSUER=FILE",
                g.file,
                identity.issuers.len()
            ))
            }
        };
        let Some(issuer) = issuer else {
            return Err(format!(
                "--issuer-jwks {}: the issuer is not listed in identity.issuers",
                g.file
            ));
        };
        issuer.jwks = Some(g.jwks.clone());
    }
    Ok(())
}
