//! Opened values and their binding (docs/envelope.md), and `isEnvelope`.

use napi_derive::napi;

use super::{js, Result};
use crate::error::Failure;

/// Policy, zone and location (text form) of a sealed value.
#[napi(object)]
pub struct ValueBinding {
    /// Policy that sealed it.
    pub policy: String,
    /// Zone it was sealed for.
    pub zone: String,
    /// Location, text form.
    pub location: String,
}

pub(crate) fn binding(b: &pii_core::envelope::Binding) -> ValueBinding {
    ValueBinding {
        policy: b.policy.clone(),
        zone: b.zone.clone(),
        location: b.location.to_string(),
    }
}

/// An opened value before index.js restores its JSON type.
#[napi(object)]
pub struct OpenedValue {
    /// `text`, `string`, `number`, `bool`, `null`, `object` or `array`.
    pub kind: String,
    /// JSON text of the value (raw text for `text`).
    pub plaintext: String,
    /// Where it belongs.
    pub binding: ValueBinding,
}

pub(crate) fn opened(o: &pii_core::envelope::Opened) -> Result<OpenedValue> {
    let plaintext = std::str::from_utf8(o.plaintext())
        .map_err(|_| js(Failure::new("Malformed", "the opened value is not UTF-8")))?
        .to_owned();
    Ok(OpenedValue {
        kind: o.kind().name().to_owned(),
        plaintext,
        binding: binding(o.binding()),
    })
}

/// `isEnvelope(text)`: whether `text` has the form of an envelope (opens nothing).
#[napi]
pub fn is_envelope(text: String) -> bool {
    pii_core::envelope::is_envelope(&text)
}
