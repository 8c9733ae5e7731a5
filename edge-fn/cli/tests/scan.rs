//! `pii-edge scan` as a user runs it: the example events and the recorded browser session
//! (examples/har/signup.har) against the example policies, every input form, the JSON and
//! findings formats, `--fail-on`, masking and `--no-examples`, and `--suggest` whose draft
//! `check` accepts and whose cases `test` passes.
//!
//! The table for the example events is pinned in `tests/cli/scan-events.stdout`; regenerate
//! with `PII_EDGE_SNAPSHOTS=overwrite cargo test -p pii-edge-cli --test scan` and review the diff.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_pii-edge");

/// Every value of the recorded session (all fake): none may ever be printed whole.
const SESSION_VALUES: &[&str] = &[
    "jana.fiktiv@example.com",
    "jana.fiktiv%40example.com",
    "Jana Fiktiv",
    "+49 30 23125000",
    "1988-07-14",
    "DE89 3704 0044 0532 0130 00",
    "39170342364",
    "Fiktiv",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pii-edge");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "pii-edge {args:?} panicked:\n{stderr}"
    );
    out
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(out)))
}

fn snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli")
        .join(name);
    if std::env::var_os("PII_EDGE_SNAPSHOTS").is_some_and(|v| v == "overwrite") {
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        actual, expected,
        "{name} differs; PII_EDGE_SNAPSHOTS=overwrite regenerates it"
    );
}

/// `(location, detector, coverage)` of every finding of a JSON report.
fn rows(report: &Value) -> Vec<(String, String, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let loc = match f.get("claim").and_then(Value::as_str) {
                Some(c) => format!("{} (jwt claim {c})", f["location"].as_str().unwrap_or("")),
                None => f["location"].as_str().unwrap_or("").to_string(),
            };
            (
                loc,
                f["detector"].as_str().unwrap_or("").to_string(),
                f["coverage"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn has(rows: &[(String, String, String)], loc: &str, detector: &str, coverage: &str) -> bool {
    rows.iter()
        .any(|(l, d, c)| l == loc && d == detector && c == coverage)
}

#[test]
fn example_events_give_the_coverage_table() {
    let out = run(&["scan", "--policy", "policies", "examples/events"], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    snapshot("scan-events.stdout", &text(&out));
}

#[test]
fn the_browser_session_against_the_example_policies() {
    let out = run(
        &[
            "scan",
            "--policy",
            "policies",
            "--format",
            "json",
            "examples/har/signup.har",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let report = json(&out);
    assert_eq!(report["requests"], 6);
    let r = rows(&report);
    assert!(
        has(&r, "json:$['user']['email']", "email", "covered"),
        "{r:?}"
    );
    assert!(
        has(&r, "json:$['user']['phone']", "phone", "covered"),
        "{r:?}"
    );
    assert!(
        has(
            &r,
            "json:$['user']['birthDate']",
            "date-of-birth",
            "covered"
        ),
        "{r:?}"
    );
    assert!(
        has(
            &r,
            "json:$['user']['payment']['iban']",
            "iban",
            "not covered"
        ),
        "{r:?}"
    );
    assert!(
        has(
            &r,
            "json:$['user']['steuerId']",
            "national-id:de-tax-id",
            "not covered"
        ),
        "{r:?}"
    );
    assert!(
        has(
            &r,
            "header:authorization (jwt claim email)",
            "jwt-claim",
            "not covered"
        ),
        "{r:?}"
    );
    assert!(
        has(
            &r,
            "query:email",
            "email",
            "route not matched by any policy"
        ),
        "{r:?}"
    );
    assert!(
        has(&r, "form:email", "email", "route not matched by any policy"),
        "{r:?}"
    );
    let signup = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["location"] == "json:$['user']['email']")
        .unwrap();
    assert_eq!(signup["policy"], "signup");
    assert_eq!(signup["rule"], "email");
    assert_eq!(signup["route"], "/api/users");
    assert_eq!(signup["method"], "POST");
}

#[test]
fn no_value_is_ever_printed_whole_and_no_examples_prints_none() {
    for format in ["table", "json", "findings"] {
        let out = run(
            &[
                "scan",
                "--policy",
                "policies",
                "--format",
                format,
                "examples/har/signup.har",
            ],
            None,
        );
        let all = format!("{}{}", text(&out), String::from_utf8_lossy(&out.stderr));
        for v in SESSION_VALUES {
            assert!(!all.contains(v), "{format} output shows {v}:\n{all}");
        }
        assert!(all.contains("*"), "{format}: masked examples expected");
        let none = run(
            &[
                "scan",
                "--no-examples",
                "--format",
                format,
                "examples/har/signup.har",
            ],
            None,
        );
        let all = text(&none);
        assert!(
            !all.contains('*'),
            "{format} --no-examples still shows examples:\n{all}"
        );
        assert!(!all.contains("\"example\""), "{all}");
        for v in SESSION_VALUES {
            assert!(!all.contains(v));
        }
    }
}

#[test]
fn fail_on_uncovered_is_a_ci_gate() {
    let out = run(
        &[
            "scan",
            "--policy",
            "policies",
            "--fail-on",
            "uncovered",
            "examples/har/signup.har",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let covered = run(
        &[
            "scan",
            "--policy",
            "policies",
            "--fail-on",
            "uncovered",
            "examples/events/search-query.json",
        ],
        None,
    );
    assert_eq!(covered.status.code(), Some(0), "{}", text(&covered));
    assert!(
        text(&covered).contains("covered (search: email-query)"),
        "{}",
        text(&covered)
    );
    let any = run(
        &[
            "scan",
            "--policy",
            "policies",
            "--fail-on",
            "any",
            "examples/events/search-query.json",
        ],
        None,
    );
    assert_eq!(any.status.code(), Some(1));
    let clean = run(
        &["scan", "--fail-on", "any", "-"],
        Some(b"{\"method\":\"GET\",\"path\":\"/health\"}\n"),
    );
    assert_eq!(clean.status.code(), Some(0));
    // Without policies nothing is known to be covered.
    let unchecked = run(
        &[
            "scan",
            "--fail-on",
            "uncovered",
            "examples/events/search-query.json",
        ],
        None,
    );
    assert_eq!(unchecked.status.code(), Some(1));
    assert!(text(&unchecked).contains("coverage not checked"));
}

/// A HAR written on one line with a broken entry is an error (exit 1 whatever `--fail-on`
/// says), and an unreadable NDJSON line makes the gate fail: what was not read was not scanned.
#[test]
fn unreadable_input_fails_the_gate() {
    let har = br#"{"log":{"entries":[{"request":{"method":"GET","url":"https://h/api/search?email=erika%40example.de"}},{"request":{"url":"/no-method"}}]}}"#;
    let out = run(
        &[
            "scan",
            "--policy",
            "policies",
            "--fail-on",
            "uncovered",
            "-",
        ],
        Some(&har[..]),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("a HAR file that cannot be read whole"),
        "{err}"
    );

    let lines = b"{\"method\":\"GET\",\"path\":\"/health\"}\nnot json\n";
    let gate = run(&["scan", "--fail-on", "any", "-"], Some(&lines[..]));
    assert_eq!(gate.status.code(), Some(1), "{}", text(&gate));
    let err = String::from_utf8_lossy(&gate.stderr);
    assert!(err.contains("1 line could not be read"), "{err}");
    // Records that are no requests (response events) are skipped with a note, not a failure.
    let responses = run(
        &["scan", "--fail-on", "any", "examples/events/responses"],
        None,
    );
    assert_eq!(
        responses.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&responses.stderr)
    );
    // Without the gate the same input is a report with a note.
    let report = run(&["scan", "-"], Some(&lines[..]));
    assert_eq!(report.status.code(), Some(0), "{}", text(&report));
}

#[test]
fn stdin_ndjson_and_directories() {
    let lines = concat!(
        r#"{"method":"POST","path":"/api/orders/123","headers":{"content-type":"application/json"},"body":"{\"billing\":{\"iban\":\"FR14 2004 1010 0505 0001 3M02 606\"}}"}"#,
        "\n",
        r#"{"method":"POST","url":"https://shop.example/api/orders/456?x=1","headers":[["Cookie","email=erika%40example.de"]],"body":{"billing":{"iban":"DE89370400440532013000"}}}"#,
        "\n",
        "this line is not JSON\n",
    );
    let out = run(&["scan", "--format", "json", "-"], Some(lines.as_bytes()));
    assert_eq!(out.status.code(), Some(0));
    let report = json(&out);
    assert_eq!(report["requests"], 2);
    assert_eq!(report["skipped"], 1);
    let iban = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["detector"] == "iban")
        .unwrap();
    assert_eq!(iban["route"], "/api/orders/*");
    assert_eq!(iban["requests"], 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 3: not JSON"));
    let cookie = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["location"] == "cookie:email");
    assert!(cookie);

    let dir = run(
        &[
            "scan",
            "--format",
            "json",
            "examples/events",
            "examples/har",
        ],
        None,
    );
    assert_eq!(json(&dir)["requests"], 12 + 6);
}

#[test]
fn unreadable_inputs_are_errors_with_a_position() {
    let tmp = tempdir("garbage");
    let bad = tmp.join("bad.har");
    std::fs::write(&bad, "{\n  \"log\": {\"entries\": [ {\"request\": 5} ] } }").unwrap();
    let out = run(&["scan", bad.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("line 2"),
        "{err}"
    );
    let bin = tmp.join("bin.json");
    std::fs::write(&bin, [0xff_u8, 0xfe, 0, 1, 2, b'\n', b'{']).unwrap();
    let out = run(&["scan", bin.to_str().unwrap()], None);
    assert!(out.status.code().is_some());
    let missing = run(&["scan", "no/such/file.har"], None);
    assert_eq!(missing.status.code(), Some(1));
    // No progress bar when stderr is not a terminal.
    let piped = run(&["scan", "examples/har/signup.har"], None);
    assert!(
        piped.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
}

fn tempdir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("scan-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

fn files_under(dir: &Path) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(dir).expect("directory").flatten() {
        if entry.path().is_dir() {
            all.push_str(&files_under(&entry.path()));
        } else {
            all.push_str(&std::fs::read_to_string(entry.path()).expect("text file"));
        }
    }
    all
}

#[test]
fn suggest_writes_a_draft_that_check_accepts_and_test_passes() {
    let tmp = tempdir("suggest");
    let draft = tmp.join("draft.yaml");
    let out = run(
        &[
            "scan",
            "--policy",
            "policies",
            "--suggest",
            draft.to_str().unwrap(),
            "examples/har/signup.har",
            "examples/events",
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&draft).unwrap();
    assert!(text.contains("name: draft"), "{text}");
    assert!(
        text.contains("# email, 1 requests on GET /api/users/check"),
        "{text}"
    );
    assert!(text.contains("select: { query: \"email\" }"), "{text}");
    assert!(text.contains("select: { form: \"vorname\" }"), "{text}");
    // Routes another policy matches are notes for that policy, not rules of the draft.
    assert!(text.contains("#   policy signup:"), "{text}");
    assert!(text.contains("payment']['iban']"), "{text}");
    assert!(!text.contains("\"/api/users\""), "{text}");

    let check = run(&["check", draft.to_str().unwrap()], None);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let test = run(&["test", tmp.to_str().unwrap()], None);
    let summary = String::from_utf8_lossy(&test.stdout);
    assert_eq!(test.status.code(), Some(0), "{summary}");
    let last = summary.lines().last().unwrap_or("");
    let passed: usize = last.split(' ').next().unwrap().parse().unwrap();
    assert!(
        passed >= 3 && last.ends_with("passed, 0 failed"),
        "{summary}"
    );

    // The cases hold fake values only.
    let all = files_under(&tmp);
    for v in SESSION_VALUES
        .iter()
        .chain(&["erika@example.de", "Mustermann", "Hauptstr"])
    {
        assert!(
            !all.contains(v),
            "the draft or its cases hold the scanned value {v}"
        );
    }
}
