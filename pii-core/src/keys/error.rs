//! Why a key or key set was refused.

use std::fmt;

/// Why a key or key set was refused. Messages name the key by its position in the set
/// (`key #0` is the first) or by its `kid`, and never contain key material.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The key set is not valid JSON.
    Json {
        /// Line of the syntax error (1-based).
        line: usize,
        /// Column of the syntax error (1-based).
        column: usize,
    },
    /// The JSON is not a JWK Set: an object with a `keys` array (RFC 7517 §5).
    NotAKeySet,
    /// A key of a *public* key set carries private material (`d`, or `k` of a symmetric key).
    /// The edge refuses to start with it: its package is readable by many.
    PrivateKeyInPublicSet {
        /// Position of the key in the set.
        index: usize,
    },
    /// A key of a private key set has no `d`.
    MissingPrivateKey {
        /// Position of the key in the set.
        index: usize,
    },
    /// A key of a type or curve that this set does not take.
    UnsupportedKey {
        /// Position of the key in the set.
        index: usize,
        /// What the set takes.
        expected: &'static str,
    },
    /// A member is missing or has the wrong form.
    InvalidMember {
        /// Position of the key in the set.
        index: usize,
        /// The member (`x`, `d`, `zone`, ...).
        member: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// The `kid` member is not the RFC 7638 thumbprint of the key.
    KidMismatch {
        /// Position of the key in the set.
        index: usize,
        /// The thumbprint that `kid` must be.
        thumbprint: String,
    },
    /// The private key `d` does not belong to the public key `x`.
    PublicKeyMismatch {
        /// Position of the key in the set.
        index: usize,
    },
    /// Two keys with the same key id.
    DuplicateKey {
        /// The key id.
        kid: String,
    },
    /// Two token keys of one token domain with the same `created`: which one tokenizes would
    /// be a guess.
    DuplicateDomain {
        /// The token domain.
        domain: String,
    },
    /// One token secret used for two token domains.
    ReusedTokenKey {
        /// The second domain that uses it.
        domain: String,
    },
    /// A token key shorter than 32 bytes.
    WeakTokenKey {
        /// Position of the key in the set.
        index: usize,
    },
    /// A zone, region or token domain name that breaks the naming rule.
    InvalidName {
        /// `"zone"`, `"region"` or `"token domain"`.
        what: &'static str,
        /// The name, shortened to 64 characters.
        name: String,
    },
    /// No public key for this residency zone.
    UnknownZone {
        /// The zone asked for.
        zone: String,
    },
    /// The operating system's random number generator failed.
    Random,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Json { line, column } => write!(
                f,
                "key set is not valid JSON (line {line}, column {column}): it must be a JWK Set document"
            ),
            KeyError::NotAKeySet => f.write_str(
                "key set must be a JSON object with a \"keys\" array (RFC 7517 JWK Set)",
            ),
            KeyError::PrivateKeyInPublicSet { index } => write!(
                f,
                "key #{index} of the public key set contains private key material (\"d\" or \"k\"): \
                 the edge may only hold public keys; publish the public key set instead and treat \
                 this key as exposed (rotate it)"
            ),
            KeyError::MissingPrivateKey { index } => write!(
                f,
                "key #{index} of the private key set has no \"d\": load the private key set of \
                 this region, not the public one"
            ),
            KeyError::UnsupportedKey { index, expected } => {
                write!(f, "key #{index} is not supported: only {expected} keys are accepted here")
            }
            KeyError::InvalidMember {
                index,
                member,
                expected,
            } => write!(f, "key #{index}: member \"{member}\" must be {expected}"),
            KeyError::KidMismatch { index, thumbprint } => write!(
                f,
                "key #{index}: \"kid\" is not the RFC 7638 thumbprint of the key; set it to \
                 \"{thumbprint}\" or leave it out"
            ),
            KeyError::PublicKeyMismatch { index } => write!(
                f,
                "key #{index}: \"x\" is not the public key of \"d\"; export the key again"
            ),
            KeyError::DuplicateKey { kid } => {
                write!(f, "key \"{kid}\" appears twice in the key set; remove one copy")
            }
            KeyError::DuplicateDomain { domain } => write!(
                f,
                "two token keys of domain \"{domain}\" have the same \"created\": the newest key \
                 tokenizes, so give the rotated-in key a later \"created\" (pii-edge keygen \
                 --token-domain {domain} --rotate does)"
            ),
            KeyError::ReusedTokenKey { domain } => write!(
                f,
                "token domain \"{domain}\" reuses the secret of another domain: generate one \
                 key per domain"
            ),
            KeyError::WeakTokenKey { index } => write!(
                f,
                "token key #{index}: \"k\" must be at least 32 random bytes (base64url)"
            ),
            KeyError::InvalidName { what, name } => {
                let rule = if *what == "token domain" {
                    "1 to 64 characters: parts of a-z, 0-9 and '-' joined by '.'"
                } else {
                    "1 to 64 characters from a-z, 0-9 and '-'"
                };
                write!(f, "{what} \"{name}\" is invalid: use {rule}")
            }
            KeyError::UnknownZone { zone } => write!(
                f,
                "no public key for zone \"{zone}\": add a key of each region of the zone to the \
                 public key set"
            ),
            KeyError::Random => f.write_str("the system random number generator failed"),
        }
    }
}

impl std::error::Error for KeyError {}
