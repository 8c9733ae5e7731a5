//! Unit tests.

use zeroize::Zeroizing;

use crate::keys::KeyError;

use super::keys::*;
use super::payload::*;
use super::verify::*;

const NOW: u64 = 1_700_000_000;

fn signer() -> ReceiptSigner {
    ReceiptSigner::from_seed(Zeroizing::new([7; 32]), 1).expect("key")
}

fn facts<'a>(headers: &'a [(String, String)], bound: &'a [String]) -> ReceiptFacts<'a> {
    ReceiptFacts {
        policy: Some("signup"),
        zone: Some("eu-central"),
        method: "POST",
        target: "/signup?x=1",
        body: Some(b"{\"a\":1}"),
        headers,
        bound_headers: bound,
        locations: &[],
        request_id: Some("rid"),
        subject: None,
    }
}

fn verify(
    value: &str,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
    now: u64,
) -> Result<Receipt, ReceiptError> {
    let keys = ReceiptKeys::from_jwks(&signer().public_jwk()).expect("keys");
    let mut all = headers.to_vec();
    all.push((HEADER_KEY.to_owned(), value.to_owned()));
    let request = ReceiptRequest {
        method,
        target,
        headers: &all,
        body,
    };
    verify_receipt(&request, &keys, 300, now)
}

fn h(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

#[test]
fn every_bound_part_is_checked() {
    let headers = vec![h("X-Id", "pe1.a"), h("cookie", "s=1"), h("Cookie", "t=2")];
    let bound = vec!["x-id".to_owned(), "cookie".to_owned()];
    let value = signer().sign(&facts(&headers, &bound), NOW);
    let body: &[u8] = b"{\"a\":1}";
    let ok = verify(&value, "POST", "/signup?x=1", &headers, body, NOW + 10).expect("valid");
    assert_eq!(ok.bound_headers, ["cookie", "x-id"]);
    assert!(ok.body_bound);
    // Frameworks that combine repeated headers give the same block.
    let combined = vec![h("x-id", " pe1.a "), h("cookie", "s=1; t=2")];
    assert!(verify(&value, "POST", "/signup?x=1", &combined, body, NOW).is_ok());
    let err = |r: Result<Receipt, ReceiptError>| r.expect_err("refused");
    assert_eq!(
        err(verify(&value, "PUT", "/signup?x=1", &headers, body, NOW)),
        ReceiptError::Method
    );
    assert_eq!(
        err(verify(&value, "POST", "/signup?x=2", &headers, body, NOW)),
        ReceiptError::Target
    );
    assert_eq!(
        err(verify(&value, "POST", "/signup?x=1", &headers, b"{}", NOW)),
        ReceiptError::Body
    );
    let changed = vec![h("x-id", "plain"), h("cookie", "s=1; t=2")];
    assert_eq!(
        err(verify(&value, "POST", "/signup?x=1", &changed, body, NOW)),
        ReceiptError::Headers
    );
    let added = vec![
        h("X-Id", "pe1.a"),
        h("X-Id", "plain"),
        h("cookie", "s=1; t=2"),
    ];
    assert_eq!(
        err(verify(&value, "POST", "/signup?x=1", &added, body, NOW)),
        ReceiptError::Headers
    );
    assert_eq!(
        err(verify(
            &value,
            "POST",
            "/signup?x=1",
            &headers,
            body,
            NOW + 301
        )),
        ReceiptError::Expired {
            age: 301,
            max_age: 300
        }
    );
    assert_eq!(
        err(verify(
            &value,
            "POST",
            "/signup?x=1",
            &headers,
            body,
            NOW - 61
        )),
        ReceiptError::FromTheFuture { ahead: 61 }
    );
    assert!(verify(&value, "POST", "/signup?x=1", &headers, body, NOW - 60).is_ok());
}

#[test]
fn missing_repeated_forged_and_unknown() {
    let value = signer().sign(&facts(&[], &[]), NOW);
    let keys = ReceiptKeys::from_jwks(&signer().public_jwk()).expect("keys");
    let none: Vec<(String, String)> = vec![];
    let request = |headers| ReceiptRequest {
        method: "POST",
        target: "/signup?x=1",
        headers,
        body: b"{\"a\":1}",
    };
    assert_eq!(
        verify_receipt(&request(&none), &keys, 300, NOW),
        Err(ReceiptError::Missing)
    );
    let twice = vec![h(HEADER, &value), h(HEADER_KEY, &value)];
    assert_eq!(
        verify_receipt(&request(&twice), &keys, 300, NOW),
        Err(ReceiptError::Repeated)
    );
    // One changed payload character breaks the signature.
    let (head, rest) = value.split_once('.').expect("parts");
    let mut payload: Vec<char> = rest.chars().collect();
    payload[3] = if payload[3] == 'A' { 'B' } else { 'A' };
    let forged = format!("{head}.{}", payload.into_iter().collect::<String>());
    assert_eq!(
        verify("", "POST", "/signup?x=1", &[], b"", NOW).unwrap_err(),
        ReceiptError::Malformed {
            reason: "not three base64url parts joined by '.'"
        }
    );
    assert!(matches!(
        verify(&forged, "POST", "/signup?x=1", &[], b"{\"a\":1}", NOW),
        Err(ReceiptError::BadSignature | ReceiptError::Malformed { .. })
    ));
    let other = ReceiptSigner::from_seed(Zeroizing::new([8; 32]), 1).expect("key");
    let foreign = other.sign(&facts(&[], &[]), NOW);
    assert!(matches!(
        verify(&foreign, "POST", "/signup?x=1", &[], b"{\"a\":1}", NOW),
        Err(ReceiptError::UnknownKey { .. })
    ));
    // The same kid with another key's signature.
    let swapped = format!(
        "{}.{}",
        value.rsplit_once('.').expect("parts").0,
        foreign.rsplit_once('.').expect("parts").1
    );
    assert_eq!(
        verify(&swapped, "POST", "/signup?x=1", &[], b"{\"a\":1}", NOW),
        Err(ReceiptError::BadSignature)
    );
}

#[test]
fn unseen_body_vouches_for_an_empty_body_only() {
    let mut f = facts(&[], &[]);
    f.body = None;
    let value = signer().sign(&f, NOW);
    let ok = verify(&value, "POST", "/signup?x=1", &[], b"", NOW).expect("empty body");
    assert!(!ok.body_bound);
    assert_eq!(
        verify(&value, "POST", "/signup?x=1", &[], b"x", NOW),
        Err(ReceiptError::Body)
    );
}

#[test]
fn locations_are_capped() {
    let locations: Vec<String> = (0..200)
        .map(|i| format!("json:$['items'][{i}]['email']"))
        .collect();
    let mut f = facts(&[], &[]);
    f.locations = &locations;
    let value = signer().sign(&f, NOW);
    assert!(value.len() < 2600, "{}", value.len());
    let receipt = verify(&value, "POST", "/signup?x=1", &[], b"{\"a\":1}", NOW).expect("ok");
    assert_eq!(receipt.locations.len() as u64 + receipt.more_locations, 200);
    assert!(receipt.locations.iter().map(String::len).sum::<usize>() <= MAX_LOCATIONS_LEN);
}

#[test]
fn keys_refuse_private_material_and_wrong_kids() {
    let signer = signer();
    assert!(matches!(
        ReceiptKeys::from_jwks(&signer.to_jwk()),
        Err(KeyError::PrivateKeyInPublicSet { index: 0 })
    ));
    let wrong_kid = signer.public_jwk().replace(signer.kid(), "abc");
    assert!(matches!(
        ReceiptKeys::from_jwks(&wrong_kid),
        Err(KeyError::KidMismatch { .. })
    ));
    let set = format!("{{\"keys\":[{}]}}", signer.public_jwk());
    assert_eq!(ReceiptKeys::from_jwks(&set).expect("set").keys().len(), 1);
    let x25519 =
        r#"{"kty":"OKP","crv":"X25519","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"}"#;
    assert!(matches!(
        ReceiptKeys::from_jwks(x25519),
        Err(KeyError::UnsupportedKey { .. })
    ));
    // The private JWK round-trips; a seed that does not match x is refused and the error
    // does not contain it.
    let jwk = signer.to_jwk();
    assert_eq!(
        ReceiptSigner::from_jwk(&jwk).expect("jwk").kid(),
        signer.kid()
    );
    let other = ReceiptSigner::from_seed(Zeroizing::new([9; 32]), 1).expect("key");
    let d = |j: &str| {
        j.rsplit_once("\"d\":\"")
            .expect("d")
            .1
            .trim_end_matches("\"}")
            .to_owned()
    };
    let mixed = jwk.replace(&d(&jwk), &d(&other.to_jwk()));
    let err = ReceiptSigner::from_jwk(&mixed).expect_err("mismatch");
    assert!(!err.to_string().contains(&d(&other.to_jwk())));
    assert!(!format!("{signer:?}").contains(&d(&jwk)));
    assert!(matches!(
        ReceiptSigner::from_jwk(&signer.public_jwk()),
        Err(KeyError::MissingPrivateKey { .. })
    ));
}
