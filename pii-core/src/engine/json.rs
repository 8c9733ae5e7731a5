//! The JSON body's rules: the one-pass plan, and the tree fallback for what it cannot do.

use std::collections::HashMap;

use super::outcome::{failure, json_problem, rewrite_failure, FieldReport, RejectReason};
use crate::action::{self, Context, Failure, Input, Output};
use crate::json::{self, Edit, Seg};
use crate::jsonpath::onepass;
use crate::location::Location;
use crate::policy::{Action, Policy};
use crate::select::CompiledSelector;
use crate::spec::OnError;

/// What the plan says for one JSON target.
pub(super) enum Plan {
    Apply {
        location: Location,
    },
    Remove {
        failed: bool,
    },
    /// The request is rejected when the rewrite reaches this value: the first failure in
    /// document order is the one reported, as in the one-pass evaluation.
    Fail(RejectReason),
}

/// The JSON rules of `policy` on `body`; `members` gets the root object's members (name, and
/// the string for a string value) for the checks of [`json_shape`].
pub(super) fn protect_json(
    policy: &Policy,
    body: &[u8],
    ctx: &mut Context<'_>,
    fields: &mut Vec<FieldReport>,
    members: &mut Vec<(String, Option<String>)>,
) -> Result<Option<Vec<u8>>, RejectReason> {
    match &policy.onepass {
        Some(queries) => protect_json_onepass(policy, queries, body, ctx, fields, members),
        None => protect_json_tree(policy, body, ctx, fields, members),
    }
}

/// The JSON rules of `policy` in one pass over the body (every JSONPath is in the one-pass
/// subset). Gives the same answers as [`protect_json_tree`], including which problem wins
/// when there are several: invalid JSON, then an ambiguous name, then a rule's failure.
pub(super) fn protect_json_onepass(
    policy: &Policy,
    queries: &onepass::Queries,
    body: &[u8],
    ctx: &mut Context<'_>,
    fields: &mut Vec<FieldReport>,
    members: &mut Vec<(String, Option<String>)>,
) -> Result<Option<Vec<u8>>, RejectReason> {
    let limit = policy.max_depth;
    let mut failed: Option<RejectReason> = None;
    let mut reports = Vec::new();
    let pass = onepass::select_rewrite(body, limit, queries, |hit| {
        if failed.is_some() {
            // The body is still read to its end: invalid JSON later on wins.
            return Ok::<_, RejectReason>(Edit::Keep);
        }
        let Some(rule) = queries
            .rules
            .get(hit.query)
            .and_then(|&i| policy.rules.get(i))
        else {
            return Err(RejectReason::Internal);
        };
        let mut report = FieldReport::of(rule);
        let remove = if matches!(rule.action, Action::Redact { replace_with: None }) {
            Some(false)
        } else {
            match action::fits_json(&rule.action, action::kind_of(hit.raw)) {
                Ok(()) => None,
                Err(why) => match policy.spec.on_error {
                    OnError::Reject => {
                        failed = Some(failure(Failure::NotApplicable(why), rule));
                        return Ok(Edit::Keep);
                    }
                    OnError::Remove => Some(true),
                },
            }
        };
        let edit = match remove {
            Some(_) if hit.is_root() => {
                failed = Some(RejectReason::RemoveRoot {
                    rule: rule.label.clone(),
                });
                return Ok(Edit::Keep);
            }
            Some(why_failed) => {
                report.location = Location::Json(hit.path(false));
                report.original = report.location.clone();
                report.removed = true;
                report.failed = why_failed;
                Edit::Remove
            }
            None => {
                report.location = Location::Json(hit.path(true));
                report.original = Location::Json(hit.path(false));
                match action::apply(&rule.action, Input::Json(hit.raw), &report.location, ctx) {
                    Err(f) => {
                        failed = Some(failure(f, rule));
                        return Ok(Edit::Keep);
                    }
                    Ok(Output::Json(text)) => Edit::Replace(text),
                    Ok(Output::Remove) if !hit.is_root() => {
                        report.removed = true;
                        Edit::Remove
                    }
                    Ok(_) => return Err(RejectReason::Internal),
                }
            }
        };
        reports.push(report);
        Ok(edit)
    });
    let mut pass = pass.map_err(|e| rewrite_failure(e, limit))?;
    *members = std::mem::take(&mut pass.members);
    if pass.ambiguous {
        return Err(RejectReason::AmbiguousName);
    }
    if let Some(reason) = failed {
        return Err(reason);
    }
    if pass.hits == 0 {
        return Ok(None);
    }
    fields.extend(reports);
    Ok(Some(pass.out))
}

/// The JSON rules of `policy` evaluated by serde_json_path on a document tree, for policies
/// with a JSONPath outside the one-pass subset (filters, slices, negative indexes).
pub(super) fn protect_json_tree(
    policy: &Policy,
    body: &[u8],
    ctx: &mut Context<'_>,
    fields: &mut Vec<FieldReport>,
    members: &mut Vec<(String, Option<String>)>,
) -> Result<Option<Vec<u8>>, RejectReason> {
    let limit = policy.max_depth;
    let doc = json::parse_strict(body, limit).map_err(|p| json_problem(p, limit))?;

    // Every selected location, first rule wins.
    let mut targets: Vec<(Vec<Seg>, usize)> = Vec::new();
    let mut index: HashMap<Vec<Seg>, usize> = HashMap::new();
    let mut values = Vec::new();
    for (ri, rule) in policy.rules.iter().enumerate() {
        let CompiledSelector::Json(query) = &rule.selector else {
            continue;
        };
        for (segs, value) in query.locate(&doc) {
            if !index.contains_key(&segs) {
                index.insert(segs.clone(), targets.len());
                targets.push((segs, ri));
                values.push(value);
            }
        }
    }
    // The root's members, unless the root itself is protected as a whole (as the one-pass
    // evaluation, which does not enter a selected root).
    if let (Some(root), false) = (doc.as_object(), index.contains_key(&Vec::new())) {
        *members = root
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string)))
            .collect();
    }
    // A value inside another selected value is protected with it: the outer one wins.
    let keep: Vec<bool> = targets
        .iter()
        .map(|(segs, _)| !(0..segs.len()).any(|n| index.contains_key(&segs[..n])))
        .collect();
    // Selected nodes by identity (their addresses, sorted): the walk builds no paths.
    let mut selected: Vec<usize> = values
        .iter()
        .map(|v| std::ptr::from_ref::<serde_json::Value>(v) as usize)
        .collect();
    selected.sort_unstable();
    let is_selected = |v: &serde_json::Value| {
        selected
            .binary_search(&(std::ptr::from_ref(v) as usize))
            .is_ok()
    };
    if crate::jsonpath::checks::ambiguous_in_tree(&policy.json_names, &doc, &is_selected) {
        return Err(RejectReason::AmbiguousName);
    }
    if targets.is_empty() {
        return Ok(None);
    }

    // Plan removals first: array indexes after a removed element shift, and the location bound
    // into ciphertext must be where the value is in the protected body.
    let mut plans = Vec::with_capacity(targets.len());
    for (i, (segs, ri)) in targets.iter().enumerate() {
        let rule = &policy.rules[*ri];
        let plan = if !keep[i] {
            // Inside a value another rule protects as a whole: nothing to decide here.
            Plan::Remove { failed: false }
        } else if matches!(rule.action, Action::Redact { replace_with: None }) {
            if segs.is_empty() {
                Plan::Fail(RejectReason::RemoveRoot {
                    rule: rule.label.clone(),
                })
            } else {
                Plan::Remove { failed: false }
            }
        } else {
            match action::fits_json(&rule.action, action::kind_of_value(values[i])) {
                Ok(()) => Plan::Apply {
                    location: Location::Json(Vec::new()),
                },
                Err(why) => match policy.spec.on_error {
                    OnError::Reject => Plan::Fail(failure(Failure::NotApplicable(why), rule)),
                    OnError::Remove if !segs.is_empty() => Plan::Remove { failed: true },
                    OnError::Remove => Plan::Fail(RejectReason::RemoveRoot {
                        rule: rule.label.clone(),
                    }),
                },
            }
        };
        plans.push(plan);
    }
    let removed: Vec<&[Seg]> = targets
        .iter()
        .zip(&plans)
        .zip(&keep)
        .filter(|((_, p), k)| **k && matches!(p, Plan::Remove { .. }))
        .map(|(((s, _), _), _)| s.as_slice())
        .collect();
    for (i, plan) in plans.iter_mut().enumerate() {
        if let Plan::Apply { location } = plan {
            *location = Location::Json(shifted(&targets[i].0, &removed));
        }
    }

    let kept: Vec<usize> = (0..targets.len()).filter(|&i| keep[i]).collect();
    let paths: Vec<Vec<Seg>> = kept.iter().map(|&i| targets[i].0.clone()).collect();
    let mut reports: Vec<(usize, FieldReport)> = Vec::new();
    let rewritten = json::rewrite(body, &paths, limit, |k, raw| {
        let i = kept[k];
        let rule = &policy.rules[targets[i].1];
        let mut report = FieldReport::of(rule);
        let edit = match &plans[i] {
            Plan::Fail(reason) => return Err(reason.clone()),
            Plan::Remove { failed } => {
                report.location = Location::Json(targets[i].0.clone());
                report.original = report.location.clone();
                report.removed = true;
                report.failed = *failed;
                Edit::Remove
            }
            Plan::Apply { location } => {
                report.location = location.clone();
                report.original = Location::Json(targets[i].0.clone());
                match action::apply(&rule.action, Input::Json(raw), location, ctx)
                    .map_err(|f| failure(f, rule))?
                {
                    Output::Json(text) => Edit::Replace(text),
                    Output::Remove => {
                        report.removed = true;
                        Edit::Remove
                    }
                    Output::Text(_) => return Err(RejectReason::Internal),
                }
            }
        };
        reports.push((k, report));
        Ok(edit)
    });
    let rewritten = rewritten.map_err(|e| rewrite_failure(e, limit))?;
    fields.extend(reports.into_iter().map(|(_, r)| r));
    Ok(Some(rewritten))
}

/// The path of a value after the removals before it in the same arrays.
pub(super) fn shifted(path: &[Seg], removed: &[&[Seg]]) -> Vec<Seg> {
    let mut out = path.to_vec();
    for (k, seg) in path.iter().enumerate() {
        if let Seg::Index(n) = seg {
            let before = removed
                .iter()
                .filter(|r| {
                    r.len() == k + 1
                        && r[..k] == path[..k]
                        && matches!(r[k], Seg::Index(m) if m < *n)
                })
                .count();
            out[k] = Seg::Index(n - before);
        }
    }
    out
}
