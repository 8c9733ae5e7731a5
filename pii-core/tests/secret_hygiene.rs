//! Secret hygiene (issue 8, point 5): every error path reachable with recognisable plaintext
//! (`PLAINTEXT-CANARY-…`) in the request and recognisable key bytes (the `d` of a private key,
//! the `k` of a token key, in base64url, standard base64 and hex), and a check that none of them
//! appears in any error message (`Display`), `Debug` output, rejection, or report.
//!
//! The edge side (log lines, problem responses, bundle errors) is checked in
//! `edge-fn/tests/secret_hygiene.rs`.
#![cfg(all(feature = "open", feature = "yaml"))]

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use pii_core::envelope::{open_expecting, Binding, TestSealer, ValueKind};
use pii_core::{
    keys::PrivateKey, reveal, Engine, Outcome, Policy, PrivateKeyring, PublicKeyring, Request,
    Residency, TokenKeys,
};
use serde_json::Value;

const CANARY: &str = "PLAINTEXT-CANARY-7f3a";
const ZONE: &str = "eu-central";

/// Every spelling of the key bytes we look for.
struct Secrets {
    needles: Vec<String>,
}

impl Secrets {
    fn new(private_jwk: &str, token_jwk: &str) -> Self {
        let mut needles = vec![CANARY.to_owned()];
        for (jwk, member) in [(private_jwk, "d"), (token_jwk, "k")] {
            let v: Value = serde_json::from_str(jwk).expect("jwk");
            let b64url = v[member].as_str().expect("secret member").to_owned();
            let raw = URL_SAFE_NO_PAD.decode(&b64url).expect("base64url");
            needles.push(b64url);
            needles.push(STANDARD.encode(&raw));
            needles.push(raw.iter().map(|b| format!("{b:02x}")).collect());
            needles.push(format!("{raw:?}")); // a Debug of the byte array
                                              // A prefix long enough to be unique, in case something is cut.
            needles.push(STANDARD.encode(&raw)[..16].to_owned());
        }
        Secrets { needles }
    }

    #[track_caller]
    fn absent(&self, what: &str, text: &str) {
        for n in &self.needles {
            assert!(!text.contains(n.as_str()), "{what} leaks {n:?}:\n{text}");
        }
        // The canary in any case, and percent- or JSON-escaped.
        let lower = text.to_ascii_lowercase();
        assert!(
            !lower.contains("plaintext-canary"),
            "{what} leaks the canary:\n{text}"
        );
        assert!(
            !lower.contains("canary-7f3a"),
            "{what} leaks the canary:\n{text}"
        );
    }
}

struct Fixture {
    private: PrivateKeyring,
    private_jwk: String,
    token_jwk: String,
    secrets: Secrets,
}

fn fixture() -> Fixture {
    let key = PrivateKey::generate(ZONE, "eu-central-1", 1).expect("keygen");
    let private_jwk = key.to_jwk();
    let mut private = PrivateKeyring::new();
    private.push(key);
    let token_jwk = TokenKeys::generate("email").expect("token").to_jwk();
    let secrets = Secrets::new(&private_jwk, &token_jwk);
    Fixture {
        private,
        private_jwk,
        token_jwk,
        secrets,
    }
}

fn tokens(f: &Fixture) -> TokenKeys {
    TokenKeys::from_jwks(&format!("{{\"keys\":[{}]}}", f.token_jwk)).expect("tokens")
}

const POLICY: &str = "apiVersion: pii-edge/v1
name: hygiene
zone: eu-central
match:
  paths: ['/api/**']
rules:
  - name: email
    select: { json: '$..email' }
    action: encrypt
  - select: { json: '$.user.name' }
    action: mask
  - select: { json: '$.user.id' }
    action: tokenize
    domain: email
  - select: { json: '$.user.ssn' }
    action: hash
  - select: { form: card }
    action: mask
  - select: { query: email }
    action: encrypt
  - select: { header: x-national-id }
    action: encrypt
  - select: { cookie: session_email }
    action: redact
";

fn engine(f: &Fixture) -> Engine {
    let policy = Policy::from_yaml("hygiene.yaml", POLICY).unwrap_or_else(|e| panic!("{e}"));
    Engine::new(vec![policy], f.private.public(), tokens(f)).expect("engine")
}

fn json_req(body: &str) -> Request {
    Request::new("POST", "/api/users")
        .with_query(format!("email={CANARY}&q=1"))
        .with_header("Content-Type", "application/json")
        .with_header("X-National-ID", CANARY)
        .with_header("Cookie", format!("a=1; session_email={CANARY}"))
        .with_body(body.as_bytes().to_vec())
}

/// Every rejection reason the engine can reach from a request, each carrying the canary.
fn hostile_requests() -> Vec<(&'static str, Request)> {
    let c = CANARY;
    let mut invalid_utf8 = format!(r#"{{"email":"{c}"#).into_bytes();
    invalid_utf8.extend_from_slice(b"\xff\"}");
    vec![
        (
            "truncated",
            json_req(&format!(r#"{{"email":"{c}"}}"#)).with_body_truncated(true),
        ),
        ("malformed", json_req(&format!(r#"{{"email":"{c}""#))),
        (
            "malformed at the canary",
            json_req(&format!(r#"{{"email":{c}}}"#)),
        ),
        (
            "duplicate",
            json_req(&format!(r#"{{"email":"{c}","email":"{c}"}}"#)),
        ),
        (
            "duplicate canary names",
            json_req(&format!(r#"{{"{c}":1,"{c}":2}}"#)),
        ),
        (
            "too deep",
            json_req(&format!("{}\"{c}\"{}", "[".repeat(100), "]".repeat(100))),
        ),
        (
            "number",
            json_req(&format!(r#"{{"email":"{c}","n":1e400}}"#)),
        ),
        (
            "surrogate",
            json_req(&format!(r#"{{"email":"{c}\ud800"}}"#)),
        ),
        ("bom", json_req(&format!("\u{feff}{{\"email\":\"{c}\"}}"))),
        ("invalid utf-8", json_req("").with_body(invalid_utf8)),
        (
            "gzip",
            json_req(&format!(r#"{{"email":"{c}"}}"#)).with_header("Content-Encoding", c),
        ),
        (
            "media type",
            Request::new("POST", "/api/users")
                .with_header("Content-Type", format!("text/{c}"))
                .with_body(c.as_bytes().to_vec()),
        ),
        (
            "charset",
            Request::new("POST", "/api/users")
                .with_header("Content-Type", format!("application/json; charset={c}"))
                .with_body(format!(r#"{{"email":"{c}"}}"#).into_bytes()),
        ),
        (
            "no content type",
            Request::new("POST", "/api/users").with_body(c.as_bytes().to_vec()),
        ),
        (
            "form",
            Request::new("POST", "/api/users")
                .with_header("Content-Type", "application/x-www-form-urlencoded")
                .with_body(format!(r#"{{"card":"{c}"}}"#).into_bytes()),
        ),
        (
            "mask on an object",
            json_req(&format!(r#"{{"user":{{"name":{{"x":"{c}"}}}}}}"#)),
        ),
        ("tokenize a boolean", json_req(r#"{"user":{"id":true}}"#)),
        (
            "hash an array",
            json_req(&format!(r#"{{"user":{{"ssn":["{c}"]}}}}"#)),
        ),
        (
            "JSON name equivalent by Unicode case folding",
            json_req(&format!(
                r#"{{"EM\u0041IL":"{c}","user":{{"Name":"{c}"}}}}"#
            )),
        ),
        (
            "form name PHP rewrites",
            Request::new("POST", "/api/users")
                .with_header("Content-Type", "application/x-www-form-urlencoded")
                .with_body(format!("ca.rd={c}").into_bytes()),
        ),
        (
            "form charset",
            Request::new("POST", "/api/users")
                .with_header(
                    "Content-Type",
                    "application/x-www-form-urlencoded; charset=ibm037",
                )
                .with_body(format!("card={c}").into_bytes()),
        ),
        (
            "repeated media type parameter",
            Request::new("POST", "/api/users")
                .with_header(
                    "Content-Type",
                    format!("application/json; charset=utf-8; charset={c}"),
                )
                .with_body(format!(r#"{{"email":"{c}"}}"#).into_bytes()),
        ),
        (
            "IIS escape",
            Request::new("GET", "/api/users").with_query(format!("em%u0061il={c}")),
        ),
        (
            "name not UTF-8",
            Request::new("GET", "/api/users").with_query(format!("%FFemail={c}")),
        ),
        (
            "header name with underscores",
            Request::new("GET", "/api/users").with_header("X_National_ID", c),
        ),
        (
            "cookie name percent-encoded",
            Request::new("GET", "/api/users").with_header("Cookie", format!("session%5Femail={c}")),
        ),
        (
            "sealing limit",
            json_req(&format!(
                r#"{{"email":"{c}{}"}}"#,
                "x".repeat(pii_core::envelope::MAX_PLAINTEXT)
            )),
        ),
    ]
}

#[test]
fn rejections_never_carry_plaintext() {
    let f = fixture();
    let e = engine(&f);
    for (what, req) in hostile_requests() {
        match e.apply(&req) {
            Outcome::Rejected(r) => {
                f.secrets
                    .absent(what, &format!("{r:?}|{}|{:?}", r.reason, r.reason));
                f.secrets
                    .absent(what, &format!("{}|{}", r.reason.code(), r.reason.title()));
            }
            other => panic!("{what}: expected a rejection, got {other:?}"),
        }
    }
}

#[test]
fn protected_requests_reports_and_debug_never_carry_plaintext() {
    let f = fixture();
    let e = engine(&f);
    let body = format!(
        r#"{{"email":"{CANARY}","user":{{"name":"{CANARY}","id":"{CANARY}","ssn":"{CANARY}"}}}}"#
    );
    let req = json_req(&body);
    // The request's own Debug shows its shape only.
    f.secrets.absent("Request Debug", &format!("{req:?}"));
    let outcome = e.apply(&req);
    f.secrets.absent("Outcome Debug", &format!("{outcome:?}"));
    let Outcome::Protected(p) = outcome else {
        panic!("not protected");
    };
    f.secrets
        .absent("forwarded body", &String::from_utf8_lossy(&p.request.body));
    f.secrets.absent("forwarded query", &p.request.query);
    f.secrets
        .absent("forwarded headers", &format!("{:?}", p.request.headers));
    for field in &p.fields {
        f.secrets.absent("field report", &format!("{field:?}"));
    }
    f.secrets.absent("counts", &format!("{:?}", p.counts()));
    // Engine, keys, keyrings.
    f.secrets.absent("Engine Debug", &format!("{e:?}"));
    f.secrets
        .absent("PrivateKeyring Debug", &format!("{:?}", f.private));
    f.secrets
        .absent("PublicKeyring Debug", &format!("{:?}", f.private.public()));
    f.secrets
        .absent("TokenKeys Debug", &format!("{:?}", tokens(&f)));
    let key = PrivateKey::generate(ZONE, "eu-central-2", 1).expect("keygen");
    let key_d = Secrets::new(&key.to_jwk(), &f.token_jwk);
    key_d.absent("PrivateKey Debug", &format!("{key:?} {:?}", key.public()));
    let token = TokenKeys::generate("email").expect("token");
    let token_k = Secrets::new(&f.private_jwk, &token.to_jwk());
    token_k.absent("TokenKey Debug", &format!("{token:?}"));
    // What reveal gives back is the plaintext, by design; its Debug is not.
    let revealed = reveal(
        &f.private,
        &p.request,
        pii_core::reveal::Expect {
            policy: Some("hygiene"),
            zone: Some(ZONE),
        },
    )
    .expect("reveal");
    f.secrets.absent("Revealed Debug", &format!("{revealed:?}"));
}

#[test]
fn opening_errors_never_carry_plaintext_or_keys() {
    let f = fixture();
    let e = engine(&f);
    let Outcome::Protected(p) = e.apply(&json_req(&format!(r#"{{"email":"{CANARY}"}}"#))) else {
        panic!("not protected");
    };
    let v: Value = serde_json::from_slice(&p.request.body).expect("json");
    let sealed = v["email"].as_str().expect("sealed").to_owned();
    let mut tampered = sealed.clone();
    tampered.pop();
    tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
    let binding = |policy: &str, location: &str, zone: &str| {
        Binding::new(policy, zone, location.parse().expect("location"))
    };
    let cases = [
        (
            "wrong location",
            sealed.as_str(),
            binding("hygiene", "json:$['x']", ZONE),
        ),
        (
            "wrong policy",
            sealed.as_str(),
            binding(CANARY, "json:$['email']", ZONE),
        ),
        (
            "wrong zone",
            sealed.as_str(),
            binding("hygiene", "json:$['email']", "eu-west"),
        ),
        (
            "tampered",
            tampered.as_str(),
            binding("hygiene", "json:$['email']", ZONE),
        ),
        (
            "not an envelope",
            CANARY,
            binding("hygiene", "json:$['email']", ZONE),
        ),
    ];
    for (what, text, b) in cases {
        let err = open_expecting(&f.private, text, &b).expect_err(what);
        f.secrets.absent(what, &format!("{err} {err:?}"));
        let any: pii_core::Error = err.into();
        f.secrets.absent(what, &format!("{any} {any:?}"));
    }
    // The wrong private key.
    let other = {
        let mut r = PrivateKeyring::new();
        r.push(PrivateKey::generate(ZONE, "eu-central-1", 2).expect("keygen"));
        r
    };
    let err = reveal(
        &other,
        &p.request,
        pii_core::reveal::Expect {
            policy: Some("hygiene"),
            zone: Some(ZONE),
        },
    )
    .expect_err("no key");
    f.secrets
        .absent("reveal with another key", &format!("{err} {err:?}"));
    // Sealing errors.
    let public = f.private.public();
    let recipients = public.recipients(ZONE).expect("recipients");
    let mut sealer = TestSealer::new(&recipients, ZONE).expect("sealer");
    let err = sealer
        .seal(
            &binding("p", "json:$['l']", "eu-west"),
            ValueKind::Text,
            CANARY.as_bytes(),
        )
        .expect_err("zone mismatch");
    f.secrets
        .absent("seal zone mismatch", &format!("{err} {err:?}"));
    let big = CANARY.repeat(pii_core::envelope::MAX_PLAINTEXT / CANARY.len() + 1);
    let err = sealer
        .seal(
            &binding("p", "json:$['l']", ZONE),
            ValueKind::Text,
            big.as_bytes(),
        )
        .expect_err("too large");
    f.secrets
        .absent("seal too large", &format!("{err} {err:?}"));
}

#[test]
fn key_set_errors_never_carry_key_material() {
    let f = fixture();
    let private: Value = serde_json::from_str(&f.private_jwk).expect("jwk");
    let token: Value = serde_json::from_str(&f.token_jwk).expect("jwk");
    let d = private["d"].as_str().expect("d").to_owned();
    let k = token["k"].as_str().expect("k").to_owned();
    let with = |base: &Value, member: &str, value: Value| {
        let mut v = base.clone();
        v[member] = value;
        format!("{{\"keys\":[{v}]}}")
    };
    let other_x = {
        let o: Value = serde_json::from_str(
            &PrivateKey::generate(ZONE, "eu-central-1", 1)
                .expect("keygen")
                .to_jwk(),
        )
        .expect("jwk");
        o["x"].clone()
    };
    let public_sets = [
        (
            "private key in a public set",
            format!("{{\"keys\":[{}]}}", f.private_jwk),
        ),
        (
            "d as x",
            with(&private, "x", Value::from(d.clone())).replace(&format!(",\"d\":\"{d}\""), ""),
        ),
        (
            "syntax error after d",
            format!("{{\"keys\":[{}", f.private_jwk),
        ),
        (
            "k in a public set",
            format!("{{\"keys\":[{}]}}", f.token_jwk),
        ),
    ];
    for (what, set) in &public_sets {
        if let Err(err) = PublicKeyring::from_jwks(set) {
            f.secrets.absent(what, &format!("{err} {err:?}"));
        }
    }
    let private_sets = [
        ("d of another x", with(&private, "x", other_x)),
        ("short d", with(&private, "d", Value::from(&d[..20]))),
        (
            "d with padding",
            with(&private, "d", Value::from(format!("{d}="))),
        ),
        ("d as a number", with(&private, "d", Value::from(1))),
        ("bad kid", with(&private, "kid", Value::from(d.clone()))),
        ("bad zone", with(&private, "zone", Value::from(d.clone()))),
        (
            "duplicate",
            format!("{{\"keys\":[{0},{0}]}}", f.private_jwk),
        ),
        ("syntax error", format!("{{\"keys\":[{}", f.private_jwk)),
        ("wrong curve", with(&private, "crv", Value::from("P-256"))),
    ];
    for (what, set) in &private_sets {
        let err = PrivateKeyring::from_jwks(set).expect_err(what);
        f.secrets.absent(what, &format!("{err} {err:?}"));
    }
    let token_sets = [
        ("weak k", with(&token, "k", Value::from(&k[..20]))),
        (
            "k not base64url",
            with(&token, "k", Value::from(format!("{k}+/"))),
        ),
        ("bad alg", with(&token, "alg", Value::from("none"))),
        ("bad domain", with(&token, "domain", Value::from(k.clone()))),
        ("reused k", {
            let mut second = token.clone();
            second["domain"] = Value::from("email.v2");
            format!("{{\"keys\":[{token},{second}]}}")
        }),
        (
            "duplicate domain",
            format!("{{\"keys\":[{0},{0}]}}", f.token_jwk),
        ),
        ("syntax error", format!("{{\"keys\":[{}", f.token_jwk)),
    ];
    for (what, set) in &token_sets {
        let err = TokenKeys::from_jwks(set).expect_err(what);
        f.secrets.absent(what, &format!("{err} {err:?}"));
    }
    // Pushing a token key twice.
    let mut keys = tokens(&f);
    let err = keys
        .push(TokenKeys::generate("email").expect("token"))
        .expect_err("duplicate domain");
    f.secrets
        .absent("push duplicate", &format!("{err} {err:?}"));
}

#[test]
fn configuration_and_residency_errors_never_carry_plaintext() {
    let f = fixture();
    // A policy for a zone without keys, a token domain without a key.
    let policy = Policy::from_yaml(
        "p.yaml",
        "apiVersion: pii-edge/v1\nname: p\nzone: eu-west\nmatch: {}\nrules:\n  - select: { header: x-a }\n    action: encrypt\n",
    )
    .expect("policy");
    let err = Engine::new(vec![policy], f.private.public(), tokens(&f)).expect_err("no keys");
    f.secrets.absent("config", &format!("{err} {err:?}"));
    // Residency resolved from a header carrying the canary: no zone, no echo.
    let residency = Residency::from_json(
        r#"{"apiVersion":"pii-edge/v1","kind":"Residency",
        "zones":{"eu-central":{"regions":["eu-central-1"]}},
        "resolve":[{"header":{"name":"x-user-country"}}],"countries":{"DE":"eu-central"}}"#,
    )
    .expect("residency");
    let policy = Policy::from_yaml(
        "p.yaml",
        "apiVersion: pii-edge/v1\nname: p\nmatch: {}\nrules:\n  - select: { header: x-a }\n    action: encrypt\n",
    )
    .expect("policy");
    let e = Engine::with_residency(vec![policy], f.private.public(), tokens(&f), residency)
        .expect("engine");
    let req = Request::new("GET", "/")
        .with_header("x-user-country", CANARY)
        .with_header("x-a", CANARY);
    match e.apply(&req) {
        Outcome::Rejected(r) => f.secrets.absent("no zone", &format!("{r:?} {}", r.reason)),
        other => panic!("expected no-zone, got {other:?}"),
    }
    f.secrets
        .absent("residency engine Debug", &format!("{e:?}"));
}
