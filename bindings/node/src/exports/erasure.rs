//! Signed erasure receipts (docs/erasure.md §5). A child of `exports` (napi glue);
//! `erasure.js` wraps it.

use napi_derive::napi;
use pii_core::erasure::{self as core_erasure, Erasure};
use pii_core::receipt::ReceiptSigner;

use super::receipt::ReceiptKeys;
use super::{js, Result};
use crate::error::Failure;

/// Signs erasure receipts with an Ed25519 private JWK.
#[napi]
pub struct ErasureSigner {
    inner: ReceiptSigner,
}

#[napi]
impl ErasureSigner {
    /// A private Ed25519 JWK.
    #[napi(factory)]
    pub fn from_jwk(text: String) -> Result<Self> {
        let text = zeroize::Zeroizing::new(text);
        ReceiptSigner::from_jwk(&text)
            .map(|inner| ErasureSigner { inner })
            .map_err(|e| js(Failure::new("InvalidKeys", e.to_string())))
    }

    /// The public key as a JWK, for auditors.
    #[napi(getter)]
    pub fn public_jwk(&self) -> String {
        self.inner.public_jwk()
    }

    /// `sign(by, subject, keyId, erasedAt?)`: the receipt, JWS compact.
    #[napi]
    pub fn sign(
        &self,
        by: String,
        subject: String,
        key_id: String,
        erased_at: Option<f64>,
    ) -> String {
        core_erasure::sign(
            &self.inner,
            &Erasure {
                by,
                subject,
                key_id,
                erased_at: erased_at.map_or_else(crate::now_seconds, |t| t as u64),
            },
        )
    }
}

/// A verified erasure receipt.
#[napi(object)]
pub struct VerifiedErasure {
    /// Who erased.
    pub by: String,
    /// The data subject.
    pub subject: String,
    /// The destroyed key's id.
    pub key_id: String,
    /// Unix seconds of the erasure.
    pub erased_at: f64,
    /// The kid of the key that signed it.
    pub signed_by: String,
}

/// `verifyErasure(receipt, receiptKeys)`: public keys only; throws ReceiptError.
#[napi]
pub fn verify_erasure(receipt: String, keys: &ReceiptKeys) -> Result<VerifiedErasure> {
    let v = core_erasure::verify(&receipt, &keys.inner)
        .map_err(|e| js(Failure::new(crate::error::receipt_code(&e), e.to_string())))?;
    Ok(VerifiedErasure {
        by: v.erasure.by,
        subject: v.erasure.subject,
        key_id: v.erasure.key_id,
        erased_at: v.erasure.erased_at as f64,
        signed_by: v.signed_by,
    })
}
