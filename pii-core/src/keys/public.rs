//! X25519 recipient public keys and the edge's key ring.

use std::collections::BTreeMap;
use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use super::error::KeyError;
use super::jwk::{
    as_object, b64_32, is_valid_zone, json_string, opt_str, parse_set, parse_set_or_key, req_str,
    thumbprint_digest, wipe_secrets, Secret32, HINT_LEN, MAX_NAME_LEN,
};
use crate::crypto;

/// An X25519 public key of one region, able to receive sealed fields.
///
/// Read from a JWK Set with [`PublicKeyring::from_jwks`]. Its [`kid`](PublicKey::kid) is the
/// RFC 7638 thumbprint, so the id is a function of the key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub(super) kid: String,
    pub(super) hint: [u8; HINT_LEN],
    pub(super) zone: String,
    pub(super) region: String,
    pub(super) created: u64,
    pub(super) x: [u8; crypto::X25519_LEN],
}

impl PublicKey {
    pub(super) fn new(
        x: [u8; crypto::X25519_LEN],
        zone: String,
        region: String,
        created: u64,
    ) -> Self {
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
    pub(super) keys: Vec<PublicKey>,
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

    pub(super) fn from_values(values: &[Value]) -> Result<Self, KeyError> {
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

    pub(super) fn insert(&mut self, key: PublicKey) -> Result<(), KeyError> {
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

pub(super) fn write_jwk(key: &PublicKey, d: Option<&[u8; crypto::X25519_LEN]>) -> String {
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

pub(super) fn write_jwks<'a>(jwks: impl Iterator<Item = String> + 'a) -> String {
    let keys: Vec<String> = jwks.map(|k| format!("  {k}")).collect();
    if keys.is_empty() {
        "{\"keys\":[]}\n".to_owned()
    } else {
        format!("{{\"keys\":[\n{}\n]}}\n", keys.join(",\n"))
    }
}

/// Parse one X25519 JWK. With `private`, `d` is required and checked against `x`.
pub(super) fn parse_okp(
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
