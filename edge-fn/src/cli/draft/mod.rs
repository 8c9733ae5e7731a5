//! `pii-edge draft --openapi FILE`: a draft policy per operation of an OpenAPI 3.0 or 3.1
//! document that carries personal data, with a test case built from the document's examples.
//!
//! A field is personal data when its schema's `format` says so (`email`, `ipv4`, a `date` whose
//! name says birth), when the scanner's detectors recognise its example, or when its name says
//! so in one of the EU languages: the same vocabulary `pii-edge scan` uses
//! (`edge_fn::scan::detect::context`), so the two agree on what a field is. Every rule
//! encrypts to `--zone`; a comment above it says why it is there. Documented in
//! `docs/draft.md`.

mod openapi;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use edge_fn::scan::detect::{self, context::Field, national, Detector};
use edge_fn::scan::mask::mask;
use edge_fn::scan::IdScheme;
use pii_core::{Outcome, Policy, Request};
use serde_json::{json, Map, Value};

use crate::cli::scan::suggest::{case_yaml, fake, quote, Selector};
use crate::cli::style::errln;
use crate::cli::{CliError, CliResult};
use openapi::{Document, Operation, MAX_DEPTH};

/// `pii-edge draft` arguments.
#[derive(clap::Args)]
pub(crate) struct DraftArgs {
    /// OpenAPI 3.0 or 3.1 document, JSON or YAML
    #[arg(long, value_name = "FILE")]
    openapi: PathBuf,
    /// Directory to write the policies (one file per operation) and their test cases to
    #[arg(long, short = 'o', value_name = "DIR", default_value = "drafts")]
    out: PathBuf,
    /// Residency zone the drafted rules encrypt to
    #[arg(long, value_name = "ZONE", default_value = "eu-central")]
    zone: String,
}

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// What a scanner detector finds.
    Detected(Detector),
    /// A postal address (a whole object, or a street, postal code or city).
    Address,
}

impl Kind {
    fn name(self) -> String {
        match self {
            Kind::Detected(d) => d.to_string(),
            Kind::Address => "postal address".into(),
        }
    }

    /// A value of this kind for a test case: reserved, specimen or test values only.
    fn fake(self) -> Value {
        match self {
            Kind::Detected(d) => json!(fake(d)),
            Kind::Address => json!("Musterstrasse 1"),
        }
    }
}

/// One step of a JSON path: a member, every element or member (`[*]`), or any depth below
/// (`..`, for a schema that contains itself).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Name(String),
    Any,
    Descendants,
}

/// A `$ref` being walked: the reference, and the lengths of the path and of the found list
/// when it was entered.
struct Entered {
    reference: String,
    steps: usize,
    found: usize,
}

/// Where the walk is: the references being walked (outermost first) and the places a schema
/// came back into itself.
#[derive(Default)]
struct Trail {
    entered: Vec<Entered>,
    cycles: Vec<(String, Vec<Step>)>,
    /// Schemas walked so far for this body: shared schemas are walked again at every place
    /// they are used, so a large document's bodies are cut at [`NODE_BUDGET`].
    nodes: usize,
}

/// Most schemas walked for one body (and most values built for one example).
const NODE_BUDGET: usize = 20_000;

/// A personal field found in a schema.
#[derive(Debug)]
struct Found {
    steps: Vec<Step>,
    kind: Kind,
    why: String,
}

/// A rule to write.
struct Rule {
    selector: Selector,
    kind: Kind,
    why: String,
}

pub(crate) fn run(args: DraftArgs) -> CliResult {
    let doc = Document::load(&args.openapi)?;
    // Drafts of an earlier run would mix with these (and be loaded as policies): refuse.
    if std::fs::read_dir(&args.out).is_ok_and(|mut d| d.next().is_some()) {
        return Err(CliError::new(format!(
            "{} is not empty: draft into a new directory (the policies of an earlier draft would be loaded with these)",
            args.out.display()
        )));
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| CliError::new(format!("cannot create {}: {e}", args.out.display())))?;
    let source = args.openapi.file_name().map_or_else(
        || "the document".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut operations = doc.operations();
    // Policies are tried in file-name order and the first match applies: literal segments
    // before templated ones (`/user/login` before `/user/{username}`).
    operations.sort_by_key(|op| {
        (
            op.path.split('/').filter(|s| s.contains('{')).count(),
            std::cmp::Reverse(op.path.split('/').count()),
        )
    });
    let mut used = BTreeSet::new();
    let (mut policies, mut cases, mut skipped) = (0usize, 0usize, Vec::new());
    for op in &operations {
        let (rules, notes) = rules_of(&doc, op);
        if rules.is_empty() {
            skipped.push(format!("{} {}", op.method, op.path));
            continue;
        }
        let name = unique(&mut used, &policy_name(op));
        let route = format!("{}{}", doc.base_path, op.path);
        let stem = format!("{:02}-{name}", policies + 1);
        let text = policy_yaml(
            &name,
            &stem,
            &source,
            &doc.version,
            op,
            &route,
            &args.zone,
            &rules,
            &notes,
        );
        let file = args.out.join(format!("{stem}.yaml"));
        let policy = Policy::from_yaml(&file.display().to_string(), &text).map_err(|e| {
            CliError::new(format!(
                "internal: the draft for {} {} does not load: {e}",
                op.method, op.path
            ))
        })?;
        std::fs::write(&file, &text)
            .map_err(|e| CliError::new(format!("cannot write {}: {e}", file.display())))?;
        policies += 1;
        if write_case(&doc, op, &route, policy, &rules, &file)? {
            cases += 1;
        }
    }
    errln!(
        "wrote {policies} polic{} and {cases} test case{} to {} ({} operation{} without personal data: {})",
        if policies == 1 { "y" } else { "ies" },
        if cases == 1 { "" } else { "s" },
        args.out.display(),
        skipped.len(),
        if skipped.len() == 1 { "" } else { "s" },
        if skipped.is_empty() { "none".into() } else { skipped.join(", ") }
    );
    Ok(ExitCode::SUCCESS)
}

/// A policy name (`[A-Za-z0-9._-]+`) from the operation id, else the method and path.
fn policy_name(op: &Operation) -> String {
    let raw = op
        .operation_id
        .clone()
        .unwrap_or_else(|| format!("{}-{}", op.method.to_ascii_lowercase(), op.path));
    let mut name = String::new();
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            c
        } else {
            '-'
        };
        if !(c == '-' && (name.is_empty() || name.ends_with('-'))) {
            name.push(c);
        }
    }
    let name = name.trim_end_matches('-').to_string();
    if name.is_empty() {
        "operation".into()
    } else {
        name
    }
}

fn unique(used: &mut BTreeSet<String>, base: &str) -> String {
    let mut name = base.to_string();
    let mut n = 2;
    while !used.insert(name.clone()) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

/// The rules for an operation, and notes on what cannot be protected (path parameters, bodies
/// the engine does not read).
fn rules_of(doc: &Document, op: &Operation) -> (Vec<Rule>, Vec<String>) {
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
        let mut trail = Trail::default();
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
fn json_path(steps: &[Step]) -> String {
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
fn parents<'a>(steps: &'a [Step], trail: &'a Trail) -> Vec<&'a str> {
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
        }
    }
    out
}

/// Walks a schema: every property whose schema, example or name says personal data is found;
/// others are descended into. `allOf`, `oneOf` and `anyOf` branches all count (a value may
/// take any of them); array `items` and `additionalProperties` are `[*]`. A schema that
/// contains itself (`Person.children[*]` of `Person`) is walked once; what it holds is also
/// selected at any depth below the place it recurs (`$['children'][*]..['email']`).
fn walk(
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

fn push_found(found: &mut Vec<Found>, steps: Vec<Step>, kind: Kind, why: String) {
    if !found.iter().any(|f| f.steps == steps) {
        found.push(Found { steps, kind, why });
    }
}

/// The schema's types (`type: string` or 3.1's `type: [string, "null"]`).
fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// What the field `name` (inside `parents`, nearest first) holds, and why: by its `format`,
/// by its example as the scanner's detectors read it, or by its name.
fn classify(
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
    let by_name = if field.is_email() && scalar {
        Some(Kind::Detected(Detector::Email))
    } else if field.is_phone() && scalar {
        Some(Kind::Detected(Detector::Phone))
    } else if field.is_birth_date() && scalar {
        Some(Kind::Detected(Detector::DateOfBirth))
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
fn card_number_name(field: &Field) -> bool {
    !field.has(&[
        "type", "brand", "expir", "exp", "scheme", "network", "token", "last4", "holder", "cvc",
        "cvv", "country", "issuer", "id",
    ])
}

#[allow(clippy::too_many_arguments)]
fn policy_yaml(
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
fn write_case(
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
    let (public, tokens) = crate::cli::testcases::throwaway_keys(std::slice::from_ref(&policy))?;
    let engine = crate::cli::files::engine(vec![policy], public, tokens)?;
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
fn steps_of(path: &str) -> Vec<Step> {
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
fn fill_path(doc: &Document, op: &Operation, route: &str) -> String {
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

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The value for a personal field: its example when the detectors recognise it as personal
/// data (so the case shows what the document shows), else a fake one of the kind.
fn personal_value(
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
fn collect_texts(value: &Value, out: &mut BTreeSet<String>) {
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
fn personalize(value: &mut Value, steps: &[Step], kind: Kind, absent: &mut BTreeSet<String>) {
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
fn example(
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
