//! Declared body shapes (`shape:` in a policy, `pii-core/src/shape.rs`) on arbitrary input.
//! Input: a selector byte (which declaration, and whether the text is the JSON body, the query
//! string or a form body), then the text.
//!
//! Checks: the engine never panics under any declaration; a protected request with a changed
//! JSON body is still one JSON text; a changed query or form keeps its `&`-separated shape;
//! and a marker sent as the value of a protected member in the three canonical spellings of
//! each reading (a batch element, a patch operation, a wrapped member, GraphQL `variables`)
//! never comes out in clear.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pii_core::{Engine, Outcome, Policy, PublicKeyring, Request, TokenKeys};

const MARKER: &str = "MARKER5521";

fn engine(shape: &str) -> Engine {
    let policy = Policy::from_json(&format!(
        r#"{{"apiVersion": "pii-edge/v1", "name": "p", "match": {{"paths": ["/x"]}},
        "shape": {shape},
        "rules": [
          {{"select": {{"json": "$.user.email"}}, "action": "hash"}},
          {{"select": {{"json": "$.user.tags[*]"}}, "action": "hash"}}
        ]}}"#
    ))
    .expect("policy");
    Engine::new(vec![policy], PublicKeyring::default(), TokenKeys::default()).expect("engine")
}

fn check(e: &Engine, req: &Request, marker_must_go: bool) {
    if let Outcome::Protected(p) = e.apply(req) {
        if p.body_changed && req.header("content-type") == Some("application/json") {
            assert!(serde_json::from_slice::<serde_json::Value>(&p.request.body).is_ok());
        }
        if marker_must_go {
            let text = format!("{} {}", p.request.query, String::from_utf8_lossy(&p.request.body));
            assert!(!text.contains(MARKER), "{text}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest).into_owned();
    let shapes = [
        r#"{"arrayRoot": "batch"}"#,
        r#"{"arrayRoot": "json-patch"}"#,
        r#"{"wrapper": "user"}"#,
        r#"{"jsonParams": ["user"]}"#,
    ];
    let e = engine(shapes[usize::from(which) % shapes.len()]);
    let req = match (which / 4) % 3 {
        0 => Request::new("POST", "/x")
            .with_header("content-type", "application/json")
            .with_body(text.clone().into_bytes()),
        1 => Request::new("GET", "/x").with_query(text.clone()),
        _ => Request::new("POST", "/x")
            .with_header("content-type", "application/x-www-form-urlencoded")
            .with_body(text.clone().into_bytes()),
    };
    check(&e, &req, false);
    // The canonical spelling of each reading, the fuzzed text beside the marker.
    let filler = serde_json::to_string(&text).expect("a JSON string");
    let bodies = [
        format!(r#"[{{"user": {{"email": "{MARKER}", "x": {filler}}}}}]"#),
        format!(r#"[{{"op": "add", "path": "/user/email", "value": "{MARKER}"}}, {{"op": "test", "path": "/a", "value": {filler}}}]"#),
        format!(r#"{{"email": "{MARKER}", "x": {filler}}}"#),
    ];
    let body = &bodies[usize::from(which) % 4 % 3];
    if usize::from(which) % 4 < 3 {
        let req = Request::new("POST", "/x")
            .with_header("content-type", "application/json")
            .with_body(body.clone().into_bytes());
        check(&e, &req, true);
    } else {
        let vars = format!(r#"{{"email": "{MARKER}", "x": {filler}}}"#);
        let enc: String = vars.bytes().map(|b| format!("%{b:02X}")).collect();
        check(&e, &Request::new("GET", "/x").with_query(format!("user={enc}")), true);
    }
});
