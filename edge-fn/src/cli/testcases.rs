//! `pii-edge test`: policy test cases. The format is documented in `policies/README.md`.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use pii_core::envelope::{self, Binding};
use pii_core::{
    ActionKind, Engine, FieldReport, Outcome, Policy, PrivateKey, PrivateKeyring, Protected,
    PublicKeyring, Request, TokenKeys,
};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::files::{self, find_example_key, read_bytes, read_text, shown};
use super::inspect::{self, Location, Part};
use super::rawjson::{self, Seg};
use super::request::{request_from_event, RequestDoc, Values};
use super::style::{errln, outln, Stream, Style};
use super::{CliError, CliResult, FAILED};

/// Run policy test cases.
///
/// For a policy `DIR/X.yaml` the cases are the files `DIR/X.tests/*.yaml`, one case per file:
/// a request (or a CloudFront event) and what must happen to it. Every case runs against all
/// the policies of DIR, in file name order, as they would be deployed together. The case
/// format is documented in policies/README.md.
///
/// Keys: the demo keys in examples/keys/ when found (public keys seal, private keys check that
/// every `encrypted` value opens to the original), else throwaway keys made for the run.
///
/// Prints one line per case (`ok` or `FAIL` with the field, the expectation and what happened)
/// and finally `N passed, N failed`. Exit code 1 when any case fails (or none was found).
#[derive(Args, Debug)]
pub(crate) struct TestArgs {
    /// Policy directories, policy files (X.yaml: its cases) or single case files (X.tests/case.yaml)
    #[arg(required = true, value_name = "DIR|FILE")]
    paths: Vec<PathBuf>,
    /// Public key set to seal to [default: examples/keys/public.jwks when found]
    #[arg(long, value_name = "PUBLIC_JWKS")]
    keys: Option<PathBuf>,
    /// Private key set to open `encrypted` values with [default: examples/keys/private.jwks when found]
    #[arg(long, value_name = "PRIVATE_JWKS")]
    private_keys: Option<PathBuf>,
    /// Token key set [default: examples/keys/tokens.jwks when found]
    #[arg(long, value_name = "TOKEN_JWKS")]
    tokens: Option<PathBuf>,
    /// Print only failing cases and the summary
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// One run over a policy directory, maybe narrowed to one policy or one case.
struct Job {
    dir: PathBuf,
    policy_stem: Option<String>,
    case: Option<PathBuf>,
}

fn jobs(paths: &[PathBuf]) -> Result<Vec<Job>, CliError> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            out.push(Job {
                dir: path.clone(),
                policy_stem: None,
                case: None,
            });
            continue;
        }
        if !path.is_file() {
            return Err(CliError::new(format!(
                "{}: no such file or directory",
                shown(path)
            )));
        }
        let parent = non_empty(path.parent());
        let parent_name = parent
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if let Some(stem) = parent_name.strip_suffix(".tests") {
            out.push(Job {
                dir: non_empty(parent.parent()),
                policy_stem: Some(stem.to_string()),
                case: Some(path.clone()),
            });
        } else {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            out.push(Job {
                dir: parent,
                policy_stem: Some(stem.to_string()),
                case: None,
            });
        }
    }
    Ok(out)
}

/// A directory, `.` for the empty parent of a bare file name.
fn non_empty(dir: Option<&Path>) -> PathBuf {
    match dir {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Key sets as text, so each run can build its own engine.
struct KeyTexts {
    public: Option<String>,
    private: Option<String>,
    tokens: Option<String>,
}

fn key_texts(args: &TestArgs) -> Result<KeyTexts, CliError> {
    let near: Vec<PathBuf> = args.paths.clone();
    let pick = |given: &Option<PathBuf>, name: &str| -> Result<Option<String>, CliError> {
        match given {
            Some(path) => read_text(path).map(Some),
            None => match find_example_key(name, &near) {
                Some(path) => read_text(&path).map(Some),
                None => Ok(None),
            },
        }
    };
    Ok(KeyTexts {
        public: pick(&args.keys, "public.jwks")?,
        private: pick(&args.private_keys, "private.jwks")?,
        tokens: pick(&args.tokens, "tokens.jwks")?,
    })
}

/// Throwaway keys for every zone and token domain `policies` use (`pii-edge scan` runs the
/// engine only to learn which values its rules select).
pub(crate) fn throwaway_keys(policies: &[Policy]) -> Result<(PublicKeyring, TokenKeys), CliError> {
    let none = KeyTexts {
        public: None,
        private: None,
        tokens: None,
    };
    let (public, _, tokens) = keys_for(&none, policies)?;
    Ok((public, tokens))
}

/// Key sets for one run: from the texts, with throwaway keys for every zone and token domain
/// the policies use that the texts do not cover (a test run checks what policies do, not the
/// deployment's keys: `check --keys` and `package` do that).
fn keys_for(
    texts: &KeyTexts,
    policies: &[Policy],
) -> Result<(PublicKeyring, Option<PrivateKeyring>, TokenKeys), CliError> {
    let mut private = match &texts.private {
        Some(t) => Some(
            PrivateKeyring::from_jwks(t)
                .map_err(|e| CliError::new(format!("private key set: {e}")))?,
        ),
        None => None,
    };
    let public_text = match (&texts.public, &private) {
        (Some(t), _) => {
            PublicKeyring::from_jwks(t)
                .map_err(|e| CliError::new(format!("public key set: {e}")))?;
            t.clone()
        }
        (None, Some(ring)) => ring.public().to_jwks(),
        (None, None) => "{\"keys\":[]}".to_string(),
    };
    let mut public_set: Value = serde_json::from_str(&public_text)
        .map_err(|e| CliError::new(format!("public key set: {e}")))?;
    let known: PublicKeyring = PublicKeyring::from_jwks(&public_text)
        .map_err(|e| CliError::new(format!("public key set: {e}")))?;
    let mut zones: Vec<&str> = policies
        .iter()
        .filter(|p| {
            p.spec()
                .rules
                .iter()
                .any(|r| r.action == ActionKind::Encrypt)
        })
        .filter_map(|p| p.zone())
        .filter(|z| known.recipients(z).is_err())
        .collect();
    zones.sort_unstable();
    zones.dedup();
    for zone in zones {
        let key = PrivateKey::generate(zone, &format!("{zone}-1"), 1)
            .map_err(|e| CliError::new(format!("cannot make a test key for zone `{zone}`: {e}")))?;
        let jwk: Value = serde_json::from_str(&key.public().to_jwk())
            .map_err(|e| CliError::new(format!("internal: {e}")))?;
        if let Some(keys) = public_set.get_mut("keys").and_then(Value::as_array_mut) {
            keys.push(jwk);
        }
        if texts.public.is_some() || texts.private.is_some() {
            errln!("note: no key for zone `{zone}` in the key sets: a throwaway key seals its values in this run");
        }
        private.get_or_insert_with(PrivateKeyring::new).push(key);
    }
    let public = PublicKeyring::from_jwks(&public_set.to_string())
        .map_err(|e| CliError::new(format!("public key set: {e}")))?;

    let mut tokens = match &texts.tokens {
        Some(t) => {
            TokenKeys::from_jwks(t).map_err(|e| CliError::new(format!("token key set: {e}")))?
        }
        None => TokenKeys::default(),
    };
    for p in policies {
        for rule in &p.spec().rules {
            if let Some(domain) = &rule.domain {
                if tokens.get(domain).is_none() {
                    let key = TokenKeys::generate(domain).map_err(|e| {
                        CliError::new(format!("cannot make a test token key for `{domain}`: {e}"))
                    })?;
                    tokens
                        .push(key)
                        .map_err(|e| CliError::new(format!("test token keys: {e}")))?;
                    if texts.tokens.is_some() {
                        errln!("note: no token key for domain `{domain}`: a throwaway key tokenizes in this run");
                    }
                }
            }
        }
    }
    Ok((public, private, tokens))
}

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
}

pub(crate) fn run(args: TestArgs) -> CliResult {
    let jobs = jobs(&args.paths)?;
    let texts = key_texts(&args)?;
    let mut tally = Tally::default();
    for job in &jobs {
        run_job(job, &texts, args.quiet, &mut tally)?;
    }
    let style = Style::for_stream(Stream::Out);
    let summary = format!("{} passed, {} failed", tally.passed, tally.failed);
    if tally.failed > 0 {
        outln!("{}", style.red(&summary));
    } else {
        outln!("{}", style.green(&summary));
    }
    if tally.passed + tally.failed == 0 {
        return Err(CliError::new(
            "no test cases found: add DIR/X.tests/*.yaml next to the policy DIR/X.yaml (see policies/README.md)",
        ));
    }
    Ok(if tally.failed > 0 {
        ExitCode::from(FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// The `*.yaml` files directly in a directory, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string()
}

fn run_job(job: &Job, texts: &KeyTexts, quiet: bool, tally: &mut Tally) -> Result<(), CliError> {
    let style = Style::for_stream(Stream::Out);
    let policy_files = yaml_files(&job.dir);
    if policy_files.is_empty() {
        return Err(CliError::new(format!(
            "{}: no policy files (*.yaml) in this directory",
            shown(&job.dir)
        )));
    }
    // Load every policy of the directory: cases run against all of them, in order.
    let mut loaded: Vec<(String, Policy)> = Vec::new();
    let mut broken: HashSet<String> = HashSet::new();
    let mut names: HashSet<String> = HashSet::new();
    for file in &policy_files {
        match files::load_policy(file) {
            Ok(p) if names.insert(p.name().to_string()) => loaded.push((stem(file), p)),
            Ok(p) => {
                files::print_diagnostics(&[files::plain_diagnostic(
                    &shown(file),
                    format!(
                        "policy name `{}` is used twice in {}",
                        p.name(),
                        shown(&job.dir)
                    ),
                )]);
                broken.insert(stem(file));
            }
            Err(d) => {
                files::print_diagnostics(&d);
                broken.insert(stem(file));
            }
        }
    }
    let policy_names: Vec<(String, String)> = loaded
        .iter()
        .map(|(s, p)| (s.clone(), p.name().to_string()))
        .collect();
    let zones: Vec<(String, Option<String>)> = loaded
        .iter()
        .map(|(_, p)| (p.name().to_string(), p.zone().map(str::to_string)))
        .collect();
    let policies: Vec<Policy> = loaded.into_iter().map(|(_, p)| p).collect();
    let (public, private, tokens) = keys_for(texts, &policies)?;
    let engine = Engine::new(policies, public, tokens)
        .map_err(|e| CliError::new(format!("{}: {e}", shown(&job.dir))))?;

    // Which policies (by file stem) to run the cases of.
    let stems: Vec<String> = match &job.policy_stem {
        Some(s) => vec![s.clone()],
        None => {
            let mut all: Vec<String> = policy_files.iter().map(|f| stem(f)).collect();
            // Case directories without a policy are an error too.
            if let Ok(entries) = std::fs::read_dir(&job.dir) {
                let mut orphans: Vec<String> = entries
                    .filter_map(Result::ok)
                    .filter_map(|e| e.file_name().to_str().map(str::to_string))
                    .filter_map(|n| n.strip_suffix(".tests").map(str::to_string))
                    .filter(|s| !all.contains(s))
                    .collect();
                orphans.sort();
                all.extend(orphans);
            }
            all
        }
    };

    for s in stems {
        let cases_dir = job.dir.join(format!("{s}.tests"));
        let cases = match &job.case {
            Some(case) => vec![case.clone()],
            None => yaml_files(&cases_dir),
        };
        let policy_name = policy_names
            .iter()
            .find(|(st, _)| *st == s)
            .map(|(_, n)| n.clone());
        if cases.is_empty() {
            if !quiet && policy_name.is_some() {
                outln!(
                    "{}  {}: no test cases ({}/*.yaml)",
                    style.yellow("--  "),
                    shown(&job.dir.join(format!("{s}.yaml"))),
                    shown(&cases_dir)
                );
            }
            continue;
        }
        for case in cases {
            let result = if broken.contains(&s) {
                Err(vec![format!(
                    "policy {s}.yaml does not load (see the errors above)"
                )])
            } else if let Some(name) = &policy_name {
                let zone = |n: &str| {
                    zones
                        .iter()
                        .find(|(p, _)| p == n)
                        .and_then(|(_, z)| z.clone())
                };
                run_case(&case, name, &engine, private.as_ref(), &zone)
            } else {
                Err(vec![format!(
                    "no policy {s}.yaml next to {}",
                    shown(&cases_dir)
                )])
            };
            match result {
                Ok(description) => {
                    tally.passed += 1;
                    if !quiet {
                        outln!(
                            "{}  {}  {}",
                            style.green("ok  "),
                            shown(case.strip_prefix(".").unwrap_or(&case)),
                            style.dim(&description)
                        );
                    }
                }
                Err(problems) => {
                    tally.failed += 1;
                    outln!(
                        "{}  {}",
                        style.red(&style.bold("FAIL")),
                        shown(case.strip_prefix(".").unwrap_or(&case))
                    );
                    for p in problems {
                        let mut lines = p.lines();
                        if let Some(first) = lines.next() {
                            outln!("      {first}");
                        }
                        for l in lines {
                            outln!("        {l}");
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// A test case file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    description: String,
    #[serde(default)]
    request: Option<RequestDoc>,
    #[serde(default)]
    event: Option<String>,
    expect: Expect,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum OutcomeKind {
    Protected,
    Rejected,
    Unmatched,
}

impl fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OutcomeKind::Protected => "protected",
            OutcomeKind::Rejected => "rejected",
            OutcomeKind::Unmatched => "unmatched",
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Expect {
    outcome: OutcomeKind,
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    fields: Option<Ordered<Value>>,
    #[serde(default)]
    unchanged: Vec<String>,
    #[serde(default)]
    absent: Vec<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    headers: Option<Ordered<Values>>,
    #[serde(default)]
    round_trip: bool,
}

/// A map that keeps the order of the file.
#[derive(Debug)]
struct Ordered<T>(Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    out.push((k, map.next_value()?));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

impl fmt::Debug for Values {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a case expects of one protected value.
#[derive(Debug, Clone, PartialEq)]
enum FieldExpect {
    Encrypted,
    Tokenized(Option<String>),
    Hashed,
    Removed,
    Failed,
    Masked(String),
    Replaced(Value),
    Equals(Value),
}

impl fmt::Display for FieldExpect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldExpect::Encrypted => {
                f.write_str("encrypted (an envelope that opens to the original)")
            }
            FieldExpect::Tokenized(None) => f.write_str("tokenized"),
            FieldExpect::Tokenized(Some(d)) => write!(f, "tokenized in domain `{d}`"),
            FieldExpect::Hashed => f.write_str("hashed"),
            FieldExpect::Removed => f.write_str("removed"),
            FieldExpect::Failed => {
                f.write_str("removed because the action did not fit (onError: remove)")
            }
            FieldExpect::Masked(m) => write!(f, "masked to {m:?}"),
            FieldExpect::Replaced(v) => write!(f, "replaced by {v}"),
            FieldExpect::Equals(v) => write!(f, "equal to {v}"),
        }
    }
}

impl FieldExpect {
    fn parse(value: &Value) -> Result<FieldExpect, String> {
        const HELP: &str = "use encrypted, tokenized, hashed, removed, failed, {masked: TEXT}, {tokenized: DOMAIN}, {replaced: VALUE} or {equals: VALUE}";
        match value {
            Value::String(s) => match s.as_str() {
                "encrypted" => Ok(FieldExpect::Encrypted),
                "tokenized" => Ok(FieldExpect::Tokenized(None)),
                "hashed" => Ok(FieldExpect::Hashed),
                "removed" => Ok(FieldExpect::Removed),
                "failed" => Ok(FieldExpect::Failed),
                other => Err(format!("unknown expectation `{other}`: {HELP}")),
            },
            Value::Object(map) if map.len() == 1 => {
                let (k, v) = map.iter().next().ok_or_else(|| HELP.to_string())?;
                match (k.as_str(), v) {
                    ("masked", Value::String(s)) => Ok(FieldExpect::Masked(s.clone())),
                    ("tokenized", Value::String(s)) => Ok(FieldExpect::Tokenized(Some(s.clone()))),
                    ("replaced", v) => Ok(FieldExpect::Replaced(v.clone())),
                    ("equals", v) => Ok(FieldExpect::Equals(v.clone())),
                    _ => Err(format!("unknown expectation `{k}`: {HELP}")),
                }
            }
            _ => Err(format!("unknown expectation {value}: {HELP}")),
        }
    }
}

/// Run one case: `Ok(description)` or every problem found.
fn run_case(
    path: &Path,
    policy_name: &str,
    engine: &Engine,
    private: Option<&PrivateKeyring>,
    zone_of: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Vec<String>> {
    let text = read_text(path).map_err(|e| vec![e.to_string()])?;
    let case: Case = serde_saphyr::from_str(&text).map_err(|e| {
        let msg = e.without_snippet().to_string();
        let msg = msg.lines().next().unwrap_or(&msg);
        let msg = msg.strip_prefix("error: ").unwrap_or(msg);
        let msg = match msg.rfind(" at line ") {
            Some(i) => &msg[..i],
            None => msg,
        };
        let msg = match msg.split_once(": ") {
            Some((head, rest)) if head.starts_with("line ") => rest,
            _ => msg,
        };
        let at = e
            .location()
            .map(|l| format!("{}:{}:{}: ", shown(path), l.line(), l.column()))
            .unwrap_or_default();
        vec![format!("{at}not a valid test case: {msg}")]
    })?;
    let request = match (&case.request, &case.event) {
        (Some(_), Some(_)) => {
            return Err(vec!["give either `request` or `event`, not both".into()])
        }
        (None, None) => return Err(vec!["give a `request` or an `event`".into()]),
        (Some(doc), None) => doc
            .to_request()
            .map_err(|e| vec![format!("request: {e}")])?,
        (None, Some(event)) => {
            let event_path = path.parent().unwrap_or(Path::new(".")).join(event);
            let bytes = read_bytes(&event_path).map_err(|e| vec![e.to_string()])?;
            request_from_event(&bytes, &shown(&event_path)).map_err(|e| vec![e.to_string()])?
        }
    };
    let expect = &case.expect;
    let wanted_policy = expect
        .policy
        .clone()
        .unwrap_or_else(|| policy_name.to_string());
    let outcome = engine.apply(&request);

    let only_outcome_keys = expect.fields.is_none()
        && expect.unchanged.is_empty()
        && expect.absent.is_empty()
        && expect.body.is_none()
        && expect.query.is_none()
        && expect.headers.is_none()
        && !expect.round_trip;
    let mut problems = Vec::new();
    match (&outcome, expect.outcome) {
        (Outcome::Protected(p), OutcomeKind::Protected) => {
            if expect.status.is_some() || expect.reason.is_some() {
                problems.push("`status` and `reason` apply to rejected requests only".into());
            }
            if p.policy != wanted_policy {
                problems.push(format!(
                    "policy: expected `{wanted_policy}`, got `{}`",
                    p.policy
                ));
            }
            let zone = zone_of(&p.policy).unwrap_or_default();
            check_protected(&request, p, expect, private, &zone, &mut problems);
        }
        (Outcome::Rejected(r), OutcomeKind::Rejected) => {
            if !only_outcome_keys {
                problems.push(
                    "a rejected request has no fields: only `status`, `reason` and `policy` apply"
                        .into(),
                );
            }
            if let Some(status) = expect.status {
                if status != r.status {
                    problems.push(format!(
                        "status: expected {status}, got {} ({}: {})",
                        r.status,
                        r.reason.code(),
                        r.reason
                    ));
                }
            }
            if let Some(reason) = &expect.reason {
                if reason != r.reason.code() {
                    problems.push(format!(
                        "reason: expected {reason}, got {} ({})",
                        r.reason.code(),
                        r.reason
                    ));
                }
            }
            if r.policy.as_deref() != Some(wanted_policy.as_str()) {
                problems.push(format!(
                    "policy: expected `{wanted_policy}`, got {}",
                    r.policy
                        .as_deref()
                        .map_or("none".to_string(), |p| format!("`{p}`"))
                ));
            }
        }
        (Outcome::Unmatched, OutcomeKind::Unmatched) => {
            if !only_outcome_keys || expect.status.is_some() || expect.reason.is_some() {
                problems.push(
                    "an unmatched request is forwarded as is: no other expectation applies".into(),
                );
            }
        }
        (actual, wanted) => problems.push(format!(
            "outcome: expected {wanted}, got {}",
            describe(actual)
        )),
    }
    if problems.is_empty() {
        Ok(case.description)
    } else {
        Err(problems)
    }
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Unmatched => "unmatched (no policy matches; forwarded unchanged)".into(),
        Outcome::Protected(p) => format!(
            "protected by `{}` ({} value{})",
            p.policy,
            p.fields.len(),
            if p.fields.len() == 1 { "" } else { "s" }
        ),
        Outcome::Rejected(r) => format!(
            "rejected {} {} by {}: {}",
            r.status,
            r.reason.code(),
            r.policy
                .as_deref()
                .map_or("no policy".to_string(), |p| format!("`{p}`")),
            r.reason
        ),
    }
}

/// Text for messages: quoted and cut when long.
fn show(text: &str) -> String {
    let quoted = format!("{text:?}");
    let count = quoted.chars().count();
    if count <= 60 {
        quoted
    } else {
        let head: String = quoted.chars().take(40).collect();
        format!("{head}…\" ({count} chars)")
    }
}

fn check_protected(
    original: &Request,
    p: &Protected,
    expect: &Expect,
    private: Option<&PrivateKeyring>,
    zone: &str,
    problems: &mut Vec<String>,
) {
    let removed: Vec<Vec<Seg>> = p
        .fields
        .iter()
        .filter(|f| f.removed)
        .filter_map(|f| match &f.location {
            pii_core::Location::Json(path) => Some(
                path.iter()
                    .map(|e| match e {
                        pii_core::PathElement::Name(n) => Seg::Name(n.clone()),
                        pii_core::PathElement::Index(i) => Seg::Index(*i),
                    })
                    .collect(),
            ),
            _ => None,
        })
        .collect();

    if let Some(fields) = &expect.fields {
        for (location, want) in &fields.0 {
            let want = match FieldExpect::parse(want) {
                Ok(w) => w,
                Err(e) => {
                    problems.push(format!("{location}: {e}"));
                    continue;
                }
            };
            let parsed = match Location::parse(location) {
                Ok(l) => l,
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            };
            let Some(report) = p
                .fields
                .iter()
                .find(|f| f.location.to_string() == *location)
            else {
                let protected: Vec<String> =
                    p.fields.iter().map(|f| f.location.to_string()).collect();
                problems.push(format!(
                    "{location}: expected {want}, but no rule protected a value there (protected: {})",
                    if protected.is_empty() { "nothing".to_string() } else { protected.join(", ") }
                ));
                continue;
            };
            if let Err(e) =
                check_field(&want, report, &parsed, original, p, private, zone, &removed)
            {
                problems.push(format!("{location}: expected {want}, {e}"));
            }
        }
        let listed: HashSet<&str> = fields.0.iter().map(|(l, _)| l.as_str()).collect();
        for f in &p.fields {
            if !listed.contains(f.location.to_string().as_str()) {
                problems.push(format!(
                    "{}: {} by rule `{}`, but not listed in expect.fields (list every protected value)",
                    f.location,
                    what_happened(f),
                    f.rule
                ));
            }
        }
    }

    if !expect.unchanged.is_empty() {
        check_unchanged(original, p, &expect.unchanged, &removed, problems);
    }

    for needle in &expect.absent {
        if needle.is_empty() {
            problems.push("absent: an empty string is in every request".into());
            continue;
        }
        if let Some((part, _)) = inspect::haystacks(&p.request)
            .into_iter()
            .find(|(_, hay)| hay.contains(needle.as_str()))
        {
            problems.push(format!(
                "absent: {} is still in the protected {part}",
                show(needle)
            ));
        }
    }

    if let Some(body) = &expect.body {
        let actual = String::from_utf8_lossy(&p.request.body);
        if actual != body.as_str() {
            problems.push(format!(
                "body: expected {}\n got      {}",
                show(body),
                show(&actual)
            ));
        }
    }
    if let Some(query) = &expect.query {
        if p.request.query != *query {
            problems.push(format!(
                "query: expected {}, got {}",
                show(query),
                show(&p.request.query)
            ));
        }
    }
    if let Some(headers) = &expect.headers {
        for (name, Values(want)) in &headers.0 {
            let got: Vec<&str> = p.request.header_values(name).collect();
            if got != want.iter().map(String::as_str).collect::<Vec<_>>() {
                problems.push(format!(
                    "headers: {name}: expected {}, got {}",
                    if want.is_empty() {
                        "no such header".to_string()
                    } else {
                        format!("{want:?}")
                    },
                    if got.is_empty() {
                        "no such header".to_string()
                    } else {
                        format!("{got:?}")
                    }
                ));
            }
        }
    }

    // The origin must be able to open everything the edge sealed.
    let sealed = p
        .fields
        .iter()
        .any(|f| f.action == ActionKind::Encrypt && !f.removed);
    if sealed || expect.round_trip {
        match private {
            None if expect.round_trip => problems.push(
                "roundTrip: no private key set to open the envelopes with (--private-keys)".into(),
            ),
            None => {}
            Some(keys) => match pii_core::reveal(
                keys,
                &p.request,
                pii_core::Expect {
                    policy: Some(&p.policy),
                    zone: Some(zone),
                },
            ) {
                Err(e) => {
                    problems.push(format!("reveal: the protected request does not open: {e}"))
                }
                Ok(revealed) if expect.round_trip => {
                    let r = &revealed.request;
                    let form = original.header("content-type").is_some_and(|c| {
                        c.to_ascii_lowercase()
                            .starts_with("application/x-www-form-urlencoded")
                    });
                    let same_body = r.body == original.body
                        || (form
                            && same_params(
                                &String::from_utf8_lossy(&r.body),
                                &String::from_utf8_lossy(&original.body),
                            ));
                    if !same_body {
                        problems.push(format!(
                            "roundTrip: the revealed body differs from the original\n{}",
                            difference(&original.body, &r.body)
                        ));
                    }
                    if !same_params(&r.query, &original.query) {
                        problems.push(format!(
                            "roundTrip: the revealed query differs from the original\n{}",
                            difference(original.query.as_bytes(), r.query.as_bytes())
                        ));
                    }
                    if r.headers != original.headers {
                        let differ: Vec<String> = r
                            .headers
                            .iter()
                            .filter(|h| !original.headers.contains(h))
                            .map(|(n, v)| format!("{n}: {}", show(v)))
                            .collect();
                        problems.push(format!(
                            "roundTrip: the revealed headers differ from the original ({})",
                            if differ.is_empty() {
                                "order or count".to_string()
                            } else {
                                differ.join(", ")
                            }
                        ));
                    }
                }
                Ok(_) => {}
            },
        }
    }
}

/// Query strings or forms with the same parameters once decoded (`+` and `%20` are both a
/// space: the origin's parser cannot tell them apart).
fn same_params(a: &str, b: &str) -> bool {
    a == b
        || inspect::params(a)
            .iter()
            .map(|(n, _, v)| (n, v))
            .eq(inspect::params(b).iter().map(|(n, _, v)| (n, v)))
}

/// Where two texts first differ, with some context.
fn difference(expected: &[u8], got: &[u8]) -> String {
    let at = expected.iter().zip(got).take_while(|(a, b)| a == b).count();
    let start = at.saturating_sub(20);
    let snippet = |t: &[u8]| {
        let end = (at + 30).min(t.len());
        let text = String::from_utf8_lossy(&t[start.min(t.len())..end]).into_owned();
        format!(
            "{}{:?}{}",
            if start > 0 { "…" } else { "" },
            text,
            if end < t.len() { "…" } else { "" }
        )
    };
    format!(
        "first difference at byte {at}:\n expected {}\n got      {}",
        snippet(expected),
        snippet(got)
    )
}

fn what_happened(f: &FieldReport) -> String {
    match (f.action, f.removed, f.failed) {
        (_, true, true) => format!("removed ({} did not fit)", f.action.as_str()),
        (_, true, false) => "removed".into(),
        (ActionKind::Encrypt, ..) => "encrypted".into(),
        (ActionKind::Tokenize, ..) => "tokenized".into(),
        (ActionKind::Mask, ..) => "masked".into(),
        (ActionKind::Redact, ..) => "replaced".into(),
        (ActionKind::Hash, ..) => "hashed".into(),
    }
}

#[allow(clippy::too_many_arguments)]
fn check_field(
    want: &FieldExpect,
    report: &FieldReport,
    location: &Location,
    original: &Request,
    p: &Protected,
    private: Option<&PrivateKeyring>,
    zone: &str,
    removed: &[Vec<Seg>],
) -> Result<(), String> {
    let happened = what_happened(report);
    let action_ok = match want {
        FieldExpect::Encrypted => report.action == ActionKind::Encrypt && !report.removed,
        FieldExpect::Tokenized(_) => report.action == ActionKind::Tokenize && !report.removed,
        FieldExpect::Hashed => report.action == ActionKind::Hash && !report.removed,
        FieldExpect::Masked(_) => report.action == ActionKind::Mask && !report.removed,
        FieldExpect::Removed => report.removed && !report.failed,
        FieldExpect::Failed => report.removed && report.failed,
        FieldExpect::Replaced(_) => report.action == ActionKind::Redact && !report.removed,
        FieldExpect::Equals(_) => !report.removed,
    };
    if !action_ok {
        return Err(format!("got {happened} (rule `{}`)", report.rule));
    }
    if matches!(want, FieldExpect::Removed | FieldExpect::Failed) {
        return check_removed(location, original, p);
    }
    let found = inspect::value_at(&p.request, location).ok_or_else(|| {
        format!("got {happened}, but there is no value there in the protected request")
    })?;
    let json_value = || -> Result<Value, String> {
        if location.part == Part::Json {
            serde_json::from_slice(&found.raw).map_err(|_| {
                format!(
                    "got {} (not JSON)",
                    show(&String::from_utf8_lossy(&found.raw))
                )
            })
        } else {
            Ok(Value::String(found.text.clone()))
        }
    };
    let is_string = location.part != Part::Json || found.raw.first() == Some(&b'"');
    match want {
        FieldExpect::Encrypted => {
            if !is_string || !envelope::is_envelope(&found.text) {
                return Err(format!("got {} (not an envelope)", show(&found.text)));
            }
            let Some(keys) = private else {
                return Err(
                    "cannot check that it opens: no private key set (--private-keys)".into(),
                );
            };
            let binding = Binding::new(p.policy.as_str(), zone, report.location.clone());
            let opened = envelope::open_expecting(keys, &found.text, &binding)
                .map_err(|e| format!("got an envelope that does not open: {e}"))?;
            let plain = opened.plaintext().to_vec();
            let original_bytes = original_value(location, original, removed)
                .ok_or("got an envelope, but the original request has no value there to compare")?;
            if plain != original_bytes {
                return Err(format!(
                    "got an envelope that opens to {} instead of the original {}",
                    show(&String::from_utf8_lossy(&plain)),
                    show(&String::from_utf8_lossy(&original_bytes))
                ));
            }
            Ok(())
        }
        FieldExpect::Tokenized(domain) => {
            let prefix = match domain {
                Some(d) => format!("tk1.{d}."),
                None => "tk1.".to_string(),
            };
            if is_string && found.text.starts_with(&prefix) {
                Ok(())
            } else {
                Err(format!(
                    "got {} (not a token `{prefix}…`)",
                    show(&found.text)
                ))
            }
        }
        FieldExpect::Hashed => {
            let ok = is_string
                && found.text.strip_prefix("sha256:").is_some_and(|h| {
                    h.len() == 64
                        && h.bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                });
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "got {} (not `sha256:<64 hex digits>`)",
                    show(&found.text)
                ))
            }
        }
        FieldExpect::Masked(m) => {
            if is_string && found.text == *m {
                Ok(())
            } else {
                Err(format!(
                    "got {}",
                    show(&String::from_utf8_lossy(&found.raw))
                ))
            }
        }
        FieldExpect::Replaced(v) | FieldExpect::Equals(v) => {
            let actual = json_value()?;
            let wanted = match (location.part, v) {
                (Part::Json, v) => v.clone(),
                (_, Value::String(s)) => Value::String(s.clone()),
                (_, other) => Value::String(other.to_string()),
            };
            if actual == wanted {
                Ok(())
            } else {
                Err(format!("got {actual}"))
            }
        }
        FieldExpect::Removed | FieldExpect::Failed => Ok(()),
    }
}

/// The value at a protected location as it was in the original request: the bytes the engine
/// sealed (JSON text for body values, the decoded value of parameters, the raw value of
/// headers and cookies).
fn original_value(
    location: &Location,
    original: &Request,
    removed: &[Vec<Seg>],
) -> Option<Vec<u8>> {
    if location.part == Part::Json {
        let segs = rawjson::parse_normalized(&location.name)?;
        let at = Location {
            name: rawjson::format_normalized(&rawjson::unshift(&segs, removed)),
            ..location.clone()
        };
        return inspect::value_at(original, &at).map(|f| f.raw);
    }
    let found = inspect::value_at(original, location)?;
    Some(match location.part {
        Part::Query | Part::Form => found.text.into_bytes(),
        _ => found.raw,
    })
}

fn check_removed(location: &Location, original: &Request, p: &Protected) -> Result<(), String> {
    match location.part {
        Part::Json => {
            let segs = rawjson::parse_normalized(&location.name).unwrap_or_default();
            // A removed member leaves nothing behind; a removed array element makes room for
            // the next one, which is not checked here.
            if matches!(segs.last(), Some(Seg::Name(_)))
                && inspect::value_at(&p.request, location).is_some()
            {
                return Err(
                    "the report says removed, but the member is still in the protected body".into(),
                );
            }
            Ok(())
        }
        _ => {
            let Some(before) = inspect::value_at(original, location) else {
                return Ok(());
            };
            if inspect::all_values(&p.request, location).contains(&before.text) {
                Err(
                    "the report says removed, but the value is still in the protected request"
                        .into(),
                )
            } else {
                Ok(())
            }
        }
    }
}

fn check_unchanged(
    original: &Request,
    p: &Protected,
    paths: &[String],
    removed: &[Vec<Seg>],
    problems: &mut Vec<String>,
) {
    let Ok(doc) = serde_json::from_slice::<Value>(&original.body) else {
        problems.push("unchanged: the request body is not JSON".into());
        return;
    };
    let (Some(before), Some(after)) = (
        rawjson::spans(&original.body),
        rawjson::spans(&p.request.body),
    ) else {
        problems.push("unchanged: the protected body is not JSON".into());
        return;
    };
    for path in paths {
        let selected = match pii_core::select_json(path, &doc) {
            Ok(s) => s,
            Err(e) => {
                problems.push(format!(
                    "unchanged: `{path}` is not a valid JSONPath: {}",
                    e.message
                ));
                continue;
            }
        };
        if selected.is_empty() {
            problems.push(format!(
                "unchanged: `{path}` selects nothing in the request body"
            ));
            continue;
        }
        for (normalized, _) in selected {
            let Some(segs) = rawjson::parse_normalized(&normalized) else {
                continue;
            };
            let Some(was) = rawjson::find(&before, &normalized) else {
                continue;
            };
            let was = &original.body[was];
            let Some(moved) = rawjson::shift(&segs, removed) else {
                problems.push(format!("unchanged: {normalized} was removed"));
                continue;
            };
            let now = rawjson::find(&after, &rawjson::format_normalized(&moved))
                .map(|r| &p.request.body[r]);
            match now {
                None => problems.push(format!(
                    "unchanged: {normalized} is missing from the protected body"
                )),
                Some(now) if now != was => problems.push(format!(
                    "unchanged: {normalized} changed from {} to {}",
                    show(&String::from_utf8_lossy(was)),
                    show(&String::from_utf8_lossy(now))
                )),
                Some(_) => {}
            }
        }
    }
}
