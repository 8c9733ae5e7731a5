//! Comparing what happened to a case's request with what the case expects: the outcome
//! (protected by which policy, rejected with which status and reason, unmatched), and for a
//! protected request each field, the values that must not change or must be gone, the exact
//! body, query and headers, and that the origin can open every envelope.

use pii_core::envelope::{self, Binding};
use pii_core::{engine::FieldReport, spec::ActionKind, PrivateKeyring, Request};
use serde_json::Value;

use super::load::{Expect, FieldExpect, OutcomeKind};
use super::report::{describe, show};
use super::run::{Forwarded, Happened};
use crate::shared::inspect;
use crate::shared::request::Values;
use pii_core::{hooks::json_span, location::Part, location::PathElement, Location};

/// Every way `happened` differs from `expect`; empty when the case holds. `original` is the
/// request the case sent (`None` when it does not read as one: then nothing was protected),
/// `case_policy` the policy whose case this is, `zone_of` a policy's zone.
pub(super) fn compare(
    expect: &Expect,
    case_policy: &str,
    original: Option<&Request>,
    happened: &Happened,
    private: Option<&PrivateKeyring>,
    zone_of: &dyn Fn(&str) -> Option<String>,
) -> Vec<String> {
    let wanted_policy = expect.policy.as_deref().unwrap_or(case_policy);
    let mut problems = Vec::new();
    match (happened, expect.outcome) {
        (Happened::Protected(p), OutcomeKind::Protected) => {
            if expect.status.is_some() || expect.reason.is_some() {
                problems.push("`status` and `reason` apply to rejected requests only".into());
            }
            if p.policy != wanted_policy {
                problems.push(format!(
                    "policy: expected `{wanted_policy}`, got `{}`",
                    p.policy
                ));
            }
            let zone = zone_of(&p.policy).unwrap_or_default();
            match original {
                Some(original) => {
                    check_protected(original, p, expect, private, &zone, &mut problems)
                }
                None => problems.push("the request does not read as a request".into()),
            }
        }
        (Happened::Rejected(r), OutcomeKind::Rejected) => {
            if !expect.only_outcome_keys() {
                problems.push(
                    "a rejected request has no fields: only `status`, `reason` and `policy` apply"
                        .into(),
                );
            }
            if let Some(status) = expect.status {
                if status != r.status {
                    problems.push(format!(
                        "status: expected {status}, got {} ({}: {})",
                        r.status, r.code, r.detail
                    ));
                }
            }
            if let Some(reason) = &expect.reason {
                if *reason != r.code {
                    problems.push(format!(
                        "reason: expected {reason}, got {} ({})",
                        r.code, r.detail
                    ));
                }
            }
            // A request refused before any policy matched (an event CloudFront would not
            // send) names no policy; the case then needs no `policy` either.
            let unnamed = r.policy.is_none() && expect.policy.is_none();
            if !unnamed && r.policy.as_deref() != Some(wanted_policy) {
                problems.push(format!(
                    "policy: expected `{wanted_policy}`, got {}",
                    r.policy
                        .as_deref()
                        .map_or("none".to_string(), |p| format!("`{p}`"))
                ));
            }
        }
        (Happened::Unmatched, OutcomeKind::Unmatched) => {
            if !expect.only_outcome_keys() || expect.status.is_some() || expect.reason.is_some() {
                problems.push(
                    "an unmatched request is forwarded as is: no other expectation applies".into(),
                );
            }
        }
        (actual, wanted) => problems.push(format!(
            "outcome: expected {wanted}, got {}",
            describe(actual)
        )),
    }
    problems
}

pub(super) fn check_protected(
    original: &Request,
    p: &Forwarded,
    expect: &Expect,
    private: Option<&PrivateKeyring>,
    zone: &str,
    problems: &mut Vec<String>,
) {
    // Where the removed JSON values were: later array elements moved up past them.
    let removed: Vec<&[PathElement]> = p
        .fields
        .iter()
        .filter(|f| f.removed)
        .filter_map(|f| match &f.original {
            Location::Json(path) => Some(path.as_slice()),
            _ => None,
        })
        .collect();

    if let Some(fields) = &expect.fields {
        for (location, want) in &fields.0 {
            let want = match FieldExpect::parse(want) {
                Ok(w) => w,
                Err(e) => {
                    problems.push(format!("{location}: {e}"));
                    continue;
                }
            };
            let parsed = match location.parse::<Location>() {
                Ok(l) => l,
                Err(e) => {
                    problems.push(format!(
                        "`{location}` is not a location (json:$['a'][0], query:NAME, form:NAME#1, header:NAME, cookie:NAME): {e}"
                    ));
                    continue;
                }
            };
            let Some(report) = p.fields.iter().find(|f| f.location == parsed) else {
                let protected: Vec<String> =
                    p.fields.iter().map(|f| f.location.to_string()).collect();
                problems.push(format!(
                    "{location}: expected {want}, but no rule protected a value there (protected: {})",
                    if protected.is_empty() { "nothing".to_string() } else { protected.join(", ") }
                ));
                continue;
            };
            if let Err(e) = check_field(&want, report, original, p, private, zone) {
                problems.push(format!("{location}: expected {want}, {e}"));
            }
        }
        let listed: Vec<Location> = fields
            .0
            .iter()
            .filter_map(|(l, _)| l.parse().ok())
            .collect();
        for f in &p.fields {
            if !listed.contains(&f.location) {
                problems.push(format!(
                    "{}: {} by rule `{}`, but not listed in expect.fields (list every protected value)",
                    f.location,
                    what_happened(f),
                    f.rule
                ));
            }
        }
    }

    if !expect.unchanged.is_empty() {
        check_unchanged(original, p, &expect.unchanged, &removed, problems);
    }

    for needle in &expect.absent {
        if needle.is_empty() {
            problems.push("absent: an empty string is in every request".into());
            continue;
        }
        if let Some((part, _)) = inspect::haystacks(&p.request)
            .into_iter()
            .find(|(_, hay)| hay.contains(needle.as_str()))
        {
            problems.push(format!(
                "absent: {} is still in the protected {part}",
                show(needle)
            ));
        }
    }

    if let Some(body) = &expect.body {
        let actual = String::from_utf8_lossy(&p.request.body);
        if actual != body.as_str() {
            problems.push(format!(
                "body: expected {}\n got      {}",
                show(body),
                show(&actual)
            ));
        }
    }
    if let Some(query) = &expect.query {
        if p.request.query != *query {
            problems.push(format!(
                "query: expected {}, got {}",
                show(query),
                show(&p.request.query)
            ));
        }
    }
    if let Some(headers) = &expect.headers {
        for (name, Values(want)) in &headers.0 {
            let got: Vec<&str> = p.request.header_values(name).collect();
            if got != want.iter().map(String::as_str).collect::<Vec<_>>() {
                problems.push(format!(
                    "headers: {name}: expected {}, got {}",
                    if want.is_empty() {
                        "no such header".to_string()
                    } else {
                        format!("{want:?}")
                    },
                    if got.is_empty() {
                        "no such header".to_string()
                    } else {
                        format!("{got:?}")
                    }
                ));
            }
        }
    }

    // The origin must be able to open everything the edge sealed.
    let sealed = p
        .fields
        .iter()
        .any(|f| f.action == ActionKind::Encrypt && !f.removed);
    if sealed || expect.round_trip {
        match private {
            None if expect.round_trip => problems.push(
                "roundTrip: no private key set to open the envelopes with (--private-keys)".into(),
            ),
            None => {}
            Some(keys) => match pii_core::reveal(
                keys,
                &p.request,
                pii_core::reveal::Expect {
                    policy: Some(&p.policy),
                    zone: Some(zone),
                },
            ) {
                Err(e) => {
                    problems.push(format!("reveal: the protected request does not open: {e}"))
                }
                Ok(revealed) if expect.round_trip => {
                    let r = &revealed.request;
                    let form = original.header("content-type").is_some_and(|c| {
                        c.to_ascii_lowercase()
                            .starts_with("application/x-www-form-urlencoded")
                    });
                    let same_body = r.body == original.body
                        || (form
                            && same_params(
                                &String::from_utf8_lossy(&r.body),
                                &String::from_utf8_lossy(&original.body),
                            ));
                    if !same_body {
                        problems.push(format!(
                            "roundTrip: the revealed body differs from the original\n{}",
                            difference(&original.body, &r.body)
                        ));
                    }
                    if !same_params(&r.query, &original.query) {
                        problems.push(format!(
                            "roundTrip: the revealed query differs from the original\n{}",
                            difference(original.query.as_bytes(), r.query.as_bytes())
                        ));
                    }
                    if r.headers != original.headers {
                        let differ: Vec<String> = r
                            .headers
                            .iter()
                            .filter(|h| !original.headers.contains(h))
                            .map(|(n, v)| format!("{n}: {}", show(v)))
                            .collect();
                        problems.push(format!(
                            "roundTrip: the revealed headers differ from the original ({})",
                            if differ.is_empty() {
                                "order or count".to_string()
                            } else {
                                differ.join(", ")
                            }
                        ));
                    }
                }
                Ok(_) => {}
            },
        }
    }
}

/// Query strings or forms with the same parameters once decoded (`+` and `%20` are both a
/// space: the origin's parser cannot tell them apart).
pub(super) fn same_params(a: &str, b: &str) -> bool {
    a == b
        || inspect::params(a)
            .iter()
            .map(|(n, _, v)| (n, v))
            .eq(inspect::params(b).iter().map(|(n, _, v)| (n, v)))
}

/// Where two texts first differ, with some context.
pub(super) fn difference(expected: &[u8], got: &[u8]) -> String {
    let at = expected.iter().zip(got).take_while(|(a, b)| a == b).count();
    let start = at.saturating_sub(20);
    let snippet = |t: &[u8]| {
        let end = (at + 30).min(t.len());
        let text = String::from_utf8_lossy(&t[start.min(t.len())..end]).into_owned();
        format!(
            "{}{:?}{}",
            if start > 0 { "…" } else { "" },
            text,
            if end < t.len() { "…" } else { "" }
        )
    };
    format!(
        "first difference at byte {at}:\n expected {}\n got      {}",
        snippet(expected),
        snippet(got)
    )
}

pub(super) fn what_happened(f: &FieldReport) -> String {
    match (f.action, f.removed, f.failed) {
        (_, true, true) => format!("removed ({} did not fit)", f.action.as_str()),
        (_, true, false) => "removed".into(),
        (kind, ..) => kind.done().into(),
    }
}

/// One protected value against what the case expects of it.
fn check_field(
    want: &FieldExpect,
    report: &FieldReport,
    original: &Request,
    p: &Forwarded,
    private: Option<&PrivateKeyring>,
    zone: &str,
) -> Result<(), String> {
    let location = &report.location;
    let json = matches!(location, Location::Json(_));
    let happened = what_happened(report);
    let action_ok = match want {
        FieldExpect::Encrypted => report.action == ActionKind::Encrypt && !report.removed,
        FieldExpect::Tokenized(_) => report.action == ActionKind::Tokenize && !report.removed,
        FieldExpect::Hashed => report.action == ActionKind::Hash && !report.removed,
        FieldExpect::Masked(_) => report.action == ActionKind::Mask && !report.removed,
        FieldExpect::Removed => report.removed && !report.failed,
        FieldExpect::Failed => report.removed && report.failed,
        FieldExpect::Replaced(_) => report.action == ActionKind::Redact && !report.removed,
        FieldExpect::Equals(_) => !report.removed,
    };
    if !action_ok {
        return Err(format!("got {happened} (rule `{}`)", report.rule));
    }
    if matches!(want, FieldExpect::Removed | FieldExpect::Failed) {
        return check_removed(report, original, p);
    }
    let found = inspect::value_at(&p.request, location).ok_or_else(|| {
        format!("got {happened}, but there is no value there in the protected request")
    })?;
    let json_value = || -> Result<Value, String> {
        if json {
            serde_json::from_slice(&found.raw).map_err(|_| {
                format!(
                    "got {} (not JSON)",
                    show(&String::from_utf8_lossy(&found.raw))
                )
            })
        } else {
            Ok(Value::String(found.text.clone()))
        }
    };
    let is_string = !json || found.raw.first() == Some(&b'"');
    match want {
        FieldExpect::Encrypted => {
            if !is_string || !envelope::is_envelope(&found.text) {
                return Err(format!("got {} (not an envelope)", show(&found.text)));
            }
            let Some(keys) = private else {
                return Err(
                    "cannot check that it opens: no private key set (--private-keys)".into(),
                );
            };
            let binding = Binding::new(p.policy.as_str(), zone, report.location.clone());
            let opened = envelope::open_expecting(keys, &found.text, &binding)
                .map_err(|e| format!("got an envelope that does not open: {e}"))?;
            let plain = opened.plaintext().to_vec();
            let original_bytes = original_value(&report.original, original)
                .ok_or("got an envelope, but the original request has no value there to compare")?;
            if plain != original_bytes {
                return Err(format!(
                    "got an envelope that opens to {} instead of the original {}",
                    show(&String::from_utf8_lossy(&plain)),
                    show(&String::from_utf8_lossy(&original_bytes))
                ));
            }
            Ok(())
        }
        FieldExpect::Tokenized(domain) => {
            let prefix = match domain {
                Some(d) => format!("tk1.{d}."),
                None => "tk1.".to_string(),
            };
            if is_string && found.text.starts_with(&prefix) {
                Ok(())
            } else {
                Err(format!(
                    "got {} (not a token `{prefix}…`)",
                    show(&found.text)
                ))
            }
        }
        FieldExpect::Hashed => {
            let ok = is_string
                && found.text.strip_prefix("sha256:").is_some_and(|h| {
                    h.len() == 64
                        && h.bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                });
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "got {} (not `sha256:<64 hex digits>`)",
                    show(&found.text)
                ))
            }
        }
        FieldExpect::Masked(m) => {
            if is_string && found.text == *m {
                Ok(())
            } else {
                Err(format!(
                    "got {}",
                    show(&String::from_utf8_lossy(&found.raw))
                ))
            }
        }
        FieldExpect::Replaced(v) | FieldExpect::Equals(v) => {
            let actual = json_value()?;
            let wanted = match (json, v) {
                (true, v) => v.clone(),
                (false, Value::String(s)) => Value::String(s.clone()),
                (false, other) => Value::String(other.to_string()),
            };
            if actual == wanted {
                Ok(())
            } else {
                Err(format!("got {actual}"))
            }
        }
        FieldExpect::Removed | FieldExpect::Failed => Ok(()),
    }
}

/// The value at `location` (a report's `original`) in the original request: the bytes the
/// engine sealed (JSON text for body values, the decoded value of parameters, the raw value of
/// headers and cookies).
fn original_value(location: &Location, original: &Request) -> Option<Vec<u8>> {
    let found = inspect::value_at(original, location)?;
    Some(match location {
        Location::Field {
            part: Part::Query | Part::Form,
            ..
        } => found.text.into_bytes(),
        _ => found.raw,
    })
}

fn check_removed(report: &FieldReport, original: &Request, p: &Forwarded) -> Result<(), String> {
    match &report.location {
        Location::Json(path) => {
            // A removed member leaves nothing behind; a removed array element makes room for
            // the next one, which is not checked here.
            if matches!(path.last(), Some(PathElement::Name(_)))
                && inspect::value_at(&p.request, &report.location).is_some()
            {
                return Err(
                    "the report says removed, but the member is still in the protected body".into(),
                );
            }
            Ok(())
        }
        location => {
            let Some(before) = inspect::value_at(original, &report.original) else {
                return Ok(());
            };
            if inspect::all_values(&p.request, location).contains(&before.text) {
                Err(
                    "the report says removed, but the value is still in the protected request"
                        .into(),
                )
            } else {
                Ok(())
            }
        }
    }
}

/// Where the value at `path` of the original body is in the protected body: array elements
/// after a removed one (`removed`: where the removed values were) move up by one each. `None`
/// when the value or one that holds it was removed.
fn moved(path: &[PathElement], removed: &[&[PathElement]]) -> Option<Vec<PathElement>> {
    if removed.iter().any(|r| path.starts_with(r)) {
        return None;
    }
    let mut out = path.to_vec();
    for (k, element) in path.iter().enumerate() {
        if let PathElement::Index(n) = element {
            let before = removed
                .iter()
                .filter(|r| {
                    r.len() == k + 1
                        && r[..k] == path[..k]
                        && matches!(r[k], PathElement::Index(m) if m < *n)
                })
                .count();
            out[k] = PathElement::Index(n - before);
        }
    }
    Some(out)
}

fn check_unchanged(
    original: &Request,
    p: &Forwarded,
    paths: &[String],
    removed: &[&[PathElement]],
    problems: &mut Vec<String>,
) {
    let Ok(doc) = serde_json::from_slice::<Value>(&original.body) else {
        problems.push("unchanged: the request body is not JSON".into());
        return;
    };
    if json_span(&p.request.body, &[]).is_none() {
        problems.push("unchanged: the protected body is not JSON".into());
        return;
    }
    for path in paths {
        let selected = match pii_core::select_json(path, &doc) {
            Ok(s) => s,
            Err(e) => {
                problems.push(format!(
                    "unchanged: `{path}` is not a valid JSONPath: {}",
                    e.message
                ));
                continue;
            }
        };
        if selected.is_empty() {
            problems.push(format!(
                "unchanged: `{path}` selects nothing in the request body"
            ));
            continue;
        }
        for (location, _) in selected {
            let Location::Json(elements) = &location else {
                continue;
            };
            let text = location.to_string();
            let normalized = text.strip_prefix("json:").unwrap_or(&text);
            let Some(was) = json_span(&original.body, elements).map(|r| &original.body[r]) else {
                continue;
            };
            let Some(moved) = moved(elements, removed) else {
                problems.push(format!("unchanged: {normalized} was removed"));
                continue;
            };
            let now = json_span(&p.request.body, &moved).map(|r| &p.request.body[r]);
            match now {
                None => problems.push(format!(
                    "unchanged: {normalized} is missing from the protected body"
                )),
                Some(now) if now != was => problems.push(format!(
                    "unchanged: {normalized} changed from {} to {}",
                    show(&String::from_utf8_lossy(was)),
                    show(&String::from_utf8_lossy(now))
                )),
                Some(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::run::{Function, Refused};
    use super::*;
    use crate::shared::run_keys::{keys_for, KeyTexts};
    use edge_fn::cloudfront;
    use pii_core::{Engine, Policy};

    const SEARCH: &str = r#"{"apiVersion":"pii-edge/v1","name":"search",
        "match":{"paths":["/api/search"]},
        "rules":[{"select":{"query":"email"},"action":"mask","keepFirst":1},
                 {"select":{"query":"drop"},"action":"redact"}]}"#;

    fn expect(yaml: &str) -> Expect {
        serde_saphyr::from_str(yaml).expect("expect")
    }

    fn protected(request: &Request) -> Happened {
        let policy = Policy::from_json(SEARCH).expect("policy");
        let (public, _, tokens) =
            keys_for(&KeyTexts::none(), std::slice::from_ref(&policy)).expect("keys");
        let f = Function::new(Engine::new(vec![policy], public, tokens).expect("engine"));
        f.run(cloudfront::viewer_request_event(cloudfront::from_core(
            request,
        )))
        .expect("runs")
    }

    fn compare_with(yaml: &str, original: &Request) -> Vec<String> {
        compare(
            &expect(yaml),
            "search",
            Some(original),
            &protected(original),
            None,
            &|_| None,
        )
    }

    #[test]
    fn fields_are_checked_one_by_one_and_all_must_be_listed() {
        let original = Request::new("GET", "/api/search").with_query("email=erika&drop=x&q=1");
        let ok = compare_with(
            "outcome: protected\nfields:\n  'query:email': {masked: 'e****'}\n  'query:drop': removed\nquery: email=e%2A%2A%2A%2A&q=1\nabsent: [erika]\n",
            &original,
        );
        assert_eq!(ok, Vec::<String>::new());
        let wrong = compare_with(
            "outcome: protected\nfields:\n  'query:email': {masked: 'x'}\n",
            &original,
        );
        assert_eq!(wrong.len(), 2, "{wrong:?}");
        assert!(
            wrong[0].starts_with("query:email: expected masked to \"x\""),
            "{wrong:?}"
        );
        assert!(
            wrong[1].contains("not listed in expect.fields"),
            "{wrong:?}"
        );
        let present = compare_with("outcome: protected\nabsent: ['q=1']\n", &original);
        assert_eq!(present, ["absent: \"q=1\" is still in the protected query"]);
    }

    #[test]
    fn outcomes_statuses_reasons_and_policies() {
        let original = Request::new("GET", "/api/search").with_query("email=a");
        let problems = compare_with("outcome: unmatched\n", &original);
        assert_eq!(
            problems,
            ["outcome: expected unmatched, got protected by `search` (1 value)"]
        );
        let rejected = Happened::Rejected(Refused {
            status: 413,
            code: "body-too-large".into(),
            detail: "too large".into(),
            policy: Some("search".into()),
            note: None,
        });
        let run = |yaml: &str, happened: &Happened| {
            compare(&expect(yaml), "search", None, happened, None, &|_| None)
        };
        assert!(run(
            "outcome: rejected\nstatus: 413\nreason: body-too-large\n",
            &rejected
        )
        .is_empty());
        assert_eq!(
            run("outcome: rejected\nstatus: 400\n", &rejected),
            ["status: expected 400, got 413 (body-too-large: too large)"]
        );
        assert_eq!(
            run("outcome: rejected\npolicy: other\n", &rejected),
            ["policy: expected `other`, got `search`"]
        );
        let unnamed = Happened::Rejected(Refused {
            policy: None,
            ..match &rejected {
                Happened::Rejected(r) => r.clone(),
                _ => unreachable!(),
            }
        });
        assert!(run("outcome: rejected\n", &unnamed).is_empty());
        assert_eq!(
            run("outcome: rejected\npolicy: search\n", &unnamed),
            ["policy: expected `search`, got none"]
        );
        assert_eq!(
            run("outcome: unmatched\nstatus: 200\n", &Happened::Unmatched),
            ["an unmatched request is forwarded as is: no other expectation applies"]
        );
    }

    #[test]
    fn values_move_up_past_removed_array_elements() {
        let path = |s: &str| match format!("json:{s}").parse::<Location>() {
            Ok(Location::Json(p)) => p,
            other => panic!("{s}: {other:?}"),
        };
        let r1 = path("$['a'][1]");
        let r2 = path("$['a'][5]");
        let removed = [r1.as_slice(), r2.as_slice()];
        assert_eq!(
            moved(&path("$['a'][3]['b']"), &removed),
            Some(path("$['a'][2]['b']"))
        );
        assert_eq!(moved(&path("$['a'][0]"), &removed), Some(path("$['a'][0]")));
        assert_eq!(moved(&path("$['a'][6]"), &removed), Some(path("$['a'][4]")));
        assert_eq!(moved(&path("$['b'][3]"), &removed), Some(path("$['b'][3]")));
        assert_eq!(moved(&path("$['a'][1]['x']"), &removed), None);
        assert_eq!(moved(&path("$['a'][5]"), &removed), None);
    }

    #[test]
    fn a_field_key_that_is_no_location_is_named() {
        let original = Request::new("GET", "/api/search").with_query("email=erika");
        let problems = compare_with(
            "outcome: protected\nfields:\n  'email': encrypted\n",
            &original,
        );
        assert!(
            problems[0].starts_with("`email` is not a location"),
            "{problems:?}"
        );
    }

    #[test]
    fn parameters_compare_decoded_and_differences_are_located() {
        assert!(same_params("a=b+c", "a=b%20c"));
        assert!(!same_params("a=b", "a=c"));
        let diff = difference(b"hello world", b"hello there");
        assert!(diff.starts_with("first difference at byte 6:"), "{diff}");
        assert!(diff.contains("expected \"hello world\""), "{diff}");
        assert!(diff.contains("got      \"hello there\""), "{diff}");
    }
}
