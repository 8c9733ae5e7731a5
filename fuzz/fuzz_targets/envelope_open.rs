//! Envelope opening and location parsing on arbitrary strings, with the keys of the test
//! vectors of `docs/vectors/` (seeds: their envelopes, each behind the byte that selects its
//! vector, and their locations).
//!
//! Input: first byte = which vector's keys (and expected binding), the rest = the text.
//!
//! Checks:
//! - `envelope::open` never panics; with the keys of a vector that records what `open` gives,
//!   only that vector's exact text opens, to exactly its kind, plaintext and binding (envelope
//!   v2 binds the whole header, every recipient's wrap included: no other text opens);
//! - `open_expecting` with the vector's expected binding opens only to that binding, so a
//!   vector whose value was found elsewhere (`fail_wrong_*`) never opens;
//! - whatever `is_envelope` is, `open` fails with `Malformed` or `UnsupportedVersion` on text
//!   that does not look like an envelope, never anything else;
//! - `batch::classify` agrees with opening (what opens is an envelope, what it calls malformed
//!   fails as malformed), and `batch::BatchOpener` (twice, the second time from its data-key
//!   cache) answers exactly what `open` answers;
//! - a location's text form: whatever parses prints back to exactly the same text;
//! - `reveal` never panics on the text as a JSON body, a form body, a query string, a header
//!   and a cookie, and the location of what it opens parses back from its text form.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pii_core::batch::{classify, BatchOpener, Class};
use pii_core::envelope::{is_envelope, open, open_expecting, Binding, OpenError};
use pii_core::{reveal, reveal::Expect, Location, PrivateKeyring, Request};
use serde_json::Value;

struct Vector {
    keys: PrivateKeyring,
    envelope: String,
    /// What `open` gives for `envelope`: kind code, plaintext, binding.
    opens_to: Option<(u8, Vec<u8>, Binding)>,
    /// The binding of `open_expecting`, for the vectors that have one.
    expected: Option<Binding>,
}

fn binding(v: &Value) -> Binding {
    Binding::new(
        v["policy"].as_str().expect("policy"),
        v["zone"].as_str().expect("zone"),
        v["location"]
            .as_str()
            .expect("location")
            .parse::<Location>()
            .expect("a vector's location parses"),
    )
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn vectors() -> &'static [Vector] {
    static V: OnceLock<Vec<Vector>> = OnceLock::new();
    V.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/vectors");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("docs/vectors")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| {
                let v: Value =
                    serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json");
                Vector {
                    keys: PrivateKeyring::from_jwks(&v["private_jwks"].to_string()).expect("keys"),
                    envelope: v["envelope"].as_str().expect("envelope").to_owned(),
                    opens_to: v.get("binding").map(|b| {
                        (
                            u8::try_from(v["kind_code"].as_u64().expect("kind")).expect("kind"),
                            unhex(v["plaintext_hex"].as_str().expect("plaintext_hex")),
                            binding(b),
                        )
                    }),
                    expected: v.get("expected_binding").map(binding),
                }
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

    // The location grammar: one text form, printed exactly as parsed.
    if let Ok(location) = text.parse::<Location>() {
        assert_eq!(
            location.to_string(),
            text,
            "a location reprinted differently"
        );
    }

    let opened = open(&v.keys, &text);

    // The bulk API (pii_core::batch): the class agrees with opening, and the batch opener
    // (with its data-key cache) answers exactly what `open` answers.
    let class = classify(&text);
    if opened.is_ok() {
        assert_eq!(
            class,
            Class::Envelope,
            "an opened text not classed as envelope"
        );
    }
    if class == Class::Malformed {
        assert!(matches!(
            opened,
            Err(OpenError::Malformed | OpenError::UnsupportedVersion)
        ));
    }
    let mut batch = BatchOpener::new();
    for _ in 0..2 {
        let again = batch.open(&v.keys, &text);
        assert_eq!(
            again
                .as_ref()
                .map(|o| (o.kind(), o.plaintext(), o.binding()))
                .map_err(|e| *e),
            opened
                .as_ref()
                .map(|o| (o.kind(), o.plaintext(), o.binding()))
                .map_err(|e| *e),
            "the batch opener differs from open"
        );
    }
    if !is_envelope(&text) {
        assert!(
            matches!(
                opened,
                Err(OpenError::Malformed | OpenError::UnsupportedVersion)
            ),
            "text that does not look like an envelope gave {:?}",
            opened.as_ref().err()
        );
    }
    if let (Ok(o), Some((kind, plaintext, bound))) = (&opened, &v.opens_to) {
        assert_eq!(
            text,
            v.envelope.as_str(),
            "another text opened under these keys"
        );
        assert_eq!(o.kind().code(), *kind);
        assert_eq!(o.plaintext(), plaintext.as_slice());
        assert_eq!(o.binding(), bound);
    }
    if let Some(expected) = &v.expected {
        if let Ok(o) = open_expecting(&v.keys, &text, expected) {
            assert_eq!(
                o.binding(),
                expected,
                "open_expecting opened another binding"
            );
            assert_ne!(
                text,
                v.envelope.as_str(),
                "a vector found elsewhere than it was sealed for opened there"
            );
        }
    }

    let requests = [
        Request::new("POST", "/")
            .with_header("content-type", "application/json")
            .with_body(rest.to_vec()),
        Request::new("POST", "/")
            .with_header("content-type", "application/x-www-form-urlencoded")
            .with_body(rest.to_vec()),
        Request::new("GET", "/")
            .with_query(text.clone().into_owned())
            .with_header("x-user-phone", text.clone().into_owned())
            .with_header("cookie", format!("a={text}; b=1")),
    ];
    for req in &requests {
        // Never panics; every value it opens was bound to the place it was found.
        if let Ok(revealed) = reveal(&v.keys, req, Expect::default()) {
            for field in &revealed.fields {
                let at = &field.binding.location;
                assert_eq!(
                    at.to_string().parse::<Location>().as_ref(),
                    Ok(at),
                    "a location reveal opened at does not parse back"
                );
            }
        }
    }
});
