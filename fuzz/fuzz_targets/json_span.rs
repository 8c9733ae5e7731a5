//! `pii_core::hooks::json_span` (the JSON locate API the CLI reads values back with) on arbitrary
//! bytes, against serde_json.
//!
//! Checks: never panics; it finds the root of a text exactly when the text is JSON the engine
//! accepts, and then serde_json reads it too (json_span is the stricter: duplicate names, a
//! byte order mark); the root's span is the text without its surrounding whitespace; for every
//! value of the document, the span at its path holds exactly that value, and one past the end
//! of every array (or a name no object has) holds nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pii_core::{hooks::json_span, location::PathElement};
use serde_json::Value;

/// Every value of `value`, by path, checked against its span.
fn check(text: &[u8], value: &Value, path: &mut Vec<PathElement>, budget: &mut usize) {
    if *budget == 0 {
        return;
    }
    *budget -= 1;
    let range = json_span(text, path).expect("a value of the document has a span");
    let at: Value = serde_json::from_slice(&text[range]).expect("a span holds JSON");
    assert_eq!(&at, value, "the span at a path holds another value");
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(PathElement::Index(i));
                check(text, item, path, budget);
                path.pop();
            }
            path.push(PathElement::Index(items.len()));
            assert!(json_span(text, path).is_none(), "a span past the end");
            path.pop();
        }
        Value::Object(members) => {
            for (name, member) in members {
                path.push(PathElement::Name(name.clone()));
                check(text, member, path, budget);
                path.pop();
            }
            path.push(PathElement::Name("\u{0}no such name".into()));
            assert!(json_span(text, path).is_none(), "a span at a missing name");
            path.pop();
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(root) = json_span(data, &[]) else {
        return;
    };
    let trimmed = data
        .iter()
        .position(|b| !b" \t\r\n".contains(b))
        .expect("a JSON text is not all whitespace")
        ..data.len()
            - data
                .iter()
                .rev()
                .take_while(|b| b" \t\r\n".contains(b))
                .count();
    assert_eq!(
        root, trimmed,
        "the root span is the text without its whitespace"
    );
    let value: Value = match serde_json::from_slice(data) {
        Ok(value) => value,
        // serde_json stops at 128 levels; json_span goes to MAX_MAX_DEPTH.
        Err(e) if e.to_string().contains("recursion limit") => return,
        Err(e) => panic!("json_span accepts a text serde_json refuses: {e}"),
    };
    check(data, &value, &mut Vec::new(), &mut 10_000);
});
