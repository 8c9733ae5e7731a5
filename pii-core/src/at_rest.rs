//! Fields at rest under a key of their data subject (crypto-shredding), specified in
//! `docs/at-rest.md` (feature `open`).
//!
//! The edge seals a value to the keys of a region (`pe2.`, `docs/envelope.md`): every stored
//! field of every person opens with that one key for as long as it lives. At storage time the
//! origin [`rewrap`]s the field to a random 256-bit key of its data subject (`pr1.`), keeping
//! the policy, zone and location binding and adding the subject. Destroying that subject key
//! (`forget`) makes every copy of the subject's fields unreadable, backups included.
//!
//! A [`SubjectKey`] is stored only wrapped ([`SubjectKey::wrap`], `psk1.`): HPKE-sealed to the
//! region's X25519 key, the private JWK Set the origin already holds
//! (docs/decisions/0008-subject-keys-wrapped-to-region-keys.md).
//!
//! ```
//! use pii_core::at_rest::{self, SubjectKey};
//! use pii_core::envelope::{Binding, TestSealer, ValueKind};
//! use pii_core::{Location, location::Part, keys::PrivateKey, PrivateKeyring};
//! let mut keys = PrivateKeyring::new();
//! keys.push(PrivateKey::generate("eu-central", "eu-central-1", 1)?);
//! let public = keys.public();
//! let mut edge = TestSealer::new(&public.recipients("eu-central")?, "eu-central")?;
//! let at = Binding::new("signup", "eu-central", Location::field(Part::Header, "x-email", 0));
//! let sealed = edge.seal(&at, ValueKind::Text, b"alice@example.com")?;
//!
//! // At storage time: one key per data subject, kept only wrapped to the region's key.
//! let key = SubjectKey::generate("user-42", 1_767_225_600)?;
//! let stored_key = key.wrap(&keys, "eu-central")?; // "psk1.…", what the key store holds
//! let stored = at_rest::rewrap(&keys, &sealed, &key)?; // "pr1.…", what the row holds
//!
//! // Reading: the header names the subject and key id, the key store gives the wrapped key.
//! let head = at_rest::header(&stored)?;
//! assert_eq!(head.subject, "user-42");
//! let key = SubjectKey::unwrap(&keys, &stored_key)?;
//! let opened = at_rest::open(&key, &stored)?;
//! assert_eq!(opened.plaintext(), b"alice@example.com");
//! assert_eq!(opened.binding(), &at);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use zeroize::Zeroizing;

use crate::crypto;
use crate::envelope::{self, Binding, OpenError, ValueKind, MAX_PLAINTEXT, MAX_POLICY_LEN};
use crate::keys::{self, PrivateKeyring, HINT_LEN};
use crate::location::Location;
use crate::token::{self, Normalize};

/// Text prefix of a field at rest, format version 1.
pub const PREFIX: &str = "pr1.";
/// Text prefix of a wrapped subject key, version 1.
pub const KEY_PREFIX: &str = "psk1.";
/// Version byte of both binary forms.
const VERSION: u8 = 1;
/// Length of a subject key id in bytes (random; 22 characters of base64url as text).
pub const KEY_ID_LEN: usize = 16;
/// Longest subject id in bytes (UTF-8).
pub const MAX_SUBJECT_LEN: usize = 255;
const ENC_LEN: usize = crypto::X25519_LEN;
const WRAPPED_LEN: usize = crypto::KEY_LEN + crypto::TAG_LEN;
/// HPKE `info` of a subject key's wrap, before the zone name.
const KEY_INFO: &[u8] = b"pii-edge/subject-key v1 zone=";

/// Why a field at rest or a subject key did not open, rewrap or wrap. Terse like
/// [`OpenError`]: no plaintext, no key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AtRestError {
    /// Not a well-formed `pr1.` field (or `psk1.` key): bad prefix, characters, padding,
    /// lengths, zone, subject, policy or location.
    Malformed,
    /// A well-formed prefix of another format version (`pr2.`, `psk2.`).
    UnsupportedVersion,
    /// [`rewrap`] could not open the edge's envelope (the reason from docs/envelope.md §6).
    Envelope(OpenError),
    /// The subject key given is not the one the field names (another subject or key id).
    WrongKey,
    /// Changed after sealing: the field (or the wrapped key) failed authentication.
    Tampered,
    /// The subject's key was destroyed (`forget`): the field can never be opened again.
    /// Reported by key stores that keep the erased key id; the format itself cannot tell.
    Erased,
    /// No key to open with: the key store has no key of this subject, or the keyring no
    /// private key the subject key was wrapped to.
    NoKey,
    /// The subject id is empty, longer than 255 bytes, or holds a control character.
    InvalidSubject,
    /// A per-subject token's domain breaks the token domain naming rule (1 to 64 bytes of
    /// `a-z`, `0-9`, `-`, parts joined by single dots).
    InvalidDomain,
    /// A per-subject token: the value cannot be normalized with the steps given (not UTF-8
    /// text, no digit for `digits`, no `local@domain` for the `email-*` steps, `nfkc`).
    Untokenizable,
    /// The operating system's random generator failed.
    Random,
}

impl AtRestError {
    /// The error's name in `docs/at-rest.md` and the test vectors (`Erased`, `Tampered`, ...).
    pub fn name(self) -> &'static str {
        match self {
            AtRestError::Malformed => "Malformed",
            AtRestError::UnsupportedVersion => "UnsupportedVersion",
            AtRestError::Envelope(e) => e.name(),
            AtRestError::WrongKey => "WrongKey",
            AtRestError::Tampered => "Tampered",
            AtRestError::Erased => "Erased",
            AtRestError::NoKey => "NoKey",
            AtRestError::InvalidSubject => "InvalidSubject",
            AtRestError::InvalidDomain => "InvalidDomain",
            AtRestError::Untokenizable => "Untokenizable",
            AtRestError::Random => "Random",
        }
    }
}

impl fmt::Display for AtRestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AtRestError::Malformed => f.write_str("malformed field at rest"),
            AtRestError::UnsupportedVersion => f.write_str("unsupported at-rest format version"),
            AtRestError::Envelope(e) => write!(f, "cannot rewrap: {e}"),
            AtRestError::WrongKey => f.write_str("field sealed under another subject key"),
            AtRestError::Tampered => f.write_str("field at rest failed authentication"),
            AtRestError::Erased => {
                f.write_str("the data subject was erased: their key is destroyed")
            }
            AtRestError::NoKey => f.write_str("no key for this subject"),
            AtRestError::InvalidSubject => f.write_str(
                "invalid subject id: 1 to 255 bytes of UTF-8 without control characters",
            ),
            AtRestError::InvalidDomain => f.write_str(
                "invalid token domain: 1 to 64 bytes of a-z, 0-9 and -, parts joined by single dots",
            ),
            AtRestError::Untokenizable => f.write_str(
                "cannot tokenize: the normalization steps need UTF-8 text, with a digit for \
                 `digits` and of the form local@domain for `email-*` (`nfkc` is not available)",
            ),
            AtRestError::Random => f.write_str("the system random generator failed"),
        }
    }
}

impl std::error::Error for AtRestError {}

/// True for a subject id a field can carry: 1 to 255 bytes of UTF-8, no control character.
fn is_valid_subject(subject: &str) -> bool {
    !subject.is_empty()
        && subject.len() <= MAX_SUBJECT_LEN
        && !subject.chars().any(char::is_control)
}

/// The key of one data subject: 256 random bits, a random 16-byte key id, the subject id and
/// its creation time. Wiped on drop; `Debug` shows the subject and key id only.
pub struct SubjectKey {
    subject: String,
    key_id: [u8; KEY_ID_LEN],
    created: u64,
    secret: Zeroizing<[u8; crypto::KEY_LEN]>,
}

impl fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubjectKey")
            .field("subject", &self.subject)
            .field("key_id", &self.key_id())
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

impl SubjectKey {
    /// A new random key for `subject`, created at `created` (unix seconds).
    /// [`AtRestError::InvalidSubject`] for an empty, over-long or control-character subject.
    pub fn generate(subject: &str, created: u64) -> Result<Self, AtRestError> {
        if !is_valid_subject(subject) {
            return Err(AtRestError::InvalidSubject);
        }
        Ok(SubjectKey {
            subject: subject.to_owned(),
            key_id: crypto::random_array().map_err(|_| AtRestError::Random)?,
            created,
            secret: crypto::random_key().map_err(|_| AtRestError::Random)?,
        })
    }

    /// The data subject's id.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The key id: 16 random bytes as base64url without padding (22 characters). Fields and
    /// erasure receipts name the key by it.
    pub fn key_id(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key_id)
    }

    /// Creation time, unix seconds.
    pub fn created(&self) -> u64 {
        self.created
    }

    /// The per-subject token of `value` (`ts1.<domain>.…`, docs/at-rest.md §7): an HMAC
    /// under a key derived from this subject key, after the normalization steps `normalize`
    /// (envelope.md §9). Nobody can compute it once the key is destroyed, so a lookup by it
    /// stops matching after `forget`.
    ///
    /// [`AtRestError::InvalidDomain`] for a domain that breaks the token domain naming rule,
    /// [`AtRestError::Untokenizable`] for a value the steps cannot normalize.
    ///
    /// ```
    /// use pii_core::at_rest::SubjectKey;
    /// use pii_core::token::Normalize;
    /// let key = SubjectKey::generate("user-42", 1_767_225_600)?;
    /// let steps = [Normalize::Trim, Normalize::Casefold];
    /// let token = key.token("email", &steps, b" Alice@Example.com")?;
    /// assert!(token.starts_with("ts1.email."));
    /// assert_eq!(token, key.token("email", &steps, b"alice@example.com")?);
    /// // Another subject (or this subject's next key, after forget) never gives it.
    /// let other = SubjectKey::generate("user-42", 1_767_225_600)?;
    /// assert_ne!(token, other.token("email", &steps, b"alice@example.com")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn token(
        &self,
        domain: &str,
        normalize: &[Normalize],
        value: &[u8],
    ) -> Result<String, AtRestError> {
        if !keys::is_valid_domain(domain) {
            return Err(AtRestError::InvalidDomain);
        }
        token::subject_token(&*self.secret, domain, normalize, value)
            .map_err(|_| AtRestError::Untokenizable)
    }

    /// The key as a key store holds it (`psk1.` + base64url, docs/at-rest.md §3): HPKE-sealed
    /// to the newest key of `zone` in `keys` (the first region in byte order when the keyring
    /// holds several), with the subject, key id and creation time as associated data.
    /// [`AtRestError::NoKey`] when `keys` has no key of `zone`.
    pub fn wrap(&self, keys: &PrivateKeyring, zone: &str) -> Result<String, AtRestError> {
        let public = keys.public();
        let recipients = public.recipients(zone).map_err(|_| AtRestError::NoKey)?;
        let recipient = recipients.first().ok_or(AtRestError::NoKey)?;
        let mut binary = Vec::with_capacity(128);
        binary.push(VERSION);
        push_short(&mut binary, zone.as_bytes())?;
        push_short(&mut binary, self.subject.as_bytes())?;
        binary.extend_from_slice(&self.key_id);
        binary.extend_from_slice(&self.created.to_be_bytes());
        binary.extend_from_slice(recipient.hint());
        let (enc, wrapped) =
            crypto::hpke_seal(recipient.x(), &key_info(zone), &binary, &*self.secret)
                .map_err(|_| AtRestError::Random)?;
        binary.extend_from_slice(&enc);
        binary.extend_from_slice(&wrapped);
        Ok(format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(binary)))
    }

    /// Unwrap a key store's `psk1.` record with the region's private keys.
    /// [`AtRestError::NoKey`] when no key of the keyring is its recipient,
    /// [`AtRestError::Tampered`] when it fails authentication.
    pub fn unwrap(keys: &PrivateKeyring, wrapped: &str) -> Result<Self, AtRestError> {
        let binary = decode(wrapped, KEY_PREFIX, "psk")?;
        let mut r = Reader(&binary);
        if r.byte()? != VERSION {
            return Err(AtRestError::Malformed);
        }
        let zone = r.short_str()?;
        if !keys::is_valid_zone(zone) {
            return Err(AtRestError::Malformed);
        }
        let subject = r.short_str()?;
        if !is_valid_subject(subject) {
            return Err(AtRestError::Malformed);
        }
        let key_id: [u8; KEY_ID_LEN] = r.array()?;
        let created = u64::from_be_bytes(r.array()?);
        let hint: [u8; HINT_LEN] = r.array()?;
        let aad_len = binary.len() - r.0.len();
        let enc: [u8; ENC_LEN] = r.array()?;
        let ct = r.take(WRAPPED_LEN)?;
        if !r.0.is_empty() {
            return Err(AtRestError::Malformed);
        }
        let aad = &binary[..aad_len];
        let info = key_info(zone);
        let mut found = false;
        for key in keys.candidates(zone.as_bytes(), &hint) {
            found = true;
            let public = key.public_ref();
            if let Ok(secret) = crypto::hpke_open(key.secret(), public.x(), &enc, &info, aad, ct) {
                let mut out = Zeroizing::new([0u8; crypto::KEY_LEN]);
                if secret.len() != crypto::KEY_LEN {
                    return Err(AtRestError::Tampered);
                }
                out.copy_from_slice(&secret);
                return Ok(SubjectKey {
                    subject: subject.to_owned(),
                    key_id,
                    created,
                    secret: out,
                });
            }
        }
        Err(if found {
            AtRestError::Tampered
        } else {
            AtRestError::NoKey
        })
    }
}

/// What a field at rest says without a key: enough to find its subject key in a store.
/// Read from the clear header; authenticates nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Header {
    /// The value's JSON type, or text.
    pub kind: ValueKind,
    /// Policy, zone and location the edge sealed the value under.
    pub binding: Binding,
    /// The data subject.
    pub subject: String,
    /// The subject key's id (22 characters of base64url).
    pub key_id: String,
}

/// An opened field at rest. The plaintext is wiped on drop; `Debug` does not show it.
pub struct Opened {
    header: Header,
    plaintext: Zeroizing<Vec<u8>>,
}

impl Opened {
    /// The value's kind.
    pub fn kind(&self) -> ValueKind {
        self.header.kind
    }
    /// The exact bytes the edge sealed (a JSON value as it arrived, or the decoded text).
    pub fn plaintext(&self) -> &[u8] {
        &self.plaintext
    }
    /// Policy, zone and location (authenticated).
    pub fn binding(&self) -> &Binding {
        &self.header.binding
    }
    /// The data subject (authenticated).
    pub fn subject(&self) -> &str {
        &self.header.subject
    }
    /// The subject key's id.
    pub fn key_id(&self) -> &str {
        &self.header.key_id
    }
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("header", &self.header)
            .field(
                "plaintext",
                &format_args!("<{} bytes>", self.plaintext.len()),
            )
            .finish()
    }
}

/// Open the edge's envelope `envelope` (`pe2.`) with the region's keys and seal its value under
/// the subject key `key` (`pr1.`, docs/at-rest.md §2), keeping kind, policy, zone and location.
/// The plaintext exists only inside this call and is wiped before it returns.
///
/// Errors: [`AtRestError::Envelope`] with the reason the envelope did not open;
/// [`AtRestError::Malformed`] never (the binding came from a valid envelope).
pub fn rewrap(
    keys: &PrivateKeyring,
    envelope: &str,
    key: &SubjectKey,
) -> Result<String, AtRestError> {
    let opened = envelope::open(keys, envelope).map_err(AtRestError::Envelope)?;
    seal(
        key,
        opened.kind(),
        opened.binding(),
        opened.plaintext(),
        crypto::random_array().map_err(|_| AtRestError::Random)?,
    )
}

/// [`rewrap`], and the per-subject token ([`SubjectKey::token`]) of the same value under
/// `domain` and `normalize`, from one opening of the envelope: `(field, token)`. Store the token
/// beside the field to find the row later; it stops matching after `forget`. The value is
/// tokenized as envelope.md §9 says (a JSON string's decoded content, other JSON values' text,
/// raw text's bytes).
///
/// Errors: those of [`rewrap`], [`AtRestError::InvalidDomain`], [`AtRestError::Untokenizable`].
pub fn rewrap_with_token(
    keys: &PrivateKeyring,
    envelope: &str,
    key: &SubjectKey,
    domain: &str,
    normalize: &[Normalize],
) -> Result<(String, String), AtRestError> {
    let opened = envelope::open(keys, envelope).map_err(AtRestError::Envelope)?;
    let value = token_value(opened.kind(), opened.plaintext())?;
    let token = key.token(domain, normalize, &value)?;
    let field = seal(
        key,
        opened.kind(),
        opened.binding(),
        opened.plaintext(),
        crypto::random_array().map_err(|_| AtRestError::Random)?,
    )?;
    Ok((field, token))
}

/// The bytes a value is tokenized as (envelope.md §9): a JSON string's decoded content, any
/// other value as sealed.
fn token_value(kind: ValueKind, plaintext: &[u8]) -> Result<Zeroizing<Vec<u8>>, AtRestError> {
    if kind == ValueKind::String {
        // A sealed JSON string is its JSON text, quotes included (envelope.md §5).
        let text = std::str::from_utf8(plaintext).map_err(|_| AtRestError::Malformed)?;
        let inner = text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .ok_or(AtRestError::Malformed)?;
        let mut decoded = Zeroizing::new(String::with_capacity(inner.len()));
        crate::json::unescape_into(text, 1, 1 + inner.len(), &mut decoded)
            .map_err(|_| AtRestError::Malformed)?;
        return Ok(Zeroizing::new(std::mem::take(&mut *decoded).into_bytes()));
    }
    Ok(Zeroizing::new(plaintext.to_vec()))
}

/// Seal `plaintext` under `key` with `nonce` (tests and vectors fix the nonce).
pub(crate) fn seal(
    key: &SubjectKey,
    kind: ValueKind,
    binding: &Binding,
    plaintext: &[u8],
    nonce: [u8; crypto::NONCE_LEN],
) -> Result<String, AtRestError> {
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(AtRestError::Malformed);
    }
    let mut binary = Zeroizing::new(Vec::with_capacity(
        64 + key.subject.len() + binding.policy.len() + plaintext.len(),
    ));
    binary.push(VERSION);
    binary.push(kind.code());
    push_short(&mut binary, binding.zone.as_bytes())?;
    push_short(&mut binary, key.subject.as_bytes())?;
    binary.extend_from_slice(&key.key_id);
    binary.extend_from_slice(&nonce);
    push_short(&mut binary, binding.policy.as_bytes())?;
    let mut location = Vec::new();
    binding
        .location
        .write_binary(&mut location)
        .ok_or(AtRestError::Malformed)?;
    let location_len = u16::try_from(location.len()).map_err(|_| AtRestError::Malformed)?;
    binary.extend_from_slice(&location_len.to_be_bytes());
    binary.extend_from_slice(&location);
    let aad_len = binary.len();
    binary.reserve(plaintext.len() + crypto::TAG_LEN);
    binary.extend_from_slice(plaintext);
    let sealing = crypto::SealingKey::new(&key.secret).map_err(|_| AtRestError::Random)?;
    // The header is the associated data; split it off a copy so the buffer is sealed in place.
    let aad = binary[..aad_len].to_vec();
    sealing
        .seal_in_place(nonce, &aad, &mut binary, aad_len)
        .map_err(|_| AtRestError::Random)?;
    Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&*binary)))
}

/// A parsed `pr1.` field.
struct Parsed<'a> {
    header: Header,
    key_id: [u8; KEY_ID_LEN],
    nonce: [u8; crypto::NONCE_LEN],
    aad: &'a [u8],
    ct: &'a [u8],
}

fn parse(binary: &[u8]) -> Result<Parsed<'_>, AtRestError> {
    let mut r = Reader(binary);
    if r.byte()? != VERSION {
        return Err(AtRestError::Malformed);
    }
    let kind = ValueKind::from_code(r.byte()?).ok_or(AtRestError::Malformed)?;
    let zone = r.short_str()?;
    if !keys::is_valid_zone(zone) {
        return Err(AtRestError::Malformed);
    }
    let subject = r.short_str()?;
    if !is_valid_subject(subject) {
        return Err(AtRestError::Malformed);
    }
    let key_id: [u8; KEY_ID_LEN] = r.array()?;
    let nonce: [u8; crypto::NONCE_LEN] = r.array()?;
    let policy = r.short_str()?;
    if !envelope::is_valid_policy_name(policy) || policy.len() > MAX_POLICY_LEN {
        return Err(AtRestError::Malformed);
    }
    let location_len = u16::from_be_bytes(r.array()?);
    let location =
        Location::from_binary(r.take(usize::from(location_len))?).ok_or(AtRestError::Malformed)?;
    let ct = r.0;
    if ct.len() < crypto::TAG_LEN || ct.len() > MAX_PLAINTEXT + crypto::TAG_LEN {
        return Err(AtRestError::Malformed);
    }
    Ok(Parsed {
        header: Header {
            kind,
            binding: Binding::new(policy, zone, location),
            subject: subject.to_owned(),
            key_id: URL_SAFE_NO_PAD.encode(key_id),
        },
        key_id,
        nonce,
        aad: &binary[..binary.len() - ct.len()],
        ct,
    })
}

/// Read a field's [`Header`] without a key (to look its subject key up).
/// [`AtRestError::Malformed`] or [`AtRestError::UnsupportedVersion`] as [`open`] would say.
pub fn header(text: &str) -> Result<Header, AtRestError> {
    let binary = decode(text, PREFIX, "pr")?;
    Ok(parse(&binary)?.header)
}

/// Open a field at rest with its subject key: checks the text ([`AtRestError::Malformed`],
/// [`AtRestError::UnsupportedVersion`]), that `key` is the subject and key id the field names
/// ([`AtRestError::WrongKey`]), and authenticates the field with its whole header as associated
/// data ([`AtRestError::Tampered`]).
pub fn open(key: &SubjectKey, text: &str) -> Result<Opened, AtRestError> {
    let binary = decode(text, PREFIX, "pr")?;
    let parsed = parse(&binary)?;
    if parsed.key_id != key.key_id || parsed.header.subject != key.subject {
        return Err(AtRestError::WrongKey);
    }
    let plaintext = crypto::aes256gcm_open(&key.secret, parsed.nonce, parsed.aad, parsed.ct)
        .map_err(|_| AtRestError::Tampered)?;
    Ok(Opened {
        header: parsed.header,
        plaintext,
    })
}

/// True when `text` looks like a field at rest (`pr` + digits + `.`). Syntactic only.
pub fn is_at_rest(text: &str) -> bool {
    version_of(text, "pr").is_some()
}

fn key_info(zone: &str) -> Vec<u8> {
    let mut info = KEY_INFO.to_vec();
    info.extend_from_slice(zone.as_bytes());
    info
}

fn push_short(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), AtRestError> {
    let len = u8::try_from(bytes.len()).map_err(|_| AtRestError::Malformed)?;
    out.push(len);
    out.extend_from_slice(bytes);
    Ok(())
}

/// `(version, payload)` of `<stem><digits>.<payload>`: 1 to 3 digits, no leading zero.
fn version_of<'a>(text: &'a str, stem: &str) -> Option<(&'a str, &'a str)> {
    let rest = text.strip_prefix(stem)?;
    let (version, payload) = rest.split_once('.')?;
    let ok = !version.is_empty()
        && version.len() <= 3
        && !version.starts_with('0')
        && version.bytes().all(|b| b.is_ascii_digit());
    ok.then_some((version, payload))
}

/// Strict base64url decoding of `<stem>1.<payload>`.
fn decode(text: &str, prefix: &str, stem: &str) -> Result<Zeroizing<Vec<u8>>, AtRestError> {
    let (version, payload) = version_of(text, stem).ok_or(AtRestError::Malformed)?;
    if version != "1" {
        return Err(AtRestError::UnsupportedVersion);
    }
    debug_assert!(text.starts_with(prefix));
    let max = 2 * (MAX_PLAINTEXT + 1024 + usize::from(u16::MAX));
    if payload.is_empty() || payload.len() > max {
        return Err(AtRestError::Malformed);
    }
    URL_SAFE_NO_PAD
        .decode(payload)
        .map(Zeroizing::new)
        .map_err(|_| AtRestError::Malformed)
}

/// A cursor over a binary form; every short read is [`AtRestError::Malformed`].
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], AtRestError> {
        if self.0.len() < n {
            return Err(AtRestError::Malformed);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn byte(&mut self) -> Result<u8, AtRestError> {
        Ok(self.take(1)?[0])
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], AtRestError> {
        self.take(N)?.try_into().map_err(|_| AtRestError::Malformed)
    }
    fn short_str(&mut self) -> Result<&'a str, AtRestError> {
        let len = usize::from(self.byte()?);
        std::str::from_utf8(self.take(len)?).map_err(|_| AtRestError::Malformed)
    }
}

/// Build a subject key from its parts: test vectors and interop tests only.
#[cfg(feature = "test-util")]
impl SubjectKey {
    /// A subject key with a given secret, key id and creation time (test vectors). Never use
    /// it in a product: subject keys must be random.
    pub fn from_parts_for_tests(
        subject: &str,
        key_id: [u8; KEY_ID_LEN],
        created: u64,
        secret: [u8; crypto::KEY_LEN],
    ) -> Result<Self, AtRestError> {
        if !is_valid_subject(subject) {
            return Err(AtRestError::InvalidSubject);
        }
        Ok(SubjectKey {
            subject: subject.to_owned(),
            key_id,
            created,
            secret: Zeroizing::new(secret),
        })
    }

    /// [`rewrap`]'s sealing with a fixed nonce, for reproducible vectors.
    pub fn seal_for_tests(
        &self,
        kind: ValueKind,
        binding: &Binding,
        plaintext: &[u8],
        nonce: [u8; crypto::NONCE_LEN],
    ) -> Result<String, AtRestError> {
        seal(self, kind, binding, plaintext, nonce)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::TestSealer;
    use crate::keys::PrivateKey;
    use crate::location::Part;

    fn setup() -> (PrivateKeyring, String, Binding) {
        let mut keys = PrivateKeyring::new();
        keys.push(PrivateKey::generate("eu-central", "eu-central-1", 1).expect("key"));
        let public = keys.public();
        let mut sealer =
            TestSealer::new(&public.recipients("eu-central").expect("r"), "eu-central")
                .expect("sealer");
        let at = Binding::new(
            "signup",
            "eu-central",
            Location::field(Part::Header, "x-email", 0),
        );
        let sealed = sealer
            .seal(&at, ValueKind::Text, b"alice@example.com")
            .expect("seal");
        (keys, sealed, at)
    }

    #[test]
    fn rewrap_then_open_keeps_binding_and_adds_subject() {
        let (keys, sealed, at) = setup();
        let key = SubjectKey::generate("user-1", 5).expect("key");
        let stored = rewrap(&keys, &sealed, &key).expect("rewrap");
        assert!(stored.starts_with(PREFIX));
        let opened = open(&key, &stored).expect("open");
        assert_eq!(opened.plaintext(), b"alice@example.com");
        assert_eq!(opened.binding(), &at);
        assert_eq!(opened.subject(), "user-1");
        assert_eq!(opened.key_id(), key.key_id());
        assert!(!format!("{opened:?}").contains("alice"));
    }

    #[test]
    fn subject_tokens_follow_the_key_and_the_rewrap() {
        let (keys, sealed, _) = setup();
        let key = SubjectKey::generate("user-1", 5).expect("key");
        let steps = [Normalize::Trim, Normalize::Casefold];
        let (field, token) =
            rewrap_with_token(&keys, &sealed, &key, "email", &steps).expect("rewrap");
        assert_eq!(
            open(&key, &field).expect("open").plaintext(),
            b"alice@example.com"
        );
        assert_eq!(
            token,
            key.token("email", &steps, b" Alice@EXAMPLE.com")
                .expect("t")
        );
        assert_eq!(token.len(), "ts1.email.".len() + 43);
        // Another domain, another normalization, another key: unrelated tokens.
        assert_ne!(
            token,
            key.token("login", &steps, b"alice@example.com").expect("t")
        );
        assert_ne!(
            token,
            key.token("email", &[], b"alice@example.com").expect("t")
        );
        let next = SubjectKey::generate("user-1", 6).expect("key");
        assert_ne!(
            token,
            next.token("email", &steps, b"alice@example.com")
                .expect("t")
        );
        // Refusals name the reason, never the value.
        assert_eq!(
            key.token("Email", &[], b"x"),
            Err(AtRestError::InvalidDomain)
        );
        let e = key
            .token("phone", &[Normalize::Digits], b"alice")
            .unwrap_err();
        assert_eq!(e, AtRestError::Untokenizable);
        assert!(!e.to_string().contains("alice"));
        assert_eq!(
            rewrap_with_token(&keys, &sealed, &key, "phone", &[Normalize::Digits]),
            Err(AtRestError::Untokenizable)
        );
    }

    #[test]
    fn a_json_string_is_tokenized_as_its_decoded_content() {
        let (keys, _, _) = setup();
        let public = keys.public();
        let mut sealer =
            TestSealer::new(&public.recipients("eu-central").expect("r"), "eu-central")
                .expect("sealer");
        let at = Binding::new("signup", "eu-central", Location::json(vec![]));
        let sealed = sealer
            .seal(&at, ValueKind::String, br#""caf\u00e9 \"x\"""#)
            .expect("seal");
        let key = SubjectKey::generate("user-1", 5).expect("key");
        let (_, token) = rewrap_with_token(&keys, &sealed, &key, "name", &[]).expect("rewrap");
        assert_eq!(
            token,
            key.token("name", &[], "café \"x\"".as_bytes()).expect("t")
        );
    }

    #[test]
    fn wrapped_key_round_trip_and_refusals() {
        let (keys, _, _) = setup();
        let key = SubjectKey::generate("user-1", 5).expect("key");
        let wrapped = key.wrap(&keys, "eu-central").expect("wrap");
        let back = SubjectKey::unwrap(&keys, &wrapped).expect("unwrap");
        assert_eq!(back.key_id(), key.key_id());
        assert_eq!(back.created(), 5);
        assert_eq!(*back.secret, *key.secret);
        assert!(!format!("{back:?}").contains(&URL_SAFE_NO_PAD.encode(*key.secret)));
        // Another region's keyring has no key for it.
        let mut other = PrivateKeyring::new();
        other.push(PrivateKey::generate("eu-central", "eu-central-2", 1).expect("key"));
        assert_eq!(
            SubjectKey::unwrap(&other, &wrapped).unwrap_err(),
            AtRestError::NoKey
        );
        assert_eq!(key.wrap(&other, "us").unwrap_err(), AtRestError::NoKey);
        // A changed byte of the subject id (associated data) fails authentication.
        let mut binary = URL_SAFE_NO_PAD.decode(&wrapped[5..]).expect("b64");
        binary[13] ^= 1;
        let changed = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(&binary));
        assert!(matches!(
            SubjectKey::unwrap(&keys, &changed),
            Err(AtRestError::Tampered | AtRestError::Malformed)
        ));
        assert_eq!(
            SubjectKey::unwrap(&keys, &format!("psk2.{}", &wrapped[5..])).unwrap_err(),
            AtRestError::UnsupportedVersion
        );
    }

    #[test]
    fn refusals() {
        let (keys, sealed, _) = setup();
        let key = SubjectKey::generate("user-1", 5).expect("key");
        let other = SubjectKey::generate("user-1", 5).expect("key");
        let stored = rewrap(&keys, &sealed, &key).expect("rewrap");
        assert_eq!(open(&other, &stored).unwrap_err(), AtRestError::WrongKey);
        let mut binary = URL_SAFE_NO_PAD.decode(&stored[4..]).expect("b64");
        let last = binary.len() - 1;
        binary[last] ^= 1;
        let changed = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&binary));
        assert_eq!(open(&key, &changed).unwrap_err(), AtRestError::Tampered);
        assert_eq!(
            open(&key, &format!("pr2.{}", &stored[4..])).unwrap_err(),
            AtRestError::UnsupportedVersion
        );
        for bad in ["pr1.", "pr1.=", "pr01.AAAA", "pr1.AA", "pe2.AAAA", ""] {
            assert_eq!(
                open(&key, bad).unwrap_err(),
                AtRestError::Malformed,
                "{bad}"
            );
        }
        assert_eq!(
            rewrap(&keys, "pe2.AAAA", &key).unwrap_err(),
            AtRestError::Envelope(OpenError::Malformed)
        );
        assert_eq!(
            SubjectKey::generate("", 1).unwrap_err(),
            AtRestError::InvalidSubject
        );
        assert_eq!(
            SubjectKey::generate("a\nb", 1).unwrap_err(),
            AtRestError::InvalidSubject
        );
        assert!(SubjectKey::generate(&"x".repeat(255), 1).is_ok());
        assert!(SubjectKey::generate(&"x".repeat(256), 1).is_err());
    }
}
