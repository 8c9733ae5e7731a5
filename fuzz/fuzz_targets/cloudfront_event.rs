//! The CloudFront handler (`edge_fn::handle_json`) on arbitrary event JSON, with a bundle of the
//! fixed fuzz policy (it matches every request).
//!
//! Two input forms: bytes that start like JSON (`{`, `[` or whitespace) are the event itself
//! (seeds: `examples/events/*.json`); anything else drives the structured request generator of
//! `engine_apply`, wrapped into a viewer-request or origin-request event with a base64 or text
//! body and `inputTruncated` chosen by the input.
//!
//! Checks: the output is always JSON; a generated response has a 4xx/5xx status and a JSON
//! problem body; a forwarded request, read as the origin reads it (body decoded, headers by map
//! name and by `key`), holds only protected forms at selected places, no truncated, encoded or
//! uninspected body, and (structured form) no marker anywhere in the output. An event with a
//! header entry whose `key` names another header is never forwarded.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use base64::Engine as _;
use edge_fn::bundle::Edge;
use edge_fn::log::LogSink;
use libfuzzer_sys::fuzz_target;
use pii_edge_fuzz::{check_forwarded, check_no_marker, fixture, Forwarded, FuzzRequest, MARK};
use serde_json::{json, Map, Value};
use std::sync::{Arc, OnceLock};

/// Log lines are checked for markers, then dropped.
struct CheckingSink;

impl LogSink for CheckingSink {
    fn write_line(&self, line: &str) {
        assert!(!line.contains(MARK), "marker plaintext logged: {line}");
        serde_json::from_str::<Value>(line).expect("log line is JSON");
    }
}

fn edge() -> &'static Edge {
    static E: OnceLock<Edge> = OnceLock::new();
    E.get_or_init(|| {
        let edge = Edge::from_bundle_with_log(&fixture().bundle, Arc::new(CheckingSink));
        assert!(edge.is_ready(), "fuzz bundle must load");
        edge
    })
}

fn event(req: &pii_core::Request, origin: bool, text_body: bool, truncated: bool) -> String {
    let mut headers: Vec<(String, Vec<Value>)> = Vec::new();
    for (name, value) in &req.headers {
        let lower = name.to_ascii_lowercase();
        let entry = json!({"key": name, "value": value});
        match headers.iter_mut().find(|(n, _)| *n == lower) {
            Some((_, list)) => list.push(entry),
            None => headers.push((lower, vec![entry])),
        }
    }
    let headers: Map<String, Value> = headers
        .into_iter()
        .map(|(n, v)| (n, Value::Array(v)))
        .collect();
    let mut request = json!({
        "clientIp": "203.0.113.9",
        "method": req.method,
        "uri": req.path,
        "querystring": req.query,
        "headers": headers,
    });
    if !req.body.is_empty() || truncated {
        let (encoding, data) = match (text_body, std::str::from_utf8(&req.body)) {
            (true, Ok(text)) => ("text", text.to_owned()),
            _ => (
                "base64",
                base64::engine::general_purpose::STANDARD.encode(&req.body),
            ),
        };
        request["body"] = json!({"inputTruncated": truncated || req.body_truncated,
            "action": "read-only", "encoding": encoding, "data": data});
    }
    if origin {
        request["origin"] = json!({"custom": {"customHeaders": {}, "domainName": "example.org",
            "keepaliveTimeout": 5, "path": "", "port": 443, "protocol": "https",
            "readTimeout": 30, "sslProtocols": ["TLSv1.2"]}});
    }
    let event_type = if origin {
        "origin-request"
    } else {
        "viewer-request"
    };
    json!({"Records": [{"cf": {
        "config": {"distributionDomainName": "d1.cloudfront.net", "distributionId": "EFUZZ",
                   "eventType": event_type, "requestId": "fuzz"},
        "request": request}}]})
    .to_string()
}

fn keys_match_names(event: &str) -> bool {
    let Ok(v) = serde_json::from_str::<Value>(event) else {
        return true;
    };
    let Some(records) = v["Records"].as_array() else {
        return true;
    };
    records.iter().all(|r| {
        r["cf"]["request"]["headers"].as_object().is_none_or(|map| {
            map.iter().all(|(name, values)| {
                values.as_array().is_none_or(|list| {
                    list.iter().all(|h| {
                        h.get("key")
                            .and_then(Value::as_str)
                            .is_none_or(|k| k.eq_ignore_ascii_case(name))
                    })
                })
            })
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let edge = edge();
    let raw = data
        .first()
        .is_some_and(|b| matches!(b, b'{' | b'[' | b' ' | b'\n' | b'\r' | b'\t'));
    let input = if raw {
        String::from_utf8_lossy(data).into_owned()
    } else {
        let mut u = Unstructured::new(data);
        let Ok(r) = FuzzRequest::arbitrary(&mut u) else {
            return;
        };
        let origin = bool::arbitrary(&mut u).unwrap_or(false);
        let text_body = bool::arbitrary(&mut u).unwrap_or(false);
        let truncated = bool::arbitrary(&mut u).unwrap_or(false);
        event(&r.to_request(), origin, text_body, truncated)
    };
    // CloudFront always sends `key` as the header's name in its original case; an event where
    // they differ cannot come from CloudFront and is refused, never forwarded (issue 12).
    let mismatched = raw && !keys_match_names(&input);
    let out = edge_fn::handle_json(edge, &input);
    let v: Value = serde_json::from_str(&out).expect("handler output is JSON");
    assert!(
        !mismatched || v.get("uri").is_none(),
        "an event with a header key naming another header was forwarded"
    );
    if !raw {
        // Nothing of the request is echoed in a response either.
        assert!(
            !out.contains(MARK) || v.get("uri").is_some(),
            "marker in a response"
        );
    }
    let Some(_uri) = v.get("uri") else {
        let status = v["status"]
            .as_str()
            .expect("a response has a status string");
        let code: u16 = status.parse().expect("numeric status");
        assert!((400..600).contains(&code), "status {code}");
        let body = v["body"].as_str().expect("problem body");
        serde_json::from_str::<Value>(body).expect("problem body is JSON");
        return;
    };
    // Forwarded: read it the way the origin will.
    let query = v["querystring"].as_str().unwrap_or_default().to_owned();
    let mut headers: Vec<(Vec<&str>, &str)> = Vec::new();
    if let Some(map) = v["headers"].as_object() {
        for (name, values) in map {
            for h in values.as_array().expect("header values array") {
                let mut names = vec![name.as_str()];
                if let Some(key) = h["key"].as_str() {
                    names.push(key);
                }
                headers.push((names, h["value"].as_str().expect("header value string")));
            }
        }
    }
    let (body, truncated) = match v.get("body") {
        Some(b) => {
            let data = b["data"].as_str().unwrap_or_default();
            let bytes = if b["encoding"] == "text" {
                data.as_bytes().to_vec()
            } else {
                base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .expect("a forwarded body decodes")
            };
            (bytes, b["inputTruncated"].as_bool().unwrap_or(false))
        }
        None => (Vec::new(), false),
    };
    let f = Forwarded {
        query: &query,
        headers,
        body: &body,
        body_truncated: truncated,
    };
    check_forwarded(&f);
    if !raw {
        check_no_marker(&f);
    }
});
