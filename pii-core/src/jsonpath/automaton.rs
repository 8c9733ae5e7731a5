//! The automaton of a query whose selectors depend only on the path from the root to a value
//! (RFC 9535 §2.3.1 names, §2.3.2 wildcards, §2.3.3 non-negative indexes; child and
//! descendant segments, §2.5): its state is the set of its segments matched so far, stepped
//! once per member name or array index on the way down. The one-pass evaluation
//! (`onepass.rs`) and the name checks (`checks.rs`) run it; `Automaton::of` builds it from the
//! syntax tree.

use super::syntax::{self, Query};

/// The automaton of one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Automaton {
    segs: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    /// `..`: the selectors apply to the children of the node and of all its descendants.
    descendant: bool,
    selectors: Vec<Pick>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pick {
    /// A member name, and its skeleton (`names::skeleton`) for the name checks.
    Name(String, String),
    Wildcard,
    Index(usize),
}

/// One step from a container to a child: the member name (decoded) or the array index.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step<'a> {
    Name(&'a str),
    Index(usize),
}

/// A state is a bit set of segments matched so far; bit `segs.len()` means "selected".
const MAX_SEGMENTS: usize = 63;

impl Pick {
    fn matches(&self, step: Step<'_>, fold: bool) -> bool {
        match (self, step) {
            (Pick::Wildcard, _) => true,
            (Pick::Name(n, skeleton), Step::Name(k)) => {
                if fold {
                    n == k || crate::names::skeleton_is(k, skeleton)
                } else {
                    n == k
                }
            }
            (Pick::Index(i), Step::Index(k)) => *i == k,
            _ => false,
        }
    }
}

impl Automaton {
    /// The automaton of `query`, when every selector of it depends only on the path
    /// ([`syntax::Selector::is_by_path`]) and it has at most 63 segments; `None` for anything
    /// else (filters, slices, negative indexes), which is evaluated on a document tree.
    pub(crate) fn of(query: &Query) -> Option<Automaton> {
        if query.segments.len() > MAX_SEGMENTS {
            return None;
        }
        let segs = query
            .segments
            .iter()
            .map(|s| {
                let selectors = s
                    .selectors
                    .iter()
                    .map(|selector| match selector {
                        syntax::Selector::Name(n) => {
                            Some(Pick::Name(n.clone(), crate::names::skeleton(n)))
                        }
                        syntax::Selector::Wildcard => Some(Pick::Wildcard),
                        syntax::Selector::Index(i) => usize::try_from(*i).ok().map(Pick::Index),
                        syntax::Selector::Slice { .. } | syntax::Selector::Filter(_) => None,
                    })
                    .collect::<Option<Vec<_>>>()?;
                Some(Segment {
                    descendant: s.descendant,
                    selectors,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Automaton { segs })
    }

    /// Whether a selector of the query is a member name.
    pub(crate) fn names_something(&self) -> bool {
        self.segs
            .iter()
            .any(|s| s.selectors.iter().any(|s| matches!(s, Pick::Name(..))))
    }

    /// The state at the root.
    pub(crate) fn start(&self) -> u64 {
        1
    }

    fn done_bit(&self) -> u64 {
        1u64 << self.segs.len()
    }

    /// Whether the value in this state is selected.
    pub(crate) fn accepts(&self, state: u64) -> bool {
        state & self.done_bit() != 0
    }

    /// Whether something below a value in this state can still be selected.
    pub(crate) fn live(&self, state: u64) -> bool {
        state & !self.done_bit() != 0
    }

    /// The state of a child. `fold` compares member names by their skeletons.
    pub(crate) fn step(&self, state: u64, step: Step<'_>, fold: bool) -> u64 {
        let mut next = 0;
        let mut pending = state & !self.done_bit();
        while pending != 0 {
            let i = pending.trailing_zeros() as usize;
            pending &= pending - 1;
            let Some(seg) = self.segs.get(i) else {
                continue;
            };
            if seg.descendant {
                next |= 1 << i;
            }
            if seg.selectors.iter().any(|s| s.matches(step, fold)) {
                next |= 1 << (i + 1);
            }
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::PathElement;
    use serde_json::Value;
    use serde_json_path::JsonPath;

    fn automaton(text: &str) -> Option<Automaton> {
        Automaton::of(&super::super::parse::parse(text).expect("valid JSONPath"))
    }

    #[test]
    fn built_for_queries_decided_on_the_path_only() {
        for ok in [
            "$",
            "$.a",
            "$.a.b[0]",
            "$['a']",
            "$[\"a\",'b']",
            "$.*",
            "$..a",
            "$..*",
            "$..[0,'x']",
            "$.items[*].card",
            "$.é",
            "$[\"it's\"]",
            "$[ 'a' ]",
            "$ .a",
            "$['a\\'b']",
        ] {
            assert!(automaton(ok).is_some(), "{ok}");
        }
        for no in ["$.a[-1]", "$.a[1:2]", "$[?@.a]", "$['a', 1:]"] {
            assert!(automaton(no).is_none(), "{no}");
        }
        let deep = format!("${}", ".a".repeat(64));
        assert!(automaton(&deep).is_none());
        assert!(automaton(&deep[..deep.len() - 2]).is_some());
    }

    /// Every value a query selects in `doc`, by walking the tree with the automaton.
    fn select_all(q: &Automaton, doc: &Value) -> Vec<String> {
        fn walk(
            q: &Automaton,
            v: &Value,
            state: u64,
            path: &mut Vec<PathElement>,
            out: &mut Vec<String>,
        ) {
            if q.accepts(state) {
                out.push(super::super::normalized::to_string(path));
            }
            match v {
                Value::Object(m) => {
                    for (k, c) in m {
                        path.push(PathElement::Name(k.clone()));
                        walk(q, c, q.step(state, Step::Name(k), false), path, out);
                        path.pop();
                    }
                }
                Value::Array(a) => {
                    for (i, c) in a.iter().enumerate() {
                        path.push(PathElement::Index(i));
                        walk(q, c, q.step(state, Step::Index(i), false), path, out);
                        path.pop();
                    }
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(q, doc, q.start(), &mut Vec::new(), &mut out);
        out.sort();
        out
    }

    /// On the RFC 9535 compliance suite: every valid query of the subset selects exactly the
    /// locations serde_json_path selects.
    #[test]
    fn agrees_with_serde_json_path_on_the_compliance_suite() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/jsonpath-cts/cts.json");
        let suite: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("cts.json")).expect("json");
        let mut compared = 0;
        for case in suite["tests"].as_array().expect("tests") {
            let (Some(selector), Some(doc)) = (case["selector"].as_str(), case.get("document"))
            else {
                continue;
            };
            let Ok(reference) = JsonPath::parse(selector) else {
                continue;
            };
            let Some(ours) = super::super::parse::parse(selector)
                .ok()
                .and_then(|q| Automaton::of(&q))
            else {
                continue;
            };
            let mut expected: Vec<String> = reference
                .query_located(doc)
                .locations()
                .map(|l| {
                    let segs: Vec<PathElement> = l
                        .iter()
                        .map(|e| match e {
                            serde_json_path::PathElement::Name(n) => {
                                PathElement::Name((*n).to_string())
                            }
                            serde_json_path::PathElement::Index(i) => PathElement::Index(*i),
                        })
                        .collect();
                    super::super::normalized::to_string(&segs)
                })
                .collect();
            expected.sort();
            expected.dedup();
            assert_eq!(
                select_all(&ours, doc),
                expected,
                "{}: {selector}",
                case["name"]
            );
            compared += 1;
        }
        assert!(compared >= 50, "only {compared} cases in the subset");
    }
}
