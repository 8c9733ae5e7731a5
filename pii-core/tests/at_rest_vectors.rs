//! The at-rest test vectors of `docs/vectors/at_rest/` (docs/at-rest.md §6): one case per
//! file, each opened with the `expect`ed outcome (`success` or an error name; failures are
//! named `fail_*`). A success case also rewraps its edge envelope with the recorded nonce and
//! must give the recorded field byte for byte.
//!
//! `PII_EDGE_REGENERATE=1 cargo test -p pii-core --test at_rest_vectors` rewrites them (with a
//! fresh region key: HPKE wraps are randomized).

use std::path::PathBuf;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use pii_core::at_rest::{self, AtRestError, SubjectKey};
use pii_core::envelope::{self, Binding, TestSealer, ValueKind};
use pii_core::{keys::PrivateKey, location::Part, location::PathElement, Location, PrivateKeyring};
use serde_json::{json, Value};

const ZONE: &str = "eu-central";
const CREATED: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const SECRET: [u8; 32] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
];
const KEY_ID: [u8; 16] = [
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
];
const NONCE: [u8; 12] = [
    0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb,
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/vectors/at_rest")
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

fn tweak(text: &str, prefix: &str, f: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut bin = URL_SAFE_NO_PAD
        .decode(text.strip_prefix(prefix).expect("prefix"))
        .expect("b64");
    f(&mut bin);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bin))
}

/// Writes every vector (run with `PII_EDGE_REGENERATE=1`).
fn generate() {
    let dir = dir();
    std::fs::create_dir_all(&dir).expect("mkdir");
    for entry in std::fs::read_dir(&dir).expect("dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            std::fs::remove_file(path).expect("remove");
        }
    }
    let region = PrivateKey::generate(ZONE, "eu-central-1", CREATED).expect("key");
    let jwks = format!("{{\"keys\":[{}]}}", region.to_jwk());
    let mut keys = PrivateKeyring::new();
    keys.push(region);
    let public = keys.public();
    let mut edge = TestSealer::new(&public.recipients(ZONE).expect("r"), ZONE).expect("sealer");

    let email_at = Binding::new(
        "signup",
        ZONE,
        Location::json(vec![PathElement::Name("email".into())]),
    );
    let id_at = Binding::new(
        "profile",
        ZONE,
        Location::field(Part::Header, "x-national-id", 0),
    );
    let key = SubjectKey::from_parts_for_tests("user-42", KEY_ID, CREATED, SECRET).expect("k");
    let kunde =
        SubjectKey::from_parts_for_tests("kunde-straße-7", KEY_ID, CREATED, SECRET).expect("k");
    let wrapped = key.wrap(&keys, ZONE).expect("wrap");
    let wrapped_kunde = kunde.wrap(&keys, ZONE).expect("wrap");

    let email_env = edge
        .seal(&email_at, ValueKind::String, br#""alice@example.com""#)
        .expect("seal");
    let email = at_rest_with_nonce(&keys, &email_env, &key);
    let id_env = edge
        .seal(&id_at, ValueKind::Text, b"DE-4711-0815")
        .expect("seal");
    let id = at_rest_with_nonce(&keys, &id_env, &kunde);

    let case = |name: &str,
                description: &str,
                subject_key: Value,
                envelope: Option<&str>,
                text: &str,
                expect: &str| {
        let mut v = json!({
            "description": description,
            "private_jwks": serde_json::from_str::<Value>(&jwks).expect("jwks"),
            "subject_key": subject_key,
            "at_rest": text,
            "expect": expect,
        });
        if let Some(env) = envelope {
            v["envelope"] = json!(env);
            v["nonce_hex"] = json!(hex(&NONCE));
        }
        if let Ok(h) = at_rest::header(text) {
            v["header"] = json!({
                "subject": h.subject, "key_id": h.key_id, "kind": h.kind.name(),
                "policy": h.binding.policy, "zone": h.binding.zone,
                "location": h.binding.location.to_string(),
            });
        }
        if expect == "success" {
            let k = SubjectKey::unwrap(&keys, subject_key["wrapped"].as_str().expect("w"))
                .expect("unwrap");
            let opened = at_rest::open(&k, text).expect("open");
            v["plaintext"] = json!(String::from_utf8_lossy(opened.plaintext()));
        }
        let path = dir.join(format!("{name}.json"));
        let mut out = serde_json::to_string_pretty(&v).expect("json");
        out.push('\n');
        std::fs::write(path, out).expect("write");
    };
    let live = |w: &str, k: &SubjectKey| {
        json!({"state": "live", "wrapped": w, "subject": k.subject(), "key_id": k.key_id(),
               "created": k.created(), "secret_hex": hex(&SECRET)})
    };
    case(
        "string_email",
        "A JSON string the edge sealed at json:$['email'], rewrapped to subject user-42. The \
         worked example of docs/at-rest.md.",
        live(&wrapped, &key),
        Some(&email_env),
        &email,
        "success",
    );
    case(
        "text_header_non_ascii_subject",
        "A header value, rewrapped to a subject id with non-ASCII characters.",
        live(&wrapped_kunde, &kunde),
        Some(&id_env),
        &id,
        "success",
    );
    case(
        "fail_erased",
        "The key store holds only the erased key id of user-42 (after forget): Erased.",
        json!({"state": "erased", "subject": "user-42", "key_id": key.key_id(),
               "erased_at": CREATED + 86_400}),
        None,
        &email,
        "Erased",
    );
    case(
        "fail_no_key",
        "The key store has no record of the subject: NoKey (not Erased).",
        json!({"state": "absent"}),
        None,
        &email,
        "NoKey",
    );
    case(
        "fail_tampered_ciphertext",
        "The last byte of the tag changed.",
        live(&wrapped, &key),
        None,
        &tweak(&email, at_rest::PREFIX, |b| {
            let last = b.len() - 1;
            b[last] ^= 1;
        }),
        "Tampered",
    );
    case(
        "fail_tampered_policy",
        "A byte of the policy name (associated data) changed: signup -> signuq.",
        live(&wrapped, &key),
        None,
        &retarget_policy(&email),
        "Tampered",
    );
    case(
        "fail_wrong_key",
        "The field names another key id of user-42 than the store holds (a key created again \
         after an erasure cannot open older fields).",
        live(&wrapped, &key),
        None,
        &tweak(&email, at_rest::PREFIX, |b| {
            let at = 3 + ZONE.len() + 1 + "user-42".len();
            b[at] ^= 0xff;
        }),
        "WrongKey",
    );
    case(
        "fail_wrapped_key_tampered",
        "The wrapped subject key in the store had its creation time changed: it does not \
         unwrap.",
        live(
            &tweak(&wrapped, at_rest::KEY_PREFIX, |b| {
                let at = 2 + ZONE.len() + 1 + "user-42".len() + 16 + 7;
                b[at] ^= 1;
            }),
            &key,
        ),
        None,
        &email,
        "Tampered",
    );
    case(
        "fail_unsupported_version",
        "pr2.: a later version of the format.",
        live(&wrapped, &key),
        None,
        &email.replacen("pr1.", "pr2.", 1),
        "UnsupportedVersion",
    );
    case(
        "fail_truncated",
        "Cut inside the location.",
        live(&wrapped, &key),
        None,
        &tweak(&email, at_rest::PREFIX, |b| b.truncate(40)),
        "Malformed",
    );
}

fn retarget_policy(text: &str) -> String {
    tweak(text, at_rest::PREFIX, |b| {
        let at = 3 + ZONE.len() + 1 + "user-42".len() + 16 + 12 + 1 + 5;
        assert_eq!(b[at], b'p');
        b[at] = b'q';
    })
}

/// `rewrap` with the vectors' fixed nonce: open the envelope, seal under `key`.
fn at_rest_with_nonce(keys: &PrivateKeyring, env: &str, key: &SubjectKey) -> String {
    let opened = envelope::open(keys, env).expect("open");
    key.seal_for_tests(opened.kind(), opened.binding(), opened.plaintext(), NONCE)
        .expect("seal")
}

/// The outcome of opening `v` as an origin with a key store would.
fn outcome(v: &Value, keys: &PrivateKeyring) -> Result<at_rest::Opened, AtRestError> {
    let text = v["at_rest"].as_str().expect("at_rest");
    let head = at_rest::header(text)?;
    let record = &v["subject_key"];
    match record["state"].as_str().expect("state") {
        "erased" if record["key_id"] == json!(head.key_id) => Err(AtRestError::Erased),
        "live" => {
            let key = SubjectKey::unwrap(keys, record["wrapped"].as_str().expect("wrapped"))?;
            at_rest::open(&key, text)
        }
        _ => Err(AtRestError::NoKey),
    }
}

#[test]
fn every_vector_gives_its_expected_outcome() {
    if std::env::var_os("PII_EDGE_REGENERATE").is_some() {
        generate();
    }
    let mut seen = 0;
    for entry in std::fs::read_dir(dir()).expect("docs/vectors/at_rest") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        seen += 1;
        let name = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        let keys = PrivateKeyring::from_jwks(&v["private_jwks"].to_string()).expect("private_jwks");
        let expect = v["expect"].as_str().expect("expect");
        assert_eq!(name.starts_with("fail_"), expect != "success", "{name}");
        match outcome(&v, &keys) {
            Ok(opened) => {
                assert_eq!(expect, "success", "{name}");
                assert_eq!(
                    opened.plaintext(),
                    v["plaintext"].as_str().expect("plaintext").as_bytes()
                );
                let h = &v["header"];
                assert_eq!(opened.subject(), h["subject"], "{name}");
                assert_eq!(opened.kind().name(), h["kind"], "{name}");
                assert_eq!(opened.binding().location.to_string(), h["location"]);
                let record = &v["subject_key"];
                let key = SubjectKey::unwrap(&keys, record["wrapped"].as_str().expect("w"))
                    .expect("unwrap");
                assert_eq!(key.key_id(), record["key_id"], "{name}");
                assert_eq!(key.created(), record["created"], "{name}");
                assert_eq!(hex(&SECRET), record["secret_hex"], "{name}");
                // Rewrapping the recorded envelope with the recorded nonce gives the field.
                let env = v["envelope"].as_str().expect("envelope");
                assert_eq!(unhex(v["nonce_hex"].as_str().expect("nonce")), NONCE);
                assert_eq!(at_rest_with_nonce(&keys, env, &key), v["at_rest"], "{name}");
                // And the real rewrap (random nonce) opens to the same value.
                let fresh = at_rest::rewrap(&keys, env, &key).expect("rewrap");
                assert_eq!(
                    at_rest::open(&key, &fresh).expect("open").plaintext(),
                    opened.plaintext()
                );
            }
            Err(e) => assert_eq!(e.name(), expect, "{name}"),
        }
    }
    assert!(seen >= 10, "only {seen} vectors in docs/vectors/at_rest");
}

/// The demo signing key of the receipt vectors (RFC 8032 §7.1 TEST 1's seed). Never use it.
const SIGNING_JWK: &str = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","created":1700000000}"#;

/// `docs/vectors/erasure/receipts.json`: erasure receipts (docs/erasure.md §5) and what a
/// verifier holding only the public key must say. Ed25519 is deterministic: regenerating
/// (`PII_EDGE_REGENERATE=1`) writes the same file but for the unknown-key case (a fresh key).
#[test]
fn erasure_receipt_vectors() {
    use pii_core::erasure::{self, Erasure};
    use pii_core::receipt::{ReceiptKeys, ReceiptSigner};
    let path = dir().join("../erasure/receipts.json");
    let signer = ReceiptSigner::from_jwk(SIGNING_JWK).expect("demo key");
    if std::env::var_os("PII_EDGE_REGENERATE").is_some() {
        let facts = Erasure {
            by: "dpo@example.com (ticket 2026-117)".into(),
            subject: "user-42".into(),
            key_id: "oKGio6SlpqeoqaqrrK2urw".into(),
            erased_at: CREATED + 86_400,
        };
        let valid = erasure::sign(&signer, &facts);
        let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(
            br#"{"v":1,"typ":"erasure","iat":1767312000,"by":"dpo@example.com (ticket 2026-117)","sub":"user-43","kid":"oKGio6SlpqeoqaqrrK2urw"}"#,
        );
        let forged = parts.join(".");
        let other = ReceiptSigner::generate(1).expect("key");
        let cases = json!({
            "description": "Erasure receipts of docs/erasure.md §5, verified with `public_jwks` only.",
            "public_jwks": {"keys": [serde_json::from_str::<Value>(&signer.public_jwk()).expect("jwk")]},
            "cases": [
                {"name": "valid", "receipt": valid, "expect": "valid",
                 "erasure": {"by": facts.by, "sub": facts.subject, "kid": facts.key_id, "iat": facts.erased_at}},
                {"name": "fail_changed_subject", "receipt": forged, "expect": "bad-signature"},
                {"name": "fail_unknown_key", "receipt": erasure::sign(&other, &facts), "expect": "unknown-key"},
            ]
        });
        let mut out = serde_json::to_string_pretty(&cases).expect("json");
        out.push('\n');
        std::fs::write(&path, out).expect("write");
    }
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    let keys = ReceiptKeys::from_jwks(&v["public_jwks"].to_string()).expect("keys");
    let cases = v["cases"].as_array().expect("cases");
    assert!(cases.len() >= 3);
    for case in cases {
        let got = erasure::verify(case["receipt"].as_str().expect("receipt"), &keys);
        match (case["expect"].as_str().expect("expect"), got) {
            ("valid", Ok(ok)) => {
                assert_eq!(ok.erasure.subject, case["erasure"]["sub"]);
                assert_eq!(ok.erasure.key_id, case["erasure"]["kid"]);
                assert_eq!(ok.erasure.erased_at, case["erasure"]["iat"]);
                assert_eq!(ok.signed_by, signer.kid());
            }
            (expect, Err(e)) => assert_eq!(e.code(), expect, "{}", case["name"]),
            (expect, Ok(_)) => panic!("{}: verified, expected {expect}", case["name"]),
        }
    }
}

/// `docs/vectors/erasure/subject_tokens.json`: per-subject tokens (docs/at-rest.md §7). HMAC
/// and HKDF are deterministic: regenerating (`PII_EDGE_REGENERATE=1`) writes the same file.
#[test]
fn subject_token_vectors() {
    use pii_core::token::Normalize;
    let path = dir().join("../erasure/subject_tokens.json");
    // The subject key of the worked example, and the key user-42 gets when they sign up again
    // after `forget` (its tokens must differ).
    let second: [u8; 32] = std::array::from_fn(|i| 0x20 + i as u8);
    let second_id: [u8; 16] = std::array::from_fn(|i| 0xb0 + i as u8);
    let keys = [
        SubjectKey::from_parts_for_tests("user-42", KEY_ID, CREATED, SECRET).expect("k"),
        SubjectKey::from_parts_for_tests("user-42", second_id, CREATED + 172_800, second)
            .expect("k"),
        SubjectKey::from_parts_for_tests("kunde-straße-7", KEY_ID, CREATED, SECRET).expect("k"),
    ];
    let secrets = [SECRET, second, SECRET];
    if std::env::var_os("PII_EDGE_REGENERATE").is_some() {
        // (name, key, domain, steps, value, description)
        type Case<'a> = (&'a str, usize, &'a str, &'a [&'a str], &'a str, &'a str);
        let cases: &[Case<'_>] = &[
            ("raw_email", 0, "email", &[], "alice@example.com",
             "The worked example's subject key; no normalization."),
            ("trim_casefold", 0, "email", &["trim", "casefold"], " Alice@Example.COM ",
             "Normalized to alice@example.com: not the raw token (each normalization has its own key)."),
            ("subaddress", 0, "email", &["email-subaddress", "casefold"], "Alice+news@Example.com",
             "Sub-address dropped, then case folded."),
            ("digits", 0, "phone.v2", &["digits"], "+49 (30) 123-45", "Digits only."),
            ("non_ascii_subject", 2, "name", &["casefold"], "Straße", "Full case folding: strasse."),
            ("after_forget_new_key", 1, "email", &[], "alice@example.com",
             "user-42's next key (after forget and a new sign-up): the same value gives another token than raw_email."),
            ("fail_invalid_domain", 0, "Email", &[], "alice@example.com",
             "Upper case is not allowed in a token domain."),
            ("fail_untokenizable", 0, "phone", &["digits"], "no digits here",
             "digits finds no digit."),
        ];
        let out: Vec<Value> = cases
            .iter()
            .map(|(name, k, domain, steps, value, description)| {
                let key = &keys[*k];
                let normalize: Vec<Normalize> = steps
                    .iter()
                    .map(|s| Normalize::from_name(s).expect("step"))
                    .collect();
                let expect = match key.token(domain, &normalize, value.as_bytes()) {
                    Ok(token) => token,
                    Err(e) => e.name().to_owned(),
                };
                json!({"name": name, "description": description,
                       "subject_key": {"subject": key.subject(), "key_id": key.key_id(),
                                       "secret_hex": hex(&secrets[*k])},
                       "domain": domain, "normalize": steps, "value": value, "expect": expect})
            })
            .collect();
        let doc = json!({
            "description": "Per-subject tokens of docs/at-rest.md §7: `expect` is the token, or the error name for fail_* cases.",
            "cases": out,
        });
        let mut text = serde_json::to_string_pretty(&doc).expect("json");
        text.push('\n');
        std::fs::write(&path, text).expect("write");
    }
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    let cases = v["cases"].as_array().expect("cases");
    assert!(cases.len() >= 8);
    let mut tokens = std::collections::HashSet::new();
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let sk = &case["subject_key"];
        let secret: [u8; 32] = unhex(sk["secret_hex"].as_str().expect("hex"))
            .try_into()
            .expect("32 bytes");
        let key_id: [u8; 16] = URL_SAFE_NO_PAD
            .decode(sk["key_id"].as_str().expect("key_id"))
            .expect("b64")
            .try_into()
            .expect("16 bytes");
        let key = SubjectKey::from_parts_for_tests(
            sk["subject"].as_str().expect("subject"),
            key_id,
            CREATED,
            secret,
        )
        .expect("key");
        let steps: Vec<Normalize> = case["normalize"]
            .as_array()
            .expect("normalize")
            .iter()
            .map(|s| Normalize::from_name(s.as_str().expect("step")).expect("known step"))
            .collect();
        let got = key
            .token(
                case["domain"].as_str().expect("domain"),
                &steps,
                case["value"].as_str().expect("value").as_bytes(),
            )
            .unwrap_or_else(|e| e.name().to_owned());
        assert_eq!(got, case["expect"], "{name}");
        assert_eq!(
            name.starts_with("fail_"),
            !got.starts_with("ts1."),
            "{name}"
        );
        if got.starts_with("ts1.") {
            assert!(tokens.insert(got), "{name}: two cases gave one token");
        }
    }
}
