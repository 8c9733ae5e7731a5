//! Receipts: proof, for an origin, that a request came through the edge and what the edge
//! checked.
//!
//! The edge adds a header [`HEADER`] to every request it forwards (protected or not). Its
//! value is a JWS compact serialization (RFC 7515 §7.1) signed with Ed25519 (`"alg":"EdDSA"`,
//! RFC 8037) by a key of the edge's own ([`ReceiptSigner`]). The payload binds the receipt to
//! the request: the method, a digest of the request target (path and query), a digest of the
//! body the edge forwarded, a digest of the headers the policy protects, and it tells what was
//! checked (policy or none, zone, protected locations, request id, time). An origin holding the
//! public half ([`ReceiptKeys`], a JWK) refuses a request without a valid, fresh receipt
//! ([`verify_receipt`], feature `open`): a request sent around the edge, a receipt copied onto
//! another request, or a body changed after the edge.
//!
//! `docs/receipt.md` specifies every byte; `docs/vectors/receipts/` holds test vectors.
//!
//! ```
//! use pii_core::receipt::{ReceiptFacts, ReceiptSigner, verify_receipt, ReceiptRequest};
//!
//! let signer = ReceiptSigner::generate(1_700_000_000)?;
//! let headers = vec![("x-national-id".to_owned(), "pe1.AAAA".to_owned())];
//! let facts = ReceiptFacts {
//!     policy: Some("signup"),
//!     zone: Some("eu-central"),
//!     method: "POST",
//!     target: "/api/users?lang=de",
//!     body: Some(br#"{"email":"pe1.BBBB"}"#),
//!     headers: &headers,
//!     bound_headers: &["x-national-id".to_owned()],
//!     locations: &["json:$['email']".to_owned(), "header:x-national-id".to_owned()],
//!     request_id: Some("4TyzHTaYWb1GX1qT"),
//!     subject: None,
//! };
//! let value = signer.sign(&facts, 1_700_000_100);
//!
//! let keys = pii_core::receipt::ReceiptKeys::from_jwks(&signer.public_jwk())?;
//! let mut with_receipt = headers.clone();
//! with_receipt.push(("X-Pii-Edge-Receipt".to_owned(), value));
//! let request = ReceiptRequest {
//!     method: "POST",
//!     target: "/api/users?lang=de",
//!     headers: &with_receipt,
//!     body: br#"{"email":"pe1.BBBB"}"#,
//! };
//! let receipt = verify_receipt(&request, &keys, 300, 1_700_000_130)?;
//! assert_eq!(receipt.policy.as_deref(), Some("signup"));
//!
//! // The same receipt on another body is refused.
//! let tampered = ReceiptRequest { body: br#"{"email":"erika@example.de"}"#, ..request };
//! assert!(verify_receipt(&tampered, &keys, 300, 1_700_000_130).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::crypto::{self, ED25519_LEN};
use crate::keys::{thumbprint_digest, KeyError};

/// The request header that carries a receipt (lower case, as CloudFront names headers).
pub const HEADER: &str = "x-pii-edge-receipt";
/// The header name as the edge spells it in CloudFront's `key`.
pub const HEADER_KEY: &str = "X-Pii-Edge-Receipt";
/// Receipt format version (payload member `v`).
pub const VERSION: u64 = 1;
/// Most bytes of location text a receipt lists (`loc`); further locations are only counted
/// (`more`), so that a receipt stays a small header.
pub const MAX_LOCATIONS_LEN: usize = 1024;
/// How far in the future (seconds) a receipt's `iat` may be, for clocks that disagree.
pub const CLOCK_SKEW: u64 = 60;
/// Longest receipt header value an origin reads, in bytes. A receipt the edge writes is at
/// most about 2 KB.
pub const MAX_RECEIPT_LEN: usize = 8192;

/// The exact JWS protected header is `{"alg":"EdDSA","kid":"<kid>"}`.
const ALG: &str = "EdDSA";

/// The key with which the edge signs receipts: an Ed25519 key pair (RFC 8032) read from a
/// private JWK (RFC 8037: `"kty":"OKP","crv":"Ed25519"`, `x`, `d`). It travels in the edge
/// package like the token keys; the origin holds only the public half ([`ReceiptKeys`]).
///
/// `Debug` shows the key id only.
pub struct ReceiptSigner {
    kid: String,
    created: u64,
    seed: Zeroizing<[u8; ED25519_LEN]>,
    public: [u8; ED25519_LEN],
    key: crypto::SigningKey,
}

impl fmt::Debug for ReceiptSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiptSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// A public receipt key: Ed25519, identified by its RFC 7638 thumbprint.
#[derive(Clone, PartialEq, Eq)]
pub struct ReceiptKey {
    kid: String,
    x: [u8; ED25519_LEN],
}

impl fmt::Debug for ReceiptKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiptKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl ReceiptKey {
    /// The key id: the RFC 7638 thumbprint, base64url without padding (43 characters).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key as a public JWK (one line of JSON).
    pub fn to_jwk(&self) -> String {
        format!(
            "{{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"{}\",\"kid\":\"{}\",\"use\":\"sig\",\"alg\":\"EdDSA\"}}",
            URL_SAFE_NO_PAD.encode(self.x),
            self.kid
        )
    }

    fn new(x: [u8; ED25519_LEN]) -> Self {
        let kid = URL_SAFE_NO_PAD.encode(thumbprint_digest("Ed25519", &URL_SAFE_NO_PAD.encode(x)));
        ReceiptKey { kid, x }
    }
}

/// The public receipt keys an origin accepts (several during a rotation).
///
/// ```
/// let keys = pii_core::receipt::ReceiptKeys::from_jwks(r#"{"kty":"OKP","crv":"Ed25519",
///   "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
/// assert_eq!(keys.keys()[0].kid().len(), 43);
/// // A private key is refused: the origin needs only the public half.
/// assert!(pii_core::receipt::ReceiptKeys::from_jwks(r#"{"kty":"OKP","crv":"Ed25519",
///   "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
///   "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}"#).is_err());
/// # Ok::<(), pii_core::keys::KeyError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiptKeys {
    keys: Vec<ReceiptKey>,
}

impl ReceiptKeys {
    /// Reads one public Ed25519 JWK, or a JWK Set (RFC 7517 §5) of them. A key with a private
    /// member (`d`) is refused ([`KeyError::PrivateKeyInPublicSet`]), as is a `kid` that is
    /// not the key's RFC 7638 thumbprint.
    pub fn from_jwks(text: &str) -> Result<Self, KeyError> {
        let value: Value = serde_json::from_str(text).map_err(|e| KeyError::Json {
            line: e.line(),
            column: e.column(),
        })?;
        let list = match value {
            Value::Object(mut map) if map.contains_key("keys") => match map.remove("keys") {
                Some(Value::Array(keys)) => keys,
                _ => return Err(KeyError::NotAKeySet),
            },
            single @ Value::Object(_) => vec![single],
            _ => return Err(KeyError::NotAKeySet),
        };
        let mut keys: Vec<ReceiptKey> = Vec::with_capacity(list.len());
        for (index, jwk) in list.iter().enumerate() {
            if jwk.get("d").is_some() {
                return Err(KeyError::PrivateKeyInPublicSet { index });
            }
            let x = parse_public(index, jwk)?;
            let key = ReceiptKey::new(x);
            check_kid(index, jwk, &key.kid)?;
            if keys.iter().any(|k| k.kid == key.kid) {
                return Err(KeyError::DuplicateKey { kid: key.kid });
            }
            keys.push(key);
        }
        Ok(ReceiptKeys { keys })
    }

    /// The keys, in the order they were given.
    pub fn keys(&self) -> &[ReceiptKey] {
        &self.keys
    }

    /// Whether there is no key (every receipt is then refused).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Adds a key.
    pub fn push(&mut self, key: ReceiptKey) {
        if !self.keys.iter().any(|k| k.kid == key.kid) {
            self.keys.push(key);
        }
    }

    #[cfg(feature = "open")]
    fn get(&self, kid: &str) -> Option<&ReceiptKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}

const EXPECTED_B64: &str = "32 bytes in base64url without padding";

fn parse_public(index: usize, jwk: &Value) -> Result<[u8; ED25519_LEN], KeyError> {
    if jwk.get("kty").and_then(Value::as_str) != Some("OKP")
        || jwk.get("crv").and_then(Value::as_str) != Some("Ed25519")
    {
        return Err(KeyError::UnsupportedKey {
            index,
            expected: "Ed25519 (\"kty\":\"OKP\",\"crv\":\"Ed25519\")",
        });
    }
    for (member, allowed) in [("use", "sig"), ("alg", ALG)] {
        match jwk.get(member) {
            None => {}
            Some(Value::String(s)) if s == allowed => {}
            Some(_) => {
                return Err(KeyError::InvalidMember {
                    index,
                    member,
                    expected: if member == "use" {
                        "\"sig\""
                    } else {
                        "\"EdDSA\""
                    },
                })
            }
        }
    }
    let x = b64_member(index, jwk, "x")?;
    Ok(*x)
}

fn check_kid(index: usize, jwk: &Value, kid: &str) -> Result<(), KeyError> {
    match jwk.get("kid") {
        None => Ok(()),
        Some(Value::String(k)) if k == kid => Ok(()),
        Some(_) => Err(KeyError::KidMismatch {
            index,
            thumbprint: kid.to_owned(),
        }),
    }
}

fn b64_member(
    index: usize,
    jwk: &Value,
    member: &'static str,
) -> Result<Zeroizing<[u8; ED25519_LEN]>, KeyError> {
    let invalid = KeyError::InvalidMember {
        index,
        member,
        expected: EXPECTED_B64,
    };
    let text = jwk
        .get(member)
        .and_then(Value::as_str)
        .ok_or(invalid.clone())?;
    let bytes = Zeroizing::new(URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid.clone())?);
    let mut out = Zeroizing::new([0u8; ED25519_LEN]);
    if bytes.len() != ED25519_LEN {
        return Err(invalid);
    }
    out.copy_from_slice(&bytes);
    Ok(out)
}

impl ReceiptSigner {
    /// Reads the private signing key: one Ed25519 JWK with `x` and `d` (the RFC 8032 seed),
    /// optional `kid` (must be the RFC 7638 thumbprint), `use: "sig"`, `alg: "EdDSA"` and
    /// `created` (unix seconds). Errors name the member, never its value.
    ///
    /// ```
    /// let signer = pii_core::receipt::ReceiptSigner::generate(1)?;
    /// let again = pii_core::receipt::ReceiptSigner::from_jwk(&signer.to_jwk())?;
    /// assert_eq!(again.kid(), signer.kid());
    /// assert!(!format!("{again:?}").contains(&signer.to_jwk()[60..]));
    /// # Ok::<(), pii_core::keys::KeyError>(())
    /// ```
    pub fn from_jwk(text: &str) -> Result<Self, KeyError> {
        let mut value: Value = serde_json::from_str(text).map_err(|e| KeyError::Json {
            line: e.line(),
            column: e.column(),
        })?;
        let result = Self::from_value(&value);
        if let Some(Value::String(d)) = value.get_mut("d") {
            zeroize::Zeroize::zeroize(d);
        }
        result
    }

    fn from_value(jwk: &Value) -> Result<Self, KeyError> {
        if !jwk.is_object() {
            return Err(KeyError::NotAKeySet);
        }
        let x = parse_public(0, jwk)?;
        if jwk.get("d").is_none() {
            return Err(KeyError::MissingPrivateKey { index: 0 });
        }
        let seed = b64_member(0, jwk, "d")?;
        let created = match jwk.get("created") {
            None => 0,
            Some(v) => v.as_u64().ok_or(KeyError::InvalidMember {
                index: 0,
                member: "created",
                expected: "the creation time in whole seconds since 1970-01-01 UTC",
            })?,
        };
        let key = crypto::SigningKey::from_seed(&seed, Some(&x))
            .map_err(|_| KeyError::PublicKeyMismatch { index: 0 })?;
        let public = ReceiptKey::new(x);
        check_kid(0, jwk, &public.kid)?;
        Ok(ReceiptSigner {
            kid: public.kid,
            created,
            seed,
            public: x,
            key,
        })
    }

    /// A new random signing key (seed from the operating system), created at `created` (unix
    /// seconds).
    pub fn generate(created: u64) -> Result<Self, KeyError> {
        let seed = crypto::random_key().map_err(|_| KeyError::Random)?;
        Self::from_seed(seed, created)
    }

    fn from_seed(seed: Zeroizing<[u8; ED25519_LEN]>, created: u64) -> Result<Self, KeyError> {
        let key = crypto::SigningKey::from_seed(&seed, None).map_err(|_| KeyError::Random)?;
        let x = key.public();
        Ok(ReceiptSigner {
            kid: ReceiptKey::new(x).kid,
            created,
            seed,
            public: x,
            key,
        })
    }

    /// The key id (RFC 7638 thumbprint of the public key).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half, for [`ReceiptKeys`].
    pub fn public(&self) -> ReceiptKey {
        ReceiptKey::new(self.public)
    }

    /// The public half as a JWK (what the origin holds).
    pub fn public_jwk(&self) -> String {
        self.public().to_jwk()
    }

    /// The private key as a JWK, `d` included: for `pii-edge keygen` and the package bundle
    /// only. Never log it.
    pub fn to_jwk(&self) -> String {
        format!(
            "{{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"{}\",\"kid\":\"{}\",\"use\":\"sig\",\"alg\":\"EdDSA\",\"created\":{},\"d\":\"{}\"}}",
            URL_SAFE_NO_PAD.encode(self.public),
            self.kid,
            self.created,
            URL_SAFE_NO_PAD.encode(*self.seed)
        )
    }

    /// The receipt header value for `facts`, issued at `issued_at` (unix seconds): JWS compact
    /// serialization `BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(signature)`.
    pub fn sign(&self, facts: &ReceiptFacts<'_>, issued_at: u64) -> String {
        let payload = Payload::of(facts, issued_at);
        self.sign_jws(&serde_json::to_string(&payload).unwrap_or_default())
    }

    /// JWS compact serialization of `payload` with the header `{"alg":"EdDSA","kid":...}`
    /// (receipts and erasure receipts).
    pub(crate) fn sign_jws(&self, payload: &str) -> String {
        let header = format!("{{\"alg\":\"{ALG}\",\"kid\":\"{}\"}}", self.kid);
        let mut out = URL_SAFE_NO_PAD.encode(header);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut out);
        let signature = self.key.sign(out.as_bytes());
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut out);
        out
    }
}

/// What the edge forwarded, as the receipt describes it.
#[derive(Debug, Clone, Copy)]
pub struct ReceiptFacts<'a> {
    /// The policy that applied, `None` when none matched.
    pub policy: Option<&'a str>,
    /// The residency zone values were sealed to, if any.
    pub zone: Option<&'a str>,
    /// The HTTP method.
    pub method: &'a str,
    /// The request target as forwarded: the path, then `?` and the raw query string when the
    /// query is not empty (`/api/users?lang=de`).
    pub target: &'a str,
    /// The body bytes forwarded; `None` when the edge did not see the whole body (no body in
    /// the event, or a truncated one): the receipt then vouches only for an empty body.
    pub body: Option<&'a [u8]>,
    /// The forwarded headers, `(name, value)` in order (names in any case).
    pub headers: &'a [(String, String)],
    /// Lower-case names of the headers the receipt binds (the headers the policy protects);
    /// sorted and deduplicated by [`ReceiptSigner::sign`].
    pub bound_headers: &'a [String],
    /// The protected locations, in their text form (`json:$['email']`, `header:x-id`).
    pub locations: &'a [String],
    /// CloudFront's request id (`config.requestId`), when known.
    pub request_id: Option<&'a str>,
    /// The data subject of a verified identity token, when the request carried one
    /// (`pii_core::Residency::identify`).
    pub subject: Option<SubjectId<'a>>,
}

/// A subject identifier of the RFC 9493 `iss_sub` format: the issuer of a verified token and
/// its subject, as a receipt binds them (member `sub_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubjectId<'a> {
    /// The token's issuer (`iss`).
    pub iss: &'a str,
    /// The subject (the configured subject claim, `sub` by default).
    pub sub: &'a str,
}

/// The `sub_id` member: `{"format": "iss_sub", "iss": ..., "sub": ...}` (RFC 9493 §3.2.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubIdMember {
    format: String,
    iss: String,
    sub: String,
}

/// The receipt payload (JSON object; members written in this order).
#[derive(Serialize, Deserialize)]
struct Payload {
    v: u64,
    iat: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rid: Option<String>,
    pol: Option<String>,
    zone: Option<String>,
    m: String,
    t: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    b: Option<String>,
    hn: Vec<String>,
    h: String,
    loc: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    more: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub_id: Option<SubIdMember>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn digest(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(crypto::sha256(data))
}

/// The sorted, deduplicated lower-case names.
fn header_names(names: &[String]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    names.sort();
    names.dedup();
    names
}

/// The header block whose SHA-256 is `h`: for each name of `names` (sorted) that the request
/// carries, `name ":" value LF`, where `value` is every value of that name in order, each with
/// leading and trailing spaces and tabs removed, joined by `"; "` for `cookie` and `", "` for
/// any other name (how HTTP servers and frameworks combine repeated fields).
fn header_block<N: AsRef<str>, V: AsRef<str>>(names: &[String], headers: &[(N, V)]) -> Vec<u8> {
    let mut block = Vec::new();
    for name in names {
        let separator = if name == "cookie" { "; " } else { ", " };
        let mut first = true;
        for (n, v) in headers {
            if !n.as_ref().eq_ignore_ascii_case(name) {
                continue;
            }
            if first {
                block.extend_from_slice(name.as_bytes());
                block.push(b':');
                first = false;
            } else {
                block.extend_from_slice(separator.as_bytes());
            }
            block.extend_from_slice(v.as_ref().trim_matches([' ', '\t']).as_bytes());
        }
        if !first {
            block.push(b'\n');
        }
    }
    block
}

impl Payload {
    fn of(facts: &ReceiptFacts<'_>, issued_at: u64) -> Payload {
        let hn = header_names(facts.bound_headers);
        let h = digest(&header_block(&hn, facts.headers));
        let mut loc = Vec::new();
        let mut len = 0;
        let mut more = 0;
        for location in facts.locations {
            if more == 0 && len + location.len() <= MAX_LOCATIONS_LEN {
                len += location.len();
                loc.push(location.clone());
            } else {
                more += 1;
            }
        }
        Payload {
            v: VERSION,
            iat: issued_at,
            rid: facts.request_id.map(|r| r.chars().take(128).collect()),
            pol: facts.policy.map(str::to_owned),
            zone: facts.zone.map(str::to_owned),
            m: facts.method.to_owned(),
            t: digest(facts.target.as_bytes()),
            b: facts.body.map(digest),
            hn,
            h,
            loc,
            more,
            sub_id: facts.subject.map(|s| SubIdMember {
                format: "iss_sub".to_owned(),
                iss: s.iss.chars().take(MAX_SUBJECT_LEN).collect(),
                sub: s.sub.chars().take(MAX_SUBJECT_LEN).collect(),
            }),
        }
    }
}

/// Longest issuer or subject a receipt carries (characters); longer ones are cut.
pub const MAX_SUBJECT_LEN: usize = 256;

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

#[cfg(all(test, feature = "open"))]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn signer() -> ReceiptSigner {
        ReceiptSigner::from_seed(Zeroizing::new([7; 32]), 1).expect("key")
    }

    fn facts<'a>(headers: &'a [(String, String)], bound: &'a [String]) -> ReceiptFacts<'a> {
        ReceiptFacts {
            policy: Some("signup"),
            zone: Some("eu-central"),
            method: "POST",
            target: "/signup?x=1",
            body: Some(b"{\"a\":1}"),
            headers,
            bound_headers: bound,
            locations: &[],
            request_id: Some("rid"),
            subject: None,
        }
    }

    fn verify(
        value: &str,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: &[u8],
        now: u64,
    ) -> Result<Receipt, ReceiptError> {
        let keys = ReceiptKeys::from_jwks(&signer().public_jwk()).expect("keys");
        let mut all = headers.to_vec();
        all.push((HEADER_KEY.to_owned(), value.to_owned()));
        let request = ReceiptRequest {
            method,
            target,
            headers: &all,
            body,
        };
        verify_receipt(&request, &keys, 300, now)
    }

    fn h(name: &str, value: &str) -> (String, String) {
        (name.to_owned(), value.to_owned())
    }

    #[test]
    fn every_bound_part_is_checked() {
        let headers = vec![h("X-Id", "pe1.a"), h("cookie", "s=1"), h("Cookie", "t=2")];
        let bound = vec!["x-id".to_owned(), "cookie".to_owned()];
        let value = signer().sign(&facts(&headers, &bound), NOW);
        let body: &[u8] = b"{\"a\":1}";
        let ok = verify(&value, "POST", "/signup?x=1", &headers, body, NOW + 10).expect("valid");
        assert_eq!(ok.bound_headers, ["cookie", "x-id"]);
        assert!(ok.body_bound);
        // Frameworks that combine repeated headers give the same block.
        let combined = vec![h("x-id", " pe1.a "), h("cookie", "s=1; t=2")];
        assert!(verify(&value, "POST", "/signup?x=1", &combined, body, NOW).is_ok());
        let err = |r: Result<Receipt, ReceiptError>| r.expect_err("refused");
        assert_eq!(
            err(verify(&value, "PUT", "/signup?x=1", &headers, body, NOW)),
            ReceiptError::Method
        );
        assert_eq!(
            err(verify(&value, "POST", "/signup?x=2", &headers, body, NOW)),
            ReceiptError::Target
        );
        assert_eq!(
            err(verify(&value, "POST", "/signup?x=1", &headers, b"{}", NOW)),
            ReceiptError::Body
        );
        let changed = vec![h("x-id", "plain"), h("cookie", "s=1; t=2")];
        assert_eq!(
            err(verify(&value, "POST", "/signup?x=1", &changed, body, NOW)),
            ReceiptError::Headers
        );
        let added = vec![
            h("X-Id", "pe1.a"),
            h("X-Id", "plain"),
            h("cookie", "s=1; t=2"),
        ];
        assert_eq!(
            err(verify(&value, "POST", "/signup?x=1", &added, body, NOW)),
            ReceiptError::Headers
        );
        assert_eq!(
            err(verify(
                &value,
                "POST",
                "/signup?x=1",
                &headers,
                body,
                NOW + 301
            )),
            ReceiptError::Expired {
                age: 301,
                max_age: 300
            }
        );
        assert_eq!(
            err(verify(
                &value,
                "POST",
                "/signup?x=1",
                &headers,
                body,
                NOW - 61
            )),
            ReceiptError::FromTheFuture { ahead: 61 }
        );
        assert!(verify(&value, "POST", "/signup?x=1", &headers, body, NOW - 60).is_ok());
    }

    #[test]
    fn missing_repeated_forged_and_unknown() {
        let value = signer().sign(&facts(&[], &[]), NOW);
        let keys = ReceiptKeys::from_jwks(&signer().public_jwk()).expect("keys");
        let none: Vec<(String, String)> = vec![];
        let request = |headers| ReceiptRequest {
            method: "POST",
            target: "/signup?x=1",
            headers,
            body: b"{\"a\":1}",
        };
        assert_eq!(
            verify_receipt(&request(&none), &keys, 300, NOW),
            Err(ReceiptError::Missing)
        );
        let twice = vec![h(HEADER, &value), h(HEADER_KEY, &value)];
        assert_eq!(
            verify_receipt(&request(&twice), &keys, 300, NOW),
            Err(ReceiptError::Repeated)
        );
        // One changed payload character breaks the signature.
        let (head, rest) = value.split_once('.').expect("parts");
        let mut payload: Vec<char> = rest.chars().collect();
        payload[3] = if payload[3] == 'A' { 'B' } else { 'A' };
        let forged = format!("{head}.{}", payload.into_iter().collect::<String>());
        assert_eq!(
            verify("", "POST", "/signup?x=1", &[], b"", NOW).unwrap_err(),
            ReceiptError::Malformed {
                reason: "not three base64url parts joined by '.'"
            }
        );
        assert!(matches!(
            verify(&forged, "POST", "/signup?x=1", &[], b"{\"a\":1}", NOW),
            Err(ReceiptError::BadSignature | ReceiptError::Malformed { .. })
        ));
        let other = ReceiptSigner::from_seed(Zeroizing::new([8; 32]), 1).expect("key");
        let foreign = other.sign(&facts(&[], &[]), NOW);
        assert!(matches!(
            verify(&foreign, "POST", "/signup?x=1", &[], b"{\"a\":1}", NOW),
            Err(ReceiptError::UnknownKey { .. })
        ));
        // The same kid with another key's signature.
        let swapped = format!(
            "{}.{}",
            value.rsplit_once('.').expect("parts").0,
            foreign.rsplit_once('.').expect("parts").1
        );
        assert_eq!(
            verify(&swapped, "POST", "/signup?x=1", &[], b"{\"a\":1}", NOW),
            Err(ReceiptError::BadSignature)
        );
    }

    #[test]
    fn unseen_body_vouches_for_an_empty_body_only() {
        let mut f = facts(&[], &[]);
        f.body = None;
        let value = signer().sign(&f, NOW);
        let ok = verify(&value, "POST", "/signup?x=1", &[], b"", NOW).expect("empty body");
        assert!(!ok.body_bound);
        assert_eq!(
            verify(&value, "POST", "/signup?x=1", &[], b"x", NOW),
            Err(ReceiptError::Body)
        );
    }

    #[test]
    fn locations_are_capped() {
        let locations: Vec<String> = (0..200)
            .map(|i| format!("json:$['items'][{i}]['email']"))
            .collect();
        let mut f = facts(&[], &[]);
        f.locations = &locations;
        let value = signer().sign(&f, NOW);
        assert!(value.len() < 2600, "{}", value.len());
        let receipt = verify(&value, "POST", "/signup?x=1", &[], b"{\"a\":1}", NOW).expect("ok");
        assert_eq!(receipt.locations.len() as u64 + receipt.more_locations, 200);
        assert!(receipt.locations.iter().map(String::len).sum::<usize>() <= MAX_LOCATIONS_LEN);
    }

    #[test]
    fn keys_refuse_private_material_and_wrong_kids() {
        let signer = signer();
        assert!(matches!(
            ReceiptKeys::from_jwks(&signer.to_jwk()),
            Err(KeyError::PrivateKeyInPublicSet { index: 0 })
        ));
        let wrong_kid = signer.public_jwk().replace(signer.kid(), "abc");
        assert!(matches!(
            ReceiptKeys::from_jwks(&wrong_kid),
            Err(KeyError::KidMismatch { .. })
        ));
        let set = format!("{{\"keys\":[{}]}}", signer.public_jwk());
        assert_eq!(ReceiptKeys::from_jwks(&set).expect("set").keys().len(), 1);
        let x25519 =
            r#"{"kty":"OKP","crv":"X25519","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"}"#;
        assert!(matches!(
            ReceiptKeys::from_jwks(x25519),
            Err(KeyError::UnsupportedKey { .. })
        ));
        // The private JWK round-trips; a seed that does not match x is refused and the error
        // does not contain it.
        let jwk = signer.to_jwk();
        assert_eq!(
            ReceiptSigner::from_jwk(&jwk).expect("jwk").kid(),
            signer.kid()
        );
        let other = ReceiptSigner::from_seed(Zeroizing::new([9; 32]), 1).expect("key");
        let d = |j: &str| {
            j.rsplit_once("\"d\":\"")
                .expect("d")
                .1
                .trim_end_matches("\"}")
                .to_owned()
        };
        let mixed = jwk.replace(&d(&jwk), &d(&other.to_jwk()));
        let err = ReceiptSigner::from_jwk(&mixed).expect_err("mismatch");
        assert!(!err.to_string().contains(&d(&other.to_jwk())));
        assert!(!format!("{signer:?}").contains(&d(&jwk)));
        assert!(matches!(
            ReceiptSigner::from_jwk(&signer.public_jwk()),
            Err(KeyError::MissingPrivateKey { .. })
        ));
    }
}
