//! `pii-edge test`: policy test cases, run through the edge function's handler. The format
//! is documented in `policies/README.md`.
//!
//! - [`load`]: which policies and cases a run covers, the case format, the event of a case;
//! - the key sets of a run: `shared::run_keys` (also `scan`'s and `draft`'s throwaway keys);
//! - [`run`]: a case's event through the handler (and, for comparison, the engine alone);
//! - [`expect`]: what happened against what the case expects;
//! - [`report`]: the lines printed.

mod expect;
mod load;
mod report;
mod run;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use pii_core::{Engine, Policy, PrivateKeyring};

use self::load::{jobs, orphan_case_dirs, read_case, stem, yaml_files, Job};
use self::report::Tally;
use self::run::{Function, Happened};
use crate::shared::files::{self, shown};
use crate::shared::run_keys::{key_texts, keys_for, KeyTexts};
use crate::shared::{CliError, CliResult, FAILED};

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
/// Every case runs through the real handler of the edge function (`edge_fn::handler`), with the
/// limits of its trigger: a case the deployed function would answer 413 (a body that grows past
/// what CloudFront takes back) or 500 (a rule that changes a read-only header) fails with that
/// reason.
///
/// Prints one line per case (`ok` or `FAIL` with the field, the expectation and what happened)
/// and finally `N passed, N failed`. Exit code 1 when any case fails (or none was found).
#[derive(Args, Debug)]
pub(crate) struct TestArgs {
    /// Policy directories, policy files (X.yaml: its cases) or single case files (X.tests/case.yaml)
    #[arg(value_name = "DIR|FILE", required_unless_present = "policies")]
    paths: Vec<PathBuf>,
    /// The same as DIR|FILE, named as the other commands name it (repeatable)
    #[arg(long, value_name = "DIR|FILE")]
    policies: Vec<PathBuf>,
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

pub(crate) fn run(args: TestArgs) -> CliResult {
    let paths: Vec<PathBuf> = args.paths.iter().chain(&args.policies).cloned().collect();
    let jobs = jobs(&paths)?;
    let texts = key_texts(
        &paths,
        args.keys.as_deref(),
        args.private_keys.as_deref(),
        args.tokens.as_deref(),
    )?;
    let mut tally = Tally::default();
    for job in &jobs {
        run_job(job, &texts, args.quiet, &mut tally)?;
    }
    tally.print_summary();
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

/// The policies of a directory, loaded as they would be deployed together.
struct Deployment {
    /// (file stem, policy name, zone) of every policy that loads.
    policies: Vec<(String, String, Option<String>)>,
    /// File stems of the policies that do not load (their errors are printed).
    broken: HashSet<String>,
    function: Function,
    private: Option<PrivateKeyring>,
}

impl Deployment {
    fn load(dir: &Path, policy_files: &[PathBuf], texts: &KeyTexts) -> Result<Self, CliError> {
        let mut loaded: Vec<(String, Policy)> = Vec::new();
        let mut broken: HashSet<String> = HashSet::new();
        let mut names: HashSet<String> = HashSet::new();
        for file in policy_files {
            match files::load_policy(file) {
                Ok(p) if names.insert(p.name().to_string()) => loaded.push((stem(file), p)),
                Ok(p) => {
                    files::print_diagnostics(&[files::plain_diagnostic(
                        &shown(file),
                        format!("policy name `{}` is used twice in {}", p.name(), shown(dir)),
                    )]);
                    broken.insert(stem(file));
                }
                Err(d) => {
                    files::print_diagnostics(&d);
                    broken.insert(stem(file));
                }
            }
        }
        let policies = loaded
            .iter()
            .map(|(s, p)| {
                (
                    s.clone(),
                    p.name().to_string(),
                    p.zone().map(str::to_string),
                )
            })
            .collect();
        let loaded: Vec<Policy> = loaded.into_iter().map(|(_, p)| p).collect();
        let (public, private, tokens) = keys_for(texts, &loaded)?;
        let engine = Engine::new(loaded, public, tokens)
            .map_err(|e| CliError::new(format!("{}: {e}", shown(dir))))?;
        Ok(Deployment {
            policies,
            broken,
            function: Function::new(engine),
            private,
        })
    }

    fn policy_of_stem(&self, stem: &str) -> Option<&str> {
        self.policies
            .iter()
            .find(|(s, _, _)| s == stem)
            .map(|(_, name, _)| name.as_str())
    }

    fn zone_of(&self, policy: &str) -> Option<String> {
        self.policies
            .iter()
            .find(|(_, name, _)| name == policy)
            .and_then(|(_, _, zone)| zone.clone())
    }

    /// Runs one case of the policy `stem`: `Ok(description)` or every problem found.
    fn run_case(&self, stem: &str, case_dir: &Path, case: &Path) -> Result<String, Vec<String>> {
        if self.broken.contains(stem) {
            return Err(vec![format!(
                "policy {stem}.yaml does not load (see the errors above)"
            )]);
        }
        let Some(policy) = self.policy_of_stem(stem) else {
            return Err(vec![format!(
                "no policy {stem}.yaml next to {}",
                shown(case_dir)
            )]);
        };
        let parsed = read_case(case).map_err(|e| vec![e])?;
        let event = parsed.event(case).map_err(|e| vec![e])?;
        // The request as the case sent it, by the conversion the handler makes.
        let original = event
            .single_record()
            .and_then(|r| edge_fn::cloudfront::to_core(&r.cf.request).ok());
        let happened = self.function.run(event).map_err(|e| vec![e])?;
        let problems = expect::compare(
            &parsed.expect,
            policy,
            original.as_ref(),
            &happened,
            self.private.as_ref(),
            &|name| self.zone_of(name),
        );
        if problems.is_empty() {
            return Ok(parsed.description);
        }
        let mut problems = problems;
        // An unexpected `unmatched`: say which policy nearly took the request, and why not.
        if let (Happened::Unmatched, Some(engine), Some(request)) =
            (&happened, self.function.engine(), original.as_ref())
        {
            let why = pii_core::engine::near_misses(engine.policies(), request);
            if why.is_empty() {
                problems.push(format!(
                    "no policy's match.paths takes the path {}",
                    request.path
                ));
            }
            problems.extend(why);
        }
        Err(problems)
    }
}

fn run_job(job: &Job, texts: &KeyTexts, quiet: bool, tally: &mut Tally) -> Result<(), CliError> {
    let policy_files = yaml_files(&job.dir);
    if policy_files.is_empty() {
        return Err(CliError::new(format!(
            "{}: no policy files (*.yaml) in this directory",
            shown(&job.dir)
        )));
    }
    // Every policy of the directory: cases run against all of them, in order.
    let deployment = Deployment::load(&job.dir, &policy_files, texts)?;

    // Which policies (by file stem) to run the cases of; case directories without a policy
    // are failures too.
    let stems: Vec<String> = match &job.policy_stem {
        Some(s) => vec![s.clone()],
        None => {
            let mut all: Vec<String> = policy_files.iter().map(|f| stem(f)).collect();
            let orphans = orphan_case_dirs(&job.dir, &all);
            all.extend(orphans);
            all
        }
    };

    for s in stems {
        let cases_dir = job.dir.join(format!("{s}.tests"));
        let cases = match &job.case {
            Some(case) => vec![case.clone()],
            None => yaml_files(&cases_dir),
        };
        if cases.is_empty() {
            if !quiet && deployment.policy_of_stem(&s).is_some() {
                report::no_cases(&job.dir.join(format!("{s}.yaml")), &cases_dir);
            }
            continue;
        }
        for case in cases {
            tally.case(&case, deployment.run_case(&s, &cases_dir, &case), quiet);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::run::{through_engine, Happened};
    use super::*;

    /// Blanks every envelope (`peN.` and base64url), whose bytes differ on every run.
    fn blank_envelopes(text: &str) -> String {
        let b = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        while i < b.len() {
            if b[i..].starts_with(b"pe") {
                let digits = b[i + 2..].iter().take_while(|c| c.is_ascii_digit()).count();
                let dot = i + 2 + digits;
                if digits > 0 && b.get(dot) == Some(&b'.') {
                    let body = b[dot + 1..]
                        .iter()
                        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-' || **c == b'_')
                        .count();
                    out.push_str("pe…");
                    i = dot + 1 + body;
                    continue;
                }
            }
            let c = text[i..].chars().next().unwrap_or('\u{fffd}');
            out.push(c);
            i += c.len_utf8().max(1);
        }
        out
    }

    /// The same outcome, with envelopes blanked: `Err` says what differs.
    fn same(handler: &Happened, engine: &Happened) -> Result<(), String> {
        match (handler, engine) {
            (Happened::Unmatched, Happened::Unmatched) => Ok(()),
            (Happened::Rejected(a), Happened::Rejected(b)) => {
                let key = |r: &run::Refused| (r.status, r.code.clone(), r.policy.clone());
                if key(a) == key(b) {
                    Ok(())
                } else {
                    Err(format!("handler {a:?}, engine {b:?}"))
                }
            }
            (Happened::Protected(a), Happened::Protected(b)) => {
                if a.policy != b.policy || a.fields != b.fields {
                    return Err(format!(
                        "policy or field reports differ: {:?} vs {:?}",
                        (&a.policy, &a.fields),
                        (&b.policy, &b.fields)
                    ));
                }
                let text = |r: &pii_core::Request| {
                    let headers: Vec<String> = r
                        .headers
                        .iter()
                        .map(|(n, v)| format!("{n}: {}", blank_envelopes(v)))
                        .collect();
                    (
                        r.method.clone(),
                        r.path.clone(),
                        blank_envelopes(&r.query),
                        headers,
                        blank_envelopes(&String::from_utf8_lossy(&r.body)),
                        r.body.len(),
                    )
                };
                if text(&a.request) == text(&b.request) {
                    Ok(())
                } else {
                    Err(format!(
                        "the forwarded requests differ:\n handler {:?}\n engine  {:?}",
                        text(&a.request),
                        text(&b.request)
                    ))
                }
            }
            (a, b) => Err(format!(
                "handler: {}; engine: {}",
                report::describe(a),
                report::describe(b)
            )),
        }
    }

    #[test]
    fn envelopes_are_blanked() {
        assert_eq!(
            blank_envelopes(r#"{"a":"pe1.AbC-_9","b":"type1.x","c":"pe.x"}"#),
            r#"{"a":"pe…","b":"type…","c":"pe.x"}"#
        );
    }

    /// Every example policy's test case, through the handler and through the engine alone:
    /// the same outcome, policy, field reports and forwarded request (envelopes aside). The
    /// handler adds what a transport imposes (limits, read-only headers); an example case
    /// that meets one of them must say so (none does today).
    #[test]
    fn every_example_case_has_the_same_outcome_through_the_handler_and_the_engine() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies");
        let texts = key_texts(std::slice::from_ref(&dir), None, None, None).expect("keys");
        let policy_files = yaml_files(&dir);
        let deployment = Deployment::load(&dir, &policy_files, &texts).expect("policies load");
        assert!(deployment.broken.is_empty());
        let engine = deployment.function.engine().expect("engine");
        let mut compared = 0;
        let mut differ = Vec::new();
        for policy in &policy_files {
            for case in yaml_files(&dir.join(format!("{}.tests", stem(policy)))) {
                let parsed = read_case(&case).expect("case file");
                let event = parsed.event(&case).expect("case event");
                let by_engine = through_engine(engine, &event);
                let by_handler = deployment.function.run(event).expect("handler runs");
                if let Err(e) = same(&by_handler, &by_engine) {
                    differ.push(format!("{}: {e}", case.display()));
                }
                compared += 1;
            }
        }
        assert!(compared >= 40, "only {compared} example cases found");
        assert!(differ.is_empty(), "{}", differ.join("\n"));
    }
}
