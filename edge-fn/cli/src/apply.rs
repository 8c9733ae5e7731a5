//! `pii-edge apply` (the edge side, on one request) and `pii-edge reveal` (the origin side).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use pii_core::{engine::FieldReport, Outcome, Request};
use serde::Serialize;

use crate::shared::files;
use crate::shared::inspect::result_of;
use crate::shared::request::{request_json, RequestArgs, RequestOut};
use crate::shared::style::{outln, Stream, Style};
use crate::shared::{CliError, CliResult};

/// Apply policies to one request and print the result as JSON: the protected request and a
/// report per protected value, the rejection the edge would answer with, or `unmatched`.
///
/// The exit code is 0 whatever the outcome (read `.outcome` of the output); 1 when the policies,
/// keys or request cannot be read. Keys default to the demo keys in examples/keys/ when present.
#[derive(Args, Debug)]
#[command(after_help = "Example (no AWS account needed):\n  \
    pii-edge apply --policies policies/signup.yaml --event examples/events/signup-json.json --explain\n  \
    pii-edge apply --policies policies/ --path /api/search --query 'email=erika%40example.de'\n  \
    pii-edge apply --policies policies/ --event examples/events/form-post.json --edge")]
pub(crate) struct ApplyArgs {
    // `--policy`: the spelling before every command said `--policies` (an alias for scripts,
    // not shown in --help).
    /// A policy file, or a directory of policies tried in file name order (repeatable)
    #[arg(
        long,
        short = 'p',
        alias = "policy",
        value_name = "FILE|DIR",
        required = true
    )]
    policies: Vec<PathBuf>,
    #[command(flatten)]
    request: RequestArgs,
    /// Public key set (JWKS) to encrypt to [default: examples/keys/public.jwks when found]
    #[arg(long, value_name = "PUBLIC_JWKS")]
    keys: Option<PathBuf>,
    /// Token key set (JWKS) for tokenize [default: examples/keys/tokens.jwks when found]
    #[arg(long, value_name = "TOKEN_JWKS")]
    tokens: Option<PathBuf>,
    /// Print a table of what each rule did (rule, location, action, result) and the protected
    /// request as text, instead of JSON
    #[arg(long, conflicts_with = "edge")]
    explain: bool,
    /// With --event: run the real Lambda@Edge handler and print what it returns to CloudFront
    /// (the request to forward, or the generated response); its log line goes to stderr
    #[arg(long, requires = "event")]
    edge: bool,
    /// With --edge: sign a receipt on the forwarded request with this private Ed25519 JWK
    /// (`pii-edge keygen --receipt`), as a package built with --receipt-key does
    #[arg(long, value_name = "JWK", requires = "edge")]
    receipt_key: Option<PathBuf>,
}

/// Log lines of the handler, on stderr (they never hold values).
struct StderrSink;

impl edge_fn::log::LogSink for StderrSink {
    fn write_line(&self, line: &str) {
        crate::shared::style::errln!("{line}");
    }
}

/// The origin side: open every envelope (`pe2.` value) of a protected request with the
/// private keys of a region and print the request as it was before the edge (values that were
/// masked, tokenized, hashed or removed stay so: only encryption is reversible).
///
/// Reads what `pii-edge apply` printed (`--request`, which also names the policy and zone), a
/// CloudFront event or request object (`--event`), or `--body` with the request flags.
#[derive(Args, Debug)]
#[command(after_help = "Example:\n  \
    pii-edge apply --policies policies/ --event examples/events/signup-json.json > protected.json\n  \
    pii-edge reveal --keys examples/keys/private.jwks --request protected.json")]
pub(crate) struct RevealArgs {
    /// Private key set (JWKS) of the region
    #[arg(long, value_name = "PRIVATE_JWKS", required = true)]
    keys: PathBuf,
    /// Refuse values sealed by another policy (a policy NAME: every envelope names its policy;
    /// policy files go to --strict/--policies) [default: from --request, else any]
    #[arg(long, value_name = "NAME")]
    policy: Option<String>,
    /// Refuse values sealed for another residency zone [default: from --request, else any]
    #[arg(long, value_name = "ZONE")]
    zone: Option<String>,
    /// Refuse (exit 1) a request in which a location these policies encrypt holds plaintext
    /// instead of an envelope, or a value they remove is present (a policy file or directory;
    /// repeatable). `--policies` is the same option, named as the other commands name it
    #[arg(long, value_name = "FILE|DIR", visible_alias = "policies")]
    strict: Vec<PathBuf>,
    #[command(flatten)]
    request: RequestArgs,
}

pub(crate) fn run_apply(args: ApplyArgs) -> CliResult {
    let policies = files::load_policies(&args.policies)?;
    let (public, tokens) =
        files::edge_keys(args.keys.as_deref(), args.tokens.as_deref(), &args.policies)?;
    let policies: Vec<_> = policies.into_iter().map(|(_, p)| p).collect();
    let engine = files::engine(policies, public, tokens)?;
    if args.edge {
        let path = args
            .request
            .event
            .as_deref()
            .unwrap_or(std::path::Path::new("-"));
        let text = files::read_text(path)?;
        let mut edge = edge_fn::bundle::Edge::new(Ok(engine), std::sync::Arc::new(StderrSink));
        if let Some(path) = &args.receipt_key {
            let signer = pii_core::receipt::ReceiptSigner::from_jwk(&files::read_text(path)?)
                .map_err(|e| CliError::new(format!("{}: {e}", files::shown(path))))?;
            edge = edge.with_receipt_signer(signer);
        }
        let raw = edge_fn::handler::handle_json(&edge, &text);
        // Pretty, in the handler's order (headers keep theirs).
        let shown = match serde_json::from_str::<edge_fn::cloudfront::Request>(&raw) {
            Ok(request) => pretty(&request),
            Err(_) => match serde_json::from_str::<edge_fn::cloudfront::Response>(&raw) {
                Ok(response) => pretty(&response),
                Err(_) => raw,
            },
        };
        outln!("{shown}");
        return Ok(ExitCode::SUCCESS);
    }
    // The same conversion the handler makes (`edge_fn::cloudfront::to_core`) for an event.
    let original = args.request.load()?.request;
    let outcome = engine.apply(&original);
    let zone_of = |name: &str| {
        engine
            .policies()
            .iter()
            .find(|p| p.name() == name)
            .and_then(|p| p.zone())
            .map(str::to_string)
    };
    if args.explain {
        explain(&original, &outcome, zone_of);
        if let Outcome::Unmatched = &outcome {
            for why in pii_core::engine::near_misses(engine.policies(), &original) {
                outln!("  {why}");
            }
        }
        if let Outcome::Protected(p) = &outcome {
            let policy = engine.policies().iter().find(|x| x.name() == p.policy);
            for d in policy
                .map(|x| x.spec().shape.describe())
                .unwrap_or_default()
            {
                outln!("shape: {d}");
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let out = match &outcome {
        Outcome::Unmatched => ApplyOut {
            outcome: "unmatched",
            request: Some(request_json(&original)),
            ..ApplyOut::default()
        },
        Outcome::Protected(p) => ApplyOut {
            outcome: "protected",
            policy: Some(p.policy.clone()),
            zone: zone_of(&p.policy),
            fields: Some(p.fields.iter().map(field_json).collect()),
            changed: Some(Changed {
                body: p.body_changed,
                query: p.query_changed,
                headers: p.headers_changed,
            }),
            request: Some(request_json(&p.request)),
            ..ApplyOut::default()
        },
        Outcome::Rejected(r) => ApplyOut {
            outcome: "rejected",
            policy: r.policy.clone(),
            status: Some(r.status),
            reason: Some(r.reason.code()),
            title: Some(r.reason.title()),
            detail: Some(r.reason.to_string()),
            ..ApplyOut::default()
        },
        _ => {
            return Err(CliError::new(format!(
                "internal: {}",
                "an engine outcome this version does not know"
            )))
        }
    };
    outln!("{}", pretty(&out));
    Ok(ExitCode::SUCCESS)
}

/// What `apply` prints.
#[derive(Serialize, Default)]
struct ApplyOut {
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<Vec<FieldOut>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    changed: Option<Changed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<RequestOut>,
}

#[derive(Serialize)]
struct Changed {
    body: bool,
    query: bool,
    headers: bool,
}

#[derive(Serialize)]
struct FieldOut {
    rule: String,
    location: String,
    action: &'static str,
    removed: bool,
    failed: bool,
}

#[derive(Serialize)]
struct RevealOut {
    opened: usize,
    /// One entry per opened value: its policy, zone, location and kind (never its value).
    fields: Vec<RevealedOut>,
    request: RequestOut,
}

#[derive(Serialize)]
struct RevealedOut {
    policy: String,
    zone: String,
    location: String,
    kind: &'static str,
}

fn pretty(value: &impl Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_string())
}

fn field_json(f: &FieldReport) -> FieldOut {
    FieldOut {
        rule: f.rule.clone(),
        location: f.location.to_string(),
        action: f.action.as_str(),
        removed: f.removed,
        failed: f.failed,
    }
}

fn explain(original: &Request, outcome: &Outcome, zone_of: impl Fn(&str) -> Option<String>) {
    let style = Style::for_stream(Stream::Out);
    let target = format!("{} {}", original.method, original.path);
    match outcome {
        Outcome::Unmatched => {
            outln!("{target}: no policy matches; the request is forwarded unchanged");
        }
        Outcome::Rejected(r) => {
            outln!(
                "{target}: {} by policy `{}`: {} {} ({})",
                style.red(&style.bold("rejected")),
                r.policy.as_deref().unwrap_or("-"),
                r.status,
                r.reason.code(),
                r.reason
            );
            outln!(
                "The edge answers {} (\"{}\") and forwards nothing.",
                r.status,
                r.reason.title()
            );
        }
        Outcome::Protected(p) => {
            let counts: Vec<String> = p
                .counts()
                .nonzero()
                .map(|(k, n)| format!("{n} {}", k.as_str()))
                .collect();
            let zone = zone_of(&p.policy)
                .map(|z| format!(", zone {z}"))
                .unwrap_or_default();
            outln!(
                "{target}: {} by policy `{}`{zone}: {} value{} ({})",
                style.green(&style.bold("protected")),
                p.policy,
                p.fields.len(),
                if p.fields.len() == 1 { "" } else { "s" },
                if counts.is_empty() {
                    "nothing selected".to_string()
                } else {
                    counts.join(", ")
                }
            );
            if !p.fields.is_empty() {
                let rows: Vec<[String; 4]> = p
                    .fields
                    .iter()
                    .map(|f| {
                        [
                            f.rule.clone(),
                            f.location.to_string(),
                            f.action.as_str().to_string(),
                            result_of(&p.request, f),
                        ]
                    })
                    .collect();
                let header = ["RULE", "LOCATION", "ACTION", "RESULT"];
                let width = |i: usize| {
                    rows.iter()
                        .map(|r| r[i].chars().count())
                        .chain([header[i].len()])
                        .max()
                        .unwrap_or(0)
                };
                let widths = [width(0), width(1), width(2)];
                outln!("");
                let line = |cells: [&str; 4]| {
                    let mut s = String::new();
                    for (i, cell) in cells.iter().enumerate().take(3) {
                        s.push_str(cell);
                        s.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
                    }
                    s.push_str(cells[3]);
                    s
                };
                outln!("{}", style.bold(&line(header)));
                for r in &rows {
                    outln!("{}", line([&r[0], &r[1], &r[2], &r[3]]));
                }
            }
            outln!("");
            if p.query_changed {
                outln!("{} {}", style.dim("query:"), p.request.query);
            }
            if p.headers_changed {
                outln!("{}", style.dim("headers changed:"));
                for (n, v) in &p.request.headers {
                    if !original.headers.iter().any(|(on, ov)| on == n && ov == v) {
                        outln!("  {n}: {v}");
                    }
                }
                for (n, _) in &original.headers {
                    if !p.request.headers.iter().any(|(pn, _)| pn == n) {
                        outln!("  {n}: (removed)");
                    }
                }
            }
            if p.body_changed {
                outln!(
                    "{} ({} -> {} bytes)",
                    style.dim("body:"),
                    original.body.len(),
                    p.request.body.len()
                );
                outln!("{}", String::from_utf8_lossy(&p.request.body));
            } else if !p.request.body.is_empty() {
                outln!(
                    "{} unchanged ({} bytes)",
                    style.dim("body:"),
                    p.request.body.len()
                );
            }
        }
        _ => outln!("{target}: an engine outcome this version does not know"),
    }
}

pub(crate) fn run_reveal(args: RevealArgs) -> CliResult {
    let loaded = args.request.load()?;
    let keys = files::load_private(&args.keys)?;
    let policy = args.policy.clone().or(loaded.policy);
    let zone = args.zone.clone().or(loaded.zone);
    let expect = pii_core::reveal::Expect {
        policy: policy.as_deref(),
        zone: zone.as_deref(),
    };
    let revealed = if args.strict.is_empty() {
        pii_core::reveal(&keys, &loaded.request, expect).map_err(|e| {
            CliError::new(format!(
                "cannot reveal the request: {e} (check --policy, --zone and that the keys are this zone's private keys)"
            ))
        })?
    } else {
        let policies: Vec<_> = files::load_policies(&args.strict)?
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        let strict = pii_core::strict::Strict::new(&policies)
            .map_err(|e| CliError::new(format!("--strict: {e}")))?;
        strict
            .reveal(&keys, &loaded.request, expect)
            .map_err(|e| CliError::new(format!("refused (--strict): {e}")))?
    };
    let out = RevealOut {
        opened: revealed.opened(),
        fields: revealed
            .fields
            .iter()
            .map(|f| RevealedOut {
                policy: f.binding.policy.clone(),
                zone: f.binding.zone.clone(),
                location: f.binding.location.to_string(),
                kind: f.kind.name(),
            })
            .collect(),
        request: request_json(&revealed.request),
    };
    outln!("{}", pretty(&out));
    Ok(ExitCode::SUCCESS)
}
