//! The name checks: member names an origin could read as a selected one
//! (`names::equivalent`: `E_Mail` for `email`) that no rule selects as written make a body
//! ambiguous, and it is refused. [`NameChecks::plan`] derives what to compare from the
//! queries' syntax trees; the one-pass evaluation runs the checks while it reads the body
//! (`onepass.rs`), [`ambiguous_in_tree`] on a document tree for the tree evaluation.

use super::automaton::{Automaton, Step};
use super::syntax::{Query, Root, Segment, Selector};

/// What JSON member names are compared with to find names an origin could read as selected
/// ones (`names::equivalent`) that the policy does not select as written.
#[derive(Debug, Clone, Default)]
pub(crate) struct NameChecks {
    /// The queries of the subset that name a member, stepped with names compared by skeleton:
    /// a value one of them reaches and no rule selects was reached through a name that is
    /// only equivalent to a selected one.
    pub(crate) probes: Vec<Automaton>,
    /// For queries outside the subset (filters, slices, negative indexes): subset queries that
    /// reach every value they can select (those selectors read as `[*]`) and every member a
    /// filter tests (`[?@.a.b ...]` gives `...[*].a.b`). A value one of them reaches with names
    /// compared by skeleton, but not with names compared exactly, was reached through an
    /// equivalent name.
    pub(crate) approx: Vec<Automaton>,
    /// Names that queries neither form can describe mention (a nested filter): a member
    /// anywhere whose name is equivalent to one of them but not the same is refused.
    pub(crate) loose: Vec<crate::names::Selected>,
}

impl NameChecks {
    /// The checks for a policy's JSON queries (`None` for its other rules).
    pub(crate) fn plan<'a>(queries: impl IntoIterator<Item = Option<&'a Query>>) -> NameChecks {
        let mut checks = NameChecks::default();
        for query in queries.into_iter().flatten() {
            match Automaton::of(query) {
                Some(automaton) if automaton.names_something() => checks.probes.push(automaton),
                Some(_) => {}
                None => match over_approximate(query) {
                    Some(automata) => checks.approx.extend(automata),
                    None => checks
                        .loose
                        .extend(query.names().iter().map(|n| crate::names::Selected::new(n))),
                },
            }
        }
        checks
    }
}

/// Automata that together reach every value `query` selects and every member its filters
/// test (see [`NameChecks::approx`]): each segment with a selector that does not depend on the
/// path alone reads as `*`, and each query a filter embeds relative to the filtered node
/// (`[?@.a.b ...]`) adds the path so far followed by that query. `None` when a filter embeds a
/// query with a filter of its own, or an automaton would be too long.
fn over_approximate(query: &Query) -> Option<Vec<Automaton>> {
    let mut main: Vec<Segment> = Vec::new();
    let mut extra: Vec<Query> = Vec::new();
    for segment in &query.segments {
        if segment.selectors.iter().all(Selector::is_by_path) {
            main.push(segment.clone());
            continue;
        }
        main.push(Segment {
            descendant: segment.descendant,
            selectors: vec![Selector::Wildcard],
        });
        for selector in &segment.selectors {
            let Selector::Filter(filter) = selector else {
                continue;
            };
            for (root, tested) in &filter.queries {
                let nested = tested
                    .segments
                    .iter()
                    .flat_map(|s| &s.selectors)
                    .any(|s| matches!(s, Selector::Filter(_)));
                if nested {
                    return None;
                }
                if *root == Root::Current && !tested.segments.is_empty() {
                    let mut path = main.clone();
                    path.extend(tested.segments.iter().map(wildcarded));
                    extra.push(Query { segments: path });
                }
            }
        }
    }
    let mut out = vec![Automaton::of(&Query { segments: main })?];
    for query in &extra {
        out.push(Automaton::of(query)?);
    }
    Some(out)
}

/// The segment with `*` for its selectors when one of them does not depend on the path alone.
fn wildcarded(segment: &Segment) -> Segment {
    if segment.selectors.iter().all(Selector::is_by_path) {
        segment.clone()
    } else {
        Segment {
            descendant: segment.descendant,
            selectors: vec![Selector::Wildcard],
        }
    }
}

/// The name checks of [`NameChecks`] on a document tree, for the tree evaluation in
/// `engine.rs`: whether a value no rule selects (`selected` says whether a node of `doc` is a
/// selected value) is reached by a probe, or a member has a name equivalent to one in `loose`
/// but not the same. Nothing inside a selected value is looked at: it is protected as a whole.
/// Gives the answer `select_rewrite` gives for the same policy when every query is in the
/// subset.
pub(crate) fn ambiguous_in_tree(
    checks: &NameChecks,
    doc: &serde_json::Value,
    selected: &dyn Fn(&serde_json::Value) -> bool,
) -> bool {
    use serde_json::Value;
    let np = checks.probes.len();
    let na = checks.approx.len();
    // States: the probes folded, the approximations folded, the approximations exact.
    let queries = |k: usize| -> (&Automaton, bool) {
        if k < np {
            (&checks.probes[k], true)
        } else if k < np + na {
            (&checks.approx[k - np], true)
        } else {
            (&checks.approx[k - np - na], false)
        }
    };
    let width = np + 2 * na;
    fn walk<'a>(
        checks: &'a NameChecks,
        v: &Value,
        states: &[u64],
        width: usize,
        queries: &dyn Fn(usize) -> (&'a Automaton, bool),
        selected: &dyn Fn(&Value) -> bool,
    ) -> bool {
        let (np, na) = (checks.probes.len(), checks.approx.len());
        let reached = checks.probes.iter().zip(states).any(|(q, &s)| q.accepts(s))
            || (0..na).any(|k| {
                let q = &checks.approx[k];
                q.accepts(states[np + k]) && !q.accepts(states[np + na + k])
            });
        let live = (0..width).any(|k| queries(k).0.live(states[k]));
        let container = matches!(v, Value::Object(_) | Value::Array(_));
        if !reached && (!container || (!live && checks.loose.is_empty())) {
            return false;
        }
        if selected(v) {
            return false;
        }
        if reached {
            return true;
        }
        let mut next = vec![0; width];
        let mut step_into = |c: &Value, step: Step<'_>| {
            for (k, slot) in next.iter_mut().enumerate() {
                let (q, fold) = queries(k);
                *slot = q.step(states[k], step, fold);
            }
            walk(checks, c, &next, width, queries, selected)
        };
        match v {
            Value::Object(members) => members.iter().any(|(k, c)| {
                checks
                    .loose
                    .iter()
                    .any(|n| n.name != *k && crate::names::skeleton_is(k, &n.skeleton))
                    || step_into(c, Step::Name(k))
            }),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .any(|(i, c)| step_into(c, Step::Index(i))),
            _ => false,
        }
    }
    let start: Vec<u64> = (0..width).map(|k| queries(k).0.start()).collect();
    walk(checks, doc, &start, width, &queries, selected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonpath::parse::parse;

    fn names(text: &str) -> Vec<String> {
        parse(text).expect("valid").names()
    }

    #[test]
    fn names_in_filter_paths() {
        assert_eq!(
            names("$.messages[?@.internal != true].body"),
            ["body", "internal", "messages"]
        );
        assert_eq!(names("$['a b'][?@[\"c\"] == 'x']"), ["a b", "c", "x"]);
        assert_eq!(names("$[?@.k == 'it\\'s']"), ["it's", "k"]);
    }

    #[test]
    fn paths_outside_the_subset_are_over_approximated() {
        let approx = |t: &str| over_approximate(&parse(t).expect("valid"));
        let automaton = |t: &str| Automaton::of(&parse(t).expect("valid")).expect("subset");
        assert_eq!(
            approx("$.messages[?@.internal != true].body"),
            Some(vec![
                automaton("$.messages[*].body"),
                automaton("$.messages[*].internal")
            ])
        );
        assert_eq!(approx("$.a[1:].b"), Some(vec![automaton("$.a[*].b")]));
        assert_eq!(approx("$..x[-1]"), Some(vec![automaton("$..x[*]")]));
        assert_eq!(
            approx("$..[?@.a]"),
            Some(vec![automaton("$..[*]"), automaton("$..[*].a")])
        );
        assert_eq!(approx("$.a[?@.b[?@.c]]"), None);
        assert_eq!(
            approx("$.items[?@.kind.type == 'card'].number"),
            Some(vec![
                automaton("$.items[*].number"),
                automaton("$.items[*].kind.type")
            ])
        );
        assert_eq!(
            approx("$.items[?@['kind'][-1] == 1]"),
            Some(vec![
                automaton("$.items[*]"),
                automaton("$.items[*]['kind'][*]")
            ])
        );
    }
}
