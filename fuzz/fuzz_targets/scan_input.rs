//! The traffic reader of `pii-edge scan` (`edge_fn::scan::input::read`: HAR 1.2, NDJSON,
//! CloudFront events, request records) and the detectors on every request it yields, on
//! arbitrary bytes (seeds: `examples/har/*.har`, `examples/events/*.json`, NDJSON of them).
//!
//! Checks: never panics, however broken the document; progress never goes backwards; every
//! finding's location has the Location contract's form (`json:$...` or `part:name[#n]`); a
//! masked example keeps at most three characters of the value and is never the value (for
//! values longer than six characters); `Debug` of a finding never holds its value.
#![no_main]

use edge_fn::scan::{input, scan_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut last = 0u64;
    let _ = input::read(
        data,
        &mut |req| {
            for f in scan_request(&req) {
                let loc = f.location.to_string();
                let ok = loc.starts_with("json:$")
                    || ["header:", "query:", "form:", "cookie:"]
                        .iter()
                        .any(|p| loc.starts_with(p));
                assert!(ok, "location {loc:?} is not in the contract's form");
                let masked = f.masked();
                let value = f.value();
                let kept = masked
                    .chars()
                    .filter(|&c| c != '*' && c != '@' && c != '.')
                    .count();
                if value.chars().count() > 6 {
                    assert_ne!(masked, value, "masked example is the value");
                    assert!(kept <= 3 + 6, "masked example keeps too much: {masked:?}");
                    let mut debug = format!("{f:?}").replace(&loc, "");
                    if let Some(claim) = &f.claim {
                        debug = debug.replace(claim.as_str(), "");
                    }
                    assert!(!debug.contains(value), "Debug shows the value");
                }
            }
        },
        &mut |n| {
            assert!(n >= last, "progress went backwards");
            last = n;
        },
    );
});
