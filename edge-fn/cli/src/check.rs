//! `pii-edge check`: validate policies.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use edge_fn::cloudfront::restricted_header_rules;
use pii_core::{error::Diagnostic, Policy, TokenKeys};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::shared::files::{self, plain_diagnostic, shown};
use crate::shared::style::{errln, outln, Stream, Style};
use crate::shared::{CliResult, FAILED};

/// Validate policies: syntax, unknown keys, JSONPath, options that do not fit their action,
/// dead rules, duplicate names, rules on headers CloudFront does not let the edge function
/// change (read-only or not addable on viewer-request or origin-request); optionally that the keys cover every zone and token domain.
///
/// Every problem is printed as `file:line:col: message` with the offending line and a caret.
/// Exit code 0 when every policy is valid, 1 otherwise.
#[derive(Args, Debug)]
pub(crate) struct CheckArgs {
    /// Policy files or directories (every *.yaml and *.yml directly inside, sorted; `X.tests/` case
    /// directories are not entered); `-` reads one policy from stdin
    #[arg(value_name = "FILE|DIR", required_unless_present = "policies")]
    paths: Vec<PathBuf>,
    /// The same as FILE|DIR, named as the other commands name it (repeatable)
    #[arg(long, value_name = "FILE|DIR")]
    policies: Vec<PathBuf>,
    /// Output format: `text` (errors on stderr) or `json` (an array of
    /// {file, line, column, message} on stdout, empty when all are valid)
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Also check that this public key set has keys for every zone the policies encrypt to
    #[arg(long, value_name = "PUBLIC_JWKS")]
    keys: Option<PathBuf>,
    /// Also check that this token key set has a key for every token domain the policies use
    #[arg(long, value_name = "TOKEN_JWKS")]
    tokens: Option<PathBuf>,
    /// Residency configuration the policies are deployed with: policies without `zone` then
    /// seal to the zone it resolves per request (without it, such a policy that encrypts fails),
    /// and a policy's `zone` must be one of its zones
    #[arg(long, value_name = "FILE")]
    residency: Option<PathBuf>,
    /// With --keys: accept a zone whose keys are all of one region. Without it, such a zone is
    /// a problem: a failover to another region of the zone (the deployment template has two
    /// origins) would reach a region that cannot open what the edge sealed
    #[arg(long, requires = "keys")]
    single_region: bool,
    /// What the bundle does with a request no policy matches (docs/policy.md, "Unmatched
    /// requests"): with `reject`, the requests of `--requests` that would be refused are listed
    #[arg(long, value_enum, default_value_t = Unmatched::Forward)]
    unmatched: Unmatched,
    /// A pass-through route for `--unmatched reject` (a path pattern as in `match.paths`);
    /// repeatable
    #[arg(long = "pass-through", value_name = "PATTERN")]
    pass_through: Vec<String>,
    /// Example requests (CloudFront events or request documents; a directory: every *.json
    /// directly inside): each is routed as the edge routes it, and those that would be refused
    /// (readings of the path matching different policies; with `--unmatched reject`, no policy
    /// and not pass-through) are reported
    #[arg(long, value_name = "FILE|DIR")]
    requests: Vec<PathBuf>,
}

/// Whether `file` reads as a test case rather than a policy: top-level `expect:` and
/// `request:` or `event:`, and no `apiVersion:`.
fn looks_like_a_test_case(file: &std::path::Path) -> bool {
    let Ok(text) = std::fs::read_to_string(file) else {
        return false;
    };
    let top = |key: &str| text.lines().any(|l| l.starts_with(key));
    top("expect:") && (top("request:") || top("event:")) && !top("apiVersion:")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Unmatched {
    Forward,
    Reject,
}

/// One problem in `--format json` (line and column 0 when unknown).
#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    message: &'a str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

pub(crate) fn run(args: CheckArgs) -> CliResult {
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    let mut loaded: Vec<(PathBuf, Policy)> = Vec::new();
    let mut files_seen = 0usize;
    let mut files_bad = 0usize;

    let inputs: Vec<PathBuf> = args.paths.iter().chain(&args.policies).cloned().collect();
    for input in &inputs {
        let files = match files::policy_files(std::slice::from_ref(input)) {
            Ok(files) => files,
            Err(e) => {
                files_seen += 1;
                files_bad += 1;
                let msg = e.to_string();
                let shown_input = shown(input);
                let msg = msg
                    .strip_prefix(&format!("{shown_input}: "))
                    .unwrap_or(&msg)
                    .to_string();
                diagnostics.push(plain_diagnostic(&shown_input, msg));
                continue;
            }
        };
        for file in files {
            files_seen += 1;
            match files::load_policy(&file) {
                Ok(policy) => {
                    let restricted = restricted_headers(&file, &policy);
                    if !restricted.is_empty() {
                        files_bad += 1;
                        diagnostics.extend(restricted);
                    }
                    if let Some(problem) = pii_core::load::duplicate_name(&loaded, &file, &policy) {
                        files_bad += 1;
                        diagnostics.push(problem);
                    } else {
                        loaded.push((file, policy));
                    }
                }
                Err(found) => {
                    files_bad += 1;
                    match looks_like_a_test_case(&file) {
                        true => diagnostics.push(plain_diagnostic(
                            &shown(&file),
                            "this is a test case (top-level `request` or `event`, and `expect`), not a policy: cases live in `<policy>.tests/` beside their policy and run with `pii-edge test` (policies/README.md, \"Test cases\")".to_owned(),
                        )),
                        false => diagnostics.extend(found),
                    }
                }
            }
        }
    }

    let residency = match &args.residency {
        Some(path) => match pii_core::load::residency(path) {
            Ok(r) => Some(r),
            Err(pii_core::load::LoadError::Residency { diagnostics: found }) => {
                diagnostics.extend(found);
                None
            }
            Err(e) => {
                diagnostics.push(plain_diagnostic(&shown(path), e.to_string()));
                None
            }
        },
        None => None,
    };
    // Tokens of one domain join across rules only when every rule normalizes alike.
    let tokenize = crate::shared::tokenize::tokenize_rules(&loaded);
    let mut domains: Vec<&str> = tokenize.iter().map(|(d, _, _)| d.as_str()).collect();
    domains.sort_unstable();
    domains.dedup();
    for domain in domains {
        if let Some(conflict) = crate::shared::tokenize::normalization_conflict(&tokenize, domain) {
            files_bad += 1;
            diagnostics.push(plain_diagnostic(
                "policies",
                format!("{conflict}; give every rule of `{domain}` the same `normalize`, or use another domain"),
            ));
        }
    }
    // What compiling one file cannot see: a policy that encrypts without a zone (and no
    // residency to resolve one), and routes an earlier policy takes first.
    // The zones a policy may name: the residency's, and those the public keys have keys for,
    // when they are given; a typo in `zone` is shown at the zone with the zone meant.
    let key_set = args.keys.as_deref().map(files::load_public);
    let mut zone_sets: Vec<Vec<&str>> = Vec::new();
    if let Some(r) = &residency {
        zone_sets.push(r.spec().zones.keys().map(String::as_str).collect());
    }
    if let Some(Ok(public)) = &key_set {
        zone_sets.push(public.zones());
    }
    let mut unchecked_zones: Vec<&str> = match zone_sets.is_empty() {
        true => loaded.iter().filter_map(|(_, p)| p.zone()).collect(),
        false => Vec::new(),
    };
    unchecked_zones.sort_unstable();
    unchecked_zones.dedup();
    let unchecked_zones: Vec<String> = unchecked_zones.into_iter().map(str::to_owned).collect();
    for (j, (file, policy)) in loaded.iter().enumerate() {
        let mut problems = Vec::new();
        if args.residency.is_none() {
            problems.extend(policy.zone_problem());
        }
        if let Some(problem) = zone_sets
            .iter()
            .find_map(|zones| policy.zone_problem_against(zones))
        {
            problems.push(problem);
        }
        for (_, earlier) in &loaded[..j] {
            problems.extend(policy.routes_taken_by(earlier));
        }
        if problems.is_empty() {
            continue;
        }
        files_bad += 1;
        let text = files::read_text(file).unwrap_or_default();
        let located = pii_core::error::PolicyError::located_in_yaml(&shown(file), &text, problems);
        diagnostics.extend(located.diagnostics().iter().cloned());
    }

    // The shapes each policy declares (`shape:`), shown with a valid result.
    let shapes: Vec<String> = loaded
        .iter()
        .flat_map(|(file, p)| {
            let at = format!("{}: policy `{}`", shown(file), p.name());
            p.spec()
                .shape
                .describe()
                .into_iter()
                .map(move |d| format!("{at}: {d}"))
        })
        .collect();
    if !args.requests.is_empty() {
        let policies: Vec<&Policy> = loaded.iter().map(|(_, p)| p).collect();
        match refused_requests(&args, &policies) {
            Ok(lines) => {
                for line in lines {
                    outln!("{line}");
                }
            }
            Err(e) => {
                files_bad += 1;
                diagnostics.push(plain_diagnostic("requests", e.to_string()));
            }
        }
    }

    if diagnostics.is_empty() && (args.keys.is_some() || args.tokens.is_some()) {
        // Read once, above (a key set on stdin cannot be read twice).
        let public = key_set.unwrap_or_else(|| Ok(pii_core::PublicKeyring::default()));
        let tokens = match &args.tokens {
            Some(path) => files::load_tokens(path),
            None => Ok(TokenKeys::default()),
        };
        match (public, tokens) {
            (Ok(public), Ok(tokens)) => {
                if !args.single_region {
                    if let Some(path) = &args.keys {
                        diagnostics.extend(single_region_zones(&loaded, &public, path));
                        files_bad += usize::from(!diagnostics.is_empty());
                    }
                }
                let names: Vec<String> = loaded.iter().map(|(f, _)| shown(f)).collect();
                let policies: Vec<Policy> = loaded.drain(..).map(|(_, p)| p).collect();
                let built = match residency {
                    Some(r) => pii_core::Engine::with_residency(policies, public, tokens, r)
                        .map(|_| ())
                        .map_err(|e| e.to_string()),
                    None => files::engine(policies, public, tokens)
                        .map(|_| ())
                        .map_err(|e| e.to_string()),
                };
                if let Err(e) = built {
                    diagnostics.push(plain_diagnostic(&names.join(", "), e));
                    files_bad += 1;
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                diagnostics.push(plain_diagnostic("keys", e.to_string()));
                files_bad += 1;
            }
        }
    }

    match args.format {
        Format::Json => {
            let list: Vec<JsonDiagnostic<'_>> = diagnostics
                .iter()
                .map(|d| JsonDiagnostic {
                    file: &d.file,
                    line: d.line,
                    column: d.column,
                    message: &d.message,
                })
                .collect();
            outln!(
                "{}",
                serde_json::to_string_pretty(&list).unwrap_or_else(|_| "[]".to_string())
            );
        }
        Format::Text => {
            if diagnostics.is_empty() {
                let style = Style::for_stream(Stream::Out);
                for line in &shapes {
                    outln!("{} {line}", style.dim("shape:"));
                }
                if !unchecked_zones.is_empty() {
                    outln!(
                        "{} zones not checked against a deployment ({}): pass --residency or --keys to catch a zone that does not exist",
                        style.dim("note:"),
                        unchecked_zones.join(", ")
                    );
                }
                outln!(
                    "{} {files_seen} polic{} valid",
                    style.green("ok:"),
                    if files_seen == 1 { "y" } else { "ies" }
                );
            } else {
                files::print_diagnostics(&diagnostics);
                let style = Style::for_stream(Stream::Err);
                errln!(
                    "{} {files_bad} of {files_seen} policy file{} ha{} problems",
                    style.red(&style.bold("error:")),
                    if files_seen == 1 { "" } else { "s" },
                    if files_bad == 1 { "s" } else { "ve" }
                );
            }
        }
    }
    Ok(if diagnostics.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(FAILED)
    })
}

/// A problem per zone the policies encrypt to whose keys in `public` are all of one region.
fn single_region_zones(
    loaded: &[(PathBuf, Policy)],
    public: &pii_core::PublicKeyring,
    keys: &std::path::Path,
) -> Vec<Diagnostic> {
    let mut zones: Vec<&str> = loaded.iter().filter_map(|(_, p)| p.zone()).collect();
    zones.sort_unstable();
    zones.dedup();
    let mut problems = Vec::new();
    for zone in zones {
        let mut regions: Vec<&str> = public
            .keys()
            .iter()
            .filter(|k| k.zone() == zone)
            .map(|k| k.region())
            .collect();
        regions.sort_unstable();
        regions.dedup();
        if let [region] = regions[..] {
            problems.push(plain_diagnostic(
                &shown(keys),
                format!(
                    "zone `{zone}` has keys of one region only ({region}): after a failover to another region of the zone (the deployment template has two origins) that region could not open what the edge sealed. Add its public key (`pii-edge keygen --zone {zone} --region <other region>` there, then `pii-edge keys assemble`), or pass --single-region when one region serves the zone"
                ),
            ));
        }
    }
    problems
}

/// One line per example request the edge would refuse before any policy runs: its path reads
/// as routes of different policies, or (with `--unmatched reject`) no policy matches it and it
/// is not pass-through.
fn refused_requests(
    args: &CheckArgs,
    policies: &[&Policy],
) -> Result<Vec<String>, crate::shared::CliError> {
    let pass = match args.unmatched {
        Unmatched::Reject => Some(
            pii_core::engine::PassThrough::new(&args.pass_through)
                .map_err(|e| crate::shared::CliError::new(format!("--pass-through: {e}")))?,
        ),
        Unmatched::Forward => None,
    };
    let mut files = Vec::new();
    for input in &args.requests {
        if input.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(input)
                .map_err(|e| crate::shared::CliError::new(format!("{}: {e}", shown(input))))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json") && p.is_file())
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(input.clone());
        }
    }
    let mut lines = Vec::new();
    for file in files {
        let name = shown(&file);
        let bytes = files::read_bytes(&file)?;
        let Ok(loaded) = crate::shared::request::load_any(&bytes, &name) else {
            // Not a request (a response event, a HAR): nothing to route.
            continue;
        };
        let req = loaded.request;
        let at = format!("{} {}", req.method, req.path);
        match pii_core::engine::route(policies.iter().copied(), &req) {
            Err(reason) => lines.push(format!(
                "refused: {name}: {at}: {} ({reason})",
                reason.code()
            )),
            Ok(Some(_)) => {}
            Ok(None) => {
                if let Some(pass) = &pass {
                    if !pass.passes(&req) {
                        lines.push(format!(
                            "refused: {name}: {at}: unmatched (no policy matches; give the route a policy or declare it --pass-through)"
                        ));
                    }
                }
            }
        }
    }
    Ok(lines)
}

/// A rule's `select.header` in a policy file, with where it is.
#[derive(Deserialize)]
struct RulesDoc {
    #[serde(default)]
    rules: Vec<RuleDoc>,
}

#[derive(Deserialize)]
struct RuleDoc {
    #[serde(default)]
    select: Option<SelectDoc>,
}

#[derive(Deserialize)]
struct SelectDoc {
    #[serde(default)]
    header: Option<Spanned<String>>,
}

/// A diagnostic per rule of `policy` on a header the edge may not change
/// (`edge_fn::cloudfront::restricted_header_rules`): every request the rule touched would be
/// answered 500 by the deployed function. Points at the header name when the file is YAML.
fn restricted_headers(file: &std::path::Path, policy: &Policy) -> Vec<Diagnostic> {
    let restricted = restricted_header_rules(policy.spec());
    if restricted.is_empty() {
        return Vec::new();
    }
    let name = shown(file);
    let text = if files::is_stdin(file) {
        None
    } else {
        std::fs::read_to_string(file).ok()
    };
    let doc: Option<RulesDoc> = text
        .as_deref()
        .filter(|_| file.extension().and_then(|e| e.to_str()) != Some("json"))
        .and_then(|t| serde_saphyr::from_str(t).ok());
    restricted
        .iter()
        .map(|r| {
            let at = doc
                .as_ref()
                .and_then(|d| d.rules.get(r.rule))
                .and_then(|rule| rule.select.as_ref())
                .and_then(|select| select.header.as_ref())
                .map(|header| header.referenced)
                .filter(|at| at.line() > 0);
            match (at, text.as_deref()) {
                (Some(at), Some(text)) => {
                    let line = at.line() as usize;
                    Diagnostic {
                        file: name.clone(),
                        line,
                        column: at.column() as usize,
                        message: r.reason(),
                        line_text: text.lines().nth(line - 1).unwrap_or_default().to_string(),
                    }
                }
                _ => plain_diagnostic(&name, r.message()),
            }
        })
        .collect()
}
