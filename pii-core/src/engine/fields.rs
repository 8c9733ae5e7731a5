//! Parameters, headers and cookies: the rules on named values, wherever an origin reads them.

use super::body::{graphql_literal, json_in_shape};
use super::outcome::{failure, FieldReport, RejectReason};
use crate::action::{self, Context, Input, Output};
use crate::location::{Location, Part};
use crate::policy::Policy;
use crate::select::{self, CompiledSelector};

/// Protect query parameters or form fields; returns the new text when anything changed.
pub(super) fn protect_params(
    policy: &Policy,
    raw: &str,
    part: Part,
    ctx: &mut Context<'_>,
    fields: &mut Vec<FieldReport>,
) -> Result<Option<String>, RejectReason> {
    // A query or form rule protects its parameter, as written, in the query string and in a
    // form body (unless its `sources` say otherwise): servlets, Spring, PHP `$_REQUEST`,
    // Flask `request.values` and Rails merge query and body parameters.
    let rules: Vec<(&crate::policy::Rule, &str)> = policy
        .rules
        .iter()
        .filter_map(|r| r.protects_as_written(part).map(|n| (r, n)))
        .collect();
    let source = match part {
        Part::Form => crate::params::Source::Form,
        _ => crate::params::Source::Query,
    };
    let checked = policy.params.iter().any(|p| p.sources.has(source))
        || !policy.spec.shape.json_params.is_empty();
    if (rules.is_empty() && !checked) || raw.is_empty() {
        return Ok(None);
    }
    // An escape that is not `%HH` (`%u0065`, which IIS decodes) is read differently by
    // different servers.
    if !select::strict_escapes(raw) {
        return Err(RejectReason::InvalidEncoding);
    }
    // JSON text in a parameter the policy declares (`shape.jsonParams`): its rules first.
    let rewritten = json_params(policy, raw, ctx, fields)?;
    let raw = rewritten.as_deref().unwrap_or(raw);
    // Origins differ in how they read names (`;` as a separator, `user[email]`, `[email]`,
    // `email]`, `card[number`, `email[]` arrays, leading spaces, NUL, `.` and space for `_`,
    // Unicode case): a name some origin reads as a protected parameter (`params.rs`) must be
    // selected as written, or the request is refused.
    let query = crate::names::skeleton("query");
    for piece in raw.split(['&', ';']) {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        let decoded = select::percent_decode(name.as_bytes(), true);
        let Ok(decoded) = std::str::from_utf8(&decoded) else {
            return Err(RejectReason::InvalidEncoding);
        };
        if decoded.eq_ignore_ascii_case("_charset_") {
            let v = select::percent_decode(value.as_bytes(), true);
            if !(v.eq_ignore_ascii_case(b"utf-8") || v.eq_ignore_ascii_case(b"utf8")) {
                return Err(RejectReason::UnsupportedCharset);
            }
        }
        let as_written = (rules.iter().any(|(_, n)| n.eq_ignore_ascii_case(decoded))
            || crate::shape::json_param_name(&policy.spec, decoded).is_some())
            && raw.split('&').any(|p| p == piece);
        if as_written {
            continue;
        }
        if crate::params::names_protected(&policy.params, source, decoded) {
            return Err(RejectReason::AmbiguousName);
        }
        if crate::names::skeleton_is(decoded, &query) {
            let doc = select::percent_decode(value.as_bytes(), true);
            if graphql_literal(policy, &String::from_utf8_lossy(&doc)) {
                return Err(RejectReason::AmbiguousName);
            }
        }
    }
    if rules.is_empty() {
        return Ok(rewritten);
    }
    let params = crate::params::pairs(raw, part);
    let mut pieces: Vec<String> = Vec::with_capacity(params.len());
    let mut changed = false;
    for p in &params {
        let Some((rule, _)) = rules.iter().find(|(_, n)| n.eq_ignore_ascii_case(&p.name)) else {
            pieces.push(p.raw.to_string());
            continue;
        };
        let location = p.location();
        let out = action::apply(&rule.action, Input::Text(&p.value), &location, ctx)
            .map_err(|f| failure(f, rule))?;
        changed = true;
        let removed = matches!(out, Output::Remove);
        if let Output::Text(v) = out {
            pieces.push(format!("{}={}", p.raw_name, select::percent_encode(&v)));
        }
        fields.push(FieldReport {
            original: location.clone(),
            location,
            removed,
            ..FieldReport::of(rule)
        });
    }
    Ok(if changed {
        Some(pieces.join("&"))
    } else {
        rewritten
    })
}

/// The declared JSON parameters (`shape.jsonParams`) of a query string or form body, their
/// JSON text through the policy's JSON rules (`shape::json_param`): the new text when any
/// changed. Only pieces spelled `name=value` with the declared name as written are read so;
/// other spellings meet the parameter checks.
pub(super) fn json_params(
    policy: &Policy,
    raw: &str,
    ctx: &mut Context<'_>,
    fields: &mut Vec<FieldReport>,
) -> Result<Option<String>, RejectReason> {
    if policy.spec.shape.json_params.is_empty() {
        return Ok(None);
    }
    let mut changed = false;
    let mut pieces = Vec::new();
    for piece in raw.split('&') {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        let decoded = select::percent_decode(name.as_bytes(), true);
        let declared = std::str::from_utf8(&decoded)
            .ok()
            .and_then(|n| crate::shape::json_param_name(&policy.spec, n));
        let Some(declared) = declared else {
            pieces.push(piece.to_string());
            continue;
        };
        let text = select::percent_decode(value.as_bytes(), true);
        let mut one = |b: &[u8], at, f: &mut Vec<FieldReport>| json_in_shape(policy, b, at, ctx, f);
        match crate::shape::json_param(declared, &text, &mut one, fields)? {
            Some(new) => {
                changed = true;
                pieces.push(format!("{name}={}", select::percent_encode(&new)));
            }
            None => pieces.push(piece.to_string()),
        }
    }
    Ok(changed.then(|| pieces.join("&")))
}

/// Protect headers and cookies in place; returns whether anything changed.
pub(super) fn protect_headers(
    policy: &Policy,
    headers: &mut Vec<(String, String)>,
    ctx: &mut Context<'_>,
    fields: &mut Vec<FieldReport>,
) -> Result<bool, RejectReason> {
    check_header_and_cookie_names(policy, headers)?;
    let mut changed = false;
    for rule in &policy.rules {
        match &rule.selector {
            CompiledSelector::Header(name) => {
                let mut nth = 0;
                let mut keep = Vec::with_capacity(headers.len());
                for (n, v) in headers.drain(..) {
                    if !n.eq_ignore_ascii_case(name) {
                        keep.push((n, v));
                        continue;
                    }
                    let location = Location::field(Part::Header, name.as_str(), nth);
                    nth += 1;
                    let out =
                        action::apply(&rule.action, Input::Text(v.as_bytes()), &location, ctx)
                            .map_err(|f| failure(f, rule))?;
                    let removed = matches!(out, Output::Remove);
                    if let Output::Text(t) = out {
                        keep.push((n, header_safe(&t)));
                    }
                    fields.push(FieldReport {
                        original: location.clone(),
                        location,
                        removed,
                        ..FieldReport::of(rule)
                    });
                    changed = true;
                }
                *headers = keep;
            }
            CompiledSelector::Cookie(name) => {
                let mut nth = 0;
                for (n, v) in headers.iter_mut() {
                    if !n.eq_ignore_ascii_case("cookie") {
                        continue;
                    }
                    // Every way an origin splits cookies (`;`, `,`, white space): a cookie
                    // some origin reads under the selected name is protected.
                    let mut edits: Vec<(usize, usize, String)> = Vec::new();
                    for piece in select::cookie_pieces(v) {
                        if !piece.name.eq_ignore_ascii_case(name) {
                            continue;
                        }
                        let location = Location::field(Part::Cookie, name.as_str(), nth);
                        nth += 1;
                        let out = action::apply(
                            &rule.action,
                            Input::Text(piece.value.as_bytes()),
                            &location,
                            ctx,
                        )
                        .map_err(|f| failure(f, rule))?;
                        let removed = matches!(out, Output::Remove);
                        match out {
                            // A cookie sent without `=` gets one: `session_id` would
                            // otherwise become `session_idpe2.…`, another name.
                            Output::Text(t) => edits.push((
                                piece.value_start,
                                piece.end,
                                format!(
                                    "{}{}",
                                    if piece.has_eq { "" } else { "=" },
                                    select::percent_encode(&t)
                                ),
                            )),
                            _ => edits.push((piece.start, piece.end, String::new())),
                        }
                        fields.push(FieldReport {
                            original: location.clone(),
                            location,
                            removed,
                            ..FieldReport::of(rule)
                        });
                    }
                    if !edits.is_empty() {
                        *v = select::edit_cookie_header(v, &edits);
                        changed = true;
                    }
                }
                headers.retain(|(n, v)| !(n.eq_ignore_ascii_case("cookie") && v.is_empty()));
            }
            _ => {}
        }
    }
    Ok(changed)
}

/// Refuse header and cookie names that some origin reads as a selected one
/// (`names::equivalent`: `X_National_ID` for `x-national-id`, which WSGI servers merge;
/// `tracking.email` or `tracking%5Femail` for the cookie `tracking_email`, which PHP decodes
/// and rewrites) but that the rule does not select as written (case-insensitively).
pub(super) fn check_header_and_cookie_names(
    policy: &Policy,
    headers: &[(String, String)],
) -> Result<(), RejectReason> {
    let mut header_rules = policy.rules.iter().filter_map(|r| match &r.selector {
        CompiledSelector::Header(n) => Some((n.as_str(), r.skeleton.as_str())),
        _ => None,
    });
    let cookie_rules: Vec<(&str, &str)> = policy
        .rules
        .iter()
        .filter_map(|r| match &r.selector {
            CompiledSelector::Cookie(n) => Some((n.as_str(), r.skeleton.as_str())),
            _ => None,
        })
        .collect();
    if header_rules.next().is_some() {
        for (n, _) in headers {
            let ambiguous = policy.rules.iter().any(|r| {
                matches!(&r.selector, CompiledSelector::Header(h)
                    if !h.eq_ignore_ascii_case(n) && crate::names::skeleton_is(n, &r.skeleton))
            });
            if ambiguous {
                return Err(RejectReason::AmbiguousName);
            }
        }
    }
    let params = policy
        .params
        .iter()
        .any(|p| p.sources.has(crate::params::Source::Cookie));
    if cookie_rules.is_empty() && !params {
        return Ok(());
    }
    for (_, v) in headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
    {
        for piece in select::cookie_pieces(v) {
            if cookie_rules
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(piece.name))
            {
                continue;
            }
            // PHP decodes cookie names before it rewrites them, and merges cookies into
            // `$_REQUEST` (`params.rs`).
            let decoded = select::percent_decode(piece.name.as_bytes(), false);
            let decoded = String::from_utf8_lossy(&decoded);
            if cookie_rules
                .iter()
                .any(|(_, sk)| crate::names::skeleton_is(&decoded, sk))
                || crate::params::names_protected(
                    &policy.params,
                    crate::params::Source::Cookie,
                    &decoded,
                )
            {
                return Err(RejectReason::AmbiguousName);
            }
        }
    }
    Ok(())
}

/// Header values must stay visible ASCII; anything else is percent-encoded.
pub(super) fn header_safe(v: &[u8]) -> String {
    if v.iter().all(|&b| (0x20..0x7f).contains(&b)) {
        String::from_utf8_lossy(v).into_owned()
    } else {
        select::percent_encode(v)
    }
}
