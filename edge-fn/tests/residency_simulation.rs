//! The multi-region residency simulation (issue 6): every request is served by a region of its
//! own zone, no field opens in another zone, nothing is lost when a region stops mid-run.

#[path = "../examples/residency_simulation.rs"]
mod simulation;

#[test]
fn a_region_stops_mid_run_and_every_request_stays_in_its_zone() {
    let report = simulation::run(120, "eu-central-1", 40).expect("simulation runs");
    println!("{report}");
    assert_eq!(report.sent, 120);
    assert_eq!(report.lost, 0, "{report}");
    assert_eq!(report.misrouted, 0, "{report}");
    assert_eq!(report.plaintext_leaks, 0, "{report}");
    assert_eq!(report.opened_elsewhere, 0, "{report}");
    assert!(report.cross_zone_attempts >= 10, "{report}");
    assert!(
        report.failovers >= 1,
        "the stop must have been noticed: {report}"
    );
    // eu-central-1 served the first part, eu-central-2 took over; every region served someone.
    assert!(
        report.served.get("eu-central-1").copied().unwrap_or(0) > 0,
        "{report}"
    );
    assert!(
        report.served.get("eu-central-2").copied().unwrap_or(0) > 0,
        "{report}"
    );
    assert_eq!(report.served.values().sum::<usize>(), 120, "{report}");
}

#[test]
fn with_verified_tokens_the_token_decides_the_zone_not_the_viewer_header() {
    let report = simulation::run_with_tokens(120, "eu-central-1", 40).expect("simulation runs");
    println!("{report}");
    assert_eq!(report.sent, 120);
    assert_eq!(report.lost, 0, "{report}");
    assert_eq!(report.misrouted, 0, "{report}");
    assert_eq!(report.not_token_zone, 0, "{report}");
    assert_eq!(report.plaintext_leaks, 0, "{report}");
    assert_eq!(report.opened_elsewhere, 0, "{report}");
    assert!(report.cross_zone_attempts >= 10, "{report}");
    assert!(report.failovers >= 1, "{report}");
    assert_eq!(report.served.values().sum::<usize>(), 120, "{report}");
}

#[test]
fn a_viewer_cannot_choose_the_zone_stamp() {
    use edge_fn::{bundle::Edge, handler::handle_value, log::MemorySink};
    use serde_json::json;
    let key = pii_core::keys::PrivateKey::generate("eu-west", "eu-west-1", 1).expect("key");
    let bundle = json!({
        "policies": [{"apiVersion": "pii-edge/v1", "name": "p", "match": {"paths": ["/api/users"]},
                      "rules": [{"select": {"header": "x-ssn"}, "action": "encrypt"}]}],
        "keys": {"keys": [serde_json::from_str::<serde_json::Value>(&key.public().to_jwk()).expect("jwk")]},
        "residency": {"apiVersion": "pii-edge/v1", "kind": "Residency",
                      "zones": {"eu-west": {"regions": ["eu-west-1"]}},
                      "resolve": [{"header": {"name": "x-account-country"}}],
                      "countries": {"IE": "eu-west"},
                      "origins": {"eu-west-1": "api.eu-west-1.example"}}
    });
    let edge = Edge::from_bundle_with_log(
        &bundle.to_string(),
        std::sync::Arc::new(MemorySink::default()),
    );
    assert!(edge.is_ready());
    let event = |uri: &str, extra: serde_json::Value| {
        let mut headers =
            json!({"x-pii-edge-zone": [{"key": "X-Pii-Edge-Zone", "value": "eu-central"}]});
        for (k, v) in extra.as_object().expect("map") {
            headers[k] = v.clone();
        }
        json!({"Records": [{"cf": {"config": {"distributionId": "E", "eventType": "viewer-request"},
            "request": {"clientIp": "203.0.113.1", "method": "GET", "uri": uri, "querystring": "",
                        "headers": headers}}}]})
    };
    // Unmatched: the forged stamp is removed.
    let out = handle_value(&edge, event("/public", json!({})));
    assert!(out["headers"].get("x-pii-edge-zone").is_none(), "{out}");
    // Protected: the stamp is the zone the data was sealed to, not the forged one.
    let out = handle_value(
        &edge,
        event(
            "/api/users",
            json!({"x-ssn": [{"key": "X-SSN", "value": "123"}],
                   "x-account-country": [{"key": "X-Account-Country", "value": "IE"}]}),
        ),
    );
    assert_eq!(
        out["headers"]["x-pii-edge-zone"][0]["value"], "eu-west",
        "{out}"
    );
    assert!(out["headers"]["x-ssn"][0]["value"]
        .as_str()
        .expect("sealed")
        .starts_with("pe2."));
}

#[test]
fn origin_request_refuses_a_protected_route_the_viewer_trigger_did_not_seal() {
    use edge_fn::{bundle::Edge, handler::handle_value, log::MemorySink};
    use serde_json::json;
    let bundle = json!({
        "policies": [{"apiVersion": "pii-edge/v1", "name": "p", "match": {"paths": ["/api/users"]},
                      "rules": [{"select": {"header": "x-ssn"}, "action": "hash"}]}],
        "keys": {"keys": []},
        "sealAt": "viewer-request"
    });
    let edge = Edge::from_bundle_with_log(
        &bundle.to_string(),
        std::sync::Arc::new(MemorySink::default()),
    );
    let event = |event_type: &str, headers: serde_json::Value| {
        json!({"Records": [{"cf": {"config": {"distributionId": "E", "eventType": event_type},
            "request": {"clientIp": "203.0.113.1", "method": "GET", "uri": "/api/users",
                        "querystring": "", "headers": headers}}}]})
    };
    let ssn = json!({"x-ssn": [{"key": "X-SSN", "value": "123-45-6789"}]});
    // Origin-request alone: the viewer trigger did not run, so nothing was sealed: refuse.
    let out = handle_value(&edge, event("origin-request", ssn.clone()));
    assert_eq!(out["status"], "503", "{out}");
    // Through the viewer trigger first, it is sealed and stamped; origin-request forwards it.
    let viewer = handle_value(&edge, event("viewer-request", ssn));
    assert!(viewer["headers"]["x-ssn"][0]["value"]
        .as_str()
        .expect("v")
        .starts_with("sha256:"));
    assert_eq!(viewer["headers"]["x-pii-edge-zone"][0]["value"], "-");
    let out = handle_value(&edge, event("origin-request", viewer["headers"].clone()));
    assert!(out.get("status").is_none(), "{out}");
    assert_eq!(
        out["headers"]["x-ssn"], viewer["headers"]["x-ssn"],
        "not sealed twice"
    );
}
