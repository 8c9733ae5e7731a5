//! Shared by the handler tests and the `bootstrap` end-to-end test: the example events of
//! `examples/events/`, what the example bundle must do with each, and checks on the result.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;

/// Plaintext values of the example events that must never reach the origin or a log line.
pub(crate) const PLAINTEXT: &[&str] = &[
    "erika@example.de",
    "erika%40example.de",
    "second%40example.de",
    "+49 30 1234567",
    "1990-04-01",
    "Hauptstr",
    "Erika Mustermann",
    "Erika+Mustermann",
    "4111111111111111",
    "cvv=123",
    "DE-123456789",
];

/// What must come back for an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Forwarded, protected: no plaintext, at least one `pe2.` envelope.
    Protected,
    /// Forwarded unchanged (no policy matches).
    Unchanged,
    /// A generated response with this status and problem code.
    Rejected(u16, &'static str),
}

/// Every example event with what the example bundle must do with it.
pub(crate) const EVENTS: &[(&str, Expect)] = &[
    ("signup-json.json", Expect::Protected),
    (
        "signup-truncated.json",
        Expect::Rejected(413, "body-truncated"),
    ),
    (
        "signup-malformed.json",
        Expect::Rejected(400, "malformed-json"),
    ),
    (
        "signup-duplicate-keys.json",
        Expect::Rejected(400, "duplicate-key"),
    ),
    (
        "signup-gzip.json",
        Expect::Rejected(415, "content-encoding"),
    ),
    ("form-post.json", Expect::Protected),
    ("search-query.json", Expect::Protected),
    ("headers-cookie.json", Expect::Protected),
    ("viewer-request-aws-doc.json", Expect::Unchanged),
    ("viewer-request-body-aws-doc.json", Expect::Unchanged),
    ("origin-request-aws-doc.json", Expect::Unchanged),
    ("origin-request-s3-aws-doc.json", Expect::Unchanged),
];

/// A viewer-request event whose `x-trace` header entry has a `key` naming another header
/// (`X-National-ID`, which the example policy `profile-headers` encrypts). CloudFront never
/// sends one; every entry point refuses it with 400 `invalid-event` (issue 12).
#[allow(dead_code)]
pub(crate) const HEADER_KEY_MISMATCH_EVENT: &str = r#"{"Records":[{"cf":{
  "config":{"distributionId":"EDFDVBD6EXAMPLE","eventType":"viewer-request"},
  "request":{"clientIp":"203.0.113.88","method":"GET","uri":"/api/profile","querystring":"",
    "headers":{"host":[{"key":"Host","value":"d111111abcdef8.cloudfront.net"}],
               "x-trace":[{"key":"X-National-ID","value":"DE-123456789"}]}}}}]}"#;

/// Checks the answer to [`HEADER_KEY_MISMATCH_EVENT`]: 400 `invalid-event` naming the header,
/// the value nowhere.
#[allow(dead_code)]
#[track_caller]
pub(crate) fn check_header_key_mismatch_refused(output: &Value) {
    assert_eq!(output["status"], "400", "{output}");
    let body: Value =
        serde_json::from_str(output["body"].as_str().expect("problem body")).expect("json");
    assert_eq!(body["type"], "https://pii-edge.dev/problems/invalid-event");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("header `x-trace`")),
        "{body}"
    );
    assert!(!output.to_string().contains("DE-123456789"), "{output}");
}

/// The workspace root: the nearest ancestor of the crate that holds `examples/events/` (this
/// file is shared by edge-fn's tests and edge-fn/node's).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("examples/events").is_dir())
        .expect("workspace root with examples/events")
        .to_path_buf()
}

/// The text of `examples/events/<name>`.
pub(crate) fn event(name: &str) -> String {
    let path = root().join("examples/events").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `.json` file directly in `examples/events/` (not `responses/`).
pub(crate) fn event_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("examples/events"))
        .expect("examples/events")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Everything of a forwarded request that reaches the origin, as one text: the decoded body,
/// the query string, the header values.
pub(crate) fn forwarded_text(request: &Value) -> String {
    let mut text = String::new();
    if let Some(body) = request.get("body") {
        let data = body["data"].as_str().unwrap_or_default();
        if body["encoding"] == "base64" {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .expect("body base64");
            text.push_str(&String::from_utf8_lossy(&bytes));
        } else {
            text.push_str(data);
        }
        text.push('\n');
    }
    text.push_str(request["querystring"].as_str().unwrap_or_default());
    text.push('\n');
    if let Some(headers) = request["headers"].as_object() {
        for values in headers.values() {
            for header in values.as_array().into_iter().flatten() {
                text.push_str(header["value"].as_str().unwrap_or_default());
                text.push('\n');
            }
        }
    }
    text
}

/// Asserts that the output fits `expect` for the event `name` (whose input is `input`).
pub(crate) fn check(name: &str, input: &Value, output: &Value, expect: Expect) {
    let request_in = &input["Records"][0]["cf"]["request"];
    match expect {
        Expect::Protected => {
            assert!(
                output.get("status").is_none(),
                "{name}: not forwarded: {output}"
            );
            let text = forwarded_text(output);
            for plain in PLAINTEXT {
                assert!(
                    !text.contains(plain),
                    "{name}: plaintext {plain:?} forwarded"
                );
            }
            assert!(text.contains("pe2."), "{name}: no pe2. envelope in {text}");
            assert_eq!(output["uri"], request_in["uri"], "{name}: uri changed");
            assert_eq!(
                output["method"], request_in["method"],
                "{name}: method changed"
            );
            assert_eq!(
                output["clientIp"], request_in["clientIp"],
                "{name}: clientIp changed"
            );
            for read_only in ["host", "content-length", "via"] {
                assert_eq!(
                    output["headers"][read_only], request_in["headers"][read_only],
                    "{name}: read-only header {read_only} changed"
                );
            }
            if let Some(body) = output.get("body") {
                if body["data"] != request_in["body"]["data"] {
                    assert_eq!(
                        body["action"], "replace",
                        "{name}: changed body not replaced"
                    );
                }
            }
        }
        Expect::Unchanged => {
            assert_eq!(output, request_in, "{name}: unmatched request changed");
        }
        Expect::Rejected(status, code) => {
            assert_eq!(output["status"], status.to_string(), "{name}: {output}");
            assert_eq!(
                output["headers"]["content-type"][0]["value"], "application/problem+json",
                "{name}"
            );
            assert_eq!(
                output["headers"]["cache-control"][0]["value"], "no-store",
                "{name}"
            );
            assert_eq!(output["bodyEncoding"], "text", "{name}");
            let body: Value =
                serde_json::from_str(output["body"].as_str().expect("problem body")).expect("json");
            assert_eq!(
                body["type"],
                format!("https://pii-edge.dev/problems/{code}"),
                "{name}: {body}"
            );
            assert_eq!(body["status"], status, "{name}");
            assert!(
                body["title"].is_string() && body["detail"].is_string(),
                "{name}"
            );
            let whole = output.to_string();
            assert!(
                whole.len() <= 40_000,
                "{name}: generated response too large"
            );
            for plain in PLAINTEXT {
                assert!(
                    !whole.contains(plain),
                    "{name}: plaintext {plain:?} in the problem"
                );
            }
        }
    }
}
