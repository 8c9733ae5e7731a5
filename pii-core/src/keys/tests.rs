//! Unit tests.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::error::*;
use super::jwk::*;
use super::private::*;
use super::public::*;
use super::token::*;
#[test]
fn thumbprint_rfc8037_a3() {
    // RFC 8037 Appendix A.3: thumbprint of the Ed25519 key of Appendix A.1.
    assert_eq!(
        okp_thumbprint("Ed25519", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
}

#[test]
fn names() {
    assert!(is_valid_zone("eu-central"));
    assert!(is_valid_zone("eu-central-1"));
    assert!(!is_valid_zone(""));
    assert!(!is_valid_zone("EU"));
    assert!(!is_valid_zone("eu.central"));
    assert!(!is_valid_zone(&"a".repeat(65)));
    assert!(is_valid_domain("email"));
    assert!(is_valid_domain("email.v2"));
    assert!(!is_valid_domain("email."));
    assert!(!is_valid_domain(".email"));
    assert!(!is_valid_domain("e..mail"));
    assert!(!is_valid_domain(""));
}

#[test]
fn token_keys_refuse_weak_duplicate_and_reused() {
    let short = r#"{"keys":[{"kty":"oct","domain":"email","k":"c2hvcnQ"}]}"#;
    assert_eq!(
        TokenKeys::from_jwks(short).err(),
        Some(KeyError::WeakTokenKey { index: 0 })
    );
    let k = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA";
    let dup = format!(
        r#"{{"keys":[{{"kty":"oct","domain":"email","k":"{k}"}},{{"kty":"oct","domain":"email","k":"d{}"}}]}}"#,
        &k[1..]
    );
    assert!(matches!(
        TokenKeys::from_jwks(&dup),
        Err(KeyError::DuplicateDomain { .. })
    ));
    let reused = format!(
        r#"{{"keys":[{{"kty":"oct","domain":"email","k":"{k}"}},{{"kty":"oct","domain":"email.v2","k":"{k}"}}]}}"#
    );
    assert!(matches!(
        TokenKeys::from_jwks(&reused),
        Err(KeyError::ReusedTokenKey { .. })
    ));
    let generated = TokenKeys::generate("email.v2").expect("generate");
    let back = TokenKeys::from_jwks(&format!("{{\"keys\":[{}]}}", generated.to_jwk()))
        .expect("round trip");
    assert_eq!(
        back.get("email.v2").map(TokenKey::secret),
        Some(generated.secret())
    );
    assert!(TokenKeys::generate("Email").is_err());
}

#[test]
fn errors_do_not_print_secrets() {
    let d = "XasIfmJKikt54X-Lg4AO5m87sSkmGLb9HC-LJ_-I4Os";
    let json = format!(
        r#"{{"keys":[{{"kty":"OKP","crv":"X25519","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08","d":"{d}","zone":"eu","region":"eu-1","created":1}}]}}"#
    );
    let err = PublicKeyring::from_jwks(&json).expect_err("refused");
    assert!(!err.to_string().contains(d));
    assert!(!format!("{err:?}").contains(d));
}

#[test]
fn public_ring_validation() {
    let x = "3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08";
    let good = |extra: &str| {
        format!(
            r#"{{"keys":[{{"kty":"OKP","crv":"X25519","x":"{x}","zone":"eu","region":"eu-1","created":1{extra}}}]}}"#
        )
    };
    assert!(PublicKeyring::from_jwks(&good("")).is_ok());
    assert!(matches!(
        PublicKeyring::from_jwks(&good(r#","kid":"nope""#)),
        Err(KeyError::KidMismatch { .. })
    ));
    assert!(matches!(
        PublicKeyring::from_jwks(&good(r#","use":"sig""#)),
        Err(KeyError::InvalidMember { member: "use", .. })
    ));
    assert!(matches!(
        PublicKeyring::from_jwks(&good(r#","k":"c2VjcmV0""#)),
        Err(KeyError::PrivateKeyInPublicSet { .. })
    ));
    assert!(matches!(
        PublicKeyring::from_jwks("{\"keys\":[{\"kty\":\"RSA\"}]}"),
        Err(KeyError::UnsupportedKey { .. })
    ));
    assert!(matches!(
        PublicKeyring::from_jwks("[]"),
        Err(KeyError::NotAKeySet)
    ));
    assert!(matches!(
        PublicKeyring::from_jwks("{"),
        Err(KeyError::Json { .. })
    ));
    let twice = format!(
        r#"{{"keys":[{{"kty":"OKP","crv":"X25519","x":"{x}","zone":"eu","region":"eu-1","created":1}},{{"kty":"OKP","crv":"X25519","x":"{x}","zone":"eu","region":"eu-1","created":2}}]}}"#
    );
    assert!(matches!(
        PublicKeyring::from_jwks(&twice),
        Err(KeyError::DuplicateKey { .. })
    ));
    let bad_x = good("").replace(x, "AAAA");
    assert!(matches!(
        PublicKeyring::from_jwks(&bad_x),
        Err(KeyError::InvalidMember { member: "x", .. })
    ));
    let bad_zone = good("").replace("\"eu\"", "\"EU\"");
    assert!(matches!(
        PublicKeyring::from_jwks(&bad_zone),
        Err(KeyError::InvalidMember { member: "zone", .. })
    ));
}

#[cfg(feature = "open")]
#[test]
fn private_ring_validation() {
    let a = PrivateKey::generate("eu", "eu-1", 1).expect("key");
    let b = PrivateKey::generate("eu", "eu-1", 2).expect("key");
    // d of one key with x of another.
    let mixed = a.to_jwk().replace(
        &URL_SAFE_NO_PAD.encode(a.secret()),
        &URL_SAFE_NO_PAD.encode(b.secret()),
    );
    assert_eq!(
        PrivateKeyring::from_jwks(&format!("{{\"keys\":[{mixed}]}}")).err(),
        Some(KeyError::PublicKeyMismatch { index: 0 })
    );
    let public_only = format!("{{\"keys\":[{}]}}", a.public().to_jwk());
    assert_eq!(
        PrivateKeyring::from_jwks(&public_only).err(),
        Some(KeyError::MissingPrivateKey { index: 0 })
    );
    assert!(PrivateKey::generate("eu", "EU-1", 1).is_err());
}
