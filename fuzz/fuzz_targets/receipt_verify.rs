//! Receipt verification on arbitrary header values, against the requests and keys of the
//! receipt vectors of `docs/vectors/receipts/` (seeds: their receipts, each behind the byte
//! that selects its vector).
//!
//! Input: first byte = which vector's request, key and time; the rest = the receipt header
//! value (lossy UTF-8).
//!
//! Checks: `verify_receipt` never panics, whatever the value; it accepts a value only if it is
//! a valid vector's receipt byte for byte (up to surrounding spaces and tabs): nobody without
//! the signing key makes a receipt that verifies, and no re-encoding of a real one does.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use pii_core::receipt::{verify_receipt, ReceiptKeys, ReceiptRequest, HEADER};
use serde_json::Value;

struct Vector {
    keys: ReceiptKeys,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    now: u64,
    max_age: u64,
}

fn vectors() -> &'static (Vec<Vector>, Vec<String>) {
    static V: OnceLock<(Vec<Vector>, Vec<String>)> = OnceLock::new();
    V.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/vectors/receipts");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("docs/vectors/receipts")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        let mut vectors = Vec::new();
        let mut valid = Vec::new();
        for path in files {
            let v: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
            let r = &v["request"];
            let mut headers = Vec::new();
            for pair in r["headers"].as_array().expect("headers") {
                let (n, value) = (pair[0].as_str().expect("n"), pair[1].as_str().expect("v"));
                if n.eq_ignore_ascii_case(HEADER) {
                    if v["expect"] == "valid" {
                        valid.push(value.to_owned());
                    }
                } else {
                    headers.push((n.to_owned(), value.to_owned()));
                }
            }
            vectors.push(Vector {
                keys: ReceiptKeys::from_jwks(&v["keys"].to_string()).expect("keys"),
                method: r["method"].as_str().expect("method").to_owned(),
                target: r["target"].as_str().expect("target").to_owned(),
                headers,
                body: base64::engine::general_purpose::STANDARD
                    .decode(r["body"].as_str().expect("body"))
                    .expect("b64"),
                now: v["now"].as_u64().expect("now"),
                max_age: v["maxAge"].as_u64().expect("maxAge"),
            });
        }
        (vectors, valid)
    })
}

fuzz_target!(|data: &[u8]| {
    let (vectors, valid) = vectors();
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let v = &vectors[usize::from(pick) % vectors.len()];
    let value = String::from_utf8_lossy(rest).into_owned();
    let mut headers = v.headers.clone();
    headers.push((HEADER.to_owned(), value.clone()));
    let request = ReceiptRequest {
        method: &v.method,
        target: &v.target,
        headers: &headers,
        body: &v.body,
    };
    if verify_receipt(&request, &v.keys, v.max_age, v.now).is_ok() {
        let trimmed = value.trim_matches([' ', '\t']);
        assert!(
            valid.iter().any(|r| r == trimmed),
            "a receipt that is not a vector's verified"
        );
    }
});
