//! The Lambda@Edge request event and generated-response types.
//!
//! `aws_lambda_events` has no CloudFront types, so they are defined here, after the
//! "Lambda@Edge event structure" and "Generating HTTP responses" pages of the CloudFront
//! Developer Guide, and tested against the documented examples in `examples/events/`.
//!
//! Two properties matter more than convenience:
//!
//! - **Nothing is lost.** Every struct keeps the fields it does not model in an `extra` map,
//!   and [`Headers`] keeps the order of its names, so `parse -> serialize` gives back the same
//!   JSON value. A request the function forwards carries everything CloudFront gave it.
//! - **Parsing never panics.** Any input, however malformed, gives a [`serde_json::Error`].
//!   Fields the engine depends on (`body.inputTruncated`, `body.encoding`, ...) are required
//!   and typed, so an event that does not say what the engine needs to know is an error, not a
//!   default; so is an unknown `body.action` or `body.encoding`. Header names that repeat
//!   exactly inside one `headers` object are an error too.
//!
//! Known limits of the round trip: a modelled optional field given as JSON `null` comes back
//! absent, and a `headers`, `customHeaders` or `querystring` that was absent comes back empty.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A Lambda@Edge event as CloudFront passes it to the function: `{"Records": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CloudFrontEvent {
    /// The records of the event (`Records`). CloudFront always sends exactly one.
    #[serde(rename = "Records")]
    pub records: Vec<Record>,
    /// Fields this type does not model, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CloudFrontEvent {
    /// Parses an event from JSON bytes. Never panics; any malformed input is an error.
    pub fn from_slice(json: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(json)
    }

    /// The only record of the event, or `None` if the event has zero or several records
    /// (CloudFront always sends one; anything else should be rejected).
    pub fn single_record(&self) -> Option<&Record> {
        match self.records.as_slice() {
            [record] => Some(record),
            _ => None,
        }
    }

    /// Mutable access to the only record, see [`CloudFrontEvent::single_record`].
    pub fn single_record_mut(&mut self) -> Option<&mut Record> {
        match self.records.as_mut_slice() {
            [record] => Some(record),
            _ => None,
        }
    }
}

impl FromStr for CloudFrontEvent {
    type Err = serde_json::Error;

    /// Parses an event from a JSON string. Never panics; any malformed input is an error.
    fn from_str(json: &str) -> Result<Self, Self::Err> {
        serde_json::from_str(json)
    }
}

/// One record of a [`CloudFrontEvent`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// The CloudFront part of the record.
    pub cf: Cf,
    /// Fields this type does not model, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `cf` object of a record: configuration, request and, for response events, response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cf {
    /// Which distribution and trigger this event belongs to (read-only).
    pub config: Config,
    /// The request, as the viewer sent it (viewer events) or as CloudFront will send it to
    /// the origin (origin events).
    pub request: Request,
    /// The response, present in viewer-response and origin-response events only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Response>,
    /// Fields this type does not model, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `config` object of a record. Read-only: CloudFront ignores changes to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    /// The distribution's domain name (`distributionDomainName`), e.g.
    /// `d111111abcdef8.cloudfront.net`. Always sent by CloudFront today; optional so that
    /// older or hand-written events still parse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution_domain_name: Option<String>,
    /// The distribution's ID (`distributionId`).
    pub distribution_id: String,
    /// The trigger that invoked the function (`eventType`).
    pub event_type: EventType,
    /// CloudFront's opaque ID of the viewer request (`requestId`), the same as
    /// `x-edge-request-id` in the access logs. Optional for the same reason as
    /// `distribution_domain_name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Fields this type does not model, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The trigger of a Lambda@Edge event (`config.eventType`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventType {
    /// `viewer-request`: before the cache, on every request.
    ViewerRequest,
    /// `origin-request`: on a cache miss, before CloudFront calls the origin.
    OriginRequest,
    /// `origin-response`: after the origin answered, before caching.
    OriginResponse,
    /// `viewer-response`: before the response goes back to the viewer.
    ViewerResponse,
    /// Any other value, kept verbatim.
    Other(String),
}

impl EventType {
    /// The wire name, e.g. `"viewer-request"`.
    pub fn as_str(&self) -> &str {
        match self {
            EventType::ViewerRequest => "viewer-request",
            EventType::OriginRequest => "origin-request",
            EventType::OriginResponse => "origin-response",
            EventType::ViewerResponse => "viewer-response",
            EventType::Other(other) => other,
        }
    }

    /// The variant named `name`, `None` for [`EventType::Other`].
    fn known(name: &str) -> Option<Self> {
        match name {
            "viewer-request" => Some(EventType::ViewerRequest),
            "origin-request" => Some(EventType::OriginRequest),
            "origin-response" => Some(EventType::OriginResponse),
            "viewer-response" => Some(EventType::ViewerResponse),
            _ => None,
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    /// Accepts what `String` accepts, and allocates only for [`EventType::Other`].
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EventTypeVisitor;

        impl Visitor<'_> for EventTypeVisitor {
            type Value = EventType;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // What `String`'s visitor says, so the messages stay as they were.
                f.write_str("a string")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<EventType, E> {
                Ok(EventType::known(name).unwrap_or_else(|| EventType::Other(name.to_owned())))
            }

            fn visit_string<E: de::Error>(self, name: String) -> Result<EventType, E> {
                Ok(EventType::known(&name).unwrap_or(EventType::Other(name)))
            }

            fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<EventType, E> {
                match std::str::from_utf8(bytes) {
                    Ok(name) => self.visit_str(name),
                    Err(_) => Err(de::Error::invalid_value(
                        de::Unexpected::Bytes(bytes),
                        &self,
                    )),
                }
            }
        }

        deserializer.deserialize_string(EventTypeVisitor)
    }
}

/// The `request` object of a record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// The viewer's IP address, or its proxy's (`clientIp`, read-only).
    pub client_ip: String,
    /// The HTTP method (read-only).
    pub method: String,
    /// The path of the requested object, starting with `/`.
    pub uri: String,
    /// The raw query string without the leading `?`, still percent-encoded; empty when the
    /// request has none.
    pub querystring: String,
    /// The request headers.
    pub headers: Headers,
    /// The body, present when the trigger has "include body" enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    /// The origin the request will go to (origin-request events only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// Fields this type does not model, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Request {
    /// Every value of the header `name`, compared case-insensitively, in order, one entry
    /// per repetition of the header in the request. See [`Headers::values`].
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers.values(name)
    }
}

impl Request {
    /// The request as JSON: the same text as `serde_json::to_string(&request)`, written faster
    /// when the body is large.
    ///
    /// serde_json escapes a string byte by byte (and this crate is built for size, not speed),
    /// which made writing a 40 KB body's 55 KB of base64 cost as much as the rest of the
    /// handler. Here `body.data` is appended as it is when none of its characters needs
    /// escaping (see [`needs_no_json_escape`]; always so for base64), into a buffer sized for
    /// it up front; everything else goes through serde_json as before.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        // Destructured so that a field added to `Request` or `Body` fails to compile here
        // until it is written too.
        let Request {
            client_ip,
            method,
            uri,
            querystring,
            headers,
            body,
            origin,
            extra,
        } = self;
        // Room for everything up front: growing past a large body would copy it again.
        let data_len = body.as_ref().map_or(0, |body| body.data.len());
        let headers_len: usize = headers
            .iter()
            .map(|(name, values)| {
                let values_len: usize = values
                    .iter()
                    .map(|h| h.key.as_ref().map_or(0, String::len) + h.value.len() + 32)
                    .sum();
                name.len() + 8 + values_len
            })
            .sum();
        let mut out =
            Vec::with_capacity(data_len + uri.len() + querystring.len() + headers_len + 1024);
        // The same members in the same order as `#[derive(Serialize)]`: declared fields (the
        // optional ones only when present), then the flattened `extra` members.
        out.extend_from_slice(b"{\"clientIp\":");
        serde_json::to_writer(&mut out, client_ip)?;
        out.extend_from_slice(b",\"method\":");
        serde_json::to_writer(&mut out, method)?;
        out.extend_from_slice(b",\"uri\":");
        serde_json::to_writer(&mut out, uri)?;
        out.extend_from_slice(b",\"querystring\":");
        serde_json::to_writer(&mut out, querystring)?;
        out.extend_from_slice(b",\"headers\":");
        headers.write_json(&mut out)?;
        if let Some(body) = body {
            out.extend_from_slice(b",\"body\":");
            body.write_json(&mut out)?;
        }
        if let Some(origin) = origin {
            out.extend_from_slice(b",\"origin\":");
            serde_json::to_writer(&mut out, origin)?;
        }
        write_extra(&mut out, extra)?;
        out.push(b'}');
        String::from_utf8(out).map_err(|_| {
            // serde_json writes UTF-8 only and `data` is a `str`: not reached.
            <serde_json::Error as serde::ser::Error>::custom("the output is not UTF-8")
        })
    }
}

/// Appends `,"key":value` for every member of a flattened `extra` map.
fn write_extra(out: &mut Vec<u8>, extra: &Map<String, Value>) -> Result<(), serde_json::Error> {
    for (key, value) in extra {
        out.push(b',');
        serde_json::to_writer(&mut *out, key)?;
        out.push(b':');
        serde_json::to_writer(&mut *out, value)?;
    }
    Ok(())
}

/// Whether `text` goes into a JSON string as it is: it holds no `"`, no `\` and no control
/// character below U+0020, the only characters serde_json escapes. Base64 never holds any.
///
/// Reads eight bytes at a time.
///
/// ```
/// use edge_fn::cloudfront::needs_no_json_escape;
/// assert!(needs_no_json_escape("eyJlbWFpbCI6ImVyaWthQGV4YW1wbGUuZGUifQ=="));
/// assert!(needs_no_json_escape("Grüße, 名前"));
/// assert!(!needs_no_json_escape("a \"quote\""));
/// assert!(!needs_no_json_escape("line\nbreak"));
/// ```
pub fn needs_no_json_escape(text: &str) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = ONES * b'"' as u64;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    // The classic exact test "is any byte of x below n" (n <= 0x80) is
    // `(x - n * ONES) & !x & HIGH != 0`: a byte below n borrows into its own high bit, and `!x`
    // keeps that bit only for bytes below 0x80 (a borrow can only mark a byte above one that
    // is below n, so "any" is exact). A byte equals c when the byte of x ^ c is below 1, and
    // as '"' and '\\' have no high bit, !(x ^ c) & HIGH is !x & HIGH: the three tests share
    // one mask, and the high bits are kept only once, at the end.
    let needs_escape = |w: u64| {
        (w.wrapping_sub(ONES * 0x20)
            | (w ^ QUOTES).wrapping_sub(ONES)
            | (w ^ BACKSLASHES).wrapping_sub(ONES))
            & !w
    };
    let mut found = 0u64;
    let mut chunks = text.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        found |= needs_escape(u64::from_le_bytes(word));
    }
    found & HIGH == 0
        && chunks
            .remainder()
            .iter()
            .all(|&b| b >= 0x20 && b != b'"' && b != b'\\')
}

/// One value of a header: `{"key": "Content-Type", "value": "application/json"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Header {
    /// The header name in its original case. When a function leaves it out, CloudFront
    /// derives it from the lowercase name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The header value.
    pub value: String,
    /// Fields this type does not model, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Header {
    /// A header value with its original-case name, e.g. `Header::new("Content-Type", "text/plain")`.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Header {
            key: Some(key.into()),
            value: value.into(),
            extra: Map::new(),
        }
    }
}

/// Headers as CloudFront represents them: lowercase name -> one [`Header`] per value.
///
/// The order of names is kept. Lookups compare names case-insensitively and collect the
/// values of every matching name, so a name that is (against CloudFront's convention) not
/// lowercase is still found. In JSON this is an object; a name repeated exactly inside that
/// object is a parse error rather than a silent "last one wins".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, Vec<Header>)>,
}

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of distinct header names.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no header names at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The header names and their values, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Header])> + '_ {
        self.entries
            .iter()
            .map(|(name, values)| (name.as_str(), values.as_slice()))
    }

    /// The header names and their values, in order, with the values editable in place.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Vec<Header>)> + '_ {
        self.entries
            .iter_mut()
            .map(|(name, values)| (name.as_str(), values))
    }

    /// Every [`Header`] whose name equals `name` case-insensitively, in order.
    pub fn get<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Header> + 'a {
        self.entries
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, values)| values.iter())
    }

    /// Every value of the header `name` (case-insensitive), in order, one per repetition.
    /// Values are returned as sent: a comma-separated value is not split.
    pub fn values(&self, name: &str) -> Vec<&str> {
        let mut values = Vec::new();
        for (n, headers) in &self.entries {
            if n.eq_ignore_ascii_case(name) {
                values.extend(headers.iter().map(|header| header.value.as_str()));
            }
        }
        values
    }

    /// Whether a header named `name` (case-insensitive) is present, even with no values.
    pub fn contains(&self, name: &str) -> bool {
        self.entries
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Replaces every header named `name` (case-insensitive) with `values`, stored under the
    /// lowercase name at the position of the first one replaced (or at the end). An empty
    /// `values` removes the header.
    pub fn set(&mut self, name: &str, values: Vec<Header>) {
        let position = self
            .entries
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name));
        self.entries.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        if values.is_empty() {
            return;
        }
        let entry = (name.to_ascii_lowercase(), values);
        match position {
            Some(index) => self.entries.insert(index, entry),
            None => self.entries.push(entry),
        }
    }

    /// Adds one value to the header `name` (case-insensitive): after the existing values of
    /// the first matching name, or as a new lowercase name at the end.
    pub fn append(&mut self, name: &str, value: Header) {
        match self
            .entries
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, values)) => values.push(value),
            None => self.entries.push((name.to_ascii_lowercase(), vec![value])),
        }
    }

    /// Removes every header named `name` (case-insensitive) and returns its values in order.
    pub fn remove(&mut self, name: &str) -> Vec<Header> {
        let mut removed = Vec::new();
        self.entries.retain_mut(|(n, values)| {
            if n.eq_ignore_ascii_case(name) {
                removed.append(values);
                false
            } else {
                true
            }
        });
        removed
    }
}

impl Headers {
    /// Appends the headers as JSON: what `serde_json::to_writer(out, self)` writes, with
    /// names and values that need no escaping (nearly all) copied as they are rather than
    /// through serde_json's escaper.
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        out.push(b'{');
        for (i, (name, values)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json_str(out, name)?;
            out.extend_from_slice(b":[");
            for (j, header) in values.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                if !header.extra.is_empty() {
                    // Unknown members: leave the whole entry to serde_json.
                    serde_json::to_writer(&mut *out, header)?;
                    continue;
                }
                out.push(b'{');
                if let Some(key) = &header.key {
                    out.extend_from_slice(b"\"key\":");
                    write_json_str(out, key)?;
                    out.push(b',');
                }
                out.extend_from_slice(b"\"value\":");
                write_json_str(out, &header.value)?;
                out.push(b'}');
            }
            out.push(b']');
        }
        out.push(b'}');
        Ok(())
    }
}

/// Appends `s` as a JSON string, exactly as serde_json writes it.
fn write_json_str(out: &mut Vec<u8>, s: &str) -> Result<(), serde_json::Error> {
    if needs_no_json_escape(s) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        Ok(())
    } else {
        serde_json::to_writer(&mut *out, s)
    }
}

impl Serialize for Headers {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (name, values) in &self.entries {
            map.serialize_entry(name, values)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeadersVisitor;

        impl<'de> Visitor<'de> for HeadersVisitor {
            type Value = Headers;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of header name -> [{\"key\", \"value\"}]")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Headers, A::Error> {
                // A repeated name is found by comparing with the names so far while there
                // are few (a request has a dozen or so), without hashing or copying them;
                // past that, with a set, so that an event with thousands of names stays fast.
                const SCAN_UP_TO: usize = 32;
                let mut entries: Vec<(String, Vec<Header>)> = Vec::new();
                let mut seen: Option<HashSet<String>> = None;
                while let Some(name) = access.next_key::<String>()? {
                    let repeated = match &mut seen {
                        Some(seen) => !seen.insert(name.clone()),
                        None => entries.iter().any(|(n, _)| *n == name),
                    };
                    if repeated {
                        // Header names are not secret; the values are never echoed.
                        return Err(de::Error::custom(format_args!(
                            "duplicate header name `{name}`"
                        )));
                    }
                    let values: Vec<Header> = access.next_value()?;
                    entries.push((name, values));
                    if seen.is_none() && entries.len() == SCAN_UP_TO {
                        seen = Some(entries.iter().map(|(n, _)| n.clone()).collect());
                    }
                }
                Ok(Headers { entries })
            }
        }

        deserializer.deserialize_map(HeadersVisitor)
    }
}

/// The request body (`request.body`), present when the trigger includes the body.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Body {
    /// Whether CloudFront cut the body before passing it (`inputTruncated`, read-only): the
    /// body was longer than the include-body limit (40 KB viewer-request, 1 MB
    /// origin-request). A truncated body was not seen whole and must not be forwarded as if
    /// it had been inspected.
    pub input_truncated: bool,
    /// What CloudFront should do with the body the function returns.
    pub action: BodyAction,
    /// How `data` is encoded.
    pub encoding: BodyEncoding,
    /// The body content, encoded as `encoding` says.
    pub data: String,
    /// Fields this type does not model, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Body {
    /// The body bytes: `data` decoded as standard, padded base64, or taken as is for `text`.
    pub fn decode(&self) -> Result<Vec<u8>, BodyDecodeError> {
        match self.encoding {
            BodyEncoding::Text => Ok(self.data.as_bytes().to_vec()),
            BodyEncoding::Base64 => base64::engine::general_purpose::STANDARD
                .decode(self.data.as_bytes())
                .map_err(|error| BodyDecodeError::InvalidBase64 {
                    offset: match error {
                        base64::DecodeError::InvalidByte(offset, _)
                        | base64::DecodeError::InvalidLastSymbol(offset, _) => Some(offset),
                        base64::DecodeError::InvalidLength(_)
                        | base64::DecodeError::InvalidPadding => None,
                    },
                }),
        }
    }

    /// Appends the body as JSON: what `serde_json::to_writer(out, self)` writes, with `data`
    /// appended as it is when it needs no escaping.
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        let Body {
            input_truncated,
            action,
            encoding,
            data,
            extra,
        } = self;
        out.extend_from_slice(b"{\"inputTruncated\":");
        serde_json::to_writer(&mut *out, input_truncated)?;
        out.extend_from_slice(b",\"action\":");
        serde_json::to_writer(&mut *out, action)?;
        out.extend_from_slice(b",\"encoding\":");
        serde_json::to_writer(&mut *out, encoding)?;
        out.extend_from_slice(b",\"data\":");
        if needs_no_json_escape(data) {
            out.push(b'"');
            out.extend_from_slice(data.as_bytes());
            out.push(b'"');
        } else {
            serde_json::to_writer(&mut *out, data)?;
        }
        write_extra(out, extra)?;
        out.push(b'}');
        Ok(())
    }

    /// Replaces the body with `bytes`, base64 encoded, and sets `action` to `replace`.
    ///
    /// The base64 is written straight into `data`'s buffer: the old text's allocation is
    /// reused when it is large enough (it usually is: the new body is the old one, sealed).
    pub fn replace_with_bytes(&mut self, bytes: &[u8]) {
        self.action = BodyAction::Replace;
        self.encoding = BodyEncoding::Base64;
        let needed = bytes.len().div_ceil(3).saturating_mul(4);
        self.data.clear();
        if self.data.capacity() < needed {
            // A fresh buffer: growing the old one would copy its stale bytes.
            self.data = String::with_capacity(needed);
        }
        base64::engine::general_purpose::STANDARD.encode_string(bytes, &mut self.data);
    }

    /// Replaces the body with `text`, text encoded, and sets `action` to `replace`.
    pub fn replace_with_text(&mut self, text: String) {
        self.action = BodyAction::Replace;
        self.encoding = BodyEncoding::Text;
        self.data = text;
    }
}

/// `body.action`: what CloudFront does with the body the function returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BodyAction {
    /// `read-only` (CloudFront's default): changes to `data` and `encoding` are ignored.
    #[serde(rename = "read-only")]
    ReadOnly,
    /// `replace`: the returned `data` replaces the body sent on.
    #[serde(rename = "replace")]
    Replace,
}

/// The encoding of a body (`body.encoding`, `response.bodyEncoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BodyEncoding {
    /// `base64`: standard base64 with padding. CloudFront always passes request bodies so.
    #[serde(rename = "base64")]
    Base64,
    /// `text`: the data is the body itself.
    #[serde(rename = "text")]
    Text,
}

/// Why [`Body::decode`] failed. The message never contains any of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyDecodeError {
    /// `encoding` is `base64` but `data` is not valid standard, padded base64.
    InvalidBase64 {
        /// Offset in `data` of the first invalid symbol, when known.
        offset: Option<usize>,
    },
}

impl fmt::Display for BodyDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyDecodeError::InvalidBase64 {
                offset: Some(offset),
            } => write!(f, "request body is not valid base64 (at offset {offset})"),
            BodyDecodeError::InvalidBase64 { offset: None } => {
                f.write_str("request body is not valid base64 (bad length or padding)")
            }
        }
    }
}

impl std::error::Error for BodyDecodeError {}

/// The origin of an origin-request event (`request.origin`): exactly one of `custom`, `s3`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Origin {
    /// A custom (HTTP) origin, e.g. API Gateway, a load balancer, an S3 website endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom: Option<CustomOrigin>,
    /// An Amazon S3 bucket origin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Origin>,
    /// Fields this type does not model, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A custom origin (`request.origin.custom`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomOrigin {
    /// Headers CloudFront adds when it calls this origin (`customHeaders`).
    pub custom_headers: Headers,
    /// The origin's DNS name (`domainName`).
    pub domain_name: String,
    /// Seconds to keep the origin connection open after a response (`keepaliveTimeout`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keepalive_timeout: Option<u32>,
    /// Path prefix at the origin, e.g. `/prod`; empty for none.
    pub path: String,
    /// Port at the origin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `http` or `https`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Seconds to wait for the origin's response (`readTimeout`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_timeout: Option<u32>,
    /// TLS versions CloudFront may use with the origin (`sslProtocols`), e.g. `TLSv1.2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_protocols: Option<Vec<String>>,
    /// Fields this type does not model, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An Amazon S3 origin (`request.origin.s3`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Origin {
    /// `origin-access-identity` or `none` (`authMethod`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<String>,
    /// Headers CloudFront adds when it calls this origin (`customHeaders`).
    pub custom_headers: Headers,
    /// The bucket's DNS name (`domainName`), e.g. `my-bucket.s3.amazonaws.com`.
    pub domain_name: String,
    /// Path prefix in the bucket; empty for none.
    pub path: String,
    /// The bucket's region, required with an origin access identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Fields this type does not model, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

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
// The structs above keep unknown members in `extra`. `#[serde(flatten)]` did that when
// `Deserialize` was derived, at a price on the hot path of every request: serde buffers each
// unknown member into its private `Content` type and reads `extra` back from that buffer, and
// its generated code for it is large. The impls below read each known member straight into
// its field and each unknown one straight into `extra` as a `Value`, and accept and refuse
// exactly what the derived impls did, with the same messages (`tests/cloudfront_parse_same.rs`
// compares them against a copy of the derived types):
//
// - the input must be an object ("invalid type: ..., expected struct Request");
// - members in any order; a known member twice is an error ("duplicate field `uri`"), an
//   unknown member twice keeps the last value;
// - a missing required member is an error ("missing field `uri`"), the first missing one in
//   declaration order; a missing `default` member takes `Default::default()` (`None` for an
//   `Option`, which also takes `null` as `None`);
// - names are compared after JSON unescaping, so `"ur\u0069"` is `uri`.

/// An object member's name, borrowed from the input when the deserializer allows it, so that
/// known names cost no allocation.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(name) => name,
            Key::Owned(name) => name,
        }
    }

    fn into_string(self) -> String {
        match self {
            Key::Borrowed(name) => name.to_owned(),
            Key::Owned(name) => name,
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("field identifier")
            }

            fn visit_borrowed_str<E: de::Error>(self, name: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(name))
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(name.to_owned()))
            }

            fn visit_string<E: de::Error>(self, name: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(name))
            }
        }

        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// The value of a member once the object is read: what was read, or for a missing member an
/// error (`required`) or the type's default (`default`).
macro_rules! member_or_missing {
    ($value:ident, $name:literal, required) => {
        match $value {
            Some(value) => value,
            None => return Err(de::Error::missing_field($name)),
        }
    };
    ($value:ident, $name:literal, default) => {
        $value.unwrap_or_default()
    };
}

/// `impl Deserialize` for a struct with an `extra: Map<String, Value>` field: every other
/// field is listed, in declaration order, with its JSON name and whether it is `required`.
macro_rules! deserialize_with_extra {
    ($type:ident { $($field:ident: $name:literal $kind:ident),* $(,)? }) => {
        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct ObjectVisitor;

                impl<'de> Visitor<'de> for ObjectVisitor {
                    type Value = $type;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("struct ", stringify!($type)))
                    }

                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<$type, A::Error> {
                        $(let mut $field = None;)*
                        let mut extra = Map::new();
                        while let Some(key) = map.next_key::<Key<'de>>()? {
                            match key.as_str() {
                                $($name => {
                                    if $field.is_some() {
                                        return Err(de::Error::duplicate_field($name));
                                    }
                                    $field = Some(map.next_value()?);
                                })*
                                _ => {
                                    let value: Value = map.next_value()?;
                                    extra.insert(key.into_string(), value);
                                }
                            }
                        }
                        $(let $field = member_or_missing!($field, $name, $kind);)*
                        Ok($type { $($field,)* extra })
                    }
                }

                deserializer.deserialize_map(ObjectVisitor)
            }
        }
    };
}

deserialize_with_extra!(CloudFrontEvent {
    records: "Records" required,
});

deserialize_with_extra!(Record { cf: "cf" required });

deserialize_with_extra!(Cf {
    config: "config" required,
    request: "request" required,
    response: "response" default,
});

deserialize_with_extra!(Config {
    distribution_domain_name: "distributionDomainName" default,
    distribution_id: "distributionId" required,
    event_type: "eventType" required,
    request_id: "requestId" default,
});

deserialize_with_extra!(Request {
    client_ip: "clientIp" required,
    method: "method" required,
    uri: "uri" required,
    querystring: "querystring" default,
    headers: "headers" default,
    body: "body" default,
    origin: "origin" default,
});

deserialize_with_extra!(Header {
    key: "key" default,
    value: "value" required,
});

deserialize_with_extra!(Body {
    input_truncated: "inputTruncated" required,
    action: "action" required,
    encoding: "encoding" required,
    data: "data" required,
});

deserialize_with_extra!(Origin {
    custom: "custom" default,
    s3: "s3" default,
});

deserialize_with_extra!(CustomOrigin {
    custom_headers: "customHeaders" default,
    domain_name: "domainName" required,
    keepalive_timeout: "keepaliveTimeout" default,
    path: "path" default,
    port: "port" default,
    protocol: "protocol" default,
    read_timeout: "readTimeout" default,
    ssl_protocols: "sslProtocols" default,
});

deserialize_with_extra!(S3Origin {
    auth_method: "authMethod" default,
    custom_headers: "customHeaders" default,
    domain_name: "domainName" required,
    path: "path" default,
    region: "region" default,
});

deserialize_with_extra!(Response {
    status: "status" required,
    status_description: "statusDescription" default,
    headers: "headers" default,
    body: "body" default,
    body_encoding: "bodyEncoding" default,
});
