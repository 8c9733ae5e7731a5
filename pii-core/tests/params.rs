//! Issue 21's kinds through the engine: a rule protects a parameter wherever an origin may
//! read it (merged sources, nested and mangled names), body shapes the rules cannot address
//! are refused, every reading of the path routes, declared charsets are refused everywhere,
//! unmatched requests follow the bundle's choice, and a body the transport withheld is refused
//! by the engine itself. Each check names the framework behaviour it stands for
//! (docs/policy.md, "Parameters", "Body shapes", "Path readings").

use pii_core::{keys::PrivateKey, Engine, Outcome, Policy, PrivateKeyring, Request, TokenKeys};

const ZONE: &str = "eu-central";

fn engine(policies: &[&str]) -> Engine {
    let mut ring = PrivateKeyring::new();
    ring.push(PrivateKey::generate(ZONE, "eu-central-1", 1).expect("keygen"));
    let policies = policies
        .iter()
        .map(|p| Policy::from_yaml("p.yaml", p).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    Engine::new(policies, ring.public(), TokenKeys::default()).expect("engine")
}

fn policy(name: &str, paths: &str, rules: &str) -> String {
    format!("apiVersion: pii-edge/v1\nname: {name}\nzone: {ZONE}\nmatch:\n  paths: [{paths}]\nrules:\n{rules}")
}

const SECRET: &str = "lena.beispiel@example.org";

/// The outcome's code: `protected`, `unmatched` or the rejection's reason code; and for a
/// protected request, that the plaintext is gone from everything forwarded.
fn outcome(engine: &Engine, req: &Request) -> String {
    match engine.apply(req) {
        Outcome::Protected(p) => {
            let r = &p.request;
            let mut text = format!(
                "{} {} {}",
                r.path,
                r.query,
                String::from_utf8_lossy(&r.body)
            );
            for (n, v) in &r.headers {
                text.push_str(&format!(" {n}: {v}"));
            }
            let decoded = text.replace("%40", "@");
            assert!(
                !decoded.contains(SECRET),
                "plaintext forwarded for {req:?}: {decoded}"
            );
            "protected".into()
        }
        Outcome::Unmatched => "forwarded-unmatched".into(),
        Outcome::Rejected(r) => r.reason.code().into(),
        other => format!("unknown outcome {other:?}"),
    }
}

fn lookup() -> Engine {
    engine(&[&policy(
        "lookup",
        "\"/lookup\"",
        "  - select: { query: email }\n    action: encrypt\n",
    )])
}

#[test]
fn a_query_rule_covers_form_json_and_cookies() {
    let e = lookup();
    let form = Request::new("POST", "/lookup")
        .with_header("Content-Type", "application/x-www-form-urlencoded")
        .with_body(format!("email={SECRET}"));
    assert_eq!(
        outcome(&e, &form),
        "protected",
        "Flask request.values, PHP $_REQUEST"
    );
    let json = Request::new("POST", "/lookup")
        .with_header("Content-Type", "application/json")
        .with_body(format!(r#"{{"email": "{SECRET}"}}"#));
    assert_eq!(outcome(&e, &json), "ambiguous-name", "Rails params");
    let cookie = Request::new("GET", "/lookup").with_header("Cookie", format!("email={SECRET}"));
    assert_eq!(
        outcome(&e, &cookie),
        "ambiguous-name",
        "PHP $_REQUEST with cookies"
    );
    let text = Request::new("POST", "/lookup")
        .with_header("Content-Type", "text/plain")
        .with_body(format!("email={SECRET}"));
    assert_eq!(outcome(&e, &text), "unsupported-media-type");
    let batch = Request::new("POST", "/lookup")
        .with_header("Content-Type", "application/json")
        .with_body(format!(r#"[{{"email": "{SECRET}"}}]"#));
    assert_eq!(
        outcome(&e, &batch),
        "body-shape",
        "an array the rule cannot address"
    );
    let query = Request::new("GET", "/lookup").with_query(format!("email={SECRET}"));
    assert_eq!(outcome(&e, &query), "protected");
}

#[test]
fn sources_narrow_a_rule() {
    let e = engine(&[&policy(
        "lookup",
        "\"/lookup\"",
        "  - select: { query: email }\n    action: encrypt\n    sources: [query]\n",
    )]);
    let cookie = Request::new("GET", "/lookup").with_header("Cookie", "email=x");
    assert_eq!(outcome(&e, &cookie), "protected");
    let bad = Policy::from_yaml(
        "p.yaml",
        &policy(
            "p",
            "\"/x\"",
            "  - select: { query: email }\n    action: hash\n    sources: [form, body]\n",
        ),
    )
    .unwrap_err()
    .to_string();
    assert!(bad.contains("unknown source `body`"), "{bad}");
    assert!(bad.contains("own source `query`"), "{bad}");
}

fn signup() -> Engine {
    engine(&[&policy(
        "signup",
        "\"/api/users\", \"/api/users/*\"",
        "  - select: { json: $.user.email }\n    action: encrypt\n  - select: { json: $..password }\n    action: redact\n",
    )])
}

#[test]
fn nested_and_mangled_names_of_a_json_rule_in_the_query() {
    let e = signup();
    for name in [
        "user[email]",
        "user%5Bemail%5D",
        "user.email",
        "$.user.email",
        "[user][email]",
        "user[][email]",
        "USER[E-Mail]",
        "!user.email",
        "user",
        "user[email][0]",
        "password",
        "a[password]",
    ] {
        let req = Request::new("POST", "/api/users")
            .with_query(format!("{name}={SECRET}"))
            .with_header("Content-Type", "application/json")
            .with_body(r#"{"user": {"name": "L"}}"#);
        assert_eq!(outcome(&e, &req), "ambiguous-name", "{name}");
    }
    let fine = Request::new("POST", "/api/users")
        .with_query("ref=newsletter&email_opt_in=1")
        .with_header("Content-Type", "application/json")
        .with_body(format!(r#"{{"user": {{"email": "{SECRET}"}}}}"#));
    assert_eq!(outcome(&e, &fine), "protected");
}

#[test]
fn leading_and_unbalanced_brackets_in_form_and_query() {
    let e = engine(&[&policy(
        "checkout",
        "\"/checkout\"",
        "  - select: { form: card_number }\n    action: encrypt\n  - select: { query: email }\n    action: encrypt\n",
    )]);
    for body in [
        "%5Bcard_number%5D=4111",
        "card%5Bnumber=4111",
        "card_number%5D=4111",
        "%5Dcard_number=4111",
        "%5B%5Dcard_number=4111",
        "!cardNumber=4111",
        "_card_number=4111",
        "card.number=4111",
    ] {
        let req = Request::new("POST", "/checkout")
            .with_header("Content-Type", "application/x-www-form-urlencoded")
            .with_body(body);
        assert_eq!(outcome(&e, &req), "ambiguous-name", "{body}");
    }
    // Raw brackets in a form body are not what browsers send: refused before names are read.
    let raw = Request::new("POST", "/checkout")
        .with_header("Content-Type", "application/x-www-form-urlencoded")
        .with_body("card[number=4111");
    assert_eq!(outcome(&e, &raw), "malformed-form");
    for q in [
        "[email]=x",
        "email]=x",
        "%5Demail=x",
        "email[a]=x",
        "q=1;email=x",
    ] {
        let req = Request::new("GET", "/checkout").with_query(q);
        assert_eq!(outcome(&e, &req), "ambiguous-name", "{q}");
    }
}

#[test]
fn body_shapes_the_rules_cannot_address() {
    let gql = engine(&[&policy(
        "graphql",
        "\"/graphql\"",
        "  - select: { json: $.variables.email }\n    action: encrypt\n",
    )]);
    let json = |body: String| {
        Request::new("POST", "/graphql")
            .with_header("Content-Type", "application/json")
            .with_body(body)
    };
    let batch = json(format!(
        r#"[{{"query": "q", "variables": {{"email": "{SECRET}"}}}}]"#
    ));
    assert_eq!(outcome(&gql, &batch), "body-shape", "Apollo batching");
    let patch = Request::new("PATCH", "/graphql")
        .with_header("Content-Type", "application/json-patch+json")
        .with_body(format!(
            r#"[{{"op": "replace", "path": "/variables/email", "value": "{SECRET}"}}]"#
        ));
    assert_eq!(outcome(&gql, &patch), "body-shape", "RFC 6902");
    let literal = json(format!(
        r#"{{"query": "mutation {{ signup(email: \"{SECRET}\") }}"}}"#
    ));
    assert_eq!(outcome(&gql, &literal), "ambiguous-name", "GraphQL literal");
    let variable = json(format!(
        r#"{{"query": "mutation S($email: String) {{ signup(email: $email) }}", "variables": {{"email": "{SECRET}"}}}}"#
    ));
    assert_eq!(outcome(&gql, &variable), "protected");
    let text = json(format!(
        r#"{{"query": "q", "variables": "{{\"email\": \"{SECRET}\"}}"}}"#
    ));
    assert_eq!(
        outcome(&gql, &text),
        "body-shape",
        "express-graphql: variables as JSON text"
    );
    let get = Request::new("GET", "/graphql").with_query("variables=%7B%22email%22%3A%22x%22%7D");
    assert_eq!(outcome(&gql, &get), "ambiguous-name", "GraphQL over GET");
    let get_literal = Request::new("GET", "/graphql").with_query("query=%7Bc(email%3A%22x%22)%7D");
    assert_eq!(outcome(&gql, &get_literal), "ambiguous-name");

    let e = signup();
    let wrapped = Request::new("POST", "/api/users")
        .with_header("Content-Type", "application/json")
        .with_body(format!(r#"{{"email": "{SECRET}"}}"#));
    assert_eq!(
        outcome(&e, &wrapped),
        "ambiguous-name",
        "Rails ParamsWrapper"
    );

    let anywhere = engine(&[&policy(
        "any",
        "\"/any\"",
        "  - select: { json: $..email }\n    action: encrypt\n",
    )]);
    let batch = Request::new("POST", "/any")
        .with_header("Content-Type", "application/json")
        .with_body(format!(r#"[{{"email": "{SECRET}"}}]"#));
    assert_eq!(
        outcome(&anywhere, &batch),
        "protected",
        "`..` addresses arrays"
    );
}

#[test]
fn every_reading_of_the_path_routes() {
    let e = signup();
    let body = format!(r#"{{"user": {{"email": "{SECRET}"}}}}"#);
    for path in [
        "/api/users/42%2Fx",
        "/api/users/%2e%2e",
        "/api/users/42%5Cx",
        "/api/users/42\\x",
        "/API/%75sers",
        "/api/./users",
        "/api/users;jsessionid=1",
    ] {
        let req = Request::new("PUT", path)
            .with_header("Content-Type", "application/json")
            .with_body(body.clone());
        assert_eq!(outcome(&e, &req), "protected", "{path}");
    }
    let two = engine(&[
        &policy(
            "one",
            "\"/a/*\"",
            "  - select: { header: x-a }\n    action: hash\n",
        ),
        &policy(
            "two",
            "\"/a/*/b\"",
            "  - select: { header: x-b }\n    action: hash\n",
        ),
    ]);
    assert_eq!(
        outcome(&two, &Request::new("GET", "/a/x%2Fb")),
        "ambiguous-path"
    );
    assert_eq!(outcome(&two, &Request::new("GET", "/a/x/b")), "protected");
}

#[test]
fn unmatched_requests_follow_the_choice() {
    let e = signup()
        .with_unmatched_rejected(&["/health".to_string(), "/static/**".to_string()])
        .expect("patterns");
    let forwarded = "forwarded-unmatched";
    assert_eq!(outcome(&e, &Request::new("GET", "/health")), forwarded);
    assert_eq!(
        outcome(&e, &Request::new("GET", "/static/a/b.css")),
        forwarded
    );
    // Pass-through only when every reading is: `..` applied leaves `/static`'s parent.
    assert_eq!(
        outcome(&e, &Request::new("GET", "/static/%2e%2e/x")),
        "unmatched"
    );
    assert_eq!(
        outcome(&e, &Request::new("POST", "/api/orders")),
        "unmatched"
    );
    assert_eq!(
        outcome(&signup(), &Request::new("POST", "/api/orders")),
        forwarded
    );
    assert!(signup()
        .with_unmatched_rejected(&["health".into()])
        .is_err());
}

#[test]
fn declared_charsets_are_refused_whatever_the_method() {
    let e = signup();
    let search = engine(&[&policy(
        "search",
        "\"/search\"",
        "  - select: { query: email }\n    action: encrypt\n",
    )]);
    let get = Request::new("GET", "/search")
        .with_query("%2BAGUAbQBhAGkAbA-=x")
        .with_header("Content-Type", "text/plain; charset=utf-7");
    assert_eq!(outcome(&search, &get), "unsupported-charset", "Django");
    let twice = Request::new("GET", "/search")
        .with_header("Content-Type", "text/plain; charset=utf-8; charset=utf-7");
    assert_eq!(outcome(&search, &twice), "unsupported-charset");
    let field = Request::new("GET", "/search").with_query("_charset_=iso-8859-1&q=1");
    assert_eq!(outcome(&search, &field), "unsupported-charset");
    let utf8 = Request::new("GET", "/search")
        .with_query("_charset_=UTF-8")
        .with_header("Content-Type", "text/plain; charset=\"UTF-8\"");
    assert_eq!(outcome(&search, &utf8), "protected");
    let put = Request::new("PUT", "/api/users/1")
        .with_header("Content-Type", "application/json; charset=utf-16");
    assert_eq!(outcome(&e, &put), "unsupported-charset");
}

#[test]
fn a_body_the_transport_withheld_is_refused_by_the_engine() {
    let e = signup();
    let req = Request::new("POST", "/api/users")
        .with_header("Content-Type", "application/json")
        .with_header("Content-Length", "40")
        .with_body_withheld(true);
    assert_eq!(outcome(&e, &req), "body-not-received");
    let empty = Request::new("POST", "/api/users")
        .with_header("Content-Length", "0")
        .with_body_withheld(true);
    assert_eq!(outcome(&e, &empty), "protected");
}

/// docs/envelope.md §5.2: a cookie sent without `=` comes back with one, so the origin finds
/// a cookie of the same name (not `session_idpe2.…`).
#[test]
fn a_cookie_without_equals_comes_back_with_one() {
    let e = engine(&[&policy(
        "c",
        "\"/c\"",
        "  - select: { cookie: session_id }\n    action: encrypt\n",
    )]);
    let req = Request::new("GET", "/c").with_header("Cookie", "session_id; a=1");
    let Outcome::Protected(p) = e.apply(&req) else {
        panic!("not protected")
    };
    let cookie = p.request.header("cookie").expect("cookie header");
    assert!(cookie.starts_with("session_id=pe2."), "{cookie}");
    assert!(cookie.ends_with("; a=1"), "{cookie}");
}

mod properties {
    use super::*;
    use pii_core::params::{pairs, readings};
    use pii_core::{engine::route, location::Part};
    use proptest::prelude::*;

    fn spelled() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                Just("email".to_string()),
                Just("user".to_string()),
                Just("[".to_string()),
                Just("]".to_string()),
                Just(".".to_string()),
                Just("!".to_string()),
                Just("_".to_string()),
                Just("%2F".to_string()),
                Just("%2e%2e".to_string()),
                Just("/".to_string()),
                Just("\\".to_string()),
                Just("&".to_string()),
                Just("=".to_string()),
                Just("0".to_string()),
                "[a-zA-Z]{1,3}",
                any::<char>().prop_map(String::from),
            ],
            0..10,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        /// The splitter keeps every piece as written and counts occurrences per name; the
        /// readings never hold an empty segment and ignore ASCII case.
        #[test]
        fn pairs_and_readings(text in spelled()) {
            let p = pairs(&text, Part::Query);
            let raw: Vec<&str> = p.iter().map(|v| v.raw).collect();
            prop_assert_eq!(raw.join("&"), text.clone());
            for (i, v) in p.iter().enumerate() {
                let before = p[..i].iter().filter(|w| w.name.eq_ignore_ascii_case(&v.name)).count();
                prop_assert_eq!(v.occurrence, before);
            }
            let r = readings(&text);
            prop_assert!(r.iter().all(|s| !s.is_empty() && s.iter().all(|x| !x.is_empty())));
            prop_assert_eq!(r, readings(&text.to_ascii_uppercase()));
        }

        /// A name some reading of which is a protected parameter, in the query, a form body
        /// or a cookie, is refused or protected: its marker is never forwarded.
        #[test]
        fn a_protected_reading_is_never_forwarded(name in spelled(), place in 0u8..3) {
            let e = signup();
            let protected = readings(&name).iter().any(|s| {
                s.len() >= 2 && s[0] == "user" && s[1] == "ernail" || s.first().is_some_and(|f| f == "password")
            });
            let pct: String = name.bytes().map(|b| format!("%{b:02X}")).collect();
            let req = match place {
                0 => Request::new("POST", "/api/users")
                    .with_query(format!("{pct}=MARKER"))
                    .with_header("Content-Type", "application/json")
                    .with_body("{}"),
                1 => Request::new("POST", "/api/users")
                    .with_header("Content-Type", "application/json")
                    .with_header("Cookie", format!("a=1; {pct}=MARKER"))
                    .with_body("{}"),
                _ => Request::new("POST", "/api/users")
                    .with_header("Content-Type", "application/json")
                    .with_body(format!("{{{}: \"MARKER\"}}", serde_json::to_string(&name).unwrap_or_default())),
            };
            if let Outcome::Protected(p) = e.apply(&req) {
                let r = p.request;
                let text = format!("{} {} {:?}", r.query, String::from_utf8_lossy(&r.body), r.headers);
                if protected && place < 2 {
                    prop_assert!(!text.contains("MARKER"), "{:?} forwarded: {}", name, text);
                }
            }
        }

        /// Routing under every reading never panics, and names one of the policies or refuses.
        #[test]
        fn routing_under_every_reading(path in spelled()) {
            let two = [
                Policy::from_yaml("a", &policy("a", "\"/a/*\"", "  - select: { header: x }\n    action: hash\n")).unwrap_or_else(|e| panic!("{e}")),
                Policy::from_yaml("b", &policy("b", "\"/a/*/b\"", "  - select: { header: y }\n    action: hash\n")).unwrap_or_else(|e| panic!("{e}")),
            ];
            match route(&two, &Request::new("GET", format!("/{path}"))) {
                Ok(p) => prop_assert!(p.is_none_or(|p| p.name() == "a" || p.name() == "b")),
                Err(r) => prop_assert_eq!(r.code(), "ambiguous-path"),
            }
        }
    }
}
