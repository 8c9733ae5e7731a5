//! Zone and subject from a verified identity token (issue 22), against tokens minted by a real
//! JWT library: `tests/identity/mint.py` (PyJWT with `cryptography`, installed by
//! `scripts/requirements.txt`) makes fresh keys of every algorithm the edge verifies, the
//! issuers' JWK Sets, good tokens and the classic attacks. Each goes through the handler as a
//! viewer-request event; a good token seals to the zone its claim names (never the viewer's
//! header), every attack is refused with the expected problem response.

use std::process::Command;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use edge_fn::{bundle::Edge, handler::handle_value, log::MemorySink};
use serde_json::{json, Value};

fn minted() -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/identity/mint.py");
    let out = Command::new("python3")
        .arg(script)
        .output()
        .expect("python3 runs (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "mint.py failed (install PyJWT: pip install -r scripts/requirements.txt): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("mint.py prints JSON")
}

fn edge(minted: &Value, log: Arc<MemorySink>) -> Edge {
    let central =
        pii_core::keys::PrivateKey::generate("eu-central", "eu-central-1", 1).expect("key");
    let west = pii_core::keys::PrivateKey::generate("eu-west", "eu-west-1", 1).expect("key");
    let jwk = |k: &pii_core::keys::PrivateKey| -> Value {
        serde_json::from_str(&k.public().to_jwk()).expect("jwk")
    };
    let issuers: Vec<Value> = minted["issuers"]
        .as_object()
        .expect("issuers")
        .iter()
        .map(|(iss, i)| json!({"issuer": iss, "audiences": [i["audience"]], "jwks": i["jwks"]}))
        .collect();
    let receipt = pii_core::receipt::ReceiptSigner::generate(1).expect("receipt key");
    let bundle = json!({
        "policies": [{"apiVersion": "pii-edge/v1", "name": "profile",
                      "match": {"paths": ["/api/profile", "/api/search"]},
                      "rules": [{"select": {"header": "x-email"}, "action": "encrypt"}]}],
        "keys": {"keys": [jwk(&central), jwk(&west)]},
        "receipt": serde_json::from_str::<Value>(&receipt.to_jwk()).expect("jwk"),
        "residency": {"apiVersion": "pii-edge/v1", "kind": "Residency",
            "zones": {"eu-central": {"regions": ["eu-central-1"]},
                      "eu-west": {"regions": ["eu-west-1"]}},
            "resolve": [{"header": {"name": "x-account-country"}}],
            "countries": {"DE": "eu-central", "IE": "eu-west"},
            "identity": {"issuers": issuers, "zoneClaim": "custom:residency",
                         "required": ["/api/profile"], "leewaySeconds": 60}}
    });
    let edge = Edge::from_bundle_with_log(&bundle.to_string(), log);
    assert!(edge.is_ready(), "the bundle loads");
    edge
}

fn event(path: &str, token: Option<&str>, country: Option<&str>) -> Value {
    let mut headers = json!({"x-email": [{"key": "X-Email", "value": "erika@example.de"}]});
    if let Some(token) = token {
        headers["authorization"] =
            json!([{"key": "Authorization", "value": format!("Bearer {token}")}]);
    }
    if let Some(country) = country {
        headers["x-account-country"] = json!([{"key": "X-Account-Country", "value": country}]);
    }
    json!({"Records": [{"cf": {"config": {"distributionId": "E", "eventType": "viewer-request",
        "requestId": "r1"},
        "request": {"clientIp": "203.0.113.1", "method": "GET", "uri": path, "querystring": "",
                    "headers": headers}}}]})
}

fn receipt_payload(out: &Value) -> Value {
    let value = out["headers"]["x-pii-edge-receipt"][0]["value"]
        .as_str()
        .expect("a receipt");
    let payload = value.split('.').nth(1).expect("jws");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json")
}

#[test]
fn tokens_from_a_real_library_route_by_their_claim_and_every_attack_is_refused() {
    let minted = minted();
    let log = Arc::new(MemorySink::default());
    let edge = edge(&minted, log.clone());
    let cases = minted["cases"].as_array().expect("cases");
    assert!(cases.len() >= 40);
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let expect = &case["expect"];
        let out = handle_value(
            &edge,
            event(
                case["path"].as_str().expect("path"),
                case["token"].as_str(),
                case["country"].as_str(),
            ),
        );
        let status = out["status"]
            .as_str()
            .map_or(200, |s| s.parse::<u64>().expect("status"));
        if status != expect["status"].as_u64().expect("status") {
            failures.push(format!(
                "{name}: status {status}, expected {}: {out}",
                expect["status"]
            ));
            continue;
        }
        if status == 200 {
            // Sealed to the zone the token names (or the viewer's, on an open route without
            // one): the stamp and the signed receipt say which, and the value is an envelope.
            let zone = out["headers"]["x-pii-edge-zone"][0]["value"].as_str();
            if zone != expect["zone"].as_str() {
                failures.push(format!(
                    "{name}: sealed to {zone:?}, expected {}",
                    expect["zone"]
                ));
            }
            let email = out["headers"]["x-email"][0]["value"].as_str().unwrap_or("");
            if !email.starts_with("pe") || email.contains("erika") {
                failures.push(format!("{name}: x-email not sealed"));
            }
            let receipt = receipt_payload(&out);
            assert_eq!(receipt["zone"].as_str(), zone, "{name}");
            match case["token"].as_str() {
                Some(_) => {
                    let sub_id = &receipt["sub_id"];
                    if sub_id["format"] != "iss_sub" || sub_id["sub"] != "user-1" {
                        failures.push(format!("{name}: receipt sub_id {sub_id}"));
                    }
                }
                None => assert!(receipt.get("sub_id").is_none(), "{name}"),
            }
        } else {
            let body: Value =
                serde_json::from_str(out["body"].as_str().expect("problem body")).expect("json");
            let code = expect["code"].as_str().expect("code");
            if body["type"] != format!("https://pii-edge.dev/problems/{code}") {
                failures.push(format!("{name}: {} instead of {code}", body["type"]));
            }
            let detail = body["detail"].as_str().unwrap_or("");
            // The reason, not only the category: an attack refused for another reason (a
            // forged signature failing after an algorithm check that did not run) would hide
            // a missing check.
            if let Some(reason) = expect["detail"].as_str() {
                if !detail.contains(reason) {
                    failures.push(format!("{name}: `{detail}` does not say `{reason}`"));
                }
            }
            if code == "token-key-unknown" && !detail.contains("stale") {
                failures.push(format!(
                    "{name}: the detail does not say the key set is stale"
                ));
            }
            if status == 401 {
                let challenge = out["headers"]["www-authenticate"][0]["value"]
                    .as_str()
                    .unwrap_or("");
                if !challenge.starts_with("Bearer") {
                    failures.push(format!("{name}: no WWW-Authenticate: Bearer"));
                }
            }
            // Nothing of the token or the value in the answer.
            let text = out.to_string();
            if text.contains("erika")
                || case["token"]
                    .as_str()
                    .is_some_and(|t| t.len() > 20 && text.contains(t))
            {
                failures.push(format!("{name}: the answer quotes the request"));
            }
        }
    }
    // The log lines carry no token, subject or value.
    for line in log.lines() {
        assert!(
            !line.contains("erika") && !line.contains("user-1") && !line.contains("eyJ"),
            "{line}"
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn a_package_without_the_issuer_key_set_does_not_load() {
    let mut minted = minted();
    minted["issuers"]
        .as_object_mut()
        .expect("issuers")
        .values_mut()
        .for_each(|i| {
            i["jwks"] = json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]});
        });
    let edge = Edge::from_bundle_with_log(
        &{
            let central = pii_core::keys::PrivateKey::generate("eu-central", "eu-central-1", 1).expect("key");
            json!({
                "policies": [{"apiVersion": "pii-edge/v1", "name": "p", "match": {"paths": ["/x"]},
                              "rules": [{"select": {"header": "x-email"}, "action": "encrypt"}]}],
                "keys": {"keys": [serde_json::from_str::<Value>(&central.public().to_jwk()).expect("jwk")]},
                "residency": {"apiVersion": "pii-edge/v1", "kind": "Residency",
                    "zones": {"eu-central": {"regions": ["eu-central-1"]}}, "resolve": [],
                    "default": "eu-central",
                    "identity": {"issuers": [{"issuer": "https://idp-a.example/pool-1",
                        "audiences": ["app-a"], "jwks": minted["issuers"]["https://idp-a.example/pool-1"]["jwks"]}]}}
            })
        }
        .to_string(),
        Arc::new(MemorySink::default()),
    );
    assert!(
        !edge.is_ready(),
        "a shared secret in the package is refused"
    );
}
