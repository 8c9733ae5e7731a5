//! Requests as the CLI reads and prints them: the `request:` of a test case (and what `apply`
//! prints), a CloudFront event, or `--body` with `--method/--path/--query/--header` flags.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use clap::Args;
use pii_core::Request;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::shared::files::{read_bytes, shown};
use crate::shared::CliError;

/// A request written out: in test cases (YAML) and in what `apply` prints (JSON).
///
/// ```yaml
/// method: POST            # default GET
/// path: /api/users        # default /
/// query: "a=1&b=2"        # raw, percent-encoded, no leading `?`
/// headers:                # a map (one value or a list) or a list of [name, value] pairs
///   content-type: application/json
/// body: '{"a": 1}'        # text; or bodyBase64: for bytes (gzip, invalid UTF-8)
/// truncated: false        # the transport cut the body (CloudFront inputTruncated)
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RequestDoc {
    #[serde(default = "default_method")]
    method: String,
    #[serde(default = "default_path")]
    path: String,
    #[serde(default)]
    query: String,
    #[serde(default)]
    headers: HeadersDoc,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_base64: Option<String>,
    #[serde(default)]
    truncated: bool,
}

fn default_method() -> String {
    "GET".to_string()
}

fn default_path() -> String {
    "/".to_string()
}

impl RequestDoc {
    /// The engine's request.
    pub(crate) fn to_request(&self) -> Result<Request, String> {
        let body = match (&self.body, &self.body_base64) {
            (Some(_), Some(_)) => return Err("give either `body` or `bodyBase64`, not both".into()),
            (Some(text), None) => text.as_bytes().to_vec(),
            (None, Some(b64)) => base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| format!("`bodyBase64` is not valid base64: {e}"))?,
            (None, None) => Vec::new(),
        };
        Ok(Request {
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            headers: self.headers.0.clone(),
            body,
            body_truncated: self.truncated,
            body_withheld: false,
        })
    }
}

/// Headers in a request document: `{name: value | [values]}` or `[[name, value], ...]` or
/// `["Name: value", ...]`.
#[derive(Debug, Default)]
pub(crate) struct HeadersDoc(Vec<(String, String)>);

/// A scalar header value (strings, and numbers or booleans as YAML reads `x-version: 2`).
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a header value (text)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// One or several header values.
pub(crate) struct Values(pub(crate) Vec<String>);

impl<'de> Deserialize<'de> for Values {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Values;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a header value or a list of values")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Values, E> {
                Ok(Values(vec![v.to_string()]))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Values, E> {
                Ok(Values(vec![v]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Values, E> {
                Ok(Values(vec![v.to_string()]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Values, E> {
                Ok(Values(vec![v.to_string()]))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Values, E> {
                Ok(Values(vec![v.to_string()]))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Values, E> {
                Ok(Values(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Values, A::Error> {
                let mut out = Vec::new();
                while let Some(Scalar(v)) = seq.next_element()? {
                    out.push(v);
                }
                Ok(Values(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// One header of the list form: `[name, value]` or `"Name: value"`.
pub(crate) struct Pair(String, String);

impl<'de> Deserialize<'de> for Pair {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pair;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a header as [name, value] or \"Name: value\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Pair, E> {
                split_header(v).map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Pair, A::Error> {
                let name: Scalar = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("a header pair needs a name"))?;
                let value: Scalar = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("a header pair needs a value"))?;
                if seq.next_element::<Scalar>()?.is_some() {
                    return Err(de::Error::custom(
                        "a header pair has exactly two items: [name, value]",
                    ));
                }
                Ok(Pair(name.0, value.0))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for HeadersDoc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = HeadersDoc;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("headers as a map {name: value} or a list of [name, value]")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HeadersDoc, A::Error> {
                let mut out = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    let Values(values) = map.next_value()?;
                    for v in values {
                        out.push((name.clone(), v));
                    }
                }
                Ok(HeadersDoc(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<HeadersDoc, A::Error> {
                let mut out = Vec::new();
                while let Some(Pair(n, v)) = seq.next_element()? {
                    out.push((n, v));
                }
                Ok(HeadersDoc(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<HeadersDoc, E> {
                Ok(HeadersDoc::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// `Name: value` (the value may be empty).
pub(crate) fn split_header(text: &str) -> Result<Pair, String> {
    match text.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => Ok(Pair(
            name.trim().to_string(),
            value.strip_prefix(' ').unwrap_or(value).to_string(),
        )),
        _ => Err(format!("`{text}` is not a header; write it as NAME:VALUE")),
    }
}

/// Read a request document (`apply` output or a test case's `request:`), JSON or YAML.
pub(crate) fn request_from_doc_text(text: &str, name: &str) -> Result<Request, CliError> {
    // What `apply` prints wraps the request: accept both the wrapper and the bare request.
    let value: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| CliError::new(format!("{name}: {e}")))?
    } else {
        serde_saphyr::from_str(text).map_err(|e| CliError::new(format!("{name}: {e}")))?
    };
    let inner = match value.get("request") {
        Some(r) if r.is_object() => r.clone(),
        _ => value,
    };
    let doc: RequestDoc = serde_json::from_value(inner)
        .map_err(|e| CliError::new(format!("{name}: not a request: {e}")))?;
    doc.to_request()
        .map_err(|e| CliError::new(format!("{name}: {e}")))
}

/// A request from a file of any of the forms the CLI knows, recognised by its shape: a
/// CloudFront event (`Records`), the request object a trigger returns (`uri`), what `apply`
/// prints (`outcome`, with the policy and zone), or a request document (`method`, `path`, ...).
pub(crate) fn load_any(bytes: &[u8], name: &str) -> Result<LoadedRequest, CliError> {
    let json: Option<Value> = serde_json::from_slice(bytes).ok();
    let is = |key: &str| json.as_ref().is_some_and(|v| v.get(key).is_some());
    if is("Records") || is("uri") {
        return Ok(LoadedRequest {
            request: request_from_event(bytes, name)?,
            policy: None,
            zone: None,
        });
    }
    if let Some(v) = &json {
        if v.get("outcome").is_some() && v.get("request").is_none() {
            return Err(CliError::new(format!(
                "{name}: the request was {} ({}), there is no request in it",
                v["outcome"].as_str().unwrap_or("not protected"),
                v.get("reason").and_then(Value::as_str).unwrap_or("-")
            )));
        }
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        CliError::new(format!(
            "{name}: not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    let request = request_from_doc_text(text, name)?;
    let (policy, zone) = binding_from_doc_text(text);
    Ok(LoadedRequest {
        request,
        policy,
        zone,
    })
}

/// What `apply` printed, when it carried the policy and zone along (for `reveal --request`).
pub(crate) fn binding_from_doc_text(text: &str) -> (Option<String>, Option<String>) {
    let value: Option<Value> = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).ok()
    } else {
        None
    };
    let get = |k: &str| {
        value
            .as_ref()
            .and_then(|v| v.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    (get("policy"), get("zone"))
}

/// The request a CloudFront event carries.
///
/// Also accepts the bare `request` object a request trigger returns (what the edge forwards),
/// so `reveal --event` can read the function's output.
pub(crate) fn request_from_event(bytes: &[u8], name: &str) -> Result<Request, CliError> {
    let event = edge_fn::cloudfront::request_event(bytes)
        .map_err(|e| CliError::new(format!("{name}: {e}")))?;
    let Some(record) = event.single_record() else {
        return Err(CliError::new(format!(
            "{name}: {}",
            edge_fn::cloudfront::EventFileError::Records
        )));
    };
    let cf = &record.cf.request;
    // The one conversion the handler uses too (a header entry whose `key` names another
    // header is refused there and here).
    let request =
        edge_fn::cloudfront::to_core(cf).map_err(|e| CliError::new(format!("{name}: {e}")))?;
    Ok(request)
}

/// The request given by `--event`, `--request` or `--body` and the request flags.
#[derive(Args, Debug)]
pub(crate) struct RequestArgs {
    /// A CloudFront Lambda@Edge request event, or the request object the function returned (JSON; `-` for stdin)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["request", "body"])]
    pub(crate) event: Option<PathBuf>,
    /// A request as `pii-edge apply` or `reveal` print it, or as in a test case's `request:` (JSON or YAML; `-` for stdin)
    #[arg(long, value_name = "FILE", conflicts_with = "body")]
    pub(crate) request: Option<PathBuf>,
    /// The request body as text; `@FILE` reads it from a file, `@-` from stdin
    #[arg(long, value_name = "BODY", allow_hyphen_values = true)]
    pub(crate) body: Option<String>,
    /// HTTP method [default: POST with a body, GET without]
    #[arg(long, value_name = "METHOD", conflicts_with_all = ["event", "request"])]
    pub(crate) method: Option<String>,
    /// Request path [default: /]
    #[arg(long, value_name = "PATH", conflicts_with_all = ["event", "request"])]
    pub(crate) path: Option<String>,
    /// Raw query string without `?`, percent-encoded
    #[arg(long, value_name = "QUERY", conflicts_with_all = ["event", "request"])]
    pub(crate) query: Option<String>,
    /// A header, repeatable; Content-Type is guessed from the body when absent
    #[arg(long = "header", short = 'H', value_name = "NAME:VALUE", conflicts_with_all = ["event", "request"])]
    pub(crate) headers: Vec<String>,
    /// Mark the body as cut by the transport (CloudFront `inputTruncated`)
    #[arg(long, conflicts_with_all = ["event", "request"])]
    pub(crate) truncated: bool,
}

impl RequestArgs {
    /// The request, and the name to show for it.
    pub(crate) fn load(&self) -> Result<LoadedRequest, CliError> {
        // Both flags read any request file: what the flag says is only the usual content.
        if let Some(path) = self.event.as_ref().or(self.request.as_ref()) {
            let bytes = read_bytes(path)?;
            return load_any(&bytes, &shown(path));
        }
        if self.body.is_none() && self.path.is_none() {
            return Err(CliError::new(
                "give a request: --event FILE, --request FILE, or --body BODY / --path PATH with the other request flags",
            ));
        }
        let body = match self.body.as_deref().map(|b| (b, b.strip_prefix('@'))) {
            Some((_, Some(file))) => read_bytes(Path::new(file))?,
            Some((text, None)) => text.as_bytes().to_vec(),
            None => Vec::new(),
        };
        let mut headers = Vec::new();
        for h in &self.headers {
            let Pair(n, v) = split_header(h).map_err(CliError::new)?;
            headers.push((n, v));
        }
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            && !body.is_empty()
        {
            let first = body.iter().find(|b| !b.is_ascii_whitespace());
            let guessed = match first {
                Some(b'{' | b'[') => "application/json",
                _ => "application/x-www-form-urlencoded",
            };
            headers.push(("Content-Type".to_string(), guessed.to_string()));
        }
        let method = self
            .method
            .clone()
            .unwrap_or_else(|| if body.is_empty() { "GET" } else { "POST" }.to_string());
        let path = self.path.clone().unwrap_or_else(|| "/".to_string());
        let query = self.query.clone().unwrap_or_default();
        let query = query.strip_prefix('?').unwrap_or(&query).to_string();
        Ok(LoadedRequest {
            request: Request {
                method,
                path,
                query,
                headers,
                body,
                body_truncated: self.truncated,
                body_withheld: false,
            },
            policy: None,
            zone: None,
        })
    }
}

/// A request from the command line, with the policy and zone `apply` recorded, if any.
pub(crate) struct LoadedRequest {
    pub(crate) request: Request,
    pub(crate) policy: Option<String>,
    pub(crate) zone: Option<String>,
}

/// A request as JSON: the form `--request` and test cases read back. Headers are written as
/// `"Name: value"` strings, one per value, in order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestOut {
    method: String,
    path: String,
    query: String,
    headers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_base64: Option<String>,
    truncated: bool,
}

pub(crate) fn request_json(req: &Request) -> RequestOut {
    let (body, body_base64) = match std::str::from_utf8(&req.body) {
        Ok(text) => (Some(text.to_string()), None),
        Err(_) => (
            None,
            Some(base64::engine::general_purpose::STANDARD.encode(&req.body)),
        ),
    };
    RequestOut {
        method: req.method.clone(),
        path: req.path.clone(),
        query: req.query.clone(),
        headers: req
            .headers
            .iter()
            .map(|(n, v)| format!("{n}: {v}"))
            .collect(),
        body,
        body_base64,
        truncated: req.body_truncated,
    }
}
