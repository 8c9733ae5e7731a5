//! Which fields of an operation carry personal data, and the rules that protect them.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use edge_fn::scan::detect::{self, context::Field, national, Detector};
use edge_fn::scan::mask::mask;
use edge_fn::scan::IdScheme;
use serde_json::{json, Value};

use super::openapi::{Document, Operation, MAX_DEPTH};
use crate::shared::draft_yaml::{fake, Selector};

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// What a scanner detector finds.
    Detected(Detector),
    /// A postal address (a whole object, or a street, postal code or city).
    Address,
    /// A secret: a password, passphrase, PIN, one-time code, API key or session token.
    Credential,
    /// The name of a user's account (`username`, `login`): an online identifier.
    AccountName,
    /// A device's identifier (`deviceId`, an advertising id, IMEI): an online identifier.
    DeviceId,
    /// A geographic position (`latitude`, `lng`, `geolocation`): location data.
    Geolocation,
}

impl Kind {
    pub(super) fn name(self) -> String {
        match self {
            Kind::Detected(d) => d.to_string(),
            Kind::Address => "postal address".into(),
            Kind::Credential => "credential".into(),
            Kind::AccountName => "user name".into(),
            Kind::DeviceId => "device identifier".into(),
            Kind::Geolocation => "geolocation".into(),
        }
    }

    /// A value of this kind for a test case: reserved, specimen or test values only.
    pub(super) fn fake(self) -> Value {
        match self {
            Kind::Detected(d) => json!(fake(d)),
            Kind::Address => json!("Musterstrasse 1"),
            Kind::Credential => json!("Example-Passw0rd"),
            Kind::AccountName => json!("jdoe-example"),
            // An RFC 9562 example UUID.
            Kind::DeviceId => json!("f81d4fae-7dec-11d0-a765-00a0c91e6bf6"),
            Kind::Geolocation => json!(52.5163),
        }
    }
}

/// One step of a JSON path: a member, every element or member (`[*]`), or any depth below
/// (`..`, for a schema that contains itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    Name(String),
    Any,
    Descendants,
}

/// A `$ref` being walked: the reference, and the lengths of the path and of the found list
/// when it was entered.
pub(super) struct Entered {
    pub(super) reference: String,
    pub(super) steps: usize,
    pub(super) found: usize,
}

/// Where the walk is: the references being walked (outermost first) and the places a schema
/// came back into itself.
#[derive(Default)]
pub(super) struct Trail {
    pub(super) entered: Vec<Entered>,
    /// The operation's resource (its last literal path segment, `things` of `/things`): what a
    /// top-level member of an inline schema belongs to.
    pub(super) resource: Option<String>,
    pub(super) cycles: Vec<(String, Vec<Step>)>,
    /// Schemas walked so far for this body: shared schemas are walked again at every place
    /// they are used, so a large document's bodies are cut at [`NODE_BUDGET`].
    pub(super) nodes: usize,
}

/// Most schemas walked for one body (and most values built for one example).
pub(super) const NODE_BUDGET: usize = 20_000;

/// A personal field found in a schema.
#[derive(Debug)]
pub(super) struct Found {
    pub(super) steps: Vec<Step>,
    pub(super) kind: Kind,
    pub(super) why: String,
}

/// A rule to write.
pub(super) struct Rule {
    pub(super) selector: Selector,
    pub(super) kind: Kind,
    pub(super) why: String,
}

/// The rules for an operation, and notes on what cannot be protected (path parameters, bodies
/// the engine does not read).
pub(super) fn rules_of(doc: &Document, op: &Operation) -> (Vec<Rule>, Vec<String>) {
    let mut rules = Vec::new();
    let mut notes = Vec::new();
    // A parameter is read in the context of the resource its path names (`name` of `/pet`).
    let resource: Vec<&str> = op
        .path
        .rsplit('/')
        .filter(|s| !s.is_empty() && !s.contains('{'))
        .take(1)
        .collect();
    for p in &op.parameters {
        let schema = doc.resolve(&p.schema).cloned().unwrap_or(Value::Null);
        let Some((kind, why)) = classify(&p.name, &resource, &schema, p.example.as_ref()) else {
            continue;
        };
        let part = match p.location.as_str() {
            "query" => "query",
            "header" => "header",
            "cookie" => "cookie",
            "path" => {
                notes.push(format!(
                    "path parameter `{}` holds a {} ({why}): the URL path cannot be protected by a rule; move it to the body or a header",
                    p.name,
                    kind.name()
                ));
                continue;
            }
            _ => continue,
        };
        rules.push(Rule {
            selector: Selector::Field(part, p.name.clone()),
            kind,
            why,
        });
    }
    for body in &op.bodies {
        let mt = body.media_type.split(';').next().unwrap_or("").trim();
        // `*/*` (FastAPI writes it for bodies read raw) is read as JSON: the policy then
        // accepts JSON bodies only.
        let json_body = mt == "application/json"
            || mt == "*/*"
            || (mt.starts_with("application/") && mt.ends_with("+json"));
        let form = mt == "application/x-www-form-urlencoded";
        let mut found = Vec::new();
        let mut trail = Trail {
            resource: resource.first().map(|r| (*r).to_owned()),
            ..Trail::default()
        };
        walk(
            doc,
            &body.schema,
            &mut Vec::new(),
            &mut trail,
            0,
            &mut found,
        );
        if trail.nodes > NODE_BUDGET {
            notes.push(format!(
                "the {mt} body's schema expands to more than {NODE_BUDGET} schemas: only the first {NODE_BUDGET} were read"
            ));
        }
        if found.is_empty() {
            continue;
        }
        if json_body {
            for f in found {
                let selector = Selector::Json(json_path(&f.steps));
                if !rules.iter().any(|r: &Rule| r.selector == selector) {
                    rules.push(Rule {
                        selector,
                        kind: f.kind,
                        why: f.why,
                    });
                }
            }
        } else if form {
            for f in found {
                // Form fields are the top-level members; deeper ones have no form name.
                if let [Step::Name(name)] = f.steps.as_slice() {
                    let selector = Selector::Field("form", name.clone());
                    if !rules.iter().any(|r| r.selector == selector) {
                        rules.push(Rule {
                            selector,
                            kind: f.kind,
                            why: f.why,
                        });
                    }
                }
            }
        } else {
            let kinds: BTreeSet<String> = found.iter().map(|f| f.kind.name()).collect();
            notes.push(format!(
                "{mt} bodies carry personal data ({}) that pii-edge cannot read: the policy refuses them (415), only JSON and form bodies pass",
                kinds.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    (rules, notes)
}

/// The normalized JSONPath of `steps` (RFC 9535 §2.7 for names, `[*]` for every element).
pub(super) fn json_path(steps: &[Step]) -> String {
    let mut out = String::from("$");
    for step in steps {
        match step {
            Step::Name(n) => {
                out.push_str("['");
                for c in n.chars() {
                    match c {
                        '\'' => out.push_str("\\'"),
                        '\\' => out.push_str("\\\\"),
                        c if (c as u32) < 0x20 => {
                            let _ = write!(out, "\\u{:04x}", c as u32);
                        }
                        c => out.push(c),
                    }
                }
                out.push_str("']");
            }
            Step::Any => out.push_str("[*]"),
            Step::Descendants => out.push_str(".."),
        }
    }
    out
}

/// The names of the objects around the current field, nearest first (what [`Field`] wants):
/// the members on the path, then the schema's own name (`User` of
/// `#/components/schemas/User`), which says what a top-level `name` is the name of.
pub(super) fn parents<'a>(steps: &'a [Step], trail: &'a Trail) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for s in steps.iter().rev() {
        if let Step::Name(n) = s {
            out.push(n.as_str());
        }
        if !out.is_empty() {
            break;
        }
    }
    if out.is_empty() {
        if let Some(schema) = trail
            .entered
            .last()
            .and_then(|e| e.reference.rsplit('/').next())
        {
            out.push(schema);
        } else if let Some(resource) = &trail.resource {
            out.push(resource);
        }
    }
    out
}

/// Walks a schema: every property whose schema, example or name says personal data is found;
/// others are descended into. `allOf`, `oneOf` and `anyOf` branches all count (a value may
/// take any of them); array `items` and `additionalProperties` are `[*]`. A schema that
/// contains itself (`Person.children[*]` of `Person`) is walked once; what it holds is also
/// selected at any depth below the place it recurs (`$['children'][*]..['email']`).
pub(super) fn walk(
    doc: &Document,
    schema: &Value,
    steps: &mut Vec<Step>,
    trail: &mut Trail,
    depth: usize,
    found: &mut Vec<Found>,
) {
    trail.nodes += 1;
    if depth > MAX_DEPTH || trail.nodes > NODE_BUDGET {
        return;
    }
    let reference = schema
        .get("$ref")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(r) = &reference {
        if trail.entered.iter().any(|e| &e.reference == r) {
            trail.cycles.push((r.clone(), steps.clone()));
            return;
        }
        trail.entered.push(Entered {
            reference: r.clone(),
            steps: steps.len(),
            found: found.len(),
        });
    }
    if let Some(schema) = doc.resolve(schema) {
        for key in ["allOf", "oneOf", "anyOf"] {
            for branch in schema
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                walk(doc, branch, steps, trail, depth + 1, found);
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, sub) in props {
                let resolved = doc.resolve(sub).cloned().unwrap_or(Value::Null);
                let example = doc.example_of(&resolved);
                let names = parents(steps, trail);
                // An array of scalars (`emails: [string, format email]`) is read by its items
                // and protected whole.
                let items = resolved
                    .get("items")
                    .and_then(|i| doc.resolve(i))
                    .filter(|i| i.get("properties").is_none() && !types(i).contains(&"object"));
                let (schema, example) = match items {
                    Some(items) if types(&resolved).contains(&"array") => {
                        let first = example
                            .as_ref()
                            .and_then(Value::as_array)
                            .and_then(|a| a.first())
                            .cloned();
                        (items.clone(), doc.example_of(items).or(first))
                    }
                    _ => (resolved, example),
                };
                if let Some((kind, why)) = classify(name, &names, &schema, example.as_ref()) {
                    let mut at = steps.clone();
                    at.push(Step::Name(name.clone()));
                    push_found(found, at, kind, why);
                    continue;
                }
                steps.push(Step::Name(name.clone()));
                walk(doc, sub, steps, trail, depth + 1, found);
                steps.pop();
            }
        }
        if let Some(items) = schema.get("items").filter(|i| i.is_object()) {
            steps.push(Step::Any);
            walk(doc, items, steps, trail, depth + 1, found);
            steps.pop();
        }
        if let Some(extra) = schema.get("additionalProperties").filter(|a| a.is_object()) {
            steps.push(Step::Any);
            walk(doc, extra, steps, trail, depth + 1, found);
            steps.pop();
        }
    }
    if let Some(r) = reference {
        let Some(entered) = trail.entered.pop() else {
            return;
        };
        // Where this schema recurred: what it holds, at any depth below that place.
        let (recurred, rest): (Vec<_>, Vec<_>) = trail.cycles.drain(..).partition(|(c, _)| *c == r);
        trail.cycles = rest;
        for (_, at) in recurred {
            let inner: Vec<(Vec<Step>, Kind, String)> = found[entered.found..]
                .iter()
                .map(|f| (f.steps[entered.steps..].to_vec(), f.kind, f.why.clone()))
                .collect();
            for (rel, kind, why) in inner {
                let mut steps = at.clone();
                steps.push(Step::Descendants);
                steps.extend(rel.into_iter().filter(|s| *s != Step::Descendants));
                push_found(
                    found,
                    steps,
                    kind,
                    format!("{why}, in a schema that contains itself"),
                );
            }
        }
    }
}

pub(super) fn push_found(found: &mut Vec<Found>, steps: Vec<Step>, kind: Kind, why: String) {
    if !found.iter().any(|f| f.steps == steps) {
        found.push(Found { steps, kind, why });
    }
}

/// The schema's types (`type: string` or 3.1's `type: [string, "null"]`).
pub(super) fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// What the field `name` (inside `parents`, nearest first) holds, and why: by its `format`,
/// by its example as the scanner's detectors read it, or by its name.
pub(super) fn classify(
    name: &str,
    parents: &[&str],
    schema: &Value,
    example: Option<&Value>,
) -> Option<(Kind, String)> {
    let field = Field::new(name, parents);
    let t = types(schema);
    let scalar = t.is_empty()
        || t.iter()
            .any(|t| matches!(*t, "string" | "integer" | "number"));
    let object = t.contains(&"object") || schema.get("properties").is_some();
    // Booleans and closed lists (status codes, countries of a fixed set) are not personal.
    if t == ["boolean"] || schema.get("enum").is_some() || schema.get("const").is_some() {
        return None;
    }
    let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
    // OpenAPI's own format for a secret (the UI hides its input).
    if format == "password" {
        return Some((Kind::Credential, "`format: password`".to_owned()));
    }
    let by_format = match format {
        "email" | "idn-email" => Some(Detector::Email),
        "ipv4" | "ipv6" => Some(Detector::IpAddress),
        "date" | "date-time" if field.is_birth_date() => Some(Detector::DateOfBirth),
        "iban" => Some(Detector::Iban),
        "credit-card" | "card-number" | "pan" => Some(Detector::Card),
        "phone" | "tel" | "phone-number" | "e164" => Some(Detector::Phone),
        _ => None,
    };
    if let Some(d) = by_format {
        let mut why = format!("`format: {format}`");
        if d == Detector::DateOfBirth {
            why.push_str(" and the name says birth");
        }
        return Some((Kind::Detected(d), why));
    }
    if scalar {
        let text = match example {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        if let Some(text) = text {
            // Names and birth dates are recognised by the field's name: said below as such.
            let hit = detect::detect(&text, &field)
                .into_iter()
                .next()
                .filter(|h| !matches!(h.detector, Detector::Name | Detector::DateOfBirth));
            if let Some(hit) = hit {
                let why = format!(
                    "the example ({}) is recognised as {}",
                    mask(&text, hit.detector),
                    hit.detector
                );
                return Some((Kind::Detected(hit.detector), why));
            }
        }
    }
    let by_name = if field.is_credential() && scalar {
        Some(Kind::Credential)
    } else if field.is_email() && scalar {
        Some(Kind::Detected(Detector::Email))
    } else if field.is_phone() && scalar {
        Some(Kind::Detected(Detector::Phone))
    } else if field.is_birth_date() && scalar {
        Some(Kind::Detected(Detector::DateOfBirth))
    } else if field.is_account_name() && scalar && !t.contains(&"integer") {
        Some(Kind::AccountName)
    } else if field.is_person_name() && scalar && !t.contains(&"integer") {
        Some(Kind::Detected(Detector::Name))
    } else if field.is_bank_account() && scalar {
        Some(Kind::Detected(Detector::Iban))
    } else if field.is_card() && scalar && card_number_name(&field) {
        Some(Kind::Detected(Detector::Card))
    } else if let Some(scheme) = national::named_scheme(&field).filter(|_| scalar) {
        Some(Kind::Detected(Detector::NationalId(scheme)))
    } else if field.names_identifier() && scalar {
        // No scheme named: the rule does not depend on one; the test case's fake value is a
        // German tax id.
        Some(Kind::Detected(Detector::NationalId(IdScheme::DeTaxId)))
    } else if field.is_ip_address() && scalar {
        Some(Kind::Detected(Detector::IpAddress))
    } else if field.is_device_id() && scalar {
        Some(Kind::DeviceId)
    } else if field.is_geolocation() && (scalar || object) {
        Some(Kind::Geolocation)
    } else if field.is_address() && (scalar || object) {
        Some(Kind::Address)
    } else {
        None
    };
    by_name.map(|kind| {
        let what = match kind {
            Kind::Detected(Detector::NationalId(_)) => "national identifier".to_string(),
            other => other.name(),
        };
        (kind, format!("the name `{name}` says {what}"))
    })
}

/// A card field that holds the number (`cardNumber`, `pan`, `cc`), not its type, brand or
/// expiry.
pub(super) fn card_number_name(field: &Field) -> bool {
    !field.has(&[
        "type", "brand", "expir", "exp", "scheme", "network", "token", "last4", "holder", "cvc",
        "cvv", "country", "issuer", "id",
    ])
}
