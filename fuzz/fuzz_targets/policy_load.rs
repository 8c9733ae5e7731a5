//! Policy loading on arbitrary text: `Policy::from_yaml` and `Policy::from_json` on the same
//! input (seeds: `policies/*.yaml`, `examples/bundle/policies/*.json`).
//!
//! Checks: never panics; every error renders (`Display`) with its location; a policy that loads
//! from YAML also loads from its JSON form (what `pii-edge package` puts in the edge bundle) to
//! the same spec; a loaded policy builds an engine (with keys for its zone and token domains)
//! that applies to a small request without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pii_core::{
    keys::PrivateKey, spec::SelectorSpec, Engine, Policy, PrivateKeyring, Request, TokenKeys,
};

fn exercise(policy: Policy) {
    let spec = policy.spec().clone();
    // The JSON form loads back to the same spec.
    let json = serde_json::to_string(&spec).expect("spec serializes");
    let again = Policy::from_json(&json)
        .unwrap_or_else(|e| panic!("JSON form of a loaded policy does not load: {e}\n{json}"));
    assert_eq!(again.spec(), &spec, "JSON round trip changed the spec");

    let mut private = PrivateKeyring::new();
    if let Some(zone) = spec.zone.as_deref() {
        match PrivateKey::generate(zone, "r-1", 1) {
            Ok(k) => private.push(k),
            Err(_) => return,
        }
    }
    let mut tokens = TokenKeys::default();
    for rule in &spec.rules {
        if let Some(domain) = rule.domain.as_deref() {
            if tokens.get(domain).is_none() {
                match TokenKeys::generate(domain) {
                    Ok(k) => {
                        let _ = tokens.push(k);
                    }
                    Err(_) => return,
                }
            }
        }
    }
    let Ok(engine) = Engine::new(vec![policy], private.public(), tokens) else {
        return;
    };
    let mut req = Request::new("POST", "/").with_query("email=a%40b.de&x=1");
    req = req
        .with_header("content-type", "application/json")
        .with_header("cookie", "a=1; email=x")
        .with_body(
            br#"{"email":"a@b.de","user":{"email":"c@d.de","n":[1,2,{"email":3}]}}"#.to_vec(),
        );
    for r in &spec.rules {
        if let SelectorSpec::Header(h) = &r.select {
            req = req.with_header(h.clone(), "value");
        }
    }
    let _ = engine.apply(&req);
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Policy::from_yaml("fuzz.yaml", text) {
        Ok(policy) => exercise(policy),
        Err(e) => {
            assert!(!e.diagnostics().is_empty(), "an error without a diagnostic");
            let _ = e.to_string();
        }
    }
    match Policy::from_json(text) {
        Ok(policy) => exercise(policy),
        Err(e) => {
            assert!(!e.diagnostics().is_empty(), "an error without a diagnostic");
            let _ = e.to_string();
        }
    }
});
