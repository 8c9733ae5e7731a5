//! An HTTP request as the viewer-request event CloudFront delivers to a Lambda@Edge function
//! with "include body" on: lowercase header names with the original-case `key`, the raw query
//! string, the body as base64 cut at the include-body limit with `inputTruncated`.

use base64::Engine as _;
use edge_fn::cloudfront::{
    viewer_request_event, Body, BodyAction, BodyEncoding, CloudFrontEvent, Header, Headers, Request,
};
use edge_fn::problem::Problem;
use hyper::http::request::Parts;
use serde_json::Map;

/// How much of a body a viewer-request function sees with "include body": AWS documents
/// 40 KB; read as 40,000 bytes (as the handler reads its write-back limits) so that a body
/// `serve` inspects whole is never one CloudFront would cut.
pub(super) const INCLUDE_BODY_LIMIT: usize = 40_000;

/// Headers of one connection (RFC 9110 §7.6.1) and `expect`: CloudFront answers them itself;
/// a function never sees them and the origin never receives the viewer's.
pub(super) const HOP_BY_HOP: &[&str] = &[
    "connection",
    "expect",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The viewer-request event for a request whose whole body is `body`.
///
/// `distribution` is the `distributionDomainName`, `request_id` the `requestId`. A header
/// value that is not UTF-8 text cannot be put in an event: 400 `invalid-header` (CloudFront's
/// own behaviour there is undocumented; refusing is the closed way).
pub(super) fn viewer_request(
    parts: &Parts,
    body: &[u8],
    client_ip: &str,
    distribution: &str,
    request_id: &str,
) -> Result<CloudFrontEvent, Problem> {
    let mut headers = Headers::new();
    for (name, value) in &parts.headers {
        let name = name.as_str();
        if HOP_BY_HOP.contains(&name) {
            continue;
        }
        let value = std::str::from_utf8(value.as_bytes()).map_err(|_| Problem {
            status: 400,
            code: "invalid-header",
            title: "Invalid header",
            detail: format!(
                "the value of header `{name}` is not UTF-8 text; send header values as UTF-8"
            ),
            policy: None,
        })?;
        headers.append(name, Header::new(key_of(name), value));
    }
    let truncated = body.len() > INCLUDE_BODY_LIMIT;
    let seen = &body[..body.len().min(INCLUDE_BODY_LIMIT)];
    let request = Request {
        client_ip: client_ip.to_owned(),
        method: parts.method.as_str().to_owned(),
        uri: parts.uri.path().to_owned(),
        querystring: parts.uri.query().unwrap_or("").to_owned(),
        headers,
        body: Some(Body {
            input_truncated: truncated,
            action: BodyAction::ReadOnly,
            encoding: BodyEncoding::Base64,
            data: base64::engine::general_purpose::STANDARD.encode(seen),
            extra: Map::new(),
        }),
        origin: None,
        extra: Map::new(),
    };
    let mut event = viewer_request_event(request);
    if let Some(record) = event.single_record_mut() {
        record.cf.config.distribution_domain_name = Some(distribution.to_owned());
        record.cf.config.request_id = Some(request_id.to_owned());
    }
    Ok(event)
}

/// The `key` of a header: HTTP/1.1 names arrive lowercased from hyper, so the original case is
/// rebuilt the way CloudFront's examples spell standard names (`Content-Type`,
/// `X-National-Id`). Names are compared case-insensitively everywhere after this.
pub(super) fn key_of(name: &str) -> String {
    let mut key = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        key.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = c == '-';
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, headers: &[(&str, &[u8])]) -> Parts {
        let mut builder = hyper::Request::builder().method("POST").uri(uri);
        for (n, v) in headers {
            builder = builder.header(*n, *v);
        }
        builder.body(()).expect("request").into_parts().0
    }

    #[test]
    fn the_event_is_what_cloudfront_delivers() {
        let p = parts(
            "/api/search?email=erika%40example.de&x=%20",
            &[
                ("Host", b"shop.example"),
                ("X-National-Id", b"DE-1"),
                ("x-national-id", b"DE-2"),
                ("Connection", b"keep-alive"),
            ],
        );
        let event = viewer_request(&p, b"{}", "203.0.113.9", "d.example", "id-1").expect("event");
        let json: serde_json::Value = serde_json::to_value(&event).expect("json");
        let cf = &json["Records"][0]["cf"];
        assert_eq!(cf["config"]["eventType"], "viewer-request");
        assert_eq!(cf["config"]["requestId"], "id-1");
        let r = &cf["request"];
        assert_eq!(r["uri"], "/api/search");
        assert_eq!(r["querystring"], "email=erika%40example.de&x=%20");
        assert_eq!(r["clientIp"], "203.0.113.9");
        assert_eq!(r["headers"]["host"][0]["key"], "Host");
        assert_eq!(r["headers"]["x-national-id"][1]["value"], "DE-2");
        assert_eq!(r["headers"]["x-national-id"][0]["key"], "X-National-Id");
        assert!(r["headers"].get("connection").is_none());
        assert_eq!(r["body"]["data"], "e30=");
        assert_eq!(r["body"]["inputTruncated"], false);
        assert_eq!(r["body"]["action"], "read-only");
        // What the handler parses is what was built.
        let text = serde_json::to_string(&event).expect("text");
        assert_eq!(text.parse::<CloudFrontEvent>().expect("parses"), event);
    }

    #[test]
    fn a_body_over_the_limit_is_cut_and_marked() {
        let body = vec![b'a'; INCLUDE_BODY_LIMIT + 1];
        let event = viewer_request(&parts("/", &[]), &body, "::1", "d", "id").expect("event");
        let b = event.records[0].cf.request.body.as_ref().expect("body");
        assert!(b.input_truncated);
        assert_eq!(b.decode().expect("base64").len(), INCLUDE_BODY_LIMIT);
        let whole = vec![b'a'; INCLUDE_BODY_LIMIT];
        let event = viewer_request(&parts("/", &[]), &whole, "::1", "d", "id").expect("event");
        assert!(
            !event.records[0]
                .cf
                .request
                .body
                .as_ref()
                .expect("body")
                .input_truncated
        );
    }

    #[test]
    fn a_header_that_is_not_utf8_is_refused() {
        let p = parts("/", &[("x-name", b"\xff\xfe")]);
        let problem = viewer_request(&p, b"", "::1", "d", "id").expect_err("refused");
        assert_eq!(problem.status, 400);
        assert!(!problem.detail.contains('\u{fffd}'));
    }

    proptest::proptest! {
        /// Whatever HTTP carries comes out of the event as it went in: the path, the raw
        /// query string, every header value in order under its lowercase name, the body
        /// bytes; and the event parses back to itself (what the handler reads).
        #[test]
        fn any_request_round_trips_through_the_event(
            path in "/[a-zA-Z0-9/%._~!$&'()*+,;=:@-]{0,40}",
            query in "[a-zA-Z0-9=&%+._~/?-]{0,60}",
            headers in proptest::collection::vec(("[a-z][a-z0-9-]{0,15}", "[!-~]([ -~]{0,28}[!-~])?"), 0..8),
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        ) {
            let uri = if query.is_empty() { path.clone() } else { format!("{path}?{query}") };
            let mut builder = hyper::Request::builder().method("POST").uri(uri.as_str());
            for (n, v) in &headers {
                builder = builder.header(n.as_str(), v.as_str());
            }
            let Ok(request) = builder.body(()) else { return Ok(()) };
            let p = request.into_parts().0;
            let event = viewer_request(&p, &body, "192.0.2.1", "d", "id").expect("event");
            let text = serde_json::to_string(&event).expect("json");
            proptest::prop_assert_eq!(&text.parse::<CloudFrontEvent>().expect("parses"), &event);
            let r = &event.records[0].cf.request;
            proptest::prop_assert_eq!(&r.uri, p.uri.path());
            proptest::prop_assert_eq!(r.querystring.as_str(), p.uri.query().unwrap_or(""));
            proptest::prop_assert_eq!(r.body.as_ref().expect("body").decode().expect("base64"), body);
            for (name, _) in &headers {
                if HOP_BY_HOP.contains(&name.as_str()) {
                    proptest::prop_assert!(!r.headers.contains(name));
                    continue;
                }
                let sent: Vec<&str> = headers.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect();
                proptest::prop_assert_eq!(r.headers.values(name), sent);
            }
        }
    }

    #[test]
    fn keys_are_title_case() {
        assert_eq!(key_of("content-type"), "Content-Type");
        assert_eq!(key_of("x-amz-cf-id"), "X-Amz-Cf-Id");
        assert_eq!(key_of("dnt"), "Dnt");
    }
}
