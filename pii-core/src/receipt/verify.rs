//! Verifying a receipt at the origin (feature `open` for [`verify_receipt`]).

use std::fmt;

#[cfg(feature = "open")]
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
#[cfg(feature = "open")]
use base64::Engine as _;
#[cfg(feature = "open")]
use serde::Deserialize;
#[cfg(feature = "open")]
use serde_json::Value;

#[cfg(feature = "open")]
use super::keys::{ReceiptKey, ReceiptKeys};
#[cfg(feature = "open")]
use super::payload::{digest, header_block, Payload, ALG, CLOCK_SKEW, MAX_RECEIPT_LEN};
use super::payload::{header_names, HEADER, VERSION};
#[cfg(feature = "open")]
use crate::crypto;

/// A request as the origin received it, for [`verify_receipt`].
#[derive(Debug, Clone, Copy)]
pub struct ReceiptRequest<'a, N, V> {
    /// The HTTP method.
    pub method: &'a str,
    /// The raw request target: the path as received (still percent-encoded), then `?` and the
    /// raw query string when there is one.
    pub target: &'a str,
    /// The request headers, `(name, value)` in order; the receipt header among them.
    pub headers: &'a [(N, V)],
    /// The raw body bytes (as received, before any decoding).
    pub body: &'a [u8],
}

/// A verified receipt: what the edge checked on this request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Receipt {
    /// The key id that signed it.
    pub kid: String,
    /// When the edge issued it (unix seconds).
    pub issued_at: u64,
    /// CloudFront's request id, when the edge knew it.
    pub request_id: Option<String>,
    /// The policy that applied; `None`: no policy matched the request.
    pub policy: Option<String>,
    /// The residency zone values were sealed to, if any.
    pub zone: Option<String>,
    /// The headers whose values the receipt binds (lower case, sorted).
    pub bound_headers: Vec<String>,
    /// The protected locations, in their text form.
    pub locations: Vec<String>,
    /// How many further locations were protected but not listed (see [`MAX_LOCATIONS_LEN`]).
    pub more_locations: u64,
    /// Whether the edge saw (and the receipt binds) the body; when `false` the receipt only
    /// vouches for an empty body.
    pub body_bound: bool,
    /// The issuer and subject of the identity token the edge verified on this request,
    /// `(iss, sub)`; `None` when it verified none.
    pub subject: Option<(String, String)>,
}

/// Why a receipt was refused. Messages say what differs, never a header or body value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReceiptError {
    /// The request carries no receipt header: it did not come through the edge.
    Missing,
    /// The request carries the receipt header more than once.
    Repeated,
    /// The receipt is not a JWS compact serialization of the expected form.
    Malformed {
        /// What is wrong (a fixed text).
        reason: &'static str,
    },
    /// The receipt names a key the origin does not hold.
    UnknownKey {
        /// The key id it names (shortened to 64 characters).
        kid: String,
    },
    /// The signature does not verify: the receipt was forged or changed.
    BadSignature,
    /// A receipt version this library does not know.
    UnsupportedVersion {
        /// The version it carries.
        version: u64,
    },
    /// The receipt is older than `max_age`.
    Expired {
        /// Its age in seconds.
        age: u64,
        /// The largest age accepted.
        max_age: u64,
    },
    /// The receipt was issued more than [`CLOCK_SKEW`] seconds in the future.
    FromTheFuture {
        /// How far ahead, in seconds.
        ahead: u64,
    },
    /// The receipt was issued for another method.
    Method,
    /// The receipt was issued for another path or query.
    Target,
    /// The body differs from the one the edge forwarded (or the edge did not see a body and
    /// this request has one).
    Body,
    /// A header the receipt binds differs from what the edge forwarded.
    Headers,
}

impl fmt::Display for ReceiptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReceiptError::Missing => write!(f, "no {HEADER} header: the request did not come through the edge"),
            ReceiptError::Repeated => write!(f, "the {HEADER} header appears more than once"),
            ReceiptError::Malformed { reason } => write!(f, "malformed receipt: {reason}"),
            ReceiptError::UnknownKey { kid } => write!(
                f,
                "the receipt is signed by key \"{kid}\", which is not among the receipt keys: add the edge's public receipt key (pii-edge keygen --receipt writes it)"
            ),
            ReceiptError::BadSignature => f.write_str("the receipt's signature does not verify"),
            ReceiptError::UnsupportedVersion { version } => {
                write!(f, "receipt version {version} is not supported (this library reads version {VERSION})")
            }
            ReceiptError::Expired { age, max_age } => write!(
                f,
                "the receipt is {age} s old, older than the {max_age} s accepted"
            ),
            ReceiptError::FromTheFuture { ahead } => write!(
                f,
                "the receipt was issued {ahead} s in the future: check the clocks"
            ),
            ReceiptError::Method => f.write_str("the receipt was issued for another method"),
            ReceiptError::Target => f.write_str("the receipt was issued for another path or query"),
            ReceiptError::Body => f.write_str("the body differs from the one the edge forwarded"),
            ReceiptError::Headers => {
                f.write_str("a header the receipt binds differs from what the edge forwarded")
            }
        }
    }
}

impl std::error::Error for ReceiptError {}

impl ReceiptError {
    /// A short stable code for logs and problem types: `missing`, `repeated`, `malformed`,
    /// `unknown-key`, `bad-signature`, `unsupported-version`, `expired`, `from-the-future`,
    /// `method`, `target`, `body`, `headers`.
    pub fn code(&self) -> &'static str {
        match self {
            ReceiptError::Missing => "missing",
            ReceiptError::Repeated => "repeated",
            ReceiptError::Malformed { .. } => "malformed",
            ReceiptError::UnknownKey { .. } => "unknown-key",
            ReceiptError::BadSignature => "bad-signature",
            ReceiptError::UnsupportedVersion { .. } => "unsupported-version",
            ReceiptError::Expired { .. } => "expired",
            ReceiptError::FromTheFuture { .. } => "from-the-future",
            ReceiptError::Method => "method",
            ReceiptError::Target => "target",
            ReceiptError::Body => "body",
            ReceiptError::Headers => "headers",
        }
    }
}

/// Verifies the receipt of a request received at the origin: exactly one [`HEADER`], a JWS
/// with `"alg":"EdDSA"` signed by one of `keys`, issued at most `max_age` seconds before `now`
/// (unix seconds) and at most [`CLOCK_SKEW`] after it, for this method, this target, this body
/// and these values of the headers it binds. The steps are those of `docs/receipt.md`,
/// "Verifying".
///
/// A receipt can be replayed onto the *same* request within `max_age`; an origin that must
/// see each request once keeps the receipt's `request_id` for `max_age` seconds.
#[cfg(feature = "open")]
pub fn verify_receipt<N: AsRef<str>, V: AsRef<str>>(
    request: &ReceiptRequest<'_, N, V>,
    keys: &ReceiptKeys,
    max_age: u64,
    now: u64,
) -> Result<Receipt, ReceiptError> {
    let mut values = request
        .headers
        .iter()
        .filter(|(n, _)| n.as_ref().eq_ignore_ascii_case(HEADER))
        .map(|(_, v)| v.as_ref());
    let value = values.next().ok_or(ReceiptError::Missing)?;
    if values.next().is_some() {
        return Err(ReceiptError::Repeated);
    }
    let value = value.trim_matches([' ', '\t']);
    let (key, payload) = verify_jws(value, keys)?;
    let malformed = |reason| ReceiptError::Malformed { reason };
    let version = serde_json::from_slice::<Value>(&payload)
        .ok()
        .and_then(|p| p.get("v").and_then(Value::as_u64));
    match version {
        Some(VERSION) => {}
        Some(version) => return Err(ReceiptError::UnsupportedVersion { version }),
        None => return Err(malformed("the payload has no version")),
    }
    let claims: Payload = serde_json::from_slice(&payload)
        .map_err(|_| malformed("the payload does not have the members of version 1"))?;
    if claims
        .sub_id
        .as_ref()
        .is_some_and(|s| s.format != "iss_sub")
    {
        return Err(malformed("sub_id is not of the iss_sub format"));
    }

    if claims.iat > now.saturating_add(CLOCK_SKEW) {
        return Err(ReceiptError::FromTheFuture {
            ahead: claims.iat - now,
        });
    }
    let age = now.saturating_sub(claims.iat);
    if age > max_age {
        return Err(ReceiptError::Expired { age, max_age });
    }
    if claims.m != request.method {
        return Err(ReceiptError::Method);
    }
    if claims.t != digest(request.target.as_bytes()) {
        return Err(ReceiptError::Target);
    }
    match &claims.b {
        Some(b) if *b == digest(request.body) => {}
        None if request.body.is_empty() => {}
        _ => return Err(ReceiptError::Body),
    }
    if claims.hn != header_names(&claims.hn) {
        return Err(malformed(
            "hn is not sorted, lower-case and without repeats",
        ));
    }
    if claims.h != digest(&header_block(&claims.hn, request.headers)) {
        return Err(ReceiptError::Headers);
    }
    Ok(Receipt {
        kid: key.kid.clone(),
        issued_at: claims.iat,
        request_id: claims.rid,
        policy: claims.pol,
        zone: claims.zone,
        bound_headers: claims.hn,
        locations: claims.loc,
        more_locations: claims.more,
        body_bound: claims.b.is_some(),
        subject: claims.sub_id.map(|s| (s.iss, s.sub)),
    })
}

/// Check a JWS compact serialization (`{"alg":"EdDSA","kid":...}`, at most 8192 bytes) against
/// `keys`: the key that signed it and the decoded payload (receipts and erasure receipts).
#[cfg(feature = "open")]
pub(crate) fn verify_jws<'k>(
    value: &str,
    keys: &'k ReceiptKeys,
) -> Result<(&'k ReceiptKey, Vec<u8>), ReceiptError> {
    let malformed = |reason| ReceiptError::Malformed { reason };
    if value.len() > MAX_RECEIPT_LEN {
        return Err(malformed("longer than 8192 bytes"));
    }
    let mut parts = value.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("not three base64url parts joined by '.'"));
    };
    let header_json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| malformed("the JWS header is not base64url"))?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct JwsHeader {
        alg: String,
        kid: String,
    }
    let jws: JwsHeader = serde_json::from_slice(&header_json)
        .map_err(|_| malformed("the JWS header is not {\"alg\":\"EdDSA\",\"kid\":...}"))?;
    if jws.alg != ALG {
        return Err(malformed("the JWS alg is not EdDSA"));
    }
    let key = keys.get(&jws.kid).ok_or_else(|| ReceiptError::UnknownKey {
        kid: jws.kid.chars().take(64).collect(),
    })?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| malformed("the signature is not base64url"))?;
    let signed_len = header.len() + 1 + payload.len();
    if !crypto::ed25519_verify(&key.x, &value.as_bytes()[..signed_len], &signature) {
        return Err(ReceiptError::BadSignature);
    }
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| malformed("the payload is not base64url"))?;
    Ok((key, payload))
}

/// The request target as the edge forwards it and the receipt binds it: `path`, then `?` and
/// `query` when `query` is not empty.
///
/// ```
/// assert_eq!(pii_core::receipt::target("/a", ""), "/a");
/// assert_eq!(pii_core::receipt::target("/a", "q=1"), "/a?q=1");
/// ```
pub fn target(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// The lower-case names of the headers a policy protects (its `header` selectors, and
/// `cookie` when it has `cookie` selectors): what a receipt binds besides the body, so that
/// a plaintext value cannot be added to a request after the edge.
pub fn bound_headers(policy: &crate::Policy) -> Vec<String> {
    let names: Vec<String> = policy
        .spec()
        .rules
        .iter()
        .filter_map(|rule| match &rule.select {
            crate::spec::SelectorSpec::Header(name) => Some(name.to_ascii_lowercase()),
            crate::spec::SelectorSpec::Cookie(_) => Some("cookie".to_owned()),
            _ => None,
        })
        .collect();
    header_names(&names)
}
