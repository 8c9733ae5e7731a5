//! The fast output path: `HandlerOutput::to_json` (a forwarded body's data appended without
//! serde_json's escaper) writes exactly the text serde_json writes, and `handle_parts` (the
//! body data apart from the event, the Node.js addon's path) gives the answer `handle_json`
//! gives.

mod support;

use std::sync::Arc;

use base64::Engine as _;
use edge_fn::bundle::Edge;
use edge_fn::cloudfront::{
    needs_no_json_escape, Body, BodyAction, BodyEncoding, CloudFrontEvent, Header,
};
use edge_fn::handler::{handle, handle_json, handle_parts, HandlerOutput};
use edge_fn::log::MemorySink;
use serde_json::{json, Value};
use support::{event, EVENTS, PLAINTEXT};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn example_bundle() -> String {
    std::fs::read_to_string(support::root().join("examples/bundle/bundle.json"))
        .expect("example bundle")
}

/// The example bundle with every `encrypt` rule turned into `redact`: the same routes and
/// decisions, but the same answer on every run (sealing is randomized).
fn deterministic_bundle() -> String {
    let mut bundle: Value = serde_json::from_str(&example_bundle()).expect("bundle json");
    for policy in bundle["policies"].as_array_mut().expect("policies") {
        for rule in policy["rules"].as_array_mut().expect("rules") {
            if rule["action"] == "encrypt" {
                rule["action"] = json!("redact");
            }
        }
    }
    bundle.to_string()
}

fn edge(bundle: &str) -> (Edge, Arc<MemorySink>) {
    let log = Arc::new(MemorySink::default());
    let edge = Edge::from_bundle_with_log(bundle, log.clone());
    assert!(edge.is_ready(), "{:?}", edge.engine().err());
    (edge, log)
}

/// `to_json` must be serde_json's text, byte for byte, and parse back to the same value.
fn assert_same_as_serde(output: &HandlerOutput, what: &str) {
    let fast = output.to_json();
    let serde = serde_json::to_string(output).expect("serde output");
    assert_eq!(fast, serde, "{what}");
    let parsed: Value = serde_json::from_str(&fast).expect("output parses");
    assert_eq!(
        parsed,
        serde_json::to_value(output).expect("value"),
        "{what}"
    );
}

#[test]
fn every_example_answer_is_serde_json_text() {
    let (edge, _) = edge(&example_bundle());
    for (name, _) in EVENTS {
        let parsed: CloudFrontEvent = event(name).parse().expect("event");
        // The event's own request, unchanged (a body never replaced)...
        let request = parsed.records[0].cf.request.clone();
        assert_same_as_serde(&HandlerOutput::Forward(Box::new(request)), name);
        // ... and what the handler answers: sealed bodies replaced, rejections.
        let output = handle(&edge, parsed);
        assert_same_as_serde(&output, name);
    }
}

#[test]
fn a_replaced_body_is_serde_json_text_at_every_size() {
    let (edge, _) = edge(&example_bundle());
    for filler in [0, 1, 2, 3, 7, 1000, 38_000] {
        let body = json!({"user": {"email": "erika@example.de", "name": "Erika Mustermann",
            "notes": "x".repeat(filler)}});
        let event = signup_event(&b64(body.to_string().as_bytes()));
        let output = handle(&edge, event.parse().expect("event"));
        let HandlerOutput::Forward(request) = &output else {
            panic!("not forwarded: {}", output.to_json());
        };
        let body = request.body.as_ref().expect("body");
        assert_eq!(body.action, BodyAction::Replace);
        assert_eq!(body.encoding, BodyEncoding::Base64);
        assert_same_as_serde(&output, &format!("filler {filler}"));
    }
}

#[test]
fn text_that_needs_escaping_is_still_escaped() {
    let mut request = CloudFrontEvent::from_slice(event("signup-json.json").as_bytes())
        .expect("event")
        .records
        .remove(0)
        .cf
        .request;
    let nasty = [
        "a \"quoted\" value",
        "back\\slash",
        "line\nbreak\r\ttab",
        "\u{0}nul \u{1}\u{1f} controls \u{7f} del",
        "non-ASCII: Grüße, 名前, 😀",
        "</script> \u{2028}\u{2029}",
        "",
        "\"",
        "1234567\\",
    ];
    for text in nasty {
        let body = request.body.as_mut().expect("body");
        body.replace_with_text(text.to_owned());
        body.extra
            .insert("note\"x".to_owned(), Value::String(text.to_owned()));
        request
            .extra
            .insert("extra\n".to_owned(), json!({"k": text, "n": [1, null]}));
        // Header names, original-case keys and values (the headers are written by hand too),
        // with and without a member the type does not model.
        request
            .headers
            .append(&format!("x-{text}"), Header::new(format!("X-{text}"), text));
        let mut odd = Header::new("X-Odd", text);
        odd.key = None;
        odd.extra.insert(format!("why{text}"), json!([text]));
        request.headers.append("x-odd", odd);
        let output = HandlerOutput::Forward(Box::new(request.clone()));
        assert_same_as_serde(&output, text);
        let parsed: Value = serde_json::from_str(&output.to_json()).expect("parses");
        assert_eq!(parsed["body"]["data"], text);
        assert_eq!(parsed["body"]["encoding"], "text");
    }
    // base64 `data` that is not base64 at all is escaped too.
    let body = request.body.as_mut().expect("body");
    body.encoding = BodyEncoding::Base64;
    body.data = "\"}],\"evil\":{\"".to_owned();
    let output = HandlerOutput::Forward(Box::new(request));
    assert_same_as_serde(&output, "base64 with quotes");
}

#[test]
fn origin_and_no_body_are_serde_json_text() {
    for name in [
        "origin-request-aws-doc.json",
        "origin-request-s3-aws-doc.json",
    ] {
        let mut event: CloudFrontEvent = event(name).parse().expect("event");
        let mut request = event.records.remove(0).cf.request;
        assert!(request.origin.is_some(), "{name}");
        assert_same_as_serde(&HandlerOutput::Forward(Box::new(request.clone())), name);
        request.body = None;
        assert_same_as_serde(&HandlerOutput::Forward(Box::new(request)), name);
    }
}

#[test]
fn needs_no_json_escape_agrees_with_serde_json() {
    let agrees = |text: &str| {
        let plain = serde_json::to_string(text).expect("json") == format!("\"{text}\"");
        assert_eq!(needs_no_json_escape(text), plain, "{text:?}");
    };
    // Every ASCII character at every position of both 8-byte words of a 16-byte block and
    // of the tail, among ASCII and among non-ASCII (high-bit) bytes.
    for c in 0u8..=127 {
        for len in 1..=35 {
            for at in 0..len {
                let mut bytes = vec![b'A'; len];
                bytes[at] = c;
                agrees(std::str::from_utf8(&bytes).expect("ascii"));
                let mut text: Vec<char> = vec!['\u{ff}'; len];
                text[at] = char::from(c);
                agrees(&text.into_iter().collect::<String>());
            }
        }
    }
    for text in [
        "",
        "é",
        "ÿÿÿÿÿÿÿÿÿ",
        "\u{80}\u{7ff}\u{ffff}\u{10ffff}",
        "aaaaaaaé\"",
        "+/=0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    ] {
        agrees(text);
    }
    assert!(needs_no_json_escape(&b64(&(0..=255).collect::<Vec<u8>>())));
}

#[test]
fn replace_with_bytes_writes_standard_base64() {
    let mut body = Body {
        input_truncated: false,
        action: BodyAction::ReadOnly,
        encoding: BodyEncoding::Text,
        data: "a much longer text than the new body".to_owned(),
        extra: Default::default(),
    };
    for bytes in [&b""[..], b"a", b"ab", b"abc", b"\xff\xfe\x00 binary"] {
        body.replace_with_bytes(bytes);
        assert_eq!(body.data, b64(bytes));
        assert_eq!(body.decode().expect("decode"), bytes);
        assert_eq!(body.action, BodyAction::Replace);
        assert_eq!(body.encoding, BodyEncoding::Base64);
    }
}

fn signup_event(data: &str) -> String {
    json!({"Records": [{"cf": {
        "config": {"distributionId": "E1", "eventType": "viewer-request", "requestId": "r-1"},
        "request": {"clientIp": "203.0.113.1", "method": "POST", "uri": "/api/users",
            "querystring": "",
            "headers": {"content-type": [{"key": "Content-Type", "value": "application/json"}]},
            "body": {"inputTruncated": false, "action": "read-only", "encoding": "base64",
                "data": data}}}}]})
    .to_string()
}

/// The event with `Records[0].cf.request.body.data` taken out (set to ""), and the data. The
/// text is edited in place: the answer depends on the order of the event's members (headers).
fn split(event_json: &str) -> (String, Option<String>) {
    let event: Value = serde_json::from_str(event_json).expect("event json");
    let Some(data) = event
        .pointer("/Records/0/cf/request/body/data")
        .and_then(Value::as_str)
    else {
        return (event_json.to_owned(), None);
    };
    let literal = serde_json::to_string(data).expect("json");
    assert_eq!(event_json.matches(&literal).count(), 1, "data not unique");
    (
        event_json.replacen(&literal, "\"\"", 1),
        Some(data.to_owned()),
    )
}

#[test]
fn handle_parts_answers_like_handle_json() {
    let (edge, log) = edge(&deterministic_bundle());
    let mut events: Vec<(String, String)> = EVENTS
        .iter()
        .map(|(name, _)| ((*name).to_owned(), event(name)))
        .collect();
    let big = json!({"user": {"email": "erika@example.de", "notes": "x".repeat(30_000)}});
    events.push(("big".into(), signup_event(&b64(big.to_string().as_bytes()))));
    events.push(("bad base64".into(), signup_event("not base64!")));
    for (name, whole) in &events {
        let expected = handle_json(&edge, whole);
        let (rest, data) = split(whole);
        let had_body = data.is_some();
        let parts = handle_parts(&edge, &rest, data);
        assert_eq!(parts.joined().expect("joined"), expected, "{name}");

        let answer: Value = serde_json::from_str(&parts.json).expect("json");
        let forwarded = answer.get("status").is_none();
        // The data comes back apart exactly for a forwarded request with a body.
        assert_eq!(
            parts.body_data.is_some(),
            forwarded && answer.get("body").is_some(),
            "{name}"
        );
        if parts.body_data.is_some() {
            assert_eq!(answer["body"]["data"], "", "{name}");
        }
        if forwarded {
            assert_eq!(had_body, parts.body_data.is_some(), "{name}");
        }
        // The whole event without its data passed apart works too.
        let parts = handle_parts(&edge, whole, None);
        assert_eq!(parts.joined().expect("joined"), expected, "{name}");
    }
    // One log line per call, no value in any.
    let lines = log.lines();
    assert_eq!(lines.len(), events.len() * 3);
    for line in lines {
        for plain in PLAINTEXT {
            assert!(!line.contains(plain), "plaintext {plain:?} logged: {line}");
        }
    }
}

#[test]
fn handle_parts_rejects_data_it_cannot_place() {
    let (edge, log) = edge(&deterministic_bundle());
    let body = b64(br#"{"user":{"email":"erika@example.de"}}"#);
    let (rest, _) = split(&signup_event(&body));
    let no_body = event("search-query.json");
    let mut two_records: Value = serde_json::from_str(&rest).expect("json");
    let record = two_records["Records"][0].clone();
    two_records["Records"]
        .as_array_mut()
        .expect("records")
        .push(record);
    let cases = [
        // The data is still in the event: it was not taken out.
        ("data not taken out", signup_event(&body)),
        ("event without a body", no_body),
        ("two records", two_records.to_string()),
        ("not JSON", "{".to_owned()),
    ];
    for (what, event_json) in &cases {
        let parts = handle_parts(&edge, event_json, Some(body.clone()));
        assert_eq!(parts.body_data, None, "{what}");
        let answer: Value = serde_json::from_str(&parts.json).expect("json");
        assert_eq!(answer["status"], "400", "{what}: {answer}");
        let problem: Value =
            serde_json::from_str(answer["body"].as_str().expect("problem")).expect("json");
        assert_eq!(
            problem["type"], "https://pii-edge.dev/problems/invalid-event",
            "{what}"
        );
        assert!(!parts.json.contains("erika"), "{what}");
    }
    assert_eq!(log.lines().len(), cases.len());
}
