//! Envelopes: the sealed form of one field value, and tokens and hashes.
//!
//! A request is sealed with one fresh random 32-byte data key. The data key is wrapped once per
//! recipient (one public key per region of the residency zone) with RFC 9180 HPKE, base mode,
//! DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM. Each field is AES-256-GCM under the
//! data key, with a counter nonce. An envelope carries its binding (the policy that sealed it,
//! the zone and the value's [`Location`]) and its whole recipient block in the clear, and all of
//! it is the field's associated data: an opener needs only private keys, learns where the value
//! belongs, and any change to any byte is detected. The envelope text is `pe2.` + base64url (no
//! padding) of the binary envelope, so it fits unescaped in a JSON string, a header, a form
//! field, a query parameter and a cookie.
//!
//! `docs/envelope.md` specifies every byte; this module is its reference implementation.

mod format;
mod open;
mod seal;
#[cfg(test)]
mod tests;

pub use format::OpenError;
#[cfg(feature = "open")]
pub use format::{header, Header};
pub use format::{
    is_envelope, Binding, ValueKind, MAX_FIELDS, MAX_LOCATION_LEN, MAX_PLAINTEXT, MAX_POLICY_LEN,
    MAX_RECIPIENTS, PREFIX, VERSION,
};
#[cfg(feature = "open")]
pub use open::{no_key_reason, open, open_expecting, Opened};
#[cfg(feature = "test-util")]
pub use seal::TestSealer;
pub use seal::{sealed_len, SealError};

#[cfg(feature = "open")]
pub(crate) use format::is_valid_policy_name;
#[cfg(feature = "open")]
pub(crate) use open::{open_in_request, wrap_of, DataKeys};
pub(crate) use seal::{hash, Sealer};
