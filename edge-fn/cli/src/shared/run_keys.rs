//! The keys of a test run: the key sets given or found (the demo keys), and throwaway keys
//! for every zone and token domain the policies use that those do not cover.

use std::path::{Path, PathBuf};

use pii_core::{
    keys::PrivateKey, spec::ActionKind, Policy, PrivateKeyring, PublicKeyring, TokenKeys,
};
use serde_json::Value;

use super::files::{find_example_key, read_text};
use super::style::errln;
use super::CliError;

/// Key sets as text, so each run can build its own engine.
pub(crate) struct KeyTexts {
    public: Option<String>,
    private: Option<String>,
    tokens: Option<String>,
}

impl KeyTexts {
    /// No key sets: every key of a run is a throwaway key.
    pub(crate) fn none() -> KeyTexts {
        KeyTexts {
            public: None,
            private: None,
            tokens: None,
        }
    }
}

/// Throwaway keys for every zone and token domain `policies` use (`pii-edge scan` runs the
/// engine only to learn which values its rules select).
pub(crate) fn throwaway_keys(policies: &[Policy]) -> Result<(PublicKeyring, TokenKeys), CliError> {
    let (public, _, tokens) = keys_for(&KeyTexts::none(), policies)?;
    Ok((public, tokens))
}

/// Reads the key sets given (`--keys`, `--private-keys`, `--tokens`), else the demo keys found
/// near `paths` (`examples/keys/`), else none.
pub(crate) fn key_texts(
    paths: &[PathBuf],
    public: Option<&Path>,
    private: Option<&Path>,
    tokens: Option<&Path>,
) -> Result<KeyTexts, CliError> {
    let near: Vec<PathBuf> = paths.to_vec();
    let pick = |given: Option<&Path>, name: &str| -> Result<Option<String>, CliError> {
        match given {
            Some(path) => read_text(path).map(Some),
            None => match find_example_key(name, &near) {
                Some(path) => read_text(&path).map(Some),
                None => Ok(None),
            },
        }
    };
    Ok(KeyTexts {
        public: pick(public, "public.jwks")?,
        private: pick(private, "private.jwks")?,
        tokens: pick(tokens, "tokens.jwks")?,
    })
}

/// Key sets for one run: from the texts, with throwaway keys for every zone and token domain
/// the policies use that the texts do not cover (a test run checks what policies do, not the
/// deployment's keys: `check --keys` and `package` do that).
pub(crate) fn keys_for(
    texts: &KeyTexts,
    policies: &[Policy],
) -> Result<(PublicKeyring, Option<PrivateKeyring>, TokenKeys), CliError> {
    let mut private = match &texts.private {
        Some(t) => Some(
            PrivateKeyring::from_jwks(t)
                .map_err(|e| CliError::new(format!("private key set: {e}")))?,
        ),
        None => None,
    };
    let public_text = match (&texts.public, &private) {
        (Some(t), _) => {
            PublicKeyring::from_jwks(t)
                .map_err(|e| CliError::new(format!("public key set: {e}")))?;
            t.clone()
        }
        (None, Some(ring)) => ring.public().to_jwks(),
        (None, None) => "{\"keys\":[]}".to_string(),
    };
    let mut public_set: Value = serde_json::from_str(&public_text)
        .map_err(|e| CliError::new(format!("public key set: {e}")))?;
    let known: PublicKeyring = PublicKeyring::from_jwks(&public_text)
        .map_err(|e| CliError::new(format!("public key set: {e}")))?;
    let mut zones: Vec<&str> = policies
        .iter()
        .filter(|p| {
            p.spec()
                .rules
                .iter()
                .any(|r| r.action == ActionKind::Encrypt)
        })
        .filter_map(|p| p.zone())
        .filter(|z| known.recipients(z).is_err())
        .collect();
    zones.sort_unstable();
    zones.dedup();
    for zone in zones {
        let key = PrivateKey::generate(zone, &format!("{zone}-1"), 1)
            .map_err(|e| CliError::new(format!("cannot make a test key for zone `{zone}`: {e}")))?;
        let jwk: Value = serde_json::from_str(&key.public().to_jwk())
            .map_err(|e| CliError::new(format!("internal: {e}")))?;
        if let Some(keys) = public_set.get_mut("keys").and_then(Value::as_array_mut) {
            keys.push(jwk);
        }
        if texts.public.is_some() || texts.private.is_some() {
            errln!("note: no key for zone `{zone}` in the key sets: a throwaway key seals its values in this run");
        }
        private.get_or_insert_with(PrivateKeyring::new).push(key);
    }
    let public = PublicKeyring::from_jwks(&public_set.to_string())
        .map_err(|e| CliError::new(format!("public key set: {e}")))?;

    let mut tokens = match &texts.tokens {
        Some(t) => {
            TokenKeys::from_jwks(t).map_err(|e| CliError::new(format!("token key set: {e}")))?
        }
        None => TokenKeys::default(),
    };
    for p in policies {
        for rule in &p.spec().rules {
            if let Some(domain) = &rule.domain {
                if tokens.get(domain).is_none() {
                    let key = TokenKeys::generate(domain).map_err(|e| {
                        CliError::new(format!("cannot make a test token key for `{domain}`: {e}"))
                    })?;
                    tokens
                        .push(key)
                        .map_err(|e| CliError::new(format!("test token keys: {e}")))?;
                    if texts.tokens.is_some() {
                        errln!("note: no token key for domain `{domain}`: a throwaway key tokenizes in this run");
                    }
                }
            }
        }
    }
    Ok((public, private, tokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: &str) -> Policy {
        Policy::from_json(json).expect("policy")
    }

    #[test]
    fn throwaway_keys_cover_every_zone_and_token_domain_without_keys() {
        let texts = KeyTexts {
            public: None,
            private: None,
            tokens: None,
        };
        let policies = [
            policy(
                r#"{"apiVersion":"pii-edge/v1","name":"a","zone":"eu-central","match":{},
                "rules":[{"select":{"query":"email"},"action":"encrypt"},
                         {"select":{"query":"id"},"action":"tokenize","domain":"customer"}]}"#,
            ),
            policy(
                r#"{"apiVersion":"pii-edge/v1","name":"b","zone":"eu-north","match":{},
                "rules":[{"select":{"query":"q"},"action":"mask"}]}"#,
            ),
        ];
        let (public, private, tokens) = keys_for(&texts, &policies).expect("keys");
        assert!(public.recipients("eu-central").is_ok());
        assert!(
            public.recipients("eu-north").is_err(),
            "b does not encrypt: no key made for its zone"
        );
        let private = private.expect("a private key for the throwaway public key");
        assert_eq!(private.zones(), ["eu-central"]);
        assert!(tokens.get("customer").is_some());
    }

    #[test]
    fn given_key_sets_must_parse() {
        let texts = KeyTexts {
            public: Some("{".into()),
            private: None,
            tokens: None,
        };
        let err = keys_for(&texts, &[]).expect_err("bad public key set");
        assert!(err.to_string().starts_with("public key set:"), "{err}");
    }
}
