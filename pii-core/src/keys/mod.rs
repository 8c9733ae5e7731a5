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

mod error;
mod jwk;
#[cfg(feature = "open")]
mod private;
mod public;
#[cfg(test)]
mod tests;
mod token;

pub use error::KeyError;
#[cfg(feature = "open")]
pub use private::{PrivateKey, PrivateKeyring};
pub use public::{PublicKey, PublicKeyring};
pub use token::{TokenKey, TokenKeys};

#[cfg(feature = "open")]
pub(crate) use jwk::MAX_NAME_LEN;
pub(crate) use jwk::{is_valid_domain, is_valid_zone, thumbprint_digest, HINT_LEN};
