//! Fields at rest under a key of their data subject (`pr1.`, docs/at-rest.md): subject keys,
//! rewrap, opening. A child of `exports` (napi glue); `erasure.js` wraps it. Errors carry the
//! kind of docs/at-rest.md §5 as `code`.

use napi_derive::napi;
use pii_core::at_rest::{self, AtRestError};
use pii_core::token::Normalize;

use super::envelope::{binding, OpenedValue};
use super::keys::PrivateKeyring;
use super::{js, Result};
use crate::error::Failure;

pub(crate) fn at_rest_failure(e: AtRestError) -> napi::Error<String> {
    js(Failure::new(e.name(), e.to_string()))
}

/// One data subject's key, unwrapped in memory (wiped when collected).
#[napi]
pub struct SubjectKey {
    pub(crate) inner: at_rest::SubjectKey,
}

#[napi]
impl SubjectKey {
    /// `SubjectKey.generate(subject, created?)`: a new random key (throws InvalidSubject).
    #[napi(factory)]
    pub fn generate(subject: String, created: Option<f64>) -> Result<Self> {
        let created = created.map_or_else(crate::now_seconds, |c| c as u64);
        at_rest::SubjectKey::generate(&subject, created)
            .map(|inner| SubjectKey { inner })
            .map_err(at_rest_failure)
    }

    /// `SubjectKey.unwrap(keyring, wrapped)`: a key store's `psk1.` record.
    #[napi(factory)]
    pub fn unwrap(keyring: &PrivateKeyring, wrapped: String) -> Result<Self> {
        at_rest::SubjectKey::unwrap(&keyring.inner, &wrapped)
            .map(|inner| SubjectKey { inner })
            .map_err(at_rest_failure)
    }

    /// `key.wrap(keyring, zone)`: the `psk1.` text a key store holds.
    #[napi]
    pub fn wrap(&self, keyring: &PrivateKeyring, zone: String) -> Result<String> {
        self.inner
            .wrap(&keyring.inner, &zone)
            .map_err(at_rest_failure)
    }

    /// `key.token(domain, value, normalize?)`: the per-subject token `ts1.<domain>.…` of
    /// `value` (docs/at-rest.md §7); throws InvalidDomain, Untokenizable, TypeError for an
    /// unknown step.
    #[napi]
    pub fn token(
        &self,
        domain: String,
        value: String,
        normalize: Option<Vec<String>>,
    ) -> Result<String> {
        let steps = steps(normalize)?;
        self.inner
            .token(&domain, &steps, value.as_bytes())
            .map_err(at_rest_failure)
    }

    /// The subject id.
    #[napi(getter)]
    pub fn subject(&self) -> String {
        self.inner.subject().to_owned()
    }

    /// The key id (22 characters of base64url).
    #[napi(getter)]
    pub fn key_id(&self) -> String {
        self.inner.key_id()
    }

    /// Creation time, unix seconds.
    #[napi(getter)]
    pub fn created(&self) -> f64 {
        self.inner.created() as f64
    }
}

/// `rewrap(keyring, envelope, key)`: the edge's envelope sealed under the subject key.
#[napi]
pub fn rewrap(keyring: &PrivateKeyring, envelope: String, key: &SubjectKey) -> Result<String> {
    at_rest::rewrap(&keyring.inner, &envelope, &key.inner).map_err(|e| match e {
        AtRestError::Envelope(e) => js(keyring.open_failure(e, &envelope)),
        other => at_rest_failure(other),
    })
}

/// `rewrapWithToken(keyring, envelope, key, domain, normalize?)`: `[field, token]` from one
/// opening of the envelope.
#[napi]
pub fn rewrap_with_token(
    keyring: &PrivateKeyring,
    envelope: String,
    key: &SubjectKey,
    domain: String,
    normalize: Option<Vec<String>>,
) -> Result<Vec<String>> {
    let steps = steps(normalize)?;
    at_rest::rewrap_with_token(&keyring.inner, &envelope, &key.inner, &domain, &steps)
        .map(|(field, token)| vec![field, token])
        .map_err(|e| match e {
            AtRestError::Envelope(e) => js(keyring.open_failure(e, &envelope)),
            other => at_rest_failure(other),
        })
}

/// Normalization steps from their names.
fn steps(names: Option<Vec<String>>) -> Result<Vec<Normalize>> {
    names
        .unwrap_or_default()
        .iter()
        .map(|n| {
            Normalize::from_name(n).ok_or_else(|| {
                js(Failure::new(
                    "TypeError",
                    format!(
                        "unknown normalization step {n:?}: one of trim, fullwidth, casefold, \
                         digits, email-domain, email-subaddress"
                    ),
                ))
            })
        })
        .collect()
}

/// `openAtRest(key, text)`: kind, plaintext and binding of a field at rest.
#[napi]
pub fn open_at_rest(key: &SubjectKey, text: String) -> Result<OpenedValue> {
    let o = at_rest::open(&key.inner, &text).map_err(at_rest_failure)?;
    let plaintext = std::str::from_utf8(o.plaintext())
        .map_err(|_| js(Failure::new("Malformed", "the opened value is not UTF-8")))?
        .to_owned();
    Ok(OpenedValue {
        kind: o.kind().name().to_owned(),
        plaintext,
        binding: binding(o.binding()),
    })
}

/// `[subject, keyId]` from a field's clear header (authenticates nothing).
#[napi]
pub fn at_rest_header(text: String) -> Result<Vec<String>> {
    at_rest::header(&text)
        .map(|h| vec![h.subject, h.key_id])
        .map_err(at_rest_failure)
}

/// Whether `text` has the form of a field at rest (syntax only).
#[napi]
pub fn is_at_rest(text: String) -> bool {
    at_rest::is_at_rest(&text)
}
