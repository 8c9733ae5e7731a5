//! The hostile-input suite (issue 8, point 2) at the engine level: every input an attacker
//! controls, each with its expected outcome. A request that matches a policy is either
//! protected (no selected plaintext anywhere in what is forwarded) or rejected with a fixed
//! status; it is never forwarded with plaintext.
//!
//! `docs/threat-model.md` lists every case with its test. The parser-differential cases (a
//! spelling a lenient origin parser reads as a selected name) were found while writing this
//! suite; the engine now protects or rejects each of them.
#![cfg(all(feature = "open", feature = "yaml"))]

use pii_core::envelope::{open, open_expecting, Binding, OpenError, ValueKind};
use pii_core::{
    keys::PrivateKey, reveal, Engine, Outcome, Policy, PrivateKeyring, Protected, Rejection,
    Request, TokenKeys,
};
use serde_json::Value;

const ZONE: &str = "eu-central";

/// Rules of every selector kind. `$..email` is selected anywhere in a JSON body.
const RULES: &str = "\
rules:
  - select: { json: '$..email' }
    action: encrypt
  - select: { json: '$.user.phone' }
    action: mask
  - select: { form: email }
    action: encrypt
  - select: { query: email }
    action: encrypt
  - select: { header: x-national-id }
    action: encrypt
  - select: { cookie: session_email }
    action: redact
";

fn keys() -> PrivateKeyring {
    let mut ring = PrivateKeyring::new();
    ring.push(PrivateKey::generate(ZONE, "eu-central-1", 1).expect("keygen"));
    ring
}

fn engine_with(extra: &str, rules: &str, private: &PrivateKeyring) -> Engine {
    let text = format!(
        "apiVersion: pii-edge/v1\nname: hostile\nzone: {ZONE}\nmatch:\n  paths: [\"/api/**\"]\n{extra}{rules}"
    );
    let policy = Policy::from_yaml("hostile.yaml", &text).unwrap_or_else(|e| panic!("{e}"));
    Engine::new(vec![policy], private.public(), TokenKeys::default()).expect("engine")
}

fn engine(private: &PrivateKeyring) -> Engine {
    engine_with("", RULES, private)
}

fn json_req(body: impl Into<Vec<u8>>) -> Request {
    Request::new("POST", "/api/users")
        .with_header("Content-Type", "application/json")
        .with_body(body.into())
}

/// Everything the origin would read, raw and percent-decoded.
fn forwarded(p: &Protected) -> String {
    let r = &p.request;
    let mut text = format!("{}\n{}\n", r.query, String::from_utf8_lossy(&r.body));
    for (n, v) in &r.headers {
        text.push_str(&format!("{n}: {v}\n"));
    }
    let decoded = percent_decode(&text);
    text.push_str(&decoded);
    if let Ok(v) = serde_json::from_slice::<Value>(&r.body) {
        text.push_str(&v.to_string());
    }
    text
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[track_caller]
fn protected(o: Outcome, secrets: &[&str]) -> Protected {
    match o {
        Outcome::Protected(p) => {
            let all = forwarded(&p);
            for s in secrets {
                assert!(!all.contains(s), "plaintext {s:?} forwarded:\n{all}");
            }
            p
        }
        other => panic!("expected protected, got {other:?}"),
    }
}

#[track_caller]
fn rejected(o: Outcome, status: u16, code: &str) -> Rejection {
    match o {
        Outcome::Rejected(r) => {
            assert_eq!((r.status, r.reason.code()), (status, code), "{r:?}");
            r
        }
        other => panic!("expected rejection {status} {code}, got {other:?}"),
    }
}

/// `{"a":{"a":...inner...}}` with `depth` levels of `"a"` around `inner`.
fn nest(depth: usize, inner: &str) -> String {
    format!("{}{inner}{}", "{\"a\":".repeat(depth), "}".repeat(depth))
}

// ---- duplicate and escaped member names --------------------------------------------------

#[test]
fn duplicate_keys_at_every_depth_are_rejected() {
    let private = keys();
    let e = engine(&private);
    for depth in 0..=10 {
        for inner in [
            r#"{"email":"SECRET-1@x.de","email":"SECRET-2@x.de"}"#,
            r#"{"email":"SECRET-1@x.de","em\u0061il":"SECRET-2@x.de"}"#,
            r#"{"em\u0061il":"SECRET-1@x.de","email":"SECRET-2@x.de"}"#,
            r#"{"\u0065\u006D\u0061\u0069\u006C":"SECRET-1@x.de","email":"SECRET-2@x.de"}"#,
            r#"{"email":"SECRET-1@x.de","x":1,"y":[1,2],"email":"SECRET-2@x.de"}"#,
            // Unselected names are refused as well: the origin may read the other one.
            r#"{"note":"a","note":"b"}"#,
        ] {
            let body = nest(depth, inner);
            let r = rejected(e.apply(&json_req(body.clone())), 400, "duplicate-key");
            assert!(!r.reason.to_string().contains("SECRET"), "{r:?}");
        }
        // Inside an array, too.
        let body = nest(
            depth,
            r#"[{"ok":1},{"email":"SECRET-1@x.de","email":"SECRET-2@x.de"}]"#,
        );
        rejected(e.apply(&json_req(body)), 400, "duplicate-key");
    }
}

#[test]
fn escaped_member_names_are_selected() {
    let private = keys();
    let e = engine(&private);
    for depth in 0..=10 {
        for name in [
            r#"em\u0061il"#,
            r#"\u0065\u006d\u0061\u0069\u006c"#,
            r#"e\u006Dail"#,
        ] {
            let body = nest(depth, &format!(r#"{{"{name}":"SECRET@x.de","keep":1}}"#));
            let p = protected(e.apply(&json_req(body)), &["SECRET"]);
            assert_eq!(p.fields.len(), 1);
        }
    }
    // A different case is a different JSON name for JSONPath, but origins that bind JSON
    // case-insensitively read it as the selected one: refused as ambiguous.
    rejected(
        e.apply(&json_req(r#"{"Email":"kept@x.de"}"#)),
        400,
        "ambiguous-name",
    );
}

// ---- nesting -----------------------------------------------------------------------------

/// Runs `f` on a thread with a 2 MiB stack (the default for spawned threads, and about what a
/// Lambda@Edge Node.js worker gives native code), so deep input cannot hide behind a big stack.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("no stack overflow, no panic")
}

#[test]
fn ten_thousand_deep_nesting_is_rejected_without_stack_overflow() {
    on_small_stack(|| {
        let private = keys();
        let e = engine(&private);
        let arrays = format!("{}\"SECRET\"{}", "[".repeat(10_000), "]".repeat(10_000));
        rejected(e.apply(&json_req(arrays)), 400, "too-deep");
        let objects = nest(10_000, r#"{"email":"SECRET"}"#);
        rejected(e.apply(&json_req(objects)), 400, "too-deep");
        // Unclosed: still too deep before it is malformed.
        rejected(e.apply(&json_req("[".repeat(10_000))), 400, "too-deep");
        // Even with the highest limit a policy may set.
        let e = engine_with("limits:\n  maxDepth: 512\n", RULES, &private);
        rejected(e.apply(&json_req(nest(10_000, "1"))), 400, "too-deep");
    });
}

#[test]
fn nesting_at_the_highest_limit_is_protected_on_a_small_stack() {
    on_small_stack(|| {
        let private = keys();
        let e = engine_with("limits:\n  maxDepth: 512\n", RULES, &private);
        // 511 levels of "a" plus the innermost object: exactly 512.
        let body = nest(511, r#"{"email":"SECRET@x.de"}"#);
        let p = protected(e.apply(&json_req(body.clone())), &["SECRET"]);
        let opened = reveal(
            &private,
            &p.request,
            pii_core::reveal::Expect {
                policy: Some("hostile"),
                zone: Some(ZONE),
            },
        )
        .expect("reveal");
        assert_eq!(opened.request.body, body.into_bytes());
        rejected(
            e.apply(&json_req(nest(512, r#"{"email":"SECRET@x.de"}"#))),
            400,
            "too-deep",
        );
    });
}

// ---- big values and numbers --------------------------------------------------------------

#[test]
fn one_megabyte_strings() {
    let private = keys();
    let e = engine(&private);
    let big = "S".repeat(1_000_000);
    // Selected: sealed whole, opens to the exact text.
    let body = format!(r#"{{"email":"{big}","n":1}}"#);
    let p = protected(e.apply(&json_req(body.clone())), &[&big[..1000]]);
    let opened = reveal(
        &private,
        &p.request,
        pii_core::reveal::Expect {
            policy: Some("hostile"),
            zone: Some(ZONE),
        },
    )
    .expect("reveal");
    assert_eq!(opened.request.body, body.into_bytes());
    // Unselected: copied byte for byte.
    let body = format!(r#"{{"other":"{big}","email":"SECRET"}}"#);
    let p = protected(e.apply(&json_req(body.clone())), &["SECRET"]);
    let out = String::from_utf8(p.request.body).expect("utf8");
    assert!(out.starts_with(&format!(r#"{{"other":"{big}","email":"pe2."#)));
    // A 1 MB query parameter and header value.
    let req = Request::new("GET", "/api/x")
        .with_query(format!("email={big}"))
        .with_header("x-national-id", big.clone());
    protected(e.apply(&req), &[&big[..1000]]);
}

#[test]
fn a_selected_value_beyond_the_sealing_limit_is_rejected_not_forwarded() {
    let private = keys();
    let e = engine(&private);
    // One byte over the 1 MiB plaintext limit of an envelope (with its quotes).
    let big = "S".repeat(pii_core::envelope::MAX_PLAINTEXT);
    let r = match e.apply(&json_req(format!(r#"{{"email":"{big}"}}"#))) {
        Outcome::Rejected(r) => r,
        other => panic!("expected a rejection, got {other:?}"),
    };
    // Rejected (today as 503 sealing-failed; see the threat model: 413 would fit better).
    assert!(r.status == 503 || r.status == 413, "{r:?}");
}

#[test]
fn numbers_out_of_range_are_rejected_and_big_ones_kept_exactly() {
    let private = keys();
    let e = engine(&private);
    for n in ["1e400", "-1e400", "1E+400", "123e99999", "1.5e309"] {
        rejected(
            e.apply(&json_req(format!(r#"{{"n":{n},"email":"SECRET"}}"#))),
            400,
            "malformed-json",
        );
    }
    for bad in ["01", "1.", ".5", "+1", "1e", "-", "NaN", "Infinity", "0x10"] {
        rejected(
            e.apply(&json_req(format!(r#"{{"n":{bad},"email":"SECRET"}}"#))),
            400,
            "malformed-json",
        );
    }
    // Unselected numbers come out as they went in, digit for digit.
    let body = r#"{"a":12345678901234567890,"b":-12345678901234567890,"c":123456789012345678901234567890,"d":1.000000000000000000001,"e":1E+2,"f":-0,"g":0.0e0,"h":1e-400,"email":"SECRET"}"#;
    let p = protected(e.apply(&json_req(body)), &["SECRET"]);
    let out = String::from_utf8(p.request.body.clone()).expect("utf8");
    let (head, _) = body.split_once(r#""email""#).expect("split");
    assert!(out.starts_with(head), "{out}");
    // A selected 20-digit integer is sealed as its exact text and opens to it.
    let body = r#"{"email":12345678901234567890123}"#;
    let p = protected(e.apply(&json_req(body)), &["12345678901234567890123"]);
    let opened = reveal(
        &private,
        &p.request,
        pii_core::reveal::Expect {
            policy: Some("hostile"),
            zone: Some(ZONE),
        },
    )
    .expect("reveal");
    assert_eq!(opened.request.body, body.as_bytes());
}

// ---- encodings ---------------------------------------------------------------------------

#[test]
fn invalid_utf8_lone_surrogates_and_boms_are_rejected() {
    let private = keys();
    let e = engine(&private);
    let bad_bytes: &[&[u8]] = &[
        b"\xff",             // never valid
        b"\xc0\xaf",         // overlong '/'
        b"\xed\xa0\x80",     // a UTF-16 surrogate encoded in UTF-8
        b"\xf4\x90\x80\x80", // beyond U+10FFFF
        b"\xe2\x82",         // cut multi-byte sequence
    ];
    for bad in bad_bytes {
        for (prefix, suffix) in [
            (&br#"{"email":"SECRET"#[..], &br#""}"#[..]),
            (&br#"{"em"#[..], &br#"ail":"SECRET"}"#[..]),
            (&br#"{"email":"SECRET","x":"#[..], &b""[..]),
        ] {
            let mut body = prefix.to_vec();
            body.extend_from_slice(bad);
            body.extend_from_slice(suffix);
            let r = rejected(e.apply(&json_req(body)), 400, "malformed-json");
            assert!(!r.reason.to_string().contains("SECRET"));
        }
    }
    for s in [
        r"\ud800",
        r"\udc00",
        r"\ud800\u0041",
        r"\udc00\ud800",
        r"\uD800x",
    ] {
        rejected(
            e.apply(&json_req(format!(r#"{{"email":"SECRET{s}"}}"#))),
            400,
            "malformed-json",
        );
        rejected(
            e.apply(&json_req(format!(r#"{{"k{s}":1,"email":"SECRET"}}"#))),
            400,
            "malformed-json",
        );
    }
    // A valid pair is fine.
    protected(
        e.apply(&json_req(r#"{"email":"SECRET\ud83d\ude00"}"#)),
        &["SECRET"],
    );
    // Byte order marks: UTF-8, UTF-16 BE and LE.
    for bom in [&b"\xef\xbb\xbf"[..], b"\xfe\xff", b"\xff\xfe"] {
        let mut body = bom.to_vec();
        body.extend_from_slice(br#"{"email":"SECRET"}"#);
        rejected(e.apply(&json_req(body)), 400, "malformed-json");
    }
    // UTF-16 body without a BOM.
    let utf16: Vec<u8> =
        r#"{"email":"SECRET"}"#.encode_utf16().flat_map(u16::to_le_bytes).collect();
    rejected(e.apply(&json_req(utf16)), 400, "malformed-json");
}

// ---- Content-Type ------------------------------------------------------------------------

fn with_type(ct: Option<&str>, body: &str) -> Request {
    let mut r = Request::new("POST", "/api/users").with_body(body.as_bytes().to_vec());
    if let Some(ct) = ct {
        r = r.with_header("Content-Type", ct);
    }
    r
}

#[test]
fn content_type_missing_with_parameters_odd_case_or_lying() {
    let private = keys();
    let e = engine(&private);
    let json = r#"{"email":"SECRET@x.de"}"#;
    let form = "email=SECRET%40x.de&x=1";
    let accepted_json = [
        "application/json",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "application/json; charset=\"utf-8\"",
        "application/json; charset=utf-8; boundary=x",
        "APPLICATION/JSON",
        "Application/Json ; Charset=UTF-8",
        " application/json ",
        "application/vnd.api+json",
        "application/problem+JSON",
    ];
    for ct in accepted_json {
        protected(e.apply(&with_type(Some(ct), json)), &["SECRET"]);
    }
    for ct in [
        "application/x-www-form-urlencoded",
        "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
    ] {
        protected(e.apply(&with_type(Some(ct), form)), &["SECRET"]);
    }
    // Missing, or two of them.
    rejected(e.apply(&with_type(None, json)), 415, "missing-content-type");
    let two = with_type(Some("application/json"), json)
        .with_header("content-type", "application/x-www-form-urlencoded");
    rejected(e.apply(&two), 415, "missing-content-type");
    // Types the route does not inspect.
    for ct in [
        "text/plain",
        "text/json",
        "application/jsonx",
        "application/json, text/plain",
        "application/*",
        "*/*",
        "multipart/form-data; boundary=xyz",
        "",
    ] {
        rejected(
            e.apply(&with_type(Some(ct), json)),
            415,
            "unsupported-media-type",
        );
    }
    // JSON declared in another charset.
    for ct in [
        "application/json; charset=utf-16",
        "application/json; charset=latin1",
        "application/json; charset=\"UTF-32\"",
    ] {
        rejected(
            e.apply(&with_type(Some(ct), json)),
            415,
            "unsupported-charset",
        );
    }
    // Lying about the body: JSON sent as a form, a form sent as JSON.
    rejected(
        e.apply(&with_type(Some("application/x-www-form-urlencoded"), json)),
        400,
        "malformed-form",
    );
    rejected(
        e.apply(&with_type(Some("application/json"), form)),
        400,
        "malformed-json",
    );
    // A form body with JSON-looking characters is refused, not parsed as a form.
    rejected(
        e.apply(&with_type(
            Some("application/x-www-form-urlencoded"),
            "email=SECRET&x={\"a\":1}",
        )),
        400,
        "malformed-form",
    );
}

// ---- Content-Encoding --------------------------------------------------------------------

#[test]
fn content_encoding_other_than_identity_is_rejected() {
    let private = keys();
    let e = engine(&private);
    let json = r#"{"email":"SECRET@x.de"}"#;
    for enc in [
        "gzip",
        "br",
        "deflate",
        "GZIP",
        "x-gzip",
        "identity, gzip",
        "compress",
    ] {
        let req = json_req(json).with_header("Content-Encoding", enc);
        rejected(e.apply(&req), 415, "content-encoding");
    }
    // Two headers, one of them identity.
    let req = json_req(json)
        .with_header("content-encoding", "identity")
        .with_header("Content-Encoding", "gzip");
    rejected(e.apply(&req), 415, "content-encoding");
    for enc in ["identity", "IDENTITY", " identity ", ""] {
        let req = json_req(json).with_header("Content-Encoding", enc);
        protected(e.apply(&req), &["SECRET"]);
    }
    // A gzip body without the header is not JSON: rejected as malformed.
    let gz = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xab\x56\x4a\xcd\x4d\xcc\xcc\x51\xb2\x52\x0a\x76\x75\x0e\x72\x0d\x51\xaa\x05\x00";
    rejected(e.apply(&json_req(gz.to_vec())), 400, "malformed-json");
}

// ---- query parameters --------------------------------------------------------------------

#[test]
fn repeated_and_percent_encoded_query_parameters_are_all_protected() {
    let private = keys();
    let e = engine(&private);
    let query = "email=SECRET1%40x.de&%65mail=SECRET2&EMAIL=SECRET3&e%6Dail=SECRET4&Email=SECRET5\
                 &%45%4D%41%49%4C=SECRET6&email=SECRET7&q=kept&email&email=&em%61il=SECRET%38";
    let req = Request::new("GET", "/api/search").with_query(query);
    let p = protected(e.apply(&req), &["SECRET"]);
    assert_eq!(p.fields.len(), 10, "{:?}", p.fields);
    assert!(p.request.query.contains("&q=kept&"));
    // Every one opens back to its value, at its place.
    let opened = reveal(
        &private,
        &p.request,
        pii_core::reveal::Expect {
            policy: Some("hostile"),
            zone: Some(ZONE),
        },
    )
    .expect("reveal");
    assert!(opened.request.query.contains("SECRET1%40x.de"));
    assert!(opened.request.query.contains("SECRET7"));
}

/// Spellings that lenient origin parsers read as `email` but the engine does not select.
/// GAP until the engine rejects (or protects) them; see docs/threat-model.md.
#[test]
fn lenient_origin_query_spellings_are_protected_or_rejected() {
    let private = keys();
    let e = engine(&private);
    let mut leaks = Vec::new();
    for query in [
        "q=1;email=SECRET", // Rack < 3, old Python parse_qs: ';' separates parameters
        "email[]=SECRET",   // PHP, Rack, qs: an array named email
        "email[0]=SECRET",  // same
        "+email=SECRET",    // PHP drops leading spaces of names
        "%20email=SECRET",  // same
        "email%00=SECRET",  // C-string parsers stop at NUL
    ] {
        let req = Request::new("GET", "/api/search").with_query(query);
        leaks.extend(leak(e.apply(&req), query));
    }
    assert!(leaks.is_empty(), "forwarded with plaintext: {leaks:?}");
}

/// `Some(what)` when the outcome forwards plaintext.
fn leak(o: Outcome, what: &str) -> Option<String> {
    match o {
        Outcome::Protected(p) if forwarded(&p).contains("SECRET") => Some(what.to_owned()),
        Outcome::Unmatched => Some(what.to_owned()),
        _ => None,
    }
}

// ---- headers and cookies -----------------------------------------------------------------

#[test]
fn repeated_and_odd_case_headers_are_all_protected() {
    let private = keys();
    let e = engine(&private);
    let req = Request::new("GET", "/api/profile")
        .with_header("X-National-ID", "SECRET-1")
        .with_header("x-national-id", "SECRET-2")
        .with_header("X-NATIONAL-ID", "SECRET-3")
        .with_header("x-NaTiOnAl-Id", "")
        .with_header("Cookie", "a=1; session_email=SECRET-4")
        .with_header("cookie", "SESSION_EMAIL=SECRET-5; b=2")
        .with_header("COOKIE", "Session_Email=SECRET-6");
    let p = protected(e.apply(&req), &["SECRET"]);
    assert_eq!(p.fields.len(), 7);
    let cookies: Vec<&str> = p.request.header_values("cookie").collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    let opened = reveal(
        &private,
        &p.request,
        pii_core::reveal::Expect {
            policy: Some("hostile"),
            zone: Some(ZONE),
        },
    )
    .expect("reveal");
    let ids: Vec<&str> = opened.request.header_values("x-national-id").collect();
    assert_eq!(ids, ["SECRET-1", "SECRET-2", "SECRET-3", ""]);
}

/// Regression (found by the `engine_apply` fuzz target): `Cookie: session_email =v` was not
/// matched because the name kept its trailing space, but cookie parsers (Node's `cookie`, Go,
/// Python) trim names. Fixed in `engine.rs` (`protect_headers`, cookie branch).
#[test]
fn padded_cookie_names_are_protected() {
    let private = keys();
    let e = engine(&private);
    for cookie in [
        "session_email =SECRET",
        " session_email = SECRET",
        "a=1;  SESSION_EMAIL  =SECRET ;b=2",
        "session_email\t=SECRET",
    ] {
        let req = Request::new("GET", "/api/profile").with_header("Cookie", cookie);
        protected(e.apply(&req), &["SECRET"]);
    }
    // Encrypted cookies with a padded name open at the origin.
    let e = engine_with(
        "",
        "rules:\n  - select: { cookie: session_email }\n    action: encrypt\n",
        &private,
    );
    let req =
        Request::new("GET", "/api/profile").with_header("Cookie", "a=1; session_email =SECRET");
    let p = protected(e.apply(&req), &["SECRET"]);
    let opened = reveal(
        &private,
        &p.request,
        pii_core::reveal::Expect {
            policy: Some("hostile"),
            zone: Some(ZONE),
        },
    )
    .expect("reveal");
    assert!(opened
        .request
        .header("cookie")
        .expect("cookie")
        .contains("SECRET"));
}

// ---- empty, truncated ---------------------------------------------------------------------

#[test]
fn empty_body_on_a_protected_route_goes_on_with_other_rules_applied() {
    let private = keys();
    let e = engine(&private);
    let req = Request::new("POST", "/api/users")
        .with_header("Content-Type", "application/json")
        .with_query("email=SECRET")
        .with_header("x-national-id", "SECRET-ID");
    let p = protected(e.apply(&req), &["SECRET"]);
    assert!(p.request.body.is_empty());
    assert!(!p.body_changed);
    // Without a content type, too.
    protected(e.apply(&Request::new("POST", "/api/users")), &[]);
    // Whitespace only is not empty: it is malformed JSON.
    rejected(e.apply(&json_req("  \n")), 400, "malformed-json");
}

#[test]
fn truncated_bodies_are_rejected() {
    let private = keys();
    let e = engine(&private);
    let full = r#"{"user":{"email":"SECRET@x.de","phone":"+4930123"}}"#;
    // Cut by the transport: 413 whatever the bytes, even complete JSON or none at all.
    rejected(
        e.apply(&json_req(full).with_body_truncated(true)),
        413,
        "body-truncated",
    );
    rejected(
        e.apply(&Request::new("POST", "/api/users").with_body_truncated(true)),
        413,
        "body-truncated",
    );
    // Cut without the flag: every prefix is malformed, never forwarded.
    for cut in 1..full.len() {
        let r = match e.apply(&json_req(&full.as_bytes()[..cut])) {
            Outcome::Rejected(r) => r,
            other => panic!("prefix {cut} not rejected: {other:?}"),
        };
        assert_eq!(r.status, 400, "prefix {cut}");
    }
}

// ---- routes and methods --------------------------------------------------------------------

#[test]
fn path_spellings_reach_the_policy() {
    let private = keys();
    let e = engine(&private);
    for path in [
        "/api/users",
        "/api/users/",
        "//api//users",
        "/./api/./users",
        "/x/../api/users",
        "/%61pi/users",
        "/%61%70%69/users",
        "/api;jsessionid=1/users",
        "/api/users?x",
        "/api/users#frag",
    ] {
        let mut req = json_req(r#"{"email":"SECRET"}"#);
        req.path = path.to_owned();
        protected(e.apply(&req), &["SECRET"]);
    }
    // Method case does not matter when the policy lists methods.
    let e2 = engine_with("", RULES, &private);
    let mut req = json_req(r#"{"email":"SECRET"}"#);
    req.method = "post".into();
    protected(e2.apply(&req), &["SECRET"]);
}

/// Paths that some origins route like `/api/users` (case-insensitive routers, `%2F` decoding,
/// backslashes) but that the policy's literal segments do not match.
#[test]
fn lenient_origin_path_spellings_are_protected_or_rejected() {
    let private = keys();
    let e = engine(&private);
    let mut leaks = Vec::new();
    for path in ["/API/users", "/api%2Fusers", "/api\\users", "/api%5Cusers"] {
        let mut req = json_req(r#"{"email":"SECRET"}"#);
        req.path = path.to_owned();
        leaks.extend(leak(e.apply(&req), path));
    }
    assert!(leaks.is_empty(), "forwarded with plaintext: {leaks:?}");
}

// ---- envelopes -----------------------------------------------------------------------------

/// Ciphertext moved to another field, policy or zone does not open where it is found; and
/// (threat-model Finding 5, closed in format v2) the `enc`/`wrapped` bytes of *another*
/// recipient are bound into every field, so changing them is noticed by every opener, even one
/// that only uses its own entry.
#[test]
fn envelope_binding_and_the_recipient_block() {
    let a = PrivateKey::generate(ZONE, "eu-central-1", 1).expect("keygen");
    let b = PrivateKey::generate(ZONE, "eu-central-2", 1).expect("keygen");
    let (a_jwk, b_jwk) = (a.to_jwk(), b.to_jwk());
    let ring = |jwks: &[&str]| {
        PrivateKeyring::from_jwks(&format!("{{\"keys\":[{}]}}", jwks.join(","))).expect("jwks")
    };
    let both = ring(&[&a_jwk, &b_jwk]);
    let e = engine(&both);
    let p = protected(e.apply(&json_req(r#"{"email":"SECRET"}"#)), &["SECRET"]);
    let v: Value = serde_json::from_slice(&p.request.body).expect("json");
    let sealed = v["email"].as_str().expect("envelope").to_owned();
    let at = |policy: &str, zone: &str, location: &str| {
        Binding::new(policy, zone, location.parse().expect("location"))
    };
    let opened =
        open_expecting(&both, &sealed, &at("hostile", ZONE, "json:$['email']")).expect("opens");
    assert_eq!(
        (opened.kind(), opened.plaintext()),
        (ValueKind::String, &br#""SECRET""#[..])
    );
    for (wrong, error) in [
        (
            at("hostile", ZONE, "json:$['name']"),
            OpenError::WrongLocation,
        ),
        (at("other", ZONE, "json:$['email']"), OpenError::WrongPolicy),
        (
            at("hostile", "eu-west", "json:$['email']"),
            OpenError::WrongZone,
        ),
    ] {
        assert_eq!(open_expecting(&both, &sealed, &wrong).err(), Some(error));
    }

    // Change one byte of the first recipient's `enc`: neither region opens any more.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut bin = b64.decode(&sealed[4..]).expect("base64");
    let z = usize::from(bin[2]);
    let first_enc = 4 + z + 8;
    bin[first_enc] ^= 1;
    let changed = format!("pe2.{}", b64.encode(&bin));
    for k in [&a_jwk, &b_jwk] {
        assert_eq!(open(&ring(&[k]), &changed).err(), Some(OpenError::Tampered));
    }
}

/// Found by the generated-policy property test (`invariants.rs`): a policy that encrypts the
/// whole body (`$`) produces the body `"pe2.…"`, and `reveal` does not open it because it only
/// looks for envelopes in bodies that start with `{` or `[`. The origin then gets the envelope
/// instead of the body, silently (`opened == 0`). Fix: `reveal.rs`, `reveal`, accept `"` as a
/// JSON start: `.is_some_and(|b| matches!(b, b'{' | b'[' | b'"'))`.
#[test]
fn reveal_opens_a_sealed_root() {
    let private = keys();
    let e = engine_with(
        "",
        "rules:\n  - select: { json: '$' }\n    action: encrypt\n",
        &private,
    );
    for body in [
        r#"{"email":"SECRET"}"#,
        r#""SECRET""#,
        "12345678901234567890",
        "[1,\"SECRET\"]",
    ] {
        let p = protected(e.apply(&json_req(body)), &["SECRET", "1234567890"]);
        let opened = reveal(
            &private,
            &p.request,
            pii_core::reveal::Expect {
                policy: Some("hostile"),
                zone: Some(ZONE),
            },
        )
        .expect("reveal");
        assert_eq!(opened.opened(), 1, "{body}");
        assert_eq!(opened.request.body, body.as_bytes(), "{body}");
    }
}

/// JSON member names are matched exactly (RFC 9535), but some origins bind JSON
/// case-insensitively (ASP.NET Core's web defaults, Jackson with
/// `ACCEPT_CASE_INSENSITIVE_PROPERTIES`): they read `Email` as `email`.
#[test]
fn case_variants_of_selected_json_names_are_protected_or_rejected() {
    let private = keys();
    let e = engine(&private);
    let mut leaks = Vec::new();
    for body in [
        r#"{"Email":"SECRET"}"#,
        r#"{"EMAIL":"SECRET"}"#,
        r#"{"email":"a@x.de","Email":"SECRET"}"#,
    ] {
        leaks.extend(leak(e.apply(&json_req(body)), body));
    }
    assert!(leaks.is_empty(), "forwarded with plaintext: {leaks:?}");
}

/// A policy limited to some methods does not see a request whose method an origin framework
/// overrides (`X-HTTP-Method-Override`, `_method`). Policies for sensitive routes should list
/// no methods; this test shows the exposure when they do.
#[test]
fn method_override_does_not_dodge_a_method_limited_policy() {
    let private = keys();
    let text = format!(
        "apiVersion: pii-edge/v1\nname: hostile\nzone: {ZONE}\nmatch:\n  methods: [POST]\n  paths: [\"/api/**\"]\n{RULES}"
    );
    let policy = Policy::from_yaml("m.yaml", &text).expect("policy");
    let e = Engine::new(vec![policy], private.public(), TokenKeys::default()).expect("engine");
    let mut req = json_req(r#"{"email":"SECRET"}"#)
        .with_header("X-HTTP-Method-Override", "POST")
        .with_query("_method=POST");
    req.method = "GET".into();
    assert!(
        leak(e.apply(&req), "GET + override").is_none(),
        "forwarded with plaintext"
    );
}
