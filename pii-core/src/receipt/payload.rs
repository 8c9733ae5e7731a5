//! The receipt header, its limits, and the signed payload: what the edge forwarded, bound to
//! the request by digests (docs/receipt.md §2-§3).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::crypto::{self};

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
pub(super) const ALG: &str = "EdDSA";

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
    /// The forwarded headers, `(name, value)` in order (names in any case). Only those named
    /// in `bound_headers` are read: a caller may pass just those.
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
pub(super) struct SubIdMember {
    pub(super) format: String,
    pub(super) iss: String,
    pub(super) sub: String,
}

/// The receipt payload (JSON object; members written in this order).
#[derive(Serialize, Deserialize)]
pub(super) struct Payload {
    pub(super) v: u64,
    pub(super) iat: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) rid: Option<String>,
    pub(super) pol: Option<String>,
    pub(super) zone: Option<String>,
    pub(super) m: String,
    pub(super) t: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) b: Option<String>,
    pub(super) hn: Vec<String>,
    pub(super) h: String,
    pub(super) loc: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(super) more: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) sub_id: Option<SubIdMember>,
}

pub(super) fn is_zero(n: &u64) -> bool {
    *n == 0
}

pub(super) fn digest(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(crypto::sha256(data))
}

/// The sorted, deduplicated lower-case names.
pub(super) fn header_names(names: &[String]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    names.sort();
    names.dedup();
    names
}

/// The header block whose SHA-256 is `h`: for each name of `names` (sorted) that the request
/// carries, `name ":" value LF`, where `value` is every value of that name in order, each with
/// leading and trailing spaces and tabs removed, joined by `"; "` for `cookie` and `", "` for
/// any other name (how HTTP servers and frameworks combine repeated fields).
pub(super) fn header_block<N: AsRef<str>, V: AsRef<str>>(
    names: &[String],
    headers: &[(N, V)],
) -> Vec<u8> {
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
    pub(super) fn of(facts: &ReceiptFacts<'_>, issued_at: u64) -> Payload {
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
