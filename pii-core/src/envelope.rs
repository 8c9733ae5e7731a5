//! Envelopes: the sealed form of one field value, and tokens and hashes.
//!
//! A request is sealed with one fresh random 32-byte data key. The data key is wrapped once per
//! recipient (one public key per region of the residency zone) with RFC 9180 HPKE, base mode,
//! DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM. Each field is AES-256-GCM under the
//! data key, with a counter nonce and associated data that binds the policy, the field's
//! location, the zone, the value kind and the recipients. The envelope text is
//! `pe1.` + base64url (no padding) of the binary envelope, so it fits unescaped in a JSON
//! string, a header, a form field and a query parameter.
//!
//! `docs/envelope.md` specifies every byte; this module is its reference implementation.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use zeroize::Zeroize as _;
#[cfg(any(test, feature = "open"))]
use zeroize::Zeroizing;

use crate::crypto;
use crate::keys::{self, PublicKey, HINT_LEN};
#[cfg(feature = "open")]
use crate::keys::{PrivateKey, PrivateKeyring};

/// Format version written by this crate (byte 0 of the binary envelope, and the `1` of `pe1.`).
pub const VERSION: u8 = 1;
/// Text prefix of a version-1 envelope.
pub const PREFIX: &str = "pe1.";
/// Most recipients (public keys) one envelope can carry.
pub const MAX_RECIPIENTS: usize = 16;
/// Largest plaintext of one field, in bytes (1 MiB, the largest body Lambda@Edge passes).
pub const MAX_PLAINTEXT: usize = 1 << 20;
/// Most fields sealed under one data key (one request): the field counter stays below 2^32.
pub const MAX_FIELDS: u64 = 1 << 32;

/// HPKE `info` prefix; the zone follows.
const INFO_PREFIX: &[u8] = b"pii-edge/v1 zone=";
const ENC_LEN: usize = crypto::X25519_LEN;
const WRAPPED_LEN: usize = crypto::KEY_LEN + crypto::TAG_LEN;
const RECIPIENT_LEN: usize = HINT_LEN + ENC_LEN + WRAPPED_LEN;
const COUNTER_LEN: usize = 8;
/// Binary bytes besides the zone, the recipients and the plaintext: version, kind, zone
/// length, recipient count, counter, tag.
const FIXED_LEN: usize = 4 + COUNTER_LEN + crypto::TAG_LEN;

/// The JSON type (or the raw text) of a sealed value, restored on opening.
///
/// For the JSON kinds the plaintext is the exact JSON text of the value as it arrived, so
/// numbers, strings with escapes and objects come back byte for byte. A JSON string keeps its
/// quotes: `"a\u00e9"` is sealed as those 9 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

    /// The kind of a kind byte; `None` for an unknown byte.
    pub fn from_code(code: u8) -> Option<Self> {
        ValueKind::ALL.get(usize::from(code)).copied()
    }
}

/// Where a sealed value belongs. All three are bound into the field's associated data: an
/// envelope opens only with the binding it was sealed with.
///
/// `location` names the exact position of the value (for example the normalized JSONPath
/// `$['user']['email']`, or `header:x-user-email`), so a value copied to another field does
/// not open there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding<'a> {
    /// Name of the policy that sealed the value.
    pub policy: &'a str,
    /// Location of the value in the request.
    pub location: &'a str,
    /// Residency zone whose regions may open the value.
    pub zone: &'a str,
}

/// Why sealing failed. The engine turns these into a rejected request, never into a
/// plaintext one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealError {
    /// No recipient key: the zone has no public key.
    NoRecipients,
    /// More than [`MAX_RECIPIENTS`] recipient keys.
    TooManyRecipients {
        /// How many were given.
        count: usize,
    },
    /// The same key was given twice.
    DuplicateRecipient {
        /// Its key id.
        kid: String,
    },
    /// A recipient key belongs to another zone than the one sealed for.
    RecipientZone {
        /// Its key id.
        kid: String,
    },
    /// The zone name breaks the naming rule (1 to 64 of `a-z`, `0-9`, `-`).
    InvalidZone,
    /// The binding's zone is not the zone of the sealer.
    ZoneMismatch,
    /// The policy name or location is longer than 65535 bytes.
    BindingTooLong,
    /// The plaintext is larger than [`MAX_PLAINTEXT`].
    PlaintextTooLarge {
        /// Its size in bytes.
        len: usize,
    },
    /// The sealer has sealed [`MAX_FIELDS`] fields; use a new one.
    CounterExhausted,
    /// The operating system's random number generator failed.
    Random,
    /// A recipient public key is unusable (a small-order X25519 point).
    BadRecipientKey {
        /// Its key id.
        kid: String,
    },
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SealError::NoRecipients => f.write_str("no recipient key to seal to"),
            SealError::TooManyRecipients { count } => write!(
                f,
                "{count} recipient keys: at most {MAX_RECIPIENTS} regions per zone"
            ),
            SealError::DuplicateRecipient { kid } => write!(f, "recipient key {kid} given twice"),
            SealError::RecipientZone { kid } => {
                write!(f, "recipient key {kid} belongs to another zone")
            }
            SealError::InvalidZone => {
                f.write_str("invalid zone name: use 1 to 64 characters from a-z, 0-9 and '-'")
            }
            SealError::ZoneMismatch => f.write_str("binding zone differs from the sealer's zone"),
            SealError::BindingTooLong => {
                f.write_str("policy name or location longer than 65535 bytes")
            }
            SealError::PlaintextTooLarge { len } => write!(
                f,
                "value of {len} bytes is larger than the {MAX_PLAINTEXT}-byte limit"
            ),
            SealError::CounterExhausted => {
                f.write_str("this request sealed 2^32 fields: start a new sealer")
            }
            SealError::Random => f.write_str("the system random number generator failed"),
            SealError::BadRecipientKey { kid } => {
                write!(f, "recipient key {kid} is not a usable X25519 public key")
            }
        }
    }
}

impl std::error::Error for SealError {}

/// Why an envelope did not open. Deliberately terse: no plaintext, no key material, and no
/// detail that would help an attacker tell one authentication failure from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenError {
    /// Not a well-formed envelope.
    Malformed,
    /// An envelope of a format version this crate does not know.
    UnsupportedVersion,
    /// The envelope was sealed for another residency zone than the binding's.
    WrongZone,
    /// No private key of the keyring is a recipient of the envelope.
    NoKey,
    /// Tampered, moved to another binding, or not sealed to this key.
    Authentication,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OpenError::Malformed => "malformed envelope",
            OpenError::UnsupportedVersion => "unsupported envelope version",
            OpenError::WrongZone => "envelope sealed for another zone",
            OpenError::NoKey => "no private key for this envelope",
            OpenError::Authentication => "envelope failed authentication",
        })
    }
}

impl std::error::Error for OpenError {}

/// HPKE `info` of the data-key wraps: `"pii-edge/v1 zone="` || zone.
fn hpke_info(zone: &[u8]) -> Vec<u8> {
    let mut info = Vec::with_capacity(INFO_PREFIX.len() + zone.len());
    info.extend_from_slice(INFO_PREFIX);
    info.extend_from_slice(zone);
    info
}

/// The AES-GCM nonce of field number `counter`: 4 zero bytes || counter, big-endian.
fn field_nonce(counter: u64) -> [u8; crypto::NONCE_LEN] {
    let mut nonce = [0u8; crypto::NONCE_LEN];
    nonce[4..].copy_from_slice(&counter.to_be_bytes());
    nonce
}

fn push_u16_prefixed(out: &mut Vec<u8>, bytes: &[u8]) -> Option<()> {
    let len = u16::try_from(bytes.len()).ok()?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Some(())
}

/// The field's associated data: version || u16 policy || u16 location || u16 zone || kind ||
/// recipient count || key id hints (u16 = 2-byte big-endian length, then the bytes).
///
/// The opener's form; the sealer assembles the same bytes from parts it keeps (checked by
/// the unit test `sealer_aad_is_field_aad`).
#[cfg(any(test, feature = "open"))]
fn field_aad(
    policy: &[u8],
    location: &[u8],
    zone: &[u8],
    kind: u8,
    hints: &[[u8; HINT_LEN]],
) -> Option<Vec<u8>> {
    let mut aad = Vec::with_capacity(
        1 + 6 + policy.len() + location.len() + zone.len() + 2 + hints.len() * HINT_LEN,
    );
    aad.push(VERSION);
    push_u16_prefixed(&mut aad, policy)?;
    push_u16_prefixed(&mut aad, location)?;
    push_u16_prefixed(&mut aad, zone)?;
    aad.push(kind);
    aad.push(u8::try_from(hints.len()).ok()?);
    for hint in hints {
        aad.extend_from_slice(hint);
    }
    Some(aad)
}

/// Length in characters of the envelope text of a `plaintext_len`-byte value sealed for
/// `zone` to `recipients` keys: `4 + ceil(4 * binary / 3)` with
/// `binary = 28 + zone.len() + 88 * recipients + plaintext_len`.
///
/// The engine uses it to refuse a body that would outgrow a Lambda@Edge limit before sealing.
///
/// ```
/// // A 20-character email, sealed as a JSON string (22 bytes with its quotes), two regions.
/// assert_eq!(pii_core::envelope::sealed_len("eu-central", 2, 22), 319);
/// ```
pub fn sealed_len(zone: &str, recipients: usize, plaintext_len: usize) -> usize {
    let binary = FIXED_LEN + zone.len() + RECIPIENT_LEN * recipients + plaintext_len;
    PREFIX.len() + (binary * 4).div_ceil(3)
}

/// Seals the fields of one request: one data key, wrapped once per recipient when the sealer
/// is made, then one AES-256-GCM per field. The data key is wiped on drop.
///
/// Everything of an envelope that is the same for every field (the binary header with the
/// recipients and its base64url text, the zone and recipient part of the associated data) is
/// built once here; a field costs its associated data, one AES-GCM and the base64url of its
/// counter and ciphertext, written straight into the caller's buffer.
pub(crate) struct Sealer {
    /// The data key expanded for AES-GCM once, not per field. (The raw data key is wiped when
    /// `new` returns; ring does not wipe its expanded key schedule, see docs/threat-model.md.)
    aead: crypto::SealingKey,
    zone: String,
    /// How many recipients (regions) each envelope carries.
    recipient_count: usize,
    /// The binary header's bytes after version, kind and zone length that fill whole 3-byte
    /// groups, as base64url text: the 4 characters of the first group (which holds the kind)
    /// come before it, and the header's last `tail.len()` bytes go with the counter.
    head_text: Vec<u8>,
    /// Version, a placeholder kind and the zone length: the first 3-byte group of the header.
    head_first: [u8; 3],
    /// The header's last 0 to 2 bytes, which share a base64 group with the counter.
    tail: Vec<u8>,
    /// The associated data after the location: u16 zone length || zone.
    aad_zone: Vec<u8>,
    /// The associated data after the kind: recipient count || key id hints.
    aad_hints: Vec<u8>,
    /// Reused per field: the associated data.
    aad: Vec<u8>,
    /// Reused per field: header tail || counter || ciphertext || tag. Holds plaintext only
    /// while it is encrypted in place (and is wiped if that fails), never after `seal` returns.
    binary: Vec<u8>,
    counter: u64,
}

impl Sealer {
    /// A sealer for `zone` to `recipients` (normally [`keys::PublicKeyring::recipients`]).
    /// This is where the public-key work happens: one HPKE encapsulation (one ephemeral X25519
    /// key and one agreement) per recipient, and none per field.
    pub(crate) fn new(recipients: &[&PublicKey], zone: &str) -> Result<Self, SealError> {
        if !keys::is_valid_zone(zone) {
            return Err(SealError::InvalidZone);
        }
        if recipients.is_empty() {
            return Err(SealError::NoRecipients);
        }
        let count = u8::try_from(recipients.len())
            .ok()
            .filter(|n| usize::from(*n) <= MAX_RECIPIENTS)
            .ok_or(SealError::TooManyRecipients {
                count: recipients.len(),
            })?;
        for (i, key) in recipients.iter().enumerate() {
            if key.zone() != zone {
                return Err(SealError::RecipientZone {
                    kid: key.kid().to_owned(),
                });
            }
            if recipients[..i].iter().any(|k| k.kid() == key.kid()) {
                return Err(SealError::DuplicateRecipient {
                    kid: key.kid().to_owned(),
                });
            }
        }
        // Validated above: 1 to 64 bytes.
        let zone_len = u8::try_from(zone.len()).map_err(|_| SealError::InvalidZone)?;
        let dk = crypto::random_key().map_err(|_| SealError::Random)?;
        let info = hpke_info(zone.as_bytes());
        // The binary envelope up to the counter (the kind byte is filled in per field).
        let mut head = Vec::with_capacity(4 + zone.len() + RECIPIENT_LEN * recipients.len());
        head.extend_from_slice(&[VERSION, 0, zone_len]);
        head.extend_from_slice(zone.as_bytes());
        head.push(count);
        for key in recipients {
            let (enc, wrapped) = crypto::hpke_seal(key.x(), &info, key.kid().as_bytes(), &*dk)
                .map_err(|e| match e {
                    crypto::CryptoError::Random => SealError::Random,
                    _ => SealError::BadRecipientKey {
                        kid: key.kid().to_owned(),
                    },
                })?;
            head.extend_from_slice(key.hint());
            head.extend_from_slice(&enc);
            head.extend_from_slice(&wrapped);
        }
        let aead = crypto::SealingKey::new(&dk).map_err(|_| SealError::Random)?;
        // base64url(a || b) = base64url(a) || base64url(b) when a is whole 3-byte groups.
        // The header is at least 4 + 1 + RECIPIENT_LEN bytes: `rest` is never empty.
        let whole = head.len() - head.len() % 3;
        let rest = head.get(3..whole).ok_or(SealError::NoRecipients)?;
        let tail = head.get(whole..).unwrap_or_default();
        let mut aad_zone = Vec::with_capacity(2 + zone.len());
        push_u16_prefixed(&mut aad_zone, zone.as_bytes()).ok_or(SealError::InvalidZone)?;
        let mut aad_hints = Vec::with_capacity(1 + HINT_LEN * recipients.len());
        aad_hints.push(count);
        for key in recipients {
            aad_hints.extend_from_slice(key.hint());
        }
        Ok(Sealer {
            aead,
            zone: zone.to_owned(),
            recipient_count: recipients.len(),
            head_text: URL_SAFE_NO_PAD.encode(rest).into_bytes(),
            head_first: [VERSION, 0, zone_len],
            tail: tail.to_vec(),
            aad_zone,
            aad_hints,
            aad: Vec::new(),
            binary: Vec::new(),
            counter: 0,
        })
    }

    /// Length of the envelope text of a `plaintext_len`-byte value from this sealer.
    pub(crate) fn sealed_len(&self, plaintext_len: usize) -> usize {
        sealed_len(&self.zone, self.recipient_count, plaintext_len)
    }

    /// Seal one value and append its envelope text (`pe1.` + base64url, never in need of any
    /// escaping) to `out`. Each call uses the next field counter. On error `out` is left as it
    /// was.
    pub(crate) fn seal_into(
        &mut self,
        binding: &Binding<'_>,
        kind: ValueKind,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SealError> {
        if binding.zone != self.zone {
            return Err(SealError::ZoneMismatch);
        }
        if plaintext.len() > MAX_PLAINTEXT {
            return Err(SealError::PlaintextTooLarge {
                len: plaintext.len(),
            });
        }
        if self.counter >= MAX_FIELDS {
            return Err(SealError::CounterExhausted);
        }
        // The associated data, as `field_aad` lays it out.
        self.aad.clear();
        self.aad.push(VERSION);
        push_u16_prefixed(&mut self.aad, binding.policy.as_bytes())
            .ok_or(SealError::BindingTooLong)?;
        push_u16_prefixed(&mut self.aad, binding.location.as_bytes())
            .ok_or(SealError::BindingTooLong)?;
        self.aad.extend_from_slice(&self.aad_zone);
        self.aad.push(kind.code());
        self.aad.extend_from_slice(&self.aad_hints);

        let counter = self.counter;
        // The counter moves on before anything else can fail: a nonce is never used twice.
        self.counter += 1;
        // Room for the tag too, so the buffer holding the plaintext is never reallocated.
        let from = self.tail.len() + COUNTER_LEN;
        self.binary.clear();
        self.binary
            .reserve(from + plaintext.len() + crypto::TAG_LEN);
        self.binary.extend_from_slice(&self.tail);
        self.binary.extend_from_slice(&counter.to_be_bytes());
        self.binary.extend_from_slice(plaintext);
        // ring refuses only inputs too long for AES-GCM, far above MAX_PLAINTEXT.
        if self
            .aead
            .seal_in_place(field_nonce(counter), &self.aad, &mut self.binary, from)
            .is_err()
        {
            self.binary.zeroize();
            return Err(SealError::PlaintextTooLarge {
                len: plaintext.len(),
            });
        }

        let mut first = self.head_first;
        first[1] = kind.code();
        let start = out.len();
        out.reserve(self.sealed_len(plaintext.len()));
        out.extend_from_slice(PREFIX.as_bytes());
        let mut first_text = [0u8; 4];
        let encoded = URL_SAFE_NO_PAD
            .encode_slice(first, &mut first_text)
            .is_ok_and(|n| n == first_text.len());
        out.extend_from_slice(&first_text);
        out.extend_from_slice(&self.head_text);
        let at = out.len();
        let len = base64::encoded_len(self.binary.len(), false).unwrap_or(0);
        out.resize(at + len, 0);
        let encoded = encoded
            && out.get_mut(at..).is_some_and(|dst| {
                URL_SAFE_NO_PAD
                    .encode_slice(&self.binary, dst)
                    .is_ok_and(|n| n == len)
            });
        if !encoded {
            // Cannot happen (the lengths are computed above); never leave half an envelope.
            out.truncate(start);
            return Err(SealError::PlaintextTooLarge {
                len: plaintext.len(),
            });
        }
        Ok(())
    }

    /// Seal one value; returns its envelope text. Each call uses the next field counter.
    pub(crate) fn seal(
        &mut self,
        binding: &Binding<'_>,
        kind: ValueKind,
        plaintext: &[u8],
    ) -> Result<String, SealError> {
        let mut out = Vec::new();
        self.seal_into(binding, kind, plaintext, &mut out)?;
        // Base64url text: always ASCII.
        String::from_utf8(out).map_err(|_| SealError::PlaintextTooLarge {
            len: plaintext.len(),
        })
    }

    #[cfg(all(test, feature = "open"))]
    fn set_counter(&mut self, counter: u64) {
        self.counter = counter;
    }
}

/// Seals values outside the policy engine, for tests and test vectors only.
///
/// Not part of the stable API: the engine's `encrypt` action is the way to seal. It wraps the
/// crate's sealer unchanged (one data key per `TestSealer`).
#[doc(hidden)]
pub struct TestSealer(Sealer);

impl TestSealer {
    /// See the crate's sealer: one HPKE encapsulation per recipient.
    pub fn new(recipients: &[&PublicKey], zone: &str) -> Result<Self, SealError> {
        Sealer::new(recipients, zone).map(TestSealer)
    }

    /// Seal one value.
    pub fn seal(
        &mut self,
        binding: &Binding<'_>,
        kind: ValueKind,
        plaintext: &[u8],
    ) -> Result<String, SealError> {
        self.0.seal(binding, kind, plaintext)
    }
}

/// True when `s` has the form of an envelope of any version: `pe<version>.` followed by
/// base64url (no padding), long enough for a version-1 envelope when the version is 1.
///
/// A syntactic check that needs no key, for finding sealed values (for example before
/// opening). **Never** use it at the edge to skip sealing a value: the request is the
/// attacker's, and anyone can send a string that looks sealed.
///
/// ```
/// use pii_core::envelope::is_envelope;
/// assert!(!is_envelope("alice@example.com"));
/// assert!(!is_envelope("pe1.short"));
/// assert!(is_envelope(&format!("pe1.{}", "A".repeat(200))));
/// assert!(is_envelope("pe2.AAAA")); // a future version: open() says UnsupportedVersion
/// ```
pub fn is_envelope(s: &str) -> bool {
    let Some((version, payload)) = split_text(s) else {
        return false;
    };
    if version == "1" {
        let min = FIXED_LEN + 1 + RECIPIENT_LEN;
        return payload.len() >= (min * 4).div_ceil(3);
    }
    true
}

/// Split `pe<digits>.<payload>` into the version digits and the payload; `None` unless the
/// digits are 1 to 3 decimal digits without a leading zero and the payload is non-empty
/// unpadded base64url of a possible length.
fn split_text(s: &str) -> Option<(&str, &str)> {
    let rest = s.strip_prefix("pe")?;
    let (version, payload) = rest.split_once('.')?;
    let digits_ok = !version.is_empty()
        && version.len() <= 3
        && !version.starts_with('0')
        && version.bytes().all(|b| b.is_ascii_digit());
    let payload_ok = !payload.is_empty()
        && payload.len() % 4 != 1
        && payload
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (digits_ok && payload_ok).then_some((version, payload))
}

/// A parsed version-1 envelope.
#[cfg(feature = "open")]
struct Parsed<'a> {
    kind: ValueKind,
    zone: &'a [u8],
    /// hint || enc || wrapped, per recipient.
    recipients: Vec<&'a [u8]>,
    counter: u64,
    ct: &'a [u8],
}

/// Parse the binary form of a version-1 envelope.
#[cfg(feature = "open")]
fn parse_binary(binary: &[u8]) -> Result<Parsed<'_>, OpenError> {
    let (&version, rest) = binary.split_first().ok_or(OpenError::Malformed)?;
    if version != VERSION {
        return Err(OpenError::Malformed);
    }
    let (&kind, rest) = rest.split_first().ok_or(OpenError::Malformed)?;
    let kind = ValueKind::from_code(kind).ok_or(OpenError::Malformed)?;
    let (&zone_len, rest) = rest.split_first().ok_or(OpenError::Malformed)?;
    let (zone, rest) = split(rest, usize::from(zone_len))?;
    if !std::str::from_utf8(zone).is_ok_and(keys::is_valid_zone) {
        return Err(OpenError::Malformed);
    }
    let (&count, rest) = rest.split_first().ok_or(OpenError::Malformed)?;
    let count = usize::from(count);
    if count == 0 || count > MAX_RECIPIENTS {
        return Err(OpenError::Malformed);
    }
    let (block, rest) = split(rest, count * RECIPIENT_LEN)?;
    let (counter, ct) = split(rest, COUNTER_LEN)?;
    let mut counter_bytes = [0u8; COUNTER_LEN];
    counter_bytes.copy_from_slice(counter);
    let counter = u64::from_be_bytes(counter_bytes);
    if counter >= MAX_FIELDS
        || ct.len() < crypto::TAG_LEN
        || ct.len() > MAX_PLAINTEXT + crypto::TAG_LEN
    {
        return Err(OpenError::Malformed);
    }
    Ok(Parsed {
        kind,
        zone,
        recipients: block.chunks_exact(RECIPIENT_LEN).collect(),
        counter,
        ct,
    })
}

#[cfg(feature = "open")]
fn split(bytes: &[u8], at: usize) -> Result<(&[u8], &[u8]), OpenError> {
    if bytes.len() < at {
        return Err(OpenError::Malformed);
    }
    Ok(bytes.split_at(at))
}

/// Decode envelope text into its binary form (version 1 only).
#[cfg(any(test, feature = "open"))]
fn decode_text(text: &str) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    let (version, payload) = split_text(text).ok_or(OpenError::Malformed)?;
    if version != "1" {
        return Err(OpenError::UnsupportedVersion);
    }
    let max_binary = FIXED_LEN + MAX_NAME_BYTES + RECIPIENT_LEN * MAX_RECIPIENTS + MAX_PLAINTEXT;
    if payload.len() > (max_binary * 4).div_ceil(3) {
        return Err(OpenError::Malformed);
    }
    // Strict decoding: no padding, no non-zero trailing bits, so each envelope has one text.
    URL_SAFE_NO_PAD
        .decode(payload)
        .map(Zeroizing::new)
        .map_err(|_| OpenError::Malformed)
}

#[cfg(any(test, feature = "open"))]
const MAX_NAME_BYTES: usize = keys::MAX_NAME_LEN;

/// Open an envelope with the private keys of this region (feature `open`): returns the kind
/// and the exact plaintext that was sealed.
///
/// Checks, in order: the text is an envelope ([`OpenError::Malformed`]) of version 1
/// ([`OpenError::UnsupportedVersion`]); it was sealed for `binding.zone`
/// ([`OpenError::WrongZone`]); a key of `keys` of that zone is among its recipients
/// ([`OpenError::NoKey`]); the data key unwraps and the field authenticates under `binding`
/// ([`OpenError::Authentication`] for tampering, a ciphertext moved to another location or
/// policy, or the wrong key).
///
/// ```
/// use pii_core::envelope::{open, Binding, OpenError, ValueKind};
/// use pii_core::PrivateKeyring;
/// // The private key of eu-central-1 (a published test key, never use it for data).
/// let keys = PrivateKeyring::from_jwks(r#"{"keys":[{"kty":"OKP","crv":"X25519","x":"HASmI_UI8F8-KJYicEQzO_uXfnYSMdi_vy3RMwPUFRw","d":"r9AZH0O95xbt5NLTyrcumAgPOqm79hLp71y5YCXJSgI","zone":"eu-central","region":"eu-central-1","created":1767225600}]}"#)?;
/// // What the edge sealed (for example the value of "email" in a JSON body).
/// let sealed = "pe1.AQEKZXUtY2VudHJhbAFUv4ieb3f1TkxJn-GYkI7dIjV0FoibZ9-poOJjh70nGaEJuXjlmTUOQ6ovcuP8c5xNGPD8-JV71VSCqyibL1qlmcpjm4ZBMF-cSG55mNWnF60Ji-xGKq_qAAAAAAAAAAB-8huZfSqNWkNgn5ESKp7d7REZu0QQxL2A3slPCRW012gQ4Q";
/// let binding = Binding { policy: "signup", location: "$['email']", zone: "eu-central" };
/// let (kind, plaintext) = open(&keys, sealed, &binding)?;
/// assert_eq!(kind, ValueKind::String);
/// assert_eq!(plaintext, br#""alice@example.com""#);
/// // Moved to another field: it does not open.
/// let moved = Binding { location: "$['name']", ..binding };
/// assert_eq!(open(&keys, sealed, &moved), Err(OpenError::Authentication));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "open")]
pub fn open(
    keys: &PrivateKeyring,
    text: &str,
    binding: &Binding<'_>,
) -> Result<(ValueKind, Vec<u8>), OpenError> {
    let binary = decode_text(text)?;
    let env = parse_binary(&binary)?;
    if env.zone != binding.zone.as_bytes() {
        return Err(OpenError::WrongZone);
    }
    let hints: Vec<[u8; HINT_LEN]> = env
        .recipients
        .iter()
        .map(|r| {
            let mut hint = [0u8; HINT_LEN];
            hint.copy_from_slice(&r[..HINT_LEN]);
            hint
        })
        .collect();
    let aad = field_aad(
        binding.policy.as_bytes(),
        binding.location.as_bytes(),
        env.zone,
        env.kind.code(),
        &hints,
    )
    // A binding this long was never sealed: nothing can open under it.
    .ok_or(OpenError::Authentication)?;
    let info = hpke_info(env.zone);
    let mut found = false;
    for recipient in &env.recipients {
        let (hint, rest) = recipient.split_at(HINT_LEN);
        let (enc, wrapped) = rest.split_at(ENC_LEN);
        for key in keys.candidates(env.zone, hint) {
            found = true;
            if let Some(plaintext) = open_with(key, enc, wrapped, &info, &aad, &env) {
                return Ok((env.kind, plaintext));
            }
        }
    }
    Err(if found {
        OpenError::Authentication
    } else {
        OpenError::NoKey
    })
}

/// Unwrap the data key with one private key and open the field; `None` on any failure.
#[cfg(feature = "open")]
fn open_with(
    key: &PrivateKey,
    enc: &[u8],
    wrapped: &[u8],
    info: &[u8],
    aad: &[u8],
    env: &Parsed<'_>,
) -> Option<Vec<u8>> {
    let enc: &[u8; ENC_LEN] = enc.try_into().ok()?;
    let public = key.public_ref();
    let dk = crypto::hpke_open(
        key.secret(),
        public.x(),
        enc,
        info,
        public.kid().as_bytes(),
        wrapped,
    )
    .ok()?;
    let dk: &[u8; crypto::KEY_LEN] = dk.as_slice().try_into().ok()?;
    let plaintext = crypto::aes256gcm_open(dk, field_nonce(env.counter), aad, env.ct).ok()?;
    Some(plaintext.to_vec())
}

/// Unkeyed hash of `value`: `sha256:<64 lowercase hex digits>`.
pub(crate) fn hash(value: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = crypto::sha256(value);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for byte in digest {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_format() {
        assert_eq!(
            hash(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[cfg(feature = "open")]
    #[test]
    fn counter_limit() {
        let key = PrivateKey::generate("eu", "eu-1", 1).expect("key");
        let public = key.public();
        let mut sealer = Sealer::new(&[&public], "eu").expect("sealer");
        let binding = Binding {
            policy: "p",
            location: "l",
            zone: "eu",
        };
        sealer.set_counter(MAX_FIELDS - 1);
        let last = sealer
            .seal(&binding, ValueKind::Text, b"x")
            .expect("last field");
        assert_eq!(
            sealer.seal(&binding, ValueKind::Text, b"x"),
            Err(SealError::CounterExhausted)
        );
        let mut ring = PrivateKeyring::new();
        ring.push(key);
        assert_eq!(
            open(&ring, &last, &binding),
            Ok((ValueKind::Text, b"x".to_vec()))
        );
    }

    /// The precomputed header text and associated data give the same envelope as building it
    /// whole, whatever the header's length modulo 3 (zone length, recipient count) and kind.
    #[cfg(feature = "open")]
    #[test]
    fn seal_into_opens_for_every_header_alignment() {
        for zone in ["eu", "eux", "eu-c", "a"] {
            for regions in 1..=3 {
                let keys: Vec<PrivateKey> = (0..regions)
                    .map(|i| PrivateKey::generate(zone, &format!("{zone}-{i}"), 1).expect("key"))
                    .collect();
                let publics: Vec<PublicKey> = keys.iter().map(PrivateKey::public).collect();
                let refs: Vec<&PublicKey> = publics.iter().collect();
                let mut sealer = Sealer::new(&refs, zone).expect("sealer");
                let mut ring = PrivateKeyring::new();
                for key in keys {
                    ring.push(key);
                }
                for (i, kind) in ValueKind::ALL.into_iter().enumerate() {
                    let binding = Binding {
                        policy: "policy",
                        location: &format!("json:$['v'][{i}]"),
                        zone,
                    };
                    let plaintext = vec![b'x'; i * 7];
                    let mut out = b"\"".to_vec();
                    sealer
                        .seal_into(&binding, kind, &plaintext, &mut out)
                        .expect("seal");
                    let text = std::str::from_utf8(&out[1..]).expect("ascii");
                    assert_eq!(text.len(), sealed_len(zone, regions, plaintext.len()));
                    assert!(is_envelope(text));
                    let binary = decode_text(text).expect("decode");
                    assert_eq!(binary[1], kind.code());
                    assert_eq!(open(&ring, text, &binding), Ok((kind, plaintext.clone())));
                    let moved = Binding {
                        location: "json:$['w']",
                        ..binding
                    };
                    assert_eq!(open(&ring, text, &moved), Err(OpenError::Authentication));
                }
            }
        }
    }

    #[test]
    fn sealer_aad_is_field_aad() {
        let jwks = r#"{"keys":[{"kty":"OKP","crv":"X25519","x":"HASmI_UI8F8-KJYicEQzO_uXfnYSMdi_vy3RMwPUFRw","zone":"eu-central","region":"eu-central-1","created":1},{"kty":"OKP","crv":"X25519","x":"uHCJq5E2Vq2wmPN2L0Es8NatFtVo7WOwoBVc4cU0Bh4","zone":"eu-central","region":"eu-central-2","created":1}]}"#;
        let ring = keys::PublicKeyring::from_jwks(jwks).expect("keys");
        let recipients = ring.recipients("eu-central").expect("recipients");
        let hints: Vec<[u8; HINT_LEN]> = recipients.iter().map(|k| *k.hint()).collect();
        let mut sealer = Sealer::new(&recipients, "eu-central").expect("sealer");
        for kind in ValueKind::ALL {
            let binding = Binding {
                policy: "signup",
                location: "json:$['user']['email']",
                zone: "eu-central",
            };
            let mut out = Vec::new();
            sealer
                .seal_into(&binding, kind, b"\"a\"", &mut out)
                .expect("seal");
            let expected = field_aad(
                b"signup",
                b"json:$['user']['email']",
                b"eu-central",
                kind.code(),
                &hints,
            )
            .expect("aad");
            assert_eq!(sealer.aad, expected);
        }
    }

    #[test]
    fn seal_into_leaves_the_buffer_alone_on_error() {
        // The published test key of eu-central-1 (public half).
        let jwks = r#"{"keys":[{"kty":"OKP","crv":"X25519","x":"HASmI_UI8F8-KJYicEQzO_uXfnYSMdi_vy3RMwPUFRw","zone":"eu","region":"eu-1","created":1}]}"#;
        let ring = keys::PublicKeyring::from_jwks(jwks).expect("keys");
        let recipients = ring.recipients("eu").expect("recipients");
        let mut sealer = Sealer::new(&recipients, "eu").expect("sealer");
        let long = "l".repeat(70_000);
        let mut out = b"keep".to_vec();
        for (policy, location, zone) in [("p", long.as_str(), "eu"), ("p", "l", "us")] {
            let binding = Binding {
                policy,
                location,
                zone,
            };
            assert!(sealer
                .seal_into(&binding, ValueKind::Text, b"x", &mut out)
                .is_err());
            assert_eq!(out, b"keep");
        }
        let binding = Binding {
            policy: "p",
            location: "l",
            zone: "eu",
        };
        let too_large = vec![0u8; MAX_PLAINTEXT + 1];
        assert_eq!(
            sealer.seal_into(&binding, ValueKind::Text, &too_large, &mut out),
            Err(SealError::PlaintextTooLarge {
                len: MAX_PLAINTEXT + 1
            })
        );
        assert_eq!(out, b"keep");
        sealer
            .seal_into(&binding, ValueKind::Text, b"x", &mut out)
            .expect("seal");
        assert!(out.starts_with(b"keeppe1."));
        assert_eq!(out.len(), 4 + sealed_len("eu", 1, 1));
    }

    #[test]
    fn aad_layout() {
        let aad = field_aad(b"p", b"$.a", b"eu", 1, &[[9; 8]]).expect("aad");
        let mut expected = vec![
            1, 0, 1, b'p', 0, 3, b'$', b'.', b'a', 0, 2, b'e', b'u', 1, 1,
        ];
        expected.extend_from_slice(&[9; 8]);
        assert_eq!(aad, expected);
        assert!(field_aad(&vec![b'a'; 70_000], b"", b"eu", 0, &[]).is_none());
    }

    #[test]
    fn text_syntax() {
        assert_eq!(split_text("pe1.AAAA"), Some(("1", "AAAA")));
        assert_eq!(split_text("pe12.AA"), Some(("12", "AA")));
        assert_eq!(split_text("pe01.AAAA"), None);
        assert_eq!(split_text("pe1.AAAAA"), None); // impossible base64 length
        assert_eq!(split_text("pe1.AA=="), None);
        assert_eq!(split_text("pe1."), None);
        assert_eq!(split_text("pex.AAAA"), None);
        assert_eq!(
            decode_text("pe2.AAAA").err(),
            Some(OpenError::UnsupportedVersion)
        );
        assert_eq!(decode_text("pe1.AB").err(), Some(OpenError::Malformed)); // trailing bits
    }
}
