//! Opening (docs/envelope.md §6): with a private keyring, one envelope or the fields of one
//! request sharing a data key.

#[cfg(feature = "open")]
use std::fmt;

#[cfg(feature = "open")]
use zeroize::Zeroizing;

#[cfg(feature = "open")]
use super::format::{
    decode_text, field_nonce, header, hpke_info, parse_binary, Binding, OpenError, Parsed,
    ValueKind, ENC_LEN, RECIPIENT_LEN,
};
#[cfg(feature = "open")]
use crate::crypto;
#[cfg(feature = "open")]
use crate::keys::{PrivateKey, PrivateKeyring, HINT_LEN};

/// An opened envelope: the value's kind, its exact plaintext and where it belongs.
///
/// The plaintext is wiped from memory on drop, and `Debug` does not show it.
#[cfg(feature = "open")]
pub struct Opened {
    kind: ValueKind,
    plaintext: Zeroizing<Vec<u8>>,
    binding: Binding,
}

#[cfg(feature = "open")]
impl Opened {
    /// The value's JSON type, or [`ValueKind::Text`] for a header, query, form or cookie value.
    pub fn kind(&self) -> ValueKind {
        self.kind
    }

    /// The exact bytes that were sealed: for the JSON kinds one JSON value as it arrived
    /// (a string with its quotes and escapes), for text the decoded value.
    pub fn plaintext(&self) -> &[u8] {
        &self.plaintext
    }

    /// The policy, zone and location the value was sealed for (authenticated).
    pub fn binding(&self) -> &Binding {
        &self.binding
    }
}

#[cfg(feature = "open")]
impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("kind", &self.kind)
            .field(
                "plaintext",
                &format_args!("<{} bytes>", self.plaintext.len()),
            )
            .field("binding", &self.binding)
            .finish()
    }
}

/// Why `keys` hold no key for the envelope `text`, for an error message a person can act on
/// (feature `open`): the zone it was sealed for and its recipients' key ids, beside the keys
/// the keyring has. Names key ids and zones only, never key material or a value.
///
/// ```
/// use pii_core::envelope::{no_key_reason, Binding, TestSealer, ValueKind};
/// use pii_core::{Location, location::Part, keys::PrivateKey, PrivateKeyring};
/// let mut sealed_to = PrivateKeyring::new();
/// sealed_to.push(PrivateKey::generate("eu-central", "eu-central-1", 1)?);
/// let public = sealed_to.public();
/// let mut sealer = TestSealer::new(&public.recipients("eu-central")?, "eu-central")?;
/// let at = Binding::new("profile", "eu-central", Location::field(Part::Header, "x-id", 0));
/// let sealed = sealer.seal(&at, ValueKind::Text, b"DE-4711")?;
///
/// let mut other = PrivateKeyring::new();
/// other.push(PrivateKey::generate("eu-north", "eu-north-1", 1)?);
/// let reason = no_key_reason(&other, &sealed);
/// assert!(reason.contains("zone `eu-central`"));
/// assert!(reason.contains("eu-north-1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "open")]
pub fn no_key_reason(keys: &PrivateKeyring, text: &str) -> String {
    let held: Vec<String> = keys
        .public()
        .keys()
        .iter()
        .map(|k| format!("{} ({}/{})", k.kid(), k.zone(), k.region()))
        .collect();
    let held = if held.is_empty() {
        "this keyring is empty".to_owned()
    } else {
        format!("this keyring has {}", held.join(", "))
    };
    match header(text) {
        Ok(h) => format!(
            "no private key for this envelope: it is sealed for zone `{}` to the key(s) whose id starts with {}; {held}",
            h.binding.zone,
            h.recipient_kid_prefixes
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Err(e) => e.to_string(),
    }
}

/// Open an envelope with the private keys of this region (feature `open`): returns the kind,
/// the exact plaintext and the binding it was sealed with. Needs nothing but the keys.
///
/// Checks, in order: the text is an envelope ([`OpenError::Malformed`]) of version 2
/// ([`OpenError::UnsupportedVersion`]); a key of `keys` for the envelope's zone is among its
/// recipients ([`OpenError::NoKey`]); the data key unwraps and the field, with its whole header
/// as associated data, authenticates ([`OpenError::Tampered`] for any changed byte or a key
/// that is not the recipient).
///
/// To refuse a value found somewhere else than where it was sealed, use [`open_expecting`].
///
/// ```
/// use pii_core::envelope::{open, ValueKind};
/// use pii_core::{Engine, Outcome, Policy, keys::PrivateKey, PrivateKeyring, Request, TokenKeys};
/// // The region's private key (in production: from its secret store) and the edge's engine.
/// let mut keys = PrivateKeyring::new();
/// keys.push(PrivateKey::generate("eu-central", "eu-central-1", 1)?);
/// let policy = Policy::from_json(r#"{"apiVersion":"pii-edge/v1","name":"signup","zone":"eu-central",
///   "match":{"paths":["/api/users"]},"rules":[{"select":{"json":"$.email"},"action":"encrypt"}]}"#)?;
/// let edge = Engine::new(vec![policy], keys.public(), TokenKeys::default())?;
/// let req = Request::new("POST", "/api/users")
///     .with_header("content-type", "application/json")
///     .with_body(br#"{"email":"alice@example.com"}"#.to_vec());
/// let Outcome::Protected(p) = edge.apply(&req) else { panic!() };
/// let body: serde_json::Value = serde_json::from_slice(&p.request.body)?;
/// let sealed = body["email"].as_str().unwrap(); // "pe2.AgEK..."
///
/// // At the origin: the keys are all it takes.
/// let opened = open(&keys, sealed)?;
/// assert_eq!(opened.kind(), ValueKind::String);
/// assert_eq!(opened.plaintext(), br#""alice@example.com""#);
/// assert_eq!(opened.binding().policy, "signup");
/// assert_eq!(opened.binding().location.to_string(), "json:$['email']");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "open")]
pub fn open(keys: &PrivateKeyring, text: &str) -> Result<Opened, OpenError> {
    open_checked(keys, text, None, None)
}

/// Open an envelope and insist that it was sealed under `expected` (feature `open`): the way
/// an origin opens a value it found at a known place of a request.
///
/// Checks as [`open`], and also: the envelope's zone is `expected.zone`
/// ([`OpenError::WrongZone`], before any key is tried); after authentication, its policy is
/// `expected.policy` ([`OpenError::WrongPolicy`]) and its location `expected.location`
/// ([`OpenError::WrongLocation`]: a value copied to another field).
///
/// ```
/// use pii_core::envelope::{open_expecting, Binding, OpenError, TestSealer, ValueKind};
/// use pii_core::{Location, location::Part, keys::PrivateKey, PrivateKeyring};
/// let mut keys = PrivateKeyring::new();
/// keys.push(PrivateKey::generate("eu-central", "eu-central-1", 1)?);
/// let public = keys.public();
/// let mut sealer = TestSealer::new(&public.recipients("eu-central")?, "eu-central")?;
/// let at = |name: &str| Binding::new("profile", "eu-central", Location::field(Part::Header, name, 0));
/// let sealed = sealer.seal(&at("x-national-id"), ValueKind::Text, b"DE-4711")?;
///
/// assert!(open_expecting(&keys, &sealed, &at("x-national-id")).is_ok());
/// // Found in another header: refused.
/// assert_eq!(open_expecting(&keys, &sealed, &at("x-note")).unwrap_err(), OpenError::WrongLocation);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "open")]
pub fn open_expecting(
    keys: &PrivateKeyring,
    text: &str,
    expected: &Binding,
) -> Result<Opened, OpenError> {
    open_checked(keys, text, Some(expected), None)
}

/// Data keys unwrapped while opening the envelopes of one request. Every envelope the edge
/// sealed for one request carries the same data key wrapped to the same recipients (the same
/// `enc` and wrapped key), so one HPKE open, the X25519 agreement that costs most of an
/// opening, serves all of them. An entry is found only by the exact private key, `info`,
/// `enc` and wrapped bytes it was unwrapped from; every field is still authenticated with its
/// whole header. Keys are wiped on drop. Scope one to one request (one [`crate::reveal`]).
///
/// A batch ([`crate::batch`]) keeps a larger one over many requests' fields. When it is full
/// its entries become the older generation (still found) and the generation before is dropped:
/// a column of unrelated wraps costs what opening each one alone costs, and a second column of
/// the same rows still finds the keys the first one unwrapped.
#[cfg(feature = "open")]
pub(crate) struct DataKeys {
    pub(super) entries: std::collections::HashMap<Vec<u8>, Zeroizing<[u8; crypto::KEY_LEN]>>,
    /// The entries before `entries` last filled up: still found, dropped at the next fill.
    pub(super) older: std::collections::HashMap<Vec<u8>, Zeroizing<[u8; crypto::KEY_LEN]>>,
    max: usize,
}

#[cfg(feature = "open")]
impl Default for DataKeys {
    fn default() -> Self {
        DataKeys::with_max(DataKeys::MAX)
    }
}

#[cfg(feature = "open")]
impl DataKeys {
    /// Most data keys kept for one request: it normally has one; a hostile one gains nothing
    /// by many.
    const MAX: usize = 8;

    /// A cache of at most `max` data keys (at least 1).
    pub(crate) fn with_max(max: usize) -> Self {
        DataKeys {
            entries: std::collections::HashMap::new(),
            older: std::collections::HashMap::new(),
            max: max.max(1),
        }
    }

    fn id(key: &PrivateKey, info: &[u8], enc: &[u8], wrapped: &[u8]) -> Vec<u8> {
        let kid = key.public_ref().kid().as_bytes();
        let mut id = Vec::with_capacity(kid.len() + info.len() + enc.len() + wrapped.len() + 3);
        for part in [kid, info, enc, wrapped] {
            id.extend_from_slice(part);
            id.push(0xff); // not a byte of a kid; info, enc and wrapped have fixed lengths
        }
        id
    }
}

/// Open one envelope of a request, reusing the data keys already unwrapped for it
/// (`open_expecting` when `expected` is given).
#[cfg(feature = "open")]
pub(crate) fn open_in_request(
    keys: &PrivateKeyring,
    text: &str,
    expected: Option<&Binding>,
    data_keys: &mut DataKeys,
) -> Result<Opened, OpenError> {
    open_checked(keys, text, expected, Some(data_keys))
}

/// Which data-key wrap an envelope carries, read without a key: its zone, its recipients'
/// 8-byte key id hints (§2.2), and `id`, equal for exactly the envelopes that share one wrap
/// (the fields of one request: same zone and recipient block).
#[cfg(feature = "open")]
pub(crate) struct Wrap {
    pub(crate) zone: String,
    pub(crate) hints: Vec<[u8; HINT_LEN]>,
    pub(crate) id: Vec<u8>,
}

/// The [`Wrap`] of envelope `text`: `Malformed` or `UnsupportedVersion` as [`open`] says.
#[cfg(feature = "open")]
pub(crate) fn wrap_of(text: &str) -> Result<Wrap, OpenError> {
    let binary = decode_text(text)?;
    let env = parse_binary(&binary)?;
    let mut id = Vec::with_capacity(1 + env.zone.len() + RECIPIENT_LEN * env.recipients.len());
    id.push(u8::try_from(env.zone.len()).map_err(|_| OpenError::Malformed)?);
    id.extend_from_slice(env.zone.as_bytes());
    let mut hints = Vec::with_capacity(env.recipients.len());
    for r in &env.recipients {
        id.extend_from_slice(r);
        let mut hint = [0u8; HINT_LEN];
        hint.copy_from_slice(&r[..HINT_LEN]);
        hints.push(hint);
    }
    Ok(Wrap {
        zone: env.zone.to_owned(),
        hints,
        id,
    })
}

#[cfg(feature = "open")]
pub(super) fn open_checked(
    keys: &PrivateKeyring,
    text: &str,
    expected: Option<&Binding>,
    mut data_keys: Option<&mut DataKeys>,
) -> Result<Opened, OpenError> {
    let binary = decode_text(text)?;
    let env = parse_binary(&binary)?;
    if expected.is_some_and(|b| b.zone != env.zone) {
        return Err(OpenError::WrongZone);
    }
    let info = hpke_info(env.zone.as_bytes());
    let mut found = false;
    let mut plaintext = None;
    'recipients: for recipient in &env.recipients {
        let (hint, rest) = recipient.split_at(HINT_LEN);
        let (enc, wrapped) = rest.split_at(ENC_LEN);
        for key in keys.candidates(env.zone.as_bytes(), hint) {
            found = true;
            if let Some(p) = open_with(key, enc, wrapped, &info, &env, data_keys.as_deref_mut()) {
                plaintext = Some(p);
                break 'recipients;
            }
        }
    }
    let Some(plaintext) = plaintext else {
        return Err(if found {
            OpenError::Tampered
        } else {
            OpenError::NoKey
        });
    };
    if let Some(expected) = expected {
        if expected.policy != env.policy {
            return Err(OpenError::WrongPolicy);
        }
        if expected.location != env.location {
            return Err(OpenError::WrongLocation);
        }
    }
    Ok(Opened {
        kind: env.kind,
        plaintext,
        binding: Binding {
            policy: env.policy.to_owned(),
            zone: env.zone.to_owned(),
            location: env.location,
        },
    })
}

/// Unwrap the data key with one private key and open the field; `None` on any failure.
#[cfg(feature = "open")]
pub(super) fn open_with(
    key: &PrivateKey,
    enc: &[u8],
    wrapped: &[u8],
    info: &[u8],
    env: &Parsed<'_>,
    data_keys: Option<&mut DataKeys>,
) -> Option<Zeroizing<Vec<u8>>> {
    let id = data_keys
        .as_ref()
        .map(|_| DataKeys::id(key, info, enc, wrapped));
    let cached = match (&data_keys, &id) {
        (Some(cache), Some(id)) => cache.entries.get(id).or(cache.older.get(id)).cloned(),
        _ => None,
    };
    let dk = match cached {
        Some(dk) => dk,
        None => {
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
            let mut out = Zeroizing::new([0u8; crypto::KEY_LEN]);
            out.copy_from_slice(dk.get(..crypto::KEY_LEN)?);
            if dk.len() != crypto::KEY_LEN {
                return None;
            }
            if let (Some(cache), Some(id)) = (data_keys, id) {
                if cache.entries.len() >= cache.max {
                    cache.older = std::mem::take(&mut cache.entries);
                }
                cache.entries.insert(id, out.clone());
            }
            out
        }
    };
    crypto::aes256gcm_open(&dk, field_nonce(env.counter), env.aad, env.ct).ok()
}
