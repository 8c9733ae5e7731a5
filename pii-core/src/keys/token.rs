//! HMAC-SHA256 token keys of a token domain.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;
use zeroize::Zeroizing;

use super::error::KeyError;
use super::jwk::{
    as_object, check_name, is_valid_domain, json_string, opt_str, parse_set, req_str, wipe_secrets,
    MAX_NAME_LEN,
};
use crate::crypto;

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
    pub(super) domain: String,
    pub(super) kid: String,
    pub(super) created: u64,
    pub(super) k: Zeroizing<Vec<u8>>,
}

impl TokenKey {
    pub(super) fn new(
        domain: String,
        kid: Option<String>,
        created: u64,
        k: Zeroizing<Vec<u8>>,
    ) -> Self {
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
    pub(super) keys: Vec<TokenKey>,
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

    pub(super) fn from_values(values: &[Value]) -> Result<Self, KeyError> {
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
