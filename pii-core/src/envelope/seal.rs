//! Sealing (docs/envelope.md §5): one data key per request wrapped to every recipient of the
//! zone with HPKE, each field AES-256-GCM under it; and the unkeyed hash action.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use zeroize::Zeroize as _;

use super::format::{
    field_nonce, hpke_info, push_field_header, Binding, ValueKind, COUNTER_LEN, FIXED_LEN,
    MAX_PLAINTEXT, MAX_RECIPIENTS, PREFIX, RECIPIENT_LEN, VERSION,
};
use crate::crypto;
use crate::keys::{self, PublicKey};
use crate::location::Location;

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
    /// The policy name is not 1 to 64 of `A-Z a-z 0-9 . _ -`, or the location is longer than
    /// 65 535 bytes in its binary form.
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
                f.write_str("policy name (1 to 64 of A-Z a-z 0-9 . _ -) or location (65 535 bytes) too long or empty")
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

/// Length in characters of the envelope text of a `plaintext_len`-byte value sealed under
/// `binding` to `recipients` keys: `4 + ceil(4 * binary / 3)` with
/// `binary = 27 + zone + 88 * recipients + policy + location + plaintext_len` (the location in
/// its binary form). `None` if the binding cannot be sealed (see [`SealError::BindingTooLong`]).
///
/// ```
/// use pii_core::{envelope::{sealed_len, Binding}, Location, location::PathElement};
/// // A 20-character email, sealed as a JSON string (22 bytes with its quotes), two regions.
/// let at = Location::json(vec![PathElement::Name("email".into())]);
/// assert_eq!(sealed_len(&Binding::new("signup", "eu-central", at), 2, 22), Some(338));
/// ```
pub fn sealed_len(binding: &Binding, recipients: usize, plaintext_len: usize) -> Option<usize> {
    let mut field = Vec::new();
    push_field_header(&mut field, 0, &binding.policy, &binding.location)?;
    let binary = FIXED_LEN - COUNTER_LEN - 1 - 2
        + binding.zone.len()
        + RECIPIENT_LEN * recipients
        + field.len()
        + plaintext_len;
    Some(PREFIX.len() + (binary * 4).div_ceil(3))
}

/// Seals the fields of one request: one data key, wrapped once per recipient when the sealer
/// is made, then one AES-256-GCM per field. The data key is wiped on drop.
///
/// The part of an envelope that is the same for every field (version, zone and the recipient
/// block, and its base64url text) is built once here; a field costs its counter, policy and
/// location bytes, one AES-GCM whose associated data is the whole header, and the base64url of
/// what follows the shared part, written straight into the caller's buffer.
pub(crate) struct Sealer {
    /// The data key expanded for AES-GCM once, not per field. (The raw data key is wiped when
    /// `new` returns; ring does not wipe its expanded key schedule, see docs/threat-model.md.)
    aead: crypto::SealingKey,
    zone: String,
    /// How many recipients (regions) each envelope carries.
    recipient_count: usize,
    /// The shared header: version, kind (a placeholder), zone length, zone, recipient count,
    /// recipients.
    head: Vec<u8>,
    /// The base64url text of `head[3..whole]`, where `whole` ends the last whole 3-byte group:
    /// the 4 characters of the first group (which holds the kind) come before it, and
    /// `head[whole..]` goes with the per-field bytes.
    head_text: Vec<u8>,
    whole: usize,
    /// Reused per field: the associated data (the whole binary header).
    aad: Vec<u8>,
    /// Reused per field: `head[whole..]` || field header || ciphertext || tag. Holds plaintext
    /// only while it is encrypted in place (and is wiped if that fails), never after `seal`
    /// returns.
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
        let whole = head.len() - head.len() % 3;
        let rest = head.get(3..whole).ok_or(SealError::NoRecipients)?;
        Ok(Sealer {
            aead,
            zone: zone.to_owned(),
            recipient_count: recipients.len(),
            head_text: URL_SAFE_NO_PAD.encode(rest).into_bytes(),
            whole,
            head,
            aad: Vec::new(),
            binary: Vec::new(),
            counter: 0,
        })
    }

    /// A capacity hint for the envelope text of a `plaintext_len`-byte value (exact for a
    /// policy and location of 64 bytes together).
    pub(crate) fn capacity_hint(&self, plaintext_len: usize) -> usize {
        let binary =
            FIXED_LEN + self.zone.len() + RECIPIENT_LEN * self.recipient_count + 64 + plaintext_len;
        PREFIX.len() + (binary * 4).div_ceil(3)
    }

    /// Seal one value for `policy` at `location` and append its envelope text (`pe2.` +
    /// base64url, never in need of any escaping) to `out`. Each call uses the next field
    /// counter. On error `out` is left as it was.
    pub(crate) fn seal_into(
        &mut self,
        policy: &str,
        location: &Location,
        kind: ValueKind,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SealError> {
        if plaintext.len() > MAX_PLAINTEXT {
            return Err(SealError::PlaintextTooLarge {
                len: plaintext.len(),
            });
        }
        let counter = u32::try_from(self.counter).map_err(|_| SealError::CounterExhausted)?;
        // The associated data: the whole binary header, as the opener reads it.
        self.aad.clear();
        self.aad.extend_from_slice(&self.head);
        self.aad[1] = kind.code();
        push_field_header(&mut self.aad, counter, policy, location)
            .ok_or(SealError::BindingTooLong)?;
        // The counter moves on before anything else can fail: a nonce is never used twice.
        self.counter += 1;
        // Room for the tag too, so the buffer holding the plaintext is never reallocated.
        let field = self.aad.get(self.whole..).unwrap_or_default();
        let from = field.len();
        self.binary.clear();
        self.binary
            .reserve(from + plaintext.len() + crypto::TAG_LEN);
        self.binary.extend_from_slice(field);
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

        let first = [VERSION, kind.code(), self.head[2]];
        let start = out.len();
        out.reserve(PREFIX.len() + 4 + self.head_text.len() + (self.binary.len() * 4).div_ceil(3));
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
    #[cfg(any(test, feature = "test-util"))]
    pub(crate) fn seal(
        &mut self,
        policy: &str,
        location: &Location,
        kind: ValueKind,
        plaintext: &[u8],
    ) -> Result<String, SealError> {
        let mut out = Vec::new();
        self.seal_into(policy, location, kind, plaintext, &mut out)?;
        // Base64url text: always ASCII.
        String::from_utf8(out).map_err(|_| SealError::PlaintextTooLarge {
            len: plaintext.len(),
        })
    }

    #[cfg(all(test, feature = "open"))]
    pub(super) fn set_counter(&mut self, counter: u64) {
        self.counter = counter;
    }
}

/// Seals values outside the policy engine, under any binding: for tests and test vectors only
/// (feature `test-util`). The engine's `encrypt` action is the way to seal: it binds each value
/// to where it really is.
#[cfg(any(test, feature = "test-util"))]
pub struct TestSealer(Sealer);

#[cfg(any(test, feature = "test-util"))]
impl TestSealer {
    /// One HPKE encapsulation per recipient, as the engine's sealer.
    pub fn new(recipients: &[&PublicKey], zone: &str) -> Result<Self, SealError> {
        Sealer::new(recipients, zone).map(TestSealer)
    }

    /// Seal one value under `binding` (its zone must be the sealer's).
    pub fn seal(
        &mut self,
        binding: &Binding,
        kind: ValueKind,
        plaintext: &[u8],
    ) -> Result<String, SealError> {
        if binding.zone != self.0.zone {
            return Err(SealError::ZoneMismatch);
        }
        self.0
            .seal(&binding.policy, &binding.location, kind, plaintext)
    }
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
