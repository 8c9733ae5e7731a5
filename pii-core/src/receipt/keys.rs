//! Receipt keys: the edge's Ed25519 signing key and the origin's public set (RFC 8037 JWKs).

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use serde_json::Value;
use zeroize::Zeroizing;

use super::payload::ALG;
use crate::crypto::{self, ED25519_LEN};
use crate::keys::{thumbprint_digest, KeyError};

/// The key with which the edge signs receipts: an Ed25519 key pair (RFC 8032) read from a
/// private JWK (RFC 8037: `"kty":"OKP","crv":"Ed25519"`, `x`, `d`). It travels in the edge
/// package like the token keys; the origin holds only the public half ([`ReceiptKeys`]).
///
/// `Debug` shows the key id only.
pub struct ReceiptSigner {
    pub(super) kid: String,
    pub(super) created: u64,
    pub(super) seed: Zeroizing<[u8; ED25519_LEN]>,
    pub(super) public: [u8; ED25519_LEN],
    pub(super) key: crypto::SigningKey,
}

impl fmt::Debug for ReceiptSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiptSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// A public receipt key: Ed25519, identified by its RFC 7638 thumbprint.
#[derive(Clone, PartialEq, Eq)]
pub struct ReceiptKey {
    pub(super) kid: String,
    pub(super) x: [u8; ED25519_LEN],
}

impl fmt::Debug for ReceiptKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiptKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl ReceiptKey {
    /// The key id: the RFC 7638 thumbprint, base64url without padding (43 characters).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key as a public JWK (one line of JSON).
    pub fn to_jwk(&self) -> String {
        format!(
            "{{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"{}\",\"kid\":\"{}\",\"use\":\"sig\",\"alg\":\"EdDSA\"}}",
            URL_SAFE_NO_PAD.encode(self.x),
            self.kid
        )
    }

    pub(super) fn new(x: [u8; ED25519_LEN]) -> Self {
        let kid = URL_SAFE_NO_PAD.encode(thumbprint_digest("Ed25519", &URL_SAFE_NO_PAD.encode(x)));
        ReceiptKey { kid, x }
    }
}

/// The public receipt keys an origin accepts (several during a rotation).
///
/// ```
/// let keys = pii_core::receipt::ReceiptKeys::from_jwks(r#"{"kty":"OKP","crv":"Ed25519",
///   "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
/// assert_eq!(keys.keys()[0].kid().len(), 43);
/// // A private key is refused: the origin needs only the public half.
/// assert!(pii_core::receipt::ReceiptKeys::from_jwks(r#"{"kty":"OKP","crv":"Ed25519",
///   "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
///   "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}"#).is_err());
/// # Ok::<(), pii_core::keys::KeyError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiptKeys {
    pub(super) keys: Vec<ReceiptKey>,
}

impl ReceiptKeys {
    /// Reads one public Ed25519 JWK, or a JWK Set (RFC 7517 §5) of them. A key with a private
    /// member (`d`) is refused ([`KeyError::PrivateKeyInPublicSet`]), as is a `kid` that is
    /// not the key's RFC 7638 thumbprint.
    pub fn from_jwks(text: &str) -> Result<Self, KeyError> {
        let value: Value = serde_json::from_str(text).map_err(|e| KeyError::Json {
            line: e.line(),
            column: e.column(),
        })?;
        let list = match value {
            Value::Object(mut map) if map.contains_key("keys") => match map.remove("keys") {
                Some(Value::Array(keys)) => keys,
                _ => return Err(KeyError::NotAKeySet),
            },
            single @ Value::Object(_) => vec![single],
            _ => return Err(KeyError::NotAKeySet),
        };
        let mut keys: Vec<ReceiptKey> = Vec::with_capacity(list.len());
        for (index, jwk) in list.iter().enumerate() {
            if jwk.get("d").is_some() {
                return Err(KeyError::PrivateKeyInPublicSet { index });
            }
            let x = parse_public(index, jwk)?;
            let key = ReceiptKey::new(x);
            check_kid(index, jwk, &key.kid)?;
            if keys.iter().any(|k| k.kid == key.kid) {
                return Err(KeyError::DuplicateKey { kid: key.kid });
            }
            keys.push(key);
        }
        Ok(ReceiptKeys { keys })
    }

    /// The keys, in the order they were given.
    pub fn keys(&self) -> &[ReceiptKey] {
        &self.keys
    }

    /// Whether there is no key (every receipt is then refused).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Adds a key.
    pub fn push(&mut self, key: ReceiptKey) {
        if !self.keys.iter().any(|k| k.kid == key.kid) {
            self.keys.push(key);
        }
    }

    #[cfg(feature = "open")]
    pub(super) fn get(&self, kid: &str) -> Option<&ReceiptKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}

pub(super) const EXPECTED_B64: &str = "32 bytes in base64url without padding";

pub(super) fn parse_public(index: usize, jwk: &Value) -> Result<[u8; ED25519_LEN], KeyError> {
    if jwk.get("kty").and_then(Value::as_str) != Some("OKP")
        || jwk.get("crv").and_then(Value::as_str) != Some("Ed25519")
    {
        return Err(KeyError::UnsupportedKey {
            index,
            expected: "Ed25519 (\"kty\":\"OKP\",\"crv\":\"Ed25519\")",
        });
    }
    for (member, allowed) in [("use", "sig"), ("alg", ALG)] {
        match jwk.get(member) {
            None => {}
            Some(Value::String(s)) if s == allowed => {}
            Some(_) => {
                return Err(KeyError::InvalidMember {
                    index,
                    member,
                    expected: if member == "use" {
                        "\"sig\""
                    } else {
                        "\"EdDSA\""
                    },
                })
            }
        }
    }
    let x = b64_member(index, jwk, "x")?;
    Ok(*x)
}

pub(super) fn check_kid(index: usize, jwk: &Value, kid: &str) -> Result<(), KeyError> {
    match jwk.get("kid") {
        None => Ok(()),
        Some(Value::String(k)) if k == kid => Ok(()),
        Some(_) => Err(KeyError::KidMismatch {
            index,
            thumbprint: kid.to_owned(),
        }),
    }
}

pub(super) fn b64_member(
    index: usize,
    jwk: &Value,
    member: &'static str,
) -> Result<Zeroizing<[u8; ED25519_LEN]>, KeyError> {
    let invalid = KeyError::InvalidMember {
        index,
        member,
        expected: EXPECTED_B64,
    };
    let text = jwk
        .get(member)
        .and_then(Value::as_str)
        .ok_or(invalid.clone())?;
    let bytes = Zeroizing::new(URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid.clone())?);
    let mut out = Zeroizing::new([0u8; ED25519_LEN]);
    if bytes.len() != ED25519_LEN {
        return Err(invalid);
    }
    out.copy_from_slice(&bytes);
    Ok(out)
}
