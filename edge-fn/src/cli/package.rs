//! `pii-edge package`: the Lambda@Edge deployment zip.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::files::{self, read_bytes, read_text, shown};
use super::keygen::write_file;
use super::style::{outln, Stream, Style};
use super::{CliError, CliResult};

/// Lambda@Edge's limit on a viewer-request function package, compressed.
const VIEWER_LIMIT: u64 = 1_000_000;
/// Lambda@Edge's limit on an origin-request function package, compressed.
const ORIGIN_LIMIT: u64 = 50_000_000;

/// Build the Lambda@Edge zip for the Node.js runtime: `index.js` (the handler), `pii_edge.node`
/// (the Rust engine as a Node-API addon) and `bundle.json` (the policies as JSON, the public
/// keys and the token keys).
///
/// Everything is validated first: every policy compiles, every zone a policy encrypts to has
/// public keys, every token domain has a key, no rule touches a header CloudFront does not let
/// functions change. A key set with private keys is refused: the package is readable by anyone
/// who can read the function. The zip is written only when it fits the trigger's size limit
/// (1,000,000 bytes compressed for viewer-request).
#[derive(Args, Debug)]
#[command(after_help = "Example:\n  \
    cargo build --release -p pii-edge-node   # the addon (see edge-fn/node)\n  \
    pii-edge package --policies policies/ --keys examples/keys/public.jwks \\\n    \
    --tokens examples/keys/tokens.jwks --out edge.zip")]
pub(crate) struct PackageArgs {
    /// Directory of policies (every *.yaml directly inside, tried in file name order); repeatable
    #[arg(long, value_name = "DIR", required = true)]
    policies: Vec<PathBuf>,
    /// Public key set (JWKS) the edge seals to; private keys are refused
    #[arg(long, value_name = "PUBLIC_JWKS", required = true)]
    keys: PathBuf,
    /// Token key set (JWKS), needed when a policy tokenizes
    #[arg(long, value_name = "TOKEN_JWKS")]
    tokens: Option<PathBuf>,
    /// Where to write the zip
    #[arg(long, value_name = "FILE", required = true)]
    out: PathBuf,
    /// The Node-API addon [default: pii_edge.node or the node crate's library in target/release/]
    #[arg(long, value_name = "PATH")]
    addon: Option<PathBuf>,
    /// The Node.js handler [default: edge-fn/node/index.js]
    #[arg(long, value_name = "PATH")]
    index_js: Option<PathBuf>,
    /// The trigger the function is for; decides the size limit
    #[arg(long, value_enum, default_value_t = Trigger::ViewerRequest)]
    trigger: Trigger,
    /// Residency configuration (YAML, `kind: Residency`): zones resolved per request, and
    /// origin-request routing inside the zone (see docs/residency.md)
    #[arg(long, value_name = "FILE")]
    residency: Option<PathBuf>,
    /// Which trigger runs the policies when the same package is attached to both
    /// [default: whichever trigger the package is attached to]
    #[arg(long, value_enum)]
    seal_at: Option<Trigger>,
    /// Reuse one encapsulation across requests for at most this many seconds (with
    /// --reuse-fields; see docs/envelope.md, "Amortized encapsulation")
    #[arg(long, value_name = "SECONDS", requires = "reuse_fields")]
    reuse_seconds: Option<u64>,
    /// ... and for at most this many sealed values
    #[arg(long, value_name = "N", requires = "reuse_seconds")]
    reuse_fields: Option<u64>,
    /// The receipt signing key (private Ed25519 JWK from `pii-edge keygen --receipt`): the
    /// edge then signs a receipt on every request it forwards (docs/receipt.md)
    #[arg(long, value_name = "JWK")]
    receipt_key: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Trigger {
    /// 1,000,000 bytes compressed
    ViewerRequest,
    /// 50,000,000 bytes compressed
    OriginRequest,
}

pub(crate) fn run(args: PackageArgs) -> CliResult {
    // Keys first: a private key in the public set is the one mistake that must never ship.
    let public_text = read_text(&args.keys)?;
    files::load_public(&args.keys)?;
    let tokens_text = match &args.tokens {
        Some(path) => {
            files::load_tokens(path)?;
            Some(read_text(path)?)
        }
        None => None,
    };

    let policies = files::load_policies(&args.policies)?;
    let specs: Vec<pii_core::spec::PolicySpec> =
        policies.iter().map(|(_, p)| p.spec().clone()).collect();
    let mut bundle = edge_fn::bundle::build_bundle(&specs, &public_text, tokens_text.as_deref())
        .map_err(|e| CliError::new(format!("the bundle does not validate: {e}")))?;
    if args.residency.is_some()
        || args.seal_at.is_some()
        || args.reuse_seconds.is_some()
        || args.receipt_key.is_some()
    {
        let mut doc: edge_fn::bundle::Bundle = serde_json::from_str(&bundle)
            .map_err(|e| CliError::new(format!("internal: bundle round trip failed: {e}")))?;
        if let Some(path) = &args.residency {
            let text = read_text(path)?;
            let residency = pii_core::Residency::from_yaml(&path.display().to_string(), &text)
                .map_err(|e| CliError::new(e.to_string()))?;
            doc.residency = Some(
                serde_json::to_value(residency.spec())
                    .map_err(|e| CliError::new(format!("internal: {e}")))?,
            );
        }
        doc.seal_at = match args.seal_at {
            None => edge_fn::bundle::SealAt::Each,
            Some(Trigger::ViewerRequest) => edge_fn::bundle::SealAt::ViewerRequest,
            Some(Trigger::OriginRequest) => edge_fn::bundle::SealAt::OriginRequest,
        };
        if let (Some(max_age_seconds), Some(max_fields)) = (args.reuse_seconds, args.reuse_fields) {
            doc.reuse = Some(edge_fn::bundle::ReuseSpec {
                max_age_seconds,
                max_fields,
            });
        }
        if let Some(path) = &args.receipt_key {
            let text = read_text(path)?;
            pii_core::receipt::ReceiptSigner::from_jwk(&text)
                .map_err(|e| CliError::new(format!("{}: {e}", shown(path))))?;
            doc.receipt = Some(
                serde_json::from_str(&text)
                    .map_err(|e| CliError::new(format!("{}: {e}", shown(path))))?,
            );
        }
        doc.receipt_signer()
            .map_err(|e| CliError::new(format!("the bundle does not validate: {e}")))?;
        doc.clone()
            .into_engine()
            .map_err(|e| CliError::new(format!("the bundle does not validate: {e}")))?;
        bundle = doc.to_json();
    }

    let addon_path = match &args.addon {
        Some(p) => p.clone(),
        None => default_addon().ok_or_else(|| {
            CliError::new(
                "no Node-API addon found in target/release/ (pii_edge.node or the node crate's lib*.so): build it with `cargo build --release` of the node crate in edge-fn/node, or pass --addon PATH",
            )
        })?,
    };
    let addon = read_bytes(&addon_path)?;
    check_addon(&addon, &addon_path)?;
    let index_path = match &args.index_js {
        Some(p) => p.clone(),
        None => default_index_js().ok_or_else(|| {
            CliError::new(
                "no edge-fn/node/index.js found (run from the repository, or pass --index-js PATH)",
            )
        })?,
    };
    let index_js = read_bytes(&index_path)?;

    let entries: [(&str, &[u8], u32); 3] = [
        ("index.js", &index_js, 0o644),
        ("pii_edge.node", &addon, 0o755),
        ("bundle.json", bundle.as_bytes(), 0o644),
    ];
    let zip =
        write_zip(&entries).map_err(|e| CliError::new(format!("cannot build the zip: {e}")))?;
    let size = zip.len() as u64;
    let (limit, trigger) = match args.trigger {
        Trigger::ViewerRequest => (VIEWER_LIMIT, "viewer-request"),
        Trigger::OriginRequest => (ORIGIN_LIMIT, "origin-request"),
    };
    let style = Style::for_stream(Stream::Out);
    for (name, data, _) in &entries {
        outln!("  {name:<14} {:>10} bytes", group(data.len() as u64));
    }
    let percent = size as f64 * 100.0 / limit as f64;
    if size > limit {
        return Err(CliError::new(format!(
            "the package is {} bytes compressed, over the {} byte {trigger} limit ({percent:.1}%); {} was not written",
            group(size),
            group(limit),
            shown(&args.out)
        )));
    }
    write_file(&args.out, &zip, 0o644, false)?;
    outln!(
        "{} {}: {} bytes compressed, {percent:.1}% of the {} byte {trigger} limit ({} policies)",
        style.green("wrote"),
        shown(&args.out),
        group(size),
        group(limit),
        specs.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// `1234567` as `1,234,567`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A reproducible zip: fixed timestamps, entries in a fixed order.
fn write_zip(entries: &[(&str, &[u8], u32)]) -> zip::result::ZipResult<Vec<u8>> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data, mode) in entries {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(9))
            .last_modified_time(DateTime::default())
            .unix_permissions(*mode);
        zip.start_file(*name, options)?;
        zip.write_all(data)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// Lambda@Edge runs x86_64 Linux only: the addon must be an x86_64 ELF shared object.
fn check_addon(bytes: &[u8], path: &Path) -> Result<(), CliError> {
    if bytes.len() < 20 || &bytes[..4] != b"\x7fELF" {
        return Err(CliError::new(format!(
            "{} is not a Linux shared object (ELF); build the node crate with cargo on Linux",
            shown(path)
        )));
    }
    let machine = u16::from_le_bytes([bytes[18], bytes[19]]);
    if bytes[4] != 2 || machine != 0x3e {
        return Err(CliError::new(format!(
            "{} is not built for x86_64 (ELF machine 0x{machine:x}); Lambda@Edge runs x86_64 only",
            shown(path)
        )));
    }
    Ok(())
}

/// Candidate roots: the current directory and its ancestors, then this crate's workspace.
fn roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    roots.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    roots
}

fn default_addon() -> Option<PathBuf> {
    let target_dirs: Vec<PathBuf> = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .into_iter()
        .chain(roots().into_iter().map(|r| r.join("target")))
        .collect();
    for dir in target_dirs {
        let release = dir.join("release");
        for name in ["pii_edge.node", "libpii_edge_node.so", "libpii_edge.so"] {
            let candidate = release.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

fn default_index_js() -> Option<PathBuf> {
    roots()
        .into_iter()
        .map(|r| r.join("edge-fn").join("node").join("index.js"))
        .find(|p| p.is_file())
}
