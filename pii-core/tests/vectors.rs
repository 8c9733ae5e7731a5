#![cfg(any())] // v1 tests: being rewritten for envelope v2 (next commit)
//! Test vectors (`docs/vectors/*.json`) and interoperability with a second, independent
//! RFC 9180 implementation.
//!
//! * Every vector file is one test: success vectors must open, with our `open` and with the
//!   independent opener below, to the recorded kind and plaintext; `fail_*` vectors must fail
//!   with the recorded error.
//! * The independent opener and sealer follow `docs/envelope.md` using only the `hpke` crate
//!   (RustCrypto HPKE) for the data-key wraps and the `aes-gcm` crate for the fields; they share
//!   no code with `pii_core` beyond the public API they test.
//! * `generate_vectors` (ignored) rewrites the vector files:
//!   `cargo test -p pii-core --test vectors -- --ignored generate_vectors`.
#![cfg(feature = "open")]

use std::path::PathBuf;

use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable as _, OpModeR, OpModeS, Serializable as _};
use pii_core::envelope::{open, Binding, OpenError, TestSealer, ValueKind};
use pii_core::{PrivateKey, PrivateKeyring, PublicKeyring};
use serde_json::{json, Value};

type Kem = X25519HkdfSha256;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/vectors")
}

fn kind_name(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::Text => "text",
        ValueKind::String => "string",
        ValueKind::Number => "number",
        ValueKind::Bool => "bool",
        ValueKind::Null => "null",
        ValueKind::Object => "object",
        ValueKind::Array => "array",
    }
}

fn str_of<'a>(v: &'a Value, name: &str) -> &'a str {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("member {name} must be a string"))
}

fn b64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

fn sha256(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .to_vec()
}

/// RFC 7638 thumbprint of an X25519 JWK, as docs/envelope.md describes it.
fn kid_of(x: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha256(
        format!(r#"{{"crv":"X25519","kty":"OKP","x":"{x}"}}"#).as_bytes(),
    ))
}

/// Field associated data, per docs/envelope.md.
fn spec_aad(policy: &str, location: &str, zone: &str, kind: u8, hints: &[&[u8]]) -> Vec<u8> {
    let mut aad = vec![1u8];
    for part in [policy, location, zone] {
        aad.extend_from_slice(&u16::try_from(part.len()).expect("short").to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad.push(kind);
    aad.push(u8::try_from(hints.len()).expect("few"));
    for h in hints {
        aad.extend_from_slice(h);
    }
    aad
}

fn spec_nonce(counter: u64) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&counter.to_be_bytes());
    nonce
}

/// Open an envelope from the spec alone: `hpke` crate for the wrap, `aes-gcm` for the field.
/// Returns (kind byte, plaintext).
fn independent_open(
    private_jwk: &Value,
    b: &Binding<'_>,
    text: &str,
) -> Result<(u8, Vec<u8>), String> {
    let payload = text.strip_prefix("pe1.").ok_or("prefix")?;
    let bin = URL_SAFE_NO_PAD.decode(payload).map_err(|e| e.to_string())?;
    let get = |range: std::ops::Range<usize>| bin.get(range).ok_or("short").map(<[u8]>::to_vec);
    if get(0..1)? != [1] {
        return Err("version".into());
    }
    let kind = get(1..2)?[0];
    let zlen = usize::from(get(2..3)?[0]);
    let zone = String::from_utf8(get(3..3 + zlen)?).map_err(|e| e.to_string())?;
    if zone != b.zone {
        return Err("zone".into());
    }
    let mut at = 3 + zlen;
    let n = usize::from(get(at..at + 1)?[0]);
    at += 1;
    let mut recipients = Vec::new();
    for _ in 0..n {
        recipients.push((
            get(at..at + 8)?,
            get(at + 8..at + 40)?,
            get(at + 40..at + 88)?,
        ));
        at += 88;
    }
    let counter = u64::from_be_bytes(get(at..at + 8)?.try_into().map_err(|_| "counter")?);
    let ct = get(at + 8..bin.len())?;

    let x = str_of(private_jwk, "x");
    let kid = kid_of(x);
    let hint = &sha256(format!(r#"{{"crv":"X25519","kty":"OKP","x":"{x}"}}"#).as_bytes())[..8];
    let (_, enc, wrapped) = recipients
        .iter()
        .find(|(h, _, _)| h == hint)
        .ok_or("no recipient for this key")?;
    let sk = <Kem as hpke::Kem>::PrivateKey::from_bytes(&b64(str_of(private_jwk, "d")))
        .map_err(|e| e.to_string())?;
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(enc).map_err(|e| e.to_string())?;
    let info = format!("pii-edge/v1 zone={zone}");
    let dk = hpke::single_shot_open::<AesGcm256, HkdfSha256, Kem>(
        &OpModeR::Base,
        &sk,
        &enc,
        info.as_bytes(),
        wrapped,
        kid.as_bytes(),
    )
    .map_err(|e| format!("hpke: {e}"))?;
    let hints: Vec<&[u8]> = recipients.iter().map(|(h, _, _)| h.as_slice()).collect();
    let aad = spec_aad(b.policy, b.location, &zone, kind, &hints);
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(&dk).map_err(|e| e.to_string())?;
    let nonce = spec_nonce(counter);
    let pt = cipher
        .decrypt(
            aes_gcm::Nonce::from_slice(&nonce),
            Payload {
                msg: &ct,
                aad: &aad,
            },
        )
        .map_err(|_| "aes-gcm authentication")?;
    Ok((kind, pt))
}

/// ring's system generator as the `rand_core` generator the `hpke` crate wants.
struct SystemRng(ring::rand::SystemRandom);

impl hpke::rand_core::RngCore for SystemRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        ring::rand::SecureRandom::fill(&self.0, dst).expect("system random");
    }
}

impl hpke::rand_core::CryptoRng for SystemRng {}

/// Seal an envelope from the spec alone (`hpke` crate + `aes-gcm`), to the public JWKs given.
fn independent_seal(
    public_jwks: &[Value],
    b: &Binding<'_>,
    kind: u8,
    pt: &[u8],
    counter: u64,
) -> String {
    let mut rng = SystemRng(ring::rand::SystemRandom::new());
    let mut dk = [0u8; 32];
    hpke::rand_core::RngCore::fill_bytes(&mut rng, &mut dk);
    let info = format!("pii-edge/v1 zone={}", b.zone);
    let mut bin = vec![1u8, kind, u8::try_from(b.zone.len()).expect("short")];
    bin.extend_from_slice(b.zone.as_bytes());
    bin.push(u8::try_from(public_jwks.len()).expect("few"));
    let mut hints = Vec::new();
    for jwk in public_jwks {
        let x = str_of(jwk, "x");
        let kid = kid_of(x);
        let hint = b64(&kid)[..8].to_vec();
        let pk = <Kem as hpke::Kem>::PublicKey::from_bytes(&b64(x)).expect("public key");
        let (enc, wrapped) = hpke::single_shot_seal::<AesGcm256, HkdfSha256, Kem, _>(
            &OpModeS::Base,
            &pk,
            info.as_bytes(),
            &dk,
            kid.as_bytes(),
            &mut rng,
        )
        .expect("hpke seal");
        bin.extend_from_slice(&hint);
        bin.extend_from_slice(&enc.to_bytes());
        bin.extend_from_slice(&wrapped);
        hints.push(hint);
    }
    bin.extend_from_slice(&counter.to_be_bytes());
    let hint_refs: Vec<&[u8]> = hints.iter().map(Vec::as_slice).collect();
    let aad = spec_aad(b.policy, b.location, b.zone, kind, &hint_refs);
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(&dk).expect("key");
    let nonce = spec_nonce(counter);
    let ct = cipher
        .encrypt(
            aes_gcm::Nonce::from_slice(&nonce),
            Payload { msg: pt, aad: &aad },
        )
        .expect("aes-gcm");
    bin.extend_from_slice(&ct);
    format!("pe1.{}", URL_SAFE_NO_PAD.encode(bin))
}

fn jwk_value(text: &str) -> Value {
    serde_json::from_str(text).expect("jwk json")
}

fn binding_of(v: &Value) -> Binding<'_> {
    let b = &v["binding"];
    Binding {
        policy: str_of(b, "policy"),
        location: str_of(b, "location"),
        zone: str_of(b, "zone"),
    }
}

/// Check one vector file.
fn check_vector(file: &str) {
    let path = vectors_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let v: Value = serde_json::from_str(&text).expect("vector json");
    let b = binding_of(&v);
    let envelope = str_of(&v, "envelope");
    let private_jwks = serde_json::to_string(&v["private_jwks"]).expect("json");
    let ring = PrivateKeyring::from_jwks(&private_jwks).expect("private keys");
    // The public set is the public half of the private set.
    let public = PublicKeyring::from_jwks(&serde_json::to_string(&v["public_jwks"]).expect("json"))
        .expect("public keys");
    assert_eq!(public, ring.public(), "{file}: public_jwks");
    let keys = v["private_jwks"]["keys"].as_array().expect("keys");

    if let Some(expected) = v.get("expect_error").and_then(Value::as_str) {
        let err = open(&ring, envelope, &b).expect_err("fail vector must not open");
        assert_eq!(format!("{err:?}"), expected, "{file}");
        for jwk in keys {
            assert!(independent_open(jwk, &b, envelope).is_err(), "{file}");
        }
        return;
    }

    let kind = str_of(&v, "kind");
    let plaintext = str_of(&v, "plaintext").as_bytes();
    let (got_kind, got) = open(&ring, envelope, &b).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(kind_name(got_kind), kind, "{file}");
    assert_eq!(got, plaintext, "{file}");
    // Every key that the vector lists as a recipient opens it alone, with both openers.
    let recipients: Vec<&str> = v["recipients"]
        .as_array()
        .expect("recipients")
        .iter()
        .map(|r| r.as_str().expect("kid"))
        .collect();
    assert!(!recipients.is_empty());
    for jwk in keys {
        let kid = str_of(jwk, "kid");
        let one = PrivateKeyring::from_jwks(&format!("{{\"keys\":[{jwk}]}}")).expect("key");
        if recipients.contains(&kid) {
            assert_eq!(
                open(&one, envelope, &b),
                Ok((got_kind, got.clone())),
                "{file}"
            );
            let (k, pt) = independent_open(jwk, &b, envelope)
                .unwrap_or_else(|e| panic!("{file}: independent opener: {e}"));
            assert_eq!((k, pt.as_slice()), (got_kind.code(), plaintext), "{file}");
        } else {
            assert_eq!(open(&one, envelope, &b), Err(OpenError::NoKey), "{file}");
        }
    }
}

macro_rules! vector_tests {
    ($($name:ident => $file:literal),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check_vector($file);
            }
        )*
        const VECTOR_FILES: &[&str] = &[$($file),*];
    };
}

vector_tests! {
    vector_text_header => "text_header.json",
    vector_string_email => "string_email.json",
    vector_string_escapes => "string_escapes.json",
    vector_number => "number.json",
    vector_bool => "bool.json",
    vector_null => "null.json",
    vector_object => "object.json",
    vector_array => "array.json",
    vector_two_recipients => "two_recipients.json",
    vector_rotated_old_key => "rotated_old_key.json",
    vector_fail_tampered_ciphertext => "fail_tampered_ciphertext.json",
    vector_fail_kind_changed => "fail_kind_changed.json",
    vector_fail_wrong_location => "fail_wrong_location.json",
    vector_fail_wrong_policy => "fail_wrong_policy.json",
    vector_fail_wrong_zone => "fail_wrong_zone.json",
    vector_fail_wrong_key => "fail_wrong_key.json",
    vector_fail_unsupported_version => "fail_unsupported_version.json",
    vector_fail_truncated => "fail_truncated.json",
}

#[test]
fn every_vector_file_has_a_test() {
    let mut on_disk: Vec<String> = std::fs::read_dir(vectors_dir())
        .expect("docs/vectors")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = VECTOR_FILES.iter().map(|s| (*s).to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn hpke_crate_opens_what_we_seal() {
    for regions in [1usize, 3] {
        let keys: Vec<PrivateKey> = (0..regions)
            .map(|i| {
                PrivateKey::generate("eu-central", &format!("eu-central-{i}"), 1).expect("key")
            })
            .collect();
        let jwks: Vec<Value> = keys.iter().map(|k| jwk_value(&k.to_jwk())).collect();
        let mut ring = PrivateKeyring::new();
        for k in keys {
            ring.push(k);
        }
        let public = ring.public();
        let recipients = public.recipients("eu-central").expect("recipients");
        let mut sealer = TestSealer::new(&recipients, "eu-central").expect("sealer");
        for (i, kind) in ValueKind::ALL.into_iter().enumerate() {
            let location = format!("$['f{i}']");
            let b = Binding {
                policy: "interop",
                location: &location,
                zone: "eu-central",
            };
            let pt = format!("value {i} ü");
            let text = sealer.seal(&b, kind, pt.as_bytes()).expect("seal");
            for jwk in &jwks {
                assert_eq!(
                    independent_open(jwk, &b, &text),
                    Ok((kind.code(), pt.as_bytes().to_vec()))
                );
            }
        }
    }
}

#[test]
fn we_open_what_the_hpke_crate_seals() {
    let keys: Vec<PrivateKey> = (1..=2)
        .map(|i| PrivateKey::generate("eu-central", &format!("eu-central-{i}"), 1).expect("key"))
        .collect();
    let publics: Vec<Value> = keys
        .iter()
        .map(|k| jwk_value(&k.public().to_jwk()))
        .collect();
    let private_jwks: Vec<String> = keys.iter().map(PrivateKey::to_jwk).collect();
    let b = Binding {
        policy: "interop",
        location: "$['user']['email']",
        zone: "eu-central",
    };
    for (counter, kind) in [
        (0u64, ValueKind::String),
        (5, ValueKind::Object),
        (u64::from(u32::MAX), ValueKind::Text),
    ] {
        let pt = br#"{"a":"b"}"#;
        let text = independent_seal(&publics, &b, kind.code(), pt, counter);
        for jwk in &private_jwks {
            let ring = PrivateKeyring::from_jwks(&format!("{{\"keys\":[{jwk}]}}")).expect("ring");
            assert_eq!(open(&ring, &text, &b), Ok((kind, pt.to_vec())));
            let moved = Binding {
                location: "$['other']",
                ..b
            };
            assert_eq!(open(&ring, &text, &moved), Err(OpenError::Authentication));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Generator
// ---------------------------------------------------------------------------------------

/// 2026-01-01T00:00:00Z, the `created` of the vector keys (rotated-in keys are a year newer).
const CREATED: u64 = 1_767_225_600;

/// The keys of one vector file.
struct Gen {
    keys: Vec<PrivateKey>,
}

impl Gen {
    fn new(specs: &[(&str, u64)]) -> Self {
        Gen {
            keys: specs
                .iter()
                .map(|(region, created)| {
                    PrivateKey::generate("eu-central", region, *created).expect("key")
                })
                .collect(),
        }
    }

    fn private_jwks(&self) -> Value {
        json!({ "keys": self.keys.iter().map(|k| jwk_value(&k.to_jwk())).collect::<Vec<_>>() })
    }

    fn public_jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|k| jwk_value(&k.public().to_jwk()))
            .collect();
        json!({ "keys": keys })
    }

    /// A private ring holding the keys `pick` selects.
    fn ring(&self, pick: &[usize]) -> PrivateKeyring {
        let keys: Vec<Value> = pick
            .iter()
            .map(|i| jwk_value(&self.keys[*i].to_jwk()))
            .collect();
        PrivateKeyring::from_jwks(&json!({ "keys": keys }).to_string()).expect("ring")
    }

    fn kids(&self, pick: &[usize]) -> Vec<String> {
        pick.iter()
            .map(|i| self.keys[*i].public().kid().to_owned())
            .collect()
    }
}

/// One vector file.
struct Vector<'a> {
    name: &'a str,
    description: &'a str,
    binding: Binding<'a>,
    recipients: Vec<String>,
    envelope: String,
    /// Kind and plaintext of a success vector, or the expected error.
    outcome: Result<(ValueKind, &'a str), &'a str>,
}

fn write_vector(gen: &Gen, v: &Vector<'_>) {
    let b = &v.binding;
    let mut out = json!({
        "name": v.name,
        "description": v.description,
        "format": "pii-edge envelope v1, see docs/envelope.md",
        "binding": { "policy": b.policy, "location": b.location, "zone": b.zone },
        "private_jwks": gen.private_jwks(),
        "public_jwks": gen.public_jwks(),
        "recipients": v.recipients,
        "envelope": v.envelope,
    });
    match v.outcome {
        Ok((kind, plaintext)) => {
            out["kind"] = json!(kind_name(kind));
            out["kind_code"] = json!(kind.code());
            out["plaintext"] = json!(plaintext);
        }
        Err(error) => out["expect_error"] = json!(error),
    }
    let path = vectors_dir().join(format!("{}.json", v.name));
    let mut text = serde_json::to_string_pretty(&out).expect("json");
    text.push('\n');
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
}

fn seal_with(ring: &PrivateKeyring, fields: &[(Binding<'_>, ValueKind, &str)]) -> Vec<String> {
    let public = ring.public();
    let recipients = public.recipients("eu-central").expect("recipients");
    let mut sealer = TestSealer::new(&recipients, "eu-central").expect("sealer");
    fields
        .iter()
        .map(|(b, kind, pt)| sealer.seal(b, *kind, pt.as_bytes()).expect("seal"))
        .collect()
}

fn tweak(envelope: &str, f: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut bin = b64(envelope.strip_prefix("pe1.").expect("prefix"));
    f(&mut bin);
    format!("pe1.{}", URL_SAFE_NO_PAD.encode(bin))
}

#[test]
#[ignore = "rewrites docs/vectors/*.json with fresh keys; run on purpose"]
fn generate_vectors() {
    let bind = |policy, location| Binding {
        policy,
        location,
        zone: "eu-central",
    };
    let singles: [(&str, &str, Binding<'_>, ValueKind, &str); 8] = [
        (
            "text_header",
            "A raw header value (kind text), one recipient.",
            bind("api", "header:x-user-phone"),
            ValueKind::Text,
            "+49 30 1234567",
        ),
        (
            "string_email",
            "A JSON string: the plaintext is its JSON text, quotes included.",
            bind("signup", "$['email']"),
            ValueKind::String,
            "\"alice@example.com\"",
        ),
        (
            "string_escapes",
            "A JSON string with escapes: sealed byte for byte as it arrived, escapes kept.",
            bind("signup", "$['user']['name']"),
            ValueKind::String,
            r#""J\u00fcrgen \"Jo\" M\u00fcller""#,
        ),
        (
            "number",
            "A JSON number beyond f64 precision: its exact text round-trips.",
            bind("payments", "$['account']['balance']"),
            ValueKind::Number,
            "12345678901234567890.50",
        ),
        (
            "bool",
            "A JSON boolean.",
            bind("signup", "$['consent']['marketing']"),
            ValueKind::Bool,
            "true",
        ),
        (
            "null",
            "A JSON null.",
            bind("signup", "$['middleName']"),
            ValueKind::Null,
            "null",
        ),
        (
            "object",
            "A JSON object sealed whole, whitespace and key order kept.",
            bind("signup", "$['address']"),
            ValueKind::Object,
            r#"{"street": "Hauptstraße 1", "zip": "10115", "city": "Berlin"}"#,
        ),
        (
            "array",
            "A JSON array sealed whole.",
            bind("signup", "$['phones']"),
            ValueKind::Array,
            r#"["+49 30 1234567","+49 171 2345678"]"#,
        ),
    ];
    for (name, description, binding, kind, plaintext) in singles {
        let gen = Gen::new(&[("eu-central-1", CREATED)]);
        let envelope = seal_with(&gen.ring(&[0]), &[(binding, kind, plaintext)]).remove(0);
        write_vector(
            &gen,
            &Vector {
                name,
                description,
                binding,
                recipients: gen.kids(&[0]),
                envelope,
                outcome: Ok((kind, plaintext)),
            },
        );
    }

    // Two regions of the zone; the third field of its request (field counter 2).
    let gen = Gen::new(&[("eu-central-1", CREATED), ("eu-central-2", CREATED)]);
    let b = bind("signup", "$['contact']['email']");
    let email = "\"erika.mustermann@example.de\"";
    let envelope = seal_with(
        &gen.ring(&[0, 1]),
        &[
            (
                bind("signup", "$['contact']['name']"),
                ValueKind::String,
                "\"Erika\"",
            ),
            (
                bind("signup", "$['contact']['phone']"),
                ValueKind::String,
                "\"+49 30 1\"",
            ),
            (b, ValueKind::String, email),
        ],
    )
    .remove(2);
    write_vector(
        &gen,
        &Vector {
            name: "two_recipients",
            description: "Sealed to both regions of the zone; either private key opens it. \
                          Third field of its request: field counter 2.",
            binding: b,
            recipients: gen.kids(&[0, 1]),
            envelope,
            outcome: Ok((ValueKind::String, email)),
        },
    );

    // Rotation: sealed before the rotation to the old key; the ring has old and new.
    let gen = Gen::new(&[
        ("eu-central-1", CREATED),
        ("eu-central-1", CREATED + 365 * 86_400),
    ]);
    let b = bind("signup", "$['email']");
    let plaintext = "\"old@example.com\"";
    let envelope = seal_with(&gen.ring(&[0]), &[(b, ValueKind::String, plaintext)]).remove(0);
    write_vector(
        &gen,
        &Vector {
            name: "rotated_old_key",
            description: "Sealed to the old key of eu-central-1 before a newer key was added; \
                          the private set holds both and must still open it.",
            binding: b,
            recipients: gen.kids(&[0]),
            envelope,
            outcome: Ok((ValueKind::String, plaintext)),
        },
    );

    // Failures, all from one envelope.
    let gen = Gen::new(&[("eu-central-1", CREATED)]);
    let b = bind("signup", "$['email']");
    let good = seal_with(
        &gen.ring(&[0]),
        &[(b, ValueKind::String, "\"bob@example.com\"")],
    )
    .remove(0);
    let fail = |name, description, binding, envelope: String, error| {
        write_vector(
            &gen,
            &Vector {
                name,
                description,
                binding,
                recipients: gen.kids(&[0]),
                envelope,
                outcome: Err(error),
            },
        );
    };
    fail(
        "fail_tampered_ciphertext",
        "One bit of the field ciphertext flipped.",
        b,
        tweak(&good, |bin| {
            let at = bin.len() - 17;
            bin[at] ^= 1;
        }),
        "Authentication",
    );
    fail(
        "fail_kind_changed",
        "Kind byte changed from string (1) to text (0): the kind is bound.",
        b,
        tweak(&good, |bin| bin[1] = 0),
        "Authentication",
    );
    fail(
        "fail_wrong_location",
        "Opened with another location than it was sealed for (cut and paste).",
        bind("signup", "$['name']"),
        good.clone(),
        "Authentication",
    );
    fail(
        "fail_wrong_policy",
        "Opened under another policy name.",
        bind("checkout", "$['email']"),
        good.clone(),
        "Authentication",
    );
    fail(
        "fail_wrong_zone",
        "Opened for zone eu-west; it was sealed for eu-central.",
        Binding {
            zone: "eu-west",
            ..b
        },
        good.clone(),
        "WrongZone",
    );
    fail(
        "fail_unsupported_version",
        "Prefix pe2. names a format version this opener does not know.",
        b,
        good.replacen("pe1.", "pe2.", 1),
        "UnsupportedVersion",
    );
    fail(
        "fail_truncated",
        "The envelope text cut inside the recipient block.",
        b,
        good[..120].to_owned(),
        "Malformed",
    );
    // Wrong key: the file's keys are not the recipient.
    let stranger = Gen::new(&[("eu-central-1", CREATED)]);
    write_vector(
        &stranger,
        &Vector {
            name: "fail_wrong_key",
            description: "The private set holds a key of the zone that is not a recipient.",
            binding: b,
            recipients: gen.kids(&[0]),
            envelope: good,
            outcome: Err("NoKey"),
        },
    );
}
