//! Declared body shapes (`shape:` in a policy; docs/policy.md, "Body shapes"): with the
//! declaration, the JSON rules apply under the origin's reading (a batch's elements, a JSON
//! Patch operation's `value` at the member its `path` writes, the members Rails' ParamsWrapper
//! wraps, the JSON text of a GraphQL `variables` parameter), every envelope opens at the
//! location the spec gives it, and whatever the reading cannot address is still refused.
#![cfg(all(feature = "open", feature = "yaml"))]

use pii_core::envelope;
use pii_core::{
    keys::PrivateKey, Engine, Outcome, Policy, PrivateKeyring, Protected, Request, TokenKeys,
};
use proptest::prelude::*;

const ZONE: &str = "eu-central";
const SECRET: &str = "lena.beispiel@example.org";

fn keys() -> PrivateKeyring {
    let mut ring = PrivateKeyring::new();
    ring.push(PrivateKey::generate(ZONE, "eu-central-1", 1).expect("keygen"));
    ring
}

fn engine(ring: &PrivateKeyring, shape: &str, rules: &str) -> Engine {
    let yaml = format!(
        "apiVersion: pii-edge/v1\nname: p\nzone: {ZONE}\nmatch:\n  paths: [\"/x\"]\n{shape}rules:\n{rules}"
    );
    let policy = Policy::from_yaml("p.yaml", &yaml).unwrap_or_else(|e| panic!("{e}"));
    Engine::new(vec![policy], ring.public(), TokenKeys::default()).expect("engine")
}

const EMAIL_RULE: &str = "  - select: { json: $.variables.email }\n    action: encrypt\n";

fn json(method: &str, body: &str) -> Request {
    Request::new(method, "/x")
        .with_header("Content-Type", "application/json")
        .with_body(body.as_bytes().to_vec())
}

fn code(e: &Engine, req: &Request) -> String {
    match e.apply(req) {
        Outcome::Protected(_) => "protected".into(),
        Outcome::Unmatched => "unmatched".into(),
        Outcome::Rejected(r) => r.reason.code().into(),
        other => format!("unknown outcome {other:?}"),
    }
}

fn protected(e: &Engine, req: &Request) -> Protected {
    match e.apply(req) {
        Outcome::Protected(p) => p,
        other => panic!("not protected: {other:?}"),
    }
}

/// Every envelope in `text` (pe2. … up to a quote, `&` or the end), opened, with the location
/// it is bound to.
fn opened(ring: &PrivateKeyring, text: &str) -> Vec<(String, String)> {
    let text = text
        .replace("%22", "\"")
        .replace("%2C", ",")
        .replace("%7D", "}");
    let mut out = Vec::new();
    for (i, _) in text.match_indices("pe2.") {
        let end = text[i..]
            .find(['"', '&', ','])
            .map_or(text.len(), |e| i + e);
        let env = &text[i..end];
        let o = envelope::open(ring, env).unwrap_or_else(|e| panic!("{env}: {e}"));
        out.push((
            o.binding().location.to_string(),
            String::from_utf8(o.plaintext().to_vec()).expect("utf8"),
        ));
    }
    out
}

#[test]
fn without_a_declaration_the_shapes_are_refused() {
    let ring = keys();
    let e = engine(&ring, "", EMAIL_RULE);
    let batch = json(
        "POST",
        &format!(r#"[{{"variables": {{"email": "{SECRET}"}}}}]"#),
    );
    assert_eq!(code(&e, &batch), "body-shape");
    let get = Request::new("GET", "/x").with_query("variables=%7B%22email%22%3A%22x%22%7D");
    assert_eq!(code(&e, &get), "ambiguous-name");
    let patch = json(
        "PATCH",
        &format!(r#"[{{"op": "add", "path": "/variables/email", "value": "{SECRET}"}}]"#),
    );
    assert_eq!(code(&e, &patch), "body-shape");
}

#[test]
fn a_declared_batch_protects_every_element() {
    let ring = keys();
    let e = engine(&ring, "shape: { arrayRoot: batch }\n", EMAIL_RULE);
    let body = format!(
        r#"[{{"query": "q1", "variables": {{"email": "{SECRET}"}}}}, {{"query": "q2"}}, {{"variables": {{"email": "b@example.org", "n": 1}}}}]"#
    );
    let p = protected(&e, &json("POST", &body));
    let out = String::from_utf8(p.request.body.clone()).expect("utf8");
    assert!(
        !out.contains(SECRET) && !out.contains("b@example.org"),
        "{out}"
    );
    assert!(
        out.contains(r#"{"query": "q2"}"#),
        "other elements byte for byte: {out}"
    );
    assert_eq!(
        opened(&ring, &out),
        [
            (
                "json:$[0]['variables']['email']".to_string(),
                format!("\"{SECRET}\"")
            ),
            (
                "json:$[2]['variables']['email']".to_string(),
                "\"b@example.org\"".to_string()
            ),
        ]
    );
    assert_eq!(p.fields.len(), 2);
    assert_eq!(
        p.fields[1].location.to_string(),
        "json:$[2]['variables']['email']"
    );
    round_trip(&ring, &p, &body);
    // An object root is still one body.
    let one = json(
        "POST",
        &format!(r#"{{"variables": {{"email": "{SECRET}"}}}}"#),
    );
    assert_eq!(code(&e, &one), "protected");
    // A body that is not JSON is refused as any such body is, declaration or not.
    assert_eq!(
        code(&e, &json("POST", r#"[{"variables": {"email": "x"}"#)),
        code(
            &engine(&ring, "", EMAIL_RULE),
            &json("POST", r#"[{"variables": {"email": "x"}"#)
        )
    );
    assert_ne!(
        code(&e, &json("POST", r#"[{"a": 1}, {"a": 1, "a": 2}]"#)),
        "protected"
    );
    // Elements of another shape, and the checks of a body inside each element.
    assert_eq!(
        code(&e, &json("POST", r#"[{"query": "q"}, "x"]"#)),
        "body-shape"
    );
    assert_eq!(
        code(&e, &json("POST", r#"[[{"variables": {"email": "x"}}]]"#)),
        "body-shape"
    );
    let literal = format!(r#"[{{"query": "mutation {{ s(email: \"{SECRET}\") }}"}}]"#);
    assert_eq!(code(&e, &json("POST", &literal)), "ambiguous-name");
    let text = format!(r#"[{{"variables": "{{\"email\": \"{SECRET}\"}}"}}]"#);
    assert_eq!(code(&e, &json("POST", &text)), "body-shape");
}

#[test]
fn a_declared_json_patch_protects_the_values_its_paths_write() {
    let ring = keys();
    let rules = "  - select: { json: $.user.email }\n    action: encrypt\n  - select: { json: \"$.user.phones[*].number\" }\n    action: encrypt\n";
    let e = engine(&ring, "shape: { arrayRoot: json-patch }\n", rules);
    let body = format!(
        r#"[{{"op": "test", "path": "/user/email", "value": "{SECRET}"}}, {{"op": "replace", "path": "/user/email", "value": "new@example.org"}}, {{"op": "add", "path": "/user", "value": {{"email": "c@example.org", "name": "C"}}}}, {{"op": "add", "path": "/user/phones/-", "value": {{"number": "+49 171 5550199"}}}}, {{"op": "remove", "path": "/user/name"}}, {{"op": "copy", "from": "/user/email", "path": "/contact"}}, {{"op": "replace", "path": "/user/name", "value": "Lena"}}]"#
    );
    let p = protected(&e, &json("PATCH", &body));
    let out = String::from_utf8(p.request.body.clone()).expect("utf8");
    for plain in [SECRET, "new@example.org", "c@example.org", "5550199"] {
        assert!(!out.contains(plain), "{plain} in {out}");
    }
    assert!(out.contains(r#""value": "Lena""#), "{out}");
    assert!(out.contains(r#""name": "C""#), "{out}");
    let opened = opened(&ring, &out);
    let locations: Vec<&str> = opened.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        locations,
        [
            "json:$[0]['value']",
            "json:$[1]['value']",
            "json:$[2]['value']['email']",
            "json:$[3]['value']['number']",
        ]
    );
    assert_eq!(opened[0].1, format!("\"{SECRET}\""));
    round_trip(&ring, &p, &body);

    // What the reading cannot address.
    let bad = |ops: &str| code(&e, &json("PATCH", ops));
    assert_eq!(
        bad(r#"[{"op": "frobnicate", "path": "/user/email", "value": "x"}]"#),
        "body-shape"
    );
    assert_eq!(
        bad(r#"[{"op": "add", "path": "user/email", "value": "x"}]"#),
        "body-shape"
    );
    assert_eq!(
        bad(r#"[{"op": "add", "path": "/user/e~2mail", "value": "x"}]"#),
        "body-shape"
    );
    assert_eq!(bad(r#"[{"op": "add", "value": "x"}]"#), "body-shape");
    assert_eq!(
        bad(r#"[{"op": "copy", "from": 1, "path": "/a"}]"#),
        "body-shape"
    );
    assert_eq!(bad(r#"["add"]"#), "body-shape");
    // An object root is still a plain body.
    assert_eq!(
        code(
            &e,
            &json("PATCH", &format!(r#"{{"user": {{"email": "{SECRET}"}}}}"#))
        ),
        "protected"
    );

    // A rule that protects an ancestor of the written member as a whole, or selects by index.
    let whole = engine(
        &ring,
        "shape: { arrayRoot: json-patch }\n",
        "  - select: { json: $.user }\n    action: encrypt\n",
    );
    let inside = format!(r#"[{{"op": "add", "path": "/user/email", "value": "{SECRET}"}}]"#);
    assert_eq!(code(&whole, &json("PATCH", &inside)), "body-shape");
    let at = format!(r#"[{{"op": "add", "path": "/user", "value": {{"email": "{SECRET}"}}}}]"#);
    assert_eq!(code(&whole, &json("PATCH", &at)), "protected");
    let indexed = engine(
        &ring,
        "shape: { arrayRoot: json-patch }\n",
        "  - select: { json: \"$.users[0].email\" }\n    action: encrypt\n",
    );
    let pos = format!(r#"[{{"op": "add", "path": "/users/0/email", "value": "{SECRET}"}}]"#);
    assert_eq!(code(&indexed, &json("PATCH", &pos)), "body-shape");
    let removed = engine(
        &ring,
        "shape: { arrayRoot: json-patch }\n",
        "  - select: { json: $.user.email }\n    action: redact\n",
    );
    assert_eq!(code(&removed, &json("PATCH", &inside)), "body-shape");
}

#[test]
fn a_declared_wrapper_reads_top_level_members_under_its_key() {
    let ring = keys();
    let rules = "  - select: { json: $.user.email }\n    action: encrypt\n  - select: { json: $.note }\n    action: encrypt\n";
    let e = engine(&ring, "shape: { wrapper: user }\n", rules);
    let body = format!(r#"{{"email": "{SECRET}", "note": "call me", "n": 1}}"#);
    let p = protected(&e, &json("POST", &body));
    let out = String::from_utf8(p.request.body.clone()).expect("utf8");
    assert!(!out.contains(SECRET) && !out.contains("call me"), "{out}");
    assert!(out.contains(r#""n": 1"#), "{out}");
    let mut opened = opened(&ring, &out);
    opened.sort();
    assert_eq!(
        opened,
        [
            ("json:$['email']".to_string(), format!("\"{SECRET}\"")),
            ("json:$['note']".to_string(), "\"call me\"".to_string()),
        ]
    );
    assert_eq!(p.fields.len(), 2);
    round_trip(&ring, &p, &body);
    // With the key present, Rails does not wrap: the plain reading.
    let inside = format!(r#"{{"user": {{"email": "{SECRET}"}}, "email": "other@example.org"}}"#);
    let p = protected(&e, &json("POST", &inside));
    let out = String::from_utf8(p.request.body).expect("utf8");
    assert!(
        !out.contains(SECRET) && out.contains("other@example.org"),
        "{out}"
    );
    // Without the declaration: refused, as before.
    let plain = engine(&ring, "", rules);
    assert_eq!(code(&plain, &json("POST", &body)), "ambiguous-name");
    // A member both readings change in different places.
    let both = engine(
        &ring,
        "shape: { wrapper: user }\n",
        "  - select: { json: $.user.address.city }\n    action: encrypt\n  - select: { json: $.address.street }\n    action: encrypt\n",
    );
    let addr = r#"{"address": {"city": "Berlin", "street": "Hauptstr. 1"}}"#;
    assert_eq!(code(&both, &json("POST", addr)), "body-shape");
    // A member both readings change as one value: protected once.
    let any = engine(
        &ring,
        "shape: { wrapper: user }\n",
        "  - select: { json: $.user.email }\n    action: encrypt\n  - select: { json: $..email }\n    action: hash\n",
    );
    let p = protected(&any, &json("POST", &format!(r#"{{"email": "{SECRET}"}}"#)));
    assert_eq!(p.fields.len(), 1);
    assert_eq!(p.fields[0].location.to_string(), "json:$['email']");
    assert_eq!(
        p.fields[0].action.as_str(),
        "encrypt",
        "the wrapped reading's rule"
    );
}

#[test]
fn declared_json_params_are_read_as_the_member_of_their_name() {
    let ring = keys();
    let e = engine(&ring, "shape: { jsonParams: [variables] }\n", EMAIL_RULE);
    let vars = format!(r#"{{"email":"{SECRET}","n":1}}"#);
    let q = format!("query=query%20Q%7Bx%7D&variables={}", urlencode(&vars));
    let p = protected(&e, &Request::new("GET", "/x").with_query(&q));
    assert!(
        p.request
            .query
            .starts_with("query=query%20Q%7Bx%7D&variables="),
        "{}",
        p.request.query
    );
    let opened = opened(&ring, &p.request.query);
    assert_eq!(
        opened,
        [(
            "json:$['variables']['email']".to_string(),
            format!("\"{SECRET}\"")
        )]
    );
    assert_eq!(
        p.fields[0].location.to_string(),
        "json:$['variables']['email']"
    );
    // The parameter as a form field.
    let form = Request::new("POST", "/x")
        .with_header("Content-Type", "application/x-www-form-urlencoded")
        .with_body(format!("variables={}", urlencode(&vars)).into_bytes());
    assert_eq!(code(&e, &form), "protected");
    // The name in another ASCII case is the same declared parameter, read under the
    // policy's spelling.
    let upper = format!("VARIABLES={}", urlencode(&vars));
    let p = protected(&e, &Request::new("GET", "/x").with_query(&upper));
    assert_eq!(
        p.fields[0].location.to_string(),
        "json:$['variables']['email']"
    );
    // Text that is not JSON, other spellings, literals in the document.
    let not_json = Request::new("GET", "/x").with_query("variables=%7B%22email%22%3A");
    assert_eq!(code(&e, &not_json), "body-shape");
    let nested = Request::new("GET", "/x").with_query("variables%5Bemail%5D=x");
    assert_eq!(code(&e, &nested), "ambiguous-name");
    let literal = Request::new("GET", "/x").with_query("query=%7Bc(email%3A%22x%22)%7D");
    assert_eq!(code(&e, &literal), "ambiguous-name");
    // Nothing to protect inside: forwarded as it came.
    let none = Request::new("GET", "/x").with_query("variables=%7B%22n%22%3A1%7D");
    let p = protected(&e, &none);
    assert_eq!(p.request.query, "variables=%7B%22n%22%3A1%7D");
}

#[test]
fn declarations_are_checked_at_load() {
    let load = |shape: &str| {
        let yaml = format!(
            "apiVersion: pii-edge/v1\nname: p\nzone: {ZONE}\nmatch:\n  paths: [\"/x\"]\nshape: {shape}\nrules:\n{EMAIL_RULE}"
        );
        Policy::from_yaml("p.yaml", &yaml)
            .err()
            .map(|e| e.to_string())
    };
    assert_eq!(
        load("{ arrayRoot: batch, wrapper: variables, jsonParams: [variables] }"),
        None
    );
    let e = load("{ arrayRoot: bach }").expect("an error");
    assert!(
        e.contains("p.yaml:6") && e.contains("did you mean `batch`"),
        "{e}"
    );
    let e = load("{ wraper: user }").expect("an error");
    assert!(e.contains("did you mean `wrapper`"), "{e}");
    let e = load("{ wrapper: user }").expect("an error");
    assert!(
        e.contains("p.yaml:6") && e.contains("no JSON rule reads under `$.user`"),
        "{e}"
    );
    let e = load("{ jsonParams: [\"variables[x]\"] }").expect("an error");
    assert!(e.contains("not a plain member name"), "{e}");
}

/// `reveal` (what an origin package runs) opens every envelope of the forwarded body at its
/// place and gives back the body as sent.
fn round_trip(ring: &PrivateKeyring, p: &Protected, sent: &str) {
    let expect = pii_core::reveal::Expect {
        policy: Some("p"),
        zone: Some(ZONE),
    };
    let r = pii_core::reveal(ring, &p.request, expect).expect("reveal");
    assert_eq!(
        r.opened(),
        p.fields
            .iter()
            .filter(|f| f.action.as_str() == "encrypt")
            .count()
    );
    assert_eq!(String::from_utf8(r.request.body).expect("utf8"), sent);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the batch, patch or parameter holds, a declared reading forwards no plaintext
    /// under a protected member, and every envelope opens to the value sent, at its location.
    #[test]
    fn declared_readings_never_forward_the_plaintext(
        values in proptest::collection::vec("[a-z]{3,8}@[a-z]{3,6}\\.org", 1..5),
        extra in proptest::collection::vec("[a-z]{1,6}", 0..3),
    ) {
        let ring = keys();
        let batch = engine(&ring, "shape: { arrayRoot: batch }\n", EMAIL_RULE);
        let elements: Vec<String> = values
            .iter()
            .zip(extra.iter().chain(std::iter::repeat(&String::new())))
            .map(|(v, x)| format!(r#"{{"query": "{x}", "variables": {{"email": "{v}", "{x}k": [1]}}}}"#))
            .collect();
        let p = protected(&batch, &json("POST", &format!("[{}]", elements.join(","))));
        let out = String::from_utf8(p.request.body).expect("utf8");
        let got: Vec<String> = opened(&ring, &out).into_iter().map(|(_, v)| v).collect();
        let want: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
        prop_assert_eq!(got, want);

        let patch = engine(&ring, "shape: { arrayRoot: json-patch }\n", EMAIL_RULE);
        let ops: Vec<String> = values
            .iter()
            .map(|v| format!(r#"{{"op": "add", "path": "/variables", "value": {{"email": "{v}"}}}}"#))
            .collect();
        let p = protected(&patch, &json("PATCH", &format!("[{}]", ops.join(","))));
        let out = String::from_utf8(p.request.body).expect("utf8");
        for v in &values {
            prop_assert!(!out.contains(v.as_str()));
        }

        let params = engine(&ring, "shape: { jsonParams: [variables] }\n", EMAIL_RULE);
        let q: Vec<String> = values
            .iter()
            .map(|v| format!("variables={}", urlencode(&format!(r#"{{"email": "{v}"}}"#))))
            .collect();
        let p = protected(&params, &Request::new("GET", "/x").with_query(q.join("&")));
        for v in &values {
            prop_assert!(!p.request.query.contains(&urlencode(v)) && !p.request.query.contains(v.as_str()));
        }
        prop_assert_eq!(opened(&ring, &p.request.query).len(), values.len());
    }
}
