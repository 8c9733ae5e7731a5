//! The parser-differential cases of issue 13 as project tests: every case directory under
//! `tests/differentials/` (the nine handed cases, with their sources in `expect.md`, and the
//! further spellings of the same kinds numbered from 21; issue 21's handed cases, renumbered
//! from 31: encoded path separators, bracketed names, GraphQL batches and GET variables, Rails'
//! merged query, a query rule's value in the body, Django's query charset) holds a policy, CloudFront events and
//! `case.json` (the plaintext that must never be forwarded and the accepted outcomes). Each
//! event goes through the real `pii-edge apply --edge` (the Lambda@Edge handler), and what it
//! would forward (body decoded, query string, header values, each also percent-decoded) and
//! its log line must hold none of the plaintext. `handed_cases_pass_the_shared_checker` runs
//! the checker the cases came with (`check.py`, which also decodes EBCDIC) on the same binary.
//! The real origin parsers read the same cases in `scripts/test-differential.sh`.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_pii-edge");

fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/differentials")
}

/// Throwaway keys for the zone and token domain the cases use, in a directory of their own.
fn keys(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "pii-edge-differentials-{test}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let keygen = |args: &[&str]| {
        let out = Command::new(BIN)
            .arg("keygen")
            .args(args)
            .arg("--out")
            .arg(&dir)
            .output()
            .expect("run pii-edge keygen");
        assert!(out.status.success(), "keygen {args:?}: {out:?}");
    };
    keygen(&["--zone", "eu-central", "--region", "eu-central-1"]);
    keygen(&["--token-domain", "email"]);
    dir
}

fn percent_decode(s: &str, plus: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: Option<&u8>| c.and_then(|&c| (c as char).to_digit(16));
        match (b[i], hex(b.get(i + 1)), hex(b.get(i + 2))) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
            (b'+', _, _) if plus => out.push(b' '),
            (c, _, _) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Everything an origin could read in what the edge forwards (or answers).
fn forwarded_texts(stdout: &str, out: &Value) -> Vec<String> {
    let mut blobs = vec![stdout.to_string()];
    if let Some(body) = out.get("body").filter(|b| b.is_object()) {
        let data = body["data"].as_str().unwrap_or("");
        let raw = if body["encoding"] == "base64" {
            base64::engine::general_purpose::STANDARD
                .decode(data)
                .expect("forwarded body is base64")
        } else {
            data.as_bytes().to_vec()
        };
        blobs.push(String::from_utf8_lossy(&raw).into_owned());
    }
    if let Some(q) = out["querystring"].as_str() {
        blobs.push(q.to_string());
    }
    if let Some(headers) = out["headers"].as_object() {
        for values in headers.values() {
            for h in values.as_array().into_iter().flatten() {
                blobs.push(h["value"].as_str().unwrap_or("").to_string());
            }
        }
    }
    blobs
        .into_iter()
        .flat_map(|b| [percent_decode(&b, true), percent_decode(&b, false), b])
        .collect()
}

fn run_case(case: &Path, keys: &Path) -> Vec<String> {
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("case.json")).expect("case.json"))
            .expect("case.json is JSON");
    let name = case.file_name().and_then(|n| n.to_str()).unwrap_or("?");
    let mut failures = Vec::new();
    for ev in meta["events"].as_array().expect("events") {
        let ev = ev.as_str().expect("event file name");
        // `case.json` may name another policy for an event: {"policy": {"event-x.json": "p.yaml"}}.
        let policy = meta["policy"][ev].as_str().unwrap_or("policy.yaml");
        let out = Command::new(BIN)
            .args(["apply", "--edge", "--policy"])
            .arg(case.join(policy))
            .arg("--event")
            .arg(case.join(ev))
            .arg("--keys")
            .arg(keys.join("public.jwks"))
            .arg("--tokens")
            .arg(keys.join("tokens.jwks"))
            .output()
            .expect("run pii-edge apply");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let Ok(answer) = serde_json::from_str::<Value>(&stdout) else {
            failures.push(format!("{name}/{ev}: no JSON answer ({stderr})"));
            continue;
        };
        let status = answer["status"]
            .as_str()
            .map_or(200, |s| s.parse::<u16>().unwrap_or(0));
        let texts = forwarded_texts(&stdout, &answer);
        for secret in meta["secrets"][ev].as_array().into_iter().flatten() {
            let secret = secret.as_str().unwrap_or_default();
            if texts.iter().any(|t| t.contains(secret)) || stderr.contains(secret) {
                failures.push(format!(
                    "{name}/{ev}: plaintext {secret:?} forwarded or logged"
                ));
            }
        }
        if meta["accept"] == "reject" && status < 400 {
            failures.push(format!(
                "{name}/{ev}: forwarded (status {status}), must be refused"
            ));
        }
        if status >= 400 && !answer["body"].as_str().unwrap_or("").contains("\"type\"") {
            failures.push(format!(
                "{name}/{ev}: a refusal without an RFC 9457 problem body"
            ));
        }
        eprintln!("{name}/{ev}: status {status}");
    }
    failures
}

#[test]
fn every_differential_case_is_protected_or_refused() {
    let keys = keys("cases");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/differentials")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("case.json").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 27, "only {} cases", cases.len());
    let failures: Vec<String> = cases.iter().flat_map(|c| run_case(c, &keys)).collect();
    let _ = std::fs::remove_dir_all(&keys);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The refusal of a body the function was not given names the likely cause.
#[test]
fn a_body_the_function_was_not_given_is_refused_naming_include_body() {
    let keys = keys("include-body");
    let case = cases_dir().join("10-include-body-missing");
    let out = Command::new(BIN)
        .args(["apply", "--edge", "--policy"])
        .arg(case.join("policy.yaml"))
        .arg("--event")
        .arg(case.join("event.json"))
        .arg("--keys")
        .arg(keys.join("public.jwks"))
        .output()
        .expect("run pii-edge apply");
    let _ = std::fs::remove_dir_all(&keys);
    let answer: Value = serde_json::from_slice(&out.stdout).expect("JSON answer");
    assert_eq!(answer["status"], "500");
    let problem: Value =
        serde_json::from_str(answer["body"].as_str().expect("problem body")).expect("problem JSON");
    assert_eq!(
        problem["type"],
        "https://pii-edge.dev/problems/body-not-received"
    );
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("include-body")),
        "{problem}"
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("include-body"), "{log}");
}

/// The checker the handed cases came with, on the same binary (needs `python3`).
#[test]
fn handed_cases_pass_the_shared_checker() {
    let out = Command::new("python3")
        .arg(cases_dir().join("check.py"))
        .arg(BIN)
        .arg(cases_dir())
        .output()
        .expect("python3 runs check.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.ends_with(" passed, 0 failed")),
        "{stdout}"
    );
}
