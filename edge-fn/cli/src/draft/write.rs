//! Writing a draft: the policy's YAML and a test case built from the document's examples.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use edge_fn::scan::detect::{self, context::Field};
use pii_core::{Outcome, Policy, Request};
use serde_json::{json, Map, Value};

use super::openapi::{Document, Operation, MAX_DEPTH};
use super::rules::{types, Kind, Rule, Step, NODE_BUDGET};
use crate::shared::draft_yaml::{case_yaml, quote, Selector};
use crate::shared::style::errln;
use crate::shared::CliError;

#[allow(clippy::too_many_arguments)]
pub(super) fn policy_yaml(
    name: &str,
    file_stem: &str,
    source: &str,
    version: &str,
    op: &Operation,
    route: &str,
    zone: &str,
    rules: &[Rule],
    notes: &[String],
) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# Drafted by `pii-edge draft` from {source} (OpenAPI {version}): {} {}{}.",
        op.method,
        op.path,
        op.summary
            .as_deref()
            .map(|s| format!(", \"{}\"", s.replace('\n', " ")))
            .unwrap_or_default()
    );
    let _ = writeln!(
        t,
        "# Review every rule (encrypt, mask, tokenize or redact?) before use; the test case in"
    );
    let _ = writeln!(
        t,
        "# {file_stem}.tests/ is built from the document's examples."
    );
    for note in notes {
        let _ = writeln!(t, "# Note: {note}.");
    }
    let _ = writeln!(t, "apiVersion: pii-edge/v1");
    let _ = writeln!(t, "kind: Policy");
    let _ = writeln!(t, "name: {name}");
    let _ = writeln!(
        t,
        "description: {}",
        quote(&format!(
            "Drafted from {source}: personal data in {} {}",
            op.method, op.path
        ))
    );
    let _ = writeln!(t, "zone: {}", quote(zone));
    let _ = writeln!(t, "match:");
    let _ = writeln!(t, "  methods: [{}]", op.method);
    let _ = writeln!(t, "  paths: [{}]", quote(route));
    let _ = writeln!(t, "rules:");
    let mut used = BTreeSet::new();
    for rule in rules {
        let _ = writeln!(t, "  # {}: {}", rule.kind.name(), rule.why);
        if rule.kind == Kind::Credential {
            // Whatever checks the secret must open it first: a gateway or authorizer in front
            // of the origin cannot.
            let _ = writeln!(
                t,
                "  # (a secret: the service that checks it opens it; if a gateway in front of it checks it, that gateway cannot, so leave this rule out)"
            );
        }
        let rule_name = unique(&mut used, &rule.selector.rule_name());
        let _ = writeln!(t, "  - name: {}", quote(&rule_name));
        let _ = writeln!(t, "    select: {}", rule.selector.yaml());
        let _ = writeln!(t, "    action: encrypt");
    }
    t
}

/// Writes `FILE.tests/01-example.yaml`: a request built from the document's examples (fake
/// values of the kind where a personal field has no example the detectors recognise), which
/// the draft must protect. Returns whether a case was written.
pub(super) fn write_case(
    doc: &Document,
    op: &Operation,
    route: &str,
    policy: Policy,
    rules: &[Rule],
    file: &std::path::Path,
) -> Result<bool, CliError> {
    let mut absent = BTreeSet::new();
    let path = fill_path(doc, op, route);
    let mut req = Request::new(op.method.clone(), path);
    let mut query = form_urlencoded::Serializer::new(String::new());
    let mut cookies = Vec::new();
    for p in &op.parameters {
        let rule = rules
            .iter()
            .find(|r| matches!(&r.selector, Selector::Field(part, n) if *part == p.location && n == &p.name));
        if rule.is_none() && !p.required {
            continue;
        }
        let schema = doc.resolve(&p.schema).cloned().unwrap_or(Value::Null);
        let value = match rule {
            Some(r) => personal_value(p.example.as_ref(), r.kind, &p.name, &mut absent),
            None => p
                .example
                .clone()
                .unwrap_or_else(|| example(doc, &schema, &mut Vec::new(), 0, &mut 0)),
        };
        let text = scalar_text(&value);
        match p.location.as_str() {
            "query" => {
                query.append_pair(&p.name, &text);
            }
            "header" => req.headers.push((p.name.clone(), text)),
            "cookie" => cookies.push(format!("{}={text}", p.name)),
            _ => {}
        }
    }
    req.query = query.finish();
    if !cookies.is_empty() {
        req.headers.push(("cookie".into(), cookies.join("; ")));
    }
    let body = op
        .bodies
        .iter()
        .find(|b| b.media_type.starts_with("application/json"))
        .or_else(|| op.bodies.iter().find(|b| b.media_type.ends_with("+json")))
        .or_else(|| op.bodies.iter().find(|b| b.media_type == "*/*"))
        .map(|b| (b, true))
        .or_else(|| {
            op.bodies
                .iter()
                .find(|b| {
                    b.media_type
                        .starts_with("application/x-www-form-urlencoded")
                })
                .map(|b| (b, false))
        });
    if let Some((b, is_json)) = body {
        let mut value = b
            .example
            .clone()
            .unwrap_or_else(|| example(doc, &b.schema, &mut Vec::new(), 0, &mut 0));
        for rule in rules {
            match &rule.selector {
                Selector::Json(path) if is_json => {
                    personalize(&mut value, &steps_of(path), rule.kind, &mut absent)
                }
                Selector::Field("form", name) if !is_json => personalize(
                    &mut value,
                    &[Step::Name(name.clone())],
                    rule.kind,
                    &mut absent,
                ),
                _ => {}
            }
        }
        let content_type = if b.media_type == "*/*" {
            "application/json".to_string()
        } else {
            b.media_type.clone()
        };
        req.headers.push(("content-type".into(), content_type));
        req.body = if is_json {
            value.to_string().into_bytes()
        } else {
            let mut form = form_urlencoded::Serializer::new(String::new());
            if let Value::Object(map) = &value {
                for (k, v) in map {
                    if !v.is_object() && !v.is_array() {
                        form.append_pair(k, &scalar_text(v));
                    }
                }
            }
            form.finish().into_bytes()
        };
    }
    let (public, tokens) = crate::shared::run_keys::throwaway_keys(std::slice::from_ref(&policy))?;
    let engine = crate::shared::files::engine(vec![policy], public, tokens)?;
    let fields = match engine.apply(&req) {
        Outcome::Protected(p) if !p.fields.is_empty() => p.fields,
        _ => {
            errln!(
                "note: the draft for {} {} does not protect the request built from the document's examples; no test case written for it",
                op.method,
                op.path
            );
            return Ok(false);
        }
    };
    let dir = file.with_extension("tests");
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::new(format!("cannot create {}: {e}", dir.display())))?;
    let description = format!(
        "{} {} built from the OpenAPI document's examples (fake values where a personal field has none)",
        op.method, op.path
    );
    // A personal value that also stands in a field no rule covers (a date that is both the
    // birth date and a creation date in the examples) cannot be expected gone.
    let whole = format!(
        "{}\n{}\n{:?}",
        String::from_utf8_lossy(&req.body),
        req.query,
        req.headers
    );
    let absent: Vec<String> = absent
        .into_iter()
        .filter(|a| whole.matches(a.as_str()).count() == 1)
        .collect();
    let case = case_yaml(&description, &req, &fields, &absent);
    let path = dir.join("01-example.yaml");
    std::fs::write(&path, case)
        .map_err(|e| CliError::new(format!("cannot write {}: {e}", path.display())))?;
    Ok(true)
}

/// The steps of a normalized path written by [`json_path`].
pub(super) fn steps_of(path: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut rest = path.strip_prefix('$').unwrap_or(path);
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("[*]") {
            steps.push(Step::Any);
            rest = r;
        } else if let Some(r) = rest.strip_prefix("..") {
            steps.push(Step::Descendants);
            rest = r;
        } else if let Some(r) = rest.strip_prefix("['") {
            let mut name = String::new();
            let mut chars = r.char_indices();
            let mut end = r.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, e)) = chars.next() {
                            name.push(e);
                        }
                    }
                    '\'' => {
                        end = i;
                        break;
                    }
                    c => name.push(c),
                }
            }
            steps.push(Step::Name(name));
            rest = r.get(end + 2..).unwrap_or("");
        } else {
            break;
        }
    }
    steps
}

/// The path with its `{parameters}` filled from their examples (`1` without one).
pub(super) fn fill_path(doc: &Document, op: &Operation, route: &str) -> String {
    let mut out = String::new();
    let mut rest = route;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        let value = op
            .parameters
            .iter()
            .find(|p| p.location == "path" && p.name == name)
            .and_then(|p| p.example.clone().or_else(|| doc.example_of(&p.schema)))
            .map(|v| scalar_text(&v))
            .filter(|v| {
                !v.is_empty()
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            })
            .unwrap_or_else(|| "1".into());
        out.push_str(&value);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

pub(super) fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The value for a personal field: its example when the detectors recognise it as personal
/// data (so the case shows what the document shows), else a fake one of the kind.
pub(super) fn personal_value(
    example: Option<&Value>,
    kind: Kind,
    name: &str,
    absent: &mut BTreeSet<String>,
) -> Value {
    let value = match example {
        Some(Value::String(s)) if !detect::detect(s, &Field::new(name, &[])).is_empty() => json!(s),
        Some(v @ Value::Object(_)) if kind == Kind::Address => v.clone(),
        _ => kind.fake(),
    };
    collect_texts(&value, absent);
    value
}

/// Every string of `value` of six characters or more: what must not survive protection.
pub(super) fn collect_texts(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::String(s) if s.chars().count() >= 6 => {
            out.insert(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|v| collect_texts(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_texts(v, out)),
        _ => {}
    }
}

/// Puts a personal value at `steps` in the example body (creating members on the way).
pub(super) fn personalize(
    value: &mut Value,
    steps: &[Step],
    kind: Kind,
    absent: &mut BTreeSet<String>,
) {
    let Some((first, rest)) = steps.split_first() else {
        let name = String::new();
        let current = value.clone();
        *value = personal_value(Some(&current), kind, &name, absent);
        return;
    };
    match first {
        Step::Name(n) => {
            if !value.is_object() {
                *value = Value::Object(Map::new());
            }
            if let Value::Object(map) = value {
                if rest.is_empty() {
                    let current = map.get(n).cloned();
                    let v = personal_value(current.as_ref(), kind, n, absent);
                    map.insert(n.clone(), v);
                } else {
                    personalize(
                        map.entry(n.clone()).or_insert(Value::Null),
                        rest,
                        kind,
                        absent,
                    );
                }
            }
        }
        // The example holds one level: the value is put where the recursion starts.
        Step::Descendants => personalize(value, rest, kind, absent),
        Step::Any => match value {
            Value::Array(items) if !items.is_empty() => {
                for item in items {
                    personalize(item, rest, kind, absent);
                }
            }
            Value::Object(map) if !map.is_empty() => {
                for item in map.values_mut() {
                    personalize(item, rest, kind, absent);
                }
            }
            _ => {
                let mut item = Value::Null;
                personalize(&mut item, rest, kind, absent);
                *value = Value::Array(vec![item]);
            }
        },
    }
}

/// An example value for a schema: its `example`/`examples`, `default`, first `enum` value,
/// else one built from its type (objects with every property, arrays with one item).
pub(super) fn example(
    doc: &Document,
    schema: &Value,
    refs: &mut Vec<String>,
    depth: usize,
    budget: &mut usize,
) -> Value {
    *budget += 1;
    if depth > MAX_DEPTH || *budget > NODE_BUDGET {
        return Value::Null;
    }
    let reference = schema
        .get("$ref")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(r) = &reference {
        if refs.contains(r) {
            return Value::Null;
        }
        refs.push(r.clone());
    }
    let out = match doc.resolve(schema) {
        None => Value::Null,
        Some(s) => {
            if let Some(e) = doc.example_of(s) {
                e
            } else if let Some(d) = s.get("default") {
                d.clone()
            } else if let Some(e) = s
                .get("enum")
                .and_then(Value::as_array)
                .and_then(|e| e.first())
            {
                e.clone()
            } else if let Some(c) = s.get("const") {
                c.clone()
            } else if let Some(all) = s.get("allOf").and_then(Value::as_array) {
                let mut merged = Map::new();
                for branch in all {
                    if let Value::Object(m) = example(doc, branch, refs, depth + 1, budget) {
                        merged.extend(m);
                    }
                }
                Value::Object(merged)
            } else if let Some(first) = ["oneOf", "anyOf"]
                .iter()
                .find_map(|k| s.get(*k).and_then(Value::as_array).and_then(|a| a.first()))
            {
                example(doc, first, refs, depth + 1, budget)
            } else {
                let t = types(s);
                let t = t.iter().find(|t| **t != "null").copied().unwrap_or(
                    if s.get("properties").is_some() {
                        "object"
                    } else {
                        "string"
                    },
                );
                match t {
                    "object" => {
                        let mut map = Map::new();
                        for (k, v) in s
                            .get("properties")
                            .and_then(Value::as_object)
                            .into_iter()
                            .flatten()
                        {
                            let e = example(doc, v, refs, depth + 1, budget);
                            if !e.is_null() {
                                map.insert(k.clone(), e);
                            }
                        }
                        Value::Object(map)
                    }
                    "array" => match s.get("items") {
                        Some(items) => {
                            let e = example(doc, items, refs, depth + 1, budget);
                            if e.is_null() {
                                json!([])
                            } else {
                                json!([e])
                            }
                        }
                        None => json!([]),
                    },
                    "integer" => json!(1),
                    "number" => json!(1.5),
                    "boolean" => json!(true),
                    _ => match s.get("format").and_then(Value::as_str) {
                        Some("date") => json!("2020-01-31"),
                        Some("date-time") => json!("2020-01-31T12:00:00Z"),
                        Some("uuid") => json!("00000000-0000-4000-8000-000000000000"),
                        Some("uri" | "url") => json!("https://example.com/"),
                        _ => json!("x"),
                    },
                }
            }
        }
    };
    if reference.is_some() {
        refs.pop();
    }
    out
}

pub(super) fn unique(used: &mut BTreeSet<String>, base: &str) -> String {
    let mut name = base.to_string();
    let mut n = 2;
    while !used.insert(name.clone()) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}
