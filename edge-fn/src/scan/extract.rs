//! Taking a request apart into values with their locations, and running the detectors on each.
//!
//! - Query parameters (`query:NAME#i`), decoded as `application/x-www-form-urlencoded`.
//! - Headers (`header:NAME#i`); `Cookie` headers split into cookies (`cookie:NAME#i`, values
//!   percent-decoded for detection); `Authorization: Bearer` tokens read as JWTs; address
//!   lists (`X-Forwarded-For`, `Forwarded`) split into addresses.
//! - Bodies: JSON (`json:` normalized paths; strings, and numbers for the digit detectors) and
//!   `application/x-www-form-urlencoded` (`form:NAME#i`). Other bodies (multipart, XML, text,
//!   compressed) are not read: see `docs/scan.md`.

use std::collections::HashMap;

use pii_core::{location::Part, location::PathElement, Location, Request};
use serde_json::Value;

use super::detect::{context::Field, detect, Hit};
use super::Finding;

/// Headers never scanned: transport and caching metadata, and hop headers whose values are
/// protocol tokens.
const SKIPPED_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "accept",
    "accept-encoding",
    "accept-language",
    "host",
    "connection",
    "cache-control",
    "pragma",
    "sec-ch-ua",
    "sec-ch-ua-mobile",
    "sec-ch-ua-platform",
    "sec-fetch-dest",
    "sec-fetch-mode",
    "sec-fetch-site",
    "sec-fetch-user",
    "upgrade-insecure-requests",
    "user-agent",
    "origin",
    "referer",
    "if-none-match",
    "if-modified-since",
    "te",
    "priority",
    "via",
    "x-amz-cf-id",
];

/// Headers that carry lists of client addresses.
const ADDRESS_HEADERS: &[&str] = &[
    "x-forwarded-for",
    "x-real-ip",
    "true-client-ip",
    "cf-connecting-ip",
    "forwarded",
    "cloudfront-viewer-address",
    "x-client-ip",
];

/// Every personal value detected in `req`, in request order: query, headers (cookies), body.
pub fn scan_request(req: &Request) -> Vec<Finding> {
    let mut out = Vec::new();
    scan_pairs(req.query.as_bytes(), Part::Query, &mut out);
    scan_headers(req, &mut out);
    if req.body.is_empty() || req.body_truncated {
        return out;
    }
    let content_type = req
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.to_ascii_lowercase());
    let encoded = req.headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("content-encoding") && !v.trim().eq_ignore_ascii_case("identity")
    });
    if encoded {
        return out;
    }
    match content_type.as_deref() {
        Some(ct) if ct.contains("x-www-form-urlencoded") => {
            scan_pairs(&req.body, Part::Form, &mut out);
        }
        Some(ct) if ct.contains("json") => scan_json_body(&req.body, &mut out),
        None if matches!(
            req.body.iter().find(|b| !b.is_ascii_whitespace()),
            Some(b'{' | b'[')
        ) =>
        {
            scan_json_body(&req.body, &mut out);
        }
        _ => {}
    }
    out
}

fn push_hits(out: &mut Vec<Finding>, location: &Location, hits: Vec<Hit>) {
    for hit in hits {
        out.push(Finding {
            location: location.clone(),
            detector: hit.detector,
            claim: hit.claim,
            value: hit.text,
        });
    }
}

/// `a=1&b=2` pairs (query strings and form bodies), split and decoded as the engine reads them
/// (`pii_core::params::pairs`), so a finding's location is the one a rule would report.
fn scan_pairs(text: &[u8], part: Part, out: &mut Vec<Finding>) {
    if text.is_empty() {
        return;
    }
    let text = String::from_utf8_lossy(text);
    for p in pii_core::params::pairs(&text, part) {
        if p.raw.is_empty() {
            continue;
        }
        let lower = p.name.to_ascii_lowercase();
        let hits = detect(&String::from_utf8_lossy(&p.value), &Field::new(&lower, &[]));
        push_hits(out, &p.location(), hits);
    }
}

fn scan_headers(req: &Request, out: &mut Vec<Finding>) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut cookies_done = false;
    for (name, value) in &req.headers {
        let lower = name.to_ascii_lowercase();
        let index = seen.entry(lower.clone()).or_insert(0);
        let location = Location::field(Part::Header, lower.clone(), *index);
        *index += 1;
        if SKIPPED_HEADERS.contains(&lower.as_str()) || lower.starts_with("x-amz-") {
            continue;
        }
        if lower == "cookie" {
            // Every cookie of every `Cookie` header, split as the engine splits them.
            if !cookies_done {
                cookies_done = true;
                for c in pii_core::params::cookies(req) {
                    if c.name.is_empty() {
                        continue;
                    }
                    let clower = c.name.to_ascii_lowercase();
                    let decoded = String::from_utf8_lossy(&c.value);
                    let decoded = decoded.trim_matches('"');
                    push_hits(
                        out,
                        &c.location(),
                        detect(decoded, &Field::new(&clower, &[])),
                    );
                }
            }
            continue;
        }
        if lower == "authorization" || lower == "proxy-authorization" {
            let token = value
                .trim()
                .strip_prefix("Bearer ")
                .or_else(|| value.trim().strip_prefix("bearer "))
                .unwrap_or(value)
                .trim();
            push_hits(out, &location, super::detect::jwt::claims(token));
            continue;
        }
        if ADDRESS_HEADERS.contains(&lower.as_str()) {
            let field = Field::new(&lower, &[]);
            for item in value.split([',', ';']) {
                let item = item.trim();
                let item = item
                    .strip_prefix("for=")
                    .or_else(|| item.strip_prefix("For="))
                    .unwrap_or(item)
                    .trim_matches('"');
                if super::detect::ip::is_ip(item, &field) {
                    push_hits(
                        out,
                        &location,
                        vec![Hit {
                            detector: super::Detector::IpAddress,
                            text: item.to_string(),
                            claim: None,
                        }],
                    );
                }
            }
            continue;
        }
        push_hits(out, &location, detect(value, &Field::new(&lower, &[])));
    }
}

fn scan_json_body(body: &[u8], out: &mut Vec<Finding>) {
    // Malformed JSON is not scanned (the engine rejects such a body on a covered route).
    let Ok(doc) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let mut path = Vec::new();
    walk(&doc, &mut path, out);
}

fn walk(value: &Value, path: &mut Vec<PathElement>, out: &mut Vec<Finding>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                path.push(PathElement::Name(k.clone()));
                walk(v, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(PathElement::Index(i));
                walk(v, path, out);
                path.pop();
            }
        }
        Value::String(s) => scan_leaf(s, path, out),
        Value::Number(n) if n.is_u64() => scan_leaf(&n.to_string(), path, out),
        _ => {}
    }
}

fn scan_leaf(text: &str, path: &[PathElement], out: &mut Vec<Finding>) {
    let mut names = path.iter().rev().filter_map(|s| match s {
        PathElement::Name(n) => Some(n.as_str()),
        PathElement::Index(_) => None,
    });
    // The field's own name is the last step only when that step is a name; an array element
    // takes its array's name (`phones[0]` is a phone).
    let name = names.next().unwrap_or("");
    let parents: Vec<&str> = names.take(2).collect();
    let hits = detect(text, &Field::new(name, &parents));
    if !hits.is_empty() {
        push_hits(out, &Location::json(path.to_vec()), hits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(req: &Request) -> Vec<(String, String)> {
        scan_request(req)
            .into_iter()
            .map(|f| (f.place(), f.detector.to_string()))
            .collect()
    }

    #[test]
    fn every_part_of_a_request() {
        let req = Request::new("POST", "/api/users")
            .with_query("E-Mail=erika%40example.de&q=shoes&email=x%40y.de")
            .with_header("Cookie", "a=1; contact=erika%40example.de")
            .with_header("X-Forwarded-For", "203.0.113.7, 198.51.100.2")
            .with_header("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIiwiZW1haWwiOiJlcmlrYUBleGFtcGxlLmRlIiwibmFtZSI6IkVyaWthIn0.c2ln")
            .with_header("content-type", "application/json")
            .with_body(br#"{"user": {"phones": ["+49 30 1234567"], "lastName": "Mustermann"}, "items": [{"name": "Shoe"}]}"#.to_vec());
        assert_eq!(
            found(&req),
            [
                ("query:e-mail".to_string(), "email".to_string()),
                ("query:email".into(), "email".into()),
                ("cookie:contact".into(), "email".into()),
                ("header:x-forwarded-for".into(), "ip-address".into()),
                ("header:x-forwarded-for".into(), "ip-address".into()),
                (
                    "header:authorization (jwt claim email)".into(),
                    "jwt-claim".into()
                ),
                (
                    "header:authorization (jwt claim name)".into(),
                    "jwt-claim".into()
                ),
                ("json:$['user']['lastName']".into(), "name".into()),
                ("json:$['user']['phones'][0]".into(), "phone".into()),
            ]
        );
    }

    #[test]
    fn forms_and_compressed_bodies() {
        let form = Request::new("POST", "/")
            .with_header("Content-Type", "application/x-www-form-urlencoded")
            .with_body(b"iban=DE89+3704+0044+0532+0130+00&iban=x".to_vec());
        assert_eq!(
            found(&form),
            [("form:iban".to_string(), "iban".to_string())]
        );
        let gz = Request::new("POST", "/")
            .with_header("Content-Type", "application/json")
            .with_header("Content-Encoding", "gzip")
            .with_body(br#"{"email": "erika@example.de"}"#.to_vec());
        assert!(found(&gz).is_empty());
        // Cookies split as the engine splits them (`,` too), values percent-decoded.
        let cookie = Request::new("GET", "/").with_header("Cookie", "a=1, mail=erika%40example.de");
        assert_eq!(
            found(&cookie),
            [("cookie:mail".to_string(), "email".to_string())]
        );
    }
}
