//! `pii-edge package`: the Lambda@Edge deployment zip.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::shared::bundle::{issuer_jwks, BundleArgs};
use crate::shared::files::write_file;
use crate::shared::files::{self, read_bytes, shown};
use crate::shared::style::{outln, Stream, Style};
use crate::shared::{CliError, CliResult};

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
#[command(after_help = "Examples:\n  \
    cargo build --release -p pii-edge-node   # the addon (see edge-fn/node)\n  \
    pii-edge package --policies my-policies/ --keys public.jwks --tokens keys/tokens.jwks \\\n    \
    --receipt-key keys/receipt.private.jwk --out edge.zip   # keys: examples/deploy/README.md\n  \
    # a test distribution with the demo keys (their private keys are public):\n  \
    pii-edge package --policies policies/ --keys examples/keys/public.jwks \\\n    \
    --tokens examples/keys/tokens.jwks --allow-demo-keys --out edge.zip")]
pub(crate) struct PackageArgs {
    #[command(flatten)]
    bundle: BundleArgs,
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
    /// Which trigger runs the policies when the same package is attached to both
    /// [default: whichever trigger the package is attached to]
    #[arg(long, value_enum)]
    seal_at: Option<SealAt>,
    /// Package a team's own handler (this file becomes index.js) with pii-edge beside it as
    /// pii-edge.js, which it calls: `require('./pii-edge.js').protect(event)` (see
    /// examples/compose/)
    #[arg(long, value_name = "HANDLER_JS")]
    compose: Option<PathBuf>,
    /// Package even with the demo keys of examples/keys/, whose private keys are public
    /// (for a test distribution only: nothing sealed to them is protected)
    #[arg(long)]
    allow_demo_keys: bool,
    /// Reuse one encapsulation across requests for at most this many seconds (with
    /// --reuse-fields; see docs/envelope.md, "Amortized encapsulation")
    #[arg(long, value_name = "SECONDS", requires = "reuse_fields")]
    reuse_seconds: Option<u64>,
    /// ... and for at most this many sealed values
    #[arg(long, value_name = "N", requires = "reuse_seconds")]
    reuse_fields: Option<u64>,
    /// The public key set (JWKS, what the issuer's jwks_uri serves) of an identity issuer of
    /// the residency file's `identity` section, as ISSUER=FILE (or FILE when it lists one
    /// issuer); repeatable. It travels in the package: rebuild when the issuer rotates keys
    /// (docs/residency.md)
    #[arg(long, value_name = "[ISSUER=]FILE", requires = "residency")]
    issuer_jwks: Vec<String>,
    /// The addon was built with ES256 (`cargo build --release -p pii-edge-node --features
    /// es256`): needed when an identity issuer has EC P-256 keys. The default addon leaves
    /// ES256 out (about 140 KB zipped; docs/decisions/0007-edge-package-size.md)
    #[arg(long)]
    es256: bool,
}

/// Which trigger seals when one package is attached to both (`--seal-at`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SealAt {
    /// The viewer-request trigger seals and stamps the zone; origin-request only routes
    ViewerRequest,
    /// The origin-request trigger seals; viewer-request forwards unchanged
    OriginRequest,
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
    let public = files::load_public(&args.bundle.keys)?;
    refuse_demo_keys(
        public.keys().iter().map(|k| k.kid()),
        &args.bundle.keys,
        args.allow_demo_keys,
    )?;
    if let Some(path) = &args.bundle.tokens {
        let tokens = files::load_tokens(path)?;
        refuse_demo_keys(
            tokens.keys().iter().map(|k| k.kid()),
            path,
            args.allow_demo_keys,
        )?;
    }
    let policies: Vec<pii_core::Policy> = files::load_policies(&args.bundle.policies)?
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    let mut doc = args
        .bundle
        .document(&policies, &issuer_jwks(&args.issuer_jwks)?)?;
    if !args.es256 && has_ec_issuer_key(doc.residency.as_ref()) {
        return Err(CliError::new(
            "an identity issuer has an EC P-256 key (ES256), which the default edge addon does not verify: build the addon with `cargo build --release -p pii-edge-node --features es256` and add `--es256` (about 140 KB more zipped)",
        ));
    }
    doc.seal_at = match args.seal_at {
        None => edge_fn::bundle::SealAt::Each,
        Some(SealAt::ViewerRequest) => edge_fn::bundle::SealAt::ViewerRequest,
        Some(SealAt::OriginRequest) => edge_fn::bundle::SealAt::OriginRequest,
    };
    if let (Some(max_age_seconds), Some(max_fields)) = (args.reuse_seconds, args.reuse_fields) {
        doc.reuse = Some(edge_fn::bundle::ReuseSpec {
            max_age_seconds,
            max_fields,
        });
    }
    doc.clone()
        .into_engine()
        .map_err(|e| CliError::new(format!("the bundle does not validate: {e}")))?;
    let bundle = doc.to_json();

    let addon_path = match &args.addon {
        Some(p) => p.clone(),
        None => default_addon().ok_or_else(|| {
            CliError::new(
                "no Node-API addon found in release/ of $CARGO_TARGET_DIR or of the repository's target/ (pii_edge.node or libpii_edge_node.so): build it with `cargo build --release -p pii-edge-node --lib`, or pass --addon PATH",
            )
        })?,
    };
    let addon = read_bytes(&addon_path)?;
    let glibc = check_addon(&addon, &addon_path)?;
    let index_path = match &args.index_js {
        Some(p) => p.clone(),
        None => default_index_js().ok_or_else(|| {
            CliError::new(
                "no edge-fn/node/index.js found (run from the repository, or pass --index-js PATH)",
            )
        })?,
    };
    let index_js = read_bytes(&index_path)?;
    let composed = match &args.compose {
        Some(path) => {
            let handler = read_bytes(path)?;
            let text = String::from_utf8_lossy(&handler);
            if !text.contains("./pii-edge") || !text.contains("protect(") {
                return Err(CliError::new(format!(
                    "{} does not call pii-edge: it must `require('./pii-edge.js')` and call `protect(event)`, or no request would be protected (see examples/compose/)",
                    shown(path)
                )));
            }
            Some(handler)
        }
        None => None,
    };

    let mut entries: Vec<(&str, &[u8], u32)> = Vec::new();
    match &composed {
        Some(handler) => {
            entries.push(("index.js", handler, 0o644));
            entries.push(("pii-edge.js", &index_js, 0o644));
        }
        None => entries.push(("index.js", &index_js, 0o644)),
    }
    entries.push(("pii_edge.node", &addon, 0o755));
    entries.push(("bundle.json", bundle.as_bytes(), 0o644));
    let zip =
        write_zip(&entries).map_err(|e| CliError::new(format!("cannot build the zip: {e}")))?;
    let size = zip.len() as u64;
    let (limit, trigger) = match args.trigger {
        Trigger::ViewerRequest => (VIEWER_LIMIT, "viewer-request"),
        Trigger::OriginRequest => (ORIGIN_LIMIT, "origin-request"),
    };
    let style = Style::for_stream(Stream::Out);
    outln!(
        "addon: {} (x86_64, needs GLIBC_{}.{}, at most {}.{} on Lambda@Edge)",
        shown(&addon_path),
        glibc.0,
        glibc.1,
        edge_fn::elf::LAMBDA_GLIBC.0,
        edge_fn::elf::LAMBDA_GLIBC.1
    );
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
        policies.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Whether an identity issuer of the residency (as JSON) has an EC key.
fn has_ec_issuer_key(residency: Option<&serde_json::Value>) -> bool {
    residency
        .and_then(|r| r.pointer("/identity/issuers"))
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| {
            i.pointer("/jwks/keys")
                .and_then(serde_json::Value::as_array)
        })
        .flatten()
        .any(|k| k.get("kty").and_then(serde_json::Value::as_str) == Some("EC"))
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

/// Lambda@Edge runs x86_64 Linux with glibc 2.34: the addon must be an x86_64 ELF shared
/// object that needs no newer glibc symbol version. Returns the newest version it needs.
fn check_addon(bytes: &[u8], path: &Path) -> Result<(u32, u32), CliError> {
    let needs = edge_fn::elf::glibc_needs(bytes)
        .map_err(|e| CliError::new(format!("{} {e}", shown(path))))?;
    let newest = needs.last().copied().unwrap_or((0, 0));
    if newest > edge_fn::elf::LAMBDA_GLIBC {
        return Err(CliError::new(format!(
            "{} needs GLIBC_{}.{}, newer than the {}.{} of the Lambda@Edge Node.js runtimes (Amazon Linux 2023): it would fail to load there; build it on Linux x86_64 with glibc 2.34 or older (for example in the amazonlinux:2023 container, see examples/deploy/README.md)",
            shown(path),
            newest.0,
            newest.1,
            edge_fn::elf::LAMBDA_GLIBC.0,
            edge_fn::elf::LAMBDA_GLIBC.1
        )));
    }
    Ok(newest)
}

/// Key ids of the demo keys in examples/keys/ (public.jwks and the thumbprints of the token
/// keys in tokens.jwks): their private halves are in the repository for everyone to read.
/// `demo_key_ids_match_the_files` in tests/adoption.rs keeps this list in step.
pub(crate) const DEMO_KEY_IDS: [&str; 4] = [
    "awlpi9_viISrMkKsGfOO7TFk1S1IqO5oTvEUIfIriMc",
    "VOoRUUmxMysnaOI-B7MBsjLTQ4yGFn92PcRIMOwMS8s",
    "u1G8VUVh3ys1-J_P2P5ojH8Qh9txyGKkk2wCWyqnojU",
    "_bU6orrakBQk-sFZgi2B9KZDVasKSF5JsvnMzvEaN20",
];

/// Refuse a key set that holds a demo key, unless the operator said it is a test.
fn refuse_demo_keys<'a>(
    kids: impl Iterator<Item = &'a str>,
    path: &Path,
    allowed: bool,
) -> Result<(), CliError> {
    let demo: Vec<&str> = kids.filter(|k| DEMO_KEY_IDS.contains(k)).collect();
    if demo.is_empty() || allowed {
        return Ok(());
    }
    Err(CliError::new(format!(
        "{} holds the demo key{} {} of examples/keys/: its private key is published in the pii-edge repository, so anything the edge encrypts or tokenizes with it is readable by everyone. Make your own keys (pii-edge keygen, see examples/deploy/README.md), or pass --allow-demo-keys for a test distribution that never sees real data",
        shown(path),
        if demo.len() == 1 { "" } else { "s" },
        demo.join(", ")
    )))
}

/// Candidate roots: the current directory and its ancestors, then this crate's workspace.
fn roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    roots.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
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
