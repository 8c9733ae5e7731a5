//! At-rest fields (`pr1.`) and wrapped subject keys (`psk1.`) on arbitrary strings, with the
//! keys of the success vectors of `docs/vectors/at_rest/` (seeds: their fields and keys, each
//! behind the byte that selects its vector).
//!
//! Input: first byte = which vector, the rest = the text.
//!
//! Checks:
//! - `at_rest::header`, `at_rest::open` and `SubjectKey::unwrap` never panic;
//! - only the vector's exact field opens under its subject key (the whole header is the
//!   associated data), to exactly its plaintext, and `header` agrees with what `open` gives;
//! - only the vectors' exact wrapped keys unwrap under their region keys (they share one);
//! - text that does not start `pr`/`psk` is `Malformed`, never anything else;
//! - a per-subject token of the text never panics and is the same twice;
//! - a request carrying the text in a header and a JSON body: `at_rest_keys` and
//!   `reveal_at_rest` never panic, and nothing opens there (no vector was sealed for those
//!   places: a real field moved there fails with `WrongLocation`).
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pii_core::at_rest::{self, AtRestError, SubjectKey};
use pii_core::{reveal::Expect, token::Normalize, PrivateKeyring, Request, reveal::SubjectKeyring};
use serde_json::Value;

struct Vector {
    keys: PrivateKeyring,
    key: SubjectKey,
    wrapped: String,
    field: String,
    plaintext: Vec<u8>,
}

fn vectors() -> &'static [Vector] {
    static V: OnceLock<Vec<Vector>> = OnceLock::new();
    V.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/vectors/at_rest");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("docs/vectors/at_rest")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .filter_map(|p| {
                let v: Value =
                    serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json");
                (v["expect"] == "success").then(|| {
                    let keys =
                        PrivateKeyring::from_jwks(&v["private_jwks"].to_string()).expect("keys");
                    let wrapped = v["subject_key"]["wrapped"].as_str().expect("wrapped");
                    Vector {
                        key: SubjectKey::unwrap(&keys, wrapped).expect("unwrap"),
                        keys,
                        wrapped: wrapped.to_owned(),
                        field: v["at_rest"].as_str().expect("at_rest").to_owned(),
                        plaintext: v["plaintext"]
                            .as_str()
                            .expect("plaintext")
                            .as_bytes()
                            .to_vec(),
                    }
                })
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let vs = vectors();
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let v = &vs[usize::from(which) % vs.len()];
    let text = String::from_utf8_lossy(rest);

    let head = at_rest::header(&text);
    match at_rest::open(&v.key, &text) {
        Ok(opened) => {
            assert_eq!(text, v.field.as_str(), "another text opened under this key");
            assert_eq!(opened.plaintext(), v.plaintext.as_slice());
            let head = head.expect("open succeeded but header failed");
            assert_eq!(head.subject, opened.subject());
            assert_eq!(&head.binding, opened.binding());
        }
        Err(e) => {
            if !text.starts_with("pr") {
                assert_eq!(e, AtRestError::Malformed, "non-pr text gave {e:?}");
            }
        }
    }
    match SubjectKey::unwrap(&v.keys, &text) {
        Ok(key) => {
            // The vectors share one region key: any of their wrapped keys unwraps, no other.
            let known = vs
                .iter()
                .find(|w| w.wrapped == text)
                .expect("a text that is no vector's wrapped key unwrapped");
            assert_eq!(key.key_id(), known.key.key_id());
            assert_eq!(key.subject(), known.key.subject());
        }
        Err(e) => {
            if !text.starts_with("psk") {
                assert_eq!(e, AtRestError::Malformed, "non-psk text gave {e:?}");
            }
        }
    }

    let steps = [Normalize::Trim, Normalize::Casefold, Normalize::EmailSubaddress];
    let token = v.key.token("email", &steps, rest);
    assert_eq!(token, v.key.token("email", &steps, rest));

    let body = serde_json::to_string(&serde_json::json!({ "f": text })).expect("json");
    let req = Request::new("POST", "/")
        .with_header("content-type", "application/json")
        .with_header("x-f", text.as_ref())
        .with_body(body.into_bytes());
    let mut ring = SubjectKeyring::new();
    ring.push(&v.key);
    if let Ok(named) = pii_core::reveal::at_rest_keys(&req) {
        assert!(named.is_empty() || at_rest::is_at_rest(&text));
    }
    // No vector was sealed at `x-f` or `$.f`: nothing may open there.
    if let Ok(revealed) = pii_core::reveal::reveal_at_rest(&v.keys, &ring, &req, Expect::default()) {
        assert_eq!(revealed.opened(), 0, "a value opened where it was not sealed");
    }
});
