//! `pii-edge keygen`: X25519 key pairs per region of a zone, or token keys per domain.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use pii_core::receipt::{ReceiptKeys, ReceiptSigner};
use pii_core::{keys::PrivateKey, PrivateKeyring, PublicKeyring, TokenKeys};
use serde_json::Value;

use crate::shared::files::{read_text, shown, write_file};
use crate::shared::style::{count, outln};
use crate::shared::{CliError, CliResult};

/// Generate keys into a directory.
///
/// With --zone and --region: one X25519 key pair per region. The private key is written to
/// `DIR/<kid>.private.jwk` and added to `DIR/private.jwks` (both mode 0600: they belong to the
/// region's origin, never to the edge); the public key is added to `DIR/public.jwks` (what
/// `pii-edge package` puts in the edge package).
///
/// With --token-domain: one HMAC-SHA256 key per domain, added to `DIR/tokens.jwks` (mode 0600).
/// Token keys are secrets that travel in the edge package: keep the package private.
///
/// With --receipt: the Ed25519 pair with which the edge signs receipts (docs/receipt.md). The
/// private JWK goes to `DIR/receipt.private.jwk` (mode 0600; `pii-edge package --receipt-key`
/// puts it in the edge package), the public JWK is added to `DIR/receipt.jwks` (what origins
/// verify receipts with; keep old keys there during a rotation).
#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    pii-edge keygen --zone eu-central --region eu-central-1 --region eu-central-2 --out keys/\n  \
    pii-edge keygen --token-domain email --token-domain patient --out keys/\n  \
    pii-edge keygen --receipt --out keys/")]
pub(crate) struct KeygenArgs {
    /// Residency zone of the key pairs, e.g. eu-central (a-z, 0-9, -)
    #[arg(
        long,
        value_name = "ZONE",
        required_unless_present_any = ["token_domain", "receipt"],
        requires = "region"
    )]
    zone: Option<String>,
    /// A region of the zone, e.g. eu-central-1; repeat for one key pair per region
    #[arg(long, value_name = "REGION", requires = "zone")]
    region: Vec<String>,
    /// Generate a token key for this domain instead (repeatable), e.g. email
    #[arg(long, value_name = "DOMAIN", conflicts_with_all = ["zone", "region"])]
    token_domain: Vec<String>,
    /// With --token-domain: add a new key to a domain that has one (a rotation: the new key
    /// tokenizes, the old ones stay so that `pii-edge token` can compute stored tokens)
    #[arg(long, requires = "token_domain")]
    rotate: bool,
    /// Generate the receipt signing pair instead (receipt.private.jwk and receipt.jwks)
    #[arg(long, conflicts_with_all = ["zone", "region", "token_domain"])]
    receipt: bool,
    /// Directory for the key files (created when missing)
    #[arg(long, value_name = "DIR", required = true)]
    out: PathBuf,
}

pub(crate) fn run(args: KeygenArgs) -> CliResult {
    std::fs::create_dir_all(&args.out)
        .map_err(|e| CliError::new(format!("cannot create {}: {e}", shown(&args.out))))?;
    if !args.token_domain.is_empty() {
        return token_keys(&args.token_domain, &args.out, args.rotate);
    }
    let zone = args.zone.as_deref().unwrap_or_default();
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if args.receipt {
        return receipt_key(&args.out, created);
    }

    let public_path = args.out.join("public.jwks");
    let private_path = args.out.join("private.jwks");
    // Read (and check) both sets before writing anything.
    let mut public_keys = existing_keys(&public_path, |t| PublicKeyring::from_jwks(t).map(|_| ()))?;
    let mut private_keys =
        existing_keys(&private_path, |t| PrivateKeyring::from_jwks(t).map(|_| ()))?;

    let mut generated = Vec::new();
    for region in &args.region {
        let key = PrivateKey::generate(zone, region, created).map_err(|e| {
            CliError::new(format!("cannot generate a key for {zone}/{region}: {e}"))
        })?;
        generated.push(key);
    }
    for key in &generated {
        let public = key.public();
        let kid = public.kid().to_string();
        let single = args.out.join(format!("{kid}.private.jwk"));
        write_file(
            &single,
            format!("{}\n", key.to_jwk()).as_bytes(),
            0o600,
            true,
        )?;
        // What the region sends to whoever assembles the edge's key set (`pii-edge keys
        // assemble`): the public half alone.
        let single_public = args.out.join(format!("{kid}.public.jwk"));
        write_file(
            &single_public,
            format!("{}\n", public.to_jwk()).as_bytes(),
            0o644,
            true,
        )?;
        private_keys.push(parse_jwk(&key.to_jwk())?);
        public_keys.push(parse_jwk(&public.to_jwk())?);
        outln!(
            "key {kid}: zone {} region {}\n  private: {} (mode 0600)\n  public:  {}",
            public.zone(),
            public.region(),
            single.display(),
            single_public.display()
        );
    }
    let public_text = jwks_text(&public_keys);
    let private_text = jwks_text(&private_keys);
    // What we write must read back.
    PublicKeyring::from_jwks(&public_text).map_err(|e| CliError::new(format!("internal: {e}")))?;
    PrivateKeyring::from_jwks(&private_text)
        .map_err(|e| CliError::new(format!("internal: {e}")))?;
    write_file(&private_path, private_text.as_bytes(), 0o600, false)?;
    write_file(&public_path, public_text.as_bytes(), 0o644, false)?;
    outln!(
        "updated {} ({}, mode 0600: origin only) and {} ({}: for the edge package)",
        private_path.display(),
        count(private_keys.len(), "key", "keys"),
        public_path.display(),
        count(public_keys.len(), "key", "keys")
    );
    Ok(ExitCode::SUCCESS)
}

fn receipt_key(dir: &Path, created: u64) -> CliResult {
    let private_path = dir.join("receipt.private.jwk");
    let public_path = dir.join("receipt.jwks");
    let mut public_keys = existing_keys(&public_path, |t| ReceiptKeys::from_jwks(t).map(|_| ()))?;
    let signer = ReceiptSigner::generate(created)
        .map_err(|e| CliError::new(format!("cannot generate the receipt key: {e}")))?;
    // Refuses to replace an existing signing key: move it away first to rotate.
    write_file(
        &private_path,
        format!("{}\n", signer.to_jwk()).as_bytes(),
        0o600,
        true,
    )?;
    public_keys.push(parse_jwk(&signer.public_jwk())?);
    let text = jwks_text(&public_keys);
    ReceiptKeys::from_jwks(&text).map_err(|e| CliError::new(format!("internal: {e}")))?;
    write_file(&public_path, text.as_bytes(), 0o644, false)?;
    outln!(
        "receipt key {}\n  private: {} (mode 0600: for `pii-edge package --receipt-key`)\n  public:  {} ({}: for the origins)",
        signer.kid(),
        private_path.display(),
        public_path.display(),
        count(public_keys.len(), "key", "keys")
    );
    Ok(ExitCode::SUCCESS)
}

fn token_keys(domains: &[String], dir: &Path, rotate: bool) -> CliResult {
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let path = dir.join("tokens.jwks");
    let mut keys = existing_keys(&path, |t| TokenKeys::from_jwks(t).map(|_| ()))?;
    let mut check = match path.exists() {
        true => TokenKeys::from_jwks(&read_text(&path)?)
            .map_err(|e| CliError::new(format!("{}: {e}", path.display())))?,
        false => TokenKeys::default(),
    };
    for domain in domains {
        match check.get(domain) {
            Some(_) if !rotate => {
                return Err(CliError::new(format!(
                    "{}: token domain `{domain}` already has a key; to rotate it, add --rotate (the new key tokenizes, the old one stays for lookups: see docs/envelope.md §9)",
                    path.display()
                )))
            }
            Some(newest) if newest.created() >= created => {
                return Err(CliError::new(format!(
                    "{}: the newest key of `{domain}` is not older than now (created {}); check the clock",
                    path.display(),
                    newest.created()
                )))
            }
            _ => {}
        }
        let key = TokenKeys::generate_at(domain, created).map_err(|e| {
            CliError::new(format!("cannot generate a token key for `{domain}`: {e}"))
        })?;
        keys.push(parse_jwk(&key.to_jwk())?);
        check
            .push(key)
            .map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
        outln!("token key {} for domain `{domain}`", key_kid(&keys));
    }
    let text = jwks_text(&keys);
    TokenKeys::from_jwks(&text).map_err(|e| CliError::new(format!("internal: {e}")))?;
    write_file(&path, text.as_bytes(), 0o600, false)?;
    outln!(
        "updated {} ({}, mode 0600; token keys are secrets the edge package carries)",
        path.display(),
        count(keys.len(), "key", "keys")
    );
    Ok(ExitCode::SUCCESS)
}

/// The keys of an existing key set file (checked with `validate`), or none.
fn existing_keys(
    path: &Path,
    validate: impl Fn(&str) -> Result<(), pii_core::keys::KeyError>,
) -> Result<Vec<Value>, CliError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = read_text(path)?;
    validate(&text).map_err(|e| {
        CliError::new(format!(
            "{}: {e}; fix or move the file before adding keys",
            path.display()
        ))
    })?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
    Ok(value
        .get("keys")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

/// The `kid` of the last key added.
fn key_kid(keys: &[Value]) -> String {
    keys.last()
        .and_then(|k| k.get("kid"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn parse_jwk(text: &str) -> Result<Value, CliError> {
    serde_json::from_str(text).map_err(|e| CliError::new(format!("internal: key is not JSON: {e}")))
}

/// A JWK Set with one key per line.
fn jwks_text(keys: &[Value]) -> String {
    let lines: Vec<String> = keys.iter().map(|k| format!("  {k}")).collect();
    format!("{{\"keys\": [\n{}\n]}}\n", lines.join(",\n"))
}
