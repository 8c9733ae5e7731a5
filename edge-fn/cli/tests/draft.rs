//! `pii-edge draft --openapi`: on the FastAPI example origin's generated document (OpenAPI
//! 3.1, JSON), on the Swagger Petstore's (OpenAPI 3.0, YAML, a document written elsewhere) and
//! on a document in the EU languages, the drafts load in `pii-edge check` and their cases pass
//! `pii-edge test`; documents that are not OpenAPI 3 are refused with a message.

use std::path::PathBuf;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_pii-edge");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("pii-edge runs")
}

fn tempdir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("draft-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

/// Drafts `document` into a fresh directory, checks and tests it; returns the policies' text.
fn draft_check_test(document: &str, name: &str, cases: usize) -> String {
    let out = tempdir(name);
    let dir = out.to_str().expect("UTF-8 path");
    let draft_into = || run(&["draft", "--openapi", document, "--out", dir]);
    let draft = draft_into();
    assert_eq!(
        draft.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&draft.stderr)
    );
    let check = run(&["check", dir]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(
        draft_into().status.code(),
        Some(1),
        "a second draft into the same directory"
    );
    let test = run(&["test", dir]);
    let summary = String::from_utf8_lossy(&test.stdout);
    assert_eq!(test.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains(&format!("{cases} passed, 0 failed")),
        "{summary}"
    );
    let mut text = String::new();
    let mut files: Vec<_> = std::fs::read_dir(&out)
        .expect("read the draft")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    for f in files {
        text.push_str(&std::fs::read_to_string(f).expect("policy text"));
    }
    text
}

#[test]
fn fastapi_origin_document() {
    let text = draft_check_test("examples/origin-python/openapi.json", "fastapi", 1);
    for expected in [
        "paths: [\"/api/users\"]",
        "select: { json: \"$['user']['email']\" }",
        "# email: `format: email`",
        "select: { json: \"$['user']['birthDate']\" }",
        "# date-of-birth: `format: date` and the name says birth",
        "select: { json: \"$['user']['phone']\" }",
        "select: { json: \"$['user']['name']\" }",
        "select: { json: \"$['user']['address']\" }",
    ] {
        assert!(text.contains(expected), "{expected} not in:\n{text}");
    }
    // Non-personal members are left alone; the health check gets no policy.
    assert!(
        !text.contains("marketingOptIn") && !text.contains("amount"),
        "{text}"
    );
    assert!(!text.contains("/healthz"), "{text}");
}

#[test]
fn petstore_document() {
    let text = draft_check_test("examples/openapi/petstore.yaml", "petstore", 5);
    // The API key a pet's deletion sends in a header is a credential.
    assert!(text.contains("select: { header: \"api_key\" }"), "{text}");
    // The login's query parameters: a user name and a password.
    assert!(text.contains("paths: [\"/api/v3/user/login\"]"), "{text}");
    assert!(text.contains("select: { query: \"username\" }"), "{text}");
    assert!(text.contains("select: { query: \"password\" }"), "{text}");
    // The servers' base path prefixes the routes; arrays of users are walked.
    assert!(text.contains("paths: [\"/api/v3/user\"]"), "{text}");
    assert!(
        text.contains("paths: [\"/api/v3/user/{username}\"]"),
        "{text}"
    );
    assert!(
        text.contains("select: { json: \"$[*]['email']\" }"),
        "{text}"
    );
    assert!(text.contains("select: { form: \"email\" }"), "{text}");
    // A pet's `name` is no person's; an XML body cannot be read and says so.
    assert!(!text.contains("name: addPet"), "{text}");
    assert!(
        text.contains("application/xml bodies carry personal data"),
        "{text}"
    );
}

#[test]
fn eu_language_document_with_parameters_and_compositions() {
    let dir = tempdir("eu-doc");
    let doc = dir.join("kunden.yaml");
    std::fs::write(
        &doc,
        r##"openapi: 3.1.0
info: { title: Kunden, version: "1" }
servers: [{ url: "/v2" }]
paths:
  /kunden/{kundenId}:
    parameters:
      - { name: kundenId, in: path, required: true, schema: { type: string }, example: "K-1" }
    put:
      operationId: kundeAendern
      parameters:
        - { name: x-steuer-id, in: header, schema: { type: string } }
        - { name: telefon, in: query, schema: { type: string }, example: "030 1234567" }
        - { name: seite, in: query, schema: { type: integer } }
      requestBody:
        content:
          application/json:
            schema: { $ref: "#/components/schemas/Kunde" }
  /bestellungen:
    get:
      operationId: bestellungenSuchen
      parameters:
        - { name: status, in: query, schema: { type: string, enum: [offen, bezahlt] } }
components:
  schemas:
    Person:
      type: object
      properties:
        vorname: { type: string, example: Erika }
        nachname: { type: string }
        geburtsdatum: { type: string, format: date }
        angelegtAm: { type: string, format: date }
    Kunde:
      allOf:
        - $ref: "#/components/schemas/Person"
        - type: object
          properties:
            kontakt:
              oneOf:
                - type: object
                  properties: { mail: { type: string, format: idn-email } }
                - type: object
                  properties: { mobil: { type: string } }
            konto: { type: string, example: "DE89 3704 0044 0532 0130 00" }
            kinder:
              type: array
              items: { $ref: "#/components/schemas/Kunde" }
            aktiv: { type: boolean }
"##,
    )
    .unwrap();
    let text = draft_check_test(doc.to_str().unwrap(), "eu", 1);
    for expected in [
        "paths: [\"/v2/kunden/{kundenId}\"]",
        "select: { header: \"x-steuer-id\" }",
        "select: { query: \"telefon\" }",
        "select: { json: \"$['vorname']\" }",
        "select: { json: \"$['nachname']\" }",
        "select: { json: \"$['geburtsdatum']\" }",
        "select: { json: \"$['kontakt']['mail']\" }",
        "select: { json: \"$['kontakt']['mobil']\" }",
        "select: { json: \"$['kinder'][*]..['vorname']\" }",
        "# iban: the example (D****00) is recognised as iban",
    ] {
        assert!(text.contains(expected), "{expected} not in:\n{text}");
    }
    for absent in ["angelegtAm", "aktiv", "seite", "bestellungen"] {
        assert!(!text.contains(absent), "{absent} in:\n{text}");
    }
}

#[test]
fn documents_that_are_not_openapi_3_are_refused() {
    let dir = tempdir("refused");
    for (file, body, message) in [
        (
            "swagger.json",
            r#"{"swagger": "2.0", "paths": {}}"#,
            "Swagger 2.0",
        ),
        (
            "old.yaml",
            "openapi: 2.5.0\npaths: {}\n",
            "OpenAPI 2.5.0 is not supported",
        ),
        ("none.json", r#"{"paths": {}}"#, "not an OpenAPI document"),
        ("broken.json", r#"{"openapi": "3.1.0", "#, "not valid JSON"),
    ] {
        let path = dir.join(file);
        std::fs::write(&path, body).unwrap();
        let out = run(&[
            "draft",
            "--openapi",
            path.to_str().unwrap(),
            "--out",
            dir.join("out").to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{file}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{file}: {err}");
    }
}
