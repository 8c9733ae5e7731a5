//! Bulk operations over stored values (feature `open`): classify, open and rewrap a column of
//! values at once, for the jobs that need every stored field rather than one request (key
//! rotation, moving data between zones, access requests and audits; `docs/bulk.md`).
//!
//! Every operation answers per value: one bad value is one outcome in the column, never an
//! error for the batch. The opened data key of a wrap is kept and reused for every field that
//! shares it (the fields of one request do: the edge wraps one data key per request), so a
//! column of one request's fields costs one HPKE open, not one per field.
//!
//! ## Rewrap: a fresh data key per wrap, never plaintext out of the call
//!
//! [`Rewrapper::rewrap`] opens a field with the old private keys and seals the same value, with
//! the same kind, policy and location, to the target keys, inside the call. Each *old wrap*
//! gets a *new* random data key, wrapped once to the target recipients, and the fields that
//! shared the old wrap share the new one (as the edge wrote them: rewrapping links no two
//! requests that were not linked). Reusing the old data key under new wraps is not an option:
//! - whoever held the old private key (a rotation after a suspected compromise) knows the old
//!   data key and would still read the rewrapped fields;
//! - the field nonce is the field counter under the data key, and the header (which changes
//!   with the recipients) is the associated data: sealing the same counter again under the
//!   same key with another header reuses an AES-GCM nonce.
//!
//! Rewrapping costs per field one AES-GCM open and one seal, and per old wrap one HPKE open
//! and one HPKE seal per target recipient. A value already sealed to exactly the target
//! recipients is left as it is ([`Rewrapped::Current`]), so a job that is run again does no work.
//!
//! ```
//! use pii_core::batch::{classify, Class, Rewrapped, Rewrapper};
//! use pii_core::envelope::{open, Binding, TestSealer, ValueKind};
//! use pii_core::{Location, location::Part, keys::PrivateKey, PrivateKeyring};
//! let mut old = PrivateKeyring::new();
//! old.push(PrivateKey::generate("eu", "eu-1", 100)?);
//! let mut sealer = TestSealer::new(&old.public().recipients("eu")?, "eu")?;
//! let at = Binding::new("signup", "eu", Location::field(Part::Header, "x-id", 0));
//! let stored = sealer.seal(&at, ValueKind::Text, b"DE-4711")?;
//!
//! // Rotation: a new key for the region; the job opens with the old private key and seals to
//! // the new public key.
//! let mut new = PrivateKeyring::new();
//! new.push(PrivateKey::generate("eu", "eu-1", 200)?);
//! let mut job = Rewrapper::new(new.public(), None);
//! let Ok(Rewrapped::Sealed(fresh)) = job.rewrap(&old, &stored) else { panic!() };
//! assert_eq!(open(&new, &fresh)?.plaintext(), b"DE-4711");
//! assert_eq!(open(&new, &fresh)?.binding(), &at);
//! assert_eq!(job.rewrap(&new, &fresh), Ok(Rewrapped::Current));
//! assert_eq!(classify(&fresh), Class::Envelope);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::fmt;

use crate::at_rest::{self, AtRestError, SubjectKey};
use crate::envelope::{self, DataKeys, OpenError, Opened, SealError, Sealer};
use crate::keys::{self, PrivateKeyring, PublicKeyring};

/// Data keys kept by one [`BatchOpener`] (twice as many in two generations): more than the
/// wraps an Arrow batch of a few thousand rows of requests holds, about 2 MB at most.
const MAX_DATA_KEYS: usize = 4096;
/// New sealers (one per old wrap) kept by one [`Rewrapper`], in each of two generations.
const MAX_SEALERS: usize = 4096;

/// What a stored value is, read without a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Class {
    /// A version-2 envelope whose header parses (`pe2.`…): it may still fail to open.
    Envelope,
    /// A token of the `tokenize` action, `tk1.<domain>.<43 base64url characters>`, or a
    /// per-subject token, `ts1.<domain>.<43 base64url characters>` (docs/at-rest.md §7).
    Token,
    /// A field at rest under a subject key whose header parses (`pr1.`…, docs/at-rest.md):
    /// it may still fail to open, or its key may be erased.
    AtRest,
    /// Text that is neither: a value in clear (it may or may not be personal data).
    Plaintext,
    /// Looks like an envelope (`pe<digits>.`) but is not one this crate opens: damaged,
    /// truncated, or of another format version.
    Malformed,
}

impl Class {
    /// The class's name in reports and the Python package: `envelope`, `token`, `at-rest`,
    /// `plaintext`, `malformed`.
    pub fn name(self) -> &'static str {
        match self {
            Class::Envelope => "envelope",
            Class::Token => "token",
            Class::AtRest => "at-rest",
            Class::Plaintext => "plaintext",
            Class::Malformed => "malformed",
        }
    }
}

/// The [`Class`] of a stored value. Syntactic, needs no key and authenticates nothing: an
/// audit's count, never a decision about a value an attacker controls.
///
/// ```
/// use pii_core::batch::{classify, Class};
/// assert_eq!(classify("erika@example.de"), Class::Plaintext);
/// assert_eq!(classify("pe2.AAAA"), Class::Malformed);
/// assert_eq!(classify(&format!("tk1.email.{}", "A".repeat(43))), Class::Token);
/// assert_eq!(classify("tk1.email.short"), Class::Plaintext);
/// ```
pub fn classify(value: &str) -> Class {
    if envelope::is_envelope(value) {
        return match envelope::wrap_of(value) {
            Ok(_) => Class::Envelope,
            Err(_) => Class::Malformed,
        };
    }
    if at_rest::is_at_rest(value) {
        return match at_rest::header(value) {
            Ok(_) => Class::AtRest,
            Err(_) => Class::Malformed,
        };
    }
    if is_token(value) {
        return Class::Token;
    }
    Class::Plaintext
}

/// `tk1.<domain>.<base64url of 32 bytes>` (docs/envelope.md §9), or the same with `ts1.`, a
/// per-subject token (docs/at-rest.md §7).
fn is_token(value: &str) -> bool {
    let Some(rest) = value
        .strip_prefix("tk1.")
        .or_else(|| value.strip_prefix("ts1."))
    else {
        return false;
    };
    let Some((domain, mac)) = rest.rsplit_once('.') else {
        return false;
    };
    mac.len() == 43
        && mac
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && keys::is_valid_domain(domain)
}

/// Opens many envelopes with one keyring, keeping each unwrapped data key for the next field
/// that shares its wrap. The cache holds data keys only (wiped on drop), found by the exact
/// private key and wrap bytes; every field is still authenticated with its whole header.
///
/// ```
/// use pii_core::batch::BatchOpener;
/// use pii_core::envelope::{Binding, OpenError, TestSealer, ValueKind};
/// use pii_core::{Location, location::Part, keys::PrivateKey, PrivateKeyring};
/// let mut keys = PrivateKeyring::new();
/// keys.push(PrivateKey::generate("eu", "eu-1", 1)?);
/// let mut sealer = TestSealer::new(&keys.public().recipients("eu")?, "eu")?;
/// let at = |n: &str| Binding::new("p", "eu", Location::field(Part::Query, n, 0));
/// let column = [sealer.seal(&at("a"), ValueKind::Text, b"1")?, "pe2.x".to_owned(),
///               sealer.seal(&at("b"), ValueKind::Text, b"2")?];
/// let mut opener = BatchOpener::new();
/// let out: Vec<_> = column.iter().map(|v| opener.open(&keys, v).map(|o| o.plaintext().to_vec())).collect();
/// assert_eq!(out, [Ok(b"1".to_vec()), Err(OpenError::Malformed), Ok(b"2".to_vec())]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct BatchOpener {
    data_keys: DataKeys,
}

impl Default for BatchOpener {
    fn default() -> Self {
        BatchOpener::new()
    }
}

impl fmt::Debug for BatchOpener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BatchOpener")
    }
}

impl BatchOpener {
    /// An opener with an empty data-key cache.
    pub fn new() -> Self {
        BatchOpener {
            data_keys: DataKeys::with_max(MAX_DATA_KEYS),
        }
    }

    /// Open one envelope as [`envelope::open`] does (same checks, same errors), reusing a data
    /// key this opener has unwrapped before.
    pub fn open(&mut self, keys: &PrivateKeyring, text: &str) -> Result<Opened, OpenError> {
        envelope::open_in_request(keys, text, None, &mut self.data_keys)
    }
}

/// The outcome of rewrapping one value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rewrapped {
    /// The value sealed to the target keys: a new envelope text.
    Sealed(String),
    /// Already sealed to exactly the target recipients of its zone: left as it is (not opened).
    Current,
}

/// Why one value was not rewrapped. Names no value and no key material.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RewrapError {
    /// The value did not open with the old keys (`Malformed`, `NoKey`, `Tampered`, ...).
    Open(OpenError),
    /// The target keys have no key for the value's zone (or the target zone).
    NoTargetKey {
        /// The zone that has no target key.
        zone: String,
    },
    /// Sealing to the target keys failed.
    Seal(SealError),
}

impl RewrapError {
    /// A short stable name for a column of outcomes: the [`OpenError::name`] (`Malformed`,
    /// `NoKey`, `Tampered`, ...), `NoTargetKey` or `SealFailed`.
    pub fn name(&self) -> &'static str {
        match self {
            RewrapError::Open(e) => e.name(),
            RewrapError::NoTargetKey { .. } => "NoTargetKey",
            RewrapError::Seal(_) => "SealFailed",
        }
    }
}

impl fmt::Display for RewrapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RewrapError::Open(e) => write!(f, "cannot rewrap: {e}"),
            RewrapError::NoTargetKey { zone } => {
                write!(f, "the target keys have no key of zone `{zone}`")
            }
            RewrapError::Seal(e) => write!(f, "cannot seal to the target keys: {e}"),
        }
    }
}

impl std::error::Error for RewrapError {}

/// Rewraps stored envelopes to other public keys: the rotated keys of their own zone, or every
/// key of another zone (moving data). See the module documentation for what is kept (the
/// value, its kind, policy and location) and what is new (the data key, the wraps, the field
/// counters; the zone when moving).
pub struct Rewrapper {
    target: PublicKeyring,
    zone: Option<String>,
    opener: BatchOpener,
    /// Per old wrap ([`envelope::Wrap::id`]): the sealer with its new data key.
    sealers: HashMap<Vec<u8>, Sealer>,
    older_sealers: HashMap<Vec<u8>, Sealer>,
    out: Vec<u8>,
}

impl fmt::Debug for Rewrapper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rewrapper")
            .field("target_zones", &self.target.zones())
            .field("zone", &self.zone)
            .finish_non_exhaustive()
    }
}

impl Rewrapper {
    /// Rewrap to `target` (public keys): each value to the newest key of each region of its
    /// own zone (rotation), or, with `zone`, of that zone (moving: the envelope's zone becomes
    /// `zone`).
    pub fn new(target: PublicKeyring, zone: Option<&str>) -> Self {
        Rewrapper {
            target,
            zone: zone.map(str::to_owned),
            opener: BatchOpener::new(),
            sealers: HashMap::new(),
            older_sealers: HashMap::new(),
            out: Vec::new(),
        }
    }

    /// Rewrap one envelope, opening it with `keys` (the old private keys). The plaintext lives
    /// only inside this call, in memory wiped on drop.
    pub fn rewrap(&mut self, keys: &PrivateKeyring, text: &str) -> Result<Rewrapped, RewrapError> {
        let wrap = envelope::wrap_of(text).map_err(RewrapError::Open)?;
        let zone = self.zone.as_deref().unwrap_or(&wrap.zone);
        let recipients = self
            .target
            .recipients(zone)
            .map_err(|_| RewrapError::NoTargetKey {
                zone: zone.to_owned(),
            })?;
        if wrap.zone == zone
            && wrap.hints.len() == recipients.len()
            && recipients.iter().all(|r| wrap.hints.contains(r.hint()))
        {
            return Ok(Rewrapped::Current);
        }
        let opened = self.opener.open(keys, text).map_err(RewrapError::Open)?;
        if !self.sealers.contains_key(&wrap.id) {
            // Two generations, as the opener's data keys: a second column of the same rows
            // finds the sealers of the first (its fields share the new wraps).
            let sealer = match self.older_sealers.remove(&wrap.id) {
                Some(sealer) => sealer,
                None => Sealer::new(&recipients, zone).map_err(RewrapError::Seal)?,
            };
            if self.sealers.len() >= MAX_SEALERS {
                self.older_sealers = std::mem::take(&mut self.sealers);
            }
            self.sealers.insert(wrap.id.clone(), sealer);
        }
        let Some(sealer) = self.sealers.get_mut(&wrap.id) else {
            return Err(RewrapError::Seal(SealError::NoRecipients));
        };
        self.out.clear();
        let binding = opened.binding();
        sealer
            .seal_into(
                &binding.policy,
                &binding.location,
                opened.kind(),
                opened.plaintext(),
                &mut self.out,
            )
            .map_err(RewrapError::Seal)?;
        // Envelope text is base64url: always ASCII.
        String::from_utf8(std::mem::take(&mut self.out))
            .map(Rewrapped::Sealed)
            .map_err(|_| RewrapError::Seal(SealError::NoRecipients))
    }
}

/// What a key store says of one subject key, for an [`ErasureCheck`].
#[derive(Debug)]
#[non_exhaustive]
pub enum StoredKey {
    /// The key lives (unwrapped from the store's `psk1.` record).
    Live(SubjectKey),
    /// The store keeps the key's record without the key: its subject was erased (`forget`).
    Erased,
    /// The store has no record of the key id.
    Absent,
    /// The store's record did not unwrap with the region's keys (`NoKey`, `Tampered`, ...).
    Unusable(AtRestError),
}

/// The verdict of an [`ErasureCheck`] on one stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verdict {
    /// The value is the erased subject's: a field at rest naming the subject, or any value of
    /// a row the caller marked as the subject's.
    pub of_subject: bool,
    /// `Erased`, `opens` (the subject's value still opens), `ok` (another subject's value
    /// opens), `envelope` (an edge envelope of another row, not opened), `plaintext`,
    /// `token`, `malformed` (an envelope that does not parse), `null`, or why the value did
    /// not open (`NoKey`, `Tampered`, `WrongKey`, `Malformed`, `UnsupportedVersion`).
    pub status: &'static str,
    /// The value breaks the erasure: a value of the subject that opens or is in clear, or a
    /// field at rest of another subject that does not open (and was not erased).
    pub offender: bool,
}

/// Checks, value by value, that a data subject's erasure (docs/erasure.md) holds in a table:
/// no value of the subject opens, and the fields at rest (`pr1.`) of every other subject
/// still do. A field at rest names its subject and key id in its clear header; an edge
/// envelope (`pe2.`) names no subject, so the caller says which rows are the subject's (by a
/// subject id or token column) and the check opens the envelopes of those rows with the
/// region's keys (they open with the region key alone: erasure never reached them).
///
/// The key store is the caller's: [`ErasureCheck::unknown_key_id`] says which key ids to look
/// up, [`ErasureCheck::set_key`] records what the store said. Nothing opened leaves the call.
///
/// ```
/// use pii_core::at_rest::{self, SubjectKey};
/// use pii_core::batch::{ErasureCheck, StoredKey};
/// use pii_core::envelope::{Binding, TestSealer, ValueKind};
/// use pii_core::{Location, location::Part, keys::PrivateKey, PrivateKeyring};
/// let mut keys = PrivateKeyring::new();
/// keys.push(PrivateKey::generate("eu", "eu-1", 1)?);
/// let mut sealer = TestSealer::new(&keys.public().recipients("eu")?, "eu")?;
/// let at = Binding::new("p", "eu", Location::field(Part::Header, "x-id", 0));
/// let (ann, bob) = (SubjectKey::generate("ann", 1)?, SubjectKey::generate("bob", 1)?);
/// let ann_field = at_rest::rewrap(&keys, &sealer.seal(&at, ValueKind::Text, b"1")?, &ann)?;
/// let bob_field = at_rest::rewrap(&keys, &sealer.seal(&at, ValueKind::Text, b"2")?, &bob)?;
///
/// let mut check = ErasureCheck::new("ann");
/// check.set_key(ann.key_id(), StoredKey::Erased); // forget("ann") destroyed it
/// check.set_key(bob.key_id(), StoredKey::Live(bob));
/// let a = check.check(&keys, Some(&ann_field), false);
/// assert_eq!((a.of_subject, a.status, a.offender), (true, "Erased", false));
/// let b = check.check(&keys, Some(&bob_field), false);
/// assert_eq!((b.of_subject, b.status, b.offender), (false, "ok", false));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ErasureCheck {
    subject: String,
    keys: HashMap<String, StoredKey>,
    opener: BatchOpener,
}

impl fmt::Debug for ErasureCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErasureCheck")
            .field("subject", &self.subject)
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl ErasureCheck {
    /// A check of the erasure of `subject` (the subject id the fields at rest carry).
    pub fn new(subject: &str) -> Self {
        ErasureCheck {
            subject: subject.to_owned(),
            keys: HashMap::new(),
            opener: BatchOpener::new(),
        }
    }

    /// The key id of field at rest `text` when this check does not know its key yet: look it
    /// up in the key store and [`ErasureCheck::set_key`] it. `None` for anything else.
    pub fn unknown_key_id(&self, text: &str) -> Option<String> {
        if !at_rest::is_at_rest(text) {
            return None;
        }
        let header = at_rest::header(text).ok()?;
        (!self.keys.contains_key(&header.key_id)).then_some(header.key_id)
    }

    /// Record what the key store says of key `key_id`.
    pub fn set_key(&mut self, key_id: String, key: StoredKey) {
        self.keys.insert(key_id, key);
    }

    /// The verdict on one stored value (`None`: SQL NULL); `subject_row` says that the value's
    /// row is the subject's. `keys` are the region's private keys (edge envelopes of the
    /// subject's rows are opened with them).
    pub fn check(
        &mut self,
        keys: &PrivateKeyring,
        value: Option<&str>,
        subject_row: bool,
    ) -> Verdict {
        let verdict = |of_subject, status, offender| Verdict {
            of_subject,
            status,
            offender,
        };
        let Some(text) = value else {
            return verdict(subject_row, NULL, false);
        };
        if at_rest::is_at_rest(text) {
            let header = match at_rest::header(text) {
                Ok(h) => h,
                // A damaged field of nobody knows whom: it opens for no one.
                Err(e) => return verdict(subject_row, e.name(), !subject_row),
            };
            let mine = header.subject == self.subject;
            let opened = match self.keys.get(&header.key_id) {
                Some(StoredKey::Live(key)) => at_rest::open(key, text).map(|_| ()),
                Some(StoredKey::Erased) => Err(AtRestError::Erased),
                Some(StoredKey::Unusable(e)) => Err(*e),
                Some(StoredKey::Absent) | None => Err(AtRestError::NoKey),
            };
            return match opened {
                Ok(()) if mine => verdict(true, "opens", true),
                Ok(()) => verdict(false, "ok", false),
                Err(AtRestError::Erased) => verdict(mine, "Erased", false),
                Err(e) => verdict(mine, e.name(), !mine),
            };
        }
        match classify(text) {
            Class::Envelope if subject_row => match self.opener.open(keys, text) {
                Ok(_) => verdict(true, "opens", true),
                Err(e) => verdict(true, e.name(), false),
            },
            Class::Plaintext => verdict(subject_row, Class::Plaintext.name(), subject_row),
            class => verdict(subject_row, class.name(), false),
        }
    }
}

/// Status of an SQL NULL in every outcome column.
const NULL: &str = "null";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{open, Binding, TestSealer, ValueKind};
    use crate::keys::PrivateKey;
    use crate::location::{Location, Part};
    use proptest::prelude::*;

    fn ring(keys: &[&PrivateKey]) -> PrivateKeyring {
        let jwks = format!(
            r#"{{"keys":[{}]}}"#,
            keys.iter()
                .map(|k| k.to_jwk())
                .collect::<Vec<_>>()
                .join(",")
        );
        PrivateKeyring::from_jwks(&jwks).expect("ring")
    }

    fn at(name: &str) -> Binding {
        Binding::new("p", "eu", Location::field(Part::Query, name, 0))
    }

    #[test]
    fn classes() {
        let k = PrivateKey::generate("eu", "eu-1", 1).expect("key");
        let mut s = TestSealer::new(&[&k.public()], "eu").expect("sealer");
        let e = s.seal(&at("a"), ValueKind::Text, b"x").expect("seal");
        assert_eq!(classify(&e), Class::Envelope);
        assert_eq!(classify(&e[..e.len() - 5]), Class::Malformed);
        assert_eq!(classify(&e.replacen("pe2.", "pe3.", 1)), Class::Malformed);
        assert_eq!(classify(""), Class::Plaintext);
        assert_eq!(classify("pe2"), Class::Plaintext);
        let mac = "A".repeat(43);
        assert_eq!(classify(&format!("tk1.email.v2.{mac}")), Class::Token);
        assert_eq!(classify(&format!("tk1.Email.{mac}")), Class::Plaintext);
        assert_eq!(classify(&format!("tk1..{mac}")), Class::Plaintext);
        assert_eq!(classify(&format!("ts1.email.{mac}")), Class::Token);
        assert_eq!(classify(&format!("ts2.email.{mac}")), Class::Plaintext);
    }

    /// Fields at rest are neither plaintext nor envelopes: an audit of a rewrapped table must
    /// not count them as values in clear.
    #[test]
    fn fields_at_rest_have_their_class() {
        let k = PrivateKey::generate("eu", "eu-1", 1).expect("key");
        let mut s = TestSealer::new(&[&k.public()], "eu").expect("sealer");
        let e = s.seal(&at("email"), ValueKind::Text, b"x").expect("seal");
        let subject = at_rest::SubjectKey::generate("user-42", 1).expect("subject key");
        let field = at_rest::rewrap(&ring(&[&k]), &e, &subject).expect("rewrap");
        assert!(field.starts_with("pr1."), "{field}");
        assert_eq!(classify(&field), Class::AtRest);
        assert_eq!(Class::AtRest.name(), "at-rest");
        // Cut inside the header (a cut in the ciphertext may still decode: its header parses,
        // and only opening finds the damage).
        assert_eq!(classify(&field[..20]), Class::Malformed);
        assert_eq!(
            classify(&field.replacen("pr1.", "pr2.", 1)),
            Class::Malformed
        );
        assert_eq!(classify("pr1"), Class::Plaintext);
    }

    /// Fields of one wrap share one new wrap; fields of two wraps get two new data keys; the
    /// old keys no longer open the result, the new ones do, with the same binding and kind.
    #[test]
    fn rotation_keeps_groups_and_needs_only_new_keys() {
        let old = PrivateKey::generate("eu", "eu-1", 1).expect("key");
        let old2 = PrivateKey::generate("eu", "eu-2", 1).expect("key");
        let new = PrivateKey::generate("eu", "eu-1", 2).expect("key");
        let new2 = PrivateKey::generate("eu", "eu-2", 2).expect("key");
        let old_ring = ring(&[&old, &old2]);
        let new_ring = ring(&[&new]);
        let mut r1 = TestSealer::new(&[&old.public(), &old2.public()], "eu").expect("s");
        let mut r2 = TestSealer::new(&[&old.public(), &old2.public()], "eu").expect("s");
        let a = r1.seal(&at("a"), ValueKind::Text, b"1").expect("a");
        let b = r1.seal(&at("b"), ValueKind::String, b"\"2\"").expect("b");
        let c = r2.seal(&at("c"), ValueKind::Number, b"3").expect("c");
        let mut job = Rewrapper::new(ring(&[&new, &new2, &old, &old2]).public(), None);
        let out: Vec<String> = [&a, &b, &c]
            .iter()
            .map(|v| match job.rewrap(&old_ring, v) {
                Ok(Rewrapped::Sealed(s)) => s,
                other => panic!("{other:?}"),
            })
            .collect();
        let wraps: Vec<Vec<u8>> = out
            .iter()
            .map(|s| envelope::wrap_of(s).expect("wrap").id)
            .collect();
        assert_eq!(wraps[0], wraps[1]);
        assert_ne!(wraps[0], wraps[2]);
        for (text, (was, kind, plain)) in out.iter().zip([
            (&a, ValueKind::Text, &b"1"[..]),
            (&b, ValueKind::String, b"\"2\""),
            (&c, ValueKind::Number, b"3"),
        ]) {
            let o = open(&new_ring, text).expect("opens with the new key alone");
            assert_eq!(o.plaintext(), plain);
            assert_eq!(o.kind(), kind);
            assert_eq!(o.binding(), open(&old_ring, was).expect("old").binding());
            assert_eq!(open(&old_ring, text).unwrap_err(), OpenError::NoKey);
        }
        // Run again: nothing to do.
        assert_eq!(job.rewrap(&old_ring, &out[0]), Ok(Rewrapped::Current));
    }

    #[test]
    fn moving_zones_and_per_value_errors() {
        let eu = PrivateKey::generate("eu", "eu-1", 1).expect("key");
        let us = PrivateKey::generate("us", "us-1", 1).expect("key");
        let mut s = TestSealer::new(&[&eu.public()], "eu").expect("s");
        let a = s.seal(&at("a"), ValueKind::Text, b"1").expect("a");
        let mut job = Rewrapper::new(ring(&[&us]).public(), Some("us"));
        let Ok(Rewrapped::Sealed(moved)) = job.rewrap(&ring(&[&eu]), &a) else {
            panic!("not moved")
        };
        let o = open(&ring(&[&us]), &moved).expect("open");
        assert_eq!(o.binding().zone, "us");
        assert_eq!(o.binding().location, at("a").location);
        // Per value: no key, malformed, no target key.
        assert_eq!(
            job.rewrap(&ring(&[&us]), &a),
            Err(RewrapError::Open(OpenError::NoKey))
        );
        assert_eq!(
            job.rewrap(&ring(&[&eu]), "pe2.AAAA"),
            Err(RewrapError::Open(OpenError::Malformed))
        );
        let mut nowhere = Rewrapper::new(ring(&[&us]).public(), None);
        assert_eq!(
            nowhere.rewrap(&ring(&[&eu]), &a),
            Err(RewrapError::NoTargetKey { zone: "eu".into() })
        );
        let mut tampered = a.clone();
        let last = tampered.pop().expect("char");
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(matches!(
            job.rewrap(&ring(&[&eu]), &tampered),
            Err(RewrapError::Open(
                OpenError::Tampered | OpenError::Malformed
            ))
        ));
    }

    /// Every verdict of an erasure check: the subject's fields at rest are `Erased`, another
    /// subject's open, and what still opens or is in clear in the subject's rows is flagged.
    #[test]
    fn erasure_check_verdicts() {
        let k = PrivateKey::generate("eu", "eu-1", 1).expect("key");
        let keys = ring(&[&k]);
        let mut s = TestSealer::new(&[&k.public()], "eu").expect("sealer");
        let mut field = |v: &[u8]| s.seal(&at("a"), ValueKind::Text, v).expect("seal");
        let (edge, edge2) = (field(b"1"), field(b"2"));
        let ann = SubjectKey::generate("ann", 1).expect("ann");
        let bob = SubjectKey::generate("bob", 1).expect("bob");
        let ann_old = SubjectKey::generate("ann", 0).expect("ann");
        let carl = SubjectKey::generate("carl", 1).expect("carl");
        let mut rest =
            |key: &SubjectKey, v| at_rest::rewrap(&keys, &field(v), key).expect("rewrap");
        let (ann_f, ann_old_f, bob_f, carl_f) = (
            rest(&ann, b"3"),
            rest(&ann_old, b"4"),
            rest(&bob, b"5"),
            rest(&carl, b"6"),
        );
        // A changed character in the tag (not the last one, whose trailing bits are checked).
        let mut bob_tampered = bob_f.clone().into_bytes();
        let at_tag = bob_tampered.len() - 6;
        bob_tampered[at_tag] = if bob_tampered[at_tag] == b'A' {
            b'B'
        } else {
            b'A'
        };
        let bob_tampered = String::from_utf8(bob_tampered).expect("ascii");

        let mut check = ErasureCheck::new("ann");
        assert_eq!(check.unknown_key_id(&ann_f), Some(ann.key_id()));
        assert_eq!(check.unknown_key_id(&edge), None);
        check.set_key(ann.key_id(), StoredKey::Erased);
        check.set_key(ann_old.key_id(), StoredKey::Live(ann_old));
        check.set_key(bob.key_id(), StoredKey::Live(bob));
        check.set_key(carl.key_id(), StoredKey::Absent);
        assert_eq!(check.unknown_key_id(&ann_f), None);
        let v = |c: &mut ErasureCheck, text: Option<&str>, row| {
            let v = c.check(&keys, text, row);
            (v.of_subject, v.status, v.offender)
        };
        let c = &mut check;
        assert_eq!(v(c, Some(&ann_f), false), (true, "Erased", false));
        assert_eq!(v(c, Some(&ann_old_f), false), (true, "opens", true));
        assert_eq!(v(c, Some(&bob_f), true), (false, "ok", false));
        assert_eq!(v(c, Some(&bob_tampered), false), (false, "Tampered", true));
        assert_eq!(v(c, Some(&carl_f), false), (false, "NoKey", true));
        assert_eq!(v(c, Some("pr1.AAAA"), false), (false, "Malformed", true));
        assert_eq!(v(c, Some(&edge), true), (true, "opens", true));
        assert_eq!(v(c, Some(&edge2), false), (false, "envelope", false));
        assert_eq!(v(c, Some(&edge2[..40]), true), (true, "malformed", false));
        assert_eq!(
            v(c, Some("ann@example.com"), true),
            (true, "plaintext", true)
        );
        assert_eq!(
            v(c, Some("ann@example.com"), false),
            (false, "plaintext", false)
        );
        assert_eq!(v(c, None, true), (true, "null", false));
        let other = PrivateKey::generate("eu", "eu-1", 2).expect("key");
        assert_eq!(
            check.check(&ring(&[&other]), Some(&edge), true).status,
            "NoKey"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Any column of fields from a few requests, with garbage mixed in: the batch opener
        /// answers exactly what `open` answers, value by value, and a rewrap opens back to
        /// the same plaintext under the new key.
        #[test]
        fn batch_matches_one_by_one(
            fields in proptest::collection::vec((0usize..3, proptest::collection::vec(any::<u8>(), 0..40), any::<bool>()), 1..24)
        ) {
            let old = PrivateKey::generate("eu", "eu-1", 1).expect("key");
            let new = PrivateKey::generate("eu", "eu-1", 2).expect("key");
            let (old_ring, new_ring) = (ring(&[&old]), ring(&[&new]));
            let mut sealers: Vec<TestSealer> = (0..3)
                .map(|_| TestSealer::new(&[&old.public()], "eu").expect("s"))
                .collect();
            let column: Vec<String> = fields
                .iter()
                .enumerate()
                .map(|(i, (req, bytes, garbage))| {
                    if *garbage {
                        String::from_utf8_lossy(bytes).into_owned()
                    } else {
                        sealers[*req]
                            .seal(&at(&format!("f{i}")), ValueKind::Text, bytes)
                            .expect("seal")
                    }
                })
                .collect();
            let mut opener = BatchOpener::new();
            let mut job = Rewrapper::new(new_ring.public(), None);
            for text in &column {
                let one = open(&old_ring, text).map(|o| o.plaintext().to_vec());
                let batch = opener.open(&old_ring, text).map(|o| o.plaintext().to_vec());
                prop_assert_eq!(&one, &batch);
                match job.rewrap(&old_ring, text) {
                    Ok(Rewrapped::Sealed(s)) => {
                        let again = open(&new_ring, &s).map(|o| o.plaintext().to_vec());
                        prop_assert_eq!(again.ok(), one.ok());
                    }
                    Ok(Rewrapped::Current) => prop_assert!(false, "old field is not current"),
                    Err(e) => prop_assert_eq!(Err(e), one.map(|_| ()).map_err(RewrapError::Open)),
                }
            }
        }
    }
}
