//! The receipt test vectors of `docs/vectors/receipts/`: one test case per file, each verified
//! with the `expect`ed outcome (`valid`, or the error code; expected failures are named
//! `fail_*`). `PII_EDGE_REGENERATE=1 cargo test -p pii-core --test receipt_vectors` rewrites
//! them from the demo signing key below (Ed25519 is deterministic: the same files come out).

use std::path::PathBuf;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use pii_core::receipt::{
    verify_receipt, ReceiptFacts, ReceiptKeys, ReceiptRequest, ReceiptSigner, SubjectId, HEADER_KEY,
};
use serde_json::{json, Value};

/// The demo signing key of the vectors (RFC 8032 §7.1 TEST 1's seed). Never use it.
const SIGNING_JWK: &str = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","created":1700000000}"#;
/// Another key, for "unknown key".
const OTHER_JWK: &str = r#"{"kty":"OKP","crv":"Ed25519","x":"PUAXw-hDiVqStwqnTRt-vJyYLM8uxJaMwM1V8Sr0Zgw","d":"TM0Imyj_ltqdtsNG7BFOD1uKMZ81q6Yk2oz27U-4pvs"}"#;

/// The verified identity of the `protected_subject` vector.
const ISSUER: &str = "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_Example";
const SUBJECT: &str = "7d6c0e52-1f0a-4c1b-9d7e-2b8f4a1c3e90";

const ISSUED: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const MAX_AGE: u64 = 300;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/vectors/receipts")
}

struct Case {
    name: &'static str,
    description: &'static str,
    receipt: Option<String>,
    method: &'static str,
    target: &'static str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    now: u64,
    expect: &'static str,
    /// The verified identity a valid receipt reports, `(iss, sub)` (member `subject`).
    subject: Option<(&'static str, &'static str)>,
}

fn h(n: &str, v: &str) -> (String, String) {
    (n.to_owned(), v.to_owned())
}

fn cases() -> Vec<Case> {
    let signer = ReceiptSigner::from_jwk(SIGNING_JWK).expect("demo key");
    let other = ReceiptSigner::from_jwk(OTHER_JWK).expect("other key");
    let body =
        br#"{"user":{"email":"pe2.AAAAexample","name":"pe2.BBBBexample"},"plan":"pro"}"#.to_vec();
    let edge_headers = vec![
        h("Host", "api.example.com"),
        h("Content-Type", "application/json"),
        h("X-National-Id", "pe2.CCCCexample"),
        h("Cookie", "session=pe2.DDDDexample"),
        h("Cookie", "theme=dark"),
    ];
    let bound = vec!["x-national-id".to_owned(), "cookie".to_owned()];
    let locations = vec![
        "json:$['user']['email']".to_owned(),
        "json:$['user']['name']".to_owned(),
        "header:x-national-id".to_owned(),
        "cookie:session".to_owned(),
    ];
    let facts = ReceiptFacts {
        policy: Some("signup"),
        zone: Some("eu-central"),
        method: "POST",
        target: "/api/users?lang=de",
        body: Some(&body),
        headers: &edge_headers,
        bound_headers: &bound,
        locations: &locations,
        request_id: Some("hK3x9Qm2VbT7yLs0wPq4NcZr8UeJ1aFdG5oXvS6iMtYbE2kRnA7uWg=="),
        subject: None,
    };
    let protected = signer.sign(&facts, ISSUED);
    let with_subject = signer.sign(
        &ReceiptFacts {
            subject: Some(SubjectId {
                iss: ISSUER,
                sub: SUBJECT,
            }),
            ..facts
        },
        ISSUED,
    );
    // What an origin framework gives: repeated cookies joined, other headers added on the way.
    let origin_headers = vec![
        h("host", "origin.eu-central-1.example.com"),
        h("content-type", "application/json"),
        h("x-national-id", "pe2.CCCCexample"),
        h("cookie", "session=pe2.DDDDexample; theme=dark"),
        h("x-forwarded-for", "203.0.113.1"),
        h("via", "2.0 abc.cloudfront.net (CloudFront)"),
    ];
    let unmatched_facts = ReceiptFacts {
        policy: None,
        zone: None,
        method: "GET",
        target: "/health",
        body: None,
        headers: &[],
        bound_headers: &[],
        locations: &[],
        request_id: None,
        subject: None,
    };
    let unmatched = signer.sign(&unmatched_facts, ISSUED);
    let (head, rest) = protected.split_once('.').expect("jws");
    let (payload, signature) = rest.split_once('.').expect("jws");
    let alg_none = format!(
        "{}.{payload}.",
        URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","kid":"{}"}}"#, signer.kid()))
    );
    let mut sig = URL_SAFE_NO_PAD.decode(signature).expect("sig");
    sig[0] ^= 1;
    let bad_signature = format!("{head}.{payload}.{}", URL_SAFE_NO_PAD.encode(sig));
    let with = |receipt: &str| Some(receipt.to_owned());
    let base = |name, description, receipt: Option<String>, expect| Case {
        name,
        description,
        receipt,
        method: "POST",
        target: "/api/users?lang=de",
        headers: origin_headers.clone(),
        body: body.clone(),
        now: ISSUED + 30,
        expect,
        subject: None,
    };
    let mut out = vec![
        base(
            "protected",
            "A protected request as the origin receives it: repeated cookies joined by the framework, headers added on the way that the receipt does not bind.",
            with(&protected),
            "valid",
        ),
        Case {
            name: "unmatched_no_body",
            description: "A request no policy matched, whose body the edge did not see: valid for an empty body.",
            receipt: with(&unmatched),
            method: "GET",
            target: "/health",
            headers: vec![h("host", "origin.example.com")],
            body: Vec::new(),
            now: ISSUED,
            expect: "valid",
            subject: None,
        },
        Case {
            name: "fail_unseen_body_not_empty",
            description: "The edge did not see a body, but the request has one.",
            receipt: with(&unmatched),
            method: "GET",
            target: "/health",
            headers: vec![],
            body: b"x".to_vec(),
            now: ISSUED,
            expect: "body",
            subject: None,
        },
        Case {
            subject: Some((ISSUER, SUBJECT)),
            ..base(
                "protected_subject",
                "A protected request on which the edge verified the viewer's identity token: the receipt carries the token's issuer and subject (sub_id, RFC 9493 iss_sub).",
                with(&with_subject),
                "valid",
            )
        },
        base("fail_missing", "No receipt header: sent around the edge.", None, "missing"),
        base(
            "fail_expired",
            "Replayed after max_age (300 s).",
            with(&protected),
            "expired",
        ),
        base(
            "fail_from_the_future",
            "Issued more than 60 s after `now`.",
            with(&protected),
            "from-the-future",
        ),
        base(
            "fail_body",
            "The body was changed after the edge (a plaintext value put back).",
            with(&protected),
            "body",
        ),
        base(
            "fail_method",
            "The receipt moved onto a request with another method.",
            with(&protected),
            "method",
        ),
        base(
            "fail_target",
            "The receipt moved onto another query.",
            with(&protected),
            "target",
        ),
        base(
            "fail_headers",
            "A protected header carries plaintext instead of the envelope the edge forwarded.",
            with(&protected),
            "headers",
        ),
        base(
            "fail_header_added",
            "A second value of a protected header added after the edge.",
            with(&protected),
            "headers",
        ),
        base(
            "fail_unknown_key",
            "Signed by a key the origin does not hold.",
            Some(other.sign(&facts, ISSUED)),
            "unknown-key",
        ),
        base(
            "fail_bad_signature",
            "One bit of the signature flipped.",
            Some(bad_signature),
            "bad-signature",
        ),
        base(
            "fail_alg_none",
            "An unsigned JWS (alg none) is never accepted.",
            Some(alg_none),
            "malformed",
        ),
    ];
    for case in &mut out {
        match case.name {
            "fail_expired" => case.now = ISSUED + MAX_AGE + 1,
            "fail_from_the_future" => case.now = ISSUED - 61,
            "fail_body" => case.body =
                br#"{"user":{"email":"erika@example.de","name":"pe2.BBBBexample"},"plan":"pro"}"#
                    .to_vec(),
            "fail_method" => case.method = "PUT",
            "fail_target" => case.target = "/api/users?lang=fr",
            "fail_headers" => case.headers[2].1 = "DE-123456789".to_owned(),
            "fail_header_added" => case.headers.push(h("X-National-Id", "DE-123456789")),
            _ => {}
        }
    }
    out
}

fn to_json(case: &Case, keys: &str) -> String {
    let mut headers: Vec<Value> = case.headers.iter().map(|(n, v)| json!([n, v])).collect();
    if let Some(r) = &case.receipt {
        headers.push(json!([HEADER_KEY, r]));
    }
    let mut value = json!({
        "description": case.description,
        "keys": serde_json::from_str::<Value>(keys).expect("keys"),
        "now": case.now,
        "maxAge": MAX_AGE,
        "request": {
            "method": case.method,
            "target": case.target,
            "headers": headers,
            "body": STANDARD.encode(&case.body),
        },
        "expect": case.expect,
    });
    if let Some((iss, sub)) = case.subject {
        value["subject"] = json!({"iss": iss, "sub": sub});
    }
    let mut text = serde_json::to_string_pretty(&value).expect("json");
    text.push('\n');
    text
}

fn check(name: &str, text: &str) {
    let v: Value = serde_json::from_str(text).expect("vector json");
    let keys = ReceiptKeys::from_jwks(&v["keys"].to_string()).expect("keys");
    let r = &v["request"];
    let headers: Vec<(String, String)> = r["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .map(|p| {
            (
                p[0].as_str().expect("name").to_owned(),
                p[1].as_str().expect("value").to_owned(),
            )
        })
        .collect();
    let body = STANDARD
        .decode(r["body"].as_str().expect("body"))
        .expect("b64");
    let request = ReceiptRequest {
        method: r["method"].as_str().expect("method"),
        target: r["target"].as_str().expect("target"),
        headers: &headers,
        body: &body,
    };
    let got = verify_receipt(
        &request,
        &keys,
        v["maxAge"].as_u64().expect("maxAge"),
        v["now"].as_u64().expect("now"),
    );
    let code = match &got {
        Ok(_) => "valid",
        Err(e) => e.code(),
    };
    assert_eq!(code, v["expect"], "{name}: {got:?}");
    if let Ok(receipt) = &got {
        let expected = v.get("subject").map(|s| {
            (
                s["iss"].as_str().expect("iss").to_owned(),
                s["sub"].as_str().expect("sub").to_owned(),
            )
        });
        assert_eq!(receipt.subject, expected, "{name}: subject");
    }
    assert_eq!(name.starts_with("fail_"), code != "valid", "{name}");
}

#[test]
fn receipt_vectors() {
    let signer = ReceiptSigner::from_jwk(SIGNING_JWK).expect("demo key");
    let keys = format!("{{\"keys\":[{}]}}", signer.public_jwk());
    let cases = cases();
    if std::env::var_os("PII_EDGE_REGENERATE").is_some() {
        std::fs::create_dir_all(dir()).expect("dir");
        for case in &cases {
            std::fs::write(
                dir().join(format!("{}.json", case.name)),
                to_json(case, &keys),
            )
            .expect("write");
        }
    }
    let mut seen = 0;
    for entry in std::fs::read_dir(dir()).expect("docs/vectors/receipts") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("name")
            .to_owned();
        let text = std::fs::read_to_string(&path).expect("read");
        check(&name, &text);
        if let Some(case) = cases.iter().find(|c| c.name == name) {
            assert_eq!(
                text,
                to_json(case, &keys),
                "{name} differs from what the code writes"
            );
        }
        seen += 1;
    }
    assert_eq!(seen, cases.len(), "one file per case");
}
