//! The generated response a request trigger may return.

use super::body::BodyEncoding;
use super::headers::{Header, Headers};
use serde::Serialize;
use serde_json::{Map, Value};

/// An HTTP response: the `response` of a response event, or a response a request trigger
/// generates itself instead of forwarding the request.
///
/// A generated response is at most 40 KB (headers and body) on viewer-request and 1 MB on
/// origin-request; CloudFront answers 502 when it is larger, or when `status` is 204 and
/// there is a body.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// The HTTP status code as a string, e.g. `"413"` (200 to 599).
    pub status: String,
    /// The reason phrase (`statusDescription`), e.g. `"Payload Too Large"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_description: Option<String>,
    /// The response headers.
    pub headers: Headers,
    /// The body, encoded as `body_encoding` says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The encoding of `body` (`bodyEncoding`); CloudFront assumes `text` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_encoding: Option<BodyEncoding>,
    /// Fields this type does not model, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Response {
    /// A response with `status`, no headers and no body.
    pub fn new(status: u16) -> Self {
        Response {
            status: status.to_string(),
            status_description: None,
            headers: Headers::new(),
            body: None,
            body_encoding: None,
            extra: Map::new(),
        }
    }

    /// Sets the reason phrase.
    pub fn with_status_description(mut self, description: impl Into<String>) -> Self {
        self.status_description = Some(description.into());
        self
    }

    /// Adds a header value; `key` is the original-case name, e.g. `Content-Type`.
    pub fn with_header(mut self, key: &str, value: impl Into<String>) -> Self {
        self.headers.append(key, Header::new(key, value));
        self
    }

    /// Sets a text body (`bodyEncoding: "text"`).
    pub fn with_text_body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self.body_encoding = Some(BodyEncoding::Text);
        self
    }
}

// Deserialization.
//
