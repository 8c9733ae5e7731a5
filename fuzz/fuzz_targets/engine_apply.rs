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
//! the origin where it is. And the one-pass JSON evaluation answers like the document-tree one
//! (the same policy with one more rule that forces the tree path): same rejection, or the same
//! request and field reports up to the randomized envelopes.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use pii_core::{spec::ActionKind, Outcome};
use pii_edge_fuzz::{
    blank_envelopes, check_forwarded, check_no_marker, fixture, may_hold_envelopes, parse_http,
    Forwarded, FuzzRequest, ZONE,
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
    let outcome = fx.engine.apply(&req);
    same_as_tree(&outcome, &fx.tree.apply(&req));
    match outcome {
        Outcome::Unmatched => panic!("the fuzz policy matches every request"),
        Outcome::Rejected(r) => {
            assert!((400..600).contains(&r.status), "status {}", r.status);
            assert!(!r.reason.to_string().contains(pii_edge_fuzz::MARK));
        }
        Outcome::Protected(p) => {
            // Every location the engine reports has one text form that parses back to it.
            for field in &p.fields {
                for at in [&field.location, &field.original] {
                    assert_eq!(
                        at.to_string().parse::<pii_core::Location>().as_ref(),
                        Ok(at),
                        "location {at} does not parse back"
                    );
                }
            }
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
                let opened = pii_core::reveal(
                    &fx.private,
                    &p.request,
                    pii_core::reveal::Expect {
                        policy: Some("fuzz"),
                        zone: Some(ZONE),
                    },
                )
                .unwrap_or_else(|e| panic!("what the edge sealed does not open: {e}"));
                assert_eq!(
                    opened.opened(),
                    sealed,
                    "sealed {sealed}, opened {}",
                    opened.opened()
                );
            }
        }
        other => panic!("an outcome this target does not know: {other:?}"),
    }
});

fn same_as_tree(one: &Outcome, tree: &Outcome) {
    match (one, tree) {
        (Outcome::Rejected(a), Outcome::Rejected(b)) => assert_eq!(a.reason, b.reason),
        (Outcome::Protected(a), Outcome::Protected(b)) => {
            let show = |p: &pii_core::Protected| {
                let fields: Vec<String> = p
                    .fields
                    .iter()
                    .map(|f| {
                        format!(
                            "{} {} {:?} {} {}",
                            f.rule, f.location, f.action, f.removed, f.failed
                        )
                    })
                    .collect();
                let r = &p.request;
                (
                    blank_envelopes(&r.body),
                    blank_envelopes(r.query.as_bytes()),
                    blank_envelopes(format!("{:?}", r.headers).as_bytes()),
                    fields,
                )
            };
            assert!(show(a) == show(b), "one pass and tree differ");
        }
        (a, b) => panic!("one pass and tree differ: {} / {}", kind(a), kind(b)),
    }
}

fn kind(o: &Outcome) -> &'static str {
    match o {
        Outcome::Unmatched => "unmatched",
        Outcome::Protected(_) => "protected",
        Outcome::Rejected(_) => "rejected",
        _ => "unknown",
    }
}
