//! Keys: X25519 recipient keys and HMAC token keys.
//!
//! * Recipient keys are X25519 keys written as JWK (RFC 7517, RFC 8037: `"kty":"OKP"`,
//!   `"crv":"X25519"`), identified by their RFC 7638 thumbprint (`kid`), and distributed as a
//!   JWK Set. Each key carries three members of our own: `zone` (the residency zone whose data
//!   it may read), `region` (the AWS region that holds the private key) and `created` (unix
//!   seconds). The edge loads a [`PublicKeyring`] and seals to the newest key of every region of
//!   a zone; origins load a [`PrivateKeyring`] (feature `open`) that keeps old keys so that data
//!   sealed before a rotation still opens.
//! * Token keys ([`TokenKey`]) are HMAC-SHA256 keys (`"kty":"oct"`) of a token domain. A domain
//!   may hold several keys (a rotation): the newest (`created`) tokenizes, and every one can
//!   still compute the tokens stored before ([`tokens`](crate::token::tokens)).
//!
//! The layout and the rules are specified in `docs/envelope.md`.

use std::collections::BTreeMap;
use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};
use zeroize::{Zeroize, Zeroizing};

use crate::crypto;

/// Longest zone, region or token domain name, in bytes.
pub(crate) const MAX_NAME_LEN: usize = 64;

/// Length of the key id hint carried in an envelope: the first 8 bytes of the SHA-256
/// thumbprint.
pub(crate) const HINT_LEN: usize = 8;

/// Why a key or key set was refused. Messages name the key by its position in the set
/// (`key #0` is the first) or by its `kid`, and never contain key material.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The key set is not valid JSON.
    Json {
        /// Line of the syntax error (1-based).
        line: usize,
        /// Column of the syntax error (1-based).
        column: usize,
    },
    /// The JSON is not a JWK Set: an object with a `keys` array (RFC 7517 §5).
    NotAKeySet,
    /// A key of a *public* key set carries private material (`d`, or `k` of a symmetric key).
    /// The edge refuses to start with it: its package is readable by many.
    PrivateKeyInPublicSet {
        /// Position of the key in the set.
        index: usize,
    },
    /// A key of a private key set has no `d`.
    MissingPrivateKey {
        /// Position of the key in the set.
        index: usize,
    },
    /// A key of a type or curve that this set does not take.
    UnsupportedKey {
        /// Position of the key in the set.
        index: usize,
        /// What the set takes.
        expected: &'static str,
    },
    /// A member is missing or has the wrong form.
    InvalidMember {
        /// Position of the key in the set.
        index: usize,
        /// The member (`x`, `d`, `zone`, ...).
        member: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// The `kid` member is not the RFC 7638 thumbprint of the key.
    KidMismatch {
        /// Position of the key in the set.
        index: usize,
        /// The thumbprint that `kid` must be.
        thumbprint: String,
    },
    /// The private key `d` does not belong to the public key `x`.
    PublicKeyMismatch {
        /// Position of the key in the set.
        index: usize,
    },
    /// Two keys with the same key id.
    DuplicateKey {
        /// The key id.
        kid: String,
    },
    /// Two token keys of one token domain with the same `created`: which one tokenizes would
    /// be a guess.
    DuplicateDomain {
        /// The token domain.
        domain: String,
    },
    /// One token secret used for two token domains.
    ReusedTokenKey {
        /// The second domain that uses it.
        domain: String,
    },
    /// A token key shorter than 32 bytes.
    WeakTokenKey {
        /// Position of the key in the set.
        index: usize,
    },
    /// A zone, region or token domain name that breaks the naming rule.
    InvalidName {
        /// `"zone"`, `"region"` or `"token domain"`.
        what: &'static str,
        /// The name, shortened to 64 characters.
        name: String,
    },
    /// No public key for this residency zone.
    UnknownZone {
        /// The zone asked for.
        zone: String,
    },
    /// The operating system's random number generator failed.
    Random,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Json { line, column } => write!(
                f,
                "key set is not valid JSON (line {line}, column {column}): it must be a JWK Set document"
            ),
            KeyError::NotAKeySet => f.write_str(
                "key set must be a JSON object with a \"keys\" array (RFC 7517 JWK Set)",
            ),
            KeyError::PrivateKeyInPublicSet { index } => write!(
                f,
                "key #{index} of the public key set contains private key material (\"d\" or \"k\"): \
                 the edge may only hold public keys; publish the public key set instead and treat \
                 this key as exposed (rotate it)"
            ),
            KeyError::MissingPrivateKey { index } => write!(
                f,
                "key #{index} of the private key set has no \"d\": load the private key set of \
                 this region, not the public one"
            ),
            KeyError::UnsupportedKey { index, expected } => {
                write!(f, "key #{index} is not supported: only {expected} keys are accepted here")
            }
            KeyError::InvalidMember {
                index,
                member,
                expected,
            } => write!(f, "key #{index}: member \"{member}\" must be {expected}"),
            KeyError::KidMismatch { index, thumbprint } => write!(
                f,
                "key #{index}: \"kid\" is not the RFC 7638 thumbprint of the key; set it to \
                 \"{thumbprint}\" or leave it out"
            ),
            KeyError::PublicKeyMismatch { index } => write!(
                f,
                "key #{index}: \"x\" is not the public key of \"d\"; export the key again"
            ),
            KeyError::DuplicateKey { kid } => {
                write!(f, "key \"{kid}\" appears twice in the key set; remove one copy")
            }
            KeyError::DuplicateDomain { domain } => write!(
                f,
                "two token keys of domain \"{domain}\" have the same \"created\": the newest key \
                 tokenizes, so give the rotated-in key a later \"created\" (pii-edge keygen \
                 --token-domain {domain} --rotate does)"
            ),
            KeyError::ReusedTokenKey { domain } => write!(
                f,
                "token domain \"{domain}\" reuses the secret of another domain: generate one \
                 key per domain"
            ),
            KeyError::WeakTokenKey { index } => write!(
                f,
                "token key #{index}: \"k\" must be at least 32 random bytes (base64url)"
            ),
            KeyError::InvalidName { what, name } => {
                let rule = if *what == "token domain" {
                    "1 to 64 characters: parts of a-z, 0-9 and '-' joined by '.'"
                } else {
                    "1 to 64 characters from a-z, 0-9 and '-'"
                };
                write!(f, "{what} \"{name}\" is invalid: use {rule}")
            }
            KeyError::UnknownZone { zone } => write!(
                f,
                "no public key for zone \"{zone}\": add a key of each region of the zone to the \
                 public key set"
            ),
            KeyError::Random => f.write_str("the system random number generator failed"),
        }
    }
}

impl std::error::Error for KeyError {}

/// True for a zone or region name: 1 to 64 bytes of `a-z`, `0-9`, `-`.
pub(crate) fn is_valid_zone(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// True for a token domain: 1 to 64 bytes, parts of `a-z`, `0-9`, `-` joined by single dots
/// (`email`, `email.v2`).
pub(crate) fn is_valid_domain(name: &str) -> bool {
    name.len() <= MAX_NAME_LEN
        && name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

fn check_name(what: &'static str, name: &str) -> Result<(), KeyError> {
    let ok = if what == "token domain" {
        is_valid_domain(name)
    } else {
        is_valid_zone(name)
    };
    if ok {
        Ok(())
    } else {
        Err(KeyError::InvalidName {
            what,
            name: name.chars().take(MAX_NAME_LEN).collect(),
        })
    }
}

/// The RFC 7638 JWK thumbprint of an `OKP` key (RFC 8037 §2): base64url (no padding) of the
/// SHA-256 of `{"crv":<crv>,"kty":"OKP","x":<x>}` with no whitespace, members in this order.
/// `x` is the base64url public key as written in the JWK.
#[cfg(test)]
pub(crate) fn okp_thumbprint(crv: &str, x: &str) -> String {
    URL_SAFE_NO_PAD.encode(thumbprint_digest(crv, x))
}

pub(crate) fn thumbprint_digest(crv: &str, x: &str) -> [u8; 32] {
    let json = format!(
        "{{\"crv\":{},\"kty\":\"OKP\",\"x\":{}}}",
        json_string(crv),
        json_string(x)
    );
    crypto::sha256(json.as_bytes())
}

/// A JSON string literal (escaped as serde_json does).
fn json_string(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

/// An X25519 public key of one region, able to receive sealed fields.
///
/// Read from a JWK Set with [`PublicKeyring::from_jwks`]. Its [`kid`](PublicKey::kid) is the
/// RFC 7638 thumbprint, so the id is a function of the key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    kid: String,
    hint: [u8; HINT_LEN],
    zone: String,
    region: String,
    created: u64,
    x: [u8; crypto::X25519_LEN],
}

impl PublicKey {
    fn new(x: [u8; crypto::X25519_LEN], zone: String, region: String, created: u64) -> Self {
        let x_text = URL_SAFE_NO_PAD.encode(x);
        let digest = thumbprint_digest("X25519", &x_text);
        let mut hint = [0u8; HINT_LEN];
        hint.copy_from_slice(&digest[..HINT_LEN]);
        PublicKey {
            kid: URL_SAFE_NO_PAD.encode(digest),
            hint,
            zone,
            region,
            created,
            x,
        }
    }

    /// The key id: RFC 7638 thumbprint of the key, base64url without padding (43 characters).
    ///
    /// ```
    /// let ring = pii_core::PublicKeyring::from_jwks(r#"{"keys":[{"kty":"OKP","crv":"X25519",
    ///     "x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08",
    ///     "zone":"eu-central","region":"eu-central-1","created":1700000000}]}"#)?;
    /// let key = ring.recipients("eu-central")?[0];
    /// assert_eq!(key.kid().len(), 43); // RFC 7638 thumbprint, base64url
    /// assert_eq!((key.zone(), key.region(), key.created()), ("eu-central", "eu-central-1", 1700000000));
    /// # Ok::<(), pii_core::keys::KeyError>(())
    /// ```
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The residency zone whose data this key may read.
    pub fn zone(&self) -> &str {
        &self.zone
    }

    /// The region that holds the private key.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Creation time, unix seconds. The newest key of a region seals.
    pub fn created(&self) -> u64 {
        self.created
    }

    /// The key as a public JWK (one line of JSON, no private member).
    pub fn to_jwk(&self) -> String {
        write_jwk(self, None)
    }

    pub(crate) fn hint(&self) -> &[u8; HINT_LEN] {
        &self.hint
    }

    pub(crate) fn x(&self) -> &[u8; crypto::X25519_LEN] {
        &self.x
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("kid", &self.kid)
            .field("zone", &self.zone)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

fn write_jwk(key: &PublicKey, d: Option<&[u8; crypto::X25519_LEN]>) -> String {
    let mut out = format!(
        "{{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"{}\",\"kid\":\"{}\",\"use\":\"enc\",\"zone\":{},\"region\":{},\"created\":{}",
        URL_SAFE_NO_PAD.encode(key.x),
        key.kid,
        json_string(&key.zone),
        json_string(&key.region),
        key.created
    );
    if let Some(d) = d {
        out.push_str(",\"d\":\"");
        out.push_str(&URL_SAFE_NO_PAD.encode(d));
        out.push('"');
    }
    out.push('}');
    out
}

fn write_jwks<'a>(jwks: impl Iterator<Item = String> + 'a) -> String {
    let keys: Vec<String> = jwks.map(|k| format!("  {k}")).collect();
    if keys.is_empty() {
        "{\"keys\":[]}\n".to_owned()
    } else {
        format!("{{\"keys\":[\n{}\n]}}\n", keys.join(",\n"))
    }
}

/// Parse a JWK Set into its key objects.
fn parse_set(json: &str) -> Result<Vec<Value>, KeyError> {
    parse_keys(json, false)
}

/// Parse a JWK Set, or a single JWK (an object with `kty` and no `keys`), into its key objects.
fn parse_set_or_key(json: &str) -> Result<Vec<Value>, KeyError> {
    parse_keys(json, true)
}

fn parse_keys(json: &str, single_key: bool) -> Result<Vec<Value>, KeyError> {
    let value: Value = serde_json::from_str(json).map_err(|e| KeyError::Json {
        line: e.line(),
        column: e.column(),
    })?;
    match value {
        Value::Object(mut map) => match map.remove("keys") {
            Some(Value::Array(keys)) => Ok(keys),
            None if single_key && map.contains_key("kty") => Ok(vec![Value::Object(map)]),
            _ => Err(KeyError::NotAKeySet),
        },
        _ => Err(KeyError::NotAKeySet),
    }
}

/// Wipe the secret members of parsed keys once they have been read.
fn wipe_secrets(keys: &mut [Value]) {
    for key in keys {
        if let Value::Object(map) = key {
            for member in ["d", "k"] {
                if let Some(Value::String(s)) = map.get_mut(member) {
                    s.zeroize();
                }
            }
        }
    }
}

fn as_object(index: usize, key: &Value) -> Result<&Map<String, Value>, KeyError> {
    key.as_object().ok_or(KeyError::InvalidMember {
        index,
        member: "(key)",
        expected: "a JSON object",
    })
}

/// An optional string member.
fn opt_str<'a>(
    index: usize,
    obj: &'a Map<String, Value>,
    member: &'static str,
    expected: &'static str,
) -> Result<Option<&'a str>, KeyError> {
    match obj.get(member) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(KeyError::InvalidMember {
            index,
            member,
            expected,
        }),
    }
}

/// A required string member.
fn req_str<'a>(
    index: usize,
    obj: &'a Map<String, Value>,
    member: &'static str,
    expected: &'static str,
) -> Result<&'a str, KeyError> {
    opt_str(index, obj, member, expected)?.ok_or(KeyError::InvalidMember {
        index,
        member,
        expected,
    })
}

/// A base64url (no padding) member of exactly 32 bytes.
fn b64_32(
    index: usize,
    obj: &Map<String, Value>,
    member: &'static str,
) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    const EXPECTED: &str = "32 bytes in base64url without padding";
    let text = req_str(index, obj, member, EXPECTED)?;
    let bytes =
        Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| KeyError::InvalidMember {
                    index,
                    member,
                    expected: EXPECTED,
                })?,
        );
    let mut out = Zeroizing::new([0u8; 32]);
    if bytes.len() != out.len() {
        return Err(KeyError::InvalidMember {
            index,
            member,
            expected: EXPECTED,
        });
    }
    out.copy_from_slice(&bytes);
    Ok(out)
}

/// A 32-byte secret, wiped on drop.
type Secret32 = Zeroizing<[u8; 32]>;

/// Parse one X25519 JWK. With `private`, `d` is required and checked against `x`.
fn parse_okp(
    index: usize,
    key: &Value,
    private: bool,
) -> Result<(PublicKey, Option<Secret32>), KeyError> {
    let obj = as_object(index, key)?;
    let unsupported = KeyError::UnsupportedKey {
        index,
        expected: "X25519 (\"kty\":\"OKP\",\"crv\":\"X25519\")",
    };
    if obj.get("kty").and_then(Value::as_str) != Some("OKP")
        || obj.get("crv").and_then(Value::as_str) != Some("X25519")
    {
        return Err(unsupported);
    }
    let x = b64_32(index, obj, "x")?;
    if let Some(use_) = opt_str(index, obj, "use", "\"enc\"")? {
        if use_ != "enc" {
            return Err(KeyError::InvalidMember {
                index,
                member: "use",
                expected: "\"enc\"",
            });
        }
    }
    const NAME: &str = "1 to 64 characters from a-z, 0-9 and '-'";
    let zone = req_str(index, obj, "zone", NAME)?;
    let region = req_str(index, obj, "region", NAME)?;
    for (member, value) in [("zone", zone), ("region", region)] {
        if !is_valid_zone(value) {
            return Err(KeyError::InvalidMember {
                index,
                member,
                expected: NAME,
            });
        }
    }
    let created = obj
        .get("created")
        .and_then(Value::as_u64)
        .ok_or(KeyError::InvalidMember {
            index,
            member: "created",
            expected: "the creation time in whole seconds since 1970-01-01 UTC",
        })?;
    let public = PublicKey::new(*x, zone.to_owned(), region.to_owned(), created);
    if let Some(kid) = opt_str(index, obj, "kid", "a string")? {
        if kid != public.kid {
            return Err(KeyError::KidMismatch {
                index,
                thumbprint: public.kid,
            });
        }
    }
    if !private {
        return Ok((public, None));
    }
    #[cfg(feature = "open")]
    {
        let d = b64_32(index, obj, "d")?;
        if crypto::x25519_public(&d) != public.x {
            return Err(KeyError::PublicKeyMismatch { index });
        }
        Ok((public, Some(d)))
    }
    #[cfg(not(feature = "open"))]
    Ok((public, None))
}

/// The public keys the edge seals to: every region's X25519 keys, old and new.
///
/// Built from a JWK Set. A set that contains any private member is refused
/// ([`KeyError::PrivateKeyInPublicSet`]): the edge must not start with it.
///
/// ```
/// use pii_core::PublicKeyring;
/// let jwks = r#"{"keys":[
///   {"kty":"OKP","crv":"X25519","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08","use":"enc",
///    "zone":"eu-central","region":"eu-central-1","created":1700000000},
///   {"kty":"OKP","crv":"X25519","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo","use":"enc",
///    "zone":"eu-central","region":"eu-central-2","created":1700000000}
/// ]}"#;
/// let ring = PublicKeyring::from_jwks(jwks)?;
/// assert_eq!(ring.zones(), ["eu-central"]);
/// assert_eq!(ring.recipients("eu-central")?.len(), 2); // one per region
/// # Ok::<(), pii_core::keys::KeyError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublicKeyring {
    /// Sorted by zone, region, newest first, kid.
    keys: Vec<PublicKey>,
}

impl PublicKeyring {
    /// Read a JWK Set of X25519 public keys: `{"keys":[{"kty":"OKP","crv":"X25519","x":..,
    /// "kid":..,"use":"enc","zone":..,"region":..,"created":..}]}`. `kid` and `use` are
    /// optional; `kid`, when present, must be the RFC 7638 thumbprint. Other members are
    /// ignored. Any key with a `d` (or a `k`) is refused with
    /// [`KeyError::PrivateKeyInPublicSet`].
    ///
    /// ```
    /// use pii_core::{keys::KeyError, PublicKeyring};
    /// let leaked = r#"{"keys":[{"kty":"OKP","crv":"X25519","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08",
    ///   "d":"XasIfmJKikt54X-Lg4AO5m87sSkmGLb9HC-LJ_-I4Os","zone":"eu","region":"eu-1","created":1}]}"#;
    /// assert_eq!(PublicKeyring::from_jwks(leaked), Err(KeyError::PrivateKeyInPublicSet { index: 0 }));
    /// ```
    pub fn from_jwks(json: &str) -> Result<Self, KeyError> {
        let mut keys = parse_set(json)?;
        let result = Self::from_values(&keys);
        wipe_secrets(&mut keys);
        result
    }

    /// [`PublicKeyring::from_jwks`], also accepting one JWK on its own (what `pii-edge keygen`
    /// writes as `<kid>.public.jwk`).
    ///
    /// ```
    /// # use pii_core::PublicKeyring;
    /// let one = PublicKeyring::from_jwk_or_jwks(r#"{"kty":"OKP","crv":"X25519",
    ///   "x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08","zone":"eu","region":"eu-1","created":1}"#)?;
    /// assert_eq!(one.keys().len(), 1);
    /// # Ok::<(), pii_core::keys::KeyError>(())
    /// ```
    pub fn from_jwk_or_jwks(json: &str) -> Result<Self, KeyError> {
        let mut keys = parse_set_or_key(json)?;
        let result = Self::from_values(&keys);
        wipe_secrets(&mut keys);
        result
    }

    /// Add the keys of `other` (the edge's set assembled from the regions' public keys). A key
    /// already present with the same members is kept once; the same key id with other members
    /// is refused ([`KeyError::DuplicateKey`]).
    ///
    /// ```
    /// # use pii_core::{keys::PrivateKey, PublicKeyring};
    /// let a = PrivateKey::generate("eu", "eu-central-1", 1)?.public();
    /// let b = PrivateKey::generate("eu", "eu-west-1", 1)?.public();
    /// let mut edge = PublicKeyring::from_jwk_or_jwks(&a.to_jwk())?;
    /// edge.extend(PublicKeyring::from_jwk_or_jwks(&b.to_jwk())?)?;
    /// edge.extend(PublicKeyring::from_jwk_or_jwks(&a.to_jwk())?)?; // twice is once
    /// assert_eq!(edge.recipients("eu")?.len(), 2);
    /// # Ok::<(), pii_core::keys::KeyError>(())
    /// ```
    pub fn extend(&mut self, other: PublicKeyring) -> Result<(), KeyError> {
        for key in other.keys {
            if self.keys.contains(&key) {
                continue;
            }
            self.insert(key)?;
        }
        Ok(())
    }

    fn from_values(values: &[Value]) -> Result<Self, KeyError> {
        // Private material anywhere in the set is the first thing to report.
        for (index, key) in values.iter().enumerate() {
            if let Value::Object(obj) = key {
                if obj.contains_key("d") || obj.contains_key("k") {
                    return Err(KeyError::PrivateKeyInPublicSet { index });
                }
            }
        }
        let mut ring = PublicKeyring::default();
        for (index, key) in values.iter().enumerate() {
            let (public, _) = parse_okp(index, key, false)?;
            ring.insert(public)?;
        }
        Ok(ring)
    }

    fn insert(&mut self, key: PublicKey) -> Result<(), KeyError> {
        if self.keys.iter().any(|k| k.kid == key.kid) {
            return Err(KeyError::DuplicateKey { kid: key.kid });
        }
        self.keys.push(key);
        self.keys.sort_by(|a, b| {
            (&a.zone, &a.region, std::cmp::Reverse(a.created), &a.kid).cmp(&(
                &b.zone,
                &b.region,
                std::cmp::Reverse(b.created),
                &b.kid,
            ))
        });
        Ok(())
    }

    /// The set as a JWK Set document (one key per line; no private members).
    ///
    /// ```
    /// # use pii_core::PublicKeyring;
    /// let ring = PublicKeyring::from_jwks(r#"{"keys":[{"kty":"OKP","crv":"X25519",
    ///   "x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08","zone":"eu","region":"eu-1","created":1}]}"#)?;
    /// assert_eq!(PublicKeyring::from_jwks(&ring.to_jwks())?, ring);
    /// # Ok::<(), pii_core::keys::KeyError>(())
    /// ```
    pub fn to_jwks(&self) -> String {
        write_jwks(self.keys.iter().map(PublicKey::to_jwk))
    }

    /// The keys to seal to for `zone`: the newest key (largest `created`; ties broken by
    /// `kid`) of each region of the zone, ordered by region name.
    /// [`KeyError::UnknownZone`] when the set has no key for the zone.
    ///
    /// ```
    /// # use pii_core::{keys::KeyError, PublicKeyring};
    /// let ring = PublicKeyring::from_jwks(r#"{"keys":[
    ///   {"kty":"OKP","crv":"X25519","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08","zone":"eu","region":"eu-1","created":100},
    ///   {"kty":"OKP","crv":"X25519","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo","zone":"eu","region":"eu-1","created":200}
    /// ]}"#)?;
    /// let seal_to = ring.recipients("eu")?;
    /// assert_eq!(seal_to.len(), 1);
    /// assert_eq!(seal_to[0].created(), 200); // the rotated-in key seals
    /// assert!(matches!(ring.recipients("us"), Err(KeyError::UnknownZone { .. })));
    /// # Ok::<(), KeyError>(())
    /// ```
    pub fn recipients(&self, zone: &str) -> Result<Vec<&PublicKey>, KeyError> {
        let mut newest: BTreeMap<&str, &PublicKey> = BTreeMap::new();
        for key in self.keys.iter().filter(|k| k.zone == zone) {
            // Keys are sorted newest first within a region: the first one wins.
            newest.entry(key.region.as_str()).or_insert(key);
        }
        if newest.is_empty() {
            return Err(KeyError::UnknownZone {
                zone: zone.chars().take(MAX_NAME_LEN).collect(),
            });
        }
        Ok(newest.into_values().collect())
    }

    /// The zones that have at least one key, sorted.
    pub fn zones(&self) -> Vec<&str> {
        let mut zones: Vec<&str> = self.keys.iter().map(|k| k.zone.as_str()).collect();
        zones.dedup();
        zones
    }

    /// Every key of the set, sorted by zone, region, newest first.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// True when the set has no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// An X25519 private key of one region (feature `open`).
///
/// The secret is wiped from memory on drop. `Debug` shows only the key id, zone and region;
/// there is no `Display`, and the only way to get the secret out is [`PrivateKey::to_jwk`].
///
/// ```
/// use pii_core::keys::PrivateKey;
/// let key = PrivateKey::generate("eu-central", "eu-central-1", 1_700_000_000)?;
/// let public = key.public();
/// assert_eq!(public.region(), "eu-central-1");
/// assert!(!format!("{key:?}").contains("\"d\""));
/// // Write this with file mode 0600; publish `public.to_jwk()` instead.
/// let jwk = key.to_jwk();
/// assert!(jwk.contains("\"d\":"));
/// # Ok::<(), pii_core::keys::KeyError>(())
/// ```
#[cfg(feature = "open")]
pub struct PrivateKey {
    public: PublicKey,
    d: Zeroizing<[u8; crypto::X25519_LEN]>,
}

#[cfg(feature = "open")]
impl PrivateKey {
    /// A new random key (from the operating system's generator) for `region` of `zone`,
    /// created at `created` (unix seconds). Names: 1 to 64 characters of `a-z`, `0-9`, `-`.
    pub fn generate(zone: &str, region: &str, created: u64) -> Result<Self, KeyError> {
        check_name("zone", zone)?;
        check_name("region", region)?;
        let d = crypto::random_key().map_err(|_| KeyError::Random)?;
        let x = crypto::x25519_public(&d);
        Ok(PrivateKey {
            public: PublicKey::new(x, zone.to_owned(), region.to_owned(), created),
            d,
        })
    }

    /// The public half, to publish in the edge's key set.
    pub fn public(&self) -> PublicKey {
        self.public.clone()
    }

    /// The key as a private JWK, *including the secret `d`*: write it to a file only the
    /// origin can read (mode 0600) or a secret store, never to a log or the edge package.
    pub fn to_jwk(&self) -> String {
        write_jwk(&self.public, Some(&self.d))
    }

    pub(crate) fn public_ref(&self) -> &PublicKey {
        &self.public
    }

    pub(crate) fn secret(&self) -> &[u8; crypto::X25519_LEN] {
        &self.d
    }
}

#[cfg(feature = "open")]
impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("kid", &self.public.kid)
            .field("zone", &self.public.zone)
            .field("region", &self.public.region)
            .finish_non_exhaustive()
    }
}

/// The private keys of a region (feature `open`): the current key and the ones it rotated
/// out, so that every field sealed to any of them still opens.
///
/// ```
/// use pii_core::{keys::PrivateKey, PrivateKeyring};
/// let mut ring = PrivateKeyring::new();
/// ring.push(PrivateKey::generate("eu-central", "eu-central-1", 100)?);
/// ring.push(PrivateKey::generate("eu-central", "eu-central-1", 200)?);
/// assert_eq!(ring.zones(), ["eu-central"]);
/// // What the edge gets: public keys only; the newest seals.
/// let public = ring.public();
/// assert_eq!(public.recipients("eu-central")?[0].created(), 200);
/// # Ok::<(), pii_core::keys::KeyError>(())
/// ```
#[cfg(feature = "open")]
#[derive(Debug, Default)]
pub struct PrivateKeyring {
    keys: Vec<PrivateKey>,
}

#[cfg(feature = "open")]
impl PrivateKeyring {
    /// An empty keyring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Read a JWK Set of X25519 private keys: the public members of
    /// [`PublicKeyring::from_jwks`] plus `d`, which must be the private key of `x`.
    ///
    /// ```
    /// # use pii_core::{keys::PrivateKey, PrivateKeyring};
    /// let key = PrivateKey::generate("eu-central", "eu-central-1", 1_700_000_000)?;
    /// let ring = PrivateKeyring::from_jwks(&format!("{{\"keys\":[{}]}}", key.to_jwk()))?;
    /// assert_eq!(ring.public().keys()[0], key.public());
    /// # Ok::<(), pii_core::keys::KeyError>(())
    /// ```
    pub fn from_jwks(json: &str) -> Result<Self, KeyError> {
        let mut values = parse_set(json)?;
        let result = Self::from_values(&values);
        wipe_secrets(&mut values);
        result
    }

    /// [`PrivateKeyring::from_jwks`], also accepting one private JWK on its own (the
    /// `<kid>.private.jwk` files `pii-edge keygen` writes).
    ///
    /// ```
    /// # use pii_core::{keys::PrivateKey, PrivateKeyring};
    /// let key = PrivateKey::generate("eu-central", "eu-central-1", 1_700_000_000)?;
    /// let ring = PrivateKeyring::from_jwk_or_jwks(&key.to_jwk())?;
    /// assert_eq!(ring.public().keys()[0], key.public());
    /// # Ok::<(), pii_core::keys::KeyError>(())
    /// ```
    pub fn from_jwk_or_jwks(json: &str) -> Result<Self, KeyError> {
        let mut values = parse_set_or_key(json)?;
        let result = Self::from_values(&values);
        wipe_secrets(&mut values);
        result
    }

    fn from_values(values: &[Value]) -> Result<Self, KeyError> {
        let mut ring = PrivateKeyring::default();
        for (index, key) in values.iter().enumerate() {
            if let Value::Object(obj) = key {
                if !obj.contains_key("d") {
                    return Err(KeyError::MissingPrivateKey { index });
                }
            }
            let (public, d) = parse_okp(index, key, true)?;
            let d = d.ok_or(KeyError::MissingPrivateKey { index })?;
            if ring.keys.iter().any(|k| k.public.kid == public.kid) {
                return Err(KeyError::DuplicateKey { kid: public.kid });
            }
            ring.keys.push(PrivateKey { public, d });
        }
        Ok(ring)
    }

    /// The zones that have at least one key, sorted.
    pub fn zones(&self) -> Vec<&str> {
        let mut zones: Vec<&str> = self.keys.iter().map(|k| k.public.zone.as_str()).collect();
        zones.sort_unstable();
        zones.dedup();
        zones
    }

    /// The public keys of this ring, for the edge.
    pub fn public(&self) -> PublicKeyring {
        let mut ring = PublicKeyring::default();
        for key in &self.keys {
            // Kids are unique in a private ring, so this cannot fail.
            let _ = ring.insert(key.public.clone());
        }
        ring
    }

    /// Add a key; a key with the same `kid` is replaced.
    pub fn push(&mut self, key: PrivateKey) {
        self.keys.retain(|k| k.public.kid != key.public.kid);
        self.keys.push(key);
    }

    /// True when the ring has no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The private keys of `zone` whose key id starts with `hint`.
    pub(crate) fn candidates<'a>(
        &'a self,
        zone: &'a [u8],
        hint: &'a [u8],
    ) -> impl Iterator<Item = &'a PrivateKey> + 'a {
        self.keys
            .iter()
            .filter(move |k| k.public.zone.as_bytes() == zone && k.public.hint[..] == *hint)
    }
}

/// The HMAC-SHA256 key of one token domain (`tokenize` action).
///
/// Wiped from memory on drop; `Debug` shows only the domain.
///
/// ```
/// use pii_core::TokenKeys;
/// let key = TokenKeys::generate("email")?;
/// assert_eq!(key.domain(), "email");
/// assert!(format!("{key:?}").starts_with("TokenKey { domain: \"email\", kid: "));
/// # Ok::<(), pii_core::keys::KeyError>(())
/// ```
pub struct TokenKey {
    domain: String,
    kid: String,
    created: u64,
    k: Zeroizing<Vec<u8>>,
}

impl TokenKey {
    fn new(domain: String, kid: Option<String>, created: u64, k: Zeroizing<Vec<u8>>) -> Self {
        // RFC 7638 thumbprint of a symmetric JWK: SHA-256 of {"k":..,"kty":"oct"}. It names
        // the key without revealing it (the key is 32 random bytes or more).
        let kid = kid.unwrap_or_else(|| {
            let json = Zeroizing::new(format!(
                "{{\"k\":\"{}\",\"kty\":\"oct\"}}",
                URL_SAFE_NO_PAD.encode(k.as_slice())
            ));
            URL_SAFE_NO_PAD.encode(crypto::sha256(json.as_bytes()))
        });
        TokenKey {
            domain,
            kid,
            created,
            k,
        }
    }

    /// The token domain (`email`, `email.v2`): it is part of every token.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The key id: the JWK's `kid`, or its RFC 7638 thumbprint when it has none.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Creation time, unix seconds (0 when the JWK has no `created`). The newest key of a
    /// domain tokenizes.
    pub fn created(&self) -> u64 {
        self.created
    }

    /// The key as a JWK `{"kty":"oct","alg":"HS256","domain":..,"kid":..,"created":..,"k":..}`,
    /// *including the secret `k`*. Token keys travel in the edge package (they must, to
    /// tokenize there): keep the package private and rotate (`docs/envelope.md` §9) when it
    /// leaks.
    pub fn to_jwk(&self) -> String {
        format!(
            "{{\"kty\":\"oct\",\"alg\":\"HS256\",\"domain\":{},\"kid\":{},\"created\":{},\"k\":\"{}\"}}",
            json_string(&self.domain),
            json_string(&self.kid),
            self.created,
            URL_SAFE_NO_PAD.encode(self.k.as_slice())
        )
    }

    pub(crate) fn secret(&self) -> &[u8] {
        &self.k
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKey")
            .field("domain", &self.domain)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The token keys of the edge: one or more per token domain. The newest key of a domain
/// (largest `created`) tokenizes; older ones stay so that [`tokens`](crate::token::tokens) can compute
/// the tokens stored before a rotation.
///
/// ```
/// use pii_core::TokenKeys;
/// let keys = TokenKeys::from_jwks(r#"{"keys":[
///   {"kty":"oct","alg":"HS256","domain":"email","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}
/// ]}"#)?;
/// assert!(keys.get("email").is_some());
/// assert!(keys.get("email.v2").is_none());
/// # Ok::<(), pii_core::keys::KeyError>(())
/// ```
#[derive(Debug, Default)]
pub struct TokenKeys {
    keys: Vec<TokenKey>,
}

impl TokenKeys {
    /// Read a JWK Set of token keys: `{"keys":[{"kty":"oct","k":..,"domain":..}]}`. `k` is
    /// base64url without padding, at least 32 bytes; `alg`, when present, must be `HS256`;
    /// `kid` (default: the RFC 7638 thumbprint) and `created` (unix seconds, default 0) are
    /// optional. Keys of one domain must differ in `created`; no secret may serve two domains.
    pub fn from_jwks(json: &str) -> Result<Self, KeyError> {
        let mut values = parse_set(json)?;
        let result = Self::from_values(&values);
        wipe_secrets(&mut values);
        result
    }

    fn from_values(values: &[Value]) -> Result<Self, KeyError> {
        let mut keys = TokenKeys::default();
        for (index, key) in values.iter().enumerate() {
            let obj = as_object(index, key)?;
            if obj.get("kty").and_then(Value::as_str) != Some("oct") {
                return Err(KeyError::UnsupportedKey {
                    index,
                    expected: "symmetric (\"kty\":\"oct\")",
                });
            }
            if let Some(alg) = opt_str(index, obj, "alg", "\"HS256\"")? {
                if alg != "HS256" {
                    return Err(KeyError::InvalidMember {
                        index,
                        member: "alg",
                        expected: "\"HS256\"",
                    });
                }
            }
            const DOMAIN: &str = "a token domain: parts of a-z, 0-9 and '-' joined by '.'";
            let domain = req_str(index, obj, "domain", DOMAIN)?;
            if !is_valid_domain(domain) {
                return Err(KeyError::InvalidMember {
                    index,
                    member: "domain",
                    expected: DOMAIN,
                });
            }
            const K: &str = "at least 32 bytes in base64url without padding";
            let k = Zeroizing::new(
                URL_SAFE_NO_PAD
                    .decode(req_str(index, obj, "k", K)?)
                    .map_err(|_| KeyError::InvalidMember {
                        index,
                        member: "k",
                        expected: K,
                    })?,
            );
            if k.len() < crypto::KEY_LEN {
                return Err(KeyError::WeakTokenKey { index });
            }
            const KID: &str = "1 to 64 characters from A-Z, a-z, 0-9, '-', '_' and '.'";
            let kid = opt_str(index, obj, "kid", KID)?;
            if let Some(kid) = kid {
                let ok = !kid.is_empty()
                    && kid.len() <= MAX_NAME_LEN
                    && kid
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
                if !ok {
                    return Err(KeyError::InvalidMember {
                        index,
                        member: "kid",
                        expected: KID,
                    });
                }
            }
            let created = match obj.get("created") {
                None => 0,
                Some(v) => v.as_u64().ok_or(KeyError::InvalidMember {
                    index,
                    member: "created",
                    expected: "the creation time in whole seconds since 1970-01-01 UTC",
                })?,
            };
            keys.push(TokenKey::new(
                domain.to_owned(),
                kid.map(str::to_owned),
                created,
                k,
            ))?;
        }
        Ok(keys)
    }

    /// Add a key. Refused when its `kid` is taken, when its domain already has a key with the
    /// same `created`, or when another key uses the same secret.
    pub fn push(&mut self, key: TokenKey) -> Result<(), KeyError> {
        // The same secret twice is the worst mistake (its thumbprint kid would match too).
        if self.keys.iter().any(|k| k.k.as_slice() == key.k.as_slice()) {
            return Err(KeyError::ReusedTokenKey { domain: key.domain });
        }
        if self.keys.iter().any(|k| k.kid == key.kid) {
            return Err(KeyError::DuplicateKey { kid: key.kid });
        }
        if self
            .keys
            .iter()
            .any(|k| k.domain == key.domain && k.created == key.created)
        {
            return Err(KeyError::DuplicateDomain { domain: key.domain });
        }
        self.keys.push(key);
        // Newest first within a domain: `get` and `keys_of` rely on it.
        self.keys.sort_by(|a, b| {
            (&a.domain, std::cmp::Reverse(a.created))
                .cmp(&(&b.domain, std::cmp::Reverse(b.created)))
        });
        Ok(())
    }

    /// The key that tokenizes in a domain: its newest.
    pub fn get(&self, domain: &str) -> Option<&TokenKey> {
        self.keys.iter().find(|k| k.domain == domain)
    }

    /// Every key of a domain, newest first (empty for an unknown domain).
    ///
    /// ```
    /// # use pii_core::TokenKeys;
    /// let mut keys = TokenKeys::default();
    /// keys.push(TokenKeys::generate_at("email", 100)?)?;
    /// keys.push(TokenKeys::generate_at("email", 200)?)?;
    /// let created: Vec<u64> = keys.keys_of("email").iter().map(|k| k.created()).collect();
    /// assert_eq!(created, [200, 100]);
    /// assert_eq!(keys.get("email").map(|k| k.created()), Some(200));
    /// # Ok::<(), pii_core::keys::KeyError>(())
    /// ```
    pub fn keys_of(&self, domain: &str) -> Vec<&TokenKey> {
        self.keys.iter().filter(|k| k.domain == domain).collect()
    }

    /// Every key, sorted by domain, newest first.
    pub fn keys(&self) -> &[TokenKey] {
        &self.keys
    }

    /// A new random 32-byte key for `domain` (from the operating system's generator), with
    /// `created` 0. For a key that rotates an existing one, use [`TokenKeys::generate_at`].
    pub fn generate(domain: &str) -> Result<TokenKey, KeyError> {
        Self::generate_at(domain, 0)
    }

    /// A new random 32-byte key for `domain`, created at `created` (unix seconds).
    pub fn generate_at(domain: &str, created: u64) -> Result<TokenKey, KeyError> {
        check_name("token domain", domain)?;
        let k = crypto::random_key().map_err(|_| KeyError::Random)?;
        Ok(TokenKey::new(
            domain.to_owned(),
            None,
            created,
            Zeroizing::new(k.to_vec()),
        ))
    }

    /// True when there is no token key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_rfc8037_a3() {
        // RFC 8037 Appendix A.3: thumbprint of the Ed25519 key of Appendix A.1.
        assert_eq!(
            okp_thumbprint("Ed25519", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn names() {
        assert!(is_valid_zone("eu-central"));
        assert!(is_valid_zone("eu-central-1"));
        assert!(!is_valid_zone(""));
        assert!(!is_valid_zone("EU"));
        assert!(!is_valid_zone("eu.central"));
        assert!(!is_valid_zone(&"a".repeat(65)));
        assert!(is_valid_domain("email"));
        assert!(is_valid_domain("email.v2"));
        assert!(!is_valid_domain("email."));
        assert!(!is_valid_domain(".email"));
        assert!(!is_valid_domain("e..mail"));
        assert!(!is_valid_domain(""));
    }

    #[test]
    fn token_keys_refuse_weak_duplicate_and_reused() {
        let short = r#"{"keys":[{"kty":"oct","domain":"email","k":"c2hvcnQ"}]}"#;
        assert_eq!(
            TokenKeys::from_jwks(short).err(),
            Some(KeyError::WeakTokenKey { index: 0 })
        );
        let k = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA";
        let dup = format!(
            r#"{{"keys":[{{"kty":"oct","domain":"email","k":"{k}"}},{{"kty":"oct","domain":"email","k":"d{}"}}]}}"#,
            &k[1..]
        );
        assert!(matches!(
            TokenKeys::from_jwks(&dup),
            Err(KeyError::DuplicateDomain { .. })
        ));
        let reused = format!(
            r#"{{"keys":[{{"kty":"oct","domain":"email","k":"{k}"}},{{"kty":"oct","domain":"email.v2","k":"{k}"}}]}}"#
        );
        assert!(matches!(
            TokenKeys::from_jwks(&reused),
            Err(KeyError::ReusedTokenKey { .. })
        ));
        let generated = TokenKeys::generate("email.v2").expect("generate");
        let back = TokenKeys::from_jwks(&format!("{{\"keys\":[{}]}}", generated.to_jwk()))
            .expect("round trip");
        assert_eq!(
            back.get("email.v2").map(TokenKey::secret),
            Some(generated.secret())
        );
        assert!(TokenKeys::generate("Email").is_err());
    }

    #[test]
    fn errors_do_not_print_secrets() {
        let d = "XasIfmJKikt54X-Lg4AO5m87sSkmGLb9HC-LJ_-I4Os";
        let json = format!(
            r#"{{"keys":[{{"kty":"OKP","crv":"X25519","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08","d":"{d}","zone":"eu","region":"eu-1","created":1}}]}}"#
        );
        let err = PublicKeyring::from_jwks(&json).expect_err("refused");
        assert!(!err.to_string().contains(d));
        assert!(!format!("{err:?}").contains(d));
    }

    #[test]
    fn public_ring_validation() {
        let x = "3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08";
        let good = |extra: &str| {
            format!(
                r#"{{"keys":[{{"kty":"OKP","crv":"X25519","x":"{x}","zone":"eu","region":"eu-1","created":1{extra}}}]}}"#
            )
        };
        assert!(PublicKeyring::from_jwks(&good("")).is_ok());
        assert!(matches!(
            PublicKeyring::from_jwks(&good(r#","kid":"nope""#)),
            Err(KeyError::KidMismatch { .. })
        ));
        assert!(matches!(
            PublicKeyring::from_jwks(&good(r#","use":"sig""#)),
            Err(KeyError::InvalidMember { member: "use", .. })
        ));
        assert!(matches!(
            PublicKeyring::from_jwks(&good(r#","k":"c2VjcmV0""#)),
            Err(KeyError::PrivateKeyInPublicSet { .. })
        ));
        assert!(matches!(
            PublicKeyring::from_jwks("{\"keys\":[{\"kty\":\"RSA\"}]}"),
            Err(KeyError::UnsupportedKey { .. })
        ));
        assert!(matches!(
            PublicKeyring::from_jwks("[]"),
            Err(KeyError::NotAKeySet)
        ));
        assert!(matches!(
            PublicKeyring::from_jwks("{"),
            Err(KeyError::Json { .. })
        ));
        let twice = format!(
            r#"{{"keys":[{{"kty":"OKP","crv":"X25519","x":"{x}","zone":"eu","region":"eu-1","created":1}},{{"kty":"OKP","crv":"X25519","x":"{x}","zone":"eu","region":"eu-1","created":2}}]}}"#
        );
        assert!(matches!(
            PublicKeyring::from_jwks(&twice),
            Err(KeyError::DuplicateKey { .. })
        ));
        let bad_x = good("").replace(x, "AAAA");
        assert!(matches!(
            PublicKeyring::from_jwks(&bad_x),
            Err(KeyError::InvalidMember { member: "x", .. })
        ));
        let bad_zone = good("").replace("\"eu\"", "\"EU\"");
        assert!(matches!(
            PublicKeyring::from_jwks(&bad_zone),
            Err(KeyError::InvalidMember { member: "zone", .. })
        ));
    }

    #[cfg(feature = "open")]
    #[test]
    fn private_ring_validation() {
        let a = PrivateKey::generate("eu", "eu-1", 1).expect("key");
        let b = PrivateKey::generate("eu", "eu-1", 2).expect("key");
        // d of one key with x of another.
        let mixed = a.to_jwk().replace(
            &URL_SAFE_NO_PAD.encode(a.secret()),
            &URL_SAFE_NO_PAD.encode(b.secret()),
        );
        assert_eq!(
            PrivateKeyring::from_jwks(&format!("{{\"keys\":[{mixed}]}}")).err(),
            Some(KeyError::PublicKeyMismatch { index: 0 })
        );
        let public_only = format!("{{\"keys\":[{}]}}", a.public().to_jwk());
        assert_eq!(
            PrivateKeyring::from_jwks(&public_only).err(),
            Some(KeyError::MissingPrivateKey { index: 0 })
        );
        assert!(PrivateKey::generate("eu", "EU-1", 1).is_err());
    }
}
