//! The RFC 9535 JSONPath Compliance Test Suite (`tests/jsonpath-cts/cts.json`, BSD-2, see the
//! LICENSE and NOTICE beside it) run against the selector every `json:` rule uses.
//!
//! Each case checks: invalid selectors are refused at load; valid ones select exactly the
//! expected values, with the expected normalized paths (what we bind into ciphertext).
//! Selectors that call the I-Regexp functions `match()` and `search()` are refused by design
//! (the edge package carries no regular-expression engine, docs/decisions/0007): they must be
//! refused with that reason, and are counted apart.

use serde_json::Value;

/// Cases we deliberately do not pass, with the reason. Keep this list empty unless a case is
/// understood and its consequence for policies is documented in docs/policy.md.
const KNOWN_DEVIATIONS: &[(&str, &str)] = &[];

#[test]
fn compliance_suite() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/jsonpath-cts/cts.json"
    ))
    .expect("cts.json is committed");
    let suite: Value = serde_json::from_str(&text).expect("valid suite");
    let tests = suite["tests"].as_array().expect("tests array");
    assert_eq!(tests.len(), 703, "the committed suite has 703 cases");

    let mut failures = Vec::new();
    let mut skipped = 0;
    let mut regex_refused = 0;
    for case in tests {
        let name = case["name"].as_str().unwrap_or("?");
        if KNOWN_DEVIATIONS.iter().any(|(n, _)| *n == name) {
            skipped += 1;
            continue;
        }
        let selector = case["selector"].as_str().unwrap_or("");
        let result = pii_core::select_json(selector, &case["document"]);
        if case["invalid_selector"].as_bool() == Some(true) {
            if result.is_ok() {
                failures.push(format!("{name}: `{selector}` should be refused"));
            }
            continue;
        }
        let found = match result {
            Ok(found) => found,
            Err(e) if e.message.contains("regular-expression engine") => {
                if !(selector.contains("match") || selector.contains("search")) {
                    failures.push(format!("{name}: `{selector}` refused as a regex function"));
                }
                regex_refused += 1;
                continue;
            }
            Err(e) => {
                failures.push(format!("{name}: `{selector}` refused: {}", e.message));
                continue;
            }
        };
        let values: Vec<&Value> = found.iter().map(|(_, v)| v).collect();
        // A location's text is `json:` and the normalized path (RFC 9535 §2.7).
        let texts: Vec<String> = found.iter().map(|(l, _)| l.to_string()).collect();
        let paths: Vec<&str> = texts
            .iter()
            .map(|t| t.strip_prefix("json:").unwrap_or(t))
            .collect();
        // `result` is deterministic; `results` lists every allowed order (object members
        // have no defined order).
        let expected: Vec<(Value, Value)> = if case.get("result").is_some() {
            vec![(case["result"].clone(), case["result_paths"].clone())]
        } else {
            let rs = case["results"].as_array().cloned().unwrap_or_default();
            let ps = case["results_paths"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            rs.into_iter().zip(ps).collect()
        };
        let ok = expected.iter().any(|(vals, ps)| {
            let vals: Vec<&Value> = vals
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            let ps: Vec<&str> = ps
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            vals == values && ps == paths
        });
        if !ok {
            failures.push(format!(
                "{name}: `{selector}` gave {} values at {paths:?}",
                values.len()
            ));
        }
    }
    println!(
        "JSONPath CTS: {} passed, {} failed, {skipped} skipped (listed deviations), {regex_refused} refused (match/search)",
        tests.len() - failures.len() - skipped - regex_refused,
        failures.len()
    );
    // Every valid case of the suite that calls match() or search(), and nothing else.
    assert_eq!(
        regex_refused, 50,
        "cases refused for calling match() or search()"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
