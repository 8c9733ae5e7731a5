//! The request body as CloudFront passes it (`include-body`) and as a function replaces it.

use std::fmt;

use super::write::{needs_no_json_escape, write_extra};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
            // base64-simd accepts exactly what the base64 crate's STANDARD engine accepts
            // (padding required, no whitespace, no stray bits; `simd_base64_agrees` below);
            // the base64 crate runs again only to say where a body that did not decode went
            // wrong.
            BodyEncoding::Base64 => base64_simd::STANDARD
                .decode_to_vec(self.data.as_bytes())
                .map_err(|_| BodyDecodeError::InvalidBase64 {
                    offset: match base64::engine::general_purpose::STANDARD
                        .decode(self.data.as_bytes())
                    {
                        Err(
                            base64::DecodeError::InvalidByte(offset, _)
                            | base64::DecodeError::InvalidLastSymbol(offset, _),
                        ) => Some(offset),
                        _ => None,
                    },
                }),
        }
    }

    /// Appends the body as JSON: what `serde_json::to_writer(out, self)` writes, with `data`
    /// appended as it is when it needs no escaping.
    pub(super) fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
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
        base64_simd::STANDARD.encode_append(bytes, &mut self.data);
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
