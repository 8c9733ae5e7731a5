//! CloudFront event types against the example events in `examples/events/`: every file
//! parses, survives a round trip unchanged, decodes its body, and answers header lookups;
//! generated responses carry CloudFront's field names; garbage is an error, never a panic.

use std::path::{Path, PathBuf};

use edge_fn::cloudfront::{
    Body, BodyAction, BodyDecodeError, BodyEncoding, CloudFrontEvent, EventType, Header, Headers,
    Request, Response,
};
use serde_json::{json, Value};

const SIGNUP_JSON: &str = r#"{"user":{"name":"Erika Mustermann","email":"erika@example.de","phone":"+49 30 1234567","birthDate":"1990-04-01","address":{"street":"Hauptstr. 1","city":"Berlin","country":"DE"}},"marketingOptIn":true,"amount":12345678901234567890}"#;

/// Files the handler tests rely on, by name.
const PRODUCT_SAMPLES: &[&str] = &[
    "signup-json.json",
    "signup-truncated.json",
    "signup-malformed.json",
    "signup-duplicate-keys.json",
    "signup-gzip.json",
    "form-post.json",
    "search-query.json",
    "headers-cookie.json",
];

const AWS_DOC_EXAMPLES: &[&str] = &[
    "viewer-request-aws-doc.json",
    "viewer-request-body-aws-doc.json",
    "origin-request-aws-doc.json",
    "origin-request-s3-aws-doc.json",
    "responses/origin-response-aws-doc.json",
    "responses/generated-response-aws-doc.json",
];

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/events")
}

/// Every `*.json` below `examples/events/`, sorted.
fn example_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|ext| ext == "json") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&events_dir(), &mut files);
    files.sort();
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn load_event(name: &str) -> CloudFrontEvent {
    let path = events_dir().join(name);
    read(&path)
        .parse()
        .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()))
}

fn request_of(event: &CloudFrontEvent) -> &Request {
    &event
        .single_record()
        .expect("exactly one record")
        .cf
        .request
}

/// A file is an event when it has `Records`, otherwise a generated response.
fn round_trip(text: &str) -> Result<Value, serde_json::Error> {
    let original: Value = serde_json::from_str(text)?;
    if original.get("Records").is_some() {
        serde_json::to_value(text.parse::<CloudFrontEvent>()?)
    } else {
        serde_json::to_value(serde_json::from_str::<Response>(text)?)
    }
}

#[test]
fn all_named_examples_exist() {
    let files = example_files();
    for name in PRODUCT_SAMPLES.iter().chain(AWS_DOC_EXAMPLES) {
        let path = events_dir().join(name);
        assert!(files.contains(&path), "missing example {}", path.display());
    }
}

#[test]
fn every_example_parses_and_round_trips_unchanged() {
    let files = example_files();
    assert!(files.len() >= PRODUCT_SAMPLES.len() + AWS_DOC_EXAMPLES.len());
    for path in files {
        let text = read(&path);
        let original: Value = serde_json::from_str(&text).expect("example is valid JSON");
        let again =
            round_trip(&text).unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
        assert_eq!(
            again,
            original,
            "{} changed in a round trip",
            path.display()
        );
        // And the serialized form parses again to the same thing.
        let twice = round_trip(&serde_json::to_string(&again).expect("serializes"))
            .expect("serialized form parses");
        assert_eq!(twice, original, "{}: second round trip", path.display());
    }
}

#[test]
fn every_request_event_has_one_record_and_known_event_type() {
    for path in example_files() {
        let text = read(&path);
        let value: Value = serde_json::from_str(&text).expect("valid JSON");
        if value.get("Records").is_none() {
            continue;
        }
        let event: CloudFrontEvent = text.parse().expect("parses");
        let record = event.single_record().expect("exactly one record");
        assert!(
            !matches!(record.cf.config.event_type, EventType::Other(_)),
            "{}: unexpected event type",
            path.display()
        );
        assert_eq!(record.cf.config.distribution_id, "EDFDVBD6EXAMPLE");
        assert!(record.cf.request.uri.starts_with('/'));
    }
}

#[test]
fn product_samples_are_viewer_requests() {
    for name in PRODUCT_SAMPLES {
        let event = load_event(name);
        let record = event.single_record().expect("one record");
        assert_eq!(
            record.cf.config.event_type,
            EventType::ViewerRequest,
            "{name}"
        );
        assert!(record.cf.config.request_id.is_some(), "{name}");
        assert!(record.cf.request.origin.is_none(), "{name}");
        let request = &record.cf.request;
        assert_eq!(
            request.header_values("host"),
            ["d111111abcdef8.cloudfront.net"]
        );
        assert_eq!(request.headers.get("user-agent").count(), 1, "{name}");
    }
}

#[test]
fn every_body_decodes() {
    let mut bodies = 0;
    for path in example_files() {
        let text = read(&path);
        let value: Value = serde_json::from_str(&text).expect("valid JSON");
        if value.get("Records").is_none() {
            continue;
        }
        let event: CloudFrontEvent = text.parse().expect("parses");
        if let Some(body) = &request_of(&event).body {
            let bytes = body
                .decode()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            // Content-Length, where given and the body is whole, matches the decoded size.
            let lengths = request_of(&event).header_values("content-length");
            if let ([length], false) = (lengths.as_slice(), body.input_truncated) {
                assert_eq!(
                    length.parse::<usize>().ok(),
                    Some(bytes.len()),
                    "{}",
                    path.display()
                );
            }
            bodies += 1;
        }
    }
    assert!(bodies >= 7, "only {bodies} example bodies");
}

#[test]
fn product_bodies_decode_to_the_documented_content() {
    let body = |name: &str| -> (Body, Vec<u8>) {
        let event = load_event(name);
        let body = request_of(&event).body.clone().expect("has a body");
        let bytes = body.decode().expect("decodes");
        (body, bytes)
    };

    let (signup, bytes) = body("signup-json.json");
    assert_eq!(bytes, SIGNUP_JSON.as_bytes());
    assert!(!signup.input_truncated);
    assert_eq!(signup.action, BodyAction::ReadOnly);
    assert_eq!(signup.encoding, BodyEncoding::Base64);

    let (truncated, bytes) = body("signup-truncated.json");
    assert!(truncated.input_truncated);
    assert_eq!(bytes, SIGNUP_JSON.as_bytes());

    let (_, bytes) = body("signup-malformed.json");
    assert_eq!(bytes, br#"{"user": {"email": "x@y.de","#);
    assert!(serde_json::from_slice::<Value>(&bytes).is_err());

    let (_, bytes) = body("signup-duplicate-keys.json");
    assert_eq!(
        bytes,
        br#"{"user":{"email":"a@example.de","email":"b@example.de"}}"#
    );

    let (_, bytes) = body("signup-gzip.json");
    assert_eq!(
        &bytes[..3],
        &[0x1f, 0x8b, 0x08],
        "gzip magic and deflate method"
    );
    let event = load_event("signup-gzip.json");
    assert_eq!(
        request_of(&event).header_values("Content-Encoding"),
        ["gzip"]
    );

    let (_, bytes) = body("form-post.json");
    assert_eq!(
        bytes,
        b"name=Erika+Mustermann&card_number=4111111111111111&cvv=123&email=erika%40example.de"
    );

    let (_, bytes) = body("viewer-request-body-aws-doc.json");
    let doc: Value = serde_json::from_slice(&bytes).expect("AWS example body is JSON");
    assert_eq!(
        doc,
        json!({"username": "Lambda@Edge", "comment": "This is request body"})
    );
}

#[test]
fn query_string_stays_raw() {
    let event = load_event("search-query.json");
    let request = request_of(&event);
    assert_eq!(request.method, "GET");
    assert_eq!(request.uri, "/api/search");
    assert_eq!(
        request.querystring,
        "email=erika%40example.de&q=shoes&email=second%40example.de"
    );
    assert!(request.body.is_none());
}

#[test]
fn header_lookup_is_case_insensitive_and_returns_every_repetition() {
    let event = load_event("headers-cookie.json");
    let request = request_of(&event);
    for name in ["x-national-id", "X-National-ID", "X-NATIONAL-ID"] {
        assert_eq!(request.header_values(name), ["DE-123456789"], "{name}");
    }
    assert_eq!(
        request.header_values("Cookie"),
        ["session=abc123; tracking_email=erika%40example.de"]
    );
    assert_eq!(
        request.header_values("X-Forwarded-For"),
        ["198.51.100.7", "203.0.113.88"]
    );
    let keys: Vec<_> = request
        .headers
        .get("x-national-id")
        .map(|h| h.key.as_deref())
        .collect();
    assert_eq!(keys, [Some("X-National-ID")]);
    assert!(request.header_values("x-absent").is_empty());
    assert!(!request.headers.contains("x-absent"));

    // A name that is not lowercase (CloudFront would not send one) is still found, and the
    // values of every case variant are returned, in order.
    let headers: Headers = serde_json::from_str(
        r#"{
            "x-national-id": [{"key": "X-National-Id", "value": "one"}],
            "accept": [{"value": "*/*"}],
            "X-National-ID": [{"key": "X-National-ID", "value": "two"}, {"value": "three"}]
        }"#,
    )
    .expect("parses");
    assert_eq!(headers.values("X-National-Id"), ["one", "two", "three"]);
    assert_eq!(headers.values("ACCEPT"), ["*/*"]);
    assert_eq!(
        headers.get("accept").next().and_then(|h| h.key.as_deref()),
        None
    );
}

#[test]
fn headers_keep_their_order_and_edit_in_place() {
    let event = load_event("signup-json.json");
    let mut headers = request_of(&event).headers.clone();
    let names = |h: &Headers| h.iter().map(|(n, _)| n.to_owned()).collect::<Vec<_>>();
    let before = names(&headers);
    assert_eq!(
        before,
        [
            "host",
            "user-agent",
            "accept",
            "accept-language",
            "origin",
            "content-type",
            "content-length"
        ]
    );
    // The serialized object lists the names in the same order.
    let text = serde_json::to_string(&headers).expect("serializes");
    let positions: Vec<_> = before
        .iter()
        .map(|n| text.find(&format!("\"{n}\":")).expect("name present"))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");

    // set replaces in place, under the lowercase name.
    headers.set(
        "Content-Type",
        vec![Header::new("Content-Type", "application/jose+json")],
    );
    assert_eq!(names(&headers), before);
    assert_eq!(headers.values("content-type"), ["application/jose+json"]);

    // append adds a repetition, or a new name at the end.
    headers.append("accept", Header::new("Accept", "text/plain"));
    assert_eq!(headers.values("accept"), ["application/json", "text/plain"]);
    headers.append("X-Pii-Edge", Header::new("X-Pii-Edge", "protected"));
    assert_eq!(
        names(&headers).last().map(String::as_str),
        Some("x-pii-edge")
    );

    // remove takes every value out.
    let removed = headers.remove("ACCEPT");
    assert_eq!(removed.len(), 2);
    assert!(!headers.contains("accept"));
    assert_eq!(headers.len(), before.len());

    // set with no values removes; iter_mut edits values in place.
    headers.set("origin", Vec::new());
    assert!(!headers.contains("origin"));
    for (name, values) in headers.iter_mut() {
        if name == "user-agent" {
            values[0].value = "replaced".to_owned();
        }
    }
    assert_eq!(headers.values("User-Agent"), ["replaced"]);
    assert!(!headers.is_empty());
    assert!(Headers::new().is_empty());
}

#[test]
fn unknown_fields_survive_at_every_level() {
    let text = read(&events_dir().join("origin-request-aws-doc.json"));
    let mut value: Value = serde_json::from_str(&text).expect("valid JSON");
    let extra = json!({"nested": [1, 2.5, null, {"deep": true}], "big": 18446744073709551615u64});
    let object = |v: &mut Value| v.as_object_mut().expect("object").clone();
    let mut insert = |pointer: &str, key: &str| {
        let target = value
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("{pointer}"));
        target
            .as_object_mut()
            .unwrap_or_else(|| panic!("{pointer} is not an object"))
            .insert(key.to_owned(), extra.clone());
    };
    insert("", "futureTopLevel");
    insert("/Records/0", "eventSourceVersion");
    insert("/Records/0/cf", "futureCf");
    insert("/Records/0/cf/config", "futureConfig");
    insert("/Records/0/cf/request", "httpVersion");
    insert("/Records/0/cf/request/headers/host/0", "futureHeader");
    insert("/Records/0/cf/request/origin", "futureOrigin");
    insert("/Records/0/cf/request/origin/custom", "originShield");
    insert(
        "/Records/0/cf/request/origin/custom/customHeaders",
        "x-origin-verify",
    );
    // The last insert added a header name whose value is not a header list; fix it up.
    value["Records"][0]["cf"]["request"]["origin"]["custom"]["customHeaders"]["x-origin-verify"] =
        json!([{"key": "X-Origin-Verify", "value": "s3cr3t", "futureHeaderValue": 7}]);
    value["Records"][0]["cf"]["request"]["body"] = json!({
        "inputTruncated": false, "action": "read-only", "encoding": "base64", "data": "",
        "futureBody": {"a": "b"}
    });
    value["Records"][0]["cf"]["request"]["origin"]["s3"] = json!({
        "domainName": "bucket.s3.eu-central-1.amazonaws.com", "path": "", "customHeaders": {},
        "futureS3": "x"
    });
    value["Records"][0]["cf"]["response"] = json!({
        "status": "200", "headers": {}, "futureResponse": [true]
    });
    let before = object(&mut value);

    let event: CloudFrontEvent = serde_json::from_value(value.clone()).expect("parses");
    let record = event.single_record().expect("one record");
    assert!(record.extra.contains_key("eventSourceVersion"));
    assert!(record.cf.request.extra.contains_key("httpVersion"));
    let after = serde_json::to_value(&event).expect("serializes");
    assert_eq!(Value::Object(before), after);
}

#[test]
fn event_types_parse_and_unknown_ones_are_kept() {
    let cases = [
        ("viewer-request", EventType::ViewerRequest),
        ("origin-request", EventType::OriginRequest),
        ("origin-response", EventType::OriginResponse),
        ("viewer-response", EventType::ViewerResponse),
        ("edge-future", EventType::Other("edge-future".to_owned())),
    ];
    for (wire, expected) in cases {
        let parsed: EventType = serde_json::from_value(json!(wire)).expect("parses");
        assert_eq!(parsed, expected);
        assert_eq!(parsed.as_str(), wire);
        assert_eq!(parsed.to_string(), wire);
        assert_eq!(
            serde_json::to_value(&parsed).expect("serializes"),
            json!(wire)
        );
    }
}

#[test]
fn generated_response_has_cloudfront_field_names() {
    let problem = r#"{"type":"about:blank","title":"Payload Too Large","status":413}"#;
    let response = Response::new(413)
        .with_status_description("Payload Too Large")
        .with_header("Content-Type", "application/problem+json")
        .with_header("Cache-Control", "no-store")
        .with_text_body(problem);
    let value = serde_json::to_value(&response).expect("serializes");
    assert_eq!(
        value,
        json!({
            "status": "413",
            "statusDescription": "Payload Too Large",
            "headers": {
                "content-type": [{"key": "Content-Type", "value": "application/problem+json"}],
                "cache-control": [{"key": "Cache-Control", "value": "no-store"}]
            },
            "body": problem,
            "bodyEncoding": "text"
        })
    );

    // The minimal response: only `status` (a string) and an empty header object.
    let value = serde_json::to_value(Response::new(503)).expect("serializes");
    assert_eq!(value, json!({"status": "503", "headers": {}}));

    // The documented example parses into the same type.
    let text = read(&events_dir().join("responses/generated-response-aws-doc.json"));
    let doc: Response = serde_json::from_str(&text).expect("parses");
    assert_eq!(doc.status, "200");
    assert_eq!(doc.status_description.as_deref(), Some("OK"));
    assert_eq!(doc.body_encoding, Some(BodyEncoding::Text));
    assert_eq!(doc.headers.values("Content-Type"), ["text/html"]);
}

#[test]
fn replaced_body_serializes_as_cloudfront_expects() {
    let mut event = load_event("signup-json.json");
    let record = event.single_record_mut().expect("one record");
    let body = record.cf.request.body.as_mut().expect("has a body");

    body.replace_with_bytes(b"{\"user\":\"sealed\"}");
    let value = serde_json::to_value(&*body).expect("serializes");
    assert_eq!(
        value,
        json!({
            "inputTruncated": false,
            "action": "replace",
            "encoding": "base64",
            "data": "eyJ1c2VyIjoic2VhbGVkIn0="
        })
    );
    assert_eq!(body.decode().expect("decodes"), b"{\"user\":\"sealed\"}");

    body.replace_with_text("plain".to_owned());
    assert_eq!(body.action, BodyAction::Replace);
    assert_eq!(body.encoding, BodyEncoding::Text);
    assert_eq!(body.decode().expect("text decodes"), b"plain");
}

#[test]
fn bad_base64_is_a_typed_error_that_does_not_echo_the_body() {
    let body = |data: &str| Body {
        input_truncated: false,
        action: BodyAction::ReadOnly,
        encoding: BodyEncoding::Base64,
        data: data.to_owned(),
        extra: Default::default(),
    };
    let secret = "erika@example.de";
    let error = body(secret).decode().expect_err("not base64");
    assert_eq!(error, BodyDecodeError::InvalidBase64 { offset: Some(5) });
    let message = error.to_string();
    assert!(
        !message.contains("erika") && !message.contains('@'),
        "{message}"
    );

    for bad in ["abc", "ab=c", "a===", "YQ", "YR==", "Y Q==", "\u{e9}A=="] {
        assert!(body(bad).decode().is_err(), "{bad:?} decoded");
    }
    assert_eq!(body("").decode().expect("empty is fine"), b"");
    assert_eq!(body("YQ==").decode().expect("valid"), b"a");
}

#[test]
fn missing_or_mistyped_required_fields_are_errors() {
    let text = read(&events_dir().join("signup-json.json"));
    let valid: Value = serde_json::from_str(&text).expect("valid JSON");
    type Mutation = (&'static str, fn(&mut Value));
    let mutations: Vec<Mutation> = vec![
        ("no Records", |v| {
            v.as_object_mut().expect("object").remove("Records");
        }),
        ("Records not a list", |v| v["Records"] = json!({})),
        ("no config", |v| {
            v["Records"][0]["cf"]
                .as_object_mut()
                .expect("object")
                .remove("config");
        }),
        ("no request", |v| {
            v["Records"][0]["cf"]
                .as_object_mut()
                .expect("object")
                .remove("request");
        }),
        ("no inputTruncated", |v| {
            v["Records"][0]["cf"]["request"]["body"]
                .as_object_mut()
                .expect("object")
                .remove("inputTruncated");
        }),
        ("inputTruncated as string", |v| {
            v["Records"][0]["cf"]["request"]["body"]["inputTruncated"] = json!("false");
        }),
        ("unknown encoding", |v| {
            v["Records"][0]["cf"]["request"]["body"]["encoding"] = json!("gzip");
        }),
        ("unknown action", |v| {
            v["Records"][0]["cf"]["request"]["body"]["action"] = json!("delete");
        }),
        ("header values not a list", |v| {
            v["Records"][0]["cf"]["request"]["headers"]["host"] = json!("example.com");
        }),
        ("header without value", |v| {
            v["Records"][0]["cf"]["request"]["headers"]["host"] = json!([{"key": "Host"}]);
        }),
        ("headers not an object", |v| {
            v["Records"][0]["cf"]["request"]["headers"] = json!([]);
        }),
        ("uri not a string", |v| {
            v["Records"][0]["cf"]["request"]["uri"] = json!(1)
        }),
        ("port as a string", |v| {
            v["Records"][0]["cf"]["request"]["origin"] =
                json!({"custom": {"domainName": "a.example", "port": "443"}});
        }),
        ("port out of range", |v| {
            v["Records"][0]["cf"]["request"]["origin"] =
                json!({"custom": {"domainName": "a.example", "port": 70000}});
        }),
        ("origin without domainName", |v| {
            v["Records"][0]["cf"]["request"]["origin"] = json!({"custom": {"port": 443}});
        }),
    ];
    for (what, mutate) in mutations {
        let mut value = valid.clone();
        mutate(&mut value);
        let text = serde_json::to_string(&value).expect("serializes");
        assert!(text.parse::<CloudFrontEvent>().is_err(), "{what}: parsed");
    }
}

#[test]
fn duplicate_header_names_are_rejected() {
    let text = read(&events_dir().join("headers-cookie.json"));
    // Repeat the x-national-id name inside the same headers object (not expressible through
    // serde_json::Value, which keeps only the last one).
    let needle = "\"x-national-id\": [";
    let at = text.find(needle).expect("header present");
    let doubled = format!(
        "{}\"x-national-id\": [{{\"key\": \"X-National-ID\", \"value\": \"DE-000\"}}],\n{}",
        &text[..at],
        &text[at..]
    );
    let error = doubled
        .parse::<CloudFrontEvent>()
        .expect_err("duplicate header name");
    assert!(
        error
            .to_string()
            .contains("duplicate header name `x-national-id`"),
        "{error}"
    );
    assert!(!error.to_string().contains("DE-000"), "{error}");
}

#[test]
fn single_record_requires_exactly_one() {
    let mut event = load_event("viewer-request-aws-doc.json");
    assert!(event.single_record().is_some());
    let record = event.records[0].clone();
    event.records.push(record);
    assert!(event.single_record().is_none());
    assert!(event.single_record_mut().is_none());
    event.records.clear();
    assert!(event.single_record().is_none());
}

/// xorshift64*: deterministic pseudo-random bytes without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let fixed: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b" ".to_vec(),
        b"null".to_vec(),
        b"true".to_vec(),
        b"42".to_vec(),
        b"\"Records\"".to_vec(),
        b"[]".to_vec(),
        b"{}".to_vec(),
        b"{\"Records\": null}".to_vec(),
        b"{\"Records\": [null]}".to_vec(),
        b"{\"Records\": [{}]}".to_vec(),
        b"{\"Records\": [{\"cf\": {}}]}".to_vec(),
        b"{\"Records\": [{\"cf\": {\"config\": 1, \"request\": 2}}]}".to_vec(),
        b"{\"Records\": [1e999]}".to_vec(),
        b"{\"Records\": [\"\\ud800\"]}".to_vec(),
        b"\xff\xfe{}".to_vec(),
        "[".repeat(100_000).into_bytes(),
        "{\"a\":".repeat(100_000).into_bytes(),
        format!(
            "{{\"Records\": {}{}}}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        )
        .into_bytes(),
    ];
    for input in &fixed {
        assert!(
            CloudFrontEvent::from_slice(input).is_err(),
            "parsed: {:?}",
            String::from_utf8_lossy(&input[..input.len().min(60)])
        );
        assert!(serde_json::from_slice::<Response>(input).is_err());
    }

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // Random bytes, and random strings over JSON's own alphabet.
    const ALPHABET: &[u8] = b"{}[]:,\"\\ 0123456789.eE+-truefalsnl\n";
    for round in 0..3_000 {
        let len = rng.below(200);
        let input: Vec<u8> = (0..len)
            .map(|_| {
                if round % 2 == 0 {
                    rng.next() as u8
                } else {
                    ALPHABET[rng.below(ALPHABET.len())]
                }
            })
            .collect();
        assert!(CloudFrontEvent::from_slice(&input).is_err(), "{input:?}");
    }

    // Every prefix of a valid event is an error; mutated events never panic.
    for path in example_files() {
        let text = read(&path).into_bytes();
        if serde_json::from_slice::<Value>(&text)
            .map(|v| v.get("Records").is_none())
            .unwrap_or(true)
        {
            continue;
        }
        assert!(CloudFrontEvent::from_slice(&text).is_ok());
        let trimmed = text.trim_ascii_end();
        for cut in 0..trimmed.len() {
            assert!(
                CloudFrontEvent::from_slice(&trimmed[..cut]).is_err(),
                "{}: prefix of {cut} bytes parsed",
                path.display()
            );
        }
        for _ in 0..300 {
            let mut mutated = text.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(mutated.len());
                match rng.below(3) {
                    0 => mutated[at] = ALPHABET[rng.below(ALPHABET.len())],
                    1 => {
                        mutated.remove(at);
                    }
                    _ => mutated.insert(at, rng.next() as u8),
                }
            }
            // Ok or Err are both fine; only a panic would fail the test.
            if let Ok(event) = CloudFrontEvent::from_slice(&mutated) {
                let _ = serde_json::to_vec(&event).expect("a parsed event serializes");
            }
        }
    }
}
