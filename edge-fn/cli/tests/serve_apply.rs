//! `pii-edge serve` decides what `pii-edge apply --edge` decides, on the same requests: the
//! example events and every policy test case that HTTP can carry (JSON, form, header, query
//! and cookie policies). For a forwarded request the upstream receives exactly what `apply
//! --edge` returns (method, path, query string, headers, body), envelopes aside (sealing is
//! randomized); for a rejection the viewer gets the same status and problem.

mod serve_support;

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use serve_support::{client, example_args, send, without_envelopes, Case, Serve, Upstream};

const BIN: &str = env!("CARGO_BIN_EXE_pii-edge");

/// Headers CloudFront (and so `serve`) sets on the way to the origin, not the function.
const ADDED: &[&str] = &[
    "host",
    "content-length",
    "via",
    "x-amz-cf-id",
    "x-forwarded-for",
];

/// The viewer-request event of `case` as sent to `authority`, written here from the request
/// (not by serve's code): what `apply --edge` reads.
fn event_of(case: &Case, authority: &str) -> Value {
    let mut headers = serde_json::Map::new();
    let mut all = case.req.headers.clone();
    if !all.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        all.insert(0, ("Host".into(), authority.into()));
    }
    if !case.req.body.is_empty() || !matches!(case.req.method.as_str(), "GET" | "HEAD") {
        all.push(("Content-Length".into(), case.req.body.len().to_string()));
    }
    for (name, value) in all {
        let entry = headers
            .entry(name.to_ascii_lowercase())
            .or_insert_with(|| json!([]));
        if let Value::Array(list) = entry {
            list.push(json!({"key": name, "value": value}));
        }
    }
    let (uri, query) = case
        .req
        .target
        .split_once('?')
        .unwrap_or((case.req.target.as_str(), ""));
    let seen = &case.req.body[..case.req.body.len().min(40_000)];
    json!({"Records": [{"cf": {
        "config": {"distributionId": "E1", "eventType": "viewer-request", "requestId": "r"},
        "request": {
            "clientIp": "127.0.0.1",
            "method": case.req.method,
            "uri": uri,
            "querystring": query,
            "headers": headers,
            "body": {
                "inputTruncated": case.req.body.len() > 40_000,
                "action": "read-only",
                "encoding": "base64",
                "data": base64::engine::general_purpose::STANDARD.encode(seen),
            }
        }
    }}]})
}

fn apply_edge(event: &Value, dir: &std::path::Path, n: usize) -> Value {
    let root = serve_support::root();
    let file = dir.join(format!("event-{n}.json"));
    std::fs::write(&file, event.to_string()).expect("write event");
    let out = std::process::Command::new(BIN)
        .args(["apply", "--edge", "--event"])
        .arg(&file)
        .arg("--policy")
        .arg(root.join("policies"))
        .arg("--keys")
        .arg(root.join("examples/keys/public.jwks"))
        .arg("--tokens")
        .arg(root.join("examples/keys/tokens.jwks"))
        .output()
        .expect("run apply");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("apply --edge prints JSON")
}

/// Lowercase name -> values in order, without the headers CloudFront adds.
fn header_map<'a>(
    pairs: impl Iterator<Item = (String, String)> + 'a,
) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in pairs {
        let name = name.to_ascii_lowercase();
        if ADDED.contains(&name.as_str()) {
            continue;
        }
        map.entry(name).or_default().push(without_envelopes(&value));
    }
    map
}

#[test]
fn serve_decides_what_apply_edge_decides() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = std::env::temp_dir().join(format!("pii-edge-serve-apply-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    rt.block_on(async {
        let upstream = Upstream::start(true, Duration::ZERO).await;
        let serve = Serve::start(BIN, &example_args(&upstream.url()));
        let http = client();
        let cases = serve_support::traffic();
        let mut kinds = std::collections::BTreeSet::new();
        for (n, case) in cases.iter().enumerate() {
            let expected = apply_edge(&event_of(case, &serve.addr.to_string()), &dir, n);
            let resp = send(&http, &serve.url(), &case.req).await.expect("send");
            let received = upstream.taken();
            if let Some(status) = expected.get("status") {
                assert_eq!(
                    resp.status.to_string(),
                    status.as_str().expect("status"),
                    "{}",
                    case.name
                );
                let problem: Value = serde_json::from_str(expected["body"].as_str().expect("body"))
                    .expect("problem");
                let got = resp.json();
                assert_eq!(got["type"], problem["type"], "{}", case.name);
                assert_eq!(got["policy"], problem["policy"], "{}", case.name);
                assert_eq!(got["detail"], problem["detail"], "{}", case.name);
                assert!(
                    received.is_empty(),
                    "{}: rejected by apply, forwarded by serve",
                    case.name
                );
                kinds.insert("rejected".to_owned());
                continue;
            }
            assert_eq!(
                resp.status,
                200,
                "{}: {}",
                case.name,
                String::from_utf8_lossy(&resp.body)
            );
            assert_eq!(received.len(), 1, "{}", case.name);
            let got = &received[0];
            assert_eq!(got.method, expected["method"], "{}", case.name);
            let query = expected["querystring"].as_str().unwrap_or("");
            let target = if query.is_empty() {
                expected["uri"].as_str().expect("uri").to_owned()
            } else {
                format!("{}?{query}", expected["uri"].as_str().expect("uri"))
            };
            assert_eq!(
                without_envelopes(&got.target),
                without_envelopes(&target),
                "{}: target",
                case.name
            );
            let body = &expected["body"];
            let expected_body = if body["action"] == "replace" {
                match body["encoding"].as_str() {
                    Some("text") => body["data"].as_str().expect("data").as_bytes().to_vec(),
                    _ => base64::engine::general_purpose::STANDARD
                        .decode(body["data"].as_str().expect("data"))
                        .expect("base64"),
                }
            } else {
                case.req.body.clone()
            };
            assert_eq!(
                without_envelopes(&String::from_utf8_lossy(&got.body)),
                without_envelopes(&String::from_utf8_lossy(&expected_body)),
                "{}: body",
                case.name
            );
            let expected_headers = header_map(
                expected["headers"]
                    .as_object()
                    .expect("headers")
                    .iter()
                    .flat_map(|(name, values)| {
                        values
                            .as_array()
                            .cloned()
                            .unwrap_or_default()
                            .into_iter()
                            .map(move |v| {
                                (name.clone(), v["value"].as_str().unwrap_or("").to_owned())
                            })
                    }),
            );
            assert_eq!(
                header_map(got.headers.clone().into_iter()),
                expected_headers,
                "{}: headers",
                case.name
            );
            // Which kinds of policy this covered.
            if got.text().contains("pe2.") || got.header("x-pii-edge-zone").len() == 1 {
                let name = &case.name;
                for (kind, hint) in [
                    ("json", "signup"),
                    ("json", "payments"),
                    ("form", "checkout-form"),
                    ("form", "form-post"),
                    ("query", "search"),
                    ("header", "profile-headers"),
                    ("header", "headers-cookie"),
                ] {
                    if name.contains(hint) {
                        kinds.insert(kind.to_owned());
                    }
                }
                if got.header("cookie").iter().any(|c| c.contains("theme")) {
                    kinds.insert("cookie".to_owned());
                }
            } else {
                kinds.insert("unmatched".to_owned());
            }
        }
        for kind in [
            "json",
            "form",
            "query",
            "header",
            "cookie",
            "rejected",
            "unmatched",
        ] {
            assert!(kinds.contains(kind), "no {kind} case compared: {kinds:?}");
        }
    });
    let _ = std::fs::remove_dir_all(dir);
}
