//! The engine on arbitrary requests under a fixed policy (json, form, query, header and cookie
//! rules, every action).
//!
//! Two input forms: a request in HTTP/1.1 text (first byte an uppercase letter, the method;
//! seeds from `examples/events/`), or any other bytes driving a structured generator that plants
//! marker plaintext at every selected place (duplicate and escaped names, deep nesting, big and
//! out-of-range numbers, BOMs, odd content types and encodings, percent-encoded and repeated
//! parameters, odd-case headers, padded cookie names, cut bodies).
//!
//! Checks: never panics; never `Unmatched` (the policy matches everything); a rejection has a
//! 4xx/5xx status; a protected request holds only protected forms at selected places (an origin
//! reading it leniently finds no plaintext), a forwarded body is of an inspected type, JSON when
//! declared JSON, not encoded and not truncated; no marker survives; and what was sealed opens at
//! the origin where it is.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use pii_core::{ActionKind, Outcome};
use pii_edge_fuzz::{
    check_forwarded, check_no_marker, fixture, may_hold_envelopes, parse_http, Forwarded,
    FuzzRequest, ZONE,
};

fuzz_target!(|data: &[u8]| {
    let fx = fixture();
    let structured = !data.first().is_some_and(u8::is_ascii_uppercase);
    let req = if structured {
        match FuzzRequest::arbitrary_take_rest(Unstructured::new(data)) {
            Ok(r) => r.to_request(),
            Err(_) => return,
        }
    } else {
        parse_http(data)
    };
    match fx.engine.apply(&req) {
        Outcome::Unmatched => panic!("the fuzz policy matches every request"),
        Outcome::Rejected(r) => {
            assert!((400..600).contains(&r.status), "status {}", r.status);
            assert!(!r.reason.to_string().contains(pii_edge_fuzz::MARK));
        }
        Outcome::Protected(p) => {
            let f = Forwarded::of(&p.request);
            check_forwarded(&f);
            if structured {
                check_no_marker(&f);
            }
            if !may_hold_envelopes(&req) {
                let sealed = p
                    .fields
                    .iter()
                    .filter(|x| x.action == ActionKind::Encrypt && !x.removed)
                    .count();
                let opened = pii_core::reveal(&fx.private, "fuzz", ZONE, &p.request)
                    .unwrap_or_else(|e| panic!("what the edge sealed does not open: {e}"));
                assert_eq!(
                    opened.opened, sealed,
                    "sealed {sealed}, opened {}",
                    opened.opened
                );
            }
        }
    }
});
