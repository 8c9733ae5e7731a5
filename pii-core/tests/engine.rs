//! The engine end to end: every action, every selector, every fail-closed path, and the
//! property tests of issue 2 (no selected plaintext in the output, unselected values unchanged,
//! reversible actions round-trip with their type).
#![cfg(all(feature = "open", feature = "yaml"))]

use pii_core::{
    engine::RejectReason, keys::PrivateKey, reveal, Engine, Outcome, Policy, PrivateKeyring,
    Protected, Rejection, Request, TokenKeys,
};
use proptest::prelude::*;
use serde_json::{json, Value};

const ZONE: &str = "eu-central";

fn keys() -> PrivateKeyring {
    let mut ring = PrivateKeyring::new();
    ring.push(PrivateKey::generate(ZONE, "eu-central-1", 1).expect("keygen"));
    ring.push(PrivateKey::generate(ZONE, "eu-central-2", 1).expect("keygen"));
    ring
}

fn tokens() -> TokenKeys {
    let mut t = TokenKeys::default();
    t.push(TokenKeys::generate("email").expect("token key"))
        .expect("push");
    t
}

fn engine(yaml_rules: &str, private: &PrivateKeyring) -> Engine {
    let text = format!(
        "apiVersion: pii-edge/v1\nname: test\nzone: {ZONE}\nmatch:\n  methods: [POST, GET]\n  paths: [\"/api/**\"]\n{yaml_rules}"
    );
    let policy = Policy::from_yaml("test.yaml", &text).unwrap_or_else(|e| panic!("{e}"));
    Engine::new(vec![policy], private.public(), tokens()).expect("engine")
}

fn json_req(body: &str) -> Request {
    Request::new("POST", "/api/users")
        .with_header("Content-Type", "application/json")
        .with_body(body.as_bytes().to_vec())
}

fn protected(o: Outcome) -> Protected {
    match o {
        Outcome::Protected(p) => p,
        other => panic!("expected protected, got {other:?}"),
    }
}

fn rejected(o: Outcome) -> Rejection {
    match o {
        Outcome::Rejected(r) => r,
        other => panic!("expected rejection, got {other:?}"),
    }
}

fn body_json(p: &Protected) -> Value {
    serde_json::from_slice(&p.request.body).expect("output is JSON")
}

const ENCRYPT_EMAIL: &str = "rules:\n  - select: { json: $.user.email }\n    action: encrypt\n";

#[test]
fn encrypts_and_reveals_every_json_type() {
    let private = keys();
    let e = engine(
        "rules:\n  - select: { json: '$.v[*]' }\n    action: encrypt\n",
        &private,
    );
    let body = r#"{"v": ["erika@example.de", 12345678901234567890, 1.000000000000000000001, true, null, {"a": [1, "x"]}, [1, {"b": 2}]], "keep": 7}"#;
    let p = protected(e.apply(&json_req(body)));
    let out = String::from_utf8(p.request.body.clone()).expect("utf8");
    assert!(!out.contains("erika"));
    assert!(!out.contains("12345678901234567890"));
    assert_eq!(p.fields.len(), 7);
    assert!(body_json(&p)["v"]
        .as_array()
        .expect("array")
        .iter()
        .all(|v| v.as_str().is_some_and(|s| s.starts_with("pe2."))));
    assert!(out.ends_with(r#", "keep": 7}"#), "{out}");
    let opened = reveal(
        &private,
        &p.request,
        pii_core::reveal::Expect {
            policy: Some("test"),
            zone: Some(ZONE),
        },
    )
    .expect("reveal");
    assert_eq!(opened.opened(), 7);
    assert_eq!(String::from_utf8(opened.request.body).expect("utf8"), body);
}

#[test]
fn each_region_of_the_zone_opens_alone() {
    // Two regions of one zone, two independent keys: the field is sealed to both and each one
    // alone opens it.
    let a = PrivateKey::generate(ZONE, "eu-central-1", 1)
        .expect("keygen")
        .to_jwk();
    let b = PrivateKey::generate(ZONE, "eu-central-2", 1)
        .expect("keygen")
        .to_jwk();
    let ring = |jwks: &[&str]| {
        PrivateKeyring::from_jwks(&format!("{{\"keys\":[{}]}}", jwks.join(","))).expect("jwks")
    };
    let e = engine(ENCRYPT_EMAIL, &ring(&[&a, &b]));
    let p = protected(e.apply(&json_req(r#"{"user":{"email":"erika@example.de"}}"#)));
    for key in [&a, &b] {
        let r = reveal(
            &ring(&[key]),
            &p.request,
            pii_core::reveal::Expect {
                policy: Some("test"),
                zone: Some(ZONE),
            },
        )
        .expect("each region opens");
        assert_eq!(
            r.request.body,
            br#"{"user":{"email":"erika@example.de"}}"#.to_vec()
        );
    }
}

#[test]
fn ciphertext_moved_to_another_field_does_not_open() {
    let private = keys();
    let e = engine(
        "rules:\n  - select: { json: '$.a' }\n    action: encrypt\n  - select: { json: '$.b' }\n    action: encrypt\n",
        &private,
    );
    let p = protected(e.apply(&json_req(r#"{"a":"secret-a","b":"secret-b"}"#)));
    let v = body_json(&p);
    let swapped = json!({"a": v["b"], "b": v["a"]}).to_string();
    let mut moved = p.request.clone();
    moved.body = swapped.into_bytes();
    assert!(reveal(
        &private,
        &moved,
        pii_core::reveal::Expect {
            policy: Some("test"),
            zone: Some(ZONE)
        }
    )
    .is_err());
    assert!(reveal(
        &private,
        &p.request,
        pii_core::reveal::Expect {
            policy: Some("other-policy"),
            zone: Some(ZONE)
        }
    )
    .is_err());
    assert!(reveal(
        &private,
        &p.request,
        pii_core::reveal::Expect {
            policy: Some("test"),
            zone: Some("eu-west")
        }
    )
    .is_err());
}

#[test]
fn unselected_bytes_are_copied_exactly() {
    let private = keys();
    let e = engine(ENCRYPT_EMAIL, &private);
    let body = "{ \"z\" : 1.50e+3,\n  \"user\": {\"email\": \"erika@example.de\", \"n\": \"caf\\u00e9\"},\t\"big\": 123456789012345678901234567890 }";
    let p = protected(e.apply(&json_req(body)));
    let out = String::from_utf8(p.request.body).expect("utf8");
    let (before, rest) = body.split_once("\"erika@example.de\"").expect("split");
    assert!(out.starts_with(before));
    let tail = rest;
    assert!(out.ends_with(tail), "{out}");
}

#[test]
fn mask_tokenize_hash_redact() {
    let private = keys();
    let e = engine(
        "rules:\n  - select: { json: $.card }\n    action: mask\n    keepLast: 4\n  - select: { json: $.email }\n    action: tokenize\n    domain: email\n  - select: { json: $.id }\n    action: hash\n  - select: { json: $.cvv }\n    action: redact\n  - select: { json: $.note }\n    action: redact\n    replaceWith: { removed: true }\n",
        &private,
    );
    let p = protected(e.apply(&json_req(
        r#"{"card":"4111111111111111","email":"erika@example.de","id":42,"cvv":"123","note":"x"}"#,
    )));
    let v = body_json(&p);
    assert_eq!(v["card"], "************1111");
    assert!(v["email"]
        .as_str()
        .expect("token")
        .starts_with("tk1.email."));
    assert!(v["id"].as_str().expect("hash").starts_with("sha256:"));
    assert!(v.get("cvv").is_none());
    assert_eq!(v["note"], json!({"removed": true}));

    // Equal values give equal tokens; escaped and plain spellings are the same value.
    let p2 = protected(e.apply(&json_req(r#"{"email":"erika\u0040example.de"}"#)));
    assert_eq!(body_json(&p2)["email"], v["email"]);
}

#[test]
fn removals_keep_json_valid_and_locations_follow() {
    let private = keys();
    let e = engine(
        "rules:\n  - select: { json: '$.items[0]' }\n    action: redact\n  - select: { json: '$.items[2].card' }\n    action: encrypt\n",
        &private,
    );
    let body = r#"{"items":[{"card":"1"},{"card":"2"},{"card":"3"}]}"#;
    let p = protected(e.apply(&json_req(body)));
    let v = body_json(&p);
    assert_eq!(v["items"].as_array().expect("items").len(), 2);
    let opened = reveal(
        &private,
        &p.request,
        pii_core::reveal::Expect {
            policy: Some("test"),
            zone: Some(ZONE),
        },
    )
    .expect("opens at its new place");
    let ov: Value = serde_json::from_slice(&opened.request.body).expect("json");
    assert_eq!(ov, json!({"items":[{"card":"2"},{"card":"3"}]}));
}

#[test]
fn outer_selection_wins() {
    let private = keys();
    let e = engine(
        "rules:\n  - select: { json: '$..email' }\n    action: mask\n  - select: { json: '$.user' }\n    action: encrypt\n",
        &private,
    );
    let p = protected(e.apply(&json_req(r#"{"user":{"email":"a@b.de"},"email":"c@d.de"}"#)));
    let v = body_json(&p);
    assert!(v["user"].as_str().expect("sealed").starts_with("pe2."));
    assert_eq!(v["email"], "******");
}

#[test]
fn fail_closed_paths() {
    let private = keys();
    let e = engine(ENCRYPT_EMAIL, &private);
    let ok = r#"{"user":{"email":"erika@example.de"}}"#;
    let cases: Vec<(Request, u16, &str)> = vec![
        (
            json_req(ok).with_body_truncated(true),
            413,
            "body-truncated",
        ),
        (
            json_req(r#"{"user": {"email": "x@y.de","#),
            400,
            "malformed-json",
        ),
        (
            json_req(r#"{"user":{"email":"a@x.de","email":"b@x.de"}}"#),
            400,
            "duplicate-key",
        ),
        (
            json_req(r#"{"user":{"email":"a@x.de","em\u0061il":"b@x.de"}}"#),
            400,
            "duplicate-key",
        ),
        (
            json_req(&format!("{}1{}", "[".repeat(100), "]".repeat(100))),
            400,
            "too-deep",
        ),
        (json_req(r#"{"n": 1e400}"#), 400, "malformed-json"),
        (json_req("\u{feff}{}"), 400, "malformed-json"),
        (json_req(r#"{"s": "\ud800"}"#), 400, "malformed-json"),
        (
            json_req(ok).with_header("Content-Encoding", "gzip"),
            415,
            "content-encoding",
        ),
        (
            Request::new("POST", "/api/users").with_body(ok.as_bytes().to_vec()),
            415,
            "missing-content-type",
        ),
        (
            Request::new("POST", "/api/users")
                .with_header("content-type", "text/plain")
                .with_body(ok.as_bytes().to_vec()),
            415,
            "unsupported-media-type",
        ),
        (
            Request::new("POST", "/api/users")
                .with_header("content-type", "application/json; charset=utf-16")
                .with_body(ok.as_bytes().to_vec()),
            415,
            "unsupported-charset",
        ),
        (
            json_req(ok).with_header("content-type", "application/json"),
            415,
            "missing-content-type",
        ),
    ];
    for (req, status, code) in cases {
        let r = rejected(e.apply(&req));
        assert_eq!((r.status, r.reason.code()), (status, code), "{req:?}");
        assert!(!r.reason.to_string().contains("example.de"));
    }
    let mut invalid_utf8 = br#"{"user":{"email":""#.to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe]);
    invalid_utf8.extend_from_slice(br#""}}"#);
    let r = rejected(e.apply(&json_req("").with_body(invalid_utf8)));
    assert_eq!(r.status, 400);
}

#[test]
fn content_type_variants_are_accepted() {
    let private = keys();
    let e = engine(ENCRYPT_EMAIL, &private);
    for ct in [
        "application/json",
        "Application/JSON; charset=UTF-8",
        "application/json;charset=\"utf-8\"",
    ] {
        let req = Request::new("POST", "/api/users")
            .with_header("Content-Type", ct)
            .with_body(br#"{"user":{"email":"a@x.de"}}"#.to_vec());
        protected(e.apply(&req));
    }
}

#[test]
fn empty_body_and_unmatched_routes() {
    let private = keys();
    let e = engine(ENCRYPT_EMAIL, &private);
    let p = protected(e.apply(&Request::new("POST", "/api/users")));
    assert!(!p.body_changed);
    assert!(matches!(
        e.apply(&Request::new("POST", "/public/x")),
        Outcome::Unmatched
    ));
    // Spelling tricks reach the same route.
    let r = rejected(e.apply(&json_req("{").with_body_truncated(false)));
    assert_eq!(r.status, 400);
    let mut sneaky = json_req(r#"{"user":{"email":"a@x.de"}}"#);
    sneaky.path = "/%61pi//users/".into();
    assert!(!String::from_utf8_lossy(&protected(e.apply(&sneaky)).request.body).contains("a@x.de"));
}

#[test]
fn action_that_does_not_fit() {
    let private = keys();
    let e = engine(
        "rules:\n  - select: { json: $.user }\n    action: mask\n",
        &private,
    );
    let r = rejected(e.apply(&json_req(r#"{"user":{"email":"a@x.de"}}"#)));
    assert_eq!(r.status, 422);
    let e = engine(
        "onError: remove\nrules:\n  - select: { json: $.user }\n    action: mask\n",
        &private,
    );
    let p = protected(e.apply(&json_req(r#"{"user":{"email":"a@x.de"},"k":1}"#)));
    assert_eq!(body_json(&p), json!({"k": 1}));
    assert!(p.fields[0].failed && p.fields[0].removed);
    let e = engine(
        "rules:\n  - select: { json: $ }\n    action: redact\n",
        &private,
    );
    assert_eq!(rejected(e.apply(&json_req("{}"))).status, 422);
}

#[test]
fn query_form_header_cookie() {
    let private = keys();
    let e = engine(
        "rules:\n  - select: { query: email }\n    action: encrypt\n  - select: { form: card }\n    action: mask\n    keepLast: 4\n  - select: { form: cvv }\n    action: redact\n  - select: { header: x-national-id }\n    action: encrypt\n  - select: { cookie: tracking }\n    action: redact\n",
        &private,
    );
    let req = Request::new("POST", "/api/checkout")
        .with_query("%65mail=erika%40example.de&q=shoes&EMAIL=second%40example.de")
        .with_header("Content-Type", "application/x-www-form-urlencoded")
        .with_header("X-National-ID", "DE-123456789")
        .with_header("x-national-id", "DE-987654321")
        .with_header("Cookie", "session=abc; tracking=erika%40example.de")
        .with_body(b"card=4111111111111111&cvv=123&name=Erika+M".to_vec());
    let p = protected(e.apply(&req));
    let dump = format!(
        "{} {} {:?}",
        p.request.query,
        String::from_utf8_lossy(&p.request.body),
        p.request.headers
    );
    for secret in [
        "erika",
        "second",
        "123456789",
        "987654321",
        "4111111111111111",
        "cvv",
    ] {
        assert!(!dump.contains(secret), "{secret} in {dump}");
    }
    assert!(p.request.query.contains("&q=shoes&"));
    assert_eq!(
        String::from_utf8_lossy(&p.request.body),
        "card=%2A%2A%2A%2A%2A%2A%2A%2A%2A%2A%2A%2A1111&name=Erika+M"
    );
    assert_eq!(p.request.header("cookie"), Some("session=abc"));
    assert_eq!(p.fields.len(), 7);
    let opened = reveal(
        &private,
        &p.request,
        pii_core::reveal::Expect {
            policy: Some("test"),
            zone: Some(ZONE),
        },
    )
    .expect("reveal");
    assert_eq!(opened.opened(), 4);
    assert!(opened.request.query.contains("erika%40example.de"));
    let ids: Vec<&str> = opened.request.header_values("x-national-id").collect();
    assert_eq!(ids, ["DE-123456789", "DE-987654321"]);
}

#[test]
fn json_under_a_form_content_type_is_refused() {
    let private = keys();
    let e = engine(
        "rules:\n  - select: { form: email }\n    action: encrypt\n",
        &private,
    );
    let req = Request::new("POST", "/api/x")
        .with_header("Content-Type", "application/x-www-form-urlencoded")
        .with_body(br#"{"email":"erika@example.de"}"#.to_vec());
    assert_eq!(rejected(e.apply(&req)).reason, RejectReason::MalformedForm);
}

#[test]
fn reports_and_debug_never_hold_values() {
    let private = keys();
    let e = engine(ENCRYPT_EMAIL, &private);
    let p = protected(e.apply(&json_req(r#"{"user":{"email":"erika@example.de"}}"#)));
    let debug = format!("{p:?} {:?} {:?}", private, e);
    assert!(!debug.contains("erika"), "{debug}");
}

// ---- property tests ---------------------------------------------------------------------

fn arb_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-zA-Z0-9@. ]{0,12}".prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
        (-1.0e6f64..1.0e6).prop_map(Value::from),
    ]
}

fn arb_doc() -> impl Strategy<Value = Value> {
    arb_scalar().prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
            prop::collection::btree_map("[a-e]{1,2}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Unique marker strings planted at selected places, so "no plaintext" is checkable.
fn plant(doc: &mut Value, n: &mut usize) {
    match doc {
        Value::Object(m) => {
            for v in m.values_mut() {
                plant(v, n);
            }
            *n += 1;
            m.insert("secret".into(), Value::from(format!("PLAINTEXT-{n}-MARK")));
        }
        Value::Array(a) => a.iter_mut().for_each(|v| plant(v, n)),
        _ => {}
    }
}

fn strip(doc: &Value) -> Value {
    match doc {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| *k != "secret")
                .map(|(k, v)| (k.clone(), strip(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
        v => v.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// (a) no selected plaintext anywhere in the output, (b) every unselected value unchanged,
    /// (c) encrypted values open to the original, with their type.
    #[test]
    fn invariants_hold_for_generated_documents(mut doc in arb_doc(), action in 0..3usize) {
        prop_assume!(doc.is_object() || doc.is_array());
        let mut n = 0;
        plant(&mut doc, &mut n);
        let private = keys();
        let rules = match action {
            0 => "rules:\n  - select: { json: '$..secret' }\n    action: encrypt\n",
            1 => "rules:\n  - select: { json: '$..secret' }\n    action: redact\n",
            _ => "rules:\n  - select: { json: '$..secret' }\n    action: tokenize\n    domain: email\n",
        };
        let e = engine(rules, &private);
        let body = serde_json::to_string_pretty(&doc).expect("json");
        let p = protected(e.apply(&json_req(&body)));
        let out = String::from_utf8(p.request.body.clone()).expect("utf8");
        prop_assert!(!out.contains("PLAINTEXT-"), "plaintext leaked");
        let out_v: Value = serde_json::from_str(&out).expect("valid JSON out");
        // Compare with the input as parsed from the same text (serde_json's float parsing is
        // not an exact inverse of its printing; our output copies the bytes anyway).
        let in_v: Value = serde_json::from_str(&body).expect("json");
        prop_assert_eq!(strip(&out_v), strip(&in_v));
        if action == 0 {
            let opened = reveal(&private, &p.request, pii_core::reveal::Expect { policy: Some("test"), zone: Some(ZONE) }).expect("reveal");
            prop_assert_eq!(String::from_utf8(opened.request.body).expect("utf8"), body);
        }
    }

    /// Any JSON value type round-trips through encrypt and reveal byte for byte.
    #[test]
    fn reversible_round_trip_with_type(v in arb_doc()) {
        let private = keys();
        let e = engine("rules:\n  - select: { json: '$.v' }\n    action: encrypt\n", &private);
        let body = format!("{{\"v\": {}, \"w\": 1}}", v);
        let p = protected(e.apply(&json_req(&body)));
        let opened = reveal(&private, &p.request, pii_core::reveal::Expect { policy: Some("test"), zone: Some(ZONE) }).expect("reveal");
        prop_assert_eq!(String::from_utf8(opened.request.body).expect("utf8"), body);
    }
}

/// The recipient block of an envelope (version..counter): equal blocks mean one encapsulation.
fn recipient_block(envelope: &str) -> Vec<u8> {
    use base64::Engine as _;
    let bin = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(envelope.trim_start_matches("pe2."))
        .expect("base64");
    // version, kind, zone len + zone, count, count * 88 bytes.
    let zone_len = bin[2] as usize;
    let count = bin[3 + zone_len] as usize;
    bin[3 + zone_len..4 + zone_len + 88 * count].to_vec()
}

#[test]
fn one_encapsulation_per_request_without_reuse_and_bounded_reuse_with_it() {
    use pii_core::danger::Reuse;
    use std::time::Duration;
    let private = keys();
    let req = json_req(r#"{"user":{"email":"erika@example.de"}}"#);
    let sealed = |e: &Engine| {
        let p = protected(e.apply(&req));
        let v = body_json(&p);
        (p, v["user"]["email"].as_str().expect("sealed").to_string())
    };

    // Default: every request has its own data key and encapsulations.
    let e = engine(ENCRYPT_EMAIL, &private);
    let (_, a) = sealed(&e);
    let (_, b) = sealed(&e);
    assert_ne!(recipient_block(&a), recipient_block(&b));

    // Reuse: the same encapsulation serves several requests, up to max_fields.
    let e = engine(ENCRYPT_EMAIL, &private).with_reused_data_key_hazard(Reuse {
        max_age: Duration::from_secs(300),
        max_fields: 3,
    });
    let blocks: Vec<Vec<u8>> = (0..5)
        .map(|_| {
            let (p, env) = sealed(&e);
            let opened = reveal(
                &private,
                &p.request,
                pii_core::reveal::Expect {
                    policy: Some("test"),
                    zone: Some(ZONE),
                },
            )
            .expect("opens");
            assert_eq!(opened.request.body, req.body);
            recipient_block(&env)
        })
        .collect();
    assert_eq!(blocks[0], blocks[1]);
    assert_eq!(blocks[1], blocks[2]);
    assert_ne!(blocks[2], blocks[3], "a new data key after max_fields");
    assert_eq!(blocks[3], blocks[4]);

    // max_age: an expired sealer is replaced.
    let e = engine(ENCRYPT_EMAIL, &private).with_reused_data_key_hazard(Reuse {
        max_age: Duration::ZERO,
        max_fields: 1_000,
    });
    let (_, a) = sealed(&e);
    let (_, b) = sealed(&e);
    assert_ne!(recipient_block(&a), recipient_block(&b));
}
