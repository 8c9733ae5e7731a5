//! What CloudFront does with the handler's answer: the request it returns goes to the origin
//! (with the headers CloudFront adds), a generated response goes back to the viewer.

use base64::Engine as _;
use bytes::Bytes;
use edge_fn::cloudfront::{BodyAction, BodyEncoding, Request as CfRequest, Response as CfResponse};
use edge_fn::problem::{reason_phrase, Problem};
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{StatusCode, Uri};

use super::event::HOP_BY_HOP;

/// The body of every response `serve` sends: generated ones and the upstream's, streamed.
pub(super) type ResponseBody = http_body_util::combinators::BoxBody<Bytes, hyper::Error>;

/// The origin: `http://HOST[:PORT][/PATH]`. The path is CloudFront's *origin path*: it is put
/// before the request's path.
#[derive(Debug, Clone)]
pub(super) struct Upstream {
    /// `http://host:port`, what the client connects to.
    base: String,
    /// `host:port`, the `Host` header CloudFront sends when the viewer's is not forwarded.
    authority: String,
    /// The origin path, without a trailing `/` (may be empty).
    path: String,
}

impl Upstream {
    /// Parses `--upstream`. Only `http://`: the upstream is a local service.
    pub(super) fn parse(url: &str) -> Result<Upstream, String> {
        let uri: Uri = url.parse().map_err(|e| {
            format!("--upstream `{url}` is not a URL ({e}); write it as http://127.0.0.1:3000")
        })?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => {
                return Err(format!(
                    "--upstream `{url}`: only http:// is supported (not {other}://); serve runs in front of a local service"
                ))
            }
            None => {
                return Err(format!(
                    "--upstream `{url}` needs a scheme and a host, e.g. http://127.0.0.1:3000"
                ))
            }
        }
        let authority = uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .ok_or_else(|| format!("--upstream `{url}` has no host"))?;
        if uri.query().is_some() {
            return Err(format!(
                "--upstream `{url}`: an upstream URL has no query string"
            ));
        }
        Ok(Upstream {
            base: format!("http://{authority}"),
            path: uri.path().trim_end_matches('/').to_owned(),
            authority,
        })
    }

    /// `http://host:port/path`, for messages.
    pub(super) fn shown(&self) -> String {
        format!("{}{}", self.base, self.path)
    }
}

/// The request CloudFront sends to the origin for the request the handler returned.
///
/// `whole_body` is the viewer's body before the include-body cut: CloudFront forwards it as
/// it came unless the function replaced it. `Host` is the upstream's (CloudFront's default when
/// the viewer's `Host` is not forwarded); `Via`, `X-Amz-Cf-Id` and `X-Forwarded-For` are added;
/// `Content-Length` is computed for the body sent. A header the handler returned that HTTP
/// cannot carry is a 500 (never forwarded otherwise).
pub(super) fn upstream_request(
    upstream: &Upstream,
    request: &CfRequest,
    whole_body: Bytes,
    client_ip: &str,
    distribution: &str,
    request_id: &str,
) -> Result<hyper::Request<Full<Bytes>>, Problem> {
    let body = match &request.body {
        Some(body) if body.action == BodyAction::Replace => Bytes::from(
            body.decode()
                .map_err(|_| internal("the handler returned a body that is not valid base64"))?,
        ),
        _ => whole_body,
    };
    let mut target = format!("{}{}{}", upstream.base, upstream.path, request.uri);
    if !request.querystring.is_empty() {
        target.push('?');
        target.push_str(&request.querystring);
    }
    let uri: Uri = target.parse().map_err(|_| {
        internal("the handler returned a path or query string that is not a valid URI")
    })?;
    let mut out = hyper::Request::builder()
        .method(request.method.as_str())
        .uri(uri)
        .body(Full::new(body))
        .map_err(|_| internal("the handler returned a method HTTP cannot carry"))?;
    let headers = out.headers_mut();
    let mut forwarded_for = None;
    for (name, values) in request.headers.iter() {
        if HOP_BY_HOP.contains(&name) || name == "host" || name == "content-length" {
            continue;
        }
        for value in values {
            if name == "x-forwarded-for" {
                forwarded_for = Some(value.value.clone());
                continue;
            }
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| internal("the handler returned a header name HTTP cannot carry"))?;
            let value = HeaderValue::from_str(&value.value)
                .map_err(|_| internal("the handler returned a header value HTTP cannot carry"))?;
            headers.append(header, value);
        }
    }
    let added = [
        ("host", upstream.authority.clone()),
        ("via", format!("1.1 {distribution} (pii-edge serve)")),
        ("x-amz-cf-id", request_id.to_owned()),
        (
            "x-forwarded-for",
            match forwarded_for {
                Some(list) => format!("{list}, {client_ip}"),
                None => client_ip.to_owned(),
            },
        ),
    ];
    for (name, value) in added {
        let value = HeaderValue::from_str(&value)
            .map_err(|_| internal("a header CloudFront adds could not be written"))?;
        headers.insert(HeaderName::from_static(name), value);
    }
    Ok(out)
}

/// The viewer's response for a response the handler generated (an RFC 9457 problem).
pub(super) fn generated(response: &CfResponse) -> hyper::Response<ResponseBody> {
    let status = response
        .status
        .parse::<u16>()
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    let body = match (&response.body, response.body_encoding) {
        (None, _) => Bytes::new(),
        (Some(text), Some(BodyEncoding::Base64)) => {
            match base64::engine::general_purpose::STANDARD.decode(text) {
                Ok(bytes) => Bytes::from(bytes),
                // CloudFront answers 502 for a generated response it cannot use.
                Err(_) => {
                    return problem_response(&internal(
                        "the handler generated a response body that is not valid base64",
                    ))
                }
            }
        }
        (Some(text), _) => Bytes::from(text.clone()),
    };
    let mut out = hyper::Response::new(full(body));
    *out.status_mut() = status;
    for (name, values) in response.headers.iter() {
        if HOP_BY_HOP.contains(&name) || name == "content-length" {
            continue;
        }
        for value in values {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value.value),
            ) {
                out.headers_mut().append(n, v);
            }
        }
    }
    out
}

/// A problem answered by `serve` itself (the upstream is down, the request is too large).
pub(super) fn problem_response(problem: &Problem) -> hyper::Response<ResponseBody> {
    generated(&problem.to_response())
}

/// The upstream's response, streamed back, without its connection headers.
pub(super) fn passed_back(
    response: hyper::Response<hyper::body::Incoming>,
) -> hyper::Response<ResponseBody> {
    let (mut parts, body) = response.into_parts();
    for name in HOP_BY_HOP {
        parts.headers.remove(*name);
    }
    hyper::Response::from_parts(parts, body.boxed())
}

/// A whole body as a [`ResponseBody`].
pub(super) fn full(bytes: impl Into<Bytes>) -> ResponseBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// 502 `upstream-unavailable`: the upstream refused the connection or broke it.
pub(super) fn upstream_unavailable(upstream: &Upstream, cause: &str) -> Problem {
    Problem {
        status: 502,
        code: "upstream-unavailable",
        title: reason_phrase(502),
        detail: format!(
            "the upstream {} did not answer ({cause}); is it running?",
            upstream.shown()
        ),
        policy: None,
    }
}

/// 504 `upstream-timeout`: no response within `--upstream-timeout`.
pub(super) fn upstream_timeout(upstream: &Upstream, seconds: f64) -> Problem {
    Problem {
        status: 504,
        code: "upstream-timeout",
        title: "Gateway Timeout",
        detail: format!(
            "the upstream {} did not answer within {seconds} s (--upstream-timeout)",
            upstream.shown()
        ),
        policy: None,
    }
}

/// 413 `request-too-large`: a body over `--max-body` (not read further).
pub(super) fn request_too_large(limit: usize) -> Problem {
    Problem {
        status: 413,
        code: "request-too-large",
        title: reason_phrase(413),
        detail: format!("the request body is over {limit} bytes (--max-body)"),
        policy: None,
    }
}

/// 414 `uri-too-long`: a path and query string over CloudFront's 8,192-byte request URL
/// limit (CloudFront answers these itself, before any function).
pub(super) fn uri_too_long(limit: usize) -> Problem {
    Problem {
        status: 414,
        code: "uri-too-long",
        title: reason_phrase(414),
        detail: format!(
            "the path and query string are over {limit} bytes, CloudFront's limit for a request URL"
        ),
        policy: None,
    }
}

fn internal(detail: &str) -> Problem {
    Problem {
        status: 502,
        code: "internal",
        title: reason_phrase(502),
        detail: detail.to_owned(),
        policy: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edge_fn::cloudfront::{Body, Header, Headers};
    use serde_json::Map;

    fn request(body: Option<Body>) -> CfRequest {
        let mut headers = Headers::new();
        headers.append("host", Header::new("Host", "viewer.example"));
        headers.append(
            "x-forwarded-for",
            Header::new("X-Forwarded-For", "198.51.100.1"),
        );
        headers.append("cookie", Header::new("Cookie", "a=1"));
        headers.append("cookie", Header::new("Cookie", "b=2"));
        headers.append("content-length", Header::new("Content-Length", "5"));
        CfRequest {
            client_ip: "203.0.113.9".into(),
            method: "POST".into(),
            uri: "/api/x".into(),
            querystring: "a=1".into(),
            headers,
            body,
            origin: None,
            extra: Map::new(),
        }
    }

    #[test]
    fn upstream_urls() {
        let u = Upstream::parse("http://127.0.0.1:3000").expect("ok");
        assert_eq!(u.shown(), "http://127.0.0.1:3000");
        let u = Upstream::parse("http://127.0.0.1:3000/base/").expect("ok");
        assert_eq!(u.path, "/base");
        assert!(Upstream::parse("https://example.com").is_err());
        assert!(Upstream::parse("127.0.0.1:3000").is_err());
        assert!(Upstream::parse("http://h/?q=1").is_err());
    }

    #[test]
    fn the_origin_gets_the_replaced_body_and_cloudfront_headers() {
        let upstream = Upstream::parse("http://127.0.0.1:9/o").expect("ok");
        let mut body = Body {
            input_truncated: false,
            action: BodyAction::ReadOnly,
            encoding: BodyEncoding::Base64,
            data: String::new(),
            extra: Map::new(),
        };
        body.replace_with_bytes(b"sealed");
        let out = upstream_request(
            &upstream,
            &request(Some(body)),
            Bytes::from_static(b"plain"),
            "203.0.113.9",
            "d.example",
            "rid",
        )
        .expect("request");
        assert_eq!(out.uri().to_string(), "http://127.0.0.1:9/o/api/x?a=1");
        let h = out.headers();
        assert_eq!(h["host"], "127.0.0.1:9");
        assert_eq!(h["x-forwarded-for"], "198.51.100.1, 203.0.113.9");
        assert_eq!(h["x-amz-cf-id"], "rid");
        assert!(h["via"].to_str().expect("ascii").contains("d.example"));
        assert_eq!(h.get_all("cookie").iter().count(), 2);
        assert!(h.get("content-length").is_none());
        assert_eq!(out.body().size_hint_exact(), Some(6));
    }

    #[test]
    fn a_read_only_body_goes_on_whole() {
        let upstream = Upstream::parse("http://127.0.0.1:9").expect("ok");
        let body = Body {
            input_truncated: true,
            action: BodyAction::ReadOnly,
            encoding: BodyEncoding::Base64,
            data: "cGxh".into(),
            extra: Map::new(),
        };
        let out = upstream_request(
            &upstream,
            &request(Some(body)),
            Bytes::from_static(b"plain and more"),
            "::1",
            "d",
            "rid",
        )
        .expect("request");
        assert_eq!(out.body().size_hint_exact(), Some(14));
    }

    #[test]
    fn a_header_http_cannot_carry_is_not_forwarded() {
        let upstream = Upstream::parse("http://127.0.0.1:9").expect("ok");
        let mut r = request(None);
        r.headers.append("x-bad", Header::new("X-Bad", "a\r\nb"));
        let problem =
            upstream_request(&upstream, &r, Bytes::new(), "::1", "d", "rid").expect_err("refused");
        assert_eq!(problem.status, 502);
    }

    trait Exact {
        fn size_hint_exact(&self) -> Option<u64>;
    }
    impl Exact for Full<Bytes> {
        fn size_hint_exact(&self) -> Option<u64> {
            hyper::body::Body::size_hint(self).exact()
        }
    }
}
