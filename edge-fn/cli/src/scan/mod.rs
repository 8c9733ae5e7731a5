//! `pii-edge scan`: find the personal data in recorded traffic, and whether the policies
//! protect it. Reading and detection live in `edge_fn::scan`; this module groups findings,
//! runs the real engine on a sample of each group, prints the report and writes the draft
//! policy (`suggest`).

use std::collections::{BTreeMap, HashSet};
use std::io::{BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use edge_fn::scan::{input, location, scan_request, Detector, Finding};
use pii_core::{Engine, Outcome, Request};

use crate::shared::files::{is_stdin, load_policies, shown};
use crate::shared::style::errln;
use crate::shared::{CliError, CliResult, FAILED};

mod report;
pub(crate) mod suggest;

/// `pii-edge scan` arguments.
#[derive(Args, Debug)]
pub(crate) struct ScanArgs {
    /// Recorded traffic: HAR files, NDJSON request logs, CloudFront events; directories (every
    /// file under them) or `-` for standard input [default: -]
    #[arg(value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    // `--policy`: the spelling before every command said `--policies` (an alias for scripts,
    // not shown in --help).
    /// Policies to check coverage against (files or directories; repeatable)
    #[arg(long, short = 'p', alias = "policy", value_name = "FILE|DIR")]
    policies: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write a draft policy for what no rule covers to FILE, and its test cases to
    /// FILE-without-extension.tests/
    #[arg(long, value_name = "FILE")]
    suggest: Option<PathBuf>,
    /// Residency zone the draft policy encrypts to
    #[arg(
        long,
        value_name = "ZONE",
        default_value = "eu-central",
        requires = "suggest"
    )]
    zone: String,
    /// Exit with status 1 when a finding is `uncovered` (not covered, or its route matched by
    /// no policy) or for `any` finding
    #[arg(long, value_enum, value_name = "WHEN")]
    fail_on: Option<FailOn>,
    /// Print no examples at all, not even masked ones
    #[arg(long)]
    no_examples: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A table, one row per route, location and detector
    Table,
    /// The same as a JSON document
    Json,
    /// One JSON line per finding (input, request number, location, detector), for measuring
    Findings,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FailOn {
    /// Findings no rule covers, including routes no policy matches
    Uncovered,
    /// Any finding
    Any,
}

/// Whether a rule of the given policies protects a finding, by the engine's own report on
/// the group's first sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Coverage {
    /// No policies were given.
    Unchecked,
    /// A rule of `policy` protects the value.
    Covered { policy: String, rule: String },
    /// `policy` matches the route but none of its rules selects the value.
    NotCovered { policy: String },
    /// No policy matches the route.
    RouteUnmatched,
    /// `policy` rejects the sample request (so it is not forwarded at all).
    Rejected { policy: String, reason: String },
}

impl Coverage {
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Coverage::Unchecked => "unchecked",
            Coverage::Covered { .. } => "covered",
            Coverage::NotCovered { .. } => "not covered",
            Coverage::RouteUnmatched => "route not matched by any policy",
            Coverage::Rejected { .. } => "request rejected",
        }
    }

    pub(crate) fn is_uncovered(&self) -> bool {
        matches!(
            self,
            Coverage::NotCovered { .. } | Coverage::RouteUnmatched | Coverage::Unchecked
        )
    }
}

/// Findings of one detector at one location shape of one route.
#[derive(Debug)]
pub(crate) struct Group {
    pub(crate) method: String,
    pub(crate) route: String,
    /// The location with array indexes as `[*]` and occurrence numbers dropped.
    pub(crate) shape: String,
    pub(crate) detector: Detector,
    pub(crate) claim: Option<String>,
    /// Requests with at least one such finding.
    pub(crate) requests: u64,
    /// Values found.
    pub(crate) values: u64,
    /// The first finding's location (concrete).
    pub(crate) example_location: pii_core::Location,
    pub(crate) masked: String,
    pub(crate) coverage: Coverage,
    /// Samples the engine ran on for this group (a rejected sample is retried on later
    /// requests, up to [`MAX_CHECKS`]).
    checks: u8,
}

/// Most samples the engine runs on per group while they keep being rejected.
const MAX_CHECKS: u8 = 4;

type Key = (String, String, String, Detector, Option<String>);

/// Everything a scan gathered.
#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) groups: BTreeMap<Key, Group>,
    pub(crate) requests: u64,
    pub(crate) requests_with_findings: u64,
    pub(crate) bytes: u64,
    pub(crate) skipped: usize,
    /// Lines that could not be read at all (not JSON).
    pub(crate) unreadable: usize,
    /// One sample request per route with uncovered findings (for the draft's test cases),
    /// with the findings in it.
    pub(crate) samples: BTreeMap<(String, String), (Request, Vec<Finding>)>,
}

/// Largest sample request body kept for a draft test case.
const SAMPLE_BODY_MAX: usize = 64 * 1024;

pub(crate) fn run(args: ScanArgs) -> CliResult {
    let engine = if args.policies.is_empty() {
        None
    } else {
        let policies: Vec<_> = load_policies(&args.policies)?
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        let (public, tokens) = crate::shared::run_keys::throwaway_keys(&policies)?;
        Some(crate::shared::files::engine(policies, public, tokens)?)
    };
    let inputs = input_files(&args.inputs)?;
    let mut tally = Tally::default();
    let findings_out = args.format == Format::Findings;
    let progress = Progress::new(&inputs);
    for (n, path) in inputs.iter().enumerate() {
        let name = shown(path);
        let mut request_number = 0u64;
        let base = progress.base();
        let mut sink = |req: Request| {
            request_number += 1;
            let found = scan_request(&req);
            if findings_out {
                report::print_findings(&name, request_number, &found, args.no_examples);
            }
            tally.add(&req, found, engine.as_ref());
        };
        let mut tick = |bytes: u64| progress.set(base + bytes);
        let stats = if is_stdin(path) {
            input::read(
                BufReader::new(std::io::stdin().lock()),
                &mut sink,
                &mut tick,
            )
        } else {
            let file = std::fs::File::open(path)
                .map_err(|e| CliError::new(format!("cannot read {name}: {e}")))?;
            input::read(
                BufReader::with_capacity(1 << 16, file),
                &mut sink,
                &mut tick,
            )
        }
        .map_err(|e| CliError::new(format!("{name}: {e}")))?;
        progress.file_done(n);
        tally.skipped += stats.skipped;
        tally.unreadable += stats.unreadable;
        for reason in &stats.skip_reasons {
            errln!("note: {name}: skipped {reason}");
        }
        if stats.skipped > stats.skip_reasons.len() {
            errln!(
                "note: {name}: {} more records skipped",
                stats.skipped - stats.skip_reasons.len()
            );
        }
    }
    tally.bytes = progress.finish();

    match args.format {
        Format::Table => report::print_table(&tally, engine.is_some(), args.no_examples),
        Format::Json => report::print_json(&tally, engine.is_some(), args.no_examples),
        Format::Findings => {}
    }
    if let Some(file) = &args.suggest {
        suggest::write(file, &args.zone, &tally, engine.as_ref())?;
    }
    let failed = match args.fail_on {
        None => false,
        // A record that could not be read was not scanned: the gate cannot say it is covered.
        Some(_) if tally.unreadable > 0 => {
            errln!(
                "error: --fail-on: {} line{} could not be read and {} not scanned",
                tally.unreadable,
                if tally.unreadable == 1 { "" } else { "s" },
                if tally.unreadable == 1 { "was" } else { "were" }
            );
            true
        }
        Some(FailOn::Any) => !tally.groups.is_empty(),
        Some(FailOn::Uncovered) => tally.groups.values().any(|g| g.coverage.is_uncovered()),
    };
    Ok(if failed {
        ExitCode::from(FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

impl Tally {
    fn add(&mut self, req: &Request, found: Vec<Finding>, engine: Option<&Engine>) {
        self.requests += 1;
        if found.is_empty() {
            return;
        }
        self.requests_with_findings += 1;
        let route = route_pattern(&req.path);
        let method = req.method.to_ascii_uppercase();
        let mut in_this: HashSet<Key> = HashSet::new();
        let mut new_keys: Vec<(Key, pii_core::Location)> = Vec::new();
        for f in &found {
            let key: Key = (
                route.clone(),
                method.clone(),
                shape(&f.location.to_string()),
                f.detector,
                f.claim.clone(),
            );
            let group = self.groups.entry(key.clone()).or_insert_with(|| {
                new_keys.push((key.clone(), f.location.clone()));
                Group {
                    method: method.clone(),
                    route: route.clone(),
                    shape: key.2.clone(),
                    detector: f.detector,
                    claim: f.claim.clone(),
                    requests: 0,
                    values: 0,
                    example_location: f.location.clone(),
                    masked: f.masked(),
                    coverage: Coverage::Unchecked,
                    checks: 0,
                }
            });
            group.values += 1;
            if in_this.insert(key.clone()) {
                group.requests += 1;
                let retry = matches!(group.coverage, Coverage::Rejected { .. })
                    && group.checks < MAX_CHECKS;
                if retry {
                    new_keys.push((key, f.location.clone()));
                }
            }
        }
        if new_keys.is_empty() {
            return;
        }
        let outcome = engine.map(|e| e.apply(req));
        let mut uncovered = false;
        for (key, loc) in &new_keys {
            let coverage = match &outcome {
                None => Coverage::Unchecked,
                Some(Outcome::Unmatched) => Coverage::RouteUnmatched,
                Some(Outcome::Rejected(r)) => Coverage::Rejected {
                    policy: r.policy.clone().unwrap_or_default(),
                    reason: r.reason.code().to_string(),
                },
                Some(Outcome::Protected(p)) => {
                    match p
                        .fields
                        .iter()
                        .find(|fr| location::covers(&fr.location, loc))
                    {
                        Some(fr) => Coverage::Covered {
                            policy: p.policy.clone(),
                            rule: fr.rule.clone(),
                        },
                        None => Coverage::NotCovered {
                            policy: p.policy.clone(),
                        },
                    }
                }
                Some(_) => Coverage::Unchecked,
            };
            uncovered |= coverage.is_uncovered();
            if let Some(g) = self.groups.get_mut(key) {
                g.coverage = coverage;
                g.checks += 1;
            }
        }
        if uncovered && req.body.len() <= SAMPLE_BODY_MAX {
            self.samples
                .entry((route, method))
                .or_insert_with(|| (req.clone(), found));
        }
    }
}

/// The location with JSON array indexes as `[*]` and field occurrence numbers dropped.
///
/// `json:$['a'][3]['b']` -> `json:$['a'][*]['b']`, `query:email#2` -> `query:email`.
pub(crate) fn shape(loc: &str) -> String {
    if let Some(path) = loc.strip_prefix("json:") {
        let mut out = String::from("json:");
        let mut chars = path.chars().peekable();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            if quoted {
                out.push(c);
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                } else if c == '\'' {
                    quoted = false;
                }
            } else if c == '\'' {
                quoted = true;
                out.push(c);
            } else if c == '[' && chars.peek().is_some_and(char::is_ascii_digit) {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                out.push_str("[*");
            } else {
                out.push(c);
            }
        }
        return out;
    }
    match loc.rsplit_once('#') {
        Some((name, n)) if n.bytes().all(|b| b.is_ascii_digit()) => name.to_string(),
        _ => loc.to_string(),
    }
}

/// A route pattern for a path: segments that look like identifiers (digits, UUIDs, long
/// tokens, e-mail addresses; not API versions such as `v2`) become `*`, as a policy's `paths`
/// would write them.
///
/// `/api/users/12345/orders/9f1c...` -> `/api/users/*/orders/*`.
pub(crate) fn route_pattern(path: &str) -> String {
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            // `v1`, `v2`: API versions are part of the route.
            let version = s.len() <= 3
                && s.starts_with(['v', 'V'])
                && s[1..].bytes().all(|b| b.is_ascii_digit());
            let id_like = (!version && s.bytes().any(|b| b.is_ascii_digit()))
                || s.contains('@')
                || s.contains('%')
                || (s.len() >= 20
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            if id_like {
                "*".to_string()
            } else {
                s.to_string()
            }
        })
        .collect();
    format!("/{}", segments.join("/"))
}

/// Extensions of the files read from a directory.
const TRAFFIC_EXTENSIONS: &[&str] = &["har", "json", "ndjson", "jsonl", "log"];

/// The input files: files as given, every `*.har`, `*.json`, `*.ndjson`, `*.jsonl` and
/// `*.log` file under a directory (sorted, hidden files skipped), `-` for stdin (also when
/// nothing is given).
fn input_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    if inputs.is_empty() {
        return Ok(vec![PathBuf::from("-")]);
    }
    let mut out = Vec::new();
    for input in inputs {
        if is_stdin(input) {
            out.push(input.clone());
        } else if input.is_dir() {
            let mut found = Vec::new();
            walk_dir(input, &mut found)?;
            if found.is_empty() {
                return Err(CliError::new(format!(
                    "{}: no files in this directory",
                    shown(input)
                )));
            }
            found.sort();
            out.extend(found);
        } else if input.is_file() {
            out.push(input.clone());
        } else {
            return Err(CliError::new(format!(
                "{}: no such file or directory",
                shown(input)
            )));
        }
    }
    Ok(out)
}

fn walk_dir(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CliError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| CliError::new(format!("cannot read directory {}: {e}", dir.display())))?;
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk_dir(&path, out)?;
        } else if path.is_file()
            && path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| TRAFFIC_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// A progress bar on stderr, only when stderr is a terminal and the input is files.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    sizes: Vec<u64>,
    done: std::cell::Cell<u64>,
    position: std::cell::Cell<u64>,
}

impl Progress {
    fn new(inputs: &[PathBuf]) -> Self {
        let sizes: Vec<u64> = inputs
            .iter()
            .map(|p| {
                if is_stdin(p) {
                    0
                } else {
                    std::fs::metadata(p).map_or(0, |m| m.len())
                }
            })
            .collect();
        let total: u64 = sizes.iter().sum();
        let bar = (std::io::stderr().is_terminal() && total > 0).then(|| {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            bar,
            sizes,
            done: std::cell::Cell::new(0),
            position: std::cell::Cell::new(0),
        }
    }

    fn base(&self) -> u64 {
        self.done.get()
    }

    fn set(&self, position: u64) {
        self.position.set(position);
        if let Some(bar) = &self.bar {
            bar.set_position(position);
        }
    }

    fn file_done(&self, n: usize) {
        let size = self.sizes.get(n).copied().unwrap_or(0);
        let read = self.position.get().saturating_sub(self.done.get());
        let done = self.done.get() + size.max(read);
        self.done.set(done);
        self.set(done);
    }

    /// Bytes read in all.
    fn finish(&self) -> u64 {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.done.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_routes() {
        assert_eq!(shape("json:$['a[0]'][3]['b']"), "json:$['a[0]'][*]['b']");
        assert_eq!(shape("query:email#2"), "query:email");
        assert_eq!(
            route_pattern("/api/users/12345/orders"),
            "/api/users/*/orders"
        );
        assert_eq!(route_pattern("/"), "/");
        assert_eq!(route_pattern("/api/v1/customers/42"), "/api/v1/customers/*");
        assert_eq!(route_pattern("/u/erika@example.de"), "/u/*");
    }
}
