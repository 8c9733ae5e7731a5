//! The handler, in process, on every example event and on hostile or broken input: the right
//! decision, no plaintext forwarded, exactly one log line per request and no value in it.

mod support;

use std::sync::Arc;

use base64::Engine as _;
use edge_fn::bundle::Edge;
use edge_fn::log::MemorySink;
use serde_json::{json, Value};
use support::{check, event, event_files, EVENTS, PLAINTEXT};

fn example_edge() -> (Edge, Arc<MemorySink>) {
    let bundle = std::fs::read_to_string(support::root().join("examples/bundle/bundle.json"))
        .expect("example bundle");
    let log = Arc::new(MemorySink::default());
    let edge = Edge::from_bundle_with_log(&bundle, log.clone());
    assert!(edge.is_ready(), "{:?}", edge.engine().err());
    (edge, log)
}

fn run(edge: &Edge, input: &str) -> Value {
    serde_json::from_str(&edge_fn::handle_json(edge, input)).expect("handler output is JSON")
}

fn assert_clean_log(lines: &[String]) {
    for line in lines {
        let v: Value = serde_json::from_str(line).expect("log line is JSON");
        assert!(v["_aws"]["CloudWatchMetrics"].is_array(), "{line}");
        for plain in PLAINTEXT {
            assert!(!line.contains(plain), "plaintext {plain:?} logged: {line}");
        }
        assert!(!line.contains("/api/"), "a path was logged: {line}");
    }
}

#[test]
fn every_example_event_has_an_expectation() {
    for name in event_files() {
        assert!(
            EVENTS.iter().any(|(n, _)| *n == name),
            "examples/events/{name} has no expectation in tests/support/mod.rs"
        );
    }
}

#[test]
fn example_events() {
    let (edge, log) = example_edge();
    for (name, expect) in EVENTS {
        let input_text = event(name);
        let input: Value = serde_json::from_str(&input_text).expect("event json");
        let output = run(&edge, &input_text);
        check(name, &input, &output, *expect);
    }
    let lines = log.lines();
    assert_eq!(lines.len(), EVENTS.len(), "one log line per request");
    assert_clean_log(&lines);
    let signup: Value = serde_json::from_str(&lines[0]).expect("json");
    assert_eq!(signup["policy"], "signup");
    assert_eq!(signup["decision"], "protected");
    assert_eq!(signup["encrypt"], 4);
    assert_eq!(signup["mask"], 1);
    assert_eq!(signup["FieldsEncrypted"], 4);
    assert!(signup["DurationMicros"].is_u64());
    assert_eq!(
        signup["requestId"],
        "hK3x9Qm2VbT7yLs0wPq4NcZr8UeJ1aFdG5oXvS6iMtYbE2kRnA7uWg=="
    );
    let truncated: Value = serde_json::from_str(&lines[1]).expect("json");
    assert_eq!(truncated["decision"], "rejected");
    assert_eq!(truncated["reason"], "body-truncated");
    assert_eq!(truncated["status"], 413);
    let unmatched: Value = serde_json::from_str(&lines[8]).expect("json");
    assert_eq!(unmatched["decision"], "unmatched");
    assert_eq!(unmatched["policy"], "-");
}

#[test]
fn values_the_policy_does_not_select_are_kept() {
    let (edge, _) = example_edge();
    let output = run(&edge, &event("signup-json.json"));
    let body = base64::engine::general_purpose::STANDARD
        .decode(output["body"]["data"].as_str().expect("data"))
        .expect("base64");
    let text = String::from_utf8(body).expect("utf-8");
    assert!(text.contains("\"amount\":12345678901234567890"), "{text}");
    assert!(text.contains("\"marketingOptIn\":true"), "{text}");
    assert_eq!(output["body"]["action"], "replace");
    assert_eq!(output["body"]["encoding"], "base64");
}

#[test]
fn response_triggers_are_refused() {
    let (edge, log) = example_edge();
    let output = run(&edge, &event("responses/origin-response-aws-doc.json"));
    assert_eq!(output["status"], "500");
    let line: Value = serde_json::from_str(&log.lines()[0]).expect("json");
    assert_eq!(line["reason"], "internal");
}

#[test]
fn broken_events_are_400_never_a_panic() {
    let (edge, log) = example_edge();
    let inputs = [
        "",
        "{",
        "null",
        "[]",
        "{}",
        r#"{"Records":[]}"#,
        r#"{"Records":[{"cf":{}}]}"#,
        r#"{"Records":"erika@example.de"}"#,
        r#"{"Records":[{"cf":{"config":{"distributionId":"E","eventType":"viewer-request"},"request":{"clientIp":"1","method":"POST","uri":"/api/users","headers":{},"body":{"inputTruncated":false,"action":"read-only","encoding":"base64","data":"erika@example.de"}}}}]}"#,
    ];
    for input in inputs {
        let output = run(&edge, input);
        assert_eq!(output["status"], "400", "{input}: {output}");
        let body: Value =
            serde_json::from_str(output["body"].as_str().expect("body")).expect("json");
        assert_eq!(body["type"], "https://pii-edge.dev/problems/invalid-event");
        assert!(!output.to_string().contains("erika"), "{output}");
    }
    let two_records = {
        let one: Value = serde_json::from_str(&event("signup-json.json")).expect("json");
        let record = one["Records"][0].clone();
        json!({"Records": [record.clone(), record]}).to_string()
    };
    assert_eq!(run(&edge, &two_records)["status"], "400");
    assert_clean_log(&log.lines());
    assert_eq!(log.lines().len(), inputs.len() + 1);
}

/// A body that encryption grows past what CloudFront accepts back on viewer-request is
/// rejected with 413, never cut; the same body fits on origin-request.
#[test]
fn grown_body_is_rejected_not_cut() {
    let (edge, _) = example_edge();
    let notes = "x".repeat(36_000);
    let body = json!({"appointment": {"notes": notes, "when": "2026-03-01"}}).to_string();
    let make = |event_type: &str| {
        json!({"Records": [{"cf": {
        "config": {"distributionId": "E1", "eventType": event_type},
        "request": {
            "clientIp": "203.0.113.1", "method": "POST", "uri": "/api/appointments",
            "querystring": "",
            "headers": {"content-type": [{"key": "Content-Type", "value": "application/json"}]},
            "body": {"inputTruncated": false, "action": "read-only", "encoding": "base64",
                     "data": base64::engine::general_purpose::STANDARD.encode(&body)}
        }}}]})
        .to_string()
    };
    let viewer = run(&edge, &make("viewer-request"));
    assert_eq!(viewer["status"], "413", "{viewer}");
    let problem: Value =
        serde_json::from_str(viewer["body"].as_str().expect("body")).expect("json");
    assert_eq!(
        problem["type"],
        "https://pii-edge.dev/problems/body-too-large"
    );
    assert_eq!(problem["policy"], "health-appointments");

    let origin = run(&edge, &make("origin-request"));
    assert!(origin.get("status").is_none(), "origin-request should fit");
    assert_eq!(origin["body"]["action"], "replace");
}

#[test]
fn a_bad_bundle_rejects_everything_with_503_and_logs_once() {
    let public = std::fs::read_to_string(support::root().join("examples/keys/private.jwks"))
        .expect("private demo keys");
    let bundle = format!(
        r#"{{"policies":[{{"apiVersion":"pii-edge/v1","name":"p","zone":"eu-central","match":{{}},
        "rules":[{{"select":{{"json":"$.a"}},"action":"encrypt"}}]}}],"keys":{public},"tokens":null}}"#
    );
    let log = Arc::new(MemorySink::default());
    let edge = Edge::from_bundle_with_log(&bundle, log.clone());
    assert!(!edge.is_ready());
    let init = log.lines();
    assert_eq!(init.len(), 1);
    assert!(init[0].contains("private key"), "{}", init[0]);
    assert!(!init[0].contains("\"d\":\""), "key material logged");
    for (name, _) in EVENTS {
        let output = run(&edge, &event(name));
        // Malformed events are refused before the engine is needed; everything else is 503.
        assert_eq!(output["status"], "503", "{name}: {output}");
    }
    assert_eq!(log.lines().len(), 1 + EVENTS.len());
}

#[test]
fn a_policy_that_would_touch_a_read_only_header_is_refused_at_load() {
    let bundle = r#"{"policies":[{"apiVersion":"pii-edge/v1","name":"p","match":{},
        "rules":[{"select":{"header":"Host"},"action":"hash"}]}],"keys":{"keys":[]},"tokens":null}"#;
    let err = edge_fn::load_bundle(bundle).expect_err("refused");
    assert!(err.to_string().contains("host"), "{err}");
}
