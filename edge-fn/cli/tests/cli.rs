//! The `pii-edge` command line, run as a real process: exit codes, pinned error output,
//! `check`, `test`, `apply` then `reveal` on every example event, `keygen` file modes,
//! `package`, `--help` everywhere, and no panic on garbage.
//!
//! Snapshots live in `tests/cli/`; regenerate them with
//! `PII_EDGE_SNAPSHOTS=overwrite cargo test -p pii-edge-cli --test cli` and review the diff.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_pii-edge");

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn root() -> PathBuf {
    manifest_dir().join("../..")
}

/// Runs `pii-edge` in the crate directory (so paths in output are stable), stdout piped (no
/// colours), with optional stdin.
fn run_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn pii-edge");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(input).expect("write stdin");
    }
    let out = child.wait_with_output().expect("pii-edge output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "pii-edge {args:?} panicked:\n{stderr}"
    );
    out
}

fn run(args: &[&str]) -> Output {
    run_in(&manifest_dir(), args, None)
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code (not a signal)")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Compares with `tests/cli/<name>`, or rewrites it with `PII_EDGE_SNAPSHOTS=overwrite`.
fn snapshot(name: &str, actual: &str) {
    let path = manifest_dir().join("tests/cli").join(name);
    if std::env::var_os("PII_EDGE_SNAPSHOTS").is_some_and(|v| v == "overwrite") {
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with PII_EDGE_SNAPSHOTS=overwrite cargo test -p pii-edge-cli --test cli\nactual:\n{actual}",
            path.display()
        )
    });
    assert_eq!(
        actual,
        expected,
        "output differs from {} (PII_EDGE_SNAPSHOTS=overwrite to accept)",
        path.display()
    );
}

/// A fresh, empty scratch directory.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("pii-edge-cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn keys(name: &str) -> String {
    root()
        .join("examples/keys")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn help_works_for_every_command() {
    for command in [
        "", "check", "test", "apply", "reveal", "keygen", "package", "schema",
    ] {
        let mut args: Vec<&str> = command.split_whitespace().collect();
        args.push("--help");
        let out = run(&args);
        assert_eq!(code(&out), 0, "pii-edge {args:?}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("Usage: pii-edge"),
            "{args:?}: {}",
            stdout(&out)
        );
    }
    let out = run(&["--version"]);
    assert_eq!(code(&out), 0);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["frobnicate"][..],
        &["check"][..],
        &["apply", "--event", "x.json"][..],
        &["apply", "--policy", "p", "--event", "a", "--body", "b"][..],
        &["keygen", "--out", "x"][..],
        &["keygen", "--zone", "eu", "--out", "x"][..],
        &["check", "--format", "xml", "p"][..],
    ] {
        let out = run(args);
        assert_eq!(code(&out), 2, "pii-edge {args:?}: {}", stderr(&out));
    }
}

#[test]
fn check_accepts_every_example_policy() {
    let out = run(&["check", "../../policies"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("policies valid"), "{}", stdout(&out));
    assert_eq!(stderr(&out), "");

    let out = run(&["check", "--format", "json", "../../policies"]);
    assert_eq!(code(&out), 0);
    assert_eq!(stdout(&out).trim(), "[]");

    // With the demo keys: every zone and token domain is covered.
    let out = run(&[
        "check",
        "../../policies",
        "--keys",
        &keys("public.jwks"),
        "--tokens",
        &keys("tokens.jwks"),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn check_points_at_each_mistake_of_a_broken_policy() {
    let out = run(&["check", "tests/fixtures/broken/"]);
    assert_eq!(code(&out), 1);
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(
        err.contains("tests/fixtures/broken/signup-broken.yaml:10:28: invalid JSONPath"),
        "{err}"
    );
    assert!(err.contains("^"), "{err}");
    snapshot("check-broken.stderr", &err);

    let out = run(&[
        "check",
        "--format",
        "json",
        "tests/fixtures/broken/signup-broken.yaml",
    ]);
    assert_eq!(code(&out), 1);
    let list: Value = serde_json::from_str(&stdout(&out)).expect("json output");
    let first = &list[0];
    assert_eq!(first["file"], "tests/fixtures/broken/signup-broken.yaml");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(10), Some(28))
    );
    for d in list.as_array().expect("array") {
        let keys: Vec<&str> = d
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["column", "file", "line", "message"]);
    }
    snapshot("check-broken.json", &stdout(&out));
}

#[test]
fn check_reads_stdin_and_reports_missing_files() {
    let policy = std::fs::read(root().join("policies/search.yaml")).expect("policy");
    let out = run_in(&manifest_dir(), &["check", "-"], Some(&policy));
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let out = run(&["check", "no/such/dir"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("no/such/dir: no such file or directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn example_policy_cases_pass() {
    let out = run(&["test", "../../policies"]);
    let text = stdout(&out);
    assert_eq!(code(&out), 0, "{text}{}", stderr(&out));
    let last = text.lines().last().expect("summary line");
    let (passed, failed) = last.split_once(" passed, ").expect("summary format");
    let passed: usize = passed.parse().expect("count");
    assert_eq!(failed, "0 failed");
    assert!(passed >= 7 * 3, "at least three cases per policy: {last}");
    assert!(!text.contains("FAIL"));
    assert!(
        !text.contains("no test cases"),
        "every policy has cases:\n{text}"
    );
}

#[test]
fn failing_cases_show_field_expectation_and_result() {
    let out = run(&[
        "test",
        "tests/fixtures/failing/policies",
        "--keys",
        &keys("public.jwks"),
        "--private-keys",
        &keys("private.jwks"),
        "--tokens",
        &keys("tokens.jwks"),
    ]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(text.ends_with("1 passed, 4 failed\n"), "{text}");
    assert!(text.contains(
        "json:$['email']: expected encrypted (an envelope that opens to the original), got masked (rule `email`)"
    ));
    snapshot("test-failing.stdout", &text);
}

/// A single case file and a policy file can be tested on their own.
#[test]
fn test_narrows_to_a_policy_or_a_case() {
    let out = run(&["test", "../../policies/search.yaml"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(stdout(&out).contains("search.tests/01-search-event.yaml"));
    assert!(!stdout(&out).contains("signup.tests"));

    let out = run(&[
        "test",
        "tests/fixtures/failing/policies/orders.tests/01-right.yaml",
    ]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(stdout(&out).ends_with("1 passed, 0 failed\n"));
}

/// The original request of an example event, as the engine sees it.
struct Original {
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn original_of(event_text: &str) -> Original {
    let event: edge_fn::cloudfront::CloudFrontEvent = event_text.parse().expect("event");
    let request = &event.single_record().expect("one record").cf.request;
    let mut headers = Vec::new();
    for (name, values) in request.headers.iter() {
        for h in values {
            headers.push((
                h.key.clone().unwrap_or_else(|| name.to_string()),
                h.value.clone(),
            ));
        }
    }
    Original {
        query: request.querystring.clone(),
        headers,
        body: request
            .body
            .as_ref()
            .map(|b| b.decode().expect("body"))
            .unwrap_or_default(),
    }
}

/// `$['a'][0]['b']` as a JSON pointer `/a/0/b`.
fn pointer(normalized: &str) -> String {
    let mut out = String::new();
    let mut rest = normalized.strip_prefix('$').expect("normalized path");
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("['") {
            let end = r.find("']").expect("end of name");
            out.push('/');
            out.push_str(&r[..end].replace('~', "~0").replace('/', "~1"));
            rest = &r[end + 2..];
        } else {
            let r = rest.strip_prefix('[').expect("index");
            let end = r.find(']').expect("end of index");
            out.push('/');
            out.push_str(&r[..end]);
            rest = &r[end + 1..];
        }
    }
    out
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every parameter of a query or form, decoded.
fn params(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(n), decode(v))
        })
        .collect()
}

/// The `nth` value of parameter `name` (decoded, case-insensitive) in a query or form.
fn param(raw: &str, name: &str, nth: usize) -> Option<String> {
    raw.split('&')
        .filter_map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            decode(n).eq_ignore_ascii_case(name).then(|| decode(v))
        })
        .nth(nth)
}

/// `name#n` or `name` (occurrence 0) of a field location's text form.
fn name_nth(rest: &str) -> (&str, usize) {
    match rest.rsplit_once('#') {
        Some((name, nth)) => (name, nth.parse().expect("n")),
        None => (rest, 0),
    }
}

/// `apply` then `reveal` on every example request event: every encrypted value comes back as
/// it was, and a request whose rules all encrypt comes back byte for byte.
#[test]
fn apply_then_reveal_round_trips_every_example_event() {
    let events_dir = root().join("examples/events");
    let mut events: Vec<PathBuf> = std::fs::read_dir(&events_dir)
        .expect("events")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    events.sort();
    let mut protected = 0;
    let mut opened_total = 0;
    for path in &events {
        let event_text = std::fs::read_to_string(path).expect("event");
        let out = run(&[
            "apply",
            "--policy",
            "../../policies",
            "--event",
            &path.display().to_string(),
            "--keys",
            &keys("public.jwks"),
            "--tokens",
            &keys("tokens.jwks"),
        ]);
        assert_eq!(code(&out), 0, "{}: {}", path.display(), stderr(&out));
        let applied: Value = serde_json::from_str(&stdout(&out)).expect("apply prints JSON");
        if applied["outcome"] != "protected" {
            continue;
        }
        protected += 1;
        let original = original_of(&event_text);
        let out = run_in(
            &manifest_dir(),
            &["reveal", "--keys", &keys("private.jwks"), "--request", "-"],
            Some(&out.stdout),
        );
        assert_eq!(code(&out), 0, "{}: {}", path.display(), stderr(&out));
        let revealed: Value = serde_json::from_str(&stdout(&out)).expect("reveal prints JSON");
        let request = &revealed["request"];
        let body = request["body"].as_str().expect("text body");
        let query = request["query"].as_str().expect("query");
        let headers: Vec<(String, String)> = request["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .map(|h| {
                let (n, v) = h
                    .as_str()
                    .expect("header line")
                    .split_once(": ")
                    .expect("Name: value");
                (n.to_string(), v.to_string())
            })
            .collect();

        let fields = applied["fields"].as_array().expect("fields");
        let encrypted: Vec<&str> = fields
            .iter()
            .filter(|f| f["action"] == "encrypt" && f["removed"] == false)
            .map(|f| f["location"].as_str().expect("location"))
            .collect();
        assert_eq!(
            revealed["opened"].as_u64(),
            Some(encrypted.len() as u64),
            "{}",
            path.display()
        );
        opened_total += encrypted.len();
        let original_body = String::from_utf8_lossy(&original.body).into_owned();
        for location in &encrypted {
            let (part, rest) = location.split_once(':').expect("part:");
            match part {
                "json" => {
                    let before: Value =
                        serde_json::from_slice(&original.body).expect("original json");
                    let after: Value = serde_json::from_str(body).expect("revealed json");
                    let p = pointer(rest);
                    assert_eq!(
                        after.pointer(&p),
                        before.pointer(&p),
                        "{}: {location}",
                        path.display()
                    );
                    assert!(before.pointer(&p).is_some());
                }
                "query" => {
                    let (name, nth) = name_nth(rest);
                    assert_eq!(
                        param(query, name, nth),
                        param(&original.query, name, nth),
                        "{location}"
                    );
                    assert!(param(query, name, nth).is_some());
                }
                "form" => {
                    let (name, nth) = name_nth(rest);
                    assert_eq!(
                        param(body, name, nth),
                        param(&original_body, name, nth),
                        "{location}"
                    );
                    assert!(param(body, name, nth).is_some());
                }
                "header" => {
                    let (name, nth) = name_nth(rest);
                    let nth_of = |hs: &[(String, String)]| {
                        hs.iter()
                            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                            .nth(nth)
                            .cloned()
                    };
                    assert_eq!(nth_of(&headers), nth_of(&original.headers), "{location}");
                }
                other => panic!("unexpected location kind {other}"),
            }
        }
        if !encrypted.is_empty() && encrypted.len() == fields.len() {
            // Every rule encrypted: the whole request comes back.
            assert_eq!(body.as_bytes(), &original.body[..], "{}", path.display());
            assert_eq!(params(query), params(&original.query), "{}", path.display());
            assert_eq!(headers, original.headers, "{}", path.display());
        }
    }
    assert!(
        protected >= 4,
        "signup, form, search and header events are protected"
    );
    assert!(opened_total >= 8, "{opened_total} envelopes opened");
}

#[test]
fn apply_explains_without_plaintext() {
    let out = run(&[
        "apply",
        "--policy",
        "../../policies/signup.yaml",
        "--event",
        "../../examples/events/signup-json.json",
        "--explain",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("protected by policy `signup`"), "{text}");
    assert!(text.contains("RULE"), "{text}");
    assert!(text.contains("json:$['user']['email']"), "{text}");
    assert!(!text.contains("erika@example.de"), "{text}");
    assert!(!text.contains('\u{1b}'), "no colours when piped");

    // Rejections and unmatched requests print JSON too, with exit code 0.
    let out = run(&[
        "apply",
        "-p",
        "../../policies",
        "--event",
        "../../examples/events/signup-gzip.json",
    ]);
    assert_eq!(code(&out), 0);
    let v: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(
        (v["outcome"].as_str(), v["status"].as_u64()),
        (Some("rejected"), Some(415))
    );
    assert_eq!(v["reason"], "content-encoding");

    let out = run(&[
        "apply",
        "-p",
        "../../policies",
        "--path",
        "/nothing/here",
        "--query",
        "email=a%40b.de",
    ]);
    assert_eq!(code(&out), 0);
    let v: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(v["outcome"], "unmatched");

    // --body with request flags, the content type guessed.
    let out = run(&[
        "apply",
        "-p",
        "../../policies",
        "--method",
        "POST",
        "--path",
        "/checkout",
        "--body",
        "card_number=4111111111111111&cvv=123",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(v["policy"], "checkout-form");
    assert!(!v["request"]["body"]
        .as_str()
        .expect("body")
        .contains("4111111111111111"));
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn keygen_writes_private_keys_with_mode_0600() {
    let dir = scratch("keygen");
    let d = dir.display().to_string();
    let out = run(&[
        "keygen",
        "--zone",
        "eu-central",
        "--region",
        "eu-central-1",
        "--region",
        "eu-central-2",
        "--out",
        &d,
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut singles = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("dir") {
        let path = entry.expect("entry").path();
        if path.to_string_lossy().ends_with(".private.jwk") {
            singles.push(path);
        }
    }
    assert_eq!(singles.len(), 2);
    for single in &singles {
        assert_eq!(mode(single), 0o600, "{}", single.display());
        assert!(std::fs::read_to_string(single)
            .expect("jwk")
            .contains("\"d\""));
    }
    assert_eq!(mode(&dir.join("private.jwks")), 0o600);
    let public = std::fs::read_to_string(dir.join("public.jwks")).expect("public.jwks");
    assert!(
        !public.contains("\"d\""),
        "no private member in the public set"
    );
    assert!(
        !stdout(&out).contains("\"d\""),
        "keygen does not print secrets"
    );

    // Adding a key keeps the others.
    let out = run(&[
        "keygen",
        "--zone",
        "eu-west",
        "--region",
        "eu-west-1",
        "--out",
        &d,
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let public: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("public.jwks")).expect("read"))
            .expect("json");
    assert_eq!(public["keys"].as_array().map(Vec::len), Some(3));
    assert_eq!(mode(&dir.join("private.jwks")), 0o600);

    let out = run(&[
        "keygen",
        "--token-domain",
        "email",
        "--token-domain",
        "patient",
        "--out",
        &d,
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(mode(&dir.join("tokens.jwks")), 0o600);
    let out = run(&["keygen", "--token-domain", "email", "--out", &d]);
    assert_eq!(code(&out), 1, "a token domain keeps its key");
    assert!(stderr(&out).contains("already has a key"));

    let out = run(&[
        "keygen",
        "--zone",
        "Not A Zone",
        "--region",
        "x",
        "--out",
        &d,
    ]);
    assert_eq!(code(&out), 1);

    // The new keys work end to end: apply seals to them, reveal opens with them.
    let out = run(&[
        "apply",
        "-p",
        "../../policies",
        "--event",
        "../../examples/events/signup-json.json",
        "--keys",
        &format!("{d}/public.jwks"),
        "--tokens",
        &format!("{d}/tokens.jwks"),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run_in(
        &manifest_dir(),
        &[
            "reveal",
            "--keys",
            &format!("{d}/private.jwks"),
            "--request",
            "-",
        ],
        Some(&out.stdout),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("erika@example.de"));
    // The demo keys do not open what was sealed to the new ones.
    let sealed = run(&[
        "apply",
        "-p",
        "../../policies",
        "--event",
        "../../examples/events/signup-json.json",
        "--keys",
        &format!("{d}/public.jwks"),
        "--tokens",
        &format!("{d}/tokens.jwks"),
    ]);
    let out = run_in(
        &manifest_dir(),
        &["reveal", "--keys", &keys("private.jwks"), "--request", "-"],
        Some(&sealed.stdout),
    );
    assert_eq!(code(&out), 1);
}

/// A tiny stand-in for the addon: an x86_64 ELF header is all `package` checks.
fn fake_addon(len: usize) -> Vec<u8> {
    // An x86_64 ELF header and the version needs `package` reads (GLIBC_2.17)...
    let mut bytes = edge_fn::elf::fake_shared_object(&["GLIBC_2.2.5", "GLIBC_2.17"]);
    let head = bytes.len();
    bytes.resize(len.max(head), 0);
    // ... then incompressible filler.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for b in bytes.iter_mut().skip(head) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    bytes
}

#[test]
fn package_refuses_private_keys_and_checks_the_size() {
    let dir = scratch("package");
    let addon = dir.join("pii_edge.node");
    std::fs::write(&addon, fake_addon(200_000)).expect("addon");
    let index = dir.join("index.js");
    std::fs::write(&index, "exports.handler = async () => ({});\n").expect("index.js");
    let zip = dir.join("edge.zip");
    let common = |keys_file: &str, zip: &Path, addon: &Path| -> Vec<String> {
        vec![
            "package".into(),
            "--policies".into(),
            "../../policies".into(),
            "--keys".into(),
            keys_file.into(),
            "--tokens".into(),
            keys("tokens.jwks"),
            "--out".into(),
            zip.display().to_string(),
            "--addon".into(),
            addon.display().to_string(),
            "--index-js".into(),
            index.display().to_string(),
            "--allow-demo-keys".into(),
        ]
    };

    let args = common(&keys("private.jwks"), &zip, &addon);
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("private key"), "{}", stderr(&out));
    assert!(!zip.exists(), "nothing written");

    let args = common(&keys("public.jwks"), &zip, &addon);
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("of the 1,000,000 byte viewer-request limit"),
        "{}",
        stdout(&out)
    );
    let mut archive =
        zip::ZipArchive::new(std::fs::File::open(&zip).expect("zip")).expect("zip archive");
    let names: Vec<String> = archive.file_names().map(str::to_string).collect();
    assert_eq!(names.len(), 3);
    for name in ["index.js", "pii_edge.node", "bundle.json"] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    let mut bundle = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("bundle.json").expect("bundle"),
        &mut bundle,
    )
    .expect("read");
    assert!(!bundle.contains("\"d\""), "no private key in the package");
    let engine = edge_fn::bundle::load_bundle(&bundle).expect("the packaged bundle loads");
    assert!(engine.policies().len() >= 7);
    let node = archive.by_name("pii_edge.node").expect("addon");
    assert_eq!(node.unix_mode().map(|m| m & 0o777), Some(0o755));
    drop(node);

    // Over the viewer-request limit: refused, not written.
    let big_addon = dir.join("big.node");
    std::fs::write(&big_addon, fake_addon(1_200_000)).expect("big addon");
    let big_zip = dir.join("big.zip");
    let args = common(&keys("public.jwks"), &big_zip, &big_addon);
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("over the 1,000,000 byte viewer-request limit"),
        "{}",
        stderr(&out)
    );
    assert!(!big_zip.exists());

    // Not an ELF file: refused.
    let args = common(&keys("public.jwks"), &big_zip, &index);
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("not a Linux shared object"),
        "{}",
        stderr(&out)
    );
}

/// The hint of a zone without keys is a command that works once REGION is filled in, and the
/// keys it writes make `package` pass (issue 12: it used to omit the required `--region`).
#[test]
fn package_hint_for_a_zone_without_keys_works() {
    let dir = scratch("package-hint");
    let empty = dir.join("empty.jwks");
    std::fs::write(&empty, "{\"keys\":[]}").expect("empty key set");
    let addon = dir.join("pii_edge.node");
    std::fs::write(&addon, fake_addon(1_000)).expect("addon");
    let index = dir.join("index.js");
    std::fs::write(&index, "exports.handler = async () => ({});\n").expect("index.js");
    let package = |keys_file: &Path| {
        run(&[
            "package",
            "--policies",
            "../../policies",
            "--keys",
            &keys_file.display().to_string(),
            "--tokens",
            &keys("tokens.jwks"),
            "--out",
            &dir.join("edge.zip").display().to_string(),
            "--addon",
            &addon.display().to_string(),
            "--index-js",
            &index.display().to_string(),
            // The demo token keys; the public keys are the ones the hint makes.
            "--allow-demo-keys",
        ])
    };
    let out = package(&empty);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    let start = err.find("pii-edge keygen").expect("a keygen hint");
    let hint = &err[start..];
    let hint = &hint[..hint.find(',').expect("the hint ends with a comma")];
    let words: Vec<String> = hint
        .split_whitespace()
        .skip(1)
        .map(|w| match w {
            "REGION" => "eu-central-1".to_string(),
            "keys/" => dir.join("keys").display().to_string(),
            other => other.to_string(),
        })
        .collect();
    let out = run(&words.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code(&out), 0, "`{hint}` fails: {}", stderr(&out));
    let out = package(&dir.join("keys/public.jwks"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// A header entry whose `key` names another header is refused by `apply` (engine and `--edge`),
/// `reveal` and `test` alike: the one CloudFront conversion of the handler (issue 12).
#[test]
fn a_header_key_naming_another_header_is_refused_by_every_command() {
    let dir = scratch("header-key");
    let event = r#"{"Records":[{"cf":{"config":{"distributionId":"E1","eventType":"viewer-request"},
      "request":{"clientIp":"203.0.113.1","method":"GET","uri":"/api/profile","querystring":"",
        "headers":{"host":[{"key":"Host","value":"d1.cloudfront.net"}],
                   "x-trace":[{"key":"X-National-ID","value":"SECRET-NID-1"}]}}}}]}"#;
    let file = dir.join("event.json");
    std::fs::write(&file, event).expect("event");
    let file = file.display().to_string();
    let expected = "header `x-trace` has an entry whose `key` names a different header";

    let out = run(&["apply", "--policy", "../../policies", "--event", &file]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(stderr(&out).contains(expected), "{}", stderr(&out));
    assert!(!stdout(&out).contains("SECRET") && !stderr(&out).contains("SECRET"));

    let out = run(&[
        "apply",
        "--policy",
        "../../policies",
        "--event",
        &file,
        "--edge",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let answer: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(answer["status"], "400", "{answer}");
    let body: Value = serde_json::from_str(answer["body"].as_str().expect("body")).expect("json");
    assert_eq!(body["type"], "https://pii-edge.dev/problems/invalid-event");
    assert!(body["detail"].as_str().expect("detail").contains(expected));
    assert!(!stdout(&out).contains("SECRET") && !stderr(&out).contains("SECRET"));

    let out = run(&[
        "reveal",
        "--keys",
        &keys("private.jwks"),
        "--policy",
        "profile-headers",
        "--event",
        &file,
    ]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(stderr(&out).contains(expected), "{}", stderr(&out));

    // A test case on that event: the deployed function answers 400, so a case may expect it,
    // and a case expecting anything else fails with the reason.
    let policies = dir.join("policies");
    let cases = policies.join("profile-headers.tests");
    std::fs::create_dir_all(&cases).expect("cases dir");
    std::fs::copy(
        root().join("policies/profile-headers.yaml"),
        policies.join("profile-headers.yaml"),
    )
    .expect("policy");
    std::fs::write(cases.join("event.json"), event).expect("event");
    std::fs::write(
        cases.join("refused.yaml"),
        "description: refused\nevent: event.json\nexpect:\n  outcome: rejected\n  status: 400\n  reason: invalid-event\n",
    )
    .expect("case");
    std::fs::write(
        cases.join("unmatched.yaml"),
        "description: would be forwarded\nevent: event.json\nexpect:\n  outcome: unmatched\n",
    )
    .expect("case");
    let out = run(&["test", &policies.display().to_string()]);
    let text = stdout(&out);
    assert_eq!(code(&out), 1, "{text}");
    assert!(text.contains("1 passed, 1 failed"), "{text}");
    assert!(text.contains("rejected 400 invalid-event"), "{text}");
    assert!(text.contains(expected), "{text}");
}

/// `check` refuses a rule on a header the edge may not change, pointing at the header name;
/// `test` runs such a policy's cases through the handler, which answers 500, and fails them
/// with the function's log note; a body that grows past the viewer-request limit fails with
/// 413 (issue 12).
#[test]
fn rules_the_deployed_function_cannot_carry_out_fail_check_and_test() {
    let dir = scratch("restricted");
    let policy = "apiVersion: pii-edge/v1\nname: proxy\nzone: eu-central\nmatch:\n  paths: [\"/x\"]\nrules:\n  - select: { header: x-id }\n    action: hash\n  - select:\n      header: Via\n    action: hash\n  - select: { json: $.notes }\n    action: encrypt\n";
    std::fs::write(dir.join("proxy.yaml"), policy).expect("policy");
    let file = dir.join("proxy.yaml").display().to_string();
    let out = run(&["check", &file]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(
        err.contains("proxy.yaml:10:15: CloudFront does not let a function change header `via` on viewer-request"),
        "{err}"
    );
    assert!(err.contains("      header: Via"), "{err}");
    for header in ["X-Amz-Cf-Id", "Upgrade", "Range", "Host"] {
        let other = policy.replace("Via", header);
        let out = run_in(&dir, &["check", "-"], Some(other.as_bytes()));
        assert_eq!(code(&out), 1, "{header}");
        assert!(
            stderr(&out).contains(&format!("change header `{}`", header.to_ascii_lowercase())),
            "{header}: {}",
            stderr(&out)
        );
    }
    let fine = policy.replace("Via", "X-Customer-Id");
    let out = run_in(&dir, &["check", "-"], Some(fine.as_bytes()));
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let cases = dir.join("proxy.tests");
    std::fs::create_dir_all(&cases).expect("cases");
    std::fs::write(
        cases.join("01-via.yaml"),
        "description: a proxied request\nrequest:\n  path: /x\n  headers:\n    Via: 1.1 proxy.example\nexpect:\n  outcome: protected\n",
    )
    .expect("case");
    let notes = "n".repeat(38_000);
    std::fs::write(
        cases.join("02-large.yaml"),
        format!("description: a large body\nrequest:\n  method: POST\n  path: /x\n  headers:\n    content-type: application/json\n  body: '{{\"notes\": \"{notes}\"}}'\nexpect:\n  outcome: protected\n"),
    )
    .expect("case");
    let out = run(&["test", &dir.display().to_string()]);
    let text = stdout(&out);
    assert_eq!(code(&out), 1, "{text}");
    assert!(text.contains("0 passed, 2 failed"), "{text}");
    assert!(
        text.contains("outcome: expected protected, got rejected 500 internal by `proxy`")
            && text.contains("(the function's log: a policy changed read-only header via)"),
        "{text}"
    );
    assert!(
        text.contains("outcome: expected protected, got rejected 413 body-too-large by `proxy`"),
        "{text}"
    );
}

#[test]
fn schema_is_json_schema() {
    let out = run(&["schema"]);
    assert_eq!(code(&out), 0);
    let schema: Value = serde_json::from_str(&stdout(&out)).expect("schema json");
    assert!(schema["properties"]["apiVersion"].is_object(), "{schema}");
}

#[test]
fn garbage_input_fails_cleanly() {
    let dir = scratch("garbage");
    let binary = dir.join("binary.yaml");
    let mut bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    bytes.extend_from_slice(&[0xff, 0xfe, 0x00]);
    std::fs::write(&binary, &bytes).expect("binary");
    let not_json = dir.join("event.json");
    std::fs::write(&not_json, "{\"Records\": [{\"cf\": ").expect("event");
    let wrong_shape = dir.join("shape.json");
    std::fs::write(&wrong_shape, "{\"Records\": [{\"cf\": {\"config\": 1}}]}").expect("event");
    let b = binary.display().to_string();
    let e = not_json.display().to_string();
    let w = wrong_shape.display().to_string();
    let private = keys("private.jwks");

    let cases: Vec<Vec<&str>> = vec![
        vec!["check", &b],
        vec!["check", "--format", "json", &b],
        vec!["apply", "-p", &b, "--path", "/"],
        vec!["apply", "-p", "../../policies", "--event", &e],
        vec!["apply", "-p", "../../policies", "--event", &w],
        vec!["apply", "-p", "../../policies", "--event", &b],
        vec!["apply", "-p", "../../policies", "--request", &b],
        vec![
            "apply",
            "-p",
            "../../policies",
            "--path",
            "/x",
            "--keys",
            &b,
        ],
        vec!["reveal", "--keys", &b, "--policy", "signup", "--body", "{}"],
        vec!["reveal", "--keys", &private, "--event", &e],
        vec!["test", &b],
        vec![
            "package",
            "--policies",
            "../../policies",
            "--keys",
            &b,
            "--out",
            "/nonexistent/x.zip",
        ],
    ];
    for args in &cases {
        let out = run(args);
        assert_eq!(code(&out), 1, "pii-edge {args:?}\n{}", stderr(&out));
        assert!(
            stderr(&out).contains("error")
                || stdout(&out).contains("FAIL")
                || stdout(&out).contains("not UTF-8"),
            "{args:?}: {}",
            stderr(&out)
        );
    }

    // A malformed body is not an error of the tool: the engine rejects it.
    let out = run(&[
        "apply",
        "-p",
        "../../policies",
        "--path",
        "/api/users",
        "--body",
        "{\"user\": ",
    ]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("malformed-json"));
}

/// `apply --edge` prints what the real Lambda@Edge handler returns; `reveal --event` opens that.
#[test]
fn apply_edge_runs_the_handler_and_reveal_reads_its_output() {
    let out = run(&[
        "apply",
        "-p",
        "../../policies",
        "--event",
        "../../examples/events/signup-json.json",
        "--edge",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let forwarded: Value = serde_json::from_str(&stdout(&out)).expect("handler output");
    assert_eq!(forwarded["body"]["action"], "replace");
    assert!(!stdout(&out).contains("erika@example.de"));
    assert!(
        stderr(&out).contains("\"decision\":\"protected\""),
        "the log line: {}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("erika"), "no values in the log line");

    let out = run_in(
        &manifest_dir(),
        &[
            "reveal",
            "--keys",
            &keys("private.jwks"),
            "--policy",
            "signup",
            "--zone",
            "eu-central",
            "--event",
            "-",
        ],
        Some(&out.stdout),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let revealed: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(revealed["opened"], 4);
    assert!(revealed["request"]["body"]
        .as_str()
        .expect("body")
        .contains("\"email\":\"erika@example.de\""));

    let out = run(&[
        "apply",
        "-p",
        "../../policies",
        "--event",
        "../../examples/events/signup-truncated.json",
        "--edge",
    ]);
    assert_eq!(code(&out), 0);
    let response: Value = serde_json::from_str(&stdout(&out)).expect("generated response");
    assert_eq!(response["status"], "413");
}

#[test]
fn package_carries_a_residency_whose_regions_all_have_keys() {
    let dir = scratch("package-residency");
    let addon = dir.join("pii_edge.node");
    std::fs::write(&addon, fake_addon(100_000)).expect("addon");
    let index = dir.join("index.js");
    std::fs::write(&index, "exports.handler = async () => ({});\n").expect("index.js");
    let zip = dir.join("edge.zip");
    let keydir = dir.join("keys");
    let package = |public: &str| {
        let zip = zip.display().to_string();
        let addon = addon.display().to_string();
        let index = index.display().to_string();
        let tokens = keys("tokens.jwks");
        run(&[
            "package",
            "--policies",
            "../../policies",
            "--keys",
            public,
            "--tokens",
            &tokens,
            "--out",
            &zip,
            "--addon",
            &addon,
            "--index-js",
            &index,
            "--residency",
            "../../examples/residency/residency.yaml",
            "--allow-demo-keys",
        ])
    };
    // The demo keys cover eu-central only: a zone region without a key is refused.
    let out = package(&keys("public.jwks"));
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(
        stderr(&out).contains("has no public key"),
        "{}",
        stderr(&out)
    );
    assert!(!zip.exists());

    let pairs = [
        ("eu-central", "eu-central-1"),
        ("eu-central", "eu-central-2"),
        ("eu-west", "eu-west-1"),
        ("eu-west", "eu-west-3"),
        ("eu-south", "eu-south-1"),
        ("eu-south", "eu-south-2"),
        ("eu-north", "eu-north-1"),
        ("eu-north", "eu-central-1"),
    ];
    for (zone, region) in pairs {
        let out = run(&[
            "keygen",
            "--zone",
            zone,
            "--region",
            region,
            "--out",
            &keydir.display().to_string(),
        ]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    let out = package(&keydir.join("public.jwks").display().to_string());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut archive =
        zip::ZipArchive::new(std::fs::File::open(&zip).expect("zip")).expect("zip archive");
    let mut bundle = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("bundle.json").expect("bundle"),
        &mut bundle,
    )
    .expect("read");
    let bundle: serde_json::Value = serde_json::from_str(&bundle).expect("json");
    assert_eq!(bundle["residency"]["countries"]["DE"], "eu-central");
    assert!(edge_fn::bundle::load_bundle(&bundle.to_string()).is_ok());
}

#[test]
fn package_carries_the_issuer_key_set_of_a_verified_identity() {
    let dir = scratch("package-identity");
    let addon = dir.join("pii_edge.node");
    std::fs::write(&addon, fake_addon(100_000)).expect("addon");
    let index = dir.join("index.js");
    std::fs::write(&index, "exports.handler = async () => ({});\n").expect("index.js");
    let zip = dir.join("edge.zip");
    let issuer = "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_Example";
    let package = |extra: &[&str]| {
        let zip = zip.display().to_string();
        let addon = addon.display().to_string();
        let index = index.display().to_string();
        let (public, tokens) = (keys("public.jwks"), keys("tokens.jwks"));
        let mut args = vec![
            "package",
            "--policies",
            "../../policies",
            "--keys",
            &public,
            "--tokens",
            &tokens,
            "--out",
            &zip,
            "--addon",
            &addon,
            "--index-js",
            &index,
            "--residency",
            "../../examples/residency/identity.yaml",
            "--allow-demo-keys",
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    // No key set for the issuer: refused, saying how to give it.
    let out = package(&[]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(stderr(&out).contains("--issuer-jwks"), "{}", stderr(&out));
    assert!(!zip.exists());
    // An issuer that is not in the file.
    let out = package(&[
        "--issuer-jwks",
        "https://other.example/=../../examples/residency/demo-issuer.jwks",
    ]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("not listed"), "{}", stderr(&out));
    // EC keys need the ES256 addon.
    let out = package(&[
        "--issuer-jwks",
        "../../examples/residency/demo-issuer-ec.jwks",
    ]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("--es256"), "{}", stderr(&out));
    let out = package(&[
        "--issuer-jwks",
        "../../examples/residency/demo-issuer-ec.jwks",
        "--es256",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // The key set travels in the bundle, by issuer or as the only one.
    let with_issuer = format!("{issuer}=../../examples/residency/demo-issuer.jwks");
    for given in [
        with_issuer.as_str(),
        "../../examples/residency/demo-issuer.jwks",
    ] {
        let out = package(&["--issuer-jwks", given]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let mut archive =
            zip::ZipArchive::new(std::fs::File::open(&zip).expect("zip")).expect("zip archive");
        let mut bundle = String::new();
        std::io::Read::read_to_string(
            &mut archive.by_name("bundle.json").expect("bundle"),
            &mut bundle,
        )
        .expect("read");
        let bundle: serde_json::Value = serde_json::from_str(&bundle).expect("json");
        let packaged = &bundle["residency"]["identity"]["issuers"][0];
        assert_eq!(packaged["issuer"], issuer);
        assert_eq!(packaged["jwks"]["keys"][0]["kid"], "demo-2026-12");
        assert!(edge_fn::bundle::load_bundle(&bundle.to_string()).is_ok());
    }
}

#[test]
fn reveal_strict_refuses_plaintext_where_a_policy_encrypts() {
    let policies = root().join("policies").display().to_string();
    let event = root()
        .join("examples/events/signup-json.json")
        .display()
        .to_string();
    // Sent around the edge: every field in clear.
    let around = run(&[
        "reveal",
        "--keys",
        &keys("private.jwks"),
        "--strict",
        &policies,
        "--event",
        &event,
    ]);
    assert_eq!(code(&around), 1, "{}", stderr(&around));
    assert!(
        stderr(&around).contains("holds plaintext where policy `signup` requires an envelope"),
        "{}",
        stderr(&around)
    );
    assert!(!stderr(&around).contains("erika"), "{}", stderr(&around));
    // Without --strict the same request reveals to itself, nothing opened.
    let lax = run(&["reveal", "--keys", &keys("private.jwks"), "--event", &event]);
    assert_eq!(code(&lax), 0, "{}", stderr(&lax));
    assert!(stdout(&lax).contains("\"opened\": 0"), "{}", stdout(&lax));
    // Through the edge: opens.
    let protected = run(&["apply", "--policy", &policies, "--event", &event]);
    assert_eq!(code(&protected), 0);
    let strict = run_in(
        &manifest_dir(),
        &[
            "reveal",
            "--keys",
            &keys("private.jwks"),
            "--strict",
            &policies,
            "--request",
            "-",
        ],
        Some(&protected.stdout),
    );
    assert_eq!(code(&strict), 0, "{}", stderr(&strict));
    assert!(
        stdout(&strict).contains("\"opened\": 4"),
        "{}",
        stdout(&strict)
    );
}

#[test]
fn check_keys_refuses_a_zone_of_one_region_unless_told() {
    let dir = scratch("one-region");
    let out = run(&[
        "keygen",
        "--zone",
        "eu-central",
        "--region",
        "eu-central-1",
        "--out",
        dir.to_str().expect("utf-8"),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let keys = dir.join("public.jwks");
    let keys = keys.to_str().expect("utf-8");
    let out = run(&["check", "../../policies/signup.yaml", "--keys", keys]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("zone `eu-central` has keys of one region only (eu-central-1)"),
        "{err}"
    );
    assert!(err.contains("--single-region"), "{err}");
    let out = run(&[
        "check",
        "../../policies/signup.yaml",
        "--keys",
        keys,
        "--single-region",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // The demo keys have both regions of the zone.
    let out = run(&[
        "check",
        "../../policies/signup.yaml",
        "--keys",
        "../../examples/keys/public.jwks",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn token_help_example_runs() {
    // `token --help` shows `--normalize trim,fullwidth,casefold`: it must be accepted.
    let out = run(&["token", "--help"]);
    let help = stdout(&out);
    assert!(
        help.contains("--normalize trim,fullwidth,casefold -"),
        "{help}"
    );
    assert!(!help.contains("trim,nfkc"), "{help}");
    let out = run_in(
        &manifest_dir(),
        &[
            "token",
            "--domain",
            "email",
            "--tokens",
            "../../examples/keys/tokens.jwks",
            "--normalize",
            "trim,fullwidth,casefold",
            "-",
        ],
        Some(b"Ann@Example.com\n"),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("tk1."), "{}", stdout(&out));
}

#[test]
fn package_help_shows_demo_keys_only_with_allow_demo_keys() {
    let help = stdout(&run(&["package", "--help"]));
    for line in help
        .lines()
        .filter(|l| l.contains("examples/keys/public.jwks"))
    {
        let at = help.find(line).expect("line");
        let next = help[at..].lines().nth(1).unwrap_or("");
        assert!(
            line.contains("--allow-demo-keys") || next.contains("--allow-demo-keys"),
            "{help}"
        );
    }
}

#[test]
fn check_refuses_one_token_domain_normalized_two_ways() {
    let dir = scratch("normalize-conflict");
    let policy = |name: &str, path: &str, normalize: &str| {
        format!(
            "apiVersion: pii-edge/v1\nkind: Policy\nname: {name}\nzone: eu-central\nmatch:\n  paths: [\"{path}\"]\nrules:\n  - name: email\n    select: {{ json: \"$.email\" }}\n    action: tokenize\n    domain: email\n    normalize: [{normalize}]\n"
        )
    };
    std::fs::write(dir.join("a.yaml"), policy("a", "/a", "trim, casefold")).expect("write");
    std::fs::write(dir.join("b.yaml"), policy("b", "/b", "trim")).expect("write");
    let out = run(&["check", dir.to_str().expect("utf-8")]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("the rules that tokenize in `email` normalize differently"),
        "{err}"
    );
    assert!(
        err.contains("[trim,casefold]") && err.contains("[trim]"),
        "{err}"
    );
    std::fs::write(dir.join("b.yaml"), policy("b", "/b", "trim, casefold")).expect("write");
    let out = run(&["check", dir.to_str().expect("utf-8")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn key_sets_can_come_from_standard_input() {
    // `pii-edge reveal --keys -`: a secret manager's output piped in (examples/deploy/README.md).
    let private = std::fs::read(root().join("examples/keys/private.jwks")).expect("keys");
    let out = run_in(
        &manifest_dir(),
        &[
            "reveal",
            "--keys",
            "-",
            "--path",
            "/api/search",
            "--query",
            "q=1",
        ],
        Some(&private),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// From a newcomer's trial: every command that takes policies takes `--policies` (as `package`
/// and `serve` always did), `--help` names only that, and the old spellings (`apply -p/--policy`,
/// `scan --policy`, `token --policy`, the positional paths of `check` and `test`) still work and
/// mean the same.
#[test]
fn every_command_that_takes_policies_takes_policies() {
    for command in [
        "check", "test", "apply", "scan", "token", "package", "serve", "demo",
    ] {
        let help = stdout(&run(&[command, "--help"]));
        assert!(help.contains("--policies <"), "{command} --help:\n{help}");
        assert!(!help.contains("--policy <"), "{command} --help:\n{help}");
    }
    // `reveal --policy NAME` is the name of the policy that sealed, not policy files; its
    // policy files are `--strict`, also spelled `--policies`.
    let reveal = stdout(&run(&["reveal", "--help"]));
    assert!(reveal.contains("--policy <NAME>"), "{reveal}");
    assert!(reveal.contains("[alias: --policies]"), "{reveal}");

    let policies = "../../policies";
    let same = |old: &[&str], new: &[&str]| {
        let (a, b) = (run(old), run(new));
        assert_eq!(code(&a), 0, "{old:?}: {}", stderr(&a));
        assert_eq!(code(&b), 0, "{new:?}: {}", stderr(&b));
        assert_eq!(stdout(&a), stdout(&b), "{old:?} and {new:?} differ");
        stdout(&b)
    };
    let checked = same(&["check", policies], &["check", "--policies", policies]);
    assert!(checked.contains("policies valid"), "{checked}");
    let tested = same(&["test", policies], &["test", "--policies", policies]);
    assert!(tested.contains(" passed, 0 failed"), "{tested}");
    let events = "../../examples/events";
    let scanned = same(
        &["scan", "--policy", policies, events],
        &["scan", "--policies", policies, events],
    );
    assert!(scanned.contains("covered"), "{scanned}");
    let tokens = "../../examples/keys/tokens.jwks";
    let token = |flag: &'static str| {
        vec![
            "token",
            "--domain",
            "email",
            "--tokens",
            tokens,
            flag,
            policies,
            "a@b.example",
        ]
    };
    let tokened = same(&token("--policy"), &token("--policies"));
    assert!(tokened.contains("tk1."), "{tokened}");

    // apply seals with fresh randomness: the same policy protects the same fields.
    let event = "../../examples/events/signup-json.json";
    let fields = |flag: &str| -> Vec<String> {
        let out = run(&["apply", flag, policies, "--event", event]);
        assert_eq!(code(&out), 0, "apply {flag}: {}", stderr(&out));
        let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("apply JSON");
        assert_eq!(v["outcome"], "protected", "apply {flag}: {v}");
        v["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(|f| format!("{} {}", f["location"], f["action"]))
            .collect()
    };
    let protected = fields("--policies");
    assert!(!protected.is_empty());
    assert_eq!(fields("--policy"), protected);
    assert_eq!(fields("-p"), protected);

    // Neither the positional paths nor --policies: a usage error, as before.
    for command in ["check", "test"] {
        assert_eq!(code(&run(&[command])), 2, "{command} without policies");
    }
}

#[test]
fn check_with_the_residency_names_a_zone_typo_and_a_misspelled_method() {
    let dir = scratch("zone-typo");
    let policy = dir.join("p.yaml");
    std::fs::write(
        &policy,
        "apiVersion: pii-edge/v1\nname: p\nzone: eu-centrl\nmatch: { methods: [POTS], paths: [/x] }\nrules:\n  - select: { json: $.email }\n    action: encrypt\n",
    )
    .expect("write");
    let residency = root().join("examples/residency/residency.yaml");
    let out = run(&[
        "check",
        policy.to_str().expect("path"),
        "--residency",
        residency.to_str().expect("path"),
    ]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    // The method is refused on its own; the zone needs the deployment's zones.
    assert!(
        err.contains("p.yaml:4:20: `POTS` is not an HTTP method; did you mean `POST`?"),
        "{err}"
    );
    std::fs::write(
        &policy,
        "apiVersion: pii-edge/v1\nname: p\nzone: eu-centrl\nmatch: { methods: [POST], paths: [/x] }\nrules:\n  - select: { json: $.email }\n    action: encrypt\n",
    )
    .expect("write");
    let with = run(&[
        "check",
        policy.to_str().expect("path"),
        "--residency",
        residency.to_str().expect("path"),
    ]);
    let err = stderr(&with);
    assert_eq!(code(&with), 1, "{err}");
    assert!(
        err.contains("p.yaml:3:7: policy `p` seals to zone `eu-centrl`"),
        "{err}"
    );
    assert!(err.contains("did you mean `eu-central`?"), "{err}");
    // The public keys' zones catch it too; without either, `check` says it did not look.
    let keys = root().join("examples/keys/public.jwks");
    let with_keys = run(&[
        "check",
        policy.to_str().expect("path"),
        "--keys",
        keys.to_str().expect("path"),
    ]);
    let err = stderr(&with_keys);
    assert_eq!(code(&with_keys), 1, "{err}");
    assert!(err.contains("p.yaml:3:7: policy `p` seals to zone `eu-centrl`, which is not a zone of the deployment (eu-central); did you mean `eu-central`?"), "{err}");
    let without = run(&["check", policy.to_str().expect("path")]);
    assert_eq!(code(&without), 0, "{}", stderr(&without));
    assert!(
        stdout(&without).contains("note: zones not checked against a deployment (eu-centrl)"),
        "{}",
        stdout(&without)
    );
}

#[test]
fn an_unexpected_unmatched_says_which_policy_nearly_took_the_request() {
    let dir = scratch("near-miss");
    std::fs::write(
        dir.join("signup.yaml"),
        "apiVersion: pii-edge/v1\nname: signup\nzone: eu-central\nmatch: { methods: [POST], paths: [/v1/signup] }\nrules:\n  - select: { json: $.email }\n    action: encrypt\n",
    )
    .expect("policy");
    std::fs::create_dir_all(dir.join("signup.tests")).expect("cases");
    std::fs::write(
        dir.join("signup.tests/01-get.yaml"),
        "description: a GET that should be protected\nrequest:\n  method: GET\n  path: /v1/signup\n  headers: { content-type: application/json }\n  body: '{\"email\": \"erika@example.de\"}'\nexpect:\n  outcome: protected\n",
    )
    .expect("case");
    std::fs::write(
        dir.join("signup.tests/02-typo.yaml"),
        "description: a mistyped path\nrequest:\n  method: POST\n  path: /v1/sigup\n  headers: { content-type: application/json }\n  body: '{\"email\": \"erika@example.de\"}'\nexpect:\n  outcome: protected\n",
    )
    .expect("case");
    let out = run(&["test", dir.to_str().expect("path")]);
    let text = stdout(&out);
    assert_eq!(code(&out), 1, "{text}{}", stderr(&out));
    assert!(
        text.contains("policy `signup` matches the path /v1/signup but takes POST only, not GET"),
        "{text}"
    );
    assert!(
        text.contains("no policy's match.paths takes the path /v1/sigup"),
        "{text}"
    );
}

#[test]
fn check_on_a_test_case_says_it_is_one() {
    let case = root().join("policies/signup.tests");
    let first = std::fs::read_dir(&case)
        .expect("cases")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "yaml"))
        .expect("a case");
    let out = run(&["check", first.to_str().expect("path")]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(err.contains("this is a test case"), "{err}");
    assert!(!err.contains("missing field `apiVersion`"), "{err}");
}

#[test]
fn check_reads_a_key_set_from_stdin_once() {
    let keys = std::fs::read(root().join("examples/keys/public.jwks")).expect("keys");
    let tokens = root().join("examples/keys/tokens.jwks");
    let out = run_in(
        &root(),
        &[
            "check",
            "policies/",
            "--keys",
            "-",
            "--tokens",
            tokens.to_str().expect("path"),
        ],
        Some(&keys),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("policies valid"), "{}", stdout(&out));
}
