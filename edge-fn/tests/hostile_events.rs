//! Hostile input at the CloudFront event level, through `handle_json` (issue 8, point 2), and
//! fault tests of the function (point 4): a bundle that fails validation, the Lambda Runtime
//! API failing or answering slowly to the real `bootstrap` binary.
//!
//! Every request that matches the policy ends protected (no selected plaintext in what is
//! forwarded) or as a generated problem response; nothing is ever cut or forwarded uninspected.
//! `docs/threat-model.md` lists each case with its test.

mod support;
// Only its HTTP request reader is used here.
#[allow(dead_code)]
mod runtime_api;

use std::sync::Arc;

use base64::Engine as _;
use edge_fn::bundle::Edge;
use edge_fn::log::MemorySink;
use pii_core::{keys::PrivateKey, PrivateKeyring};
use serde_json::{json, Value};
use support::forwarded_text;

const ZONE: &str = "eu-central";

/// Every selector kind; `notes` is masked (same length), so size limits can be probed exactly.
const POLICY: &str = r#"{"apiVersion":"pii-edge/v1","name":"hostile","zone":"eu-central",
  "match":{"paths":["/api/**"]},
  "rules":[
    {"select":{"json":"$..email"},"action":"encrypt"},
    {"select":{"json":"$.notes"},"action":"mask"},
    {"select":{"form":"email"},"action":"encrypt"},
    {"select":{"query":"email"},"action":"encrypt"},
    {"select":{"header":"x-national-id"},"action":"encrypt"},
    {"select":{"cookie":"session_email"},"action":"redact"}]}"#;

fn private() -> PrivateKeyring {
    let mut ring = PrivateKeyring::new();
    ring.push(PrivateKey::generate(ZONE, "eu-central-1", 1).expect("keygen"));
    ring.push(PrivateKey::generate(ZONE, "eu-central-2", 1).expect("keygen"));
    ring
}

fn bundle(private: &PrivateKeyring) -> String {
    format!(
        r#"{{"policies":[{POLICY}],"keys":{},"tokens":null}}"#,
        private.public().to_jwks()
    )
}

fn edge() -> (Edge, Arc<MemorySink>, PrivateKeyring) {
    let private = private();
    let log = Arc::new(MemorySink::default());
    let edge = Edge::from_bundle_with_log(&bundle(&private), log.clone());
    assert!(edge.is_ready(), "{:?}", edge.engine().err());
    (edge, log, private)
}

/// A request event. `headers` are `(map name, key, value)`.
struct Ev<'a> {
    event_type: &'a str,
    method: &'a str,
    uri: &'a str,
    query: &'a str,
    headers: Vec<(&'a str, Option<&'a str>, &'a str)>,
    body: Option<(Vec<u8>, &'a str, bool)>,
}

impl<'a> Ev<'a> {
    fn post_json(body: impl Into<Vec<u8>>) -> Self {
        Ev {
            event_type: "viewer-request",
            method: "POST",
            uri: "/api/users",
            query: "",
            headers: vec![("content-type", Some("Content-Type"), "application/json")],
            body: Some((body.into(), "base64", false)),
        }
    }

    fn get(query: &'a str) -> Self {
        Ev {
            event_type: "viewer-request",
            method: "GET",
            uri: "/api/search",
            query,
            headers: vec![],
            body: None,
        }
    }

    fn truncated(mut self) -> Self {
        if let Some(b) = &mut self.body {
            b.2 = true;
        }
        self
    }

    fn origin(mut self) -> Self {
        self.event_type = "origin-request";
        self
    }

    fn header(mut self, name: &'a str, key: Option<&'a str>, value: &'a str) -> Self {
        self.headers.push((name, key, value));
        self
    }

    fn json(&self) -> String {
        // Built by hand so that a map name may repeat with other spellings, in order.
        let mut headers = String::from("{");
        let mut names: Vec<&str> = Vec::new();
        for (name, _, _) in &self.headers {
            if !names.contains(name) {
                names.push(name);
            }
        }
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                headers.push(',');
            }
            let values: Vec<Value> = self
                .headers
                .iter()
                .filter(|(n, _, _)| n == name)
                .map(|(_, key, value)| match key {
                    Some(k) => json!({"key": k, "value": value}),
                    None => json!({"value": value}),
                })
                .collect();
            headers.push_str(&format!("{}:{}", json!(name), Value::Array(values)));
        }
        headers.push('}');
        let mut request = format!(
            r#"{{"clientIp":"203.0.113.1","method":{},"uri":{},"querystring":{},"headers":{headers}"#,
            json!(self.method),
            json!(self.uri),
            json!(self.query)
        );
        if let Some((data, encoding, truncated)) = &self.body {
            let data = if *encoding == "base64" {
                base64::engine::general_purpose::STANDARD.encode(data)
            } else {
                String::from_utf8(data.clone()).expect("text body")
            };
            request.push_str(&format!(
                r#","body":{{"inputTruncated":{truncated},"action":"read-only","encoding":{},"data":{}}}"#,
                json!(encoding),
                json!(data)
            ));
        }
        request.push('}');
        format!(
            r#"{{"Records":[{{"cf":{{"config":{{"distributionId":"EHOSTILE","eventType":{},"requestId":"r-1"}},"request":{request}}}}}]}}"#,
            json!(self.event_type)
        )
    }
}

fn run(edge: &Edge, ev: &Ev<'_>) -> Value {
    serde_json::from_str(&edge_fn::handle_json(edge, &ev.json())).expect("output is JSON")
}

/// A forwarded request with none of `secrets` in what reaches the origin.
#[track_caller]
fn forwarded(out: &Value, secrets: &[&str]) -> String {
    assert!(out.get("status").is_none(), "not forwarded: {out}");
    let text = forwarded_text(out);
    for s in secrets {
        assert!(!text.contains(s), "plaintext {s:?} forwarded: {text}");
    }
    text
}

/// A generated problem response with this status and code, and no `secrets` in it.
#[track_caller]
fn problem(out: &Value, status: u16, code: &str, secrets: &[&str]) {
    assert_eq!(out["status"], status.to_string(), "{out}");
    assert!(
        out.get("uri").is_none(),
        "a response carries no request: {out}"
    );
    assert_eq!(
        out["headers"]["content-type"][0]["value"],
        "application/problem+json"
    );
    let body: Value = serde_json::from_str(out["body"].as_str().expect("body")).expect("json");
    assert_eq!(
        body["type"],
        format!("https://pii-edge.dev/problems/{code}"),
        "{body}"
    );
    let text = out.to_string();
    for s in secrets {
        assert!(!text.contains(s), "plaintext {s:?} in the response: {text}");
    }
}

fn assert_log_clean(log: &MemorySink, secrets: &[&str]) {
    for line in log.lines() {
        serde_json::from_str::<Value>(&line).expect("log line is JSON");
        for s in secrets {
            assert!(!line.contains(s), "{s:?} logged: {line}");
        }
    }
}

/// A JSON body of exactly `len` bytes: `{"notes":"SECRET-xxxx..."}` (masked: same length).
fn notes_body(len: usize) -> Vec<u8> {
    let fixed = r#"{"notes":"SECRET-"}"#.len();
    format!(r#"{{"notes":"SECRET-{}"}}"#, "x".repeat(len - fixed)).into_bytes()
}

// ---- inspection and write-back limits -------------------------------------------------------

#[test]
fn body_at_the_inspection_limit_and_one_byte_over() {
    let (edge, log, _) = edge();
    // 40 KB as CloudFront counts it (40,960 bytes), not truncated, nothing selected: forwarded
    // as it came (read-only, not rewritten).
    let plain = format!(r#"{{"other":"{}"}}"#, "y".repeat(40_960 - 12));
    assert_eq!(plain.len(), 40_960);
    let out = run(&edge, &Ev::post_json(plain.clone()));
    forwarded(&out, &[]);
    assert_eq!(out["body"]["action"], "read-only");
    // One byte over: CloudFront passes the first 40,960 bytes with inputTruncated: 413.
    let over = notes_body(40_961);
    let out = run(&edge, &Ev::post_json(over[..40_960].to_vec()).truncated());
    problem(&out, 413, "body-truncated", &["SECRET"]);
    // inputTruncated with a complete, small body: the flag alone decides.
    let out = run(&edge, &Ev::post_json(notes_body(100)).truncated());
    problem(&out, 413, "body-truncated", &["SECRET"]);
    // Also on origin-request, and with an empty body.
    let out = run(&edge, &Ev::post_json(Vec::new()).truncated().origin());
    problem(&out, 413, "body-truncated", &[]);
    assert_log_clean(&log, &["SECRET"]);
}

#[test]
fn replaced_bodies_up_to_the_limits_and_never_cut() {
    let (edge, _, _) = edge();
    // 39,900 bytes: base64 (53,200 characters) fits exactly.
    let out = run(&edge, &Ev::post_json(notes_body(39_900)));
    forwarded(&out, &["SECRET"]);
    assert_eq!(out["body"]["action"], "replace");
    assert_eq!(out["body"]["encoding"], "base64");
    assert_eq!(out["body"]["data"].as_str().map(str::len), Some(53_200));
    // 40,000 bytes: only text fits (40,000 bytes exactly).
    let out = run(&edge, &Ev::post_json(notes_body(40_000)));
    forwarded(&out, &["SECRET"]);
    assert_eq!(out["body"]["encoding"], "text");
    assert_eq!(out["body"]["data"].as_str().map(str::len), Some(40_000));
    // 40,001 bytes (and the full 40,960 CloudFront may pass): nothing fits, 413, not cut.
    for len in [40_001, 40_960] {
        let out = run(&edge, &Ev::post_json(notes_body(len)));
        problem(&out, 413, "body-too-large", &["SECRET"]);
    }
    // Encryption grows a body that arrived within the limit past it: 413.
    let body = format!(
        r#"{{"email":"SECRET@x.de","pad":"{}"}}"#,
        "p".repeat(39_700)
    );
    let out = run(&edge, &Ev::post_json(body));
    problem(&out, 413, "body-too-large", &["SECRET"]);
    // Origin-request: 1 MB text, 1.33 MB base64.
    let out = run(&edge, &Ev::post_json(notes_body(1_000_000)).origin());
    forwarded(&out, &["SECRET"]);
    assert_eq!(out["body"]["data"].as_str().map(str::len), Some(1_000_000));
    let out = run(&edge, &Ev::post_json(notes_body(1_000_001)).origin());
    problem(&out, 413, "body-too-large", &["SECRET"]);
}

#[test]
fn a_query_string_that_grows_too_long_is_refused() {
    let (edge, _, _) = edge();
    let value = "S".repeat(2_000);
    let query = format!("email=SECRET{value}&email=SECRET{value}&email=SECRET{value}");
    let out = run(&edge, &Ev::get(&query));
    problem(&out, 414, "uri-too-long", &["SECRET"]);
    let out = run(&edge, &Ev::get("email=SECRET"));
    forwarded(&out, &["SECRET"]);
}

// ---- hostile bodies, types and encodings at the event level --------------------------------

#[test]
fn hostile_bodies_through_the_handler() {
    let (edge, log, _) = edge();
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (
            br#"{"email":"SECRET-1","email":"SECRET-2"}"#.to_vec(),
            400,
            "duplicate-key",
        ),
        (
            br#"{"email":"SECRET-1","em\u0061il":"SECRET-2"}"#.to_vec(),
            400,
            "duplicate-key",
        ),
        (
            format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
            400,
            "too-deep",
        ),
        (
            br#"{"n":1e400,"email":"SECRET"}"#.to_vec(),
            400,
            "malformed-json",
        ),
        (
            b"\xef\xbb\xbf{\"email\":\"SECRET\"}".to_vec(),
            400,
            "malformed-json",
        ),
        (
            b"{\"email\":\"SECRET\xff\"}".to_vec(),
            400,
            "malformed-json",
        ),
        (
            br#"{"email":"SECRET\ud800"}"#.to_vec(),
            400,
            "malformed-json",
        ),
        (br#"{"email":"SECRET""#.to_vec(), 400, "malformed-json"),
    ];
    for (body, status, code) in cases {
        let out = run(&edge, &Ev::post_json(body));
        problem(&out, status, code, &["SECRET"]);
    }
    // Escaped name, big numbers: protected, unselected bytes exact.
    let body = r#"{"em\u0061il":"SECRET","big":123456789012345678901234567890}"#;
    let out = run(&edge, &Ev::post_json(body));
    let text = forwarded(&out, &["SECRET"]);
    assert!(
        text.contains(r#""big":123456789012345678901234567890}"#),
        "{text}"
    );
    // A text-encoded body (as a function may receive from a test harness) is read the same.
    let mut ev = Ev::post_json(br#"{"email":"SECRET"}"#.to_vec());
    ev.body = Some((br#"{"email":"SECRET"}"#.to_vec(), "text", false));
    forwarded(&run(&edge, &ev), &["SECRET"]);
    // Body data that is not base64: 400 invalid-event, nothing forwarded.
    let broken = Ev::post_json(b"x".to_vec())
        .json()
        .replace(r#""data":"eA==""#, r#""data":"SECRET@@""#);
    let out: Value =
        serde_json::from_str(&edge_fn::handle_json(&edge, &broken)).expect("json output");
    problem(&out, 400, "invalid-event", &["SECRET"]);
    assert_log_clean(&log, &["SECRET"]);
}

#[test]
fn content_type_and_encoding_at_the_event_level() {
    let (edge, _, _) = edge();
    let body = br#"{"email":"SECRET"}"#;
    let with = |headers: Vec<(&'static str, Option<&'static str>, &'static str)>| {
        let mut ev = Ev::post_json(body.to_vec());
        ev.headers = headers;
        ev
    };
    let ct = |v: &'static str| ("content-type", Some("Content-Type"), v);
    let out = run(&edge, &with(vec![]));
    problem(&out, 415, "missing-content-type", &["SECRET"]);
    let out = run(&edge, &with(vec![ct("text/plain")]));
    problem(&out, 415, "unsupported-media-type", &["SECRET"]);
    let out = run(
        &edge,
        &with(vec![ct("application/json"), ct("application/json")]),
    );
    problem(&out, 415, "missing-content-type", &["SECRET"]);
    let out = run(&edge, &with(vec![ct("application/x-www-form-urlencoded")]));
    problem(&out, 400, "malformed-form", &["SECRET"]);
    let out = run(&edge, &with(vec![ct("Application/JSON; Charset=UTF-8")]));
    forwarded(&out, &["SECRET"]);
    // The map name is not lowercase and there is no key: still found.
    let out = run(
        &edge,
        &with(vec![("Content-Type", None, "application/json")]),
    );
    forwarded(&out, &["SECRET"]);
    for enc in ["gzip", "br", "identity, gzip"] {
        let out = run(
            &edge,
            &with(vec![
                ct("application/json"),
                ("content-encoding", Some("Content-Encoding"), enc),
            ]),
        );
        problem(&out, 415, "content-encoding", &["SECRET"]);
    }
    let out = run(
        &edge,
        &with(vec![
            ct("application/json"),
            ("content-encoding", Some("Content-Encoding"), "identity"),
        ]),
    );
    forwarded(&out, &["SECRET"]);
    // The example gzip event of examples/events/ is refused the same way.
    let (example, _) = example_edge();
    let out: Value = serde_json::from_str(&edge_fn::handle_json(
        &example,
        &support::event("signup-gzip.json"),
    ))
    .expect("json");
    problem(&out, 415, "content-encoding", support::PLAINTEXT);
}

#[test]
fn repeated_encoded_and_odd_case_parameters_headers_and_cookies() {
    let (edge, log, private) = edge();
    let mut ev = Ev::get("email=SECRET-1&%65mail=SECRET-2&EMAIL=SECRET-3&e%6Dail=SECRET-4&q=kept");
    ev = ev
        .header("x-national-id", Some("X-National-ID"), "SECRET-5")
        .header("x-national-id", Some("x-national-id"), "SECRET-6")
        .header("X-NATIONAL-ID", None, "SECRET-7")
        .header("cookie", Some("Cookie"), "a=1; session_email=SECRET-8")
        .header("cookie", Some("Cookie"), "SESSION_EMAIL =SECRET-9; b=2");
    let out = run(&edge, &ev);
    let text = forwarded(&out, &["SECRET"]);
    assert!(text.contains("q=kept"), "{text}");
    assert_eq!(
        out["headers"]["cookie"],
        json!([{"key": "Cookie", "value": "a=1"}, {"key": "Cookie", "value": "b=2"}])
    );
    // What the origin receives opens back to the values.
    let request = pii_core::Request {
        method: "GET".into(),
        path: "/api/search".into(),
        query: out["querystring"].as_str().expect("query").to_owned(),
        headers: ["x-national-id", "X-NATIONAL-ID"]
            .iter()
            .flat_map(|n| out["headers"][n].as_array().cloned().unwrap_or_default())
            .map(|h| {
                (
                    h["key"].as_str().unwrap_or("x-national-id").to_owned(),
                    h["value"].as_str().expect("value").to_owned(),
                )
            })
            .collect(),
        ..Default::default()
    };
    let opened = pii_core::reveal(
        &private,
        &request,
        pii_core::reveal::Expect {
            policy: Some("hostile"),
            zone: Some(ZONE),
        },
    )
    .expect("reveal");
    assert_eq!(opened.opened(), 7);
    assert_log_clean(&log, &["SECRET"]);
}

/// CloudFront always sends `key` as the original-case spelling of the map name. An event where
/// they differ cannot come from CloudFront, but the handler gives the engine `key` while
/// CloudFront and the origin go by the map name: the value is forwarded unprotected.
#[test]
fn a_header_key_that_contradicts_its_name_is_refused() {
    let (edge, _, _) = edge();
    let ev = Ev::get("").header("x-national-id", Some("X-Something-Else"), "SECRET");
    let out = run(&edge, &ev);
    // CloudFront never sends such an entry: refused, never read under either name.
    problem(&out, 400, "invalid-event", &["SECRET"]);
}

// ---- faults: the bundle --------------------------------------------------------------------

fn example_edge() -> (Edge, Arc<MemorySink>) {
    let bundle = std::fs::read_to_string(support::root().join("examples/bundle/bundle.json"))
        .expect("example bundle");
    let log = Arc::new(MemorySink::default());
    (Edge::from_bundle_with_log(&bundle, log.clone()), log)
}

#[test]
fn every_kind_of_bad_bundle_rejects_every_request_with_503() {
    let private = private();
    let good = bundle(&private);
    let public = private.public().to_jwks();
    let with_d = format!(
        r#"{{"keys":[{}]}}"#,
        PrivateKey::generate(ZONE, "eu-central-1", 1)
            .expect("keygen")
            .to_jwk()
    );
    let d_value = serde_json::from_str::<Value>(&with_d).expect("jwks")["keys"][0]["d"]
        .as_str()
        .expect("d")
        .to_owned();
    let bad_bundles = [
        ("not JSON", "{".to_owned()),
        ("unknown member", good.replacen('{', r#"{"extra":1,"#, 1)),
        (
            "no policies",
            format!(r#"{{"policies":[],"keys":{public},"tokens":null}}"#),
        ),
        (
            "bad JSONPath",
            good.replace(r#""$..email""#, r#""$..email[""#),
        ),
        (
            "unknown action",
            good.replace(r#""action":"mask""#, r#""action":"scramble""#),
        ),
        (
            "no key for the zone",
            format!(r#"{{"policies":[{POLICY}],"keys":{{"keys":[]}},"tokens":null}}"#),
        ),
        (
            "private key in the public set",
            format!(r#"{{"policies":[{POLICY}],"keys":{with_d},"tokens":null}}"#),
        ),
        (
            "token domain without a key",
            good.replace(
                r#""action":"mask"}"#,
                r#""action":"tokenize","domain":"email"}"#,
            ),
        ),
        (
            "read-only header selected",
            good.replace(r#""header":"x-national-id""#, r#""header":"Host""#),
        ),
    ];
    let requests = [
        Ev::post_json(br#"{"email":"SECRET"}"#.to_vec()),
        Ev::get("email=SECRET"),
        // Would be unmatched (forwarded as is) with a good bundle: refused all the same.
        Ev {
            uri: "/public/page",
            ..Ev::get("q=SECRET")
        },
    ];
    for (what, text) in &bad_bundles {
        let log = Arc::new(MemorySink::default());
        let edge = Edge::from_bundle_with_log(text, log.clone());
        assert!(!edge.is_ready(), "{what}: loaded");
        let init = log.lines();
        assert_eq!(init.len(), 1, "{what}: one init line");
        assert!(!init[0].contains(&d_value), "{what}: key material logged");
        assert!(init[0].contains("\"error\""), "{what}: {}", init[0]);
        for ev in &requests {
            let out = run(&edge, ev);
            problem(&out, 503, "policy-unavailable", &["SECRET", &d_value]);
        }
        assert_eq!(log.lines().len(), 1 + requests.len(), "{what}");
        assert_log_clean(&log, &["SECRET", &d_value]);
    }
}

// ---- faults: the Lambda Runtime API ------------------------------------------------------

#[cfg(feature = "lambda")]
mod runtime_faults {
    //! The real `bootstrap` binary against a scripted Runtime API that fails: `/next` answering
    //! 500, answering slowly, handing out a non-JSON event or no request id, the response POST
    //! failing or slow, the connection dropped. The function must keep serving or exit with a
    //! clear message, and never emit plaintext (responses, stdout, stderr).

    use std::collections::VecDeque;
    use std::io::{BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::process::{Child, Command, Stdio};
    use std::sync::{Arc, Condvar, Mutex};
    use std::thread;
    use std::time::{Duration, Instant};

    use serde_json::Value;

    use super::support::{event, PLAINTEXT};

    /// What `/next` does on one call.
    #[derive(Clone)]
    pub(super) enum Next {
        /// Hand out this event under this id.
        Event(&'static str, String),
        /// Answer with this status and no event.
        Status(u16),
        /// Wait, then hand out the event.
        Slow(Duration, &'static str, String),
        /// An event without the request-id header.
        NoRequestId(String),
        /// Close the connection without answering.
        Drop,
    }

    /// What `POST .../response` does on one call.
    #[derive(Clone, Copy)]
    pub(super) enum Post {
        Accept,
        Status(u16),
        Slow(Duration),
    }

    #[derive(Default)]
    struct State {
        next: VecDeque<Next>,
        posts: VecDeque<Post>,
        /// `(id, "response" | "error", body)`
        results: Vec<(String, String, String)>,
        next_calls: usize,
        init_error: Option<String>,
    }

    pub(super) struct Api {
        addr: String,
        state: Arc<(Mutex<State>, Condvar)>,
    }

    impl Api {
        pub(super) fn start(next: Vec<Next>, posts: Vec<Post>) -> Api {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            let addr = listener.local_addr().expect("addr").to_string();
            let state: Arc<(Mutex<State>, Condvar)> = Arc::default();
            {
                let mut s = state.0.lock().expect("state");
                s.next = next.into();
                s.posts = posts.into();
            }
            let shared = state.clone();
            thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let shared = shared.clone();
                    thread::spawn(move || serve(stream, &shared));
                }
            });
            Api { addr, state }
        }

        /// Waits until `n` results arrived (or the init error), at most `timeout`.
        pub(super) fn wait(&self, n: usize, timeout: Duration) -> Vec<(String, String, String)> {
            let deadline = Instant::now() + timeout;
            let (lock, cvar) = &*self.state;
            let mut s = lock.lock().expect("state");
            while s.results.len() < n && s.init_error.is_none() && Instant::now() < deadline {
                s = cvar
                    .wait_timeout(s, deadline.saturating_duration_since(Instant::now()))
                    .expect("state")
                    .0;
            }
            s.results.clone()
        }

        pub(super) fn next_calls(&self) -> usize {
            self.state.0.lock().expect("state").next_calls
        }
    }

    /// Status, extra headers, body.
    type Answer = (u16, Vec<(String, String)>, String);

    fn serve(stream: TcpStream, shared: &Arc<(Mutex<State>, Condvar)>) {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
        let Ok(mut writer) = stream.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(stream);
        while let Some((method, path, body)) = read_request(&mut reader) {
            let (lock, cvar) = &**shared;
            let answer: Option<Answer> = if method == "GET" && path.ends_with("/invocation/next") {
                let action = {
                    let mut s = lock.lock().expect("state");
                    s.next_calls += 1;
                    s.next.pop_front()
                };
                let event = |id: &str, body: String| {
                    let deadline = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_millis() + 30_000)
                        .unwrap_or(0);
                    let mut headers = vec![
                        (
                            "Lambda-Runtime-Deadline-Ms".to_owned(),
                            deadline.to_string(),
                        ),
                        (
                            "Lambda-Runtime-Invoked-Function-Arn".to_owned(),
                            "arn:aws:lambda:us-east-1:123456789012:function:f:1".to_owned(),
                        ),
                    ];
                    if !id.is_empty() {
                        headers.push(("Lambda-Runtime-Aws-Request-Id".to_owned(), id.to_owned()));
                    }
                    Some((200, headers, body))
                };
                match action {
                    Some(Next::Event(id, body)) => event(id, body),
                    Some(Next::Slow(wait, id, body)) => {
                        thread::sleep(wait);
                        event(id, body)
                    }
                    Some(Next::NoRequestId(body)) => event("", body),
                    Some(Next::Status(code)) => Some((code, vec![], "{}".to_owned())),
                    Some(Next::Drop) => None,
                    // Nothing left: long-poll (bounded), as the real API does.
                    None => {
                        thread::sleep(Duration::from_secs(30));
                        Some((500, vec![], "{}".to_owned()))
                    }
                }
            } else if method == "POST" && path.ends_with("/init/error") {
                let mut s = lock.lock().expect("state");
                s.init_error = Some(body);
                cvar.notify_all();
                Some((202, vec![], "{}".to_owned()))
            } else if method == "POST" {
                let rest = path.rsplit("/invocation/").next().unwrap_or("");
                let (id, kind) = rest.rsplit_once('/').unwrap_or((rest, ""));
                let post = lock
                    .lock()
                    .expect("state")
                    .posts
                    .pop_front()
                    .unwrap_or(Post::Accept);
                match post {
                    Post::Slow(wait) => thread::sleep(wait),
                    Post::Status(_) | Post::Accept => {}
                }
                let mut s = lock.lock().expect("state");
                s.results.push((id.to_owned(), kind.to_owned(), body));
                cvar.notify_all();
                match post {
                    Post::Status(code) => Some((code, vec![], "{}".to_owned())),
                    _ => Some((202, vec![], "{\"status\":\"OK\"}".to_owned())),
                }
            } else {
                Some((404, vec![], "{}".to_owned()))
            };
            let Some((status, headers, body)) = answer else {
                return; // drop the connection
            };
            let mut head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            );
            for (n, v) in headers {
                head.push_str(&format!("{n}: {v}\r\n"));
            }
            head.push_str("\r\n");
            if writer.write_all(head.as_bytes()).is_err()
                || writer.write_all(body.as_bytes()).is_err()
            {
                return;
            }
            let _ = writer.flush();
        }
    }

    fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, String, String)> {
        let r = super::runtime_api::read_request(reader)?;
        Some((
            r.method,
            r.path,
            String::from_utf8_lossy(&r.body).into_owned(),
        ))
    }

    pub(super) struct Running {
        child: Child,
        out: Option<thread::JoinHandle<String>>,
        err: Option<thread::JoinHandle<String>>,
    }

    impl Running {
        pub(super) fn start(api: &Api) -> Running {
            let mut child = Command::new(env!("CARGO_BIN_EXE_bootstrap"))
                .env_clear()
                .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
                .env("AWS_LAMBDA_FUNCTION_NAME", "pii-edge-faults")
                .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/f")
                .env("AWS_LAMBDA_LOG_STREAM_NAME", "s")
                .env("AWS_REGION", "us-east-1")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn bootstrap");
            let drain = |pipe: Option<Box<dyn Read + Send>>| {
                thread::spawn(move || {
                    let mut text = String::new();
                    if let Some(mut p) = pipe {
                        let _ = p.read_to_string(&mut text);
                    }
                    text
                })
            };
            let out = drain(
                child
                    .stdout
                    .take()
                    .map(|p| Box::new(p) as Box<dyn Read + Send>),
            );
            let err = drain(
                child
                    .stderr
                    .take()
                    .map(|p| Box::new(p) as Box<dyn Read + Send>),
            );
            Running {
                child,
                out: Some(out),
                err: Some(err),
            }
        }

        /// Whether the process is still running after `grace`; its exit status otherwise.
        /// Waits until `n` results arrived at `api`, the process exited, or `timeout`.
        pub(super) fn results(
            &mut self,
            api: &Api,
            n: usize,
            timeout: Duration,
        ) -> Vec<(String, String, String)> {
            let deadline = Instant::now() + timeout;
            loop {
                let results = api.wait(n, Duration::from_millis(100));
                let exited = matches!(self.child.try_wait(), Ok(Some(_)));
                if results.len() >= n || exited || Instant::now() >= deadline {
                    return results;
                }
            }
        }

        pub(super) fn alive_after(&mut self, grace: Duration) -> Result<(), String> {
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if let Ok(Some(status)) = self.child.try_wait() {
                    return Err(status.to_string());
                }
                thread::sleep(Duration::from_millis(50));
            }
            Ok(())
        }

        /// Kills the process (if running) and returns (stdout, stderr).
        pub(super) fn finish(mut self) -> (String, String) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let out = self.out.take().map(|h| h.join().unwrap_or_default());
            let err = self.err.take().map(|h| h.join().unwrap_or_default());
            (out.unwrap_or_default(), err.unwrap_or_default())
        }
    }

    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// Responses must be JSON and hold no plaintext; so must stdout and stderr.
    pub(super) fn assert_no_plaintext(results: &[(String, String, String)], out: &str, err: &str) {
        for (id, kind, body) in results {
            if kind == "response" {
                serde_json::from_str::<Value>(body).expect("response is JSON");
            }
            for p in PLAINTEXT {
                assert!(!body.contains(p), "{id} {kind}: plaintext {p:?}: {body}");
            }
        }
        for p in PLAINTEXT {
            assert!(!out.contains(p), "plaintext {p:?} on stdout");
            assert!(!err.contains(p), "plaintext {p:?} on stderr");
        }
    }

    pub(super) fn signup() -> String {
        event("signup-json.json")
    }

    pub(super) fn protected(body: &str) {
        let v: Value = serde_json::from_str(body).expect("json");
        assert!(v.get("status").is_none(), "not forwarded: {v}");
        let text = super::support::forwarded_text(&v);
        assert!(text.contains("pe2."), "no envelope: {text}");
    }
}

#[cfg(feature = "lambda")]
use runtime_faults::{assert_no_plaintext, protected, signup, Api, Next, Post, Running};
#[cfg(feature = "lambda")]
use std::time::Duration;

/// `/next` answers 500 once. lambda_runtime treats a failed `/next` as fatal: the process exits
/// with an error on stderr (Lambda then starts a new instance); it never forwards anything.
#[cfg(feature = "lambda")]
#[test]
fn runtime_api_500_on_next() {
    let api = Api::start(
        vec![Next::Status(500), Next::Event("after", signup())],
        vec![],
    );
    let mut running = Running::start(&api);
    let results = running.results(&api, 1, Duration::from_secs(20));
    let alive = running.alive_after(Duration::from_millis(500));
    let (out, err) = running.finish();
    assert_no_plaintext(&results, &out, &err);
    match alive {
        // Kept serving: the next event was answered, protected.
        Ok(()) => {
            let (_, kind, body) = results
                .iter()
                .find(|r| r.0 == "after")
                .expect("served after");
            assert_eq!(kind, "response");
            protected(body);
        }
        // Exited: with a message on stderr, and nothing answered.
        Err(status) => {
            assert!(results.is_empty(), "{results:?}");
            assert!(
                !err.trim().is_empty(),
                "exited ({status}) without a message"
            );
            eprintln!("exit on /next 500: {status}; stderr: {}", err.trim());
        }
    }
}

/// `/next` answers after 3 s: the function waits and serves.
#[cfg(feature = "lambda")]
#[test]
fn runtime_api_slow_next() {
    let api = Api::start(
        vec![
            Next::Slow(Duration::from_secs(3), "slow", signup()),
            Next::Event("then", signup()),
        ],
        vec![],
    );
    let mut running = Running::start(&api);
    let results = running.results(&api, 2, Duration::from_secs(30));
    let (out, err) = running.finish();
    assert_no_plaintext(&results, &out, &err);
    assert_eq!(results.len(), 2, "{results:?}\n{err}");
    for (_, kind, body) in &results {
        assert_eq!(kind, "response");
        protected(body);
    }
}

/// The response POST fails (500) or is slow: the function goes on with the next event.
#[cfg(feature = "lambda")]
#[test]
fn runtime_api_response_post_fails_or_is_slow() {
    let api = Api::start(
        vec![
            Next::Event("a", signup()),
            Next::Event("b", signup()),
            Next::Event("c", signup()),
        ],
        vec![
            Post::Status(500),
            Post::Slow(Duration::from_secs(2)),
            Post::Accept,
        ],
    );
    let mut running = Running::start(&api);
    let results = running.results(&api, 3, Duration::from_secs(30));
    let alive = running.alive_after(Duration::from_millis(200));
    let (out, err) = running.finish();
    assert_no_plaintext(&results, &out, &err);
    eprintln!(
        "after a failed response POST: alive={alive:?}, results={:?}",
        results.iter().map(|r| (&r.0, &r.1)).collect::<Vec<_>>()
    );
    // The first response was posted (and refused by the API): it held no plaintext either.
    assert!(results.iter().any(|r| r.0 == "a"), "{results:?}");
    for (_, kind, body) in &results {
        if kind == "response" {
            protected(body);
        }
    }
}

/// Events that are not JSON, or lack the request id, and a dropped connection: reported as
/// errors or fatal, never forwarded; a following good event is answered when the process
/// keeps running.
#[cfg(feature = "lambda")]
#[test]
fn runtime_api_bad_events_and_dropped_connections() {
    for (what, first) in [
        (
            "non-JSON event",
            Next::Event("bad", "erika@example.de not json".to_owned()),
        ),
        ("no request id", Next::NoRequestId(signup())),
        ("dropped connection", Next::Drop),
    ] {
        let api = Api::start(vec![first, Next::Event("good", signup())], vec![]);
        let mut running = Running::start(&api);
        let results = running.results(&api, 2, Duration::from_secs(20));
        let alive = running.alive_after(Duration::from_millis(300));
        let calls = api.next_calls();
        let (out, err) = running.finish();
        assert_no_plaintext(&results, &out, &err);
        for (id, kind, body) in &results {
            if id == "good" {
                assert_eq!(kind, "response");
                protected(body);
            } else {
                // The bad event is answered with an error or a 400 generated response.
                assert!(
                    kind == "error" || body.contains("\"status\":\"400\""),
                    "{what}: {kind} {body}"
                );
            }
        }
        let served_good = results.iter().any(|r| r.0 == "good");
        assert!(
            served_good || (alive.is_err() && !err.trim().is_empty()),
            "{what}: neither kept serving nor exited with a message (alive={alive:?}, /next calls {calls})"
        );
        eprintln!(
            "{what}: served_good={served_good} alive={alive:?} results={:?} stderr={}",
            results.iter().map(|r| (&r.0, &r.1)).collect::<Vec<_>>(),
            err.lines().next().unwrap_or("")
        );
    }
}

/// A panic inside the request path (injected just before the engine) is caught: the request
/// is answered 500 `internal` without forwarding anything, the log line says so without any
/// value, and the next request is served.
#[test]
fn a_panic_inside_the_engine_is_caught_and_the_function_keeps_serving() {
    use std::sync::atomic::{AtomicBool, Ordering};
    static ARMED: AtomicBool = AtomicBool::new(true);
    fn fault(req: &pii_core::Request) {
        if ARMED.swap(false, Ordering::SeqCst) {
            panic!("injected fault with {} body bytes", req.body.len());
        }
    }
    let bundle = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/bundle/bundle.json"),
    )
    .expect("example bundle");
    let log = std::sync::Arc::new(edge_fn::log::MemorySink::default());
    let edge = edge_fn::bundle::Edge::from_bundle_with_log(&bundle, log.clone())
        .with_fault_injection(fault);
    let event = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/events/signup-json.json"),
    )
    .expect("event");
    let first: serde_json::Value =
        serde_json::from_str(&edge_fn::handler::handle_json(&edge, &event)).expect("json");
    assert_eq!(first["status"], "500", "{first}");
    assert!(!first.to_string().contains("erika"), "{first}");
    let second: serde_json::Value =
        serde_json::from_str(&edge_fn::handler::handle_json(&edge, &event)).expect("json");
    assert!(
        second.get("status").is_none(),
        "served after the panic: {second}"
    );
    assert!(!second.to_string().contains("erika@example.de"));
    let lines = log.lines();
    assert!(lines[0].contains("panic caught"), "{lines:?}");
    assert!(lines.iter().all(|l| !l.contains("erika")));
}

/// A header entry whose `key` names another header (`"x-trace": [{"key": "X-National-ID"}]`)
/// is refused by every entry point of the handler (issue 12): CloudFront never sends one, and
/// reading it under either name lets the policy and the origin disagree. The same event is
/// refused by the CLI (`tests/cli.rs`) and the Node addon (`node/tests/package.rs`).
#[test]
fn a_header_key_naming_another_header_is_refused_on_every_handler_path() {
    let (edge, log, _) = edge();
    let ev = Ev::get("q=1").header("x-trace", Some("X-National-ID"), "SECRET-KEY-1");
    let check = |out: &Value| {
        problem(out, 400, "invalid-event", &["SECRET-KEY-1"]);
        let body: Value = serde_json::from_str(out["body"].as_str().expect("body")).expect("json");
        let detail = body["detail"].as_str().expect("detail");
        assert!(detail.contains("header `x-trace`"), "{detail}");
        assert!(detail.contains("not made by CloudFront"), "{detail}");
    };
    // The Node addon's `handle` and the CLI's `apply --edge`.
    check(&run(&edge, &ev));
    // The bootstrap binary (`lambda_runtime` passes a value).
    let value: Value = serde_json::from_str(&ev.json()).expect("event");
    check(&edge_fn::handle_value(&edge, value));
    // The Node addon's `handleSplit` (body data passed apart).
    let post = Ev::post_json(br#"{"a":1}"#.to_vec()).header("x-a", Some("X-B"), "SECRET-KEY-2");
    let mut event: Value = serde_json::from_str(&post.json()).expect("event");
    let data = event["Records"][0]["cf"]["request"]["body"]["data"]
        .as_str()
        .expect("data")
        .to_owned();
    event["Records"][0]["cf"]["request"]["body"]["data"] = json!("");
    let parts = edge_fn::handle_parts(&edge, &event.to_string(), Some(data));
    assert_eq!(parts.body_data, None);
    check_split(&serde_json::from_str(&parts.json).expect("json"));
    // The trigger that does not seal (it only probes the route): refused all the same.
    let origin = Ev::get("q=1")
        .origin()
        .header("x-trace", Some("X-National-ID"), "SECRET-KEY-3");
    let (other, _) = {
        let private = private();
        let log = Arc::new(MemorySink::default());
        let bundle = bundle(&private).replacen(
            r#""tokens":null}"#,
            r#""tokens":null,"sealAt":"viewer-request"}"#,
            1,
        );
        (Edge::from_bundle_with_log(&bundle, log.clone()), log)
    };
    assert!(other.is_ready(), "{:?}", other.engine().err());
    check(&run(&other, &origin));
    for line in log.lines() {
        assert!(!line.contains("SECRET-KEY"), "{line}");
    }

    fn check_split(out: &Value) {
        problem(out, 400, "invalid-event", &["SECRET-KEY-2"]);
        assert!(out["body"].as_str().expect("body").contains("header `x-a`"));
    }
}
