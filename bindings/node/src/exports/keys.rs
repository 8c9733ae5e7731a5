//! `PrivateKeyring`: the private keys of one region.

use napi::bindgen_prelude::{Buffer, ClassInstance};
use napi_derive::napi;

use super::at_rest::SubjectKey;
use super::envelope::{opened, OpenedValue};
use super::reveal::RevealedRequest;
use super::strict::Policies;
use super::{js, Result};
use crate::error::Failure;

/// The private keys of one region.
#[napi]
pub struct PrivateKeyring {
    pub(crate) inner: pii_core::PrivateKeyring,
}

impl PrivateKeyring {
    /// `open_failure`, with `NoKey` saying which zone and key ids the envelope needs.
    pub(crate) fn open_failure(&self, e: pii_core::envelope::OpenError, envelope: &str) -> Failure {
        match e {
            pii_core::envelope::OpenError::NoKey => Failure::new(
                e.name(),
                pii_core::envelope::no_key_reason(&self.inner, envelope),
            ),
            other => crate::error::open_failure(other),
        }
    }
}

#[napi]
impl PrivateKeyring {
    /// A private X25519 JWK Set.
    #[napi(factory)]
    pub fn from_jwks(text: String) -> Result<Self> {
        let text = zeroize::Zeroizing::new(text);
        crate::load_private(&text)
            .map(|inner| PrivateKeyring { inner })
            .map_err(js)
    }

    /// `fromJwks` of a file.
    #[napi(factory)]
    pub fn from_file(path: String) -> Result<Self> {
        let text = crate::read_file(&path).map_err(js)?;
        crate::load_private(&text)
            .map(|inner| PrivateKeyring { inner })
            .map_err(|e| js(Failure::new(e.kind, format!("{path}: {}", e.message))))
    }

    /// The zones this keyring opens.
    #[napi(getter)]
    pub fn zones(&self) -> Vec<String> {
        self.inner.zones().into_iter().map(str::to_owned).collect()
    }

    /// `open(envelope)`: kind, plaintext (JSON text or raw text) and binding.
    #[napi]
    pub fn open(&self, envelope: String) -> Result<OpenedValue> {
        let o = pii_core::envelope::open(&self.inner, &envelope)
            .map_err(|e| js(self.open_failure(e, &envelope)))?;
        opened(&o)
    }

    /// `openExpecting(envelope, policy, zone, location)`.
    #[napi]
    pub fn open_expecting(
        &self,
        envelope: String,
        policy: String,
        zone: String,
        location: String,
    ) -> Result<OpenedValue> {
        let location = crate::location::parse_location(&location).map_err(js)?;
        let expected = pii_core::envelope::Binding::new(policy, zone, location);
        let o = pii_core::envelope::open_expecting(&self.inner, &envelope, &expected)
            .map_err(|e| js(self.open_failure(e, &envelope)))?;
        opened(&o)
    }

    /// `reveal(method, path, query, headers, body, policy?, zone?, strict?)`.
    #[napi]
    #[allow(clippy::too_many_arguments)]
    pub fn reveal(
        &self,
        method: String,
        path: String,
        query: String,
        headers: Vec<Vec<String>>,
        body: Buffer,
        policy: Option<String>,
        zone: Option<String>,
        strict: Option<&Policies>,
        subject_keys: Option<Vec<ClassInstance<'_, SubjectKey>>>,
        erased: Option<Vec<String>>,
    ) -> Result<RevealedRequest> {
        let at_rest = subject_keys.map(|keys| (keys, erased.unwrap_or_default()));
        super::reveal::reveal(
            &self.inner,
            method,
            path,
            query,
            headers,
            body,
            policy,
            zone,
            strict,
            at_rest.as_ref().map(|(k, e)| (k.as_slice(), e.as_slice())),
        )
    }
}
