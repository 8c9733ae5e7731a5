//! X25519 private keys and the origin's key ring (feature `open`).

use std::fmt;

use serde_json::Value;
use zeroize::Zeroizing;

use super::error::KeyError;
use super::jwk::{check_name, parse_set, parse_set_or_key, wipe_secrets};
use super::public::{parse_okp, write_jwk, PublicKey, PublicKeyring};
use crate::crypto;

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
    pub(super) public: PublicKey,
    pub(super) d: Zeroizing<[u8; crypto::X25519_LEN]>,
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
    pub(super) keys: Vec<PrivateKey>,
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

    pub(super) fn from_values(values: &[Value]) -> Result<Self, KeyError> {
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
