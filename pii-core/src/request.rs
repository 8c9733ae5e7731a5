//! The transport-neutral request the engine reads and writes. Adapters (CloudFront, a proxy,
//! a test) convert their own types to and from it.

use std::fmt;

/// An HTTP request as the engine sees it.
///
/// `Debug` prints the shape of the request (method, header names, body length), never values:
/// requests carry the personal data this crate protects.
///
/// ```
/// use pii_core::Request;
/// let req = Request::new("POST", "/api/users")
///     .with_query("ref=newsletter")
///     .with_header("Content-Type", "application/json")
///     .with_body(br#"{"email":"erika@example.de"}"#.to_vec());
/// assert_eq!(req.header("content-type"), Some("application/json"));
/// assert!(!format!("{req:?}").contains("erika"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The raw query string without the leading `?`, still percent-encoded.
    pub query: String,
    /// Headers in arrival order; names as received (compared case-insensitively), one entry per
    /// value.
    pub headers: Vec<(String, String)>,
    /// The body bytes as received (possibly only the first part, see `body_truncated`).
    pub body: Vec<u8>,
    /// The body was cut before it reached us; it cannot be inspected.
    pub body_truncated: bool,
    /// The transport passed no body at all (a CloudFront trigger without include-body): when
    /// the request declares one (`Content-Length` above zero, `Transfer-Encoding`), a route
    /// whose policy reads bodies refuses it with `body-not-received`, whoever applies the
    /// engine (the edge, `pii-edge apply`, the test runner).
    pub body_withheld: bool,
}

impl Request {
    /// A request with a method and a path, no query, headers or body.
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Self {
        Request {
            method: method.into(),
            path: path.into(),
            ..Request::default()
        }
    }

    /// Set the raw query string (no leading `?`).
    pub fn with_query(mut self, query: impl Into<String>) -> Self {
        self.query = query.into();
        self
    }

    /// Add a header value.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Set the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Mark the body as truncated by the transport.
    pub fn with_body_truncated(mut self, truncated: bool) -> Self {
        self.body_truncated = truncated;
        self
    }

    /// Mark the body as not passed by the transport (see `body_withheld`).
    pub fn with_body_withheld(mut self, withheld: bool) -> Self {
        self.body_withheld = withheld;
        self
    }

    /// Whether the request declares a body: a `Transfer-Encoding`, or a `Content-Length`
    /// that is not zero (an unreadable one counts).
    pub fn declares_body(&self) -> bool {
        self.header_values("transfer-encoding").next().is_some()
            || self
                .header_values("content-length")
                .any(|v| v.trim().parse::<u64>().map_or(true, |n| n > 0))
    }

    /// The first value of a header (case-insensitive name).
    pub fn header<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.header_values(name).next()
    }

    /// Every value of a header (case-insensitive name), in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path_len", &self.path.len())
            .field("query_len", &self.query.len())
            .field("header_names", &names)
            .field("body_len", &self.body.len())
            .field("body_truncated", &self.body_truncated)
            .field("body_withheld", &self.body_withheld)
            .finish()
    }
}
