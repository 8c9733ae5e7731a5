//! Reading an OpenAPI 3.0 or 3.1 document (JSON or YAML) as a `serde_json::Value`: its
//! operations, their parameters and request bodies, with local `$ref`s followed (JSON Pointer,
//! RFC 6901). Only what `pii-edge draft` needs is read; why not a typed OpenAPI crate:
//! `docs/decisions/0005-openapi-as-json.md`.

use std::path::Path;

use serde_json::Value;

use crate::shared::CliError;

/// How deep `$ref` chains and nested schemas are followed; deeper is reported, not walked.
pub(super) const MAX_DEPTH: usize = 32;

/// The HTTP methods an OpenAPI path item may hold, in the specification's order.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// A loaded OpenAPI document.
pub(super) struct Document {
    pub(super) root: Value,
    /// `openapi`: `3.0.x` or `3.1.x`.
    pub(super) version: String,
    /// The path every server URL shares (`/api/v3` of `https://petstore3.swagger.io/api/v3`),
    /// without a trailing slash; empty when the servers disagree or have none.
    pub(super) base_path: String,
}

/// A parameter (`in: query | header | cookie | path`).
pub(super) struct Parameter {
    pub(super) location: String,
    pub(super) name: String,
    pub(super) required: bool,
    pub(super) schema: Value,
    /// `example`, or the first of `examples` (their `value`).
    pub(super) example: Option<Value>,
}

/// A request body of one media type.
pub(super) struct Body {
    pub(super) media_type: String,
    pub(super) schema: Value,
    pub(super) example: Option<Value>,
}

/// One operation (a method on a path).
pub(super) struct Operation {
    pub(super) method: String,
    /// The path template as the document writes it (`/user/{username}`).
    pub(super) path: String,
    pub(super) operation_id: Option<String>,
    pub(super) summary: Option<String>,
    pub(super) parameters: Vec<Parameter>,
    pub(super) bodies: Vec<Body>,
}

impl Document {
    /// Reads and parses `path`: JSON when it starts with `{`, YAML otherwise.
    pub(super) fn load(path: &Path) -> Result<Document, CliError> {
        let text = crate::shared::files::read_text(path)?;
        let shown = crate::shared::files::shown(path);
        let root: Value = if text.trim_start().starts_with('{') {
            serde_json::from_str(&text)
                .map_err(|e| CliError::new(format!("{shown}: not valid JSON: {e}")))?
        } else {
            serde_saphyr::from_str(&text)
                .map_err(|e| CliError::new(format!("{shown}: not valid YAML: {e}")))?
        };
        let version = match root.get("openapi").and_then(Value::as_str) {
            Some(v) if v.starts_with("3.0") || v.starts_with("3.1") => v.to_string(),
            Some(v) => {
                return Err(CliError::new(format!(
                    "{shown}: OpenAPI {v} is not supported; 3.0 and 3.1 are"
                )))
            }
            None if root.get("swagger").is_some() => {
                return Err(CliError::new(format!(
                    "{shown}: a Swagger 2.0 document; convert it to OpenAPI 3 first (for example with swagger2openapi)"
                )))
            }
            None => {
                return Err(CliError::new(format!(
                    "{shown}: not an OpenAPI document (no `openapi` version field)"
                )))
            }
        };
        // 3.1 makes `paths` optional (a document of webhooks only): then there is nothing the
        // API receives to draft for. Present, it must be an object.
        if root.get("paths").is_some_and(|p| !p.is_object()) {
            return Err(CliError::new(format!("{shown}: `paths` is not an object")));
        }
        let base_path = base_path(&root);
        Ok(Document {
            root,
            version,
            base_path,
        })
    }

    /// `value` with its `$ref` followed (repeatedly); `None` for a reference that does not
    /// resolve within the document (external files are not read) or a chain longer than
    /// [`MAX_DEPTH`].
    pub(super) fn resolve<'a>(&'a self, mut value: &'a Value) -> Option<&'a Value> {
        for _ in 0..MAX_DEPTH {
            match value.get("$ref").and_then(Value::as_str) {
                Some(reference) => value = self.pointer(reference)?,
                None => return Some(value),
            }
        }
        None
    }

    /// The target of a local reference (`#/components/schemas/User`).
    fn pointer(&self, reference: &str) -> Option<&Value> {
        let pointer = reference.strip_prefix('#')?;
        let decoded = percent_decode(pointer);
        self.root.pointer(&decoded)
    }

    /// Every operation, in document order.
    pub(super) fn operations(&self) -> Vec<Operation> {
        let mut out = Vec::new();
        let Some(paths) = self.root.get("paths").and_then(Value::as_object) else {
            return out;
        };
        for (path, item) in paths {
            let Some(item) = self.resolve(item) else {
                continue;
            };
            let shared = self.parameters(item.get("parameters"));
            for method in METHODS {
                let Some(op) = item.get(method) else {
                    continue;
                };
                let mut parameters = self.parameters(op.get("parameters"));
                // Path-level parameters apply unless the operation redefines them.
                for p in &shared {
                    if !parameters
                        .iter()
                        .any(|q| q.name == p.name && q.location == p.location)
                    {
                        parameters.push(Parameter {
                            location: p.location.clone(),
                            name: p.name.clone(),
                            required: p.required,
                            schema: p.schema.clone(),
                            example: p.example.clone(),
                        });
                    }
                }
                out.push(Operation {
                    method: method.to_ascii_uppercase(),
                    path: path.clone(),
                    operation_id: op
                        .get("operationId")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    summary: op
                        .get("summary")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    parameters,
                    bodies: self.bodies(op.get("requestBody")),
                });
            }
        }
        out
    }

    fn parameters(&self, list: Option<&Value>) -> Vec<Parameter> {
        let mut out = Vec::new();
        for p in list.and_then(Value::as_array).into_iter().flatten() {
            let Some(p) = self.resolve(p) else {
                continue;
            };
            let (Some(location), Some(name)) = (
                p.get("in").and_then(Value::as_str),
                p.get("name").and_then(Value::as_str),
            ) else {
                continue;
            };
            // A parameter described by `content` (rare) carries its schema in the media type.
            let schema = p
                .get("schema")
                .or_else(|| {
                    p.get("content")
                        .and_then(Value::as_object)
                        .and_then(|c| c.values().next())
                        .and_then(|m| m.get("schema"))
                })
                .cloned()
                .unwrap_or(Value::Null);
            out.push(Parameter {
                location: location.to_string(),
                name: name.to_string(),
                required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
                schema,
                example: self.example_of(p),
            });
        }
        out
    }

    fn bodies(&self, body: Option<&Value>) -> Vec<Body> {
        let Some(body) = body.and_then(|b| self.resolve(b)) else {
            return Vec::new();
        };
        let Some(content) = body.get("content").and_then(Value::as_object) else {
            return Vec::new();
        };
        content
            .iter()
            .map(|(media_type, media)| Body {
                media_type: media_type.to_ascii_lowercase(),
                schema: media.get("schema").cloned().unwrap_or(Value::Null),
                example: self.example_of(media),
            })
            .collect()
    }

    /// `example`, else the `value` of the first of `examples` (a map of Example objects in
    /// parameters and media types), else the first of `examples` when it is a JSON Schema
    /// array (3.1 schemas).
    pub(super) fn example_of(&self, v: &Value) -> Option<Value> {
        if let Some(e) = v.get("example") {
            return Some(e.clone());
        }
        match v.get("examples") {
            Some(Value::Object(map)) => map
                .values()
                .filter_map(|e| self.resolve(e))
                .find_map(|e| e.get("value").cloned()),
            Some(Value::Array(list)) => list.first().cloned(),
            _ => None,
        }
    }
}

/// The path shared by every `servers[].url` (`https://host/api/v3` → `/api/v3`; server
/// variables `{x}` are kept as route parameters).
fn base_path(root: &Value) -> String {
    let Some(servers) = root.get("servers").and_then(Value::as_array) else {
        return String::new();
    };
    let mut paths = servers.iter().filter_map(|s| {
        let url = s.get("url")?.as_str()?;
        let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        let path = if url.contains("://") {
            after_scheme.find('/').map_or("", |i| &after_scheme[i..])
        } else {
            url
        };
        Some(path.trim_end_matches('/').to_string())
    });
    let Some(first) = paths.next() else {
        return String::new();
    };
    if paths.all(|p| p == first) && (first.is_empty() || first.starts_with('/')) {
        first
    } else {
        String::new()
    }
}

/// `%XX` escapes decoded (JSON Pointers in URI fragments are percent-encoded).
fn percent_decode(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let Some(v) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(root: Value) -> Document {
        let base_path = base_path(&root);
        Document {
            root,
            version: "3.1.0".into(),
            base_path,
        }
    }

    #[test]
    fn references_are_followed_and_cycles_end() {
        let d = doc(json!({
            "components": {"schemas": {
                "A": {"$ref": "#/components/schemas/B"},
                "B": {"type": "string"},
                "Loop": {"$ref": "#/components/schemas/Loop"},
                "a/b": {"type": "integer"}
            }}
        }));
        let a = json!({"$ref": "#/components/schemas/A"});
        assert_eq!(d.resolve(&a), Some(&json!({"type": "string"})));
        assert_eq!(
            d.resolve(&json!({"$ref": "#/components/schemas/Loop"})),
            None
        );
        assert_eq!(d.resolve(&json!({"$ref": "other.yaml#/X"})), None);
        assert_eq!(
            d.resolve(&json!({"$ref": "#/components/schemas/a~1b"})),
            Some(&json!({"type": "integer"}))
        );
    }

    #[test]
    fn the_servers_shared_path_prefixes_routes() {
        assert_eq!(
            base_path(&json!({"servers": [{"url": "https://petstore3.swagger.io/api/v3"}]})),
            "/api/v3"
        );
        assert_eq!(base_path(&json!({"servers": [{"url": "/v1/"}]})), "/v1");
        assert_eq!(
            base_path(&json!({"servers": [{"url": "https://a/v1"}, {"url": "https://b/v2"}]})),
            ""
        );
        assert_eq!(base_path(&json!({})), "");
    }

    #[test]
    fn path_level_parameters_apply_to_every_operation() {
        let d = doc(json!({
            "paths": {"/users/{id}": {
                "parameters": [{"name": "x-email", "in": "header", "schema": {"type": "string"}}],
                "get": {"operationId": "getUser"},
                "put": {"parameters": [{"name": "x-email", "in": "header", "required": true}]}
            }}
        }));
        let ops = d.operations();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0].parameters.len(), 1);
        assert!(ops[1].parameters[0].required);
    }
}
