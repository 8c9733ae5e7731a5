//! Receipts: proof, for an origin, that a request came through the edge and what the edge
//! checked.
//!
//! The edge adds a header [`HEADER`] to every request it forwards (protected or not). Its
//! value is a JWS compact serialization (RFC 7515 §7.1) signed with Ed25519 (`"alg":"EdDSA"`,
//! RFC 8037) by a key of the edge's own ([`ReceiptSigner`]). The payload binds the receipt to
//! the request: the method, a digest of the request target (path and query), a digest of the
//! body the edge forwarded, a digest of the headers the policy protects, and it tells what was
//! checked (policy or none, zone, protected locations, request id, time). An origin holding the
//! public half ([`ReceiptKeys`], a JWK) refuses a request without a valid, fresh receipt
//! ([`verify_receipt`], feature `open`): a request sent around the edge, a receipt copied onto
//! another request, or a body changed after the edge.
//!
//! `docs/receipt.md` specifies every byte; `docs/vectors/receipts/` holds test vectors.
//!
//! ```
//! use pii_core::receipt::{ReceiptFacts, ReceiptSigner, verify_receipt, ReceiptRequest};
//!
//! let signer = ReceiptSigner::generate(1_700_000_000)?;
//! let headers = vec![("x-national-id".to_owned(), "pe1.AAAA".to_owned())];
//! let facts = ReceiptFacts {
//!     policy: Some("signup"),
//!     zone: Some("eu-central"),
//!     method: "POST",
//!     target: "/api/users?lang=de",
//!     body: Some(br#"{"email":"pe1.BBBB"}"#),
//!     headers: &headers,
//!     bound_headers: &["x-national-id".to_owned()],
//!     locations: &["json:$['email']".to_owned(), "header:x-national-id".to_owned()],
//!     request_id: Some("4TyzHTaYWb1GX1qT"),
//!     subject: None,
//! };
//! let value = signer.sign(&facts, 1_700_000_100);
//!
//! let keys = pii_core::receipt::ReceiptKeys::from_jwks(&signer.public_jwk())?;
//! let mut with_receipt = headers.clone();
//! with_receipt.push(("X-Pii-Edge-Receipt".to_owned(), value));
//! let request = ReceiptRequest {
//!     method: "POST",
//!     target: "/api/users?lang=de",
//!     headers: &with_receipt,
//!     body: br#"{"email":"pe1.BBBB"}"#,
//! };
//! let receipt = verify_receipt(&request, &keys, 300, 1_700_000_130)?;
//! assert_eq!(receipt.policy.as_deref(), Some("signup"));
//!
//! // The same receipt on another body is refused.
//! let tampered = ReceiptRequest { body: br#"{"email":"erika@example.de"}"#, ..request };
//! assert!(verify_receipt(&tampered, &keys, 300, 1_700_000_130).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod keys;
mod payload;
mod sign;
#[cfg(all(test, feature = "open"))]
mod tests;
mod verify;

pub use keys::{ReceiptKey, ReceiptKeys, ReceiptSigner};
pub use payload::{
    ReceiptFacts, SubjectId, CLOCK_SKEW, HEADER, HEADER_KEY, MAX_LOCATIONS_LEN, MAX_RECEIPT_LEN,
    MAX_SUBJECT_LEN, VERSION,
};
#[cfg(feature = "open")]
pub use verify::verify_receipt;
pub use verify::{bound_headers, target, Receipt, ReceiptError, ReceiptRequest};

#[cfg(feature = "open")]
pub(crate) use verify::verify_jws;
