//! The one conversion between a CloudFront request and the engine's request, both ways.
//!
//! - [`to_core`]: event request -> `pii_core::Request`: `uri` -> path, `querystring` -> query,
//!   headers flattened to `(key, value)` pairs in order (one per value, `key` the original-case
//!   name, or the lowercase name when CloudFront gave none), the body decoded from base64 (or
//!   taken as text), `inputTruncated` -> `body_truncated`.
//! - [`write_back`]: what the engine changed, back into the event request: the body with
//!   `action: "replace"` (base64, or text when only text fits the trigger's [`BodyLimits`]), the
//!   query string, the headers (untouched entries kept as they came, restricted headers
//!   refused, see [`super::rules`]).
//! - [`from_core`] and [`viewer_request_event`]: the event CloudFront would send for a request
//!   written by hand (what `pii-edge test` runs through the handler for a case's `request:`).
//!
//! A header entry whose `key` does not name its own header (`"x-trace": [{"key":
//! "X-National-ID", ...}]`, compared case-insensitively) is refused ([`ConvertError`]):
//! CloudFront never sends one, and reading it under either name would let a policy and the
//! origin disagree about which header a value is in.

use std::fmt;

use base64::Engine as _;
use pii_core::Protected;
use serde_json::Map;

use super::event::{
    Body, BodyAction, BodyDecodeError, BodyEncoding, Cf, CloudFrontEvent, Config, EventType,
    Header, Headers, Record, Request,
};
use super::rules::header_restriction;

/// How large a replaced body CloudFront accepts back from a function, in bytes of `data`.
///
/// AWS documents "40 KB as text, 53.2 KB as base64" on viewer-request and "1 MB / 1.33 MB" on
/// origin-request; the limits here read KB and MB as decimal (1,000) so that they are never
/// above the real ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// Largest `data` with `encoding: "text"` (bytes of UTF-8).
    pub text: usize,
    /// Largest `data` with `encoding: "base64"` (characters of base64).
    pub base64: usize,
}

impl BodyLimits {
    /// The limits of a request trigger; `None` for a response trigger.
    pub fn of(event_type: &EventType) -> Option<BodyLimits> {
        match event_type {
            EventType::ViewerRequest => Some(VIEWER_REQUEST_LIMITS),
            EventType::OriginRequest => Some(ORIGIN_REQUEST_LIMITS),
            _ => None,
        }
    }
}

/// Body limits of viewer-request triggers.
pub const VIEWER_REQUEST_LIMITS: BodyLimits = BodyLimits {
    text: 40_000,
    base64: 53_200,
};

/// Body limits of origin-request triggers.
pub const ORIGIN_REQUEST_LIMITS: BodyLimits = BodyLimits {
    text: 1_000_000,
    base64: 1_330_000,
};

/// The URI plus the query string a function returns must stay below this many characters.
pub const MAX_URI_AND_QUERY: usize = 8_192;

/// Why a CloudFront request cannot be read as a `pii_core::Request`. The message names header
/// names at most, never a value or a body byte.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConvertError {
    /// An entry of the header `name` has a `key` that names another header. CloudFront never
    /// sends one: the event was made or changed by something else.
    HeaderKeyMismatch {
        /// The header's (lowercase) name in the `headers` object.
        name: String,
    },
    /// The body's `data` does not decode.
    Body(BodyDecodeError),
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConvertError::HeaderKeyMismatch { name } => write!(
                f,
                "header `{}` has an entry whose `key` names a different header; CloudFront always sends an entry's `key` as its header's name (in any case), so this event was not made by CloudFront",
                name.escape_debug()
            ),
            ConvertError::Body(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ConvertError {}

/// The headers as the engine reads them: `(key, value)` in order, one pair per value, `key`
/// the original-case name when CloudFront gave one, else the lowercase name. Refuses an entry
/// whose `key` names another header ([`ConvertError::HeaderKeyMismatch`]).
pub fn core_headers(headers: &Headers) -> Result<Vec<(String, String)>, ConvertError> {
    let mut flat = Vec::new();
    for (name, values) in headers.iter() {
        for header in values {
            let key = match header.key.as_deref() {
                None => name,
                Some(key) if key.eq_ignore_ascii_case(name) => key,
                Some(_) => {
                    return Err(ConvertError::HeaderKeyMismatch {
                        name: name.to_owned(),
                    })
                }
            };
            flat.push((key.to_owned(), header.value.clone()));
        }
    }
    Ok(flat)
}

/// The engine's request for a CloudFront request (see the module documentation).
pub fn to_core(request: &Request) -> Result<pii_core::Request, ConvertError> {
    let headers = core_headers(&request.headers)?;
    let (body, body_truncated) = match &request.body {
        None => (Vec::new(), false),
        Some(body) => (
            body.decode().map_err(ConvertError::Body)?,
            body.input_truncated,
        ),
    };
    Ok(pii_core::Request {
        method: request.method.clone(),
        path: request.uri.clone(),
        query: request.querystring.clone(),
        headers,
        body,
        body_truncated,
        body_withheld: request.body.is_none(),
    })
}

/// The request CloudFront would pass for `request` on viewer-request with "include body": the
/// headers grouped under their lowercase names in order of first appearance (`key` as given),
/// the body base64 with `action: "read-only"` (present even when empty), `clientIp`
/// `203.0.113.1` (a documentation address).
///
/// ```
/// use edge_fn::cloudfront::{from_core, to_core};
///
/// let request = pii_core::Request::new("POST", "/signup")
///     .with_header("Content-Type", "application/json")
///     .with_body(br#"{"email":"erika@example.de"}"#.to_vec());
/// assert_eq!(to_core(&from_core(&request))?, request);
/// # Ok::<(), edge_fn::cloudfront::ConvertError>(())
/// ```
pub fn from_core(request: &pii_core::Request) -> Request {
    let mut headers = Headers::new();
    for (name, value) in &request.headers {
        headers.append(name, Header::new(name.clone(), value.clone()));
    }
    Request {
        client_ip: "203.0.113.1".to_owned(),
        method: request.method.clone(),
        uri: request.path.clone(),
        querystring: request.query.clone(),
        headers,
        body: Some(Body {
            input_truncated: request.body_truncated,
            action: BodyAction::ReadOnly,
            encoding: BodyEncoding::Base64,
            data: base64::engine::general_purpose::STANDARD.encode(&request.body),
            extra: Map::new(),
        }),
        origin: None,
        extra: Map::new(),
    }
}

/// Why a file is not a CloudFront request event.
#[derive(Debug)]
#[non_exhaustive]
pub enum EventFileError {
    /// Not a Lambda@Edge event (nor the bare request object a request trigger returns).
    NotAnEvent(serde_json::Error),
    /// The bare request object does not parse.
    NotARequestObject(serde_json::Error),
    /// `Records` holds zero or several records (CloudFront sends exactly one).
    Records,
    /// A response event: policies apply to viewer-request and origin-request events.
    Response(EventType),
}

impl fmt::Display for EventFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventFileError::NotAnEvent(e) => write!(f, "not a CloudFront Lambda@Edge event: {e}"),
            EventFileError::NotARequestObject(e) => {
                write!(f, "not a CloudFront request object: {e}")
            }
            EventFileError::Records => {
                f.write_str("a CloudFront event has exactly one record in `Records`")
            }
            EventFileError::Response(t) => write!(
                f,
                "a {t} event carries a response; policies apply to viewer-request and origin-request events"
            ),
        }
    }
}

impl std::error::Error for EventFileError {}

/// The one reader of CloudFront event files (the command-line tool's `--event`, test cases,
/// `scan`): a Lambda@Edge event of one viewer-request or origin-request record, or the bare
/// `request` object a request trigger returns (what the edge forwards), made a viewer-request
/// event. Response events are refused.
///
/// # Errors
/// [`EventFileError`], never a panic, whatever the bytes.
///
/// ```
/// use edge_fn::cloudfront::{request_event, EventType};
/// let bare = br#"{"clientIp":"203.0.113.1","method":"GET","uri":"/a","querystring":"","headers":{}}"#;
/// let event = request_event(bare)?;
/// let record = event.single_record().expect("one record");
/// assert_eq!(record.cf.config.event_type, EventType::ViewerRequest);
/// assert!(request_event(b"[]").is_err());
/// # Ok::<(), edge_fn::cloudfront::EventFileError>(())
/// ```
pub fn request_event(bytes: &[u8]) -> Result<CloudFrontEvent, EventFileError> {
    let bare = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .is_some_and(|v| v.get("Records").is_none() && v.get("uri").is_some());
    if bare {
        let request: Request =
            serde_json::from_slice(bytes).map_err(EventFileError::NotARequestObject)?;
        return Ok(viewer_request_event(request));
    }
    let event = CloudFrontEvent::from_slice(bytes).map_err(EventFileError::NotAnEvent)?;
    let record = event.single_record().ok_or(EventFileError::Records)?;
    let event_type = &record.cf.config.event_type;
    if !matches!(
        event_type,
        EventType::ViewerRequest | EventType::OriginRequest
    ) || record.cf.response.is_some()
    {
        return Err(EventFileError::Response(event_type.clone()));
    }
    Ok(event)
}

/// A viewer-request event of one record holding `request` (distribution `EPIIEDGELOCAL`).
pub fn viewer_request_event(request: Request) -> CloudFrontEvent {
    CloudFrontEvent {
        records: vec![Record {
            cf: Cf {
                config: Config {
                    distribution_domain_name: None,
                    distribution_id: "EPIIEDGELOCAL".to_owned(),
                    event_type: EventType::ViewerRequest,
                    request_id: None,
                    extra: Map::new(),
                },
                request,
                response: None,
                extra: Map::new(),
            },
            extra: Map::new(),
        }],
        extra: Map::new(),
    }
}

/// Why what the engine changed cannot go back to CloudFront. Never holds a value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteBackError {
    /// A changed, added or removed header that CloudFront does not let a function change on
    /// this trigger; the fixed note says which (see [`header_restriction`]).
    RestrictedHeader {
        /// A log-safe note naming the header.
        note: &'static str,
    },
    /// The protected body does not fit what CloudFront accepts back, in either encoding.
    BodyTooLarge {
        /// The limit it exceeds, in bytes of body.
        limit: usize,
    },
    /// The protected URI and query string reach [`MAX_URI_AND_QUERY`].
    UriTooLong {
        /// [`MAX_URI_AND_QUERY`].
        limit: usize,
    },
    /// The engine changed a body the event did not carry (an engine fault).
    NoBody,
}

impl fmt::Display for WriteBackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteBackError::RestrictedHeader { note } => f.write_str(note),
            WriteBackError::BodyTooLarge { limit } => write!(
                f,
                "the protected body would be larger than the {limit} bytes CloudFront accepts back from this trigger"
            ),
            WriteBackError::UriTooLong { limit } => write!(
                f,
                "the protected path and query string would reach {limit} characters"
            ),
            WriteBackError::NoBody => f.write_str("the engine changed a body the event did not carry"),
        }
    }
}

impl std::error::Error for WriteBackError {}

/// Writes what the engine changed back into the CloudFront request (see the module
/// documentation), and returns the bytes of the body the request now carries (the engine's
/// body, replaced or not; empty without one), so that what follows (the receipt's body digest)
/// reads them instead of decoding the body again. On error the request may be half written:
/// never forward it.
///
/// When the body was replaced, `content-length` keeps its original entry whatever the engine
/// wrote: it is read-only for functions, and CloudFront sets it for a replaced body itself.
pub fn write_back(
    request: &mut Request,
    protected: Protected,
    event_type: &EventType,
    limits: BodyLimits,
) -> Result<Vec<u8>, WriteBackError> {
    if protected.headers_changed {
        request.headers = rebuild_headers(
            &request.headers,
            &protected.request.headers,
            event_type,
            protected.body_changed,
        )
        .map_err(|note| WriteBackError::RestrictedHeader { note })?;
    }

    if protected.query_changed {
        let query = protected.request.query;
        if request.uri.len() + 1 + query.len() >= MAX_URI_AND_QUERY {
            return Err(WriteBackError::UriTooLong {
                limit: MAX_URI_AND_QUERY,
            });
        }
        request.querystring = query;
    }

    if protected.body_changed {
        let Some(body) = request.body.as_mut() else {
            return Err(WriteBackError::NoBody);
        };
        let bytes = protected.request.body;
        let base64_len = bytes.len().div_ceil(3) * 4;
        if base64_len <= limits.base64 {
            body.replace_with_bytes(&bytes);
        } else if bytes.len() <= limits.text {
            match std::str::from_utf8(&bytes) {
                Ok(text) => body.replace_with_text(text.to_owned()),
                Err(_) => {
                    return Err(WriteBackError::BodyTooLarge {
                        limit: limits.base64 / 4 * 3,
                    })
                }
            }
        } else {
            return Err(WriteBackError::BodyTooLarge { limit: limits.text });
        }
        return Ok(bytes);
    }
    Ok(protected.request.body)
}

/// Builds the headers to return from the engine's `(name, value)` list. Names whose values did
/// not change keep their original entries untouched; changed names get the new values (with
/// the original `key` spelling); removed names disappear. Changing a restricted header is an
/// error (the fixed log note).
fn rebuild_headers(
    original: &Headers,
    changed: &[(String, String)],
    event_type: &EventType,
    body_replaced: bool,
) -> Result<Headers, &'static str> {
    let old_groups = group(
        original
            .iter()
            .flat_map(|(name, values)| values.iter().map(move |h| (name, h))),
    );
    let new_groups = group(changed.iter().map(|(name, value)| (name.as_str(), value)));

    let mut out = Headers::new();
    for (name, old) in &old_groups {
        let new: &[(&str, &String)] = new_groups
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
            .unwrap_or(&[]);
        let unchanged = (body_replaced && name == "content-length")
            || (old.len() == new.len()
                && old.iter().zip(new).all(|((_, h), (_, v))| h.value == **v));
        if unchanged {
            out.set(name, old.iter().map(|(_, h)| (*h).clone()).collect());
            continue;
        }
        if let Some(note) = header_restriction(name, event_type) {
            return Err(note);
        }
        let values: Vec<Header> = new
            .iter()
            .enumerate()
            .map(|(i, (key, value))| match old.get(i) {
                Some((_, h)) => Header {
                    key: h.key.clone(),
                    value: (*value).clone(),
                    extra: h.extra.clone(),
                },
                None => Header::new(*key, (*value).clone()),
            })
            .collect();
        out.set(name, values);
    }
    for (name, new) in &new_groups {
        if old_groups.iter().any(|(n, _)| n == name) || (body_replaced && name == "content-length")
        {
            continue;
        }
        if let Some(note) = header_restriction(name, event_type) {
            return Err(note);
        }
        for (key, value) in new {
            out.append(name, Header::new(*key, (*value).clone()));
        }
    }
    Ok(out)
}

/// Groups `(name, item)` pairs by lowercase name, keeping the order of first appearance.
fn group<'a, T>(items: impl Iterator<Item = (&'a str, T)>) -> Vec<(String, Vec<(&'a str, T)>)> {
    let mut groups: Vec<(String, Vec<(&'a str, T)>)> = Vec::new();
    for (name, item) in items {
        let lower = name.to_ascii_lowercase();
        match groups.iter_mut().find(|(n, _)| *n == lower) {
            Some((_, list)) => list.push((name, item)),
            None => groups.push((lower, vec![(name, item)])),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cf_request(headers: Headers) -> Request {
        let mut request = from_core(&pii_core::Request::new("GET", "/"));
        request.headers = headers;
        request
    }

    #[test]
    fn a_key_naming_another_header_is_refused() {
        let mut headers = Headers::new();
        headers.append("x-trace", Header::new("X-National-ID", "123-45-6789"));
        let err = to_core(&cf_request(headers)).unwrap_err();
        assert_eq!(
            err,
            ConvertError::HeaderKeyMismatch {
                name: "x-trace".into()
            }
        );
        let message = err.to_string();
        assert!(message.contains("`x-trace`"), "{message}");
        assert!(!message.contains("123-45"), "no value in {message}");
    }

    #[test]
    fn keys_in_any_case_and_missing_keys_are_read() {
        let mut headers = Headers::new();
        headers.append("x-national-id", Header::new("X-NATIONAL-id", "1"));
        headers.append(
            "x-other",
            Header {
                key: None,
                value: "2".into(),
                extra: Map::new(),
            },
        );
        let core = to_core(&cf_request(headers)).expect("converts");
        assert_eq!(
            core.headers,
            [
                ("X-NATIONAL-id".to_owned(), "1".to_owned()),
                ("x-other".to_owned(), "2".to_owned())
            ]
        );
    }

    #[test]
    fn an_empty_key_is_refused() {
        let mut headers = Headers::new();
        headers.append("x-id", Header::new("", "1"));
        assert!(to_core(&cf_request(headers)).is_err());
    }

    #[test]
    fn body_is_decoded_and_truncation_kept() {
        let mut request =
            from_core(&pii_core::Request::new("POST", "/").with_body(b"a=1".to_vec()));
        if let Some(body) = request.body.as_mut() {
            body.input_truncated = true;
        }
        let core = to_core(&request).expect("converts");
        assert_eq!(core.body, b"a=1");
        assert!(core.body_truncated);
        if let Some(body) = request.body.as_mut() {
            body.data = "not base64!".into();
        }
        assert!(matches!(to_core(&request), Err(ConvertError::Body(_))));
    }

    #[test]
    fn from_core_groups_headers_by_lowercase_name() {
        let request = pii_core::Request::new("GET", "/a")
            .with_query("q=1")
            .with_header("X-A", "1")
            .with_header("Host", "h")
            .with_header("x-a", "2");
        let cf = from_core(&request);
        assert_eq!(cf.headers.len(), 2);
        assert_eq!(cf.headers.values("x-a"), ["1", "2"]);
        let back = to_core(&cf).expect("converts");
        // Grouped: the order of values of one name is kept, names in order of first appearance.
        assert_eq!(
            back.headers,
            [
                ("X-A".to_owned(), "1".to_owned()),
                ("x-a".to_owned(), "2".to_owned()),
                ("Host".to_owned(), "h".to_owned())
            ]
        );
        assert_eq!((back.method.as_str(), back.path.as_str()), ("GET", "/a"));
        assert_eq!(back.query, "q=1");
        let event = viewer_request_event(cf);
        let record = event.single_record().expect("one record");
        assert_eq!(record.cf.config.event_type, EventType::ViewerRequest);
    }

    #[test]
    fn rebuild_keeps_untouched_entries_and_spelling() {
        let mut headers = Headers::new();
        headers.append("host", Header::new("Host", "d1.cloudfront.net"));
        headers.append("cookie", Header::new("Cookie", "a=1; b=2"));
        headers.append("x-id", Header::new("X-Id", "secret"));
        let changed = vec![
            ("Host".to_owned(), "d1.cloudfront.net".to_owned()),
            ("Cookie".to_owned(), "a=1".to_owned()),
        ];
        let out =
            rebuild_headers(&headers, &changed, &EventType::ViewerRequest, false).expect("allowed");
        assert_eq!(out.values("cookie"), ["a=1"]);
        assert_eq!(
            out.get("cookie").next().and_then(|h| h.key.as_deref()),
            Some("Cookie")
        );
        assert!(!out.contains("x-id"));
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn rebuild_refuses_read_only() {
        let mut headers = Headers::new();
        headers.append("host", Header::new("Host", "d1.cloudfront.net"));
        let changed = vec![("Host".to_owned(), "x".to_owned())];
        assert!(rebuild_headers(&headers, &changed, &EventType::ViewerRequest, false).is_err());
        let added = vec![
            ("Host".to_owned(), "d1.cloudfront.net".to_owned()),
            ("X-Amz-Cf-Id".to_owned(), "x".to_owned()),
        ];
        assert!(rebuild_headers(&headers, &added, &EventType::ViewerRequest, false).is_err());
    }

    #[test]
    fn content_length_of_a_replaced_body_is_left_to_cloudfront() {
        let mut headers = Headers::new();
        headers.append("content-length", Header::new("Content-Length", "231"));
        let changed = vec![("Content-Length".to_owned(), "1432".to_owned())];
        let out =
            rebuild_headers(&headers, &changed, &EventType::ViewerRequest, true).expect("allowed");
        assert_eq!(out.values("content-length"), ["231"]);
        assert!(rebuild_headers(&headers, &changed, &EventType::ViewerRequest, false).is_err());
    }

    #[test]
    fn limits_by_trigger() {
        assert_eq!(
            BodyLimits::of(&EventType::ViewerRequest),
            Some(VIEWER_REQUEST_LIMITS)
        );
        assert_eq!(
            BodyLimits::of(&EventType::OriginRequest),
            Some(ORIGIN_REQUEST_LIMITS)
        );
        assert_eq!(BodyLimits::of(&EventType::ViewerResponse), None);
    }
}
