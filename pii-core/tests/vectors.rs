//! Test vectors (`docs/vectors/*.json`) and interoperability with a second, independent
//! RFC 9180 implementation.
//!
//! * Every vector file is one test. Its `expect` is the outcome of opening its `envelope`
//!   (with `open`, or with `open_expecting` when the file has an `expected_binding`); when the
//!   file has a `binding`, `open` must also give that binding, `kind` and plaintext. Both our
//!   `open` and the independent opener below must agree with the file, error names included.
//! * The independent opener and sealer follow `docs/envelope.md` using only the `hpke` crate
//!   (RustCrypto HPKE) for the data-key wraps and the `aes-gcm` crate for the fields; they parse
//!   and print locations with their own code. They share no code with `pii_core` beyond the
//!   public API they test.
//! * `generate_vectors` (ignored) rewrites the vector files:
//!   `cargo test -p pii-core --test vectors -- --ignored generate_vectors`. The vectors of the
//!   location kinds are made by the policy engine itself, from small requests, so they show
//!   what the edge really binds and seals.
#![cfg(feature = "open")]

use std::path::PathBuf;

use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable as _, OpModeR, OpModeS, Serializable as _};
use pii_core::envelope::{is_envelope, open, open_expecting, Binding, TestSealer, ValueKind};
use pii_core::{
    keys::PrivateKey, location::Part, location::PathElement, Engine, Location, Outcome, Policy,
    PrivateKeyring, PublicKeyring, Request, TokenKeys,
};
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
        other => panic!("{other:?}: a value kind docs/envelope.md does not name"),
    }
}

const KIND_NAMES: [&str; 7] = [
    "text", "string", "number", "bool", "null", "object", "array",
];

fn str_of<'a>(v: &'a Value, name: &str) -> &'a str {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("member {name} must be a string"))
}

fn b64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn sha256(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .to_vec()
}

/// RFC 7638 thumbprint of an X25519 JWK, as docs/envelope.md §2.2 describes it.
fn thumbprint(x: &str) -> Vec<u8> {
    sha256(format!(r#"{{"crv":"X25519","kty":"OKP","x":"{x}"}}"#).as_bytes())
}

fn kid_of(x: &str) -> String {
    URL_SAFE_NO_PAD.encode(thumbprint(x))
}

// ---------------------------------------------------------------------------------------
// The independent implementation of docs/envelope.md
// ---------------------------------------------------------------------------------------

/// A binding as the spec's text: policy, zone, location in its text form (§3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
struct SpecBinding {
    policy: String,
    zone: String,
    location: String,
}

/// What the independent opener returns.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SpecOpened {
    kind: u8,
    plaintext: Vec<u8>,
    binding: SpecBinding,
    /// The binary form of the location, as it was in the envelope.
    location_binary: Vec<u8>,
}

/// A parsed binary envelope (§4.2).
struct SpecEnvelope {
    kind: u8,
    zone: String,
    /// (hint, enc, wrapped) per recipient.
    recipients: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    counter: u32,
    policy: String,
    location_binary: Vec<u8>,
    location: String,
    aad: Vec<u8>,
    ct: Vec<u8>,
}

/// `is_envelope` of §4.4.
fn spec_is_envelope(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("pe") else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    (1..=3).contains(&digits) && rest.as_bytes().get(digits) == Some(&b'.')
}

/// A location's text form from its binary form (§3.3 → §3.2); `None` unless well formed.
fn spec_location_text(bin: &[u8]) -> Option<String> {
    let (&code, mut rest) = bin.split_first()?;
    if code == 0 {
        let mut out = String::from("json:$");
        while let Some((&tag, after)) = rest.split_first() {
            match tag {
                0 => {
                    let len = usize::from(u16::from_be_bytes(after.get(..2)?.try_into().ok()?));
                    let name = std::str::from_utf8(after.get(2..2 + len)?).ok()?;
                    out.push_str("['");
                    for c in name.chars() {
                        match c {
                            '\'' => out.push_str("\\'"),
                            '\\' => out.push_str("\\\\"),
                            '\u{8}' => out.push_str("\\b"),
                            '\u{c}' => out.push_str("\\f"),
                            '\n' => out.push_str("\\n"),
                            '\r' => out.push_str("\\r"),
                            '\t' => out.push_str("\\t"),
                            c if u32::from(c) < 0x20 => {
                                out.push_str(&format!("\\u{:04x}", u32::from(c)));
                            }
                            c => out.push(c),
                        }
                    }
                    out.push_str("']");
                    rest = &after[2 + len..];
                }
                1 => {
                    let i = u32::from_be_bytes(after.get(..4)?.try_into().ok()?);
                    out.push_str(&format!("[{i}]"));
                    rest = &after[4..];
                }
                _ => return None,
            }
        }
        return Some(out);
    }
    let part = ["header", "query", "form", "cookie"].get(usize::from(code).checked_sub(1)?)?;
    let index = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
    let name = rest.get(4..)?;
    std::str::from_utf8(name).ok()?;
    if name.is_empty() || name.iter().any(u8::is_ascii_uppercase) {
        return None;
    }
    let mut out = format!("{part}:");
    for &b in name {
        if b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if index > 0 {
        out.push_str(&format!("#{index}"));
    }
    Some(out)
}

/// Steps 1 and 2 of §6: the text and the binary. Errors are the spec's names.
fn spec_parse(text: &str) -> Result<SpecEnvelope, &'static str> {
    // 1. Text.
    let rest = text.strip_prefix("pe").ok_or("Malformed")?;
    let (version, payload) = rest.split_once('.').ok_or("Malformed")?;
    if version.is_empty()
        || version.len() > 3
        || version.starts_with('0')
        || !version.bytes().all(|b| b.is_ascii_digit())
        || payload.is_empty()
        || payload.len() % 4 == 1
        || !payload
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("Malformed");
    }
    if version != "2" {
        return Err("UnsupportedVersion");
    }
    let bin = URL_SAFE_NO_PAD.decode(payload).map_err(|_| "Malformed")?;
    // 2. Binary.
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<Vec<u8>, &'static str> {
        let got = bin.get(at..at + n).ok_or("Malformed")?.to_vec();
        at += n;
        Ok(got)
    };
    if take(1)? != [2] {
        return Err("Malformed");
    }
    let kind = take(1)?[0];
    if kind > 6 {
        return Err("Malformed");
    }
    let z = usize::from(take(1)?[0]);
    let zone = String::from_utf8(take(z)?).map_err(|_| "Malformed")?;
    if !(1..=64).contains(&z)
        || !zone
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("Malformed");
    }
    let n = usize::from(take(1)?[0]);
    if !(1..=16).contains(&n) {
        return Err("Malformed");
    }
    let mut recipients = Vec::new();
    for _ in 0..n {
        recipients.push((take(8)?, take(32)?, take(48)?));
    }
    let counter = u32::from_be_bytes(take(4)?.try_into().map_err(|_| "Malformed")?);
    let p = usize::from(take(1)?[0]);
    let policy = String::from_utf8(take(p)?).map_err(|_| "Malformed")?;
    if !(1..=64).contains(&p)
        || !policy
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return Err("Malformed");
    }
    let l = usize::from(u16::from_be_bytes(
        take(2)?.try_into().map_err(|_| "Malformed")?,
    ));
    let location_binary = take(l)?;
    let location = spec_location_text(&location_binary).ok_or("Malformed")?;
    let ct = bin[at..].to_vec();
    if ct.len() < 16 || ct.len() > (1 << 20) + 16 {
        return Err("Malformed");
    }
    Ok(SpecEnvelope {
        kind,
        zone,
        recipients,
        counter,
        policy,
        location_binary,
        location,
        aad: bin[..at].to_vec(),
        ct,
    })
}

fn spec_nonce(counter: u32) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[8..].copy_from_slice(&counter.to_be_bytes());
    nonce
}

/// Open an envelope from the spec alone (§6): `hpke` crate for the wrap, `aes-gcm` for the
/// field. `keys` are private JWKs; `expected` as `open_expecting`.
fn independent_open(
    keys: &[Value],
    text: &str,
    expected: Option<&SpecBinding>,
) -> Result<SpecOpened, &'static str> {
    let env = spec_parse(text)?;
    if expected.is_some_and(|e| e.zone != env.zone) {
        return Err("WrongZone");
    }
    let info = format!("pii-edge/v2 zone={}", env.zone);
    let mut found = false;
    let mut opened = None;
    'recipients: for (hint, enc, wrapped) in &env.recipients {
        for jwk in keys {
            let x = str_of(jwk, "x");
            if str_of(jwk, "zone") != env.zone || thumbprint(x)[..8] != hint[..] {
                continue;
            }
            found = true;
            let Ok(sk) = <Kem as hpke::Kem>::PrivateKey::from_bytes(&b64(str_of(jwk, "d"))) else {
                continue;
            };
            let Ok(enc) = <Kem as hpke::Kem>::EncappedKey::from_bytes(enc) else {
                continue;
            };
            let Ok(dk) = hpke::single_shot_open::<AesGcm256, HkdfSha256, Kem>(
                &OpModeR::Base,
                &sk,
                &enc,
                info.as_bytes(),
                wrapped,
                kid_of(x).as_bytes(),
            ) else {
                continue;
            };
            let Ok(cipher) = aes_gcm::Aes256Gcm::new_from_slice(&dk) else {
                continue;
            };
            let nonce = spec_nonce(env.counter);
            if let Ok(pt) = cipher.decrypt(
                aes_gcm::Nonce::from_slice(&nonce),
                Payload {
                    msg: &env.ct,
                    aad: &env.aad,
                },
            ) {
                opened = Some(pt);
                break 'recipients;
            }
        }
    }
    let plaintext = opened.ok_or(if found { "Tampered" } else { "NoKey" })?;
    let binding = SpecBinding {
        policy: env.policy,
        zone: env.zone,
        location: env.location,
    };
    if let Some(e) = expected {
        if e.policy != binding.policy {
            return Err("WrongPolicy");
        }
        if e.location != binding.location {
            return Err("WrongLocation");
        }
    }
    Ok(SpecOpened {
        kind: env.kind,
        plaintext,
        binding,
        location_binary: env.location_binary,
    })
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

/// Binary form of a JSON location (§3.3): each element a name or an index.
fn spec_json_location(elements: &[Result<&str, u32>]) -> Vec<u8> {
    let mut out = vec![0u8];
    for e in elements {
        match e {
            Ok(name) => {
                out.push(0);
                out.extend_from_slice(&u16::try_from(name.len()).expect("short").to_be_bytes());
                out.extend_from_slice(name.as_bytes());
            }
            Err(i) => {
                out.push(1);
                out.extend_from_slice(&i.to_be_bytes());
            }
        }
    }
    out
}

/// Binary form of a field location (§3.3): part code 1..4, index, decoded lower-case name.
fn spec_field_location(code: u8, name: &str, index: u32) -> Vec<u8> {
    let mut out = vec![code];
    out.extend_from_slice(&index.to_be_bytes());
    out.extend_from_slice(name.as_bytes());
    out
}

/// Seal an envelope from the spec alone (`hpke` crate + `aes-gcm`), to the public JWKs given.
fn independent_seal(
    public_jwks: &[Value],
    zone: &str,
    policy: &str,
    location_binary: &[u8],
    kind: u8,
    pt: &[u8],
    counter: u32,
) -> String {
    let mut rng = SystemRng(ring::rand::SystemRandom::new());
    let mut dk = [0u8; 32];
    hpke::rand_core::RngCore::fill_bytes(&mut rng, &mut dk);
    let info = format!("pii-edge/v2 zone={zone}");
    let mut bin = vec![2u8, kind, u8::try_from(zone.len()).expect("short")];
    bin.extend_from_slice(zone.as_bytes());
    bin.push(u8::try_from(public_jwks.len()).expect("few"));
    for jwk in public_jwks {
        let x = str_of(jwk, "x");
        let pk = <Kem as hpke::Kem>::PublicKey::from_bytes(&b64(x)).expect("public key");
        let (enc, wrapped) = hpke::single_shot_seal::<AesGcm256, HkdfSha256, Kem, _>(
            &OpModeS::Base,
            &pk,
            info.as_bytes(),
            &dk,
            kid_of(x).as_bytes(),
            &mut rng,
        )
        .expect("hpke seal");
        bin.extend_from_slice(&thumbprint(x)[..8]);
        bin.extend_from_slice(&enc.to_bytes());
        bin.extend_from_slice(&wrapped);
    }
    bin.extend_from_slice(&counter.to_be_bytes());
    bin.push(u8::try_from(policy.len()).expect("short"));
    bin.extend_from_slice(policy.as_bytes());
    bin.extend_from_slice(
        &u16::try_from(location_binary.len())
            .expect("short")
            .to_be_bytes(),
    );
    bin.extend_from_slice(location_binary);
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(&dk).expect("key");
    let ct = cipher
        .encrypt(
            aes_gcm::Nonce::from_slice(&spec_nonce(counter)),
            Payload { msg: pt, aad: &bin },
        )
        .expect("aes-gcm");
    bin.extend_from_slice(&ct);
    format!("pe2.{}", URL_SAFE_NO_PAD.encode(bin))
}

// ---------------------------------------------------------------------------------------
// One test per vector file
// ---------------------------------------------------------------------------------------

fn jwk_value(text: &str) -> Value {
    serde_json::from_str(text).expect("jwk json")
}

fn spec_binding_of(v: &Value) -> SpecBinding {
    SpecBinding {
        policy: str_of(v, "policy").to_owned(),
        zone: str_of(v, "zone").to_owned(),
        location: str_of(v, "location").to_owned(),
    }
}

fn binding_of(v: &Value) -> Binding {
    let location: Location = str_of(v, "location")
        .parse()
        .unwrap_or_else(|e| panic!("location {}: {e}", v["location"]));
    Binding::new(str_of(v, "policy"), str_of(v, "zone"), location)
}

/// Check one vector file.
fn check_vector(file: &str) {
    let path = vectors_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let v: Value = serde_json::from_str(&text).expect("vector json");
    let envelope = str_of(&v, "envelope");
    let expect = str_of(&v, "expect");
    assert_eq!(
        file.starts_with("fail_"),
        expect != "success",
        "{file}: a failure is named fail_*"
    );
    let private_jwks = serde_json::to_string(&v["private_jwks"]).expect("json");
    let ring = PrivateKeyring::from_jwks(&private_jwks).expect("private keys");
    // The public set is the public half of the private set.
    let public = PublicKeyring::from_jwks(&serde_json::to_string(&v["public_jwks"]).expect("json"))
        .expect("public keys");
    assert_eq!(public, ring.public(), "{file}: public_jwks");
    let keys = v["private_jwks"]["keys"].as_array().expect("keys");
    assert!(
        is_envelope(envelope) && spec_is_envelope(envelope),
        "{file}"
    );

    // What `open` gives: the value and its binding, when the file has them.
    if let Some(b) = v.get("binding") {
        let kind = str_of(&v, "kind");
        let plaintext = unhex(str_of(&v, "plaintext_hex"));
        if let Some(utf8) = v.get("plaintext").and_then(Value::as_str) {
            assert_eq!(utf8.as_bytes(), plaintext, "{file}: plaintext");
        }
        let opened = open(&ring, envelope).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(kind_name(opened.kind()), kind, "{file}");
        assert_eq!(opened.plaintext(), plaintext, "{file}");
        assert_eq!(opened.binding(), &binding_of(b), "{file}");
        assert_eq!(opened.binding().location.to_string(), str_of(b, "location"));
        let spec = independent_open(keys, envelope, None)
            .unwrap_or_else(|e| panic!("{file}: independent opener: {e}"));
        assert_eq!(spec.kind, opened.kind().code(), "{file}");
        assert_eq!(spec.plaintext, plaintext, "{file}");
        assert_eq!(spec.binding, spec_binding_of(b), "{file}");
        assert_eq!(
            hex(&spec.location_binary),
            str_of(b, "location_binary_hex"),
            "{file}"
        );
        // Opened where it was sealed, it opens.
        assert!(open_expecting(&ring, envelope, &binding_of(b)).is_ok());
        assert!(independent_open(keys, envelope, Some(&spec_binding_of(b))).is_ok());
        // Every key that the vector lists as a recipient opens it alone; any other: NoKey.
        let recipients: Vec<&str> = v["recipients"]
            .as_array()
            .expect("recipients")
            .iter()
            .map(|r| r.as_str().expect("kid"))
            .collect();
        for jwk in keys {
            let one = PrivateKeyring::from_jwks(&format!("{{\"keys\":[{jwk}]}}")).expect("key");
            let alone = std::slice::from_ref(jwk);
            if recipients.contains(&str_of(jwk, "kid")) {
                assert!(open(&one, envelope).is_ok(), "{file}");
                assert!(independent_open(alone, envelope, None).is_ok(), "{file}");
            } else {
                assert_eq!(open(&one, envelope).err().map(|e| e.name()), Some("NoKey"));
                assert_eq!(independent_open(alone, envelope, None).err(), Some("NoKey"));
            }
        }
    }

    // The vector's outcome, from both openers.
    let expected = v.get("expected_binding");
    let ours = match expected {
        Some(b) => open_expecting(&ring, envelope, &binding_of(b)),
        None => open(&ring, envelope),
    };
    let theirs = independent_open(keys, envelope, expected.map(spec_binding_of).as_ref());
    let ours = ours.map(|_| ()).map_err(|e| e.name());
    let theirs = theirs.map(|_| ());
    let want = if expect == "success" {
        Ok(())
    } else {
        Err(expect)
    };
    assert_eq!(ours, want, "{file}: pii-core");
    assert_eq!(theirs, want, "{file}: independent opener");
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
    vector_string_email => "string_email.json",
    vector_string_escapes => "string_escapes.json",
    vector_number => "number.json",
    vector_bool => "bool.json",
    vector_null => "null.json",
    vector_object => "object.json",
    vector_array => "array.json",
    vector_json_escaped_name => "json_escaped_name.json",
    vector_json_non_ascii_name => "json_non_ascii_name.json",
    vector_header_repeated => "header_repeated.json",
    vector_query_plus_and_pct2b => "query_plus_and_pct2b.json",
    vector_query_repeated => "query_repeated.json",
    vector_form_non_ascii_name => "form_non_ascii_name.json",
    vector_form_space_in_name => "form_space_in_name.json",
    vector_cookie_raw_value => "cookie_raw_value.json",
    vector_two_recipients => "two_recipients.json",
    vector_rotated_old_key => "rotated_old_key.json",
    vector_fail_tampered_ciphertext => "fail_tampered_ciphertext.json",
    vector_fail_tampered_location => "fail_tampered_location.json",
    vector_fail_tampered_other_recipient => "fail_tampered_other_recipient.json",
    vector_fail_kind_changed => "fail_kind_changed.json",
    vector_fail_wrong_location => "fail_wrong_location.json",
    vector_fail_wrong_policy => "fail_wrong_policy.json",
    vector_fail_wrong_zone => "fail_wrong_zone.json",
    vector_fail_wrong_key => "fail_wrong_key.json",
    vector_fail_truncated => "fail_truncated.json",
    vector_fail_version_zero => "fail_version_zero.json",
    vector_fail_version_leading_zero => "fail_version_leading_zero.json",
    vector_fail_padding => "fail_padding.json",
    vector_fail_bad_character => "fail_bad_character.json",
    vector_fail_version_byte => "fail_version_byte.json",
    vector_fail_unsupported_version_1 => "fail_unsupported_version_1.json",
    vector_fail_unsupported_version_3 => "fail_unsupported_version_3.json",
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

/// The vectors cover what the spec promises: every location kind, every value kind, every
/// error name.
#[test]
fn vectors_cover_every_kind_and_error() {
    let mut parts = std::collections::BTreeSet::new();
    let mut kinds = std::collections::BTreeSet::new();
    let mut errors = std::collections::BTreeSet::new();
    for file in VECTOR_FILES {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(vectors_dir().join(file)).expect("read"))
                .expect("json");
        if let Some(b) = v.get("binding") {
            let loc = str_of(b, "location");
            parts.insert(loc.split(':').next().expect("part").to_owned());
            kinds.insert(str_of(&v, "kind").to_owned());
        }
        errors.insert(str_of(&v, "expect").to_owned());
    }
    assert_eq!(
        parts.into_iter().collect::<Vec<_>>(),
        ["cookie", "form", "header", "json", "query"]
    );
    assert_eq!(kinds.len(), KIND_NAMES.len());
    for e in [
        "success",
        "Malformed",
        "UnsupportedVersion",
        "WrongZone",
        "NoKey",
        "Tampered",
        "WrongPolicy",
        "WrongLocation",
    ] {
        assert!(errors.contains(e), "no vector expects {e}");
    }
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
        let locations = [
            Location::json(vec![
                PathElement::Name("f'\\\u{1}é".into()),
                PathElement::Index(3),
            ]),
            Location::field(Part::Header, "x-national-id", 1),
            Location::field(Part::Query, "e mail", 0),
            Location::field(Part::Form, "straße", 2),
            Location::field(Part::Cookie, "session", 0),
            Location::json(vec![]),
            Location::field(Part::Query, "%", 7),
        ];
        for (i, kind) in ValueKind::ALL.into_iter().enumerate() {
            let b = Binding::new("interop", "eu-central", locations[i].clone());
            let pt = format!("value {i} ü");
            let text = sealer.seal(&b, kind, pt.as_bytes()).expect("seal");
            for jwk in &jwks {
                let got = independent_open(std::slice::from_ref(jwk), &text, None)
                    .expect("independent open");
                assert_eq!(got.kind, kind.code());
                assert_eq!(got.plaintext, pt.as_bytes());
                assert_eq!(got.binding.location, b.location.to_string());
                assert_eq!(got.binding.policy, "interop");
                assert_eq!(got.binding.zone, "eu-central");
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
    let cases: [(Vec<u8>, &str); 4] = [
        (
            spec_json_location(&[Ok("user"), Ok("email")]),
            "json:$['user']['email']",
        ),
        (
            spec_json_location(&[Ok("it's"), Err(4), Ok("\n")]),
            r"json:$['it\'s'][4]['\n']",
        ),
        (spec_field_location(2, "e mail", 1), "query:e%20mail#1"),
        (spec_field_location(4, "sessión", 0), "cookie:sessi%C3%B3n"),
    ];
    for (counter, kind) in [
        (0u32, ValueKind::String),
        (5, ValueKind::Object),
        (u32::MAX, ValueKind::Text),
    ] {
        for (location_binary, location_text) in &cases {
            let pt = br#"{"a":"b"}"#;
            let text = independent_seal(
                &publics,
                "eu-central",
                "interop",
                location_binary,
                kind.code(),
                pt,
                counter,
            );
            let at: Location = location_text.parse().expect("location");
            for jwk in &private_jwks {
                let ring =
                    PrivateKeyring::from_jwks(&format!("{{\"keys\":[{jwk}]}}")).expect("ring");
                let opened = open(&ring, &text).expect("open");
                assert_eq!((opened.kind(), opened.plaintext()), (kind, &pt[..]));
                assert_eq!(
                    opened.binding(),
                    &Binding::new("interop", "eu-central", at.clone())
                );
                let moved = Binding::new(
                    "interop",
                    "eu-central",
                    Location::field(Part::Header, "x", 0),
                );
                assert_eq!(
                    open_expecting(&ring, &text, &moved).err().map(|e| e.name()),
                    Some("WrongLocation")
                );
            }
        }
    }
}

/// The worked example of docs/envelope.md §11 is `string_email.json`: its field AAD, printed
/// in the spec, is every byte before the ciphertext.
#[test]
fn worked_example_matches_the_spec() {
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(vectors_dir().join("string_email.json")).expect("read"),
    )
    .expect("json");
    let env = spec_parse(str_of(&v, "envelope")).expect("parse");
    let spec = std::fs::read_to_string(vectors_dir().join("../envelope.md")).expect("spec");
    let aad_hex = hex(&env.aad);
    let in_spec: String = spec
        .split("<!-- aad -->")
        .nth(1)
        .expect("the spec marks its AAD dump with <!-- aad -->")
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(in_spec, aad_hex, "docs/envelope.md worked example AAD");
    assert!(
        spec.contains(&format!("is {} bytes", env.aad.len())),
        "the spec states the AAD length {}",
        env.aad.len()
    );
}

// ---------------------------------------------------------------------------------------
// Generator
// ---------------------------------------------------------------------------------------

/// 2026-01-01T00:00:00Z, the `created` of the vector keys (rotated-in keys are a year newer).
const CREATED: u64 = 1_767_225_600;

/// The keys of one vector file, as private JWKs.
struct Gen {
    jwks: Vec<Value>,
}

impl Gen {
    fn new(specs: &[(&str, u64)]) -> Self {
        Gen {
            jwks: specs
                .iter()
                .map(|(region, created)| {
                    jwk_value(
                        &PrivateKey::generate("eu-central", region, *created)
                            .expect("key")
                            .to_jwk(),
                    )
                })
                .collect(),
        }
    }

    fn private_jwks(&self) -> Value {
        json!({ "keys": self.jwks })
    }

    fn public_jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .jwks
            .iter()
            .map(|k| {
                let mut k = k.clone();
                k.as_object_mut().expect("jwk").remove("d");
                k
            })
            .collect();
        json!({ "keys": keys })
    }

    /// A private ring holding the keys `pick` selects.
    fn ring(&self, pick: &[usize]) -> PrivateKeyring {
        let keys: Vec<&Value> = pick.iter().map(|i| &self.jwks[*i]).collect();
        PrivateKeyring::from_jwks(&json!({ "keys": keys }).to_string()).expect("ring")
    }

    fn kids(&self, pick: &[usize]) -> Vec<String> {
        pick.iter()
            .map(|i| str_of(&self.jwks[*i], "kid").to_owned())
            .collect()
    }
}

/// One vector file.
struct Vector<'a> {
    name: &'a str,
    description: &'a str,
    /// How the value was found in a request and what was sealed, for the engine-made vectors.
    request: Option<Value>,
    recipients: Vec<String>,
    envelope: String,
    /// The binding to open with (`open_expecting`), or `None` for `open`.
    expected: Option<Binding>,
    /// `success` or the error name.
    expect: &'a str,
}

fn binding_json(b: &Binding, location_binary: &[u8]) -> Value {
    json!({
        "policy": b.policy,
        "zone": b.zone,
        "location": b.location.to_string(),
        "location_binary_hex": hex(location_binary),
    })
}

fn write_vector(gen: &Gen, v: &Vector<'_>) {
    let mut out = json!({
        "name": v.name,
        "description": v.description,
        "format": "pii-edge envelope v2, see docs/envelope.md",
        "expect": v.expect,
        "private_jwks": gen.private_jwks(),
        "public_jwks": gen.public_jwks(),
        "recipients": v.recipients,
        "envelope": v.envelope,
    });
    if let Some(request) = &v.request {
        out["request"] = request.clone();
    }
    // What `open` gives, whenever the envelope authenticates under the file's keys.
    let all: Vec<usize> = (0..gen.jwks.len()).collect();
    if let Ok(opened) = open(&gen.ring(&all), &v.envelope) {
        let spec = independent_open(&gen.jwks, &v.envelope, None).expect("independent open");
        out["binding"] = binding_json(opened.binding(), &spec.location_binary);
        out["kind"] = json!(kind_name(opened.kind()));
        out["kind_code"] = json!(opened.kind().code());
        if let Ok(utf8) = std::str::from_utf8(opened.plaintext()) {
            out["plaintext"] = json!(utf8);
        }
        out["plaintext_hex"] = json!(hex(opened.plaintext()));
    }
    if let Some(b) = &v.expected {
        out["expected_binding"] = json!({
            "policy": b.policy, "zone": b.zone, "location": b.location.to_string(),
        });
    }
    let path = vectors_dir().join(format!("{}.json", v.name));
    let mut text = serde_json::to_string_pretty(&out).expect("json");
    text.push('\n');
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
}

fn seal_with(ring: &PrivateKeyring, fields: &[(Binding, ValueKind, &str)]) -> Vec<String> {
    let public = ring.public();
    let recipients = public.recipients("eu-central").expect("recipients");
    let mut sealer = TestSealer::new(&recipients, "eu-central").expect("sealer");
    fields
        .iter()
        .map(|(b, kind, pt)| sealer.seal(b, *kind, pt.as_bytes()).expect("seal"))
        .collect()
}

/// Every envelope text in `text` (runs of `[A-Za-z0-9._-]` that start with `pe2.`).
fn envelopes_in(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .filter(|t| t.starts_with("pe2."))
        .map(str::to_owned)
        .collect()
}

/// Run the engine with one policy (rules as JSON) over `req`, and return the envelope it
/// sealed for `at`.
fn engine_seal(gen: &Gen, policy: &str, rules: Value, req: &Request, at: &str) -> String {
    let policy = Policy::from_json(
        &json!({
            "apiVersion": "pii-edge/v1", "name": policy, "zone": "eu-central",
            "match": {"paths": [req.path]}, "rules": rules,
        })
        .to_string(),
    )
    .expect("policy");
    let ring = gen.ring(&[0]);
    let engine = Engine::new(vec![policy], ring.public(), TokenKeys::default()).expect("engine");
    let Outcome::Protected(p) = engine.apply(req) else {
        panic!("not protected: {at}");
    };
    let out = &p.request;
    let mut all = envelopes_in(&out.query);
    all.extend(envelopes_in(&String::from_utf8_lossy(&out.body)));
    for (_, v) in &out.headers {
        all.extend(envelopes_in(v));
    }
    all.into_iter()
        .find(|e| open(&ring, e).is_ok_and(|o| o.binding().location.to_string() == at))
        .unwrap_or_else(|| panic!("no envelope for {at}"))
}

fn request_json(req: &Request, found: &str, sealed: &str) -> Value {
    json!({
        "method": req.method,
        "path": req.path,
        "query": req.query,
        "headers": req.headers.iter().map(|(n, v)| format!("{n}: {v}")).collect::<Vec<_>>(),
        "body": String::from_utf8_lossy(&req.body),
        "found": found,
        "sealed": sealed,
    })
}

fn tweak(envelope: &str, f: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut bin = b64(envelope.strip_prefix("pe2.").expect("prefix"));
    f(&mut bin);
    format!("pe2.{}", URL_SAFE_NO_PAD.encode(bin))
}

fn json_at(names: &[&str]) -> Location {
    Location::json(
        names
            .iter()
            .map(|n| PathElement::Name((*n).to_owned()))
            .collect(),
    )
}

#[test]
#[ignore = "rewrites docs/vectors/*.json with fresh keys; run on purpose"]
fn generate_vectors() {
    for entry in std::fs::read_dir(vectors_dir()).expect("dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            std::fs::remove_file(path).expect("remove old vector");
        }
    }
    let bind = |policy: &str, at: Location| Binding::new(policy, "eu-central", at);
    let singles: [(&str, &str, Binding, ValueKind, &str); 7] = [
        (
            "string_email",
            "A JSON string: the plaintext is its JSON text, quotes included. The worked example \
             of docs/envelope.md.",
            bind("signup", json_at(&["email"])),
            ValueKind::String,
            "\"alice@example.com\"",
        ),
        (
            "string_escapes",
            "A JSON string with escapes: sealed byte for byte as it arrived, escapes kept.",
            bind("signup", json_at(&["user", "name"])),
            ValueKind::String,
            r#""J\u00fcrgen \"Jo\" M\u00fcller""#,
        ),
        (
            "number",
            "A JSON number beyond f64 precision: its exact text round-trips.",
            bind("payments", json_at(&["account", "balance"])),
            ValueKind::Number,
            "12345678901234567890.50",
        ),
        (
            "bool",
            "A JSON boolean.",
            bind("signup", json_at(&["consent", "marketing"])),
            ValueKind::Bool,
            "true",
        ),
        (
            "null",
            "A JSON null.",
            bind("signup", json_at(&["middleName"])),
            ValueKind::Null,
            "null",
        ),
        (
            "object",
            "A JSON object sealed whole, whitespace and key order kept.",
            bind("signup", json_at(&["address"])),
            ValueKind::Object,
            r#"{"street": "Hauptstraße 1", "zip": "10115", "city": "Berlin"}"#,
        ),
        (
            "array",
            "A JSON array sealed whole.",
            bind("signup", json_at(&["phones"])),
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
                request: None,
                recipients: gen.kids(&[0]),
                envelope,
                expected: None,
                expect: "success",
            },
        );
    }

    // Made by the engine from a request: what the edge binds and seals for each location kind.
    struct Case<'a> {
        name: &'a str,
        description: &'a str,
        rules: Value,
        req: Request,
        at: &'a str,
        found: &'a str,
        sealed: &'a str,
    }
    let json_req = |body: &str| {
        Request::new("POST", "/api/v")
            .with_header("content-type", "application/json")
            .with_body(body.as_bytes().to_vec())
    };
    let form_req = |body: &str| {
        Request::new("POST", "/api/v")
            .with_header("content-type", "application/x-www-form-urlencoded")
            .with_body(body.as_bytes().to_vec())
    };
    let cases = [
        Case {
            name: "json_escaped_name",
            description: "A JSON member whose name needs escapes in a normalized path: a quote, \
                          a backslash and a control character (RFC 9535 §2.7).",
            rules: json!([{"select": {"json": "$['it\\'s \"q\" \\\\ \\u0001']"}, "action": "encrypt"}]),
            req: json_req(r#"{"it's \"q\" \\ \u0001": "secret", "other": 1}"#),
            at: r#"json:$['it\'s "q" \\ \u0001']"#,
            found: "body member named it's \"q\" \\ U+0001",
            sealed: "the JSON string \"secret\", quotes included",
        },
        Case {
            name: "json_non_ascii_name",
            description: "A JSON member with a non-ASCII name inside an array element: names \
                          are written as themselves (UTF-8), array indexes from 0.",
            rules: json!([{"select": {"json": "$.kunden[*]['straße']"}, "action": "encrypt"}]),
            req: json_req(
                r#"{"kunden":[{"straße":"Hauptstraße 1"},{"stra\u00dfe":"Lindenweg 2"}]}"#,
            ),
            at: "json:$['kunden'][1]['straße']",
            found: "the second element's member straße (written \\u00df-escaped in the body)",
            sealed: "the JSON string \"Lindenweg 2\" as it arrived",
        },
        Case {
            name: "header_repeated",
            description: "The second X-National-ID header: the name is lower-cased, the index \
                          counts that header's values from 0.",
            rules: json!([{"select": {"header": "X-National-ID"}, "action": "encrypt"}]),
            req: Request::new("GET", "/api/v")
                .with_header("X-National-ID", "DE-1")
                .with_header("x-national-id", "DE 2+3%2B4"),
            at: "header:x-national-id#1",
            found: "second header x-national-id",
            sealed: "the header value as it arrived (no decoding): DE 2+3%2B4",
        },
        Case {
            name: "query_plus_and_pct2b",
            description: "A query parameter: its value is percent-decoded with + as space before \
                          sealing, so + seals a space and %2B seals a +.",
            rules: json!([{"select": {"query": "email"}, "action": "encrypt"}]),
            req: Request::new("GET", "/api/v").with_query("q=1&email=erika+m%2Bshop%40example.de"),
            at: "query:email",
            found: "query parameter email=erika+m%2Bshop%40example.de",
            sealed: "the decoded value: erika m+shop@example.de",
        },
        Case {
            name: "query_repeated",
            description: "The second query parameter named email (names compare decoded and \
                          ASCII case-insensitively: %65MAIL is email).",
            rules: json!([{"select": {"query": "email"}, "action": "encrypt"}]),
            req: Request::new("GET", "/api/v").with_query("email=a%40b.de&%65MAIL=c%40d.de"),
            at: "query:email#1",
            found: "query parameter %65MAIL=c%40d.de, the second named email",
            sealed: "the decoded value: c@d.de",
        },
        Case {
            name: "form_non_ascii_name",
            description: "A form field with a non-ASCII name: in the location every byte of its \
                          UTF-8 outside a-z 0-9 - . _ ~ is %HH.",
            rules: json!([{"select": {"form": "straße"}, "action": "encrypt"}]),
            req: form_req("name=x&stra%C3%9Fe=Hauptstra%C3%9Fe+1"),
            at: "form:stra%C3%9Fe",
            found: "form field stra%C3%9Fe=Hauptstra%C3%9Fe+1",
            sealed: "the decoded value: Hauptstraße 1",
        },
        Case {
            name: "form_space_in_name",
            description: "A form field whose name holds a space (+ in the body): the location \
                          writes it %20.",
            rules: json!([{"select": {"form": "card number"}, "action": "encrypt"}]),
            req: form_req("card+number=4111+1111+1111+1111&cvv=123"),
            at: "form:card%20number",
            found: "form field card+number=4111+1111+1111+1111",
            sealed: "the decoded value: 4111 1111 1111 1111",
        },
        Case {
            name: "cookie_raw_value",
            description: "A cookie: the name compares ASCII case-insensitively and is \
                          lower-cased in the location; the value is sealed raw, not \
                          percent-decoded.",
            rules: json!([{"select": {"cookie": "session_id"}, "action": "encrypt"}]),
            req: Request::new("GET", "/api/v")
                .with_header("cookie", "theme=dark; Session_ID=abc%2Bdef+g"),
            at: "cookie:session_id",
            found: "cookie Session_ID=abc%2Bdef+g",
            sealed: "the raw value: abc%2Bdef+g",
        },
    ];
    for c in cases {
        let gen = Gen::new(&[("eu-central-1", CREATED)]);
        let envelope = engine_seal(&gen, "vectors", c.rules, &c.req, c.at);
        write_vector(
            &gen,
            &Vector {
                name: c.name,
                description: c.description,
                request: Some(request_json(&c.req, c.found, c.sealed)),
                recipients: gen.kids(&[0]),
                envelope,
                expected: None,
                expect: "success",
            },
        );
    }

    // Two regions of the zone; the third field of its request (field counter 2).
    let gen = Gen::new(&[("eu-central-1", CREATED), ("eu-central-2", CREATED)]);
    let envelope = seal_with(
        &gen.ring(&[0, 1]),
        &[
            (
                bind("signup", json_at(&["contact", "name"])),
                ValueKind::String,
                "\"Erika\"",
            ),
            (
                bind("signup", json_at(&["contact", "phone"])),
                ValueKind::String,
                "\"+49 30 1\"",
            ),
            (
                bind("signup", json_at(&["contact", "email"])),
                ValueKind::String,
                "\"erika.mustermann@example.de\"",
            ),
        ],
    )
    .remove(2);
    write_vector(
        &gen,
        &Vector {
            name: "two_recipients",
            description: "Sealed to both regions of the zone; either private key opens it. \
                          Third field of its request: field counter 2.",
            request: None,
            recipients: gen.kids(&[0, 1]),
            envelope: envelope.clone(),
            expected: None,
            expect: "success",
        },
    );
    // Finding 5: a change to the second recipient's wrapped key is noticed by the first.
    let first_only = Gen {
        jwks: vec![gen.jwks[0].clone()],
    };
    let z = "eu-central".len();
    write_vector(
        &first_only,
        &Vector {
            name: "fail_tampered_other_recipient",
            description: "two_recipients with one bit of the second recipient's wrapped data key \
                          flipped, opened with the first region's key alone: the whole recipient \
                          block is associated data.",
            request: None,
            recipients: gen.kids(&[0, 1]),
            envelope: tweak(&envelope, |bin| bin[4 + z + 88 + 40] ^= 1),
            expected: None,
            expect: "Tampered",
        },
    );

    // Rotation: sealed before the rotation to the old key; the ring has old and new.
    let gen = Gen::new(&[
        ("eu-central-1", CREATED),
        ("eu-central-1", CREATED + 365 * 86_400),
    ]);
    let envelope = seal_with(
        &gen.ring(&[0]),
        &[(
            bind("signup", json_at(&["email"])),
            ValueKind::String,
            "\"old@example.com\"",
        )],
    )
    .remove(0);
    write_vector(
        &gen,
        &Vector {
            name: "rotated_old_key",
            description: "Sealed to the old key of eu-central-1 before a newer key was added; \
                          the private set holds both and must still open it.",
            request: None,
            recipients: gen.kids(&[0]),
            envelope,
            expected: None,
            expect: "success",
        },
    );

    // Failures, all from one envelope.
    let gen = Gen::new(&[("eu-central-1", CREATED)]);
    let sealed_at = bind("signup", json_at(&["email"]));
    let good = seal_with(
        &gen.ring(&[0]),
        &[(sealed_at.clone(), ValueKind::String, "\"bob@example.com\"")],
    )
    .remove(0);
    let fail = |name, description, envelope: String, expected: Option<Binding>, expect| {
        write_vector(
            &gen,
            &Vector {
                name,
                description,
                request: None,
                recipients: gen.kids(&[0]),
                envelope,
                expected,
                expect,
            },
        );
    };
    fail(
        "fail_tampered_ciphertext",
        "One bit of the field ciphertext flipped.",
        tweak(&good, |bin| {
            let at = bin.len() - 17;
            bin[at] ^= 1;
        }),
        None,
        "Tampered",
    );
    fail(
        "fail_tampered_location",
        "The location in the header changed from json:$['email'] to json:$['emaim']: the \
         binding is associated data.",
        tweak(&good, |bin| {
            let at = bin.len() - 16 - 17 - 1;
            assert_eq!(bin[at], b'l');
            bin[at] = b'm';
        }),
        None,
        "Tampered",
    );
    fail(
        "fail_kind_changed",
        "Kind byte changed from string (1) to text (0): the kind is bound.",
        tweak(&good, |bin| bin[1] = 0),
        None,
        "Tampered",
    );
    fail(
        "fail_wrong_location",
        "Sealed for json:$['email'] but found at json:$['name'] (cut and paste): open gives \
         its binding, open_expecting refuses it.",
        good.clone(),
        Some(bind("signup", json_at(&["name"]))),
        "WrongLocation",
    );
    fail(
        "fail_wrong_policy",
        "Opened expecting policy checkout; it was sealed by signup.",
        good.clone(),
        Some(bind("checkout", json_at(&["email"]))),
        "WrongPolicy",
    );
    fail(
        "fail_wrong_zone",
        "Opened expecting zone eu-west; it was sealed for eu-central (refused before any key \
         is tried).",
        good.clone(),
        Some(Binding::new("signup", "eu-west", json_at(&["email"]))),
        "WrongZone",
    );
    fail(
        "fail_truncated",
        "The envelope text cut inside the recipient block.",
        good[..120].to_owned(),
        None,
        "Malformed",
    );
    let payload = good.strip_prefix("pe2.").expect("prefix");
    fail(
        "fail_version_zero",
        "Prefix pe0.: a version is never 0.",
        format!("pe0.{payload}"),
        None,
        "Malformed",
    );
    fail(
        "fail_version_leading_zero",
        "Prefix pe02.: a version has no leading zero.",
        format!("pe02.{payload}"),
        None,
        "Malformed",
    );
    assert_ne!(
        payload.len() % 4,
        0,
        "the padding case needs a partial group"
    );
    fail(
        "fail_padding",
        "The payload with its base64 = padding: envelopes are unpadded.",
        format!("{good}{}", "=".repeat(4 - payload.len() % 4)),
        None,
        "Malformed",
    );
    fail(
        "fail_bad_character",
        "A + in the payload: not base64url.",
        format!("pe2.+{}", &payload[1..]),
        None,
        "Malformed",
    );
    fail(
        "fail_version_byte",
        "Prefix pe2. but version byte 3: the two must agree.",
        tweak(&good, |bin| bin[0] = 3),
        None,
        "Malformed",
    );
    fail(
        "fail_unsupported_version_1",
        "Prefix pe1.: the retired version 1, not opened by a version-2 opener.",
        format!("pe1.{payload}"),
        None,
        "UnsupportedVersion",
    );
    fail(
        "fail_unsupported_version_3",
        "Prefix pe3.: a future version.",
        format!("pe3.{payload}"),
        None,
        "UnsupportedVersion",
    );
    // Wrong key: the file's keys are not the recipient.
    let stranger = Gen::new(&[("eu-central-1", CREATED)]);
    write_vector(
        &stranger,
        &Vector {
            name: "fail_wrong_key",
            description: "The private set holds a key of the zone that is not a recipient.",
            request: None,
            recipients: gen.kids(&[0]),
            envelope: good,
            expected: None,
            expect: "NoKey",
        },
    );
}
