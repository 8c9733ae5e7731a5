//! `pii-edge demo`: the README's first command. Run as a real process with `--no-wait`, on a
//! free port: every example request reaches the recording origin protected (the demo checks
//! it and exits 1 otherwise); with policies of your own, the demo says what they leave in
//! clear of its requests without judging them, with keys for their zones and token domains.

use std::path::PathBuf;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_pii-edge");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn demo(args: &[&str]) -> Output {
    let out = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0", "--no-wait"])
        .args(args)
        .current_dir(root())
        .output()
        .expect("run pii-edge demo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    out
}

/// The lines of the demo's output that say what the origin received.
fn origin_lines(stdout: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut in_origin = false;
    for line in stdout.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("origin ") {
            in_origin = true;
        } else if !line.starts_with("             ") {
            in_origin = false;
        }
        if in_origin {
            lines.push(line);
        }
    }
    lines
}

#[test]
fn demo_shows_every_kind_protected_and_exits_0() {
    let out = demo(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for kind in [
        "JSON body",
        "HTML form",
        "query string",
        "headers and a cookie",
        "refused",
    ] {
        assert!(stdout.contains(kind), "no {kind} example:\n{stdout}");
    }
    let received = origin_lines(&stdout).join("\n");
    assert!(received.contains("pe2."), "{stdout}");
    for value in [
        "erika.mustermann@example.de",
        "erika.mustermann%40example.de",
        "4111111111111111",
        "65929970489",
        "+49 170 5550123",
    ] {
        assert!(
            !received.contains(value),
            "{value} reached the origin:\n{received}"
        );
    }
    assert!(
        stdout.contains("verified with the edge's public key"),
        "{stdout}"
    );
    assert!(!stdout.contains("REFUSED"), "{stdout}");
    assert!(stdout.contains("opens to"), "{stdout}");
    assert!(stdout.contains("the origin saw nothing"), "{stdout}");
}

#[test]
fn demo_says_what_policies_of_your_own_leave_in_clear() {
    // Without the checkout-form policy the form is forwarded as sent: the demo must say so.
    let dir = std::env::temp_dir().join(format!("pii-edge-demo-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    for name in ["signup.yaml", "search.yaml", "profile-headers.yaml"] {
        std::fs::copy(root().join("policies").join(name), dir.join(name)).expect("copy policy");
    }
    let out = demo(&["--policies", dir.to_str().expect("utf-8 temp dir")]);
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Policies of your own: the demo says what they leave in clear, and does not judge them.
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("(yours)"), "{stdout}");
    assert!(
        stdout.contains("note: HTML form (policy checkout-form): 4 personal value(s) reached the origin in clear"),
        "{stdout}"
    );
    assert!(!stdout.contains("FAIL"), "{stdout}");
}

#[test]
fn demo_makes_keys_for_the_zones_and_token_domains_of_your_policies() {
    let dir = std::env::temp_dir().join(format!("pii-edge-demo-own-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(
        dir.join("acme.yaml"),
        "apiVersion: pii-edge/v1\nname: acme-signup\nzone: eu-west\nmatch: { paths: [/api/users] }\nrules:\n  - select: { json: $.user.email }\n    action: tokenize\n    domain: user\n  - select: { json: $.user.name }\n    action: encrypt\n",
    )
    .expect("policy");
    let out = demo(&["--policies", dir.to_str().expect("utf-8 temp dir")]);
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("The origin in zone eu-west opens"),
        "{stdout}"
    );
}

#[test]
fn demo_names_a_busy_port() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = busy.local_addr().expect("addr").to_string();
    let out = Command::new(BIN)
        .args(["demo", "--no-wait", "--listen", &addr])
        .current_dir(root())
        .output()
        .expect("run pii-edge demo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--listen 127.0.0.1:0"), "{stderr}");
}
