//! The hand-written `Deserialize` of the CloudFront event types against the derived ones they
//! replaced (kept below in `old`, as they were): for every example event, every systematic
//! mutation of it (each member removed, duplicated, set to a value of each JSON type, an
//! unknown member added to each object) and a set of hand-made odd events, both parse to the
//! same value, or both refuse the input with the same error message.

use std::path::{Path, PathBuf};

use edge_fn::cloudfront::{CloudFrontEvent, Request, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

/// The types of `edge_fn::cloudfront` as they were with `#[derive(Deserialize)]` and
/// `#[serde(flatten)] extra`, with the old `Headers` and `EventType` impls.
mod old {
    use std::collections::HashSet;
    use std::fmt;

    use edge_fn::cloudfront::{BodyAction, BodyEncoding};
    use serde::de::{self, MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::{Map, Value};

    #[derive(Debug, Serialize, Deserialize)]
    pub(crate) struct CloudFrontEvent {
        #[serde(rename = "Records")]
        pub(crate) records: Vec<Record>,
        #[serde(flatten)]
        pub(crate) extra: Map<String, Value>,
    }

    #[derive(Debug, Serialize, Deserialize)]
    pub(crate) struct Record {
        pub(crate) cf: Cf,
        #[serde(flatten)]
        pub(crate) extra: Map<String, Value>,
    }

    #[derive(Debug, Serialize, Deserialize)]
    pub(crate) struct Cf {
        pub(crate) config: Config,
        pub(crate) request: Request,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) response: Option<Response>,
        #[serde(flatten)]
        pub(crate) extra: Map<String, Value>,
    }

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct Config {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) distribution_domain_name: Option<String>,
        pub(crate) distribution_id: String,
        pub(crate) event_type: EventType,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) request_id: Option<String>,
        #[serde(flatten)]
        pub(crate) extra: Map<String, Value>,
    }

    #[derive(Debug)]
    pub(crate) struct EventType(String);

    impl Serialize for EventType {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_str(&self.0)
        }
    }

    impl<'de> Deserialize<'de> for EventType {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            String::deserialize(deserializer).map(EventType)
        }
    }

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct Request {
        pub(crate) client_ip: String,
        pub(crate) method: String,
        pub(crate) uri: String,
        #[serde(default)]
        pub(crate) querystring: String,
        #[serde(default)]
        pub(crate) headers: Headers,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) body: Option<Body>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) origin: Option<Origin>,
        #[serde(flatten)]
        pub(crate) extra: Map<String, Value>,
    }

    #[derive(Debug, Serialize, Deserialize)]
    pub(crate) struct Header {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) key: Option<String>,
        pub(crate) value: String,
        #[serde(flatten)]
        pub(crate) extra: Map<String, Value>,
    }

    #[derive(Debug, Default)]
    pub(crate) struct Headers {
        entries: Vec<(String, Vec<Header>)>,
    }

    impl Serialize for Headers {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(Some(self.entries.len()))?;
            for (name, values) in &self.entries {
                map.serialize_entry(name, values)?;
            }
            map.end()
        }
    }

    impl<'de> Deserialize<'de> for Headers {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct HeadersVisitor;

            impl<'de> Visitor<'de> for HeadersVisitor {
                type Value = Headers;

                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an object of header name -> [{\"key\", \"value\"}]")
                }

                fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Headers, A::Error> {
                    let mut entries: Vec<(String, Vec<Header>)> = Vec::new();
                    let mut seen: HashSet<String> = HashSet::new();
                    while let Some(name) = access.next_key::<String>()? {
                        if !seen.insert(name.clone()) {
                            return Err(de::Error::custom(format_args!(
                                "duplicate header name `{name}`"
                            )));
                        }
                        let values: Vec<Header> = access.next_value()?;
                        entries.push((name, values));
                    }
                    Ok(Headers { entries })
                }
            }

            deserializer.deserialize_map(HeadersVisitor)
        }
    }

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct Body {
        pub(crate) input_truncated: bool,
        pub(crate) action: BodyAction,
        pub(crate) encoding: BodyEncoding,
        pub(crate) data: String,
        #[serde(flatten)]
        pub(crate) extra: Map<String, Value>,
    }

    #[derive(Debug, Serialize, Deserialize)]
    pub(crate) struct Origin {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) custom: Option<CustomOrigin>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) s3: Option<S3Origin>,
        #[serde(flatten)]
        pub(crate) extra: Map<String, Value>,
    }

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct CustomOrigin {
        #[serde(default)]
        pub(crate) custom_headers: Headers,
        pub(crate) domain_name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) keepalive_timeout: Option<u32>,
        #[serde(default)]
        pub(crate) path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) port: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) protocol: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) read_timeout: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) ssl_protocols: Option<Vec<String>>,
        #[serde(flatten)]
        pub(crate) extra: Map<String, Value>,
    }

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct S3Origin {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) auth_method: Option<String>,
        #[serde(default)]
        pub(crate) custom_headers: Headers,
        pub(crate) domain_name: String,
        #[serde(default)]
        pub(crate) path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) region: Option<String>,
        #[serde(flatten)]
        pub(crate) extra: Map<String, Value>,
    }

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct Response {
        pub(crate) status: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) status_description: Option<String>,
        #[serde(default)]
        pub(crate) headers: Headers,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) body: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) body_encoding: Option<BodyEncoding>,
        #[serde(flatten)]
        pub(crate) extra: Map<String, Value>,
    }
}

/// What parsing `json` as `T` gives: the value, serialized back, or the error message.
fn outcome<T: DeserializeOwned + Serialize>(json: &str) -> Result<Value, String> {
    match serde_json::from_str::<T>(json) {
        Ok(parsed) => Ok(serde_json::to_value(&parsed).expect("serializes")),
        Err(error) => Err(error.to_string()),
    }
}

/// The same, through `serde_json::from_value` (the handler's path for an event given as a
/// `Value`), when `json` is valid JSON.
fn outcome_from_value<T: DeserializeOwned + Serialize>(
    json: &str,
) -> Option<Result<Value, String>> {
    let value: Value = serde_json::from_str(json).ok()?;
    Some(match serde_json::from_value::<T>(value) {
        Ok(parsed) => Ok(serde_json::to_value(&parsed).expect("serializes")),
        Err(error) => Err(error.to_string()),
    })
}

/// Parses `json` with the old and the new type; panics if the outcomes differ. Returns whether
/// it parsed.
fn same<Old, New>(json: &str) -> bool
where
    Old: DeserializeOwned + Serialize,
    New: DeserializeOwned + Serialize,
{
    let old = outcome::<Old>(json);
    let new = outcome::<New>(json);
    assert_eq!(old, new, "from_str differs for {json}");
    // from_slice reads strings the same way; checked so that `visit_borrowed_str` and
    // `visit_str` both are.
    let new_slice = match serde_json::from_slice::<New>(json.as_bytes()) {
        Ok(parsed) => Ok(serde_json::to_value(&parsed).expect("serializes")),
        Err(error) => Err(error.to_string()),
    };
    assert_eq!(old, new_slice, "from_slice differs for {json}");
    // A reader gives every string as a transient `&str`.
    let new_reader = match serde_json::from_reader::<_, New>(json.as_bytes()) {
        Ok(parsed) => Ok(serde_json::to_value(&parsed).expect("serializes")),
        Err(error) => Err(error.to_string()),
    };
    let old_reader = match serde_json::from_reader::<_, Old>(json.as_bytes()) {
        Ok(parsed) => Ok(serde_json::to_value(&parsed).expect("serializes")),
        Err(error) => Err(error.to_string()),
    };
    assert_eq!(old_reader, new_reader, "from_reader differs for {json}");
    assert_eq!(
        outcome_from_value::<Old>(json),
        outcome_from_value::<New>(json),
        "from_value differs for {json}"
    );
    old.is_ok()
}

fn same_event(json: &str) -> bool {
    same::<old::CloudFrontEvent, CloudFrontEvent>(json)
}

fn same_response(json: &str) -> bool {
    same::<old::Response, Response>(json)
}

fn same_request(json: &str) -> bool {
    same::<old::Request, Request>(json)
}

/// Every `*.json` below `examples/events/`.
fn example_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("examples/events") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/events"),
        &mut files,
    );
    files.sort();
    assert!(files.len() >= 10, "example events found: {files:?}");
    files
}

/// A change made to one object of a JSON document.
#[derive(Clone)]
enum Change {
    /// Drop the member `key`.
    Remove(String),
    /// Write the member `key` a second time, right after the first.
    Duplicate(String),
    /// Write the member `key` a second time with another value.
    DuplicateWith(String, &'static str),
    /// Give the member `key` this JSON text as value.
    Replace(String, &'static str),
    /// Add a member; the key is JSON text (may hold escapes).
    Add(&'static str, &'static str),
    /// Write the object as `[]` or another non-object.
    Whole(&'static str),
}

/// Writes `value` as JSON, applying `change` to the object at `path` (object keys and array
/// indexes as strings).
fn render(value: &Value, path: &[String], change: &Change, out: &mut String) {
    match value {
        Value::Object(map) => {
            if path.is_empty() {
                if let Change::Whole(text) = change {
                    out.push_str(text);
                    return;
                }
            }
            out.push('{');
            let mut first = true;
            let mut member = |out: &mut String, key: &str, text: &str| {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(key);
                out.push(':');
                out.push_str(text);
            };
            for (key, child) in map {
                let key_json = serde_json::to_string(key).expect("key");
                if !path.is_empty() {
                    let text = if path[0] == *key {
                        let mut text = String::new();
                        render(child, &path[1..], change, &mut text);
                        text
                    } else {
                        serde_json::to_string(child).expect("child")
                    };
                    member(out, &key_json, &text);
                    continue;
                }
                let plain = serde_json::to_string(child).expect("child");
                match change {
                    Change::Remove(k) if k == key => {}
                    Change::Duplicate(k) if k == key => {
                        member(out, &key_json, &plain);
                        member(out, &key_json, &plain);
                    }
                    Change::DuplicateWith(k, text) if k == key => {
                        member(out, &key_json, &plain);
                        member(out, &key_json, text);
                    }
                    Change::Replace(k, text) if k == key => member(out, &key_json, text),
                    _ => member(out, &key_json, &plain),
                }
            }
            if path.is_empty() {
                if let Change::Add(key, text) = change {
                    member(out, key, text);
                }
            }
            out.push('}');
        }
        Value::Array(items) if !path.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if path[0] == i.to_string() {
                    render(item, &path[1..], change, out);
                } else {
                    out.push_str(&serde_json::to_string(item).expect("item"));
                }
            }
            out.push(']');
        }
        other => out.push_str(&serde_json::to_string(other).expect("value")),
    }
}

/// The paths of every object in `value`.
fn object_paths(value: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Vec<String>)>) {
    match value {
        Value::Object(map) => {
            out.push((path.clone(), map.keys().cloned().collect()));
            for (key, child) in map {
                path.push(key.clone());
                object_paths(child, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                object_paths(item, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

const REPLACEMENTS: &[&str] = &[
    "null",
    "true",
    "0",
    "-1",
    "70000",
    "4294967296",
    "1.5",
    "\"\"",
    "\"x\"",
    "\"viewer-request\"",
    "\"base64\"",
    "\"replace\"",
    "[]",
    "[\"TLSv1.2\"]",
    "{}",
    "{\"replace\":null}",
    "[{\"value\":\"v\"}]",
];

const ADDITIONS: &[(&str, &str)] = &[
    ("\"unknown\"", "{\"a\":[1,2.5,-3,null,true,\"s\"]}"),
    ("\"\"", "null"),
    (
        "\"Gr\\u00fc\\u00dfe \\\"q\\\" \\n\"",
        "\"na\\u00efve \\ud83d\\ude00 \\\\ \\/\"",
    ),
    ("\"dup\"", "1"),
    // An escaped spelling of a known name is that name.
    ("\"d\\u0061ta\"", "\"QQ==\""),
    ("\"Rec\\u006frds\"", "[]"),
    ("\"v\\u0061lue\"", "\"v2\""),
    ("\"status\\u0044escription\"", "\"x\""),
    ("\"big\"", "123456789012345678901234567890"),
    ("\"neg\"", "-9223372036854775809"),
];

/// Every mutation of `json` (see the module doc), each checked with `check`.
fn mutate_all(json: &str, check: fn(&str) -> bool) -> (usize, usize) {
    let value: Value = serde_json::from_str(json).expect("example is JSON");
    let mut objects = Vec::new();
    object_paths(&value, &mut Vec::new(), &mut objects);
    let mut changes = Vec::new();
    for (path, keys) in &objects {
        for key in keys {
            changes.push((path, Change::Remove(key.clone())));
            changes.push((path, Change::Duplicate(key.clone())));
            changes.push((path, Change::DuplicateWith(key.clone(), "null")));
            for text in REPLACEMENTS {
                changes.push((path, Change::Replace(key.clone(), text)));
            }
        }
        for (key, text) in ADDITIONS {
            changes.push((path, Change::Add(key, text)));
        }
        for text in ["[]", "null", "\"{}\"", "[{}]", "{}"] {
            changes.push((path, Change::Whole(text)));
        }
    }
    let (mut ok, mut refused) = (0, 0);
    for (path, change) in changes {
        let mut text = String::new();
        render(&value, path, &change, &mut text);
        if check(&text) {
            ok += 1;
        } else {
            refused += 1;
        }
    }
    (ok, refused)
}

#[test]
fn examples_and_their_mutations_parse_the_same() {
    let mut totals = (0, 0);
    for file in example_files() {
        let json = std::fs::read_to_string(&file).expect("read example");
        let is_response = file.parent().is_some_and(|d| d.ends_with("responses"))
            && !json.contains("\"Records\"");
        let check: fn(&str) -> bool = if is_response {
            same_response
        } else {
            same_event
        };
        assert!(check(&json), "{} must parse", file.display());
        let (ok, refused) = mutate_all(&json, check);
        assert!(
            ok > 0 && refused > 0,
            "{}: {ok} ok, {refused} refused",
            file.display()
        );
        totals.0 += ok;
        totals.1 += refused;
        // The request (and response) alone, as `AnswerParts::joined` parses a request.
        let value: Value = serde_json::from_str(&json).expect("JSON");
        let cf = &value["Records"][0]["cf"];
        if cf["request"].is_object() {
            let request = cf["request"].to_string();
            assert!(same_request(&request));
            mutate_all(&request, same_request);
        }
        if cf["response"].is_object() {
            let response = cf["response"].to_string();
            assert!(same_response(&response));
            mutate_all(&response, same_response);
        }
    }
    assert!(totals.0 > 1000 && totals.1 > 1000, "{totals:?}");
}

#[test]
fn odd_events_parse_the_same() {
    let config = r#""config":{"distributionId":"E1","eventType":"viewer-request"}"#;
    let request = r#""request":{"clientIp":"1.2.3.4","method":"GET","uri":"/"}"#;
    let odd: Vec<String> = vec![
        // Not events.
        String::new(),
        " ".into(),
        "null".into(),
        "[]".into(),
        "[[]]".into(),
        "{}".into(),
        "\"Records\"".into(),
        "{\"Records\":null}".into(),
        "{\"Records\":{}}".into(),
        "{\"Records\":[]}".into(),
        "{\"Records\":[null]}".into(),
        "{\"Records\":[{}]}".into(),
        "{\"Records\":[[]]}".into(),
        "{\"Records\":[{\"cf\":null}]}".into(),
        "{\"Records\":[{\"cf\":{}}]}".into(),
        "{\"Records\":[], \"Records\":[]}".into(),
        "{\"Records\":[] \"x\":1}".into(),
        "{\"Records\":[],}".into(),
        "{\"Records\":[]} trailing".into(),
        "{\"Records\":[]".into(),
        "{\"Records\"".into(),
        "{\"Rec".into(),
        "{\"records\":[]}".into(),
        "{1:2}".into(),
        // Minimal, then odd, records.
        format!("{{\"Records\":[{{\"cf\":{{{config},{request}}}}}]}}"),
        format!("{{\"Records\":[{{\"cf\":{{{request},{config}}}}}]}}"),
        format!("{{\"Records\":[{{\"cf\":{{{config}}}}}]}}"),
        format!("{{\"Records\":[{{\"cf\":{{{request}}}}}]}}"),
        format!("{{\"x\":1,\"Records\":[{{\"cf\":{{{config},{request}}},\"cf\":{{}}}}]}}"),
        format!(
            "{{\"Records\":[{{\"cf\":{{{config},{request}}}}},{{\"cf\":{{{config},{request}}},\"eventSourceArn\":\"a\"}}],\"y\":[]}}"
        ),
        format!("{{\"Records\":[{{\"cf\":{{{config},{request},\"response\":null}}}}]}}"),
        format!("{{\"Records\":[{{\"cf\":{{{config},{request},\"response\":{{}}}}}}]}}"),
        format!(
            "{{\"Records\":[{{\"cf\":{{{config},{request},\"response\":{{\"status\":\"200\"}},\"response\":null}}}}]}}"
        ),
        format!(
            "{{\"Records\":[{{\"cf\":{{{config},{request},\"response\":{{\"status\":200}}}}}}]}}"
        ),
        format!("{{\"Records\":[{{\"cf\":{{{config},{request},\"config\":{{}}}}}}]}}"),
        format!("{{\"Records\":[{{\"cf\":{{{config},{request},\"\":{{}},\"extra\":1}}}}]}}"),
        // Config.
        r#"{"Records":[{"cf":{"config":{"distributionId":"E1","eventType":"x-other","requestId":null,"distributionDomainName":null},"request":{"clientIp":"","method":"","uri":""}}}]}"#.into(),
        r#"{"Records":[{"cf":{"config":{"distributionId":"E1","eventType":null},"request":{"clientIp":"","method":"","uri":""}}}]}"#.into(),
        r#"{"Records":[{"cf":{"config":{"distributionId":"E1","eventType":"viewer-request","eventType":"viewer-request"},"request":{"clientIp":"","method":"","uri":""}}}]}"#.into(),
        r#"{"Records":[{"cf":{"config":{"distributionId":"E1","eventType":"origin-response","requestId":"r","requestId":"r"},"request":{"clientIp":"","method":"","uri":""}}}]}"#.into(),
        r#"{"Records":[{"cf":{"config":{"distributionId":"E\u0031","event\u0054ype":"viewer-\u0072equest"},"request":{"clientIp":"","method":"","uri":""}}}]}"#.into(),
        r#"{"Records":[{"cf":{"config":{"distributionId":"E1","eventType":"viewer-request","unknown":{"deep":[{"x":null}]},"unknown":2},"request":{"clientIp":"","method":"","uri":""}}}]}"#.into(),
        r#"{"Records":[{"cf":{"config":{"distributionId":1,"eventType":"viewer-request"},"request":{"clientIp":"","method":"","uri":""}}}]}"#.into(),
        r#"{"Records":[{"cf":{"config":[],"request":{"clientIp":"","method":"","uri":""}}}]}"#.into(),
    ];
    for json in &odd {
        same_event(json);
    }
    let requests = [
        r#"{"clientIp":"1","method":"GET","uri":"/","querystring":null}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","headers":null}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","headers":{},"headers":{}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","headers":{"a":[],"a":[]}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","headers":{"a":[],"\u0061":[]}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","headers":{"a":[],"A":[]}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","headers":{"a":[{"value":"1","value":"2"}]}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","headers":{"a":[{"value":"1","key":null}]}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","headers":{"a":[{"value":"1","key":"A","key":"A"}]}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","headers":{"a":[{"key":"A"}]}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","headers":{"a":[{"value":null}]}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","headers":{"a":[{"value":"x","other":{"y":1},"other":[2]}]}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","headers":{"a":{}}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","headers":{"x-\u00e9t\u00e9":[{"key":"X-\u00c9t\u00e9","value":"caf\u00e9 \"q\" \\ \n"}]}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","headers":{"a":[{"value":"1"}],"b":[{"value":"2"}],"c":[{"value":"3"}],"d":[],"e":[],"f":[],"g":[],"h":[],"i":[],"j":[],"k":[],"l":[],"m":[],"n":[],"o":[],"p":[],"q":[],"r":[],"s":[],"t":[],"a":[]}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","body":null}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","body":{}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","body":{"inputTruncated":false,"action":"read-only","encoding":"base64","data":"QQ=="}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","body":{"data":"QQ==","encoding":"text","action":"replace","inputTruncated":true,"x":1}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","body":{"inputTruncated":false,"action":"read-only","encoding":"base64","data":"QQ==","data":"QQ=="}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","body":{"inputTruncated":false,"action":"read-only","encoding":"base64","data":null}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","body":{"inputTruncated":"false","action":"read-only","encoding":"base64","data":""}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","body":{"inputTruncated":false,"action":"write","encoding":"base64","data":""}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","body":{"inputTruncated":false,"action":"read-only","encoding":"gzip","data":""}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","body":{"inputTruncated":false,"action":{"replace":null},"encoding":"text","data":"a\u0000b"}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","origin":null}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","origin":{}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","origin":{"custom":null,"s3":null}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","origin":{"custom":{"domainName":"d"},"s3":{"domainName":"e"}}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","origin":{"custom":{"domainName":"d","port":65536}}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","origin":{"custom":{"domainName":"d","port":-1}}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","origin":{"custom":{"domainName":"d","port":443.0}}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","origin":{"custom":{"domainName":"d","sslProtocols":[1]}}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","origin":{"custom":{"domainName":"d","customHeaders":null}}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","origin":{"custom":{"domainName":"d","path":null}}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","origin":{"s3":{"domainName":"d","authMethod":"none","region":"eu","region":"eu"}}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","origin":{"s3":{"domainName":"d","customHeaders":{"x":[{"value":"1"}]},"path":"/p","extra":true}}}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/","uri":"/"}"#,
        r#"{"clientIp":"1","method":"GET"}"#,
        r#"{"clientIp":"1","method":"GET","uri":"/\u00e9?\"","querystring":"a=\u00fc&b=%20"}"#,
    ];
    for json in requests {
        same_request(json);
        let event = format!("{{\"Records\":[{{\"cf\":{{{config},\"request\":{json}}}}}]}}");
        same_event(&event);
    }
    // Many header names, with a name repeated before, at and after the point where the
    // duplicate check changes from a scan to a set.
    for count in [1, 2, 31, 32, 33, 34, 64, 200] {
        let names: Vec<String> = (0..count).map(|i| format!("x-h{i}")).collect();
        let mut variants = vec![names.clone()];
        for (at, of) in [(count, 0), (count, count - 1), (count / 2, 0)] {
            let mut repeated = names.clone();
            repeated.insert(at, names[of].clone());
            variants.push(repeated);
        }
        for names in variants {
            let headers: Vec<String> = names
                .iter()
                .map(|n| format!("\"{n}\":[{{\"key\":\"{n}\",\"value\":\"v\"}}]"))
                .collect();
            let json = format!(
                r#"{{"clientIp":"1","method":"GET","uri":"/","headers":{{{}}}}}"#,
                headers.join(",")
            );
            same_request(&json);
        }
    }
    let responses = [
        r#"{}"#,
        r#"{"status":"200"}"#,
        r#"{"status":"200","status":"200"}"#,
        r#"{"status":"200","statusDescription":null,"headers":null}"#,
        r#"{"status":"200","body":null,"bodyEncoding":null}"#,
        r#"{"status":"200","body":"x","bodyEncoding":"text","bodyEncoding":"text"}"#,
        r#"{"status":"200","bodyEncoding":"gzip"}"#,
        r#"{"status":"200","headers":{"a":[{"value":"1"}]},"x":{"y":[]}}"#,
    ];
    for json in responses {
        same_response(json);
    }
}

/// Depth: the old and the new type go as deep into nested unknown members before serde_json's
/// recursion limit.
#[test]
fn deep_unknown_members_parse_the_same() {
    for depth in [100, 120, 123, 124, 125, 126, 127, 128, 129, 200] {
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let event = format!(
            r#"{{"Records":[{{"cf":{{"config":{{"distributionId":"E1","eventType":"viewer-request","x":{nested}}},"request":{{"clientIp":"","method":"","uri":""}}}}}}]}}"#
        );
        same_event(&event);
        let top = format!(r#"{{"x":{nested},"Records":[]}}"#);
        same_event(&top);
    }
}

/// The `extra` maps hold unknown members with their values (sanity check of the reference).
#[test]
fn unknown_members_are_kept() {
    let json = r#"{"Records":[{"cf":{"config":{"distributionId":"E1","eventType":"viewer-request","c":1},"request":{"clientIp":"","method":"","uri":"","r":2},"x":3},"y":4}],"z":5}"#;
    let event: CloudFrontEvent = json.parse().expect("parses");
    let mut expected = Map::new();
    expected.insert("z".into(), Value::from(5));
    assert_eq!(event.extra, expected);
    let record = event.single_record().expect("one");
    assert_eq!(record.extra["y"], 4);
    assert_eq!(record.cf.extra["x"], 3);
    assert_eq!(record.cf.config.extra["c"], 1);
    assert_eq!(record.cf.request.extra["r"], 2);
    assert!(same_event(json));
}
