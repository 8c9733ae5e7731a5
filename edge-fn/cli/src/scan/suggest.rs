//! `--suggest FILE`: a draft policy for the findings no rule covers, and test cases built from
//! the scanned samples with every value replaced (detected values by fake ones of the same
//! kind, everything else by placeholders), so no scanned value reaches the draft.
//!
//! The draft matches the routes no given policy matches (a route another policy already
//! matches is listed in a comment: policies are tried in order and the first match applies,
//! so the rules belong in that policy). Every rule encrypts to `--zone`. The test cases' field
//! expectations are what the engine reports for the draft on the fake request, so `pii-edge
//! test` passes on a fresh draft; each case also lists the fake values as `absent`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;
use edge_fn::scan::{Detector, Finding};
use pii_core::{location::Part, location::PathElement, Location};
use pii_core::{Engine, Outcome, Policy, Request};
use serde_json::{json, Value};

use super::{Coverage, Tally};
use crate::shared::draft_yaml::{case_yaml, fake, quote, Selector};
use crate::shared::style::{count, errln};
use crate::shared::CliError;

/// A policy name from the file name: `[A-Za-z0-9._-]+`.
fn policy_name(file: &Path) -> String {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name: String = stem
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .collect();
    if name.is_empty() {
        "scan-draft".into()
    } else {
        name
    }
}

pub(super) fn write(
    file: &Path,
    zone: &str,
    tally: &Tally,
    existing: Option<&Engine>,
) -> Result<(), CliError> {
    // Rules for routes no policy matches; notes for routes another policy matches.
    let mut rules: BTreeMap<Selector, Vec<String>> = BTreeMap::new();
    let mut methods: BTreeSet<String> = BTreeSet::new();
    let mut paths: BTreeSet<String> = BTreeSet::new();
    let mut elsewhere: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for g in tally.groups.values() {
        let Some(selector) = Selector::from_shape(&g.shape) else {
            continue;
        };
        let what = match &g.claim {
            Some(claim) => format!("{} (jwt claim {claim})", g.detector),
            None => g.detector.to_string(),
        };
        let note = format!(
            "{what}, {} requests on {} {}",
            g.requests, g.method, g.route
        );
        match &g.coverage {
            Coverage::RouteUnmatched | Coverage::Unchecked => {
                methods.insert(g.method.clone());
                paths.insert(g.route.clone());
                rules.entry(selector).or_default().push(note);
            }
            Coverage::NotCovered { policy } => {
                elsewhere
                    .entry(policy.clone())
                    .or_default()
                    .push(format!("{}: {note}", selector.yaml()));
            }
            Coverage::Covered { .. } | Coverage::Rejected { .. } => {}
        }
    }
    let name = policy_name(file);
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# Draft policy written by `pii-edge scan` from {} requests.",
        tally.requests
    );
    let _ = writeln!(
        text,
        "# Every selector below held personal data in the scanned traffic and no given policy"
    );
    let _ = writeln!(
        text,
        "# protected it. Review each rule (encrypt, mask, tokenize or redact?) and the routes"
    );
    let _ = writeln!(
        text,
        "# before use; the test cases in {name}.tests/ hold fake values only."
    );
    if !elsewhere.is_empty() {
        let _ = writeln!(text, "#");
        let _ = writeln!(text, "# Routes that an existing policy matches (the first match applies, so add the rules there):");
        for (policy, notes) in &elsewhere {
            let _ = writeln!(text, "#   policy {policy}:");
            for note in notes {
                let _ = writeln!(text, "#     - select: {note}");
            }
        }
    }
    if rules.is_empty() {
        errln!("note: --suggest: every finding is covered or its route belongs to an existing policy; {} lists what to add there", file.display());
        let _ = writeln!(text, "# Nothing else to protect.");
        return std::fs::write(file, text)
            .map_err(|e| CliError::new(format!("cannot write {}: {e}", file.display())));
    }
    let _ = writeln!(text, "apiVersion: pii-edge/v1");
    let _ = writeln!(text, "kind: Policy");
    let _ = writeln!(text, "name: {name}");
    let _ = writeln!(
        text,
        "description: Draft from pii-edge scan; personal data found in traffic no policy covered."
    );
    let _ = writeln!(text, "zone: {zone}");
    let _ = writeln!(text, "match:");
    let methods: Vec<String> = methods.iter().map(|m| quote(m)).collect();
    let _ = writeln!(text, "  methods: [{}]", methods.join(", "));
    let paths_list: Vec<String> = paths.iter().map(|p| quote(p)).collect();
    let _ = writeln!(text, "  paths: [{}]", paths_list.join(", "));
    let _ = writeln!(text, "rules:");
    let mut used_names = BTreeSet::new();
    for (selector, notes) in &rules {
        for note in notes {
            let _ = writeln!(text, "  # {note}");
        }
        let mut rule_name = selector.rule_name();
        let mut n = 2;
        while !used_names.insert(rule_name.clone()) {
            rule_name = format!("{}-{n}", selector.rule_name());
            n += 1;
        }
        let _ = writeln!(text, "  - name: {}", quote(&rule_name));
        let _ = writeln!(text, "    select: {}", selector.yaml());
        let _ = writeln!(text, "    action: encrypt");
    }
    let policy = Policy::from_yaml(&file.display().to_string(), &text)
        .map_err(|e| CliError::new(format!("internal: the draft policy does not load: {e}")))?;
    let _ = existing;
    std::fs::write(file, &text)
        .map_err(|e| CliError::new(format!("cannot write {}: {e}", file.display())))?;

    // Test cases: the samples of the draft's routes, values replaced.
    let (public, tokens) = crate::shared::run_keys::throwaway_keys(std::slice::from_ref(&policy))?;
    let engine = crate::shared::files::engine(vec![policy], public, tokens)?;
    let dir = file.with_extension("tests");
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::new(format!("cannot create {}: {e}", dir.display())))?;
    let mut written = 0;
    for ((route, method), (req, found)) in &tally.samples {
        if !paths.contains(route) {
            continue;
        }
        let (fake, absent) = fake_request(req, found, route);
        let Outcome::Protected(p) = engine.apply(&fake) else {
            errln!("note: --suggest: the draft does not protect the sample of {method} {route}; no test case written for it");
            continue;
        };
        written += 1;
        let description = format!("a scanned {method} {route} request, personal values replaced by fake ones, placeholders elsewhere");
        let case = case_yaml(&description, &fake, &p.fields, &absent);
        let slug: String = route
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
            .trim_matches('-')
            .to_string();
        let path = dir.join(format!(
            "{written:02}-{}-{}.yaml",
            method.to_ascii_lowercase(),
            if slug.is_empty() { "root" } else { &slug }
        ));
        std::fs::write(&path, case)
            .map_err(|e| CliError::new(format!("cannot write {}: {e}", path.display())))?;
    }
    errln!(
        "wrote {} ({}) and {} in {}",
        file.display(),
        count(rules.len(), "rule", "rules"),
        count(written, "test case", "test cases"),
        dir.display()
    );
    Ok(())
}

fn fake_claim(claim: &str) -> Value {
    match claim {
        "email" | "preferred_username" => json!("erika.fake@example.com"),
        "phone_number" => json!("+44 20 7946 0958"),
        "birthdate" => json!("1970-01-01"),
        "address" => {
            json!({"street_address": "Musterstr. 1", "locality": "Musterstadt", "country": "DE"})
        }
        _ => json!("Alex Beispiel"),
    }
}

/// The sample with every detected value replaced by a fake one and every other value by a
/// placeholder; the path's `*` segments become `1`. Also returns the texts that must not
/// survive protection.
fn fake_request(req: &Request, found: &[Finding], route: &str) -> (Request, Vec<String>) {
    let by_loc: BTreeMap<String, &Finding> =
        found.iter().map(|f| (f.location.to_string(), f)).collect();
    let mut absent: BTreeSet<String> = BTreeSet::new();
    let mut out = Request::new(req.method.clone(), route.replace('*', "1"));
    out.query = fake_pairs(&req.query, Part::Query, &by_loc, &mut absent);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (name, value) in &req.headers {
        let lower = name.to_ascii_lowercase();
        let idx = seen.entry(lower.clone()).or_insert(0);
        let loc = Location::field(Part::Header, lower.clone(), *idx).to_string();
        *idx += 1;
        if lower == "content-type" {
            out.headers.push((name.clone(), value.clone()));
        } else if lower == "cookie" {
            let mut cookies = Vec::new();
            let mut cseen: BTreeMap<String, usize> = BTreeMap::new();
            for pair in value.split(';') {
                let cname = pair.split_once('=').map_or(pair, |(n, _)| n).trim();
                let clower = cname.to_ascii_lowercase();
                let cidx = cseen.entry(clower.clone()).or_insert(0);
                let cloc = Location::field(Part::Cookie, clower.clone(), *cidx).to_string();
                *cidx += 1;
                if let Some(f) = by_loc.get(cloc.as_str()) {
                    let v = fake_value(f, found, &cloc, &mut absent);
                    cookies.push(format!("{cname}={v}"));
                }
            }
            if !cookies.is_empty() {
                out.headers.push((name.clone(), cookies.join("; ")));
            }
        } else if let Some(f) = by_loc.get(loc.as_str()) {
            let v = fake_value(f, found, &loc, &mut absent);
            let v = if lower == "authorization" {
                format!("Bearer {v}")
            } else {
                v
            };
            out.headers.push((name.clone(), v));
        }
    }
    let content_type = req
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.to_ascii_lowercase())
        .unwrap_or_default();
    if content_type.contains("x-www-form-urlencoded") {
        let body = String::from_utf8_lossy(&req.body);
        out.body = fake_pairs(&body, Part::Form, &by_loc, &mut absent).into_bytes();
    } else if let Ok(mut doc) = serde_json::from_slice::<Value>(&req.body) {
        let mut path = Vec::new();
        fake_json(&mut doc, &mut path, &by_loc, found, &mut absent);
        out.body = doc.to_string().into_bytes();
        if content_type.is_empty() {
            out.headers
                .push(("content-type".into(), "application/json".into()));
        }
    }
    (out, absent.into_iter().collect())
}

/// The fake for the finding at `loc` (a JWT with fake claims for JWT findings).
fn fake_value(f: &Finding, found: &[Finding], loc: &str, absent: &mut BTreeSet<String>) -> String {
    if f.detector == Detector::JwtClaim {
        let mut claims = serde_json::Map::new();
        claims.insert("sub".into(), json!("fake-subject"));
        for g in found.iter().filter(|g| g.location.to_string() == loc) {
            if let Some(c) = &g.claim {
                claims.insert(c.clone(), fake_claim(c));
            }
        }
        let b64 =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let token = format!(
            "{}.{}.ZmFrZS1zaWduYXR1cmU",
            b64(&json!({"alg": "HS256", "typ": "JWT"})),
            b64(&Value::Object(claims))
        );
        absent.insert(token.clone());
        return token;
    }
    let v = fake(f.detector).to_string();
    absent.insert(v.clone());
    v
}

fn fake_pairs(
    text: &str,
    part: Part,
    by_loc: &BTreeMap<String, &Finding>,
    absent: &mut BTreeSet<String>,
) -> String {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (name, _) in form_urlencoded::parse(text.as_bytes()) {
        let lower = name.to_ascii_lowercase();
        let idx = seen.entry(lower.clone()).or_insert(0);
        let loc = Location::field(part, lower.clone(), *idx).to_string();
        *idx += 1;
        match by_loc.get(loc.as_str()) {
            Some(f) => {
                let v = fake(f.detector);
                absent.insert(v.to_string());
                ser.append_pair(&name, v);
            }
            None => {
                ser.append_pair(&name, "x");
            }
        }
    }
    ser.finish()
}

fn fake_json(
    v: &mut Value,
    path: &mut Vec<PathElement>,
    by_loc: &BTreeMap<String, &Finding>,
    found: &[Finding],
    absent: &mut BTreeSet<String>,
) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                path.push(PathElement::Name(k.clone()));
                fake_json(child, path, by_loc, found, absent);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                path.push(PathElement::Index(i));
                fake_json(child, path, by_loc, found, absent);
                path.pop();
            }
        }
        Value::String(_) | Value::Number(_) => {
            let loc = Location::json(path.clone()).to_string();
            *v = match by_loc.get(loc.as_str()) {
                Some(f) => json!(fake_value(f, found, &loc, absent)),
                None if v.is_string() => json!("x"),
                None => json!(0),
            };
        }
        _ => {}
    }
}
