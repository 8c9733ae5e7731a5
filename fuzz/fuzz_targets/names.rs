//! The name equivalence (`pii_core::hooks::names`) and every place the engine applies it, on arbitrary
//! names (issue 13). Input: a selector byte, then a name (UTF-8, lossily).
//!
//! Checks: `skeleton` never panics, ignores ASCII case, stops at NUL and `[`, and `equivalent`
//! is reflexive and symmetric; then the name is put where an origin reads names (a JSON member
//! at the top and under a wildcard, a form field, a query parameter, a header, a cookie after
//! `;`, `,` or white space) with a marker value, against a policy that selects `password`
//! (`$..password`), `$.messages[*].body`, the form field `card_number`, the header
//! `x-national-id` and the cookie `tracking_email`. Whenever the name is equivalent to the
//! selected one, the request must be refused or forwarded without the marker; nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pii_core::hooks::names::{equivalent, skeleton};
use pii_core::{Engine, Outcome, Policy, PublicKeyring, Request, TokenKeys};

const MARKER: &str = "MARKER7731";

fn engine() -> Engine {
    let policy = Policy::from_json(
        r#"{"apiVersion": "pii-edge/v1", "name": "names", "match": {},
        "rules": [
          {"select": {"json": "$..password"}, "action": "redact"},
          {"select": {"json": "$.messages[*].body"}, "action": "hash"},
          {"select": {"form": "card_number"}, "action": "hash"},
          {"select": {"header": "x-national-id"}, "action": "hash"},
          {"select": {"cookie": "tracking_email"}, "action": "redact"}
        ]}"#,
    )
    .expect("policy");
    Engine::new(vec![policy], PublicKeyring::default(), TokenKeys::default()).expect("engine")
}

fn forwarded(outcome: Outcome) -> Option<String> {
    match outcome {
        Outcome::Protected(p) => {
            let r = p.request;
            let headers: Vec<String> = r.headers.iter().map(|(n, v)| format!("{n}:{v}")).collect();
            Some(format!(
                "{}\n{}\n{}",
                String::from_utf8_lossy(&r.body),
                r.query,
                headers.join("\n")
            ))
        }
        Outcome::Unmatched => Some(String::new()),
        // Rejected, or an outcome this target does not know: nothing forwarded to compare.
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, name)) = data.split_first() else {
        return;
    };
    let name = String::from_utf8_lossy(name).into_owned();
    let s = skeleton(&name);
    assert_eq!(s, skeleton(&name.to_ascii_uppercase()));
    assert!(equivalent(&name, &name));
    let cut = name.find(['\0', '[']).map_or(name.as_str(), |i| &name[..i]);
    assert_eq!(s, skeleton(cut));
    let other = String::from_utf8_lossy(data).into_owned();
    assert_eq!(equivalent(&name, &other), equivalent(&other, &name));

    thread_local!(static ENGINE: Engine = engine());
    let json_name = serde_json::to_string(&name).expect("string");
    let pct: String = name.bytes().map(|b| format!("%{b:02X}")).collect();
    let (req, selected) = match which % 7 {
        0 => (
            Request::new("POST", "/x")
                .with_header("content-type", "application/json")
                .with_body(format!("{{\"a\": {{{json_name}: \"{MARKER}\"}}}}")),
            "password",
        ),
        1 => (
            Request::new("POST", "/x")
                .with_header("content-type", "application/json")
                .with_body(format!("{{\"messages\": [{{{json_name}: \"{MARKER}\"}}]}}")),
            "body",
        ),
        2 => (
            Request::new("POST", "/x")
                .with_header("content-type", "application/x-www-form-urlencoded")
                .with_body(format!("{pct}={MARKER}")),
            "card_number",
        ),
        3 => (
            Request::new("GET", "/x").with_query(format!("a=1&{pct}={MARKER}")),
            "card_number",
        ),
        4 => {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
                return; // not a header name CloudFront passes
            }
            (
                Request::new("GET", "/x").with_header(name.clone(), MARKER),
                "x-national-id",
            )
        }
        5 | 6 => {
            if name
                .bytes()
                .any(|b| b.is_ascii_control() || b == b';' || b == b',' || b == b'=')
            {
                return;
            }
            let sep = if which % 7 == 5 { ", " } else { " " };
            (
                Request::new("GET", "/x").with_header("cookie", format!("s=1{sep}{name}={MARKER}")),
                "tracking_email",
            )
        }
        _ => return,
    };
    let out = ENGINE.with(|e| forwarded(e.apply(&req)));
    if equivalent(&name, selected) {
        if let Some(text) = out {
            assert!(
                !text.contains(MARKER),
                "{name:?} is {selected:?} to some origin: {text}"
            );
        }
    }
});
