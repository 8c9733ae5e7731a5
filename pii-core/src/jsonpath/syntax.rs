//! The syntax tree of a JSONPath query (RFC 9535 §2.1 to §2.5): a query is a root identifier
//! and segments (§2.5), a segment applies selectors (§2.3) to the children of a node (child
//! segment) or of the node and all its descendants (descendant segment, `..`).
//!
//! `parse.rs` builds it, once per selector of a policy; the one-pass plan (`onepass.rs`), the
//! name checks (`checks.rs`), the shadowing check (`select.rs`) and the parameter paths of
//! `params.rs` all read it. A filter's logic (§2.3.5.1) is kept in serde_json_path_core's
//! types, which evaluate it: [`Query::evaluator`] turns the whole tree into that crate's query
//! for evaluation on a document tree (`JsonQuery::locate`).

use serde_json_path_core::spec::integer::Integer;
use serde_json_path_core::spec::query::{Query as SpecQuery, QueryKind};
use serde_json_path_core::spec::segment::{QuerySegment, QuerySegmentKind, Segment as SpecSegment};
use serde_json_path_core::spec::selector::filter::{Filter as SpecFilter, LogicalOrExpr};
use serde_json_path_core::spec::selector::index::Index;
use serde_json_path_core::spec::selector::name::Name;
use serde_json_path_core::spec::selector::slice::Slice;
use serde_json_path_core::spec::selector::Selector as SpecSelector;

/// A query: `$` (or `@` inside a filter) followed by segments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Query {
    pub(crate) segments: Vec<Segment>,
}

/// A segment (§2.5): `.name`, `.*`, `[selectors]`, or the descendant forms `..name`, `..*`,
/// `..[selectors]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    /// A descendant segment (§2.5.2): the selectors apply to the node and every descendant.
    pub(crate) descendant: bool,
    pub(crate) selectors: Vec<Selector>,
}

/// A selector (§2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selector {
    /// A member name (§2.3.1), decoded (`['a\'b']` is `a'b`).
    Name(String),
    /// `*` (§2.3.2).
    Wildcard,
    /// An array index (§2.3.3); a negative one counts from the end.
    Index(i64),
    /// An array slice (§2.3.4) `start:end:step`.
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        step: Option<i64>,
    },
    /// A filter (§2.3.5).
    Filter(Filter),
}

/// A filter expression: what it mentions, for the readers of the tree, and its logic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    /// The queries it embeds (§2.3.5.1): relative to the filtered node (`@.a.b`) or absolute
    /// (`$.config.x`), in order.
    pub(crate) queries: Vec<(Root, Query)>,
    /// Its string literals, decoded.
    pub(crate) literals: Vec<String>,
    /// The logical expression, well-typed (§2.4.3), as serde_json_path_core evaluates it.
    pub(crate) logic: LogicalOrExpr,
}

/// The identifier an embedded query starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Root {
    /// `$`, the document.
    Document,
    /// `@`, the node the filter tests.
    Current,
}

impl Selector {
    /// A selector whose answer depends only on a child's name or index, never on the length
    /// or the contents of its container: a name, `*` or a non-negative index.
    pub(crate) fn is_by_path(&self) -> bool {
        matches!(
            self,
            Selector::Name(_) | Selector::Wildcard | Selector::Index(0..)
        )
    }
}

impl Query {
    /// The query for serde_json_path_core's evaluation on a document tree, starting at `root`.
    pub(crate) fn evaluator(&self, root: Root) -> SpecQuery {
        let int = |i: &Option<i64>| i.map(Integer::from_i64_unchecked);
        let selector = |s: &Selector| match s {
            Selector::Name(n) => SpecSelector::Name(Name(n.clone())),
            Selector::Wildcard => SpecSelector::Wildcard,
            Selector::Index(i) => SpecSelector::Index(Index(Integer::from_i64_unchecked(*i))),
            Selector::Slice { start, end, step } => SpecSelector::ArraySlice(Slice {
                start: int(start),
                end: int(end),
                step: int(step),
            }),
            Selector::Filter(f) => SpecSelector::Filter(SpecFilter(f.logic.clone())),
        };
        SpecQuery {
            kind: match root {
                Root::Document => QueryKind::Root,
                Root::Current => QueryKind::Current,
            },
            segments: self
                .segments
                .iter()
                .map(|s| QuerySegment {
                    kind: if s.descendant {
                        QuerySegmentKind::Descendant
                    } else {
                        QuerySegmentKind::Child
                    },
                    // One name or `*` in the shorthand's form, as serde_json_path's parser
                    // builds `.a` and `.*` (the same selection, one step less per node).
                    segment: match s.selectors.as_slice() {
                        [Selector::Name(n)] => SpecSegment::DotName(n.clone()),
                        [Selector::Wildcard] => SpecSegment::Wildcard,
                        all => SpecSegment::LongHand(all.iter().map(selector).collect()),
                    },
                })
                .collect(),
        }
    }

    /// The elements of the one location this query can select, when it selects at most one
    /// (`$.a['b'][2]`: child segments of one name or non-negative index each).
    pub(crate) fn singular(&self) -> Option<Vec<crate::json::PathElement>> {
        use crate::json::PathElement;
        self.segments
            .iter()
            .map(|s| match (s.descendant, s.selectors.as_slice()) {
                (false, [Selector::Name(n)]) => Some(PathElement::Name(n.clone())),
                (false, [Selector::Index(i)]) => usize::try_from(*i).ok().map(PathElement::Index),
                _ => None,
            })
            .collect()
    }

    /// Every member name the query mentions anywhere: its name selectors, those of the queries
    /// its filters embed, and its filters' string literals (a superset is what the name checks
    /// need). Sorted, without repetitions.
    pub(crate) fn names(&self) -> Vec<String> {
        fn walk(q: &Query, out: &mut Vec<String>) {
            for selector in q.segments.iter().flat_map(|s| &s.selectors) {
                match selector {
                    Selector::Name(n) => out.push(n.clone()),
                    Selector::Filter(f) => {
                        out.extend(f.literals.iter().cloned());
                        for (_, q) in &f.queries {
                            walk(q, out);
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out.sort();
        out.dedup();
        out
    }
}
