//! The name equivalence of issue 13 through the engine (`docs/policy.md`, "Names"): a name
//! equivalent to a selected one (`pii_core::hooks::names`) but not selected as written is refused
//! (400 `ambiguous-name`) at every place a rule can select; where origins differ in which part
//! they read (cookies split on `,`, form fields in the query string), the union is protected;
//! encodings origins read differently are refused.

use pii_core::{Engine, Outcome, Policy, PublicKeyring, Request, TokenKeys};

fn engine(rules: &str) -> Engine {
    let policy = Policy::from_json(&format!(
        r#"{{"apiVersion": "pii-edge/v1", "name": "names", "match": {{"paths": ["/x", "/api/users"]}},
            "rules": [{rules}]}}"#
    ))
    .expect("policy");
    Engine::new(vec![policy], PublicKeyring::default(), TokenKeys::default()).expect("engine")
}

fn json(body: &str) -> Request {
    Request::new("POST", "/x")
        .with_header("content-type", "application/json")
        .with_body(body.as_bytes().to_vec())
}

fn form(body: &str) -> Request {
    Request::new("POST", "/x")
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(body.as_bytes().to_vec())
}

/// The problem code, or "protected" with the forwarded text, or "unmatched".
fn answer(e: &Engine, req: &Request) -> String {
    match e.apply(req) {
        Outcome::Rejected(r) => r.reason.code().to_string(),
        Outcome::Protected(p) => {
            let r = p.request;
            let headers: Vec<String> = r.headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
            format!(
                "protected {} ? {} | {}",
                String::from_utf8_lossy(&r.body),
                r.query,
                headers.join("; ")
            )
        }
        Outcome::Unmatched => "unmatched".into(),
        other => format!("unknown outcome {other:?}"),
    }
}

#[test]
fn json_names_equivalent_to_a_selected_one_are_refused_on_every_kind_of_path() {
    let hash = r#""action": "hash""#;
    for (path, body) in [
        (
            "$.user.password",
            r#"{"user": {"pa\u017f\u017fword": "S"}}"#,
        ),
        ("$.user.password", r#"{"User": {"password": "S"}}"#),
        ("$..password", r#"{"a": [{"b": {"PASSWORD": "S"}}]}"#),
        ("$..password", r#"{"pass_word": "S"}"#),
        ("$.messages[*].body", r#"{"messages": [{"Body": "S"}]}"#),
        (
            "$.messages[*].attachments[*].filename",
            r#"{"messages": [{"attachments": [{"FileName": "S"}]}]}"#,
        ),
        (
            "$.messages[?@.internal != true].body",
            r#"{"messages": [{"BODY": "S"}]}"#,
        ),
        (
            "$.messages[?@.internal != true].body",
            r#"{"messages": [{"Internal": false, "body": "S"}]}"#,
        ),
        ("$.items[1:].card", r#"{"items": [{}, {"\uff43ard": "S"}]}"#),
        ("$.email", r#"{"email": "S", "Email": "S2"}"#),
        ("$.email", r#"{"\u0435mail": "S"}"#),
    ] {
        let e = engine(&format!(r#"{{"select": {{"json": "{path}"}}, {hash}}}"#));
        assert_eq!(
            answer(&e, &json(body)),
            "ambiguous-name",
            "{path} on {body}"
        );
    }
}

#[test]
fn exact_json_names_are_protected_and_names_inside_a_protected_value_are_not_looked_at() {
    let e = engine(r#"{"select": {"json": "$..password"}, "action": "redact"}"#);
    let out = answer(&e, &json(r#"{"a": {"password": "S", "passwords": 1}}"#));
    assert_eq!(
        out,
        r#"protected {"a": {"passwords": 1}} ?  | content-type: application/json"#
    );
    // Inside `user`, sealed as a whole, `Email` is not a name any origin reads separately.
    let e = engine(
        r#"{"select": {"json": "$.user"}, "action": "redact", "replaceWith": "-"},
           {"select": {"json": "$..email"}, "action": "hash"}"#,
    );
    assert!(
        answer(&e, &json(r#"{"user": {"Email": "S", "email": "T"}}"#)).starts_with("protected")
    );
    // Unrelated names in another case are fine.
    let e = engine(r#"{"select": {"json": "$.user.email"}, "action": "hash"}"#);
    assert!(answer(
        &e,
        &json(r#"{"user": {"email": "S"}, "Meta": {"Email": 1}}"#)
    )
    .starts_with("protected"));
}

#[test]
fn form_query_header_and_cookie_names_are_refused_when_only_equivalent() {
    let e = engine(
        r#"{"select": {"form": "card_number"}, "action": "hash"},
           {"select": {"header": "x-national-id"}, "action": "hash"},
           {"select": {"cookie": "tracking_email"}, "action": "redact"}"#,
    );
    for body in [
        "card.number=SECRETVAL",
        "card+number=SECRETVAL",
        "Card.Number=SECRETVAL",
        "card%5Fnumber%5B%5D=SECRETVAL",
        "card_%EF%BD%8Eumber=SECRETVAL",
        "%EF%BD%83ard_number=SECRETVAL",
        "q=1;card_number=SECRETVAL",
    ] {
        assert_eq!(answer(&e, &form(body)), "ambiguous-name", "{body}");
    }
    for body in ["CARD_NUMBER=SECRETVAL", "%63ard_number=SECRETVAL"] {
        let out = answer(&e, &form(body));
        assert!(
            out.starts_with("protected") && !out.contains("SECRETVAL"),
            "{body}: {out}"
        );
    }
    let get = |h: &str, v: &str| Request::new("GET", "/x").with_header(h, v);
    assert_eq!(
        answer(&e, &get("X_National_ID", "SECRETVAL")),
        "ambiguous-name"
    );
    assert_eq!(
        answer(&e, &get("x-national_id", "SECRETVAL")),
        "ambiguous-name"
    );
    let out = answer(&e, &get("X-NATIONAL-ID", "SECRETVAL"));
    assert!(
        out.starts_with("protected") && !out.contains("SECRETVAL"),
        "{out}"
    );
    for cookie in [
        "tracking.email=SECRETVAL",
        "tracking%5Femail=SECRETVAL",
        "a=1, Tracking-Email=SECRETVAL",
        "a=1 TRACKING_EMAIL[]=SECRETVAL",
    ] {
        assert_eq!(
            answer(&e, &get("Cookie", cookie)),
            "ambiguous-name",
            "{cookie}"
        );
    }
}

#[test]
fn cookies_are_protected_under_every_split() {
    let e = engine(r#"{"select": {"cookie": "tracking_email"}, "action": "redact"}"#);
    let get = |v: &str| Request::new("GET", "/x").with_header("Cookie", v);
    for (cookie, left) in [
        (
            "$Version=1; session=x7Kp2, tracking_email=S",
            "$Version=1; session=x7Kp2",
        ),
        ("session=x7Kp2 tracking_email=S", "session=x7Kp2"),
        ("tracking_email = S; theme=dark", "theme=dark"),
    ] {
        assert_eq!(
            answer(&e, &get(cookie)),
            format!("protected  ?  | Cookie: {left}"),
            "{cookie}"
        );
    }
}

#[test]
fn a_form_rule_covers_the_query_string_unless_it_opts_out() {
    let e = engine(r#"{"select": {"form": "card_number"}, "action": "hash"}"#);
    let req = form("name=A").with_query("card_number=4111111111111111");
    let out = answer(&e, &req);
    assert!(out.contains("card_number=sha256"), "{out}");
    let req = form("name=A").with_query("x=1;card_number=4111111111111111");
    assert_eq!(answer(&e, &req), "ambiguous-name");

    let e = engine(r#"{"select": {"form": "card_number"}, "action": "hash", "alsoQuery": false}"#);
    let req = form("name=A").with_query("card_number=4111111111111111");
    assert!(answer(&e, &req).contains("card_number=4111111111111111"));

    let err = Policy::from_json(
        r#"{"apiVersion": "pii-edge/v1", "name": "p", "match": {},
            "rules": [{"select": {"query": "q"}, "action": "hash", "alsoQuery": true}]}"#,
    )
    .expect_err("alsoQuery on a query rule");
    assert!(err.to_string().contains("alsoQuery"), "{err}");
}

#[test]
fn encodings_origins_read_differently_are_refused() {
    let e = engine(r#"{"select": {"form": "card_number"}, "action": "hash"}"#);
    let typed = |ct: &str| {
        Request::new("POST", "/x")
            .with_header("content-type", ct)
            .with_body(b"card_number=1".to_vec())
    };
    let form_ct = "application/x-www-form-urlencoded";
    assert_eq!(
        answer(&e, &typed(&format!("{form_ct}; charset=ibm037"))),
        "unsupported-charset"
    );
    assert_eq!(
        answer(&e, &typed(&format!("{form_ct}; charset=ISO-8859-1"))),
        "unsupported-charset"
    );
    assert!(answer(&e, &typed(&format!("{form_ct}; charset=UTF-8"))).starts_with("protected"));
    assert_eq!(
        answer(
            &e,
            &typed(&format!("{form_ct}; charset=utf-8; Charset=ibm037"))
        ),
        // Every `charset` parameter counts, whatever the method (issue 21).
        "unsupported-charset"
    );
    assert_eq!(answer(&e, &form("card%u005Fnumber=1")), "invalid-encoding");
    assert_eq!(answer(&e, &form("x=100%")), "invalid-encoding");
    assert_eq!(answer(&e, &form("%FFcard_number=1")), "invalid-encoding");
    let q = Request::new("GET", "/x").with_query("card%u005fnumber=1");
    assert_eq!(answer(&e, &q), "invalid-encoding");
}

#[test]
fn a_format_suffix_reaches_the_route() {
    let e = engine(r#"{"select": {"json": "$.email"}, "action": "hash"}"#);
    for path in ["/api/users.json", "/API/Users.XML", "/x.json"] {
        let req = Request::new("POST", path)
            .with_header("content-type", "application/json")
            .with_body(br#"{"email": "S"}"#.to_vec());
        assert!(answer(&e, &req).contains("sha256:"), "{path}");
    }
    let req = Request::new("POST", "/api/users.json/more")
        .with_header("content-type", "application/json")
        .with_body(br#"{"email": "S"}"#.to_vec());
    assert_eq!(answer(&e, &req), "unmatched");
}
