//! Unit tests.

use serde_json::{json, Map, Value};

use super::openapi::{Document, Operation};

use super::command::*;
use super::rules::*;
use super::write::*;
fn doc(root: Value) -> Document {
    let dir = std::env::temp_dir().join(format!("pii-edge-draft-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{}.json", root.to_string().len()));
    std::fs::write(&file, root.to_string()).unwrap();
    Document::load(&file).unwrap()
}

fn kinds(d: &Document, schema: Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    walk(
        d,
        &schema,
        &mut Vec::new(),
        &mut Trail::default(),
        0,
        &mut found,
    );
    found
        .into_iter()
        .map(|f| (json_path(&f.steps), f.kind.name()))
        .collect()
}

#[test]
fn formats_names_and_examples_decide() {
    let d = doc(
        json!({"openapi": "3.1.0", "paths": {}, "components": {"schemas": {
            "Person": {"type": "object", "properties": {
                "kontakt": {"type": "string", "format": "email"},
                "geburtsdatum": {"type": "string", "format": "date"},
                "createdAt": {"type": "string", "format": "date"},
                "x1": {"type": "string", "example": "DE89 3704 0044 0532 0130 00"},
                "telefono": {"type": "string"},
                "status": {"type": "string", "enum": ["a", "b"]},
                "verified": {"type": "boolean"},
                "adresse": {"type": "object", "properties": {"strasse": {"type": "string"}}},
            "aliases": {"type": "array", "items": {"type": "string", "format": "email"}},
            "tags": {"type": "array", "items": {"type": "string"}},
                "friends": {"type": "array", "items": {"$ref": "#/components/schemas/Person"}}
            }}
        }}}),
    );
    let found = kinds(&d, json!({"$ref": "#/components/schemas/Person"}));
    let expect = [
        ("$['kontakt']", "email"),
        ("$['geburtsdatum']", "date-of-birth"),
        ("$['x1']", "iban"),
        ("$['telefono']", "phone"),
        ("$['adresse']", "postal address"),
        ("$['aliases']", "email"),
        ("$['friends'][*]..['aliases']", "email"),
        ("$['friends'][*]..['kontakt']", "email"),
        ("$['friends'][*]..['x1']", "iban"),
        ("$['friends'][*]..['telefono']", "phone"),
        ("$['friends'][*]..['geburtsdatum']", "date-of-birth"),
        ("$['friends'][*]..['adresse']", "postal address"),
    ];
    for (path, kind) in expect {
        assert!(
            found.contains(&(path.to_string(), kind.to_string())),
            "{path}: {found:?}"
        );
    }
    assert_eq!(found.len(), expect.len(), "{found:?}");
}

#[test]
fn compositions_arrays_and_maps_are_walked() {
    let d = doc(
        json!({"openapi": "3.0.3", "paths": {}, "components": {"schemas": {
            "Base": {"properties": {"email": {"type": "string"}}},
            "Contact": {"allOf": [{"$ref": "#/components/schemas/Base"},
                                  {"properties": {"nachname": {"type": "string"}}}]}
        }}}),
    );
    let found = kinds(
        &d,
        json!({"type": "array", "items": {"oneOf": [
            {"$ref": "#/components/schemas/Contact"},
            {"type": "object", "additionalProperties": {"type": "object", "properties": {"pesel": {"type": "string"}}}}
        ]}}),
    );
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        ["$[*]['email']", "$[*]['nachname']", "$[*][*]['pesel']"]
    );
}

/// Shared schemas are expanded at every use: a chain of levels that each use the next one
/// twice is 2^30 schemas expanded, cut at the budget.
#[test]
fn large_expansions_are_cut() {
    let mut schemas = Map::new();
    for i in 0..30 {
        let next = json!({"$ref": format!("#/components/schemas/L{}", i + 1)});
        schemas.insert(
            format!("L{i}"),
            json!({"type": "object", "properties": {"a": next, "b": next, "email": {"type": "string"}}}),
        );
    }
    schemas.insert("L30".into(), json!({"type": "string"}));
    let d = doc(json!({"openapi": "3.0.0", "paths": {}, "components": {"schemas": schemas}}));
    let mut found = Vec::new();
    let mut trail = Trail::default();
    walk(
        &d,
        &json!({"$ref": "#/components/schemas/L0"}),
        &mut Vec::new(),
        &mut trail,
        0,
        &mut found,
    );
    assert!(trail.nodes > NODE_BUDGET);
    assert!(!found.is_empty());
    let mut budget = 0;
    let _ = example(
        &d,
        &json!({"$ref": "#/components/schemas/L0"}),
        &mut Vec::new(),
        0,
        &mut budget,
    );
    assert!(budget > NODE_BUDGET);
}

#[test]
fn paths_round_trip_and_names_are_safe() {
    let steps = vec![
        Step::Name("a'b\\c".into()),
        Step::Any,
        Step::Name("x".into()),
    ];
    assert_eq!(steps_of(&json_path(&steps)), steps);
    let op = Operation {
        method: "GET".into(),
        path: "/users/{id}".into(),
        operation_id: Some("get user/by id!".into()),
        summary: None,
        parameters: Vec::new(),
        bodies: Vec::new(),
    };
    assert_eq!(policy_name(&op), "get-user-by-id");
}

#[test]
fn passwords_and_user_names_are_drafted() {
    let d = doc(
        json!({"openapi": "3.1.0", "paths": {}, "components": {"schemas": {
            "Login": {"type": "object", "properties": {
                "username": {"type": "string"},
                "secret": {"type": "string", "format": "password"},
                "Kennwort": {"type": "string"},
                "pin": {"type": "integer"},
                "passwordPolicy": {"type": "string"},
                "loginAttempts": {"type": "integer"},
                "rememberPassword": {"type": "boolean"}
            }}
        }}}),
    );
    let found = kinds(&d, json!({"$ref": "#/components/schemas/Login"}));
    let expect: Vec<(String, String)> = [
        ("$['Kennwort']", "credential"),
        ("$['pin']", "credential"),
        ("$['secret']", "credential"),
        ("$['username']", "user name"),
    ]
    .iter()
    .map(|(p, k)| (p.to_string(), k.to_string()))
    .collect();
    assert_eq!(found, expect);
}

#[test]
fn secrets_devices_and_positions_are_drafted_but_not_their_neighbours() {
    let d = doc(
        json!({"openapi": "3.1.0", "paths": {}, "components": {"schemas": {
            "Session": {"type": "object", "properties": {
                "client_secret": {"type": "string"},
                "apiKey": {"type": "string"},
                "refresh_token": {"type": "string"},
                "otp": {"type": "string"},
                "deviceId": {"type": "string"},
                "latitude": {"type": "number"},
                "lng": {"type": "number"},
                "nextPageToken": {"type": "string"},
                "tokenType": {"type": "string"},
                "secretary": {"type": "string"},
                "geoCountry": {"type": "string"}
            }}
        }}}),
    );
    let found = kinds(&d, json!({"$ref": "#/components/schemas/Session"}));
    let expect: Vec<(String, String)> = [
        ("$['apiKey']", "credential"),
        ("$['client_secret']", "credential"),
        ("$['deviceId']", "device identifier"),
        ("$['latitude']", "geolocation"),
        ("$['lng']", "geolocation"),
        ("$['otp']", "credential"),
        ("$['refresh_token']", "credential"),
    ]
    .iter()
    .map(|(p, k)| (p.to_string(), k.to_string()))
    .collect();
    assert_eq!(found, expect);
}

#[test]
fn a_bare_name_in_an_inline_schema_is_read_in_the_context_of_its_resource() {
    let d = doc(json!({"openapi": "3.1.0", "paths": {}}));
    let schema = json!({"type": "object", "properties": {"name": {"type": "string"}}});
    let mut found = Vec::new();
    for (resource, expect) in [("things", 0), ("customers", 1)] {
        found.clear();
        let mut trail = Trail {
            resource: Some(resource.to_owned()),
            ..Trail::default()
        };
        walk(&d, &schema, &mut Vec::new(), &mut trail, 0, &mut found);
        assert_eq!(found.len(), expect, "{resource}: {found:?}");
    }
}
