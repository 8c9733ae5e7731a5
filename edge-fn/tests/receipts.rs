//! Receipts written by the handler: every forwarded example request carries one that verifies
//! against the request as forwarded, rejected requests carry none, a receipt a viewer sent is
//! replaced, and the receipt does not verify on a changed request.

mod support;

use std::sync::Arc;

use base64::Engine as _;
use edge_fn::bundle::Edge;
use edge_fn::log::MemorySink;
use pii_core::receipt::{
    verify_receipt, Receipt, ReceiptError, ReceiptKeys, ReceiptRequest, ReceiptSigner, HEADER,
};
use serde_json::Value;
use support::{event, Expect, EVENTS};

fn edge_with_receipts() -> (Edge, ReceiptKeys) {
    let bundle = std::fs::read_to_string(support::root().join("examples/bundle/bundle.json"))
        .expect("example bundle");
    let signer = ReceiptSigner::generate(1).expect("key");
    let keys = ReceiptKeys::from_jwks(&signer.public_jwk()).expect("public");
    let edge = Edge::from_bundle_with_log(&bundle, Arc::new(MemorySink::default()))
        .with_receipt_signer(signer);
    (edge, keys)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// The forwarded request as the origin receives it: method, target, headers, body bytes.
fn received(output: &Value) -> (String, String, Vec<(String, String)>, Vec<u8>) {
    let method = output["method"].as_str().expect("method").to_owned();
    let query = output["querystring"].as_str().unwrap_or("");
    let target = pii_core::receipt::target(output["uri"].as_str().expect("uri"), query);
    let mut headers = Vec::new();
    for (name, values) in output["headers"].as_object().expect("headers") {
        for v in values.as_array().expect("values") {
            headers.push((name.clone(), v["value"].as_str().expect("value").to_owned()));
        }
    }
    let body = match &output["body"] {
        Value::Object(b) if b["encoding"] == "base64" => base64::engine::general_purpose::STANDARD
            .decode(b["data"].as_str().expect("data"))
            .expect("base64"),
        Value::Object(b) => b["data"].as_str().expect("data").as_bytes().to_vec(),
        _ => Vec::new(),
    };
    (method, target, headers, body)
}

fn verify(output: &Value, keys: &ReceiptKeys) -> Result<Receipt, ReceiptError> {
    let (method, target, headers, body) = received(output);
    let request = ReceiptRequest {
        method: &method,
        target: &target,
        headers: &headers,
        body: &body,
    };
    verify_receipt(&request, keys, 60, now())
}

#[test]
fn every_forwarded_request_carries_a_receipt_that_verifies() {
    let (edge, keys) = edge_with_receipts();
    for (name, expect) in EVENTS {
        let output: Value =
            serde_json::from_str(&edge_fn::handle_json(&edge, &event(name))).expect("json");
        match expect {
            Expect::Rejected(..) => assert!(output["status"].is_string(), "{name}"),
            Expect::Protected => {
                let receipt = verify(&output, &keys).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(receipt.policy.is_some(), "{name}");
                assert!(!receipt.locations.is_empty(), "{name}");
            }
            Expect::Unchanged => {
                let receipt = verify(&output, &keys).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(receipt.policy, None, "{name}");
            }
        }
        if matches!(expect, Expect::Rejected(..)) {
            assert!(!output.to_string().contains(HEADER), "{name}");
        }
    }
}

#[test]
fn a_receipt_is_bound_to_its_request() {
    let (edge, keys) = edge_with_receipts();
    let output: Value =
        serde_json::from_str(&edge_fn::handle_json(&edge, &event("headers-cookie.json")))
            .expect("json");
    let receipt = verify(&output, &keys).expect("valid");
    assert!(
        !receipt.bound_headers.is_empty(),
        "the policy protects headers"
    );
    // Replace one protected header by a plaintext value: refused.
    let name = receipt.bound_headers[0].clone();
    let mut changed = output.clone();
    changed["headers"][&name][0]["value"] = Value::from("DE-123456789");
    assert_eq!(verify(&changed, &keys), Err(ReceiptError::Headers));
    // Another path: refused.
    let mut moved = output.clone();
    moved["uri"] = Value::from("/api/other");
    assert_eq!(verify(&moved, &keys), Err(ReceiptError::Target));

    let signup: Value =
        serde_json::from_str(&edge_fn::handle_json(&edge, &event("signup-json.json")))
            .expect("json");
    let mut tampered = signup.clone();
    tampered["body"]["data"] =
        Value::from(base64::engine::general_purpose::STANDARD.encode(br#"{"email":"x@y.z"}"#));
    assert_eq!(verify(&tampered, &keys), Err(ReceiptError::Body));
    // Another edge's key: refused.
    let other = ReceiptKeys::from_jwks(&ReceiptSigner::generate(1).expect("key").public_jwk())
        .expect("keys");
    assert!(matches!(
        verify(&signup, &other),
        Err(ReceiptError::UnknownKey { .. })
    ));
}

#[test]
fn a_receipt_sent_by_the_viewer_is_replaced() {
    let (edge, keys) = edge_with_receipts();
    let mut input: Value =
        serde_json::from_str(&event("viewer-request-aws-doc.json")).expect("json");
    input["Records"][0]["cf"]["request"]["headers"][HEADER] =
        serde_json::json!([{"key": "X-Pii-Edge-Receipt", "value": "forged"}]);
    let output: Value =
        serde_json::from_str(&edge_fn::handle_json(&edge, &input.to_string())).expect("json");
    assert_eq!(output["headers"][HEADER].as_array().map(Vec::len), Some(1));
    assert!(verify(&output, &keys).is_ok());
}

#[test]
fn without_a_receipt_key_no_receipt_is_added() {
    let bundle = std::fs::read_to_string(support::root().join("examples/bundle/bundle.json"))
        .expect("example bundle");
    let edge = Edge::from_bundle_with_log(&bundle, Arc::new(MemorySink::default()));
    let output = edge_fn::handle_json(&edge, &event("signup-json.json"));
    assert!(!output.contains(HEADER));
}

#[test]
fn a_bad_receipt_key_fails_closed() {
    let mut bundle: Value = serde_json::from_str(
        &std::fs::read_to_string(support::root().join("examples/bundle/bundle.json"))
            .expect("example bundle"),
    )
    .expect("json");
    let signer = ReceiptSigner::generate(1).expect("key");
    // The public half only: the edge cannot sign, so it refuses every request.
    bundle["receipt"] = serde_json::from_str(&signer.public_jwk()).expect("jwk");
    let edge = Edge::from_bundle_with_log(&bundle.to_string(), Arc::new(MemorySink::default()));
    assert!(!edge.is_ready());
    let err = edge_fn::bundle::load_bundle(&bundle.to_string()).expect_err("refused");
    assert!(err.to_string().contains("receipt signing key"), "{err}");
    let output: Value =
        serde_json::from_str(&edge_fn::handle_json(&edge, &event("signup-json.json")))
            .expect("json");
    assert_eq!(output["status"], "503");
}
