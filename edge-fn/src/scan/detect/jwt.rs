//! JSON Web Tokens (RFC 7519, JWS compact serialization, RFC 7515 §7.1): a token whose header
//! decodes to a JSON object with `alg` and whose payload decodes to a JSON object is opened
//! **without verifying** its signature, and its personal claims are reported: the OpenID
//! Connect Core 1.0 §5.1 standard claims `email`, `name`, `given_name`, `family_name`,
//! `middle_name`, `phone_number`, `address`, `birthdate`, and `preferred_username` when it is
//! an e-mail address. A signed token is readable by anyone who holds it: a claim in a token is
//! as exposed as the same value in a header. Encrypted tokens (JWE, five parts) are not opened.

use base64::Engine as _;
use serde_json::Value;

use super::{email::is_email, Detector, Hit};

/// The OIDC claims reported.
const CLAIMS: &[&str] = &[
    "email",
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "phone_number",
    "address",
    "birthdate",
];

/// The personal claims of `token` (an `Authorization: Bearer` value without the scheme, a
/// cookie, a JSON string); empty when it is not a readable JWT.
///
/// ```
/// use edge_fn::scan::detect::jwt::claims;
/// // {"alg":"HS256"}.{"sub":"1","email":"erika@example.de","name":"Erika"}.sig
/// let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIiwiZW1haWwiOiJlcmlrYUBleGFtcGxlLmRlIiwibmFtZSI6IkVyaWthIn0.c2ln";
/// let found: Vec<_> = claims(token).into_iter().map(|h| h.claim.unwrap()).collect();
/// assert_eq!(found, ["email", "name"]);
/// assert!(claims("eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln").is_empty());
/// ```
pub fn claims(token: &str) -> Vec<Hit> {
    let mut out = Vec::new();
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return out;
    };
    if !header.starts_with("eyJ") || !payload.starts_with("eyJ") {
        return out;
    }
    let decode = |part: &str| -> Option<Value> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .ok()?;
        serde_json::from_slice::<Value>(&bytes).ok()
    };
    let Some(Value::Object(h)) = decode(header) else {
        return out;
    };
    if !h.contains_key("alg") {
        return out;
    }
    let Some(Value::Object(p)) = decode(payload) else {
        return out;
    };
    for (name, value) in &p {
        let reported = CLAIMS.contains(&name.as_str())
            || (name == "preferred_username" && value.as_str().is_some_and(is_email));
        if !reported {
            continue;
        }
        let text = match value {
            Value::String(s) if !s.trim().is_empty() => s.clone(),
            Value::Object(o) if !o.is_empty() => value.to_string(),
            _ => continue,
        };
        out.push(Hit {
            detector: Detector::JwtClaim,
            text,
            claim: Some(name.clone()),
        });
    }
    out
}
