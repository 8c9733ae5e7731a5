//! What applying the policies gives: the protected request with its field reports, or a
//! rejection and its reason.

use std::fmt;

use crate::action::Failure;
use crate::json::{JsonProblem, RewriteError};
use crate::location::Location;
use crate::request::Request;
use crate::spec::ActionKind;

/// What the engine decided for a request.
#[derive(Debug)]
#[must_use]
#[non_exhaustive]
pub enum Outcome {
    /// No policy matches: forward the request unchanged.
    Unmatched,
    /// A policy matched and every selected value is protected.
    Protected(Protected),
    /// The request must not be forwarded; answer with the rejection instead.
    Rejected(Rejection),
}

/// A protected request and what was done to it.
#[derive(Debug)]
pub struct Protected {
    /// The request with every selected value protected.
    pub request: Request,
    /// The policy that applied.
    pub policy: String,
    /// Its position in [`super::Engine::policies`] ([`super::Engine::policy_of`]).
    pub(super) policy_index: usize,
    /// The residency zone the values were sealed to (the policy's, or the request's as
    /// resolved); `None` when nothing needed one.
    pub zone: Option<String>,
    /// One entry per protected value, in request order (body, query, headers, cookies).
    pub fields: Vec<FieldReport>,
    /// Whether the body was changed (adapters write it back only then).
    pub body_changed: bool,
    /// Whether the query string was changed.
    pub query_changed: bool,
    /// Whether any header (cookies included) was changed or removed.
    pub headers_changed: bool,
}

impl Protected {
    /// Number of protected values per action, for logs and metrics.
    pub fn counts(&self) -> crate::spec::ActionCounts {
        self.fields.iter().map(|f| f.action).collect()
    }
}

/// What happened to one selected value. Its locations contain member names from the request,
/// so treat reports like request metadata, not like log-safe constants.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldReport {
    /// The rule's name (or its selector).
    pub rule: String,
    /// Where the value is in the forwarded request (`json:$['a'][1]`, `query:email#1`,
    /// `header:x-id`; see [`Location`]): the location an envelope is bound to. For a removed
    /// value, where it was.
    pub location: Location,
    /// Where the value was in the request as it arrived. It differs from `location` only for
    /// JSON array elements after an element that was removed.
    pub original: Location,
    /// The rule's action.
    pub action: ActionKind,
    /// The value was removed: by `redact`, or because the action did not fit it and the
    /// policy says `onError: remove`.
    pub removed: bool,
    /// The action did not fit the value (only with `onError: remove`).
    pub failed: bool,
}

/// A request the engine will not forward, with the HTTP status to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// HTTP status for the generated response.
    pub status: u16,
    /// Why.
    pub reason: RejectReason,
    /// The policy that matched, if any.
    pub policy: Option<String>,
}

impl Rejection {
    /// A rejection for `reason`, with its standard status.
    ///
    /// ```
    /// let r = pii_core::Rejection::new(pii_core::engine::RejectReason::BodyTruncated, None);
    /// assert_eq!(r.status, 413);
    /// assert_eq!(r.reason.code(), "body-truncated");
    /// ```
    pub fn new(reason: RejectReason, policy: Option<String>) -> Self {
        Rejection {
            status: reason.status(),
            reason,
            policy,
        }
    }
}

/// Why a request was rejected. Details never contain request values.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectReason {
    /// The body was cut by the transport before inspection.
    BodyTruncated,
    /// The protected body (after encryption) is larger than the transport accepts back.
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is compressed or otherwise encoded (`Content-Encoding`).
    ContentEncoding,
    /// A body without `Content-Type` (or with several) on a protected route.
    MissingContentType,
    /// A body of a media type this route does not allow.
    UnsupportedMediaType,
    /// A JSON body declared in a charset other than UTF-8.
    UnsupportedCharset,
    /// The body is not valid JSON.
    MalformedJson {
        /// Byte offset of the problem.
        offset: usize,
    },
    /// The JSON body has an object with the same member name twice.
    DuplicateKey {
        /// Byte offset of the second occurrence.
        offset: usize,
    },
    /// The JSON body is nested deeper than the policy allows.
    TooDeep {
        /// The policy's limit.
        limit: usize,
    },
    /// The form body is not `application/x-www-form-urlencoded` as declared.
    MalformedForm,
    /// A parameter or member name that a lenient origin parser could read as a protected name
    /// (`email[]`, ` email`, `q=1;email=`, `Email` for `email`), but that the policy does not
    /// select as written: refused rather than forwarded unprotected.
    AmbiguousName,
    /// A percent-escape that is not `%HH` (`%u0065`, which IIS decodes) in a query string or
    /// form body, or a parameter name that is not UTF-8 once decoded.
    InvalidEncoding,
    /// The request path reads as routes of different policies under the readings origin
    /// routers apply (`%2F`, `%5C` and dot segments decoded or kept): refused rather than
    /// protected by the wrong policy.
    AmbiguousPath,
    /// A body whose shape the rules cannot address (an array root, a JSON Patch document,
    /// where every JSON rule names a member of an object root).
    BodyShape,
    /// No policy matches the request and the bundle refuses unmatched requests
    /// (`unmatched: reject`) on a route not declared pass-through.
    Unmatched,
    /// The request declares a body (`Content-Length` above zero or `Transfer-Encoding`) that
    /// the adapter was not given (a CloudFront trigger without include-body): the route's
    /// body rules cannot be applied, and the transport would forward the body unread.
    BodyNotReceived,
    /// A rule's action does not fit a value it selected (with `onError: reject`).
    NotApplicable {
        /// The rule.
        rule: String,
        /// The action.
        action: ActionKind,
        /// Why it does not fit.
        why: &'static str,
    },
    /// A rule would remove the whole body.
    RemoveRoot {
        /// The rule.
        rule: String,
    },
    /// The request's residency zone could not be determined and there is no default zone.
    NoZone,
    /// Every region of the request's zone is unavailable; the request is not sent elsewhere.
    ZoneUnavailable,
    /// Sealing failed (no usable keys or a limit); an operator must act.
    Sealing,
    /// No policy could be loaded, so nothing may pass.
    PolicyUnavailable,
    /// The request could not be processed (an internal fault); nothing was forwarded.
    Internal,
}

impl RejectReason {
    /// The HTTP status that fits.
    pub fn status(&self) -> u16 {
        use RejectReason::*;
        match self {
            BodyTruncated | BodyTooLarge { .. } => 413,
            ContentEncoding | MissingContentType | UnsupportedMediaType | UnsupportedCharset => 415,
            MalformedJson { .. }
            | DuplicateKey { .. }
            | TooDeep { .. }
            | MalformedForm
            | AmbiguousName
            | AmbiguousPath
            | InvalidEncoding => 400,
            Unmatched => 403,
            NotApplicable { .. } | RemoveRoot { .. } | NoZone | BodyShape => 422,
            Sealing | PolicyUnavailable | ZoneUnavailable => 503,
            Internal | BodyNotReceived => 500,
        }
    }

    /// A stable machine-readable code (used as the problem type suffix).
    pub fn code(&self) -> &'static str {
        use RejectReason::*;
        match self {
            BodyTruncated => "body-truncated",
            BodyTooLarge { .. } => "body-too-large",
            ContentEncoding => "content-encoding",
            MissingContentType => "missing-content-type",
            UnsupportedMediaType => "unsupported-media-type",
            UnsupportedCharset => "unsupported-charset",
            MalformedJson { .. } => "malformed-json",
            DuplicateKey { .. } => "duplicate-key",
            TooDeep { .. } => "too-deep",
            MalformedForm => "malformed-form",
            AmbiguousName => "ambiguous-name",
            InvalidEncoding => "invalid-encoding",
            AmbiguousPath => "ambiguous-path",
            BodyShape => "body-shape",
            Unmatched => "unmatched",
            BodyNotReceived => "body-not-received",
            NotApplicable { .. } => "not-applicable",
            RemoveRoot { .. } => "remove-root",
            NoZone => "no-zone",
            ZoneUnavailable => "zone-unavailable",
            Sealing => "sealing-failed",
            PolicyUnavailable => "policy-unavailable",
            Internal => "internal",
        }
    }

    /// A short human title.
    pub fn title(&self) -> &'static str {
        use RejectReason::*;
        match self {
            BodyTruncated => "Request body too large to inspect",
            BodyTooLarge { .. } => "Protected request body too large",
            ContentEncoding => "Encoded request bodies are not accepted",
            MissingContentType => "Content-Type required",
            UnsupportedMediaType => "Unsupported media type",
            UnsupportedCharset => "Unsupported charset",
            MalformedJson { .. } => "Malformed JSON",
            DuplicateKey { .. } => "Duplicate JSON member name",
            TooDeep { .. } => "JSON nested too deeply",
            MalformedForm => "Malformed form body",
            AmbiguousName => "Ambiguous field name",
            InvalidEncoding => "Invalid percent-encoding or name",
            AmbiguousPath => "Ambiguous request path",
            BodyShape => "Body shape not addressed by the policy",
            Unmatched => "No protection policy for this route",
            BodyNotReceived => "Request body not received",
            NotApplicable { .. } => "Value cannot be protected",
            RemoveRoot { .. } => "Policy would remove the whole body",
            NoZone => "Residency zone unknown",
            ZoneUnavailable => "No region of the residency zone is available",
            Sealing => "Protection unavailable",
            PolicyUnavailable => "Protection unavailable",
            Internal => "Internal error",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RejectReason::*;
        match self {
            BodyTruncated => {
                f.write_str("the body was cut before it could be inspected; send a smaller body")
            }
            BodyTooLarge { limit } => write!(
                f,
                "the protected body would exceed {limit} bytes; send a smaller body"
            ),
            ContentEncoding => f.write_str(
                "send the body without Content-Encoding (uncompressed) so it can be inspected",
            ),
            MissingContentType => f.write_str("send exactly one Content-Type header with the body"),
            UnsupportedMediaType => {
                f.write_str("this route does not accept bodies of this media type")
            }
            UnsupportedCharset => f.write_str(
                "requests on this route must be UTF-8: send no charset other than utf-8 in Content-Type or _charset_",
            ),
            MalformedJson { offset } => write!(f, "the body is not valid JSON (at byte {offset})"),
            DuplicateKey { offset } => write!(
                f,
                "an object has the same member name twice (at byte {offset}); send each name once"
            ),
            TooDeep { limit } => write!(f, "the body is nested deeper than {limit} levels"),
            MalformedForm => {
                f.write_str("the body is not a valid application/x-www-form-urlencoded form")
            }
            AmbiguousName => f.write_str(
                "a field name could be read as a protected field by the server; send each field under its exact name",
            ),
            InvalidEncoding => f.write_str(
                "send percent-escapes as %HH and parameter names as UTF-8",
            ),
            AmbiguousPath => f.write_str(
                "the path reads as different routes depending on how %2F, %5C and dot segments are decoded; send the path without encoded separators or dot segments",
            ),
            BodyShape => f.write_str(
                "the body's shape (an array root, a JSON Patch document, a batch element that is not an object, JSON text that is not JSON) is not one this route's protection rules address; send the shape the route's policy declares (one object per request when it declares none)",
            ),
            Unmatched => f.write_str(
                "no protection policy covers this route and unmatched requests are refused",
            ),
            BodyNotReceived => f.write_str(
                "the request has a body but the edge function was not given it, so it cannot be protected; the CloudFront trigger must include the body (include-body)",
            ),
            NotApplicable { rule, action, why } => write!(
                f,
                "rule `{rule}` cannot {} a selected value: {why}",
                action.as_str()
            ),
            RemoveRoot { rule } => write!(f, "rule `{rule}` selects the whole body for removal"),
            NoZone => f.write_str("the request's data residency zone could not be determined; send the account's zone or country"),
            ZoneUnavailable => f.write_str("no region allowed to hold this data is available; try again later"),
            Sealing => f.write_str("the request could not be protected; try again later"),
            PolicyUnavailable => {
                f.write_str("the protection policy is not available; try again later")
            }
            Internal => f.write_str("the request could not be processed; try again later"),
        }
    }
}

impl FieldReport {
    /// A report for a value `rule` selected, its location and outcome still to fill in.
    pub(super) fn of(rule: &crate::policy::Rule) -> FieldReport {
        FieldReport {
            rule: rule.label.clone(),
            location: Location::Json(Vec::new()),
            original: Location::Json(Vec::new()),
            action: rule.action.kind(),
            removed: false,
            failed: false,
        }
    }
}

pub(super) fn json_problem(p: JsonProblem, limit: usize) -> RejectReason {
    match p {
        JsonProblem::Empty => RejectReason::MalformedJson { offset: 0 },
        JsonProblem::Syntax { offset, .. } | JsonProblem::NumberOutOfRange { offset } => {
            RejectReason::MalformedJson { offset }
        }
        JsonProblem::DuplicateKey { offset } => RejectReason::DuplicateKey { offset },
        JsonProblem::TooDeep { .. } => RejectReason::TooDeep { limit },
    }
}

/// Why a rewrite of the body failed, as a rejection. Removing the root never reaches the
/// rewrite (the plan refuses it first), so it is an internal fault there.
pub(super) fn rewrite_failure(e: RewriteError<RejectReason>, limit: usize) -> RejectReason {
    match e {
        RewriteError::Json(p) => json_problem(p, limit),
        RewriteError::Edit(reason) => reason,
        RewriteError::RemoveRoot => RejectReason::Internal,
    }
}

pub(super) fn failure(f: Failure, rule: &crate::policy::Rule) -> RejectReason {
    match f {
        Failure::NotApplicable(why) => RejectReason::NotApplicable {
            rule: rule.label.clone(),
            action: rule.action.kind(),
            why,
        },
        Failure::Seal => RejectReason::Sealing,
        Failure::TooLarge => RejectReason::BodyTooLarge {
            limit: crate::envelope::MAX_PLAINTEXT,
        },
    }
}
