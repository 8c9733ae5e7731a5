//! End to end: the real `bootstrap` binary, driven by a Lambda Runtime API emulator on
//! loopback, fed every example event of `examples/events/`.
//!
//! Checks that protected requests come back with no plaintext and with `pe2.` envelopes, that
//! truncated, malformed, duplicate-key and gzip bodies are rejected with 413, 400, 400 and 415,
//! that unmatched requests come back unchanged, that the process serves every event from one
//! cold start, and that its log lines (stdout) hold no value.
#![cfg(feature = "lambda")]

mod runtime_api;
mod support;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

use runtime_api::{Outcome, RuntimeApi};
use serde_json::Value;
use support::{
    check, check_header_key_mismatch_refused, event, event_files, EVENTS,
    HEADER_KEY_MISMATCH_EVENT, PLAINTEXT,
};

/// Kills the child when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_bootstrap(api: &RuntimeApi) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_bootstrap"))
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api.endpoint())
        .env("AWS_LAMBDA_FUNCTION_NAME", "pii-edge-test")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "/aws/lambda/us-east-1.pii-edge-test",
        )
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/01/01/[1]0123456789abcdef",
        )
        .env("AWS_REGION", "us-east-1")
        .env("LAMBDA_TASK_ROOT", "/var/task")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn bootstrap");
    Running(child)
}

/// Reads a pipe to its end in a thread (the pipe ends when the process is killed).
fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

#[test]
fn bootstrap_serves_every_example_event() {
    let api = RuntimeApi::start();
    let mut ids = Vec::new();
    for (index, (name, _)) in EVENTS.iter().enumerate() {
        let id = format!("req-{index:02}");
        api.push(&id, event(name));
        ids.push(id);
    }
    // Valid JSON that is not a CloudFront event: a 400 generated response, not a crash.
    api.push("req-not-cloudfront", r#"{"Records":[]}"#.to_owned());
    ids.push("req-not-cloudfront".to_owned());
    // A header entry whose `key` names another header: refused (issue 12).
    api.push("req-header-key", HEADER_KEY_MISMATCH_EVENT.to_owned());
    ids.push("req-header-key".to_owned());
    let mut running = start_bootstrap(&api);
    let stdout = drain(running.0.stdout.take());
    let stderr = drain(running.0.stderr.take());

    let results = api.wait_results(&ids, Duration::from_secs(60));
    let init_error = api.init_error();
    drop(running); // kill, so the pipes close
    let stdout = stdout.join().expect("stdout");
    let stderr = stderr.join().expect("stderr");
    assert!(
        init_error.is_none(),
        "init error: {init_error:?}\nstderr: {stderr}"
    );

    for (id, (name, expect)) in ids.iter().zip(EVENTS) {
        let outcome = results
            .get(id)
            .unwrap_or_else(|| panic!("{name}: no result within the timeout\nstderr: {stderr}"));
        let Outcome::Response(body) = outcome else {
            panic!("{name}: the function reported an error: {outcome:?}");
        };
        let input: Value = serde_json::from_str(&event(name)).expect("event json");
        let output: Value = serde_json::from_str(body).expect("response json");
        check(name, &input, &output, *expect);
    }

    let Some(Outcome::Response(body)) = results.get("req-not-cloudfront") else {
        panic!("no response to the non-CloudFront event");
    };
    let output: Value = serde_json::from_str(body).expect("response json");
    assert_eq!(output["status"], "400", "{output}");
    let Some(Outcome::Response(body)) = results.get("req-header-key") else {
        panic!("no response to the event with a mismatched header key");
    };
    check_header_key_mismatch_refused(&serde_json::from_str(body).expect("response json"));

    // One process served everything (one cold start), one log line per request, each EMF
    // JSON, none with a value.
    assert!(
        api.next_calls() >= ids.len(),
        "the function did not keep polling"
    );
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), ids.len(), "log lines:\n{stdout}");
    for line in &lines {
        let v: Value = serde_json::from_str(line).expect("log line JSON");
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "pii-edge");
        for plain in PLAINTEXT {
            assert!(!line.contains(plain), "plaintext {plain:?} logged: {line}");
        }
    }
    for plain in PLAINTEXT {
        assert!(!stderr.contains(plain), "plaintext {plain:?} on stderr");
    }
}

#[test]
fn every_example_event_is_fed() {
    for name in event_files() {
        assert!(
            EVENTS.iter().any(|(n, _)| *n == name),
            "examples/events/{name} is not fed to the bootstrap test"
        );
    }
}
