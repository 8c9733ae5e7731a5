//! The regional origin opens what the edge sealed: a sample event produced by the edge
//! function (committed, and produced fresh here), the region's key opens it, another zone's
//! region refuses it, a tampered one does not open, and no response carries plaintext.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use pii_edge_origin_example::Origin;
use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Run a CloudFront event through the edge function with the example bundle and turn the
/// request it forwards into the API Gateway HTTP API event the regional Lambda receives.
fn through_the_edge(event_file: &str) -> Value {
    let edge = edge_fn::bundle::Edge::from_bundle_with_log(
        &read("examples/bundle/bundle.json"),
        Arc::new(edge_fn::log::MemorySink::default()),
    );
    let out: Value = serde_json::from_str(&edge_fn::handler::handle_json(&edge, &read(event_file)))
        .expect("edge output");
    assert!(out.get("status").is_none(), "the edge rejected it: {out}");
    let mut headers = serde_json::Map::new();
    for (name, values) in out["headers"].as_object().expect("headers") {
        if let Some(v) = values[0]["value"].as_str() {
            headers.insert(name.clone(), json!(v));
        }
    }
    json!({
        "version": "2.0",
        "routeKey": "POST /api/users",
        "rawPath": out["uri"],
        "rawQueryString": out["querystring"],
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.eu-central-1.example.com",
            "domainPrefix": "api", "requestId": "r1", "routeKey": "POST /api/users", "stage": "$default",
            "time": "26/Nov/2026:23:00:00 +0000", "timeEpoch": 1795734000000_i64,
            "http": {"method": out["method"], "path": out["uri"], "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.1", "userAgent": "curl/8"}
        },
        "body": out["body"]["data"],
        "isBase64Encoded": out["body"]["encoding"] == "base64"
    })
}

fn origin(keys_file: &str) -> Origin {
    Origin::new(&read(keys_file), "eu-central", "signup").expect("origin")
}

fn call(origin: &Origin, event: &Value) -> (i64, String) {
    let event: ApiGatewayV2httpRequest =
        serde_json::from_value(event.clone()).expect("API Gateway v2 event");
    let response: ApiGatewayV2httpResponse = origin.handle(event);
    let body = match response.body {
        Some(Body::Text(t)) => t,
        _ => String::new(),
    };
    (response.status_code, body)
}

const SAMPLE: &str = "examples/origin/events/apigw-signup-protected.json";

/// Regenerate the committed sample: `cargo test -p pii-edge-origin-example -- --ignored`.
#[test]
#[ignore = "writes examples/origin/events/apigw-signup-protected.json"]
fn regenerate_the_sample() {
    let event = through_the_edge("examples/events/signup-json.json");
    let text = serde_json::to_string_pretty(&event).expect("json") + "\n";
    std::fs::write(root().join(SAMPLE), text).expect("write sample");
}

#[test]
fn the_committed_sample_from_the_edge_opens_in_its_region() {
    let sample: Value = serde_json::from_str(&read(SAMPLE)).expect("sample");
    assert!(
        !sample.to_string().contains("erika@example.de"),
        "the sample is protected"
    );
    let (status, body) = call(&origin("examples/keys/private.jwks"), &sample);
    assert_eq!(status, 201, "{body}");
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(body["opened"], 4);
    assert_eq!(body["emailLooksValid"], true);
}

#[test]
fn a_fresh_edge_output_opens_and_no_response_carries_plaintext() {
    let event = through_the_edge("examples/events/signup-json.json");
    let (status, body) = call(&origin("examples/keys/private.jwks"), &event);
    assert_eq!(status, 201, "{body}");
    for secret in ["erika@example.de", "Mustermann", "1234567", "Hauptstr"] {
        assert!(!body.contains(secret), "{secret} in the response");
    }
}

#[test]
fn a_region_of_another_zone_refuses_it() {
    let key = pii_core::keys::PrivateKey::generate("eu-west", "eu-west-1", 1).expect("key");
    let other = Origin::new(
        &format!("{{\"keys\":[{}]}}", key.to_jwk()),
        "eu-west",
        "signup",
    )
    .expect("origin");
    let event = through_the_edge("examples/events/signup-json.json");
    let (status, _) = call(&other, &event);
    assert_eq!(status, 403);
    // And it cannot start as a region of a zone it has no key for.
    assert!(Origin::new(
        &format!("{{\"keys\":[{}]}}", key.to_jwk()),
        "eu-central",
        "signup"
    )
    .is_err());
}

#[test]
fn tampered_or_misbound_envelopes_do_not_open() {
    let mut event = through_the_edge("examples/events/signup-json.json");
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let body = b64
        .decode(event["body"].as_str().expect("body"))
        .expect("base64");
    let mut doc: Value = serde_json::from_slice(&body).expect("json");
    // Swap two sealed fields: each is bound to its own location.
    let email = doc["user"]["email"].clone();
    doc["user"]["email"] = doc["user"]["phone"].clone();
    doc["user"]["phone"] = email;
    event["body"] = json!(b64.encode(doc.to_string()));
    let (status, body) = call(&origin("examples/keys/private.jwks"), &event);
    assert_eq!(status, 400, "{body}");
    // The right envelopes under another policy name do not open either.
    let event = through_the_edge("examples/events/signup-json.json");
    let wrong_policy = Origin::new(
        &read("examples/keys/private.jwks"),
        "eu-central",
        "payments",
    )
    .expect("origin");
    assert_eq!(call(&wrong_policy, &event).0, 400);
}
