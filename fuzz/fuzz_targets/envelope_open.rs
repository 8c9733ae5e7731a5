//! Envelope opening on arbitrary strings, with the keys and bindings of the test vectors of
//! `docs/vectors/` (seeds: their envelopes, each behind the byte that selects its vector).
//!
//! Input: first byte = which vector's keys and binding, the rest = the text.
//!
//! Checks: `envelope::open` never panics; with a success vector's keys and binding it opens only
//! to that vector's plaintext, and only the vector's exact text or one that differs in another
//! recipient's `enc`/`wrapped` (the one known v1 malleability, see docs/threat-model.md; no
//! re-encoding opens); `reveal` never panics on the text as a JSON body, a form body, a query
//! string, a header and a cookie.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pii_core::envelope::{open, Binding};
use pii_core::{reveal, PrivateKeyring, Request};
use serde_json::Value;

struct Vector {
    keys: PrivateKeyring,
    policy: String,
    location: String,
    zone: String,
    envelope: String,
    plaintext: Option<Vec<u8>>,
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
                    policy: v["binding"]["policy"].as_str().expect("policy").to_owned(),
                    location: v["binding"]["location"]
                        .as_str()
                        .expect("location")
                        .to_owned(),
                    zone: v["binding"]["zone"].as_str().expect("zone").to_owned(),
                    envelope: v["envelope"].as_str().expect("envelope").to_owned(),
                    plaintext: v["plaintext"].as_str().map(|s| s.as_bytes().to_vec()),
                }
            })
            .collect()
    })
}

/// The one known way a different text still opens (docs/threat-model.md, "envelope
/// malleability"): the field AAD binds each recipient's key id hint but not its `enc` and
/// `wrapped`, so bytes of *another* recipient's wrap can change without the opener noticing
/// (that region would then fail to open). Everything else must be byte-identical.
fn only_other_recipients_changed(text: &str, sealed: &str) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let a = b64.decode(&text[4..]).expect("opened text decodes");
    let b = b64.decode(&sealed[4..]).expect("vector decodes");
    assert_eq!(a.len(), b.len(), "an envelope of another length opened");
    let z = usize::from(b[2]);
    let n = usize::from(b[3 + z]);
    let start = 4 + z;
    let mut touched = vec![false; n];
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        if x == y {
            continue;
        }
        let in_block = i >= start && i < start + 88 * n;
        assert!(
            in_block,
            "byte {i} outside the recipient block changed and it still opened"
        );
        let (r, off) = ((i - start) / 88, (i - start) % 88);
        assert!(off >= 8, "a key id hint changed and it still opened");
        touched[r] = true;
    }
    assert!(
        touched.iter().any(|t| !t),
        "every recipient changed and it still opened"
    );
}

fuzz_target!(|data: &[u8]| {
    let vs = vectors();
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let v = &vs[usize::from(which) % vs.len()];
    let text = String::from_utf8_lossy(rest);
    let binding = Binding {
        policy: &v.policy,
        location: &v.location,
        zone: &v.zone,
    };
    if let Ok((_, plaintext)) = open(&v.keys, &text, &binding) {
        // A failure vector is a genuine envelope with one change; undoing the change gives the
        // genuine envelope back, which opens (to a plaintext the vector does not record).
        if let Some(expected) = &v.plaintext {
            assert_eq!(&plaintext, expected, "opened to another plaintext");
            if text != v.envelope {
                only_other_recipients_changed(&text, &v.envelope);
            }
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
        // Never panics; what opens is bound to where it was found (checked above for open).
        let _ = reveal(&v.keys, &v.policy, &v.zone, req);
    }
});
