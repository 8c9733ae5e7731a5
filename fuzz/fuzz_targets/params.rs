//! The parameter model (`pii_core::params`) and the path readings (`pii_core::engine::route`) on
//! arbitrary input (issue 21). Input: a selector byte, then text (UTF-8, lossily).
//!
//! Checks: `readings` never panics, gives no empty segment and ignores ASCII case; `pairs`
//! keeps every piece as written (joined by `&` they give the text back) and counts occurrences
//! per name; `route` never panics on any path and, when the readings of a path match one of
//! two overlapping policies, names one. Then the text is put where an origin reads a
//! parameter name (the query, a form body, a cookie, as a JSON member) with a marker value,
//! against a policy protecting `$.user.email` and the query parameter `email`: whenever a
//! reading of the name is that parameter (or inside it), the request is refused or forwarded
//! without the marker.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pii_core::params::{pairs, readings};
use pii_core::{
    engine::route, location::Part, Engine, Outcome, Policy, PublicKeyring, Request, TokenKeys,
};

const MARKER: &str = "MARKER4417";

fn policy(name: &str, path: &str) -> Policy {
    Policy::from_json(&format!(
        r#"{{"apiVersion": "pii-edge/v1", "name": "{name}", "match": {{"paths": ["{path}"]}},
        "rules": [
          {{"select": {{"json": "$.user.email"}}, "action": "hash"}},
          {{"select": {{"query": "email"}}, "action": "hash"}}
        ]}}"#
    ))
    .expect("policy")
}

fn engine() -> Engine {
    Engine::new(
        vec![policy("p", "/x")],
        PublicKeyring::default(),
        TokenKeys::default(),
    )
    .expect("engine")
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest).into_owned();

    let r = readings(&text);
    assert!(r
        .iter()
        .all(|segs| !segs.is_empty() && segs.iter().all(|s| !s.is_empty())));
    assert_eq!(r, readings(&text.to_ascii_uppercase()));

    let p = pairs(&text, Part::Query);
    let joined: Vec<&str> = p.iter().map(|v| v.raw).collect();
    assert_eq!(joined.join("&"), text);
    for (i, v) in p.iter().enumerate() {
        let before = p[..i]
            .iter()
            .filter(|w| w.name.eq_ignore_ascii_case(&v.name))
            .count();
        assert_eq!(v.occurrence, before);
    }

    let two = [policy("a", "/a/*"), policy("b", "/a/*/b")];
    let path = format!("/{text}");
    match route(&two, &Request::new("GET", path.as_str())) {
        Ok(Some(p)) => assert!(p.name() == "a" || p.name() == "b"),
        Ok(None) => {}
        Err(reason) => assert_eq!(reason.code(), "ambiguous-path"),
    }

    let protected = r.iter().any(|segs| {
        segs.first().map(String::as_str) == Some("ernail")
            || (segs.len() >= 2 && segs[0] == "user" && segs[1] == "ernail")
    });
    let pct: String = text.bytes().map(|b| format!("%{b:02X}")).collect();
    let req = match which % 4 {
        0 => Request::new("GET", "/x").with_query(format!("a=1&{pct}={MARKER}")),
        1 => Request::new("POST", "/x")
            .with_header("content-type", "application/x-www-form-urlencoded")
            .with_body(format!("{pct}={MARKER}")),
        2 => {
            if text
                .bytes()
                .any(|b| b.is_ascii_control() || b";,= ".contains(&b))
            {
                return;
            }
            Request::new("GET", "/x").with_header("cookie", format!("s=1; {text}={MARKER}"))
        }
        _ => {
            let name = serde_json::to_string(&text).expect("string");
            Request::new("POST", "/x")
                .with_header("content-type", "application/json")
                .with_body(format!("{{{name}: \"{MARKER}\"}}"))
        }
    };
    thread_local!(static ENGINE: Engine = engine());
    let out = ENGINE.with(|e| e.apply(&req));
    if let Outcome::Protected(p) = out {
        let r = p.request;
        let headers: Vec<String> = r.headers.iter().map(|(n, v)| format!("{n}:{v}")).collect();
        let forwarded = format!(
            "{}\n{}\n{}",
            String::from_utf8_lossy(&r.body),
            r.query,
            headers.join("\n")
        );
        if protected && which % 4 != 3 {
            assert!(
                !forwarded.contains(MARKER),
                "{text:?} reads as a protected parameter: {forwarded}"
            );
        }
    }
});
