//! JWK reading and writing (RFC 7517, RFC 8037, RFC 7638 thumbprints) shared by every key kind,
//! and the rules for zone, region and token-domain names.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};
use zeroize::{Zeroize, Zeroizing};

use super::error::KeyError;
use crate::crypto;

/// Longest zone, region or token domain name, in bytes.
pub(crate) const MAX_NAME_LEN: usize = 64;

/// Length of the key id hint carried in an envelope: the first 8 bytes of the SHA-256
/// thumbprint.
pub(crate) const HINT_LEN: usize = 8;

/// True for a zone or region name: 1 to 64 bytes of `a-z`, `0-9`, `-`.
pub(crate) fn is_valid_zone(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// True for a token domain: 1 to 64 bytes, parts of `a-z`, `0-9`, `-` joined by single dots
/// (`email`, `email.v2`).
pub(crate) fn is_valid_domain(name: &str) -> bool {
    name.len() <= MAX_NAME_LEN
        && name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

pub(super) fn check_name(what: &'static str, name: &str) -> Result<(), KeyError> {
    let ok = if what == "token domain" {
        is_valid_domain(name)
    } else {
        is_valid_zone(name)
    };
    if ok {
        Ok(())
    } else {
        Err(KeyError::InvalidName {
            what,
            name: name.chars().take(MAX_NAME_LEN).collect(),
        })
    }
}

/// The RFC 7638 JWK thumbprint of an `OKP` key (RFC 8037 §2): base64url (no padding) of the
/// SHA-256 of `{"crv":<crv>,"kty":"OKP","x":<x>}` with no whitespace, members in this order.
/// `x` is the base64url public key as written in the JWK.
#[cfg(test)]
pub(crate) fn okp_thumbprint(crv: &str, x: &str) -> String {
    URL_SAFE_NO_PAD.encode(thumbprint_digest(crv, x))
}

pub(crate) fn thumbprint_digest(crv: &str, x: &str) -> [u8; 32] {
    let json = format!(
        "{{\"crv\":{},\"kty\":\"OKP\",\"x\":{}}}",
        json_string(crv),
        json_string(x)
    );
    crypto::sha256(json.as_bytes())
}

/// A JSON string literal (escaped as serde_json does).
pub(super) fn json_string(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

/// Parse a JWK Set into its key objects.
pub(super) fn parse_set(json: &str) -> Result<Vec<Value>, KeyError> {
    parse_keys(json, false)
}

/// Parse a JWK Set, or a single JWK (an object with `kty` and no `keys`), into its key objects.
pub(super) fn parse_set_or_key(json: &str) -> Result<Vec<Value>, KeyError> {
    parse_keys(json, true)
}

pub(super) fn parse_keys(json: &str, single_key: bool) -> Result<Vec<Value>, KeyError> {
    let value: Value = serde_json::from_str(json).map_err(|e| KeyError::Json {
        line: e.line(),
        column: e.column(),
    })?;
    match value {
        Value::Object(mut map) => match map.remove("keys") {
            Some(Value::Array(keys)) => Ok(keys),
            None if single_key && map.contains_key("kty") => Ok(vec![Value::Object(map)]),
            _ => Err(KeyError::NotAKeySet),
        },
        _ => Err(KeyError::NotAKeySet),
    }
}

/// Wipe the secret members of parsed keys once they have been read.
pub(super) fn wipe_secrets(keys: &mut [Value]) {
    for key in keys {
        if let Value::Object(map) = key {
            for member in ["d", "k"] {
                if let Some(Value::String(s)) = map.get_mut(member) {
                    s.zeroize();
                }
            }
        }
    }
}

pub(super) fn as_object(index: usize, key: &Value) -> Result<&Map<String, Value>, KeyError> {
    key.as_object().ok_or(KeyError::InvalidMember {
        index,
        member: "(key)",
        expected: "a JSON object",
    })
}

/// An optional string member.
pub(super) fn opt_str<'a>(
    index: usize,
    obj: &'a Map<String, Value>,
    member: &'static str,
    expected: &'static str,
) -> Result<Option<&'a str>, KeyError> {
    match obj.get(member) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(KeyError::InvalidMember {
            index,
            member,
            expected,
        }),
    }
}

/// A required string member.
pub(super) fn req_str<'a>(
    index: usize,
    obj: &'a Map<String, Value>,
    member: &'static str,
    expected: &'static str,
) -> Result<&'a str, KeyError> {
    opt_str(index, obj, member, expected)?.ok_or(KeyError::InvalidMember {
        index,
        member,
        expected,
    })
}

/// A base64url (no padding) member of exactly 32 bytes.
pub(super) fn b64_32(
    index: usize,
    obj: &Map<String, Value>,
    member: &'static str,
) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    const EXPECTED: &str = "32 bytes in base64url without padding";
    let text = req_str(index, obj, member, EXPECTED)?;
    let bytes =
        Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| KeyError::InvalidMember {
                    index,
                    member,
                    expected: EXPECTED,
                })?,
        );
    let mut out = Zeroizing::new([0u8; 32]);
    if bytes.len() != out.len() {
        return Err(KeyError::InvalidMember {
            index,
            member,
            expected: EXPECTED,
        });
    }
    out.copy_from_slice(&bytes);
    Ok(out)
}

/// A 32-byte secret, wiped on drop.
pub(super) type Secret32 = Zeroizing<[u8; 32]>;
