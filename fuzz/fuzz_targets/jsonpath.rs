//! `pii_core::select_json` (a JSONPath query compiled as a policy rule compiles it: the
//! parser of `pii-core/src/jsonpath/parse.rs` and serde_json_path) on arbitrary text: the
//! first line is the query, the rest a JSON document (seeds: the RFC 9535 compliance suite).
//!
//! Checks: never panics; an error has a message; every selected value has a `json:` location
//! whose text parses back to the same location, and whose path leads to that value in the
//! document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pii_core::{Location, location::PathElement};
use serde_json::Value;

fn at<'v>(doc: &'v Value, path: &[PathElement]) -> Option<&'v Value> {
    path.iter().try_fold(doc, |v, e| match e {
        PathElement::Name(n) => v.as_object()?.get(n),
        PathElement::Index(i) => v.as_array()?.get(*i),
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (query, rest) = text.split_once('\n').unwrap_or((text, "null"));
    let Ok(doc) = serde_json::from_str::<Value>(rest) else {
        return;
    };
    let found = match pii_core::select_json(query, &doc) {
        Ok(found) => found,
        Err(e) => {
            assert!(!e.message.is_empty(), "an empty message for {query:?}");
            return;
        }
    };
    for (location, value) in found {
        let Location::Json(path) = &location else {
            panic!("{query:?} selected a {location}");
        };
        let text = location.to_string();
        assert_eq!(text.parse::<Location>().as_ref(), Ok(&location), "{text}");
        assert_eq!(at(&doc, path), Some(&value), "{query:?} at {text}");
    }
});
