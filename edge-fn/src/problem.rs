//! Rejections as RFC 9457 problem details, in a CloudFront generated response.
//!
//! ```
//! use edge_fn::problem::Problem;
//! use pii_core::{engine::RejectReason, Rejection};
//!
//! let problem = Problem::from_rejection(&Rejection::new(RejectReason::BodyTruncated, Some("signup".into())));
//! let response = problem.to_response();
//! assert_eq!(response.status, "413");
//! assert_eq!(response.headers.values("content-type"), ["application/problem+json"]);
//! let body: serde_json::Value = serde_json::from_str(response.body.as_deref().unwrap()).unwrap();
//! assert_eq!(body["type"], "https://pii-edge.dev/problems/body-truncated");
//! assert_eq!(body["policy"], "signup");
//! ```
//!
//! The `detail` is the rejection's `Display`, which pii-core writes without request values; it
//! is additionally cut to [`MAX_DETAIL`] characters so the whole generated response stays far
//! below CloudFront's 40 KB limit for viewer-request responses.

use pii_core::Rejection;
use serde_json::{Map, Value};

use crate::cloudfront::Response;

/// The prefix of every problem `type` URI.
pub const PROBLEM_TYPE_BASE: &str = "https://pii-edge.dev/problems/";

/// Longest `detail` (characters); longer ones are cut.
pub const MAX_DETAIL: usize = 1024;

/// Longest policy name echoed (characters).
const MAX_POLICY: usize = 128;

/// A problem to answer instead of forwarding the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// HTTP status.
    pub status: u16,
    /// Stable code, the suffix of the `type` URI (`body-truncated`, `invalid-event`, ...).
    pub code: &'static str,
    /// Short human title.
    pub title: &'static str,
    /// Explanation that never contains request values.
    pub detail: String,
    /// The policy that matched, if any.
    pub policy: Option<String>,
}

impl Problem {
    /// The problem for an engine rejection.
    pub fn from_rejection(rejection: &Rejection) -> Problem {
        Problem {
            status: rejection.status,
            code: rejection.reason.code(),
            title: rejection.reason.title(),
            detail: rejection.reason.to_string(),
            policy: rejection.policy.clone(),
        }
    }

    /// 400 `invalid-event`: the function was invoked with something that is not a CloudFront
    /// request event (or a body that is not valid base64). `detail` must be log-safe.
    pub fn invalid_event(detail: impl Into<String>) -> Problem {
        Problem {
            status: 400,
            code: "invalid-event",
            title: "Invalid CloudFront event",
            detail: detail.into(),
            policy: None,
        }
    }

    /// 414 `uri-too-long`: the protected URI and query string would exceed what CloudFront
    /// accepts back from a function (8,192 characters).
    pub fn uri_too_long(limit: usize, policy: Option<String>) -> Problem {
        Problem {
            status: 414,
            code: "uri-too-long",
            title: "Protected URI too long",
            detail: format!(
                "the protected path and query string would exceed {limit} characters; send fewer or shorter query parameters"
            ),
            policy,
        }
    }

    /// The `type` URI.
    pub fn type_uri(&self) -> String {
        format!("{PROBLEM_TYPE_BASE}{}", self.code)
    }

    /// The RFC 9457 JSON body.
    pub fn to_json(&self) -> String {
        let mut body = Map::new();
        body.insert("type".into(), Value::from(self.type_uri()));
        body.insert("title".into(), Value::from(self.title));
        body.insert("status".into(), Value::from(self.status));
        body.insert("detail".into(), Value::from(cut(&self.detail, MAX_DETAIL)));
        if let Some(policy) = &self.policy {
            body.insert("policy".into(), Value::from(cut(policy, MAX_POLICY)));
        }
        Value::Object(body).to_string()
    }

    /// The CloudFront generated response: status, reason phrase,
    /// `content-type: application/problem+json`, `cache-control: no-store`, the JSON body.
    ///
    /// A 401 also carries `WWW-Authenticate` (RFC 9110 §15.5.2): `Bearer` when no token was
    /// sent, `Bearer error="invalid_token"` when one was refused (RFC 6750 §3).
    pub fn to_response(&self) -> Response {
        let response = Response::new(self.status)
            .with_status_description(reason_phrase(self.status))
            .with_header("Content-Type", "application/problem+json")
            .with_header("Cache-Control", "no-store");
        let response = match (self.status, self.code) {
            (401, "token-missing") => response.with_header("WWW-Authenticate", "Bearer"),
            (401, _) => response.with_header("WWW-Authenticate", r#"Bearer error="invalid_token""#),
            _ => response,
        };
        response.with_text_body(self.to_json())
    }
}

/// The standard reason phrase of a status this function answers with.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

fn cut(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}
