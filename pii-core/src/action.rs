//! The actions a rule applies to a selected value: encrypt, tokenize, mask, redact, hash.

use serde_json::Value;

use crate::envelope::{self, Sealer, ValueKind};
use crate::json;
use crate::keys::{PublicKeyring, TokenKeys};
use crate::location::Location;
use crate::policy::Action;
use crate::token::TokenError;

/// A selected value, as found in the request.
#[derive(Clone, Copy)]
pub(crate) enum Input<'a> {
    /// The exact JSON text of a value in a JSON body.
    Json(&'a [u8]),
    /// Decoded text of a header, parameter, form field or cookie.
    Text(&'a [u8]),
}

/// What replaces the value.
pub(crate) enum Output {
    /// JSON text (for JSON bodies).
    Json(Vec<u8>),
    /// Text (for the other parts; the caller encodes it for its context).
    Text(Vec<u8>),
    /// The value disappears.
    Remove,
}

/// Why an action could not be applied.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The value's type does not fit the action.
    NotApplicable(&'static str),
    /// Sealing or tokenizing failed (keys or limits); the reason stays inside: it is an
    /// operator problem and the request is rejected with 503.
    Seal,
    /// The value is larger than one envelope may carry.
    TooLarge,
}

/// Per-request state shared by the actions: one sealer (one encapsulation per recipient) for
/// the whole request, created on the first value that needs it, or borrowed from the engine's
/// bounded reuse cache when it is configured.
pub(crate) struct Context<'e> {
    pub(crate) keys: &'e PublicKeyring,
    pub(crate) tokens: &'e TokenKeys,
    pub(crate) policy: &'e str,
    pub(crate) zone: &'e str,
    sealer: Option<Sealer>,
    reuse: Option<&'e SealerCache>,
    /// Where the values of a virtual body (a declared shape, `shape.rs`) are in the request
    /// as forwarded: the location bound into ciphertext.
    pub(crate) relocate: Option<crate::shape::Relocate>,
}

/// Limits of reusing one encapsulation across requests (see `docs/envelope.md`, "Amortized
/// encapsulation"): a cached sealer is replaced when it is older than `max_age` or has sealed
/// `max_fields` values, whichever comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reuse {
    /// Longest a data key is used.
    pub max_age: std::time::Duration,
    /// Most values sealed under one data key.
    pub max_fields: u64,
}

/// One cached sealer per zone, shared by the requests of one engine (one function instance).
#[derive(Debug)]
pub(crate) struct SealerCache {
    limits: Reuse,
    sealers: std::sync::Mutex<std::collections::HashMap<String, Cached>>,
}

struct Cached {
    sealer: Sealer,
    born: std::time::Instant,
    sealed: u64,
}

impl std::fmt::Debug for Cached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cached")
            .field("sealed", &self.sealed)
            .finish_non_exhaustive()
    }
}

impl SealerCache {
    pub(crate) fn new(limits: Reuse) -> Self {
        SealerCache {
            limits,
            sealers: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn seal(
        &self,
        keys: &PublicKeyring,
        zone: &str,
        policy: &str,
        location: &Location,
        kind: ValueKind,
        plaintext: &[u8],
        quoted: bool,
    ) -> Result<Vec<u8>, Failure> {
        // A poisoned lock only means another request panicked mid-seal; the cache holds no
        // half-written state a seal could observe (the counter moves before encryption).
        let mut sealers = self.sealers.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = |c: &Cached| {
            c.born.elapsed() < self.limits.max_age && c.sealed < self.limits.max_fields
        };
        // One lookup per field; a new sealer only when there is none or it is spent.
        if let Some(cached) = sealers.get_mut(zone).filter(|c| fresh(c)) {
            cached.sealed += 1;
            return seal_value(
                &mut cached.sealer,
                policy,
                location,
                kind,
                plaintext,
                quoted,
            );
        }
        let recipients = keys.recipients(zone).map_err(|_| Failure::Seal)?;
        let sealer = Sealer::new(&recipients, zone).map_err(|_| Failure::Seal)?;
        let mut cached = Cached {
            sealer,
            born: std::time::Instant::now(),
            sealed: 1,
        };
        let sealed = seal_value(
            &mut cached.sealer,
            policy,
            location,
            kind,
            plaintext,
            quoted,
        );
        sealers.insert(zone.to_owned(), cached);
        sealed
    }
}

impl<'e> Context<'e> {
    pub(crate) fn new(
        keys: &'e PublicKeyring,
        tokens: &'e TokenKeys,
        policy: &'e str,
        zone: &'e str,
        reuse: Option<&'e SealerCache>,
    ) -> Self {
        Context {
            keys,
            tokens,
            policy,
            zone,
            sealer: None,
            reuse,
            relocate: None,
        }
    }

    fn sealer(&mut self) -> Result<&mut Sealer, Failure> {
        if self.sealer.is_none() {
            let recipients = self.keys.recipients(self.zone).map_err(|_| Failure::Seal)?;
            self.sealer = Some(Sealer::new(&recipients, self.zone).map_err(|_| Failure::Seal)?);
        }
        // Just set above when it was empty.
        self.sealer.as_mut().ok_or(Failure::Seal)
    }
}

/// The envelope text of one value in a buffer of its own, between quotes for a JSON body:
/// envelope text is `pe2.` and base64url, which JSON never escapes.
fn seal_value(
    sealer: &mut Sealer,
    policy: &str,
    location: &Location,
    kind: ValueKind,
    plaintext: &[u8],
    quoted: bool,
) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::with_capacity(sealer.capacity_hint(plaintext.len()) + 2);
    if quoted {
        out.push(b'"');
    }
    sealer
        .seal_into(policy, location, kind, plaintext, &mut out)
        .map_err(seal_failure)?;
    if quoted {
        out.push(b'"');
    }
    Ok(out)
}

fn seal_failure(e: crate::envelope::SealError) -> Failure {
    match e {
        crate::envelope::SealError::PlaintextTooLarge { .. } => Failure::TooLarge,
        _ => Failure::Seal,
    }
}

/// Check, from the type of a JSON value alone, whether an action can apply to it; used to
/// decide on a removal before the value is rewritten.
pub(crate) fn fits_json(action: &Action, kind: ValueKind) -> Result<(), &'static str> {
    match action {
        Action::Encrypt | Action::Redact { .. } => Ok(()),
        Action::Mask { .. } | Action::Tokenize { .. } | Action::Hash => match kind {
            ValueKind::String | ValueKind::Number => Ok(()),
            _ => Err("it applies to strings and numbers only"),
        },
    }
}

/// The type of a parsed JSON value.
pub(crate) fn kind_of_value(value: &Value) -> ValueKind {
    match value {
        Value::String(_) => ValueKind::String,
        Value::Number(_) => ValueKind::Number,
        Value::Bool(_) => ValueKind::Bool,
        Value::Null => ValueKind::Null,
        Value::Object(_) => ValueKind::Object,
        Value::Array(_) => ValueKind::Array,
    }
}

/// The bytes that tokenize, hash and mask work on: the decoded string, or a number's text.
fn scalar_bytes(input: Input<'_>) -> Result<Vec<u8>, Failure> {
    match input {
        Input::Text(t) => Ok(t.to_vec()),
        Input::Json(raw) => match raw.first() {
            Some(b'"') => serde_json::from_slice::<String>(raw)
                .map(String::into_bytes)
                .map_err(|_| Failure::NotApplicable("the string could not be decoded")),
            Some(b'-' | b'0'..=b'9') => Ok(raw.to_vec()),
            _ => Err(Failure::NotApplicable(
                "it applies to strings and numbers only",
            )),
        },
    }
}

/// The type of a raw JSON value (its exact bytes, already validated).
pub(crate) fn kind_of(raw: &[u8]) -> ValueKind {
    match raw.first() {
        Some(b'"') => ValueKind::String,
        Some(b'{') => ValueKind::Object,
        Some(b'[') => ValueKind::Array,
        Some(b't' | b'f') => ValueKind::Bool,
        Some(b'n') => ValueKind::Null,
        _ => ValueKind::Number,
    }
}

fn text_out(input: Input<'_>, s: String) -> Output {
    match input {
        Input::Json(_) => Output::Json(json::quote(&s).into_bytes()),
        Input::Text(_) => Output::Text(s.into_bytes()),
    }
}

/// Apply one action to one value at `location` (the value's place in the protected request,
/// bound into ciphertext).
pub(crate) fn apply(
    action: &Action,
    input: Input<'_>,
    location: &Location,
    ctx: &mut Context<'_>,
) -> Result<Output, Failure> {
    match action {
        Action::Encrypt => {
            let relocated;
            let location = match &ctx.relocate {
                Some(r) => {
                    relocated = r.apply(location);
                    &relocated
                }
                None => location,
            };
            let (kind, plaintext, quoted) = match input {
                Input::Json(raw) => (kind_of(raw), raw, true),
                Input::Text(t) => (ValueKind::Text, t, false),
            };
            let (policy, zone) = (ctx.policy, ctx.zone);
            let sealed = match ctx.reuse {
                Some(cache) => {
                    cache.seal(ctx.keys, zone, policy, location, kind, plaintext, quoted)?
                }
                None => seal_value(ctx.sealer()?, policy, location, kind, plaintext, quoted)?,
            };
            Ok(if quoted {
                Output::Json(sealed)
            } else {
                Output::Text(sealed)
            })
        }
        Action::Tokenize {
            domain,
            normalization,
        } => {
            let key = ctx.tokens.get(domain).ok_or(Failure::Seal)?;
            let token =
                crate::token::tokenize(key, normalization, &scalar_bytes(input)?).map_err(|e| {
                    match e {
                        TokenError::NotText => Failure::NotApplicable("it is not UTF-8 text"),
                        TokenError::NoDigits => {
                            Failure::NotApplicable("it has no digit to keep (normalize: digits)")
                        }
                        TokenError::NotAnEmail => Failure::NotApplicable(
                            "it is not an e-mail address local@domain (normalize: email-*)",
                        ),
                        _ => Failure::Seal,
                    }
                })?;
            Ok(text_out(input, token))
        }
        Action::Hash => Ok(text_out(input, envelope::hash(&scalar_bytes(input)?))),
        Action::Mask {
            keep_first,
            keep_last,
            mask,
        } => {
            let bytes = scalar_bytes(input)?;
            let text = String::from_utf8_lossy(&bytes);
            Ok(text_out(
                input,
                mask_text(&text, *keep_first, *keep_last, *mask),
            ))
        }
        Action::Redact { replace_with } => match replace_with {
            None => Ok(Output::Remove),
            Some(v) => Ok(match input {
                Input::Json(_) => Output::Json(v.to_string().into_bytes()),
                Input::Text(_) => Output::Text(v.as_str().unwrap_or_default().as_bytes().to_vec()),
            }),
        },
    }
}

/// Keep `first` and `last` characters, mask the rest. When the value is too short to keep
/// anything hidden, everything is masked: a mask never reveals the whole value.
pub(crate) fn mask_text(s: &str, first: usize, last: usize, mask: char) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    if first + last >= n {
        return std::iter::repeat_n(mask, n).collect();
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| if i < first || i >= n - last { c } else { mask })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_keeps_ends() {
        assert_eq!(mask_text("4111111111111111", 0, 4, '*'), "************1111");
        assert_eq!(mask_text("erika@example.de", 2, 3, '#'), "er###########.de");
        assert_eq!(mask_text("äöü", 1, 1, '*'), "ä*ü");
    }

    #[test]
    fn mask_never_reveals_short_values() {
        assert_eq!(mask_text("1234", 2, 2, '*'), "****");
        assert_eq!(mask_text("", 2, 2, '*'), "");
    }
}
