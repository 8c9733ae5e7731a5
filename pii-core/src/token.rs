//! Tokens: what the `tokenize` action writes in place of a value, the normalization applied
//! before it, and the tokens of one value under every key of a domain (for lookups across a
//! key rotation).
//!
//! A token is `tk1.<domain>.<base64url-no-pad(HMAC-SHA256(K, value'))>` (`docs/envelope.md`
//! §9):
//! - without normalization, `K` is the domain's token key and `value'` the value's bytes;
//! - with normalization (`normalize: [trim, fullwidth, casefold]`), `value'` is the normalized text
//!   and `K = HKDF-Expand(key, "pii-edge token normalize v1:" || steps joined by ",", 32)`
//!   (RFC 5869). Every normalization has its own key, so two policies that normalize the same
//!   domain differently can never produce equal tokens for different inputs, and a changed
//!   normalization shows as changed tokens instead of silent collisions.
//!
//! A domain may hold several keys (see [`TokenKeys`]): the newest tokenizes, and [`tokens`]
//! computes a value's token under each of them, so that an origin can look up a value stored
//! before a rotation.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::crypto;
use crate::keys::{TokenKey, TokenKeys};

/// The HKDF `info` prefix of a normalized token key; the step names follow, joined by `,`.
const NORMALIZE_INFO: &str = "pii-edge token normalize v1:";

/// One normalization step of a `tokenize` rule (`normalize: [trim, fullwidth, casefold]`). Steps run
/// in the order written; the order is part of the token key, so `[trim, casefold]` and
/// `[casefold, trim]` give unrelated tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Normalize {
    /// Remove white space (Unicode `White_Space`) at both ends.
    Trim,
    /// Full-width forms to ASCII: `U+FF01`..`U+FF5E` to `!`..`~` and the ideographic space
    /// `U+3000` to a space (`ａｎｎ＠ｅｘａｍｐｌｅ．ｄｅ` → `ann@example.de`, `０３０` → `030`): what
    /// NFKC changes in e-mail addresses, phone and card numbers typed with an East Asian input
    /// method, computed without tables.
    Fullwidth,
    /// Unicode Normalization Form KC (UAX #15). Not available in policies: its tables do not
    /// fit the Lambda@Edge package (see `docs/policy.md`, "normalize"); `check` refuses it and
    /// names `fullwidth` instead.
    Nfkc,
    /// Unicode full case folding (Unicode §3.13, `CaseFolding.txt` C+F): `Ann@Example.COM` →
    /// `ann@example.com`, `Straße` → `strasse`.
    Casefold,
    /// Keep the ASCII digits `0-9` only (phone and card numbers: `+49 (30) 123-45` →
    /// `493012345`). Put `fullwidth` first to keep full-width digits. A value without a digit cannot
    /// be tokenized (the rule's `onError` decides).
    Digits,
    /// E-mail: lower-case the domain (after the last `@`) and drop a trailing `.`; the local
    /// part is kept as written (RFC 5321 §2.4 leaves its case to the receiving server). A value
    /// without `@` cannot be tokenized.
    EmailDomain,
    /// E-mail: drop a sub-address from the local part (`ann+news@x.de` → `ann@x.de`, RFC 5233).
    /// A value without `@` cannot be tokenized.
    EmailSubaddress,
}

impl Normalize {
    /// The name used in policies, in token keys and by `pii-edge token --normalize`.
    pub fn as_str(self) -> &'static str {
        match self {
            Normalize::Trim => "trim",
            Normalize::Fullwidth => "fullwidth",
            Normalize::Nfkc => "nfkc",
            Normalize::Casefold => "casefold",
            Normalize::Digits => "digits",
            Normalize::EmailDomain => "email-domain",
            Normalize::EmailSubaddress => "email-subaddress",
        }
    }

    /// Every step, in the order of the documentation.
    pub const ALL: [Normalize; 7] = [
        Normalize::Trim,
        Normalize::Fullwidth,
        Normalize::Nfkc,
        Normalize::Casefold,
        Normalize::Digits,
        Normalize::EmailDomain,
        Normalize::EmailSubaddress,
    ];

    /// The step of a name (`"nfkc"`), as in a policy.
    ///
    /// ```
    /// use pii_core::token::Normalize;
    /// assert_eq!(Normalize::from_name("email-domain"), Some(Normalize::EmailDomain));
    /// assert_eq!(Normalize::from_name("NFKC"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Normalize> {
        Normalize::ALL.into_iter().find(|n| n.as_str() == name)
    }

    /// Whether the edge package can run this step (NFKC's tables do not fit it).
    pub fn at_edge(self) -> bool {
        self != Normalize::Nfkc
    }

    fn apply(self, text: String) -> Result<String, TokenError> {
        Ok(match self {
            Normalize::Trim => {
                let trimmed = text.trim();
                if trimmed.len() == text.len() {
                    text
                } else {
                    trimmed.to_owned()
                }
            }
            Normalize::Fullwidth => text
                .chars()
                .map(|c| match u32::from(c) {
                    0x3000 => ' ',
                    // U+FF01..=U+FF5E are U+0021..=U+007E shifted by 0xFEE0.
                    cp @ 0xFF01..=0xFF5E => char::from_u32(cp - 0xFEE0).unwrap_or(c),
                    _ => c,
                })
                .collect(),
            Normalize::Nfkc => return Err(TokenError::Unsupported),
            Normalize::Casefold => caseless::default_case_fold_str(&text),
            Normalize::Digits => {
                let digits: String = text.chars().filter(char::is_ascii_digit).collect();
                if digits.is_empty() {
                    return Err(TokenError::NoDigits);
                }
                digits
            }
            Normalize::EmailDomain => {
                let (local, domain) = split_email(&text)?;
                let domain = domain.strip_suffix('.').unwrap_or(domain).to_lowercase();
                format!("{local}@{domain}")
            }
            Normalize::EmailSubaddress => {
                let (local, domain) = split_email(&text)?;
                let local = local.split('+').next().unwrap_or(local);
                format!("{local}@{domain}")
            }
        })
    }
}

impl fmt::Display for Normalize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `local@domain` at the last `@`, both parts non-empty.
fn split_email(text: &str) -> Result<(&str, &str), TokenError> {
    match text.rsplit_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() => Ok((local, domain)),
        _ => Err(TokenError::NotAnEmail),
    }
}

/// Why a value has no token. Messages never contain the value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// No token key has this domain.
    UnknownDomain {
        /// The domain asked for.
        domain: String,
    },
    /// A normalization needs text, and the value is not UTF-8.
    NotText,
    /// `digits` found no digit.
    NoDigits,
    /// `email-domain` or `email-subaddress` found no `local@domain`.
    NotAnEmail,
    /// The key derivation failed (cannot happen with a valid token key).
    Key,
    /// A step this build cannot run (`nfkc`).
    Unsupported,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::UnknownDomain { domain } => write!(
                f,
                "no token key has domain `{domain}`; add one (pii-edge keygen --token-domain {domain})"
            ),
            TokenError::NotText => f.write_str("the value is not UTF-8 text, so it cannot be normalized"),
            TokenError::NoDigits => f.write_str("the value has no digit to keep (normalize: digits)"),
            TokenError::NotAnEmail => f.write_str(
                "the value is not an e-mail address of the form local@domain (normalize: email-*)",
            ),
            TokenError::Key => f.write_str("the token key could not be derived"),
            TokenError::Unsupported => f.write_str(
                "normalization step `nfkc` is not available (its tables do not fit the edge package); use `fullwidth`",
            ),
        }
    }
}

impl std::error::Error for TokenError {}

/// A normalization compiled once: its steps and the HKDF `info` of its token key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Normalization {
    steps: Vec<Normalize>,
    info: Vec<u8>,
}

impl Normalization {
    pub(crate) fn new(steps: &[Normalize]) -> Self {
        let names: Vec<&str> = steps.iter().map(|s| s.as_str()).collect();
        Normalization {
            steps: steps.to_vec(),
            info: format!("{NORMALIZE_INFO}{}", names.join(",")).into_bytes(),
        }
    }

    /// The value as tokenized: unchanged without steps, else normalized UTF-8 text.
    fn apply<'v>(&self, value: &'v [u8]) -> Result<std::borrow::Cow<'v, [u8]>, TokenError> {
        if self.steps.is_empty() {
            return Ok(std::borrow::Cow::Borrowed(value));
        }
        let mut text = std::str::from_utf8(value)
            .map_err(|_| TokenError::NotText)?
            .to_owned();
        for step in &self.steps {
            text = step.apply(text)?;
        }
        Ok(std::borrow::Cow::Owned(text.into_bytes()))
    }
}

/// The token of `value` under one key.
pub(crate) fn tokenize(
    key: &TokenKey,
    normalization: &Normalization,
    value: &[u8],
) -> Result<String, TokenError> {
    let value = normalization.apply(value)?;
    let mac = if normalization.steps.is_empty() {
        crypto::hmac_sha256(key.secret(), &value)
    } else {
        let subkey =
            crypto::token_subkey(key.secret(), &normalization.info).map_err(|_| TokenError::Key)?;
        crypto::hmac_sha256(subkey.as_slice(), &value)
    };
    let mut out = String::with_capacity(5 + key.domain().len() + 43);
    out.push_str("tk1.");
    out.push_str(key.domain());
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(mac, &mut out);
    Ok(out)
}

/// HKDF salt of a per-subject token key (docs/at-rest.md §7).
#[cfg(feature = "open")]
const SUBJECT_TOKEN_SALT: &[u8] = b"pii-edge subject token v1";

/// A per-subject token (docs/at-rest.md §7): `ts1.<domain>.<base64url(HMAC-SHA256(K,
/// value'))>` with `K = HKDF-SHA256(salt, subject key, domain ":" steps)`. The caller has
/// checked `domain`.
#[cfg(feature = "open")]
pub(crate) fn subject_token(
    subject_key: &[u8],
    domain: &str,
    normalize: &[Normalize],
    value: &[u8],
) -> Result<String, TokenError> {
    let normalization = Normalization::new(normalize);
    let value = normalization.apply(value)?;
    let steps: Vec<&str> = normalize.iter().map(|s| s.as_str()).collect();
    let info = format!("{domain}:{}", steps.join(","));
    let key = crypto::hkdf_sha256(SUBJECT_TOKEN_SALT, subject_key, info.as_bytes())
        .map_err(|_| TokenError::Key)?;
    let mac = crypto::hmac_sha256(key.as_slice(), &value);
    let mut out = String::with_capacity(5 + domain.len() + 43);
    out.push_str("ts1.");
    out.push_str(domain);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(mac, &mut out);
    Ok(out)
}

/// A value's token under one key of its domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The key's id (`kid`).
    pub kid: String,
    /// The key's creation time, unix seconds.
    pub created: u64,
    /// Whether this key is the one the edge tokenizes with now (the newest of the domain).
    pub current: bool,
    /// The token, `tk1.<domain>.<43 characters>`.
    pub token: String,
}

/// The token of `value` under every key of `domain`, newest (current) first: what an origin
/// looks up when a domain's key was rotated and stored tokens may be older. `normalize` must be
/// the rule's `normalize` list (empty for none). The first token is what the edge writes now.
///
/// ```
/// use pii_core::{token::tokens, token::Normalize, TokenKeys};
/// let keys = TokenKeys::from_jwks(r#"{"keys":[
///   {"kty":"oct","domain":"email","created":100,"k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"},
///   {"kty":"oct","domain":"email","created":200,"k":"bmV3ZXItbmV3ZXItbmV3ZXItbmV3ZXItbmV3ZXItbmV3ZXI"}
/// ]}"#)?;
/// let steps = [Normalize::Trim, Normalize::Casefold];
/// let found = tokens(&keys, "email", &steps, b" Ann@Example.com")?;
/// assert_eq!(found.len(), 2);
/// assert!(found[0].current && found[0].created == 200);
/// assert_eq!(found, tokens(&keys, "email", &steps, b"ann@example.com")?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn tokens(
    keys: &TokenKeys,
    domain: &str,
    normalize: &[Normalize],
    value: &[u8],
) -> Result<Vec<Token>, TokenError> {
    let normalization = Normalization::new(normalize);
    let all = keys.keys_of(domain);
    if all.is_empty() {
        return Err(TokenError::UnknownDomain {
            domain: domain.chars().take(64).collect(),
        });
    }
    all.into_iter()
        .enumerate()
        .map(|(i, key)| {
            Ok(Token {
                kid: key.kid().to_owned(),
                created: key.created(),
                current: i == 0,
                token: tokenize(key, &normalization, value)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA";

    fn keys() -> TokenKeys {
        TokenKeys::from_jwks(&format!(
            r#"{{"keys":[{{"kty":"oct","domain":"email.v2","k":"{K}"}}]}}"#
        ))
        .expect("keys")
    }

    fn norm(steps: &[Normalize], value: &str) -> Result<String, TokenError> {
        Normalization::new(steps)
            .apply(value.as_bytes())
            .map(|v| String::from_utf8(v.into_owned()).expect("utf-8"))
    }

    #[test]
    fn without_normalization_the_token_is_the_v1_hmac() {
        // Unchanged from before normalization existed: stored tokens stay valid.
        let keys = keys();
        let key = keys.get("email.v2").expect("key");
        let token = tokenize(key, &Normalization::default(), b"alice@example.com").expect("token");
        let expected = URL_SAFE_NO_PAD.encode(crypto::hmac_sha256(
            b"secret-secret-secret-secret-secret",
            b"alice@example.com",
        ));
        assert_eq!(token, format!("tk1.email.v2.{expected}"));
        assert_eq!(token.len(), "tk1.email.v2.".len() + 43);
    }

    #[test]
    fn each_step() {
        use Normalize::*;
        assert_eq!(norm(&[Trim], " \u{3000}a b\n").unwrap(), "a b");
        assert_eq!(
            norm(&[Fullwidth], "ａｎｎ＠ｅｘａｍｐｌｅ．ｄｅ\u{3000}０３０ｰ").unwrap(),
            "ann@example.de 030ｰ"
        );
        assert_eq!(norm(&[Nfkc], "x"), Err(TokenError::Unsupported));
        assert_eq!(
            norm(&[Casefold], "Ann@Example.COM Straße").unwrap(),
            "ann@example.com strasse"
        );
        assert_eq!(norm(&[Digits], "+49 (30) 123-45").unwrap(), "493012345");
        assert_eq!(norm(&[Fullwidth, Digits], "０３０ １２").unwrap(), "03012");
        assert_eq!(norm(&[Digits], "n/a"), Err(TokenError::NoDigits));
        assert_eq!(
            norm(&[EmailDomain], "Ann@Example.COM.").unwrap(),
            "Ann@example.com"
        );
        assert_eq!(
            norm(&[EmailDomain], "a\"@\"b@X.de").unwrap(),
            "a\"@\"b@x.de"
        );
        assert_eq!(
            norm(&[EmailSubaddress], "ann+news@x.de").unwrap(),
            "ann@x.de"
        );
        assert_eq!(
            norm(&[EmailDomain], "no-at-sign"),
            Err(TokenError::NotAnEmail)
        );
        assert_eq!(
            norm(&[EmailSubaddress], "@x.de"),
            Err(TokenError::NotAnEmail)
        );
        assert_eq!(
            Normalization::new(&[Trim]).apply(b"\xff").map(|_| ()),
            Err(TokenError::NotText)
        );
    }

    #[test]
    fn normalized_spellings_join_and_normalizations_do_not_collide() {
        use Normalize::*;
        let keys = keys();
        let key = keys.get("email.v2").expect("key");
        let email = Normalization::new(&[Trim, Fullwidth, Casefold]);
        let a = tokenize(key, &email, "  Ann@Example.com ".as_bytes()).unwrap();
        let b = tokenize(key, &email, "ａｎｎ@example.COM".as_bytes()).unwrap();
        assert_eq!(a, b);
        // The same normalized text without normalization, or with other steps, or the same
        // steps in another order: other keys, other tokens.
        let plain = tokenize(key, &Normalization::default(), b"ann@example.com").unwrap();
        assert_ne!(a, plain);
        let reordered = tokenize(
            key,
            &Normalization::new(&[Casefold, Fullwidth, Trim]),
            b"ann@example.com",
        );
        assert_ne!(Ok(a.clone()), reordered);
        let fewer = tokenize(key, &Normalization::new(&[Casefold]), b"ann@example.com");
        assert_ne!(Ok(a), fewer);
    }

    #[test]
    fn tokens_under_every_key_newest_first() {
        let keys = TokenKeys::from_jwks(&format!(
            r#"{{"keys":[
              {{"kty":"oct","domain":"email","created":100,"k":"{K}"}},
              {{"kty":"oct","domain":"email","created":300,"k":"bmV3ZXItbmV3ZXItbmV3ZXItbmV3ZXItbmV3ZXItbmV3ZXI"}},
              {{"kty":"oct","domain":"phone","created":200,"k":"cGhvbmUtcGhvbmUtcGhvbmUtcGhvbmUtcGhvbmUtcGhvbmU"}}
            ]}}"#
        ))
        .expect("keys");
        let found = tokens(&keys, "email", &[], b"a@b.de").expect("tokens");
        assert_eq!(
            found.iter().map(|t| t.created).collect::<Vec<_>>(),
            [300, 100]
        );
        assert!(found[0].current && !found[1].current);
        assert_ne!(found[0].token, found[1].token);
        assert_eq!(found[0].kid, keys.keys_of("email")[0].kid());
        // The engine tokenizes with the newest key.
        let newest = keys.get("email").expect("key");
        assert_eq!(newest.created(), 300);
        assert_eq!(
            tokenize(newest, &Normalization::default(), b"a@b.de").unwrap(),
            found[0].token
        );
        assert!(matches!(
            tokens(&keys, "iban", &[], b"x"),
            Err(TokenError::UnknownDomain { .. })
        ));
    }
}
