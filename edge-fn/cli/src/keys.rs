//! `pii-edge keys`: work on key sets without generating keys.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use pii_core::{keys::KeyError, PublicKeyring};

use crate::shared::files::write_file;
use crate::shared::files::{read_text, shown};
use crate::shared::style::{errln, out};
use crate::shared::{CliError, CliResult};

/// Key set tools.
#[derive(Args, Debug)]
pub(crate) struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Assemble the edge's public key set from the regions' public keys.
    ///
    /// Each region generates its own key pair where its private key will live (`pii-edge keygen
    /// --zone Z --region R --out DIR` there) and sends only `DIR/<kid>.public.jwk` or
    /// `DIR/public.jwks`. This command joins them into one JWK Set for `pii-edge package
    /// --keys`. A file holding any private member (`d`, `k`) is refused: private keys never
    /// travel.
    #[command(after_help = "Example:\n  \
        pii-edge keys assemble eu-central-1.public.jwk eu-west-1.public.jwk > public.jwks")]
    Assemble(AssembleArgs),
}

#[derive(Args, Debug)]
struct AssembleArgs {
    /// Public keys: JWK files (`<kid>.public.jwk`) or JWK Sets (`public.jwks`)
    #[arg(required = true, value_name = "PUBLIC_JWK")]
    inputs: Vec<PathBuf>,
    /// Write the set to this file instead of standard output
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub(crate) fn run(args: KeysArgs) -> CliResult {
    match args.command {
        KeysCommand::Assemble(args) => assemble(args),
    }
}

fn assemble(args: AssembleArgs) -> CliResult {
    let mut ring = PublicKeyring::default();
    for input in &args.inputs {
        let text = read_text(input)?;
        let keys = PublicKeyring::from_jwk_or_jwks(&text).map_err(|e| match e {
            KeyError::PrivateKeyInPublicSet { index } => CliError::new(format!(
                "{}: key #{index} is a private key (it has a `d` or `k` member); only public keys travel to the edge: send `<kid>.public.jwk` or public.jwks from the region, and treat this key as exposed if the file left it",
                shown(input)
            )),
            other => CliError::new(format!("{}: {other}", shown(input))),
        })?;
        ring.extend(keys)
            .map_err(|e| CliError::new(format!("{}: {e}", shown(input))))?;
    }
    let text = ring.to_jwks();
    match &args.out {
        Some(path) => write_file(path, text.as_bytes(), 0o644, false)?,
        None => out(&text),
    }
    for zone in ring.zones() {
        let regions: Vec<&str> = ring
            .keys()
            .iter()
            .filter(|k| k.zone() == zone)
            .map(|k| k.region())
            .collect();
        let mut unique = regions.clone();
        unique.dedup();
        errln!(
            "zone {zone}: {} key{} for region{} {}",
            regions.len(),
            if regions.len() == 1 { "" } else { "s" },
            if unique.len() == 1 { "" } else { "s" },
            unique.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
