//! The request object of an event.

use super::body::Body;
use super::headers::Headers;
use super::origin::Origin;
use super::write::write_extra;
use serde::Serialize;
use serde_json::{Map, Value};

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
