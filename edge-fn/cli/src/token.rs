//! `pii-edge token`: a value's token under every key of a token domain (origin lookups across
//! a key rotation).

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use pii_core::{token::Normalize, TokenKeys};
use serde::Serialize;

use crate::shared::files::{self, shown};
use crate::shared::style::{errln, outln};
use crate::shared::tokenize::{normalization_conflict, tokenize_rules};
use crate::shared::{CliError, CliResult};

/// Print a value's token under every key of a token domain, newest (current) first: one line
/// `<kid> <token>` per key, the current key marked. An origin that stores tokens looks up any
/// of them, so rows stored before a key rotation are still found (docs/envelope.md §9).
///
/// The normalization must be the rule's: give --policies (the `normalize` of the rules that
/// tokenize in this domain) or --normalize.
#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    pii-edge token --domain email --tokens keys/tokens.jwks --policies policies/ 'Ann@Example.com'\n  \
    printf '%s' \"$VALUE\" | pii-edge token --domain email --normalize trim,fullwidth,casefold -")]
pub(crate) struct TokenArgs {
    /// The token domain (as in the policy's `domain:`)
    #[arg(long, value_name = "DOMAIN")]
    domain: String,
    /// Token key set (JWKS) [default: examples/keys/tokens.jwks when found]
    #[arg(long, value_name = "TOKEN_JWKS")]
    tokens: Option<PathBuf>,
    /// Take the normalization from the rules of these policies (files or directories) that
    /// tokenize in DOMAIN
    // `--policy`: the spelling before every command said `--policies` (an alias for scripts,
    // not shown in --help).
    #[arg(
        long,
        alias = "policy",
        value_name = "FILE|DIR",
        conflicts_with = "normalize"
    )]
    policies: Vec<PathBuf>,
    /// Normalization steps, comma separated, in the rule's order (trim, fullwidth, casefold,
    /// digits, email-domain, email-subaddress; `nfkc` is refused, as at the edge)
    #[arg(long, value_name = "STEPS", value_delimiter = ',')]
    normalize: Vec<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The value; `-` reads it from standard input (one trailing newline removed), which keeps
    /// it out of the process list and shell history
    #[arg(value_name = "VALUE")]
    value: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// `<kid> <token>` per line, ` (current)` after the newest
    Text,
    /// A JSON array of {kid, created, current, token}
    Json,
}

#[derive(Serialize)]
struct TokenOut<'a> {
    kid: &'a str,
    created: u64,
    current: bool,
    token: &'a str,
}

pub(crate) fn run(args: TokenArgs) -> CliResult {
    let tokens_path = match &args.tokens {
        Some(path) => path.clone(),
        None => files::find_example_key("tokens.jwks", &args.policies).ok_or_else(|| {
            CliError::new("no token key set: pass --tokens TOKEN_JWKS (written by `pii-edge keygen --token-domain`)")
        })?,
    };
    let keys: TokenKeys = files::load_tokens(&tokens_path)?;
    let steps = if args.policies.is_empty() {
        let mut steps = Vec::new();
        for name in args.normalize.iter().filter(|n| !n.is_empty()) {
            steps.push(Normalize::from_name(name).ok_or_else(|| {
                let known: Vec<&str> = Normalize::ALL.iter().map(|n| n.as_str()).collect();
                CliError::new(format!(
                    "unknown normalization step `{name}`; known: {}",
                    known.join(", ")
                ))
            })?);
        }
        steps
    } else {
        normalization_of(&args.policies, &args.domain)?
    };
    let value = if args.value == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .map_err(|e| CliError::new(format!("cannot read standard input: {e}")))?;
        if buf.ends_with(b"\n") {
            buf.pop();
            if buf.ends_with(b"\r") {
                buf.pop();
            }
        }
        buf
    } else {
        args.value.clone().into_bytes()
    };
    let found = pii_core::token::tokens(&keys, &args.domain, &steps, &value)
        .map_err(|e| CliError::new(format!("{}: {e}", shown(&tokens_path))))?;
    match args.format {
        Format::Json => {
            let list: Vec<TokenOut<'_>> = found
                .iter()
                .map(|t| TokenOut {
                    kid: &t.kid,
                    created: t.created,
                    current: t.current,
                    token: &t.token,
                })
                .collect();
            outln!(
                "{}",
                serde_json::to_string_pretty(&list).unwrap_or_else(|_| "[]".into())
            );
        }
        Format::Text => {
            for t in &found {
                outln!(
                    "{} {}{}",
                    t.kid,
                    t.token,
                    if t.current { " (current)" } else { "" }
                );
            }
        }
    }
    if steps.is_empty() && args.policies.is_empty() {
        errln!("note: no normalization; these tokens match rules without `normalize` only");
    }
    Ok(ExitCode::SUCCESS)
}

/// The `normalize` list of the rules that tokenize in `domain`; they must all agree.
fn normalization_of(inputs: &[PathBuf], domain: &str) -> Result<Vec<Normalize>, CliError> {
    let policies = files::load_policies(inputs)?;
    let rules = tokenize_rules(&policies);
    let Some((_, _, first)) = rules.iter().find(|(d, _, _)| d == domain) else {
        return Err(CliError::new(format!(
            "no rule of these policies tokenizes in domain `{domain}`"
        )));
    };
    if let Some(conflict) = normalization_conflict(&rules, domain) {
        return Err(CliError::new(format!(
            "{conflict}; pass --normalize for the one you mean"
        )));
    }
    Ok(first.clone())
}
