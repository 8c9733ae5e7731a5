//! Signing a receipt at the edge (JWS compact serialization, RFC 7515 §7.1, EdDSA).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;
use zeroize::Zeroizing;

use super::keys::{b64_member, check_kid, parse_public, ReceiptKey, ReceiptSigner};
use super::payload::{Payload, ReceiptFacts, ALG};
use crate::crypto::{self, ED25519_LEN};
use crate::keys::KeyError;

impl ReceiptSigner {
    /// Reads the private signing key: one Ed25519 JWK with `x` and `d` (the RFC 8032 seed),
    /// optional `kid` (must be the RFC 7638 thumbprint), `use: "sig"`, `alg: "EdDSA"` and
    /// `created` (unix seconds). Errors name the member, never its value.
    ///
    /// ```
    /// let signer = pii_core::receipt::ReceiptSigner::generate(1)?;
    /// let again = pii_core::receipt::ReceiptSigner::from_jwk(&signer.to_jwk())?;
    /// assert_eq!(again.kid(), signer.kid());
    /// assert!(!format!("{again:?}").contains(&signer.to_jwk()[60..]));
    /// # Ok::<(), pii_core::keys::KeyError>(())
    /// ```
    pub fn from_jwk(text: &str) -> Result<Self, KeyError> {
        let mut value: Value = serde_json::from_str(text).map_err(|e| KeyError::Json {
            line: e.line(),
            column: e.column(),
        })?;
        let result = Self::from_value(&value);
        if let Some(Value::String(d)) = value.get_mut("d") {
            zeroize::Zeroize::zeroize(d);
        }
        result
    }

    pub(super) fn from_value(jwk: &Value) -> Result<Self, KeyError> {
        if !jwk.is_object() {
            return Err(KeyError::NotAKeySet);
        }
        let x = parse_public(0, jwk)?;
        if jwk.get("d").is_none() {
            return Err(KeyError::MissingPrivateKey { index: 0 });
        }
        let seed = b64_member(0, jwk, "d")?;
        let created = match jwk.get("created") {
            None => 0,
            Some(v) => v.as_u64().ok_or(KeyError::InvalidMember {
                index: 0,
                member: "created",
                expected: "the creation time in whole seconds since 1970-01-01 UTC",
            })?,
        };
        let key = crypto::SigningKey::from_seed(&seed, Some(&x))
            .map_err(|_| KeyError::PublicKeyMismatch { index: 0 })?;
        let public = ReceiptKey::new(x);
        check_kid(0, jwk, &public.kid)?;
        Ok(ReceiptSigner {
            kid: public.kid,
            created,
            seed,
            public: x,
            key,
        })
    }

    /// A new random signing key (seed from the operating system), created at `created` (unix
    /// seconds).
    pub fn generate(created: u64) -> Result<Self, KeyError> {
        let seed = crypto::random_key().map_err(|_| KeyError::Random)?;
        Self::from_seed(seed, created)
    }

    pub(super) fn from_seed(
        seed: Zeroizing<[u8; ED25519_LEN]>,
        created: u64,
    ) -> Result<Self, KeyError> {
        let key = crypto::SigningKey::from_seed(&seed, None).map_err(|_| KeyError::Random)?;
        let x = key.public();
        Ok(ReceiptSigner {
            kid: ReceiptKey::new(x).kid,
            created,
            seed,
            public: x,
            key,
        })
    }

    /// The key id (RFC 7638 thumbprint of the public key).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half, for [`ReceiptKeys`].
    pub fn public(&self) -> ReceiptKey {
        ReceiptKey::new(self.public)
    }

    /// The public half as a JWK (what the origin holds).
    pub fn public_jwk(&self) -> String {
        self.public().to_jwk()
    }

    /// The private key as a JWK, `d` included: for `pii-edge keygen` and the package bundle
    /// only. Never log it.
    pub fn to_jwk(&self) -> String {
        format!(
            "{{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"{}\",\"kid\":\"{}\",\"use\":\"sig\",\"alg\":\"EdDSA\",\"created\":{},\"d\":\"{}\"}}",
            URL_SAFE_NO_PAD.encode(self.public),
            self.kid,
            self.created,
            URL_SAFE_NO_PAD.encode(*self.seed)
        )
    }

    /// The receipt header value for `facts`, issued at `issued_at` (unix seconds): JWS compact
    /// serialization `BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(signature)`.
    pub fn sign(&self, facts: &ReceiptFacts<'_>, issued_at: u64) -> String {
        let payload = Payload::of(facts, issued_at);
        self.sign_jws(&serde_json::to_string(&payload).unwrap_or_default())
    }

    /// JWS compact serialization of `payload` with the header `{"alg":"EdDSA","kid":...}`
    /// (receipts and erasure receipts).
    pub(crate) fn sign_jws(&self, payload: &str) -> String {
        let header = format!("{{\"alg\":\"{ALG}\",\"kid\":\"{}\"}}", self.kid);
        let mut out = URL_SAFE_NO_PAD.encode(header);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut out);
        let signature = self.key.sign(out.as_bytes());
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut out);
        out
    }
}
