//! `tokenize` with `normalize` through the engine, token key rotation, and what `check`
//! refuses (issue 17, point 2).

use pii_core::{
    token::tokens, token::Normalize, Engine, Outcome, Policy, PublicKeyring, Request, TokenKeys,
};

const OLD: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA";
const NEW: &str = "bmV3ZXItbmV3ZXItbmV3ZXItbmV3ZXItbmV3ZXItbmV3ZXI";

fn keys(both: bool) -> TokenKeys {
    let new = if both {
        format!(r#",{{"kty":"oct","domain":"email","created":200,"k":"{NEW}"}}"#)
    } else {
        String::new()
    };
    TokenKeys::from_jwks(&format!(
        r#"{{"keys":[{{"kty":"oct","domain":"email","created":100,"k":"{OLD}"}}{new}]}}"#
    ))
    .expect("token keys")
}

fn policy(normalize: &str) -> Policy {
    Policy::from_yaml(
        "t.yaml",
        &format!(
            "apiVersion: pii-edge/v1\nname: t\nmatch: {{ paths: [\"/users\"] }}\nrules:\n  - select: {{ json: $.email }}\n    action: tokenize\n    domain: email\n{normalize}"
        ),
    )
    .expect("policy")
}

fn token_of(engine: &Engine, email: &str) -> String {
    let body = serde_json::json!({ "email": email }).to_string();
    let req = Request::new("POST", "/users")
        .with_header("content-type", "application/json")
        .with_body(body.into_bytes());
    let Outcome::Protected(p) = engine.apply(&req) else {
        panic!("not protected")
    };
    let out: serde_json::Value = serde_json::from_slice(&p.request.body).expect("json");
    out["email"].as_str().expect("token").to_string()
}

#[test]
fn normalized_spellings_of_an_address_get_one_token() {
    let engine = Engine::new(
        vec![policy("    normalize: [trim, fullwidth, casefold]\n")],
        PublicKeyring::default(),
        keys(false),
    )
    .expect("engine");
    let a = token_of(&engine, "Ann@Example.com");
    assert_eq!(a, token_of(&engine, " ann@example.COM "));
    assert_eq!(a, token_of(&engine, "ＡＮＮ＠ｅｘａｍｐｌｅ．ｃｏｍ"));
    assert_ne!(a, token_of(&engine, "bob@example.com"));
    // What the origin computes for a lookup is what the edge wrote.
    let steps = [Normalize::Trim, Normalize::Fullwidth, Normalize::Casefold];
    let found = tokens(&keys(false), "email", &steps, b"ANN@example.com").expect("tokens");
    assert_eq!(found[0].token, a);

    // Without normalization the spellings stay apart, and no token equals a normalized one.
    let plain =
        Engine::new(vec![policy("")], PublicKeyring::default(), keys(false)).expect("engine");
    assert_ne!(
        token_of(&plain, "Ann@Example.com"),
        token_of(&plain, "ann@example.com")
    );
    assert_ne!(token_of(&plain, "ann@example.com"), a);
}

#[test]
fn after_a_rotation_the_edge_uses_the_new_key_and_the_origin_can_compute_both() {
    let before =
        Engine::new(vec![policy("")], PublicKeyring::default(), keys(false)).expect("engine");
    let stored = token_of(&before, "ann@example.com");
    let after =
        Engine::new(vec![policy("")], PublicKeyring::default(), keys(true)).expect("engine");
    let now = token_of(&after, "ann@example.com");
    assert_ne!(stored, now);
    let found = tokens(&keys(true), "email", &[], b"ann@example.com").expect("tokens");
    let all: Vec<&str> = found.iter().map(|t| t.token.as_str()).collect();
    assert_eq!(all, [now.as_str(), stored.as_str()]);
    assert!(found[0].current && !found[1].current);
}

#[test]
fn a_policy_accepts_exactly_the_token_domains_a_key_set_accepts() {
    // One validator: a domain the policy accepts must be one a token key can carry.
    for (domain, ok) in [
        ("email", true),
        ("email.v2", true),
        ("a..b", false),
        ("email.", false),
        (".email", false),
        ("E-mail", false),
    ] {
        let loaded = Policy::from_yaml(
            "t.yaml",
            &format!(
                "apiVersion: pii-edge/v1\nname: t\nmatch: {{}}\nrules:\n  - select: {{ json: $.email }}\n    action: tokenize\n    domain: \"{domain}\"\n"
            ),
        );
        let keys = TokenKeys::from_jwks(&format!(
            r#"{{"keys":[{{"kty":"oct","domain":"{domain}","created":100,"k":"{OLD}"}}]}}"#
        ));
        assert_eq!(
            loaded.is_ok(),
            ok,
            "policy, {domain}: {:?}",
            loaded.err().map(|e| e.to_string())
        );
        assert_eq!(keys.is_ok(), ok, "key set, {domain}");
    }
}

#[test]
fn check_refuses_what_the_edge_cannot_run_or_a_step_twice() {
    for (normalize, want) in [
        (
            "    normalize: [trim, nfkc]\n",
            "`nfkc` is not supported at the edge",
        ),
        ("    normalize: [trim, trim]\n", "listed twice"),
        (
            "    normalize: [lowercase]\n",
            "unknown variant `lowercase`",
        ),
    ] {
        let err = Policy::from_yaml(
            "t.yaml",
            &format!(
                "apiVersion: pii-edge/v1\nname: t\nmatch: {{}}\nrules:\n  - select: {{ json: $.email }}\n    action: tokenize\n    domain: email\n{normalize}"
            ),
        )
        .expect_err(normalize)
        .to_string();
        assert!(err.contains(want), "{normalize}: {err}");
        assert!(err.starts_with("t.yaml:8:"), "{err}");
    }
    let err = Policy::from_yaml(
        "t.yaml",
        "apiVersion: pii-edge/v1\nname: t\nmatch: {}\nrules:\n  - select: { json: $.email }\n    action: hash\n    normalize: [trim]\n",
    )
    .expect_err("normalize on hash")
    .to_string();
    assert!(
        err.contains("option `normalize` does not apply to action `hash`"),
        "{err}"
    );
}

#[test]
fn a_value_normalization_cannot_handle_follows_on_error() {
    let engine = Engine::new(
        vec![policy("    normalize: [digits]\n")],
        PublicKeyring::default(),
        keys(false),
    )
    .expect("engine");
    let req = Request::new("POST", "/users")
        .with_header("content-type", "application/json")
        .with_body(br#"{"email": "n/a"}"#.to_vec());
    let Outcome::Rejected(r) = engine.apply(&req) else {
        panic!("must be rejected")
    };
    assert_eq!(r.reason.code(), "not-applicable");
    assert!(!r.reason.to_string().contains("n/a"));
}
