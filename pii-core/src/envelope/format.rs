//! The wire format (docs/envelope.md §2-§4): sizes, the value kinds, the binding, the HPKE
//! `info` and field nonce, the text form and the binary layout, and the header an envelope
//! shows without a key.

use std::fmt;

#[cfg(feature = "open")]
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
#[cfg(feature = "open")]
use base64::Engine as _;

use crate::crypto;
#[cfg(feature = "open")]
use crate::keys;
use crate::keys::HINT_LEN;
use crate::location::Location;

/// Format version written by this crate (byte 0 of the binary envelope, and the `2` of `pe2.`).
pub const VERSION: u8 = 2;
/// Text prefix of a version-2 envelope.
pub const PREFIX: &str = "pe2.";
/// Most recipients (public keys) one envelope can carry.
pub const MAX_RECIPIENTS: usize = 16;
/// Largest plaintext of one field, in bytes (1 MiB, the largest body Lambda@Edge passes).
pub const MAX_PLAINTEXT: usize = 1 << 20;
/// Most fields sealed under one data key: the field counter stays below 2^32.
pub const MAX_FIELDS: u64 = 1 << 32;
/// Longest policy name an envelope carries, in bytes.
pub const MAX_POLICY_LEN: usize = 64;
/// Longest location an envelope carries, in bytes of its binary form.
pub const MAX_LOCATION_LEN: usize = u16::MAX as usize;

/// HPKE `info` prefix; the zone follows.
pub(super) const INFO_PREFIX: &[u8] = b"pii-edge/v2 zone=";
pub(super) const ENC_LEN: usize = crypto::X25519_LEN;
pub(super) const WRAPPED_LEN: usize = crypto::KEY_LEN + crypto::TAG_LEN;
pub(super) const RECIPIENT_LEN: usize = HINT_LEN + ENC_LEN + WRAPPED_LEN;
pub(super) const COUNTER_LEN: usize = 4;
/// Binary bytes besides the zone, the recipients, the policy, the location and the plaintext:
/// version, kind, zone length, recipient count, counter, policy length, location length, tag.
pub(super) const FIXED_LEN: usize = 4 + COUNTER_LEN + 1 + 2 + crypto::TAG_LEN;

/// The JSON type (or the raw text) of a sealed value, restored on opening.
///
/// For the JSON kinds the plaintext is the exact JSON text of the value as it arrived, so
/// numbers, strings with escapes and objects come back byte for byte. A JSON string keeps its
/// quotes: `"a\u00e9"` is sealed as those 9 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueKind {
    /// Raw text of a header, query parameter, form field or cookie (byte `0`).
    Text,
    /// A JSON string, quotes included (byte `1`).
    String,
    /// A JSON number (byte `2`).
    Number,
    /// A JSON `true` or `false` (byte `3`).
    Bool,
    /// A JSON `null` (byte `4`).
    Null,
    /// A JSON object (byte `5`).
    Object,
    /// A JSON array (byte `6`).
    Array,
}

impl ValueKind {
    /// Every kind, in byte order.
    pub const ALL: [ValueKind; 7] = [
        ValueKind::Text,
        ValueKind::String,
        ValueKind::Number,
        ValueKind::Bool,
        ValueKind::Null,
        ValueKind::Object,
        ValueKind::Array,
    ];

    /// The kind byte of the envelope format.
    ///
    /// ```
    /// use pii_core::envelope::ValueKind;
    /// assert_eq!(ValueKind::Number.code(), 2);
    /// assert_eq!(ValueKind::from_code(2), Some(ValueKind::Number));
    /// assert_eq!(ValueKind::from_code(7), None);
    /// ```
    pub fn code(self) -> u8 {
        match self {
            ValueKind::Text => 0,
            ValueKind::String => 1,
            ValueKind::Number => 2,
            ValueKind::Bool => 3,
            ValueKind::Null => 4,
            ValueKind::Object => 5,
            ValueKind::Array => 6,
        }
    }

    /// The kind's name in reports and the origin packages: `text`, `string`, `number`,
    /// `bool`, `null`, `object`, `array`.
    ///
    /// ```
    /// assert_eq!(pii_core::envelope::ValueKind::Object.name(), "object");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            ValueKind::Text => "text",
            ValueKind::String => "string",
            ValueKind::Number => "number",
            ValueKind::Bool => "bool",
            ValueKind::Null => "null",
            ValueKind::Object => "object",
            ValueKind::Array => "array",
        }
    }

    /// The kind of a kind byte; `None` for an unknown byte.
    pub fn from_code(code: u8) -> Option<Self> {
        ValueKind::ALL.get(usize::from(code)).copied()
    }
}

/// Where a sealed value belongs: the policy that sealed it, the residency zone whose regions may
/// open it, and its [`Location`] in the request. An envelope carries its binding, authenticated:
/// [`open`] returns it, and [`open_expecting`] refuses a value whose binding is not the expected
/// one (for example a value copied to another field).
///
/// ```
/// use pii_core::{envelope::Binding, Location, location::Part};
/// let b = Binding::new("profile", "eu-central", Location::field(Part::Header, "x-national-id", 0));
/// assert_eq!(b.location.to_string(), "header:x-national-id");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Binding {
    /// Name of the policy that sealed the value (1 to 64 of `A-Z a-z 0-9 . _ -`).
    pub policy: String,
    /// Residency zone whose regions may open the value (1 to 64 of `a-z 0-9 -`).
    pub zone: String,
    /// Where the value was in the request when it was sealed.
    pub location: Location,
}

impl Binding {
    /// A binding of `policy`, `zone` and `location`.
    pub fn new(policy: impl Into<String>, zone: impl Into<String>, location: Location) -> Self {
        Binding {
            policy: policy.into(),
            zone: zone.into(),
            location,
        }
    }
}

/// True for a policy name an envelope can carry: 1 to 64 of `A-Z a-z 0-9 . _ -`.
pub(crate) fn is_valid_policy_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_POLICY_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// HPKE `info` of the data-key wraps: `"pii-edge/v2 zone="` || zone.
pub(super) fn hpke_info(zone: &[u8]) -> Vec<u8> {
    let mut info = Vec::with_capacity(INFO_PREFIX.len() + zone.len());
    info.extend_from_slice(INFO_PREFIX);
    info.extend_from_slice(zone);
    info
}

/// The AES-GCM nonce of field number `counter`: 8 zero bytes || counter (32 bits, big-endian).
pub(super) fn field_nonce(counter: u32) -> [u8; crypto::NONCE_LEN] {
    let mut nonce = [0u8; crypto::NONCE_LEN];
    nonce[8..].copy_from_slice(&counter.to_be_bytes());
    nonce
}

/// Appends the per-field part of the header: counter || policy length || policy || location
/// length (2 bytes) || location. `None` when the policy name or the location breaks its limit.
pub(super) fn push_field_header(
    out: &mut Vec<u8>,
    counter: u32,
    policy: &str,
    location: &Location,
) -> Option<()> {
    if !is_valid_policy_name(policy) {
        return None;
    }
    out.extend_from_slice(&counter.to_be_bytes());
    out.push(u8::try_from(policy.len()).ok()?);
    out.extend_from_slice(policy.as_bytes());
    let at = out.len();
    out.extend_from_slice(&[0, 0]);
    location.write_binary(out)?;
    let len = u16::try_from(out.len() - at - 2).ok()?;
    out[at..at + 2].copy_from_slice(&len.to_be_bytes());
    Some(())
}

/// True when `s` looks like an envelope of any version: `pe`, 1 to 3 decimal digits, `.`.
///
/// Whatever looks like an envelope is to be opened, and either opens or fails with an
/// [`OpenError`] (`pe0.`, `pe01.` or a payload with `=` padding is [`OpenError::Malformed`],
/// `pe1.` or `pe3.` is [`OpenError::UnsupportedVersion`]): an opener never leaves such text in
/// place as if it were plaintext.
///
/// A syntactic check that needs no key. **Never** use it at the edge to skip sealing a value:
/// the request is the attacker's, and anyone can send a string that looks sealed.
///
/// ```
/// use pii_core::envelope::is_envelope;
/// assert!(!is_envelope("alice@example.com"));
/// assert!(!is_envelope("pe.x"));
/// assert!(is_envelope("pe2.AAAA"));
/// assert!(is_envelope("pe01.AAAA")); // looks like one; opening says Malformed
/// ```
pub fn is_envelope(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("pe") else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    (1..=3).contains(&digits) && rest.as_bytes().get(digits) == Some(&b'.')
}

/// Split `pe<digits>.<payload>` into the version and the payload: `Malformed` unless the
/// digits are 1 to 3 decimal digits without a leading zero (and not `0`) and the payload is
/// non-empty unpadded base64url of a possible length.
#[cfg(test)]
pub(super) fn split_text(s: &str) -> Result<(u16, &str), OpenError> {
    let (version, payload) = split_version(s)?;
    if !payload_ok(payload) {
        return Err(OpenError::Malformed);
    }
    Ok((version, payload))
}

/// The version digits of `pe<digits>.<payload>` ([`split_text`] without the payload check).
#[cfg(any(test, feature = "open"))]
pub(super) fn split_version(s: &str) -> Result<(u16, &str), OpenError> {
    let rest = s.strip_prefix("pe").ok_or(OpenError::Malformed)?;
    let (version, payload) = rest.split_once('.').ok_or(OpenError::Malformed)?;
    let digits_ok = !version.is_empty()
        && version.len() <= 3
        && !version.starts_with('0')
        && version.bytes().all(|b| b.is_ascii_digit());
    if !digits_ok {
        return Err(OpenError::Malformed);
    }
    Ok((version.parse().map_err(|_| OpenError::Malformed)?, payload))
}

/// Non-empty unpadded base64url of a possible length.
#[cfg(any(test, feature = "open"))]
pub(super) fn payload_ok(payload: &str) -> bool {
    !payload.is_empty()
        && payload.len() % 4 != 1
        && payload
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A parsed version-2 envelope.
#[cfg(feature = "open")]
pub(super) struct Parsed<'a> {
    pub(super) kind: ValueKind,
    pub(super) zone: &'a str,
    /// hint || enc || wrapped, per recipient.
    pub(super) recipients: Vec<&'a [u8]>,
    pub(super) counter: u32,
    pub(super) policy: &'a str,
    pub(super) location: Location,
    /// The associated data: every byte before the ciphertext.
    pub(super) aad: &'a [u8],
    pub(super) ct: &'a [u8],
}

/// Parse the binary form of a version-2 envelope.
#[cfg(feature = "open")]
pub(super) fn parse_binary(binary: &[u8]) -> Result<Parsed<'_>, OpenError> {
    let (&version, rest) = binary.split_first().ok_or(OpenError::Malformed)?;
    if version != VERSION {
        return Err(OpenError::Malformed);
    }
    let (&kind, rest) = rest.split_first().ok_or(OpenError::Malformed)?;
    let kind = ValueKind::from_code(kind).ok_or(OpenError::Malformed)?;
    let (&zone_len, rest) = rest.split_first().ok_or(OpenError::Malformed)?;
    let (zone, rest) = split(rest, usize::from(zone_len))?;
    let zone = std::str::from_utf8(zone)
        .ok()
        .filter(|z| keys::is_valid_zone(z))
        .ok_or(OpenError::Malformed)?;
    let (&count, rest) = rest.split_first().ok_or(OpenError::Malformed)?;
    let count = usize::from(count);
    if count == 0 || count > MAX_RECIPIENTS {
        return Err(OpenError::Malformed);
    }
    let (block, rest) = split(rest, count * RECIPIENT_LEN)?;
    let (counter, rest) = rest
        .split_first_chunk::<COUNTER_LEN>()
        .ok_or(OpenError::Malformed)?;
    let counter = u32::from_be_bytes(*counter);
    let (&policy_len, rest) = rest.split_first().ok_or(OpenError::Malformed)?;
    let (policy, rest) = split(rest, usize::from(policy_len))?;
    let policy = std::str::from_utf8(policy)
        .ok()
        .filter(|p| is_valid_policy_name(p))
        .ok_or(OpenError::Malformed)?;
    let (location_len, rest) = rest.split_first_chunk::<2>().ok_or(OpenError::Malformed)?;
    let (location, ct) = split(rest, usize::from(u16::from_be_bytes(*location_len)))?;
    let location = Location::from_binary(location).ok_or(OpenError::Malformed)?;
    if ct.len() < crypto::TAG_LEN || ct.len() > MAX_PLAINTEXT + crypto::TAG_LEN {
        return Err(OpenError::Malformed);
    }
    Ok(Parsed {
        kind,
        zone,
        recipients: block.chunks_exact(RECIPIENT_LEN).collect(),
        counter,
        policy,
        location,
        aad: binary
            .get(..binary.len() - ct.len())
            .ok_or(OpenError::Malformed)?,
        ct,
    })
}

#[cfg(feature = "open")]
pub(super) fn split(bytes: &[u8], at: usize) -> Result<(&[u8], &[u8]), OpenError> {
    if bytes.len() < at {
        return Err(OpenError::Malformed);
    }
    Ok(bytes.split_at(at))
}

/// Decode envelope text into its binary form (version 2 only).
#[cfg(any(test, feature = "open"))]
pub(super) fn decode_text(text: &str) -> Result<Vec<u8>, OpenError> {
    let (version, payload) = split_version(text)?;
    if version != u16::from(VERSION) {
        return Err(if payload_ok(payload) {
            OpenError::UnsupportedVersion
        } else {
            OpenError::Malformed
        });
    }
    // No separate scan of the payload's characters (`payload_ok`): the strict decoder below
    // rejects every payload that fails it (another character, padding, an impossible length,
    // empty: nothing parses), with the same `Malformed`. The scan cost a third of opening a
    // field whose data key is cached (benches/README.md, "Bulk operations").
    if payload.is_empty() {
        return Err(OpenError::Malformed);
    }
    let max_binary = FIXED_LEN
        + keys::MAX_NAME_LEN
        + RECIPIENT_LEN * MAX_RECIPIENTS
        + MAX_POLICY_LEN
        + MAX_LOCATION_LEN
        + MAX_PLAINTEXT;
    if payload.len() > (max_binary * 4).div_ceil(3) {
        return Err(OpenError::Malformed);
    }
    // Strict decoding: no padding, no non-zero trailing bits, so each envelope has one text.
    // The binary is the envelope as stored (ciphertext and header): nothing to wipe.
    URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| OpenError::Malformed)
}

/// What an envelope says without a key (feature `open`): the value's kind, the binding it was
/// sealed with (policy, zone, location) and which keys can open it. All of this is in the
/// envelope's header in the clear (docs/envelope.md §3, §8): reading it needs no key and
/// authenticates nothing, so use it to explain and to count (why [`OpenError::NoKey`], which
/// stored fields a rotation must rewrap), never to decide what a value is.
#[cfg(feature = "open")]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Header {
    /// The value's JSON type, or text.
    pub kind: ValueKind,
    /// The policy, zone and location it was sealed under (not authenticated by this call).
    pub binding: Binding,
    /// Per recipient, the first 10 characters of its key id (RFC 7638 thumbprint in base64url,
    /// as `pii-edge keygen` prints it), from the 8-byte hint of §2.2: the key ids that can open
    /// the envelope start with these.
    pub recipient_kid_prefixes: Vec<String>,
}

/// Read an envelope's [`Header`] without opening it (feature `open`): `Malformed` or
/// `UnsupportedVersion` as [`open`] would say.
///
/// ```
/// use pii_core::envelope::{header, Binding, TestSealer, ValueKind};
/// use pii_core::{Location, location::Part, keys::PrivateKey, PrivateKeyring};
/// let mut keys = PrivateKeyring::new();
/// keys.push(PrivateKey::generate("eu-central", "eu-central-1", 1)?);
/// let public = keys.public();
/// let kid = public.keys()[0].kid().to_owned();
/// let mut sealer = TestSealer::new(&public.recipients("eu-central")?, "eu-central")?;
/// let at = Binding::new("profile", "eu-central", Location::field(Part::Header, "x-id", 0));
/// let sealed = sealer.seal(&at, ValueKind::Text, b"DE-4711")?;
///
/// let h = header(&sealed)?;
/// assert_eq!(h.binding, at);
/// assert!(kid.starts_with(&h.recipient_kid_prefixes[0]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "open")]
pub fn header(text: &str) -> Result<Header, OpenError> {
    let binary = decode_text(text)?;
    let env = parse_binary(&binary)?;
    Ok(Header {
        kind: env.kind,
        binding: Binding::new(env.policy, env.zone, env.location.clone()),
        recipient_kid_prefixes: env
            .recipients
            .iter()
            .map(|r| {
                let mut prefix = URL_SAFE_NO_PAD.encode(&r[..HINT_LEN]);
                prefix.truncate(10);
                prefix
            })
            .collect(),
    })
}

/// Why an envelope did not open. Deliberately terse: no plaintext, no key material, and no
/// detail that would help an attacker tell one authentication failure from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenError {
    /// Not a well-formed envelope (`pe<version>.` followed by something that is not a version-2
    /// envelope, a version spelled `0` or with a leading zero, padding, bad characters).
    Malformed,
    /// A well-formed envelope of a format version this crate does not open (`pe1.`, `pe3.`).
    UnsupportedVersion,
    /// Sealed for another residency zone than the expected one ([`open_expecting`]).
    WrongZone,
    /// No private key of the keyring is a recipient of the envelope.
    NoKey,
    /// Changed after sealing, or not sealed to this key.
    Tampered,
    /// Authentic, but sealed by another policy than the expected one ([`open_expecting`]).
    WrongPolicy,
    /// Authentic, but sealed for another location than the expected one ([`open_expecting`]):
    /// the value was moved.
    WrongLocation,
    /// A field at rest (`pr1.`, docs/at-rest.md) of a data subject who was erased: its subject
    /// key is destroyed, the field never opens again. Reported by
    /// `reveal_at_rest` (feature `open`), never by an envelope.
    Erased,
}

impl OpenError {
    /// The error's name in `docs/envelope.md` and the test vectors (`Malformed`, `NoKey`, ...).
    pub fn name(self) -> &'static str {
        match self {
            OpenError::Malformed => "Malformed",
            OpenError::UnsupportedVersion => "UnsupportedVersion",
            OpenError::WrongZone => "WrongZone",
            OpenError::NoKey => "NoKey",
            OpenError::Tampered => "Tampered",
            OpenError::WrongPolicy => "WrongPolicy",
            OpenError::WrongLocation => "WrongLocation",
            OpenError::Erased => "Erased",
        }
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OpenError::Malformed => "malformed envelope",
            OpenError::UnsupportedVersion => "unsupported envelope version",
            OpenError::WrongZone => "envelope sealed for another zone",
            OpenError::NoKey => "no private key for this envelope",
            OpenError::Tampered => "envelope failed authentication",
            OpenError::WrongPolicy => "envelope sealed by another policy",
            OpenError::WrongLocation => "envelope sealed for another location",
            OpenError::Erased => "the data subject was erased: their key is destroyed",
        })
    }
}

impl std::error::Error for OpenError {}
