//! Envelope behaviour through the public API: round trips, multiple recipients, rotation,
//! tampering of every header byte, cut-and-paste, the text form, seal errors, key handling.
//! The byte layout is `docs/envelope.md` §3.
#![cfg(feature = "open")]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use pii_core::envelope::{
    is_envelope, open, open_expecting, sealed_len, Binding, OpenError, SealError, TestSealer,
    ValueKind, MAX_PLAINTEXT, MAX_RECIPIENTS,
};
use pii_core::{
    keys::KeyError, keys::PrivateKey, location::Part, location::PathElement, Location,
    PrivateKeyring, PublicKeyring, TokenKeys,
};
use proptest::prelude::*;

const ZONE: &str = "eu-central";

fn json_at(names: &[&str]) -> Location {
    Location::json(
        names
            .iter()
            .map(|n| PathElement::Name((*n).to_owned()))
            .collect(),
    )
}

fn binding(policy: &str, at: Location) -> Binding {
    Binding::new(policy, ZONE, at)
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
fn seal_all(public: &PublicKeyring, values: &[(Binding, ValueKind, &[u8])]) -> Vec<String> {
    let recipients = public.recipients(ZONE).expect("recipients");
    let mut sealer = TestSealer::new(&recipients, ZONE).expect("sealer");
    values
        .iter()
        .map(|(b, kind, pt)| sealer.seal(b, *kind, pt).expect("seal"))
        .collect()
}

fn seal_one(public: &PublicKeyring, b: &Binding, kind: ValueKind, pt: &[u8]) -> String {
    seal_all(public, &[(b.clone(), kind, pt)]).remove(0)
}

fn decode(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text.strip_prefix("pe2.").expect("prefix"))
        .expect("base64url")
}

fn encode(binary: &[u8]) -> String {
    format!("pe2.{}", URL_SAFE_NO_PAD.encode(binary))
}

/// Kind, plaintext and binding of an opened envelope.
fn opened(
    r: Result<pii_core::envelope::Opened, OpenError>,
) -> Result<(ValueKind, Vec<u8>, Binding), OpenError> {
    r.map(|o| (o.kind(), o.plaintext().to_vec(), o.binding().clone()))
}

/// Bytes of the header before the per-field part, for `n` recipients: version, kind, zone
/// length, zone, recipient count, recipients.
fn shared_len(n: usize) -> usize {
    3 + ZONE.len() + 1 + 88 * n
}

#[test]
fn round_trip_every_kind_and_location() {
    let public = ring_of(vec![]).public();
    assert!(public.is_empty());
    let ring = ring_of(vec![key("eu-central-1", 1)]);
    let public = ring.public();
    let cases: [(ValueKind, &[u8], Location); 9] = [
        (
            ValueKind::Text,
            b"Bearer abc.def",
            Location::field(Part::Header, "Authorization", 0),
        ),
        (
            ValueKind::String,
            br#""Erika Mustermann \u00e9""#,
            json_at(&["user", "name"]),
        ),
        (
            ValueKind::Number,
            b"12345678901234567890.123e-7",
            Location::json(vec![PathElement::Name("n".into()), PathElement::Index(7)]),
        ),
        (ValueKind::Bool, b"true", json_at(&["it's \\ \n"])),
        (ValueKind::Null, b"null", Location::json(vec![])),
        (
            ValueKind::Object,
            br#"{ "street": "Hauptstr. 1", "zip": "10115" }"#,
            json_at(&["adresse", "straße"]),
        ),
        (
            ValueKind::Array,
            br#"[1, "two", {"three": 3}]"#,
            Location::field(Part::Form, "e mail", 2),
        ),
        (
            ValueKind::Text,
            b"",
            Location::field(Part::Cookie, "sessión", 1),
        ),
        (
            ValueKind::Text,
            b"\xff\x00 not UTF-8",
            Location::field(Part::Query, "%", 0),
        ),
    ];
    for (kind, pt, at) in cases {
        let b = binding("signup", at);
        let text = seal_one(&public, &b, kind, pt);
        assert!(is_envelope(&text), "{text}");
        assert_eq!(Some(text.len()), sealed_len(&b, 1, pt.len()));
        assert_eq!(
            opened(open(&ring, &text)),
            Ok((kind, pt.to_vec(), b.clone()))
        );
        assert_eq!(
            opened(open_expecting(&ring, &text, &b)),
            Ok((kind, pt.to_vec(), b.clone()))
        );
    }
}

#[test]
fn ten_fields_one_sealer_one_encapsulation() {
    let ring = ring_of(vec![key("eu-central-1", 1)]);
    let public = ring.public();
    let fields: Vec<(Binding, ValueKind, Vec<u8>)> = (0..10)
        .map(|i| {
            let at = Location::json(vec![
                PathElement::Name("items".into()),
                PathElement::Index(i),
                PathElement::Name("email".into()),
            ]);
            (
                binding("orders", at),
                ValueKind::String,
                format!("\"user{i}@example.com\"").into_bytes(),
            )
        })
        .collect();
    let refs: Vec<(Binding, ValueKind, &[u8])> = fields
        .iter()
        .map(|(b, k, pt)| (b.clone(), *k, pt.as_slice()))
        .collect();
    let sealed = seal_all(&public, &refs);
    // Every field carries the same recipient block (hint, enc, wrapped data key): the sealer
    // did one HPKE encapsulation for the request, not one per field.
    let end = shared_len(1);
    let first = decode(&sealed[0]);
    let mut counters = Vec::new();
    for (text, (b, kind, pt)) in sealed.iter().zip(&fields) {
        let binary = decode(text);
        assert_eq!(binary[2..end], first[2..end]);
        counters.push(binary[end..end + 4].to_vec());
        assert_eq!(
            opened(open_expecting(&ring, text, b)),
            Ok((*kind, pt.clone(), b.clone()))
        );
    }
    // Field counters 0..9 (4 bytes, big-endian): nonces never repeat under the data key.
    let expected: Vec<Vec<u8>> = (0u32..10).map(|i| i.to_be_bytes().to_vec()).collect();
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
    let b = binding("signup", json_at(&["email"]));
    let text = seal_one(&all.public(), &b, ValueKind::String, b"\"a@b.de\"");
    assert_eq!(Some(text.len()), sealed_len(&b, 3, 8));
    assert_eq!(decode(&text)[3 + ZONE.len()], 3, "three recipients");
    for jwk in &jwks {
        let one = PrivateKeyring::from_jwks(&format!("{{\"keys\":[{jwk}]}}")).expect("ring");
        assert_eq!(
            opened(open(&one, &text)),
            Ok((ValueKind::String, b"\"a@b.de\"".to_vec(), b.clone()))
        );
    }
    // A key of the zone that is not a recipient cannot.
    let other = ring_of(vec![key("eu-central-1", 1)]);
    assert_eq!(open(&other, &text).err(), Some(OpenError::NoKey));
}

#[test]
fn rotation_newest_seals_all_open() {
    let b = binding("signup", json_at(&["email"]));
    let old = key("eu-central-1", 1_000);
    let old_jwk = old.to_jwk();
    let mut ring = ring_of(vec![old]);
    let before = seal_one(&ring.public(), &b, ValueKind::String, b"\"old\"");

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
    let after = seal_one(&public, &b, ValueKind::String, b"\"new\"");

    // The ring with both keys opens old and new ciphertext.
    assert_eq!(
        opened(open(&ring, &before)),
        Ok((ValueKind::String, b"\"old\"".to_vec(), b.clone()))
    );
    assert_eq!(
        opened(open(&ring, &after)),
        Ok((ValueKind::String, b"\"new\"".to_vec(), b.clone()))
    );
    // Each key alone opens only what was sealed to it.
    let only_new = PrivateKeyring::from_jwks(&format!("{{\"keys\":[{new_jwk}]}}")).expect("ring");
    let only_old = PrivateKeyring::from_jwks(&format!("{{\"keys\":[{old_jwk}]}}")).expect("ring");
    assert_eq!(open(&only_new, &before).err(), Some(OpenError::NoKey));
    assert_eq!(open(&only_old, &after).err(), Some(OpenError::NoKey));
    assert!(open(&only_old, &before).is_ok());

    // The public set round-trips through JWKS text.
    let text = public.to_jwks();
    assert_eq!(PublicKeyring::from_jwks(&text), Ok(public.clone()));
    assert!(!text.contains("\"d\""));
}

/// Every bit of every byte of the binary envelope matters: each change gives an error, and
/// the error is one the spec allows for that field (docs/envelope.md §6). Two recipients, the
/// opener holding only the first region's key: a change to the second recipient's block is
/// noticed too (threat-model Finding 5).
#[test]
fn every_byte_is_checked() {
    let first = key("eu-central-1", 1);
    let ring = ring_of(vec![first]);
    let two = ring_of(vec![key("eu-central-2", 1)]);
    let mut public_jwks: Vec<String> = ring.public().keys().iter().map(|k| k.to_jwk()).collect();
    public_jwks.extend(two.public().keys().iter().map(|k| k.to_jwk()));
    let public = PublicKeyring::from_jwks(&format!("{{\"keys\":[{}]}}", public_jwks.join(",")))
        .expect("public");
    let b = binding("signup", json_at(&["user", "email"]));
    let pt = b"\"alice@example.com\"";
    let text = seal_one(&public, &b, ValueKind::String, pt);
    let binary = decode(&text);
    let z = ZONE.len();
    let count = 3 + z;
    let recipients = count + 1;
    let counter = shared_len(2);
    let policy_len = counter + 4;
    let policy = policy_len + 1;
    let location_len = policy + "signup".len();
    let location = location_len + 2;
    let ct = binary.len() - pt.len() - 16;
    let region = |i: usize| match i {
        0 => "version",
        1 => "kind",
        2 => "zone length",
        _ if i < count => "zone",
        _ if i == count => "recipient count",
        _ if i >= recipients && i < counter && (i - recipients) % 88 < 8 => "key id hint",
        _ if i < counter => "enc or wrapped",
        _ if i < policy_len => "counter",
        _ if i < policy => "policy length",
        _ if i < location_len => "policy",
        _ if i < location => "location length",
        _ if i < ct => "location",
        _ => "ciphertext or tag",
    };
    for i in 0..binary.len() {
        for bit in [0x01u8, 0x20, 0x80] {
            let mut bad = binary.clone();
            bad[i] ^= bit;
            let result = open(&ring, &encode(&bad)).map(|_| ());
            let second = i >= recipients + 88 && i < counter;
            let allowed: &[OpenError] = match region(i) {
                "version" | "zone length" | "recipient count" => &[OpenError::Malformed],
                // A zone spelled otherwise is a zone this ring has no key for.
                "zone" => &[OpenError::Malformed, OpenError::NoKey],
                // The first recipient's hint no longer names the key; the second's is not ours.
                "key id hint" if !second => &[OpenError::NoKey],
                "kind" | "policy" | "policy length" | "location" | "location length" => {
                    &[OpenError::Malformed, OpenError::Tampered]
                }
                _ => &[OpenError::Tampered],
            };
            match result {
                Err(e) => assert!(allowed.contains(&e), "byte {i} ({}) gave {e:?}", region(i)),
                Ok(()) => panic!("byte {i} ({}) changed and still opened", region(i)),
            }
        }
    }
    // Truncated at every length, or extended.
    for len in 0..binary.len() {
        assert!(
            open(&ring, &encode(&binary[..len])).is_err(),
            "cut at {len}"
        );
    }
    let mut longer = binary.clone();
    longer.push(0);
    assert_eq!(
        open(&ring, &encode(&longer)).err(),
        Some(OpenError::Tampered)
    );
    // A recipient removed (count lowered, its 88 bytes cut): the others notice.
    let mut stripped = binary[..count].to_vec();
    stripped.push(1);
    stripped.extend_from_slice(&binary[recipients..recipients + 88]);
    stripped.extend_from_slice(&binary[recipients + 2 * 88..]);
    assert_eq!(
        open(&ring, &encode(&stripped)).err(),
        Some(OpenError::Tampered)
    );
    // The two recipients swapped.
    let mut swapped = binary[..recipients].to_vec();
    swapped.extend_from_slice(&binary[recipients + 88..counter]);
    swapped.extend_from_slice(&binary[recipients..recipients + 88]);
    swapped.extend_from_slice(&binary[counter..]);
    assert_eq!(
        open(&ring, &encode(&swapped)).err(),
        Some(OpenError::Tampered)
    );
    assert!(open(&ring, &text).is_ok());
    // A plaintext never shows in an error.
    let mut bad = binary.clone();
    bad[ct] ^= 1;
    let err = open(&ring, &encode(&bad)).expect_err("tampered");
    assert_eq!(err.to_string(), "envelope failed authentication");
}

#[test]
fn cut_and_paste_is_refused_where_found() {
    let ring = ring_of(vec![key("eu-central-1", 1)]);
    let b = binding("signup", json_at(&["email"]));
    let text = seal_one(&ring.public(), &b, ValueKind::String, b"\"x@y.de\"");
    // open() needs only the keys and says where the value belongs.
    assert_eq!(open(&ring, &text).expect("open").binding(), &b);
    assert!(open_expecting(&ring, &text, &b).is_ok());
    let refused = |expected: &Binding| open_expecting(&ring, &text, expected).err();
    assert_eq!(
        refused(&binding("signup", json_at(&["name"]))),
        Some(OpenError::WrongLocation)
    );
    assert_eq!(
        refused(&binding(
            "signup",
            Location::field(Part::Header, "email", 0)
        )),
        Some(OpenError::WrongLocation)
    );
    assert_eq!(
        refused(&binding("checkout", json_at(&["email"]))),
        Some(OpenError::WrongPolicy)
    );
    assert_eq!(
        refused(&Binding::new("signup", "eu-west", json_at(&["email"]))),
        Some(OpenError::WrongZone)
    );
    // WrongZone comes before any key is tried: a ring without keys says so too.
    assert_eq!(
        open_expecting(
            &PrivateKeyring::new(),
            &text,
            &Binding::new("signup", "eu-west", json_at(&["email"]))
        )
        .err(),
        Some(OpenError::WrongZone)
    );
    // Authentication comes before the policy and location checks.
    let mut bad = decode(&text);
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(
        open_expecting(&ring, &encode(&bad), &binding("other", json_at(&["x"]))).err(),
        Some(OpenError::Tampered)
    );
    // A key of the zone that is not a recipient.
    let stranger = ring_of(vec![key("eu-central-1", 1)]);
    assert_eq!(open(&stranger, &text).err(), Some(OpenError::NoKey));
    // A key of another zone is never used for this zone.
    let elsewhere = ring_of(vec![
        PrivateKey::generate("eu-west", "eu-west-1", 1).expect("key")
    ]);
    assert_eq!(open(&elsewhere, &text).err(), Some(OpenError::NoKey));

    // Two fields of one request swapped between their locations.
    let a = binding("signup", Location::field(Part::Query, "a", 0));
    let c = binding("signup", Location::field(Part::Query, "a", 1));
    let sealed = seal_all(
        &ring.public(),
        &[
            (a.clone(), ValueKind::Text, b"1"),
            (c.clone(), ValueKind::Text, b"2"),
        ],
    );
    assert_eq!(
        open_expecting(&ring, &sealed[0], &c).err(),
        Some(OpenError::WrongLocation)
    );
    assert_eq!(
        open_expecting(&ring, &sealed[1], &a).err(),
        Some(OpenError::WrongLocation)
    );
}

#[test]
fn text_form_is_one_url_safe_token() {
    let ring = ring_of(vec![key("eu-central-1", 1), key("eu-central-2", 1)]);
    let b = binding("p", Location::field(Part::Header, "x-email", 0));
    for len in 0..200 {
        let pt: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
        let text = seal_one(&ring.public(), &b, ValueKind::Text, &pt);
        assert!(text.starts_with("pe2."));
        assert!(text
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || c == b'-'));
        assert_eq!(Some(text.len()), sealed_len(&b, 2, len));
    }
    let text = seal_one(&ring.public(), &b, ValueKind::Text, b"v");
    let payload = text.strip_prefix("pe2.").expect("prefix");
    // What looks like an envelope opens or fails; it is never left alone as plaintext.
    for (s, looks, error) in [
        ("alice@example.com", false, OpenError::Malformed),
        ("pe.x", false, OpenError::Malformed),
        ("pe2", false, OpenError::Malformed),
        ("pe1234.AAAA", false, OpenError::Malformed),
        ("", false, OpenError::Malformed),
        ("pe0.AAAA", true, OpenError::Malformed),
        ("pe02.AAAA", true, OpenError::Malformed),
        ("pe2.", true, OpenError::Malformed),
        ("pe2.AAAAA", true, OpenError::Malformed),
        ("pe2.AA==", true, OpenError::Malformed),
        ("pe2.AB", true, OpenError::Malformed),
        ("pe2.A A", true, OpenError::Malformed),
        ("pe2.AAAA", true, OpenError::Malformed),
        ("pe1.AAAA", true, OpenError::UnsupportedVersion),
        ("pe3.AAAA", true, OpenError::UnsupportedVersion),
        ("pe999.AAAA", true, OpenError::UnsupportedVersion),
        ("pe1.AA==", true, OpenError::Malformed),
    ] {
        assert_eq!(is_envelope(s), looks, "{s:?}");
        assert_eq!(open(&ring, s).err(), Some(error), "{s:?}");
    }
    for (s, error) in [
        (format!("pe1.{payload}"), OpenError::UnsupportedVersion),
        (format!("pe0.{payload}"), OpenError::Malformed),
        (format!("pe02.{payload}"), OpenError::Malformed),
        (format!("{text}="), OpenError::Malformed),
        (format!("pe2.+{}", &payload[1..]), OpenError::Malformed),
        (format!(" {text}"), OpenError::Malformed),
    ] {
        assert_eq!(open(&ring, &s).err(), Some(error), "{s}");
    }
    // One character cut: malformed when the base64 length is impossible, otherwise the
    // shorter payload decodes and fails authentication (it depends on the random payload).
    let cut = &text[..text.len() - 1];
    assert!(
        matches!(
            open(&ring, cut).err(),
            Some(OpenError::Malformed | OpenError::Tampered)
        ),
        "{cut}"
    );
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
    let b = binding("p", json_at(&["l"]));
    assert_eq!(
        sealer.seal(
            &Binding::new("p", "eu-west", json_at(&["l"])),
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
    let long = binding("p", json_at(&[&"x".repeat(70_000)]));
    assert_eq!(
        sealer.seal(&long, ValueKind::Text, b"x"),
        Err(SealError::BindingTooLong)
    );
    assert_eq!(sealed_len(&long, 1, 1), None);
    for policy in ["", "p q", "pé", &"p".repeat(65)] {
        assert_eq!(
            sealer.seal(&binding(policy, json_at(&["l"])), ValueKind::Text, b"x"),
            Err(SealError::BindingTooLong),
            "{policy:?}"
        );
    }
    let p64 = "p".repeat(64);
    assert!(sealer
        .seal(&binding(&p64, json_at(&["l"])), ValueKind::Text, b"x")
        .is_ok());
    let largest = sealer
        .seal(&b, ValueKind::Text, &vec![7; MAX_PLAINTEXT])
        .expect("largest value");
    assert_eq!(Some(largest.len()), sealed_len(&b, 1, MAX_PLAINTEXT));
    assert_eq!(
        open(&ring, &largest).map(|o| o.plaintext().len()),
        Ok(MAX_PLAINTEXT)
    );
}

/// The size formula of docs/envelope.md §8: what the binding adds per field.
#[test]
fn size_formula_of_the_spec() {
    let email = binding("signup", json_at(&["user", "email"]));
    // binary = 27 + z + 88 n + p + l + m; l = 1 + sum(3 + name) for a JSON path.
    let l = 1 + (3 + 4) + (3 + 5);
    assert_eq!(l, 16);
    for n in 1..=3 {
        let binary = 27 + ZONE.len() + 88 * n + "signup".len() + l + 22;
        assert_eq!(
            sealed_len(&email, n, 22),
            Some(4 + (4 * binary).div_ceil(3))
        );
    }
    assert_eq!(sealed_len(&email, 1, 22), Some(230));
    assert_eq!(sealed_len(&email, 2, 22), Some(347));
    let header = binding(
        "profile-headers",
        Location::field(Part::Header, "x-national-id", 0),
    );
    assert_eq!(
        sealed_len(&header, 2, 12),
        Some(4 + (4 * (27 + 10 + 176 + 15 + 18 + 12_usize)).div_ceil(3))
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

fn location_strategy() -> impl Strategy<Value = Location> {
    let element = prop_oneof![
        "\\PC{0,12}".prop_map(PathElement::Name),
        (0usize..5000).prop_map(PathElement::Index),
    ];
    let part = prop_oneof![
        Just(Part::Header),
        Just(Part::Query),
        Just(Part::Form),
        Just(Part::Cookie)
    ];
    prop_oneof![
        proptest::collection::vec(element, 0..5).prop_map(Location::json),
        (part, "\\PC{1,20}", 0usize..100).prop_map(|(p, n, i)| Location::field(p, n, i)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn prop_round_trip(
        pt in proptest::collection::vec(any::<u8>(), 0..600),
        kind in kind_strategy(),
        policy in "[a-zA-Z0-9._-]{1,64}",
        at in location_strategy(),
        other in location_strategy(),
    ) {
        let ring = ring_of(vec![key("eu-central-1", 1)]);
        let b = Binding::new(policy.clone(), ZONE, at.clone());
        let text = seal_one(&ring.public(), &b, kind, &pt);
        prop_assert!(is_envelope(&text));
        prop_assert_eq!(Some(text.len()), sealed_len(&b, 1, pt.len()));
        prop_assert_eq!(opened(open(&ring, &text)), Ok((kind, pt.clone(), b.clone())));
        // The binding's text form parses back to the same location.
        prop_assert_eq!(at.to_string().parse::<Location>(), Ok(at.clone()));
        if other != at {
            let moved = Binding::new(policy, ZONE, other);
            prop_assert_eq!(open_expecting(&ring, &text, &moved).err(), Some(OpenError::WrongLocation));
        }
    }
}

/// `reveal` reads cookies as the edge does (docs/envelope.md §5.2): names trimmed and
/// lower-cased, every cookie of a name counted, values raw (not percent-decoded), `,` and white
/// space separating cookies too; the value replaced in place.
#[test]
fn reveal_reads_cookies_as_the_spec_says() {
    use pii_core::{reveal, reveal::Expect, Request};
    let ring = ring_of(vec![key("eu-central-1", 1)]);
    let at = |i| binding("p", Location::field(Part::Cookie, "session_id", i));
    let sealed = seal_all(
        &ring.public(),
        &[
            (at(0), ValueKind::Text, b"first"),
            (at(1), ValueKind::Text, b"a%2Bb"),
        ],
    );
    // A name with trailing spaces is the trimmed name; the plain value before counts as #0.
    let req = Request::new("GET", "/").with_header(
        "cookie",
        format!("Session_ID=plain; session_id ={}; x=1", sealed[1]),
    );
    let revealed = reveal(&ring, &req, Expect::default()).expect("reveal");
    assert_eq!(revealed.opened(), 1);
    assert_eq!(revealed.fields[0].binding, at(1));
    assert_eq!(
        revealed.request.header("cookie"),
        Some("Session_ID=plain; session_id =a%2Bb; x=1")
    );
    // Separated by `,` and by white space after a value, as some origins read them.
    let req = Request::new("GET", "/").with_header(
        "cookie",
        format!("a=1, session_id=x session_id={}", sealed[1]),
    );
    let revealed = reveal(&ring, &req, Expect::default()).expect("reveal");
    assert_eq!(revealed.fields[0].binding, at(1));
    // A percent-encoded envelope is not an envelope: cookie values are raw.
    let encoded = sealed[0].replacen('.', "%2E", 1);
    let req = Request::new("GET", "/").with_header("cookie", format!("session_id={encoded}"));
    let revealed = reveal(&ring, &req, Expect::default()).expect("reveal");
    assert_eq!(revealed.opened(), 0);
    assert_eq!(revealed.request, req);
}
