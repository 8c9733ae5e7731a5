//! Printing a test run: one line per case (`ok` with its description, or `FAIL` with one line
//! per problem, continuation lines indented), `--` for a policy without cases, and the summary
//! `N passed, N failed`. Also the short texts the messages use.

use std::path::Path;

use super::run::Happened;
use crate::shared::files::shown;
use crate::shared::style::{count, outln, Stream, Style};

/// Passed and failed cases so far.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Tally {
    pub(super) passed: usize,
    pub(super) failed: usize,
}

impl Tally {
    /// Counts a case and prints its line (a passing one only when not `quiet`).
    pub(super) fn case(&mut self, case: &Path, result: Result<String, Vec<String>>, quiet: bool) {
        let style = Style::for_stream(Stream::Out);
        let name = shown(case.strip_prefix(".").unwrap_or(case));
        match result {
            Ok(description) => {
                self.passed += 1;
                if !quiet {
                    outln!(
                        "{}  {}  {}",
                        style.green("ok  "),
                        name,
                        style.dim(&description)
                    );
                }
            }
            Err(problems) => {
                self.failed += 1;
                outln!("{}  {}", style.red(&style.bold("FAIL")), name);
                for line in problem_lines(&problems) {
                    outln!("{line}");
                }
            }
        }
    }

    /// `N passed, N failed`, green or red.
    pub(super) fn print_summary(&self) {
        let style = Style::for_stream(Stream::Out);
        let summary = format!("{} passed, {} failed", self.passed, self.failed);
        if self.failed > 0 {
            outln!("{}", style.red(&summary));
        } else {
            outln!("{}", style.green(&summary));
        }
    }
}

/// A policy without test cases (not a failure).
pub(super) fn no_cases(policy: &Path, cases_dir: &Path) {
    let style = Style::for_stream(Stream::Out);
    outln!(
        "{}  {}: no test cases ({}/*.yaml)",
        style.yellow("--  "),
        shown(policy),
        shown(cases_dir)
    );
}

/// The lines under a failing case: each problem's first line indented by 6, its further lines
/// by 8.
fn problem_lines(problems: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for p in problems {
        let mut lines = p.lines();
        if let Some(first) = lines.next() {
            out.push(format!("      {first}"));
        }
        out.extend(lines.map(|l| format!("        {l}")));
    }
    out
}

/// What happened to a request, in a sentence.
pub(super) fn describe(happened: &Happened) -> String {
    match happened {
        Happened::Unmatched => "unmatched (no policy matches; forwarded unchanged)".into(),
        Happened::Protected(p) => format!(
            "protected by `{}` ({})",
            p.policy,
            count(p.fields.len(), "value", "values")
        ),
        Happened::Rejected(r) => {
            let by = r
                .policy
                .as_deref()
                .map_or("no policy".to_string(), |p| format!("`{p}`"));
            let note = r
                .note
                .as_deref()
                .map(|n| format!(" (the function's log: {n})"))
                .unwrap_or_default();
            format!(
                "rejected {} {} by {by}: {}{note}",
                r.status, r.code, r.detail
            )
        }
    }
}

/// Text for messages: quoted and cut when long.
pub(super) fn show(text: &str) -> String {
    let quoted = format!("{text:?}");
    let count = quoted.chars().count();
    if count <= 60 {
        quoted
    } else {
        let head: String = quoted.chars().take(40).collect();
        format!("{head}…\" ({count} chars)")
    }
}

#[cfg(test)]
mod tests {
    use super::super::run::{Forwarded, Refused};
    use super::*;

    #[test]
    fn show_quotes_and_cuts() {
        assert_eq!(show("a\"b"), r#""a\"b""#);
        let long = "x".repeat(100);
        let shown = show(&long);
        assert!(shown.ends_with("…\" (102 chars)"), "{shown}");
        assert_eq!(
            shown.chars().count(),
            40 + "…\" (102 chars)".chars().count()
        );
    }

    #[test]
    fn describe_names_policy_reason_and_the_log_note() {
        assert!(describe(&Happened::Unmatched).starts_with("unmatched"));
        let protected = Happened::Protected(Forwarded {
            policy: "signup".into(),
            fields: Vec::new(),
            request: pii_core::Request::new("GET", "/"),
        });
        assert_eq!(describe(&protected), "protected by `signup` (0 values)");
        let refused = Happened::Rejected(Refused {
            status: 500,
            code: "internal".into(),
            detail: "internal error".into(),
            policy: Some("p".into()),
            note: Some("a policy changed read-only header via".into()),
        });
        assert_eq!(
            describe(&refused),
            "rejected 500 internal by `p`: internal error (the function's log: a policy changed read-only header via)"
        );
    }

    #[test]
    fn problems_are_indented_with_continuations() {
        let lines = problem_lines(&["one\ntwo".into(), "three".into()]);
        assert_eq!(lines, ["      one", "        two", "      three"]);
    }

    #[test]
    fn tally_counts() {
        let mut tally = Tally::default();
        tally.case(Path::new("a.yaml"), Ok("fine".into()), true);
        tally.case(Path::new("b.yaml"), Err(vec!["bad".into()]), true);
        assert_eq!(
            tally,
            Tally {
                passed: 1,
                failed: 1
            }
        );
    }
}
