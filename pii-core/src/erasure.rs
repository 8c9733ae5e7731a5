//! Erasure receipts (feature `open`): a signed statement that a data subject's key was
//! destroyed, which an auditor verifies with the public key alone (`docs/erasure.md` §5).
//!
//! The receipt is a JWS compact serialization signed with Ed25519 like the edge's request
//! receipts (`docs/receipt.md`: same key format, same header), with its own payload:
//! `{"v":1,"typ":"erasure","iat":...,"by":"...","sub":"...","kid":"..."}`.
//!
//! ```
//! use pii_core::erasure::{self, Erasure};
//! use pii_core::receipt::{ReceiptKeys, ReceiptSigner};
//! let origin = ReceiptSigner::generate(1)?; // the origin's own signing key
//! let text = erasure::sign(&origin, &Erasure {
//!     by: "dpo@example.com".into(), subject: "user-42".into(),
//!     key_id: "3q2-7wAAAAAAAAAAAAAAAA".into(), erased_at: 1_767_225_600,
//! });
//! let mut keys = ReceiptKeys::default();
//! keys.push(origin.public());
//! let checked = erasure::verify(&text, &keys)?;
//! assert_eq!(checked.erasure.subject, "user-42");
//! assert_eq!(checked.signed_by, origin.kid());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::receipt::{verify_jws, ReceiptError, ReceiptKeys, ReceiptSigner};

/// Payload version.
const VERSION: u64 = 1;
/// Payload `typ`: keeps an erasure receipt from being read as anything else.
const TYP: &str = "erasure";

/// What an erasure receipt states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    /// Who erased: the operator, service or request that called `forget` (free text; no
    /// personal data beyond what the audit needs).
    pub by: String,
    /// The data subject's id, as in the fields' `pr1.` headers.
    pub subject: String,
    /// The destroyed subject key's id (22 characters of base64url).
    pub key_id: String,
    /// When the key was destroyed, unix seconds.
    pub erased_at: u64,
}

/// A verified erasure receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// What it states.
    pub erasure: Erasure,
    /// The key id (RFC 7638 thumbprint) of the Ed25519 key that signed it.
    pub signed_by: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    v: u64,
    typ: String,
    iat: u64,
    by: String,
    sub: String,
    kid: String,
}

/// Sign an erasure receipt with `signer` (an Ed25519 JWK, `pii-edge keygen --receipt`).
pub fn sign(signer: &ReceiptSigner, erasure: &Erasure) -> String {
    let payload = Payload {
        v: VERSION,
        typ: TYP.to_owned(),
        iat: erasure.erased_at,
        by: erasure.by.clone(),
        sub: erasure.subject.clone(),
        kid: erasure.key_id.clone(),
    };
    signer.sign_jws(&serde_json::to_string(&payload).unwrap_or_default())
}

/// Verify an erasure receipt with public keys only: the JWS signature by one of `keys`
/// ([`ReceiptError::UnknownKey`], [`ReceiptError::BadSignature`]), then a payload of version 1
/// with `typ` `erasure` and every member ([`ReceiptError::Malformed`] otherwise, including for
/// an edge request receipt).
pub fn verify(text: &str, keys: &ReceiptKeys) -> Result<Verified, ReceiptError> {
    let (key, payload) = verify_jws(text.trim(), keys)?;
    let payload: Payload =
        serde_json::from_slice(&payload).map_err(|_| ReceiptError::Malformed {
            reason: "the payload is not an erasure receipt of version 1",
        })?;
    if payload.v != VERSION || payload.typ != TYP {
        return Err(ReceiptError::Malformed {
            reason: "the payload is not an erasure receipt of version 1",
        });
    }
    Ok(Verified {
        erasure: Erasure {
            by: payload.by,
            subject: payload.sub,
            key_id: payload.kid,
            erased_at: payload.iat,
        },
        signed_by: key.kid().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_and_refuses_changes_and_other_keys() {
        let signer = ReceiptSigner::generate(1).expect("key");
        let erasure = Erasure {
            by: "ops".into(),
            subject: "user-1".into(),
            key_id: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            erased_at: 7,
        };
        let text = sign(&signer, &erasure);
        let mut keys = ReceiptKeys::default();
        keys.push(signer.public());
        assert_eq!(verify(&text, &keys).expect("verify").erasure, erasure);
        // Another key does not verify it.
        let mut others = ReceiptKeys::default();
        others.push(ReceiptSigner::generate(1).expect("key").public());
        assert!(matches!(
            verify(&text, &others),
            Err(ReceiptError::UnknownKey { .. })
        ));
        // A changed payload does not verify.
        let mut parts: Vec<&str> = text.split('.').collect();
        let forged = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            br#"{"v":1,"typ":"erasure","iat":7,"by":"ops","sub":"user-2","kid":"AAAAAAAAAAAAAAAAAAAAAA"}"#,
        );
        parts[1] = &forged;
        assert_eq!(
            verify(&parts.join("."), &keys).unwrap_err(),
            ReceiptError::BadSignature
        );
        // A JWS of another payload, correctly signed, is not an erasure receipt.
        let other = signer.sign_jws(r#"{"v":1,"iat":7}"#);
        assert!(matches!(
            verify(&other, &keys),
            Err(ReceiptError::Malformed { .. })
        ));
    }
}
