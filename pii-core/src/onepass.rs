//! Selecting and rewriting a JSON body in one pass, without building a document tree.
//!
//! Most policies select with plain JSONPath: member names, array indexes, wildcards and
//! descendants (`$.user.email`, `$.items[*].card`, `$..iban`). Whether such a query selects a
//! value depends only on the path from the root to it, so it can be decided while the body is
//! read: each query is a small automaton whose state is the set of its segments matched so
//! far. The pass validates every byte (like `json::parse_strict`), descends only into the
//! containers a query can still select something in, skips the rest with the validating
//! scanner, hands each selected value's raw bytes to the caller and splices the answer into
//! the output. Nothing is allocated per value that is not selected.
//!
//! Queries outside this subset (filters, slices, negative indexes, which need a container's
//! length or its contents) are evaluated by serde_json_path on a `serde_json::Value` instead:
//! see `engine.rs`. The two paths give the same answers (a property test in `engine.rs`
//! compares them), and on the subset the automaton selects exactly what serde_json_path
//! selects (tested on the RFC 9535 compliance suite below).

use crate::json::{
    self, skip_container, unescape_into, Edit, Entries, JsonProblem, Lexer, Out, RewriteError,
    Span, Tok,
};
use crate::location::{Location, PathElement};

/// A JSONPath query of the subset that can be decided on the path alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Query {
    segs: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    /// `..`: the selectors apply to the children of the node and of all its descendants.
    descendant: bool,
    selectors: Vec<Selector>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Selector {
    Name(String),
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

impl Selector {
    fn matches(&self, step: Step<'_>, fold_case: bool) -> bool {
        match (self, step) {
            (Selector::Wildcard, _) => true,
            (Selector::Name(n), Step::Name(k)) => {
                if fold_case {
                    n.eq_ignore_ascii_case(k)
                } else {
                    n == k
                }
            }
            (Selector::Index(i), Step::Index(k)) => *i == k,
            _ => false,
        }
    }
}

impl Queries {
    /// The queries of a policy's rules (their selectors, in rule order) when every JSON
    /// selector among them is in the subset.
    pub(crate) fn plan<'a>(
        selectors: impl IntoIterator<Item = &'a crate::select::CompiledSelector>,
    ) -> Option<Queries> {
        let mut queries = Queries {
            select: Vec::new(),
            rules: Vec::new(),
            probes: Vec::new(),
            variants: Vec::new(),
        };
        for (index, selector) in selectors.into_iter().enumerate() {
            let crate::select::CompiledSelector::Json {
                text,
                singular,
                descendant,
                ..
            } = selector
            else {
                continue;
            };
            let query = Query::parse(text)?;
            if singular.is_some() {
                queries.probes.push((queries.select.len(), query.clone()));
            }
            if let Some(name) = descendant {
                queries.variants.push(name.clone());
            }
            queries.select.push(query);
            queries.rules.push(index);
        }
        Some(queries)
    }
}

impl Query {
    /// The query when `text` (already accepted by serde_json_path) is in the subset; `None`
    /// for anything else, which is then evaluated on a document tree. Deliberately narrow:
    /// whitespace, escapes in names, slices, filters and negative indexes all say `None`.
    pub(crate) fn parse(text: &str) -> Option<Query> {
        let b = text.as_bytes();
        if b.first() != Some(&b'$') {
            return None;
        }
        let mut i = 1;
        let mut segs = Vec::new();
        while i < b.len() {
            let (descendant, selectors, next) = match (b.get(i), b.get(i + 1)) {
                (Some(b'.'), Some(b'.')) if b.get(i + 2) == Some(&b'[') => {
                    let (s, n) = bracket(text, i + 2)?;
                    (true, s, n)
                }
                (Some(b'.'), Some(b'.')) => {
                    let (s, n) = member(text, i + 2)?;
                    (true, s, n)
                }
                (Some(b'.'), _) => {
                    let (s, n) = member(text, i + 1)?;
                    (false, s, n)
                }
                (Some(b'['), _) => {
                    let (s, n) = bracket(text, i)?;
                    (false, s, n)
                }
                _ => return None,
            };
            segs.push(Segment {
                descendant,
                selectors,
            });
            i = next;
        }
        (segs.len() <= MAX_SEGMENTS).then_some(Query { segs })
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

    /// The state of a child. `fold_case` compares member names ignoring ASCII case.
    pub(crate) fn step(&self, state: u64, step: Step<'_>, fold_case: bool) -> u64 {
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
            if seg.selectors.iter().any(|s| s.matches(step, fold_case)) {
                next |= 1 << (i + 1);
            }
        }
        next
    }
}

/// `.name` or `.*` starting after the dot; returns the selector and the offset after it.
fn member(text: &str, i: usize) -> Option<(Vec<Selector>, usize)> {
    let rest = text.get(i..)?;
    if rest.starts_with('*') {
        return Some((vec![Selector::Wildcard], i + 1));
    }
    let end = rest.find(['.', '[']).unwrap_or(rest.len());
    let name = &rest[..end];
    let mut chars = name.chars();
    let first = chars.next()?;
    let name_first = |c: char| c.is_ascii_alphabetic() || c == '_' || !c.is_ascii();
    if !name_first(first) || !chars.all(|c| name_first(c) || c.is_ascii_digit()) {
        return None;
    }
    Some((vec![Selector::Name(name.to_string())], i + end))
}

/// `[sel, sel, ...]` starting at the `[`, without whitespace; selectors are quoted names
/// without escapes, non-negative indexes and `*`.
fn bracket(text: &str, mut i: usize) -> Option<(Vec<Selector>, usize)> {
    let b = text.as_bytes();
    i += 1;
    let mut selectors = Vec::new();
    loop {
        match b.get(i)? {
            b'*' => {
                selectors.push(Selector::Wildcard);
                i += 1;
            }
            &q @ (b'\'' | b'"') => {
                let len = b.get(i + 1..)?.iter().position(|&c| c == q)?;
                let name = text.get(i + 1..i + 1 + len)?;
                if name.contains('\\') {
                    return None;
                }
                selectors.push(Selector::Name(name.to_string()));
                i += len + 2;
            }
            b'0'..=b'9' => {
                let len = b
                    .get(i..)?
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .count();
                let digits = text.get(i..i + len)?;
                if len > 1 && digits.starts_with('0') {
                    return None;
                }
                selectors.push(Selector::Index(digits.parse().ok()?));
                i += len;
            }
            _ => return None,
        }
        match b.get(i)? {
            b',' => i += 1,
            b']' => return Some((selectors, i + 1)),
            _ => return None,
        }
    }
}

/// The queries of one policy's JSON rules, and what makes a body ambiguous for them.
#[derive(Debug, Clone)]
pub(crate) struct Queries {
    /// One per JSON rule, in rule order; the first that selects a value wins.
    pub(crate) select: Vec<Query>,
    /// The index in the policy's rules of each query in `select`.
    pub(crate) rules: Vec<usize>,
    /// For plain paths (`$.user.email`): (index in `select`, the same query compared ignoring
    /// case). A value this reaches and its own query does not is a case variant of it.
    pub(crate) probes: Vec<(usize, Query)>,
    /// Names of `$..name` rules: a member named so in another case is ambiguous.
    pub(crate) variants: Vec<String>,
}

/// One selected value, as the edit callback sees it.
pub(crate) struct Hit<'p> {
    /// Index of the query (in `Queries::select`) that selected it.
    pub(crate) query: usize,
    /// The value's exact bytes.
    pub(crate) raw: &'p [u8],
    levels: &'p [Level],
    text: &'p str,
}

impl Hit<'_> {
    /// Whether the value is the whole body.
    pub(crate) fn is_root(&self) -> bool {
        self.levels.is_empty()
    }

    /// The RFC 9535 normalized path of the value: in the output (array indexes counted after
    /// the elements removed before it) or in the input.
    pub(crate) fn location(&self, in_output: bool) -> Location {
        let mut path = Vec::with_capacity(self.levels.len());
        let mut scratch = String::new();
        for level in self.levels {
            match level.key {
                Some(span) => {
                    let name = name_of(self.text, span, &mut scratch).unwrap_or_default();
                    path.push(PathElement::Name(name.to_owned()));
                }
                None => {
                    let e = &level.entries;
                    path.push(PathElement::Index(if in_output {
                        e.count - e.removed
                    } else {
                        e.count
                    }));
                }
            }
        }
        Location::Json(path)
    }
}

/// What the pass found.
pub(crate) struct Pass {
    /// The rewritten body.
    pub(crate) out: Vec<u8>,
    /// Values selected (and handed to the callback).
    pub(crate) hits: usize,
    /// A member name differs only in case from a selected one, or from a plain path's name.
    pub(crate) ambiguous: bool,
}

/// An open container the pass descended into.
struct Level {
    entries: Entries,
    /// Objects: the current member's name; `None` for arrays.
    key: Option<Span>,
    obj: bool,
    /// Objects: decoded names of the members selected so far.
    selected: Vec<String>,
}

fn name_of<'t>(text: &'t str, span: Span, scratch: &'t mut String) -> Result<&'t str, JsonProblem> {
    let (s, e) = span.inner();
    if span.esc {
        scratch.clear();
        unescape_into(text, s, e, scratch)?;
        Ok(scratch.as_str())
    } else {
        text.get(s..e).ok_or(json::internal(s))
    }
}

fn folds_to(a: &str, b: &str) -> bool {
    a != b && a.eq_ignore_ascii_case(b)
}

/// One pass over `bytes`: every value some query selects (the outermost, first query in order)
/// is handed to `edit` in document order, and its answer spliced in like `json::rewrite` does;
/// everything else is copied through byte for byte. The input is validated exactly like
/// `json::parse_strict` validates it.
pub(crate) fn select_rewrite<E>(
    bytes: &[u8],
    max_depth: usize,
    queries: &Queries,
    mut edit: impl FnMut(&Hit<'_>) -> Result<Edit, E>,
) -> Result<Pass, RewriteError<E>> {
    let mut lx = Lexer::new(bytes, max_depth, true)?;
    let text = lx.text;
    let nsel = queries.select.len();
    let width = nsel + queries.probes.len();
    // The states of every open level, `width` per level.
    let mut states: Vec<u64> = Vec::with_capacity(width * 8);
    let mut next: Vec<u64> = vec![0; width];
    let mut levels: Vec<Level> = Vec::new();
    let mut out = Out::new(bytes);
    let mut scratch = String::new();
    let mut pass = Pass {
        out: Vec::new(),
        hits: 0,
        ambiguous: false,
    };
    let mut entry_start = 0usize;
    loop {
        let tok = lx.next()?;
        let start = match tok {
            Tok::Eof => break,
            Tok::Key(span) => {
                entry_start = span.start;
                let Some(level) = levels.last_mut() else {
                    return Err(json::internal(span.start).into());
                };
                level.key = Some(span);
                if !level.selected.is_empty() || !queries.variants.is_empty() {
                    let name = name_of(text, span, &mut scratch)?;
                    if level.selected.iter().any(|s| folds_to(s, name))
                        || queries.variants.iter().any(|v| folds_to(v, name))
                    {
                        pass.ambiguous = true;
                    }
                }
                continue;
            }
            Tok::End(end) => {
                let Some(level) = levels.pop() else {
                    return Err(json::internal(end).into());
                };
                states.truncate(levels.len() * width);
                level.entries.end_container(
                    &mut out,
                    levels.last_mut().map(|p| &mut p.entries),
                    end,
                );
                continue;
            }
            Tok::Obj(s) | Tok::Arr(s) | Tok::Num(s, _) | Tok::Lit { start: s, .. } => s,
            Tok::Str(span) => span.start,
        };

        // A value starts: the states of the queries at it.
        match levels.last() {
            None => {
                for (k, q) in queries.select.iter().enumerate() {
                    next[k] = q.start();
                }
                for (k, (_, q)) in queries.probes.iter().enumerate() {
                    next[nsel + k] = q.start();
                }
            }
            Some(level) => {
                let step = match level.key {
                    Some(span) if level.obj => Step::Name(name_of(text, span, &mut scratch)?),
                    _ => {
                        entry_start = start;
                        Step::Index(level.entries.count)
                    }
                };
                let from = states
                    .get(states.len() - width..)
                    .ok_or(json::internal(start))?;
                for (k, q) in queries.select.iter().enumerate() {
                    next[k] = q.step(from[k], step, false);
                }
                for (k, (_, q)) in queries.probes.iter().enumerate() {
                    next[nsel + k] = q.step(from[nsel + k], step, true);
                }
            }
        }
        for (k, (sel, q)) in queries.probes.iter().enumerate() {
            if q.accepts(next[nsel + k]) && !queries.select[*sel].accepts(next[*sel]) {
                pass.ambiguous = true;
            }
        }
        let hit = queries
            .select
            .iter()
            .zip(&next)
            .position(|(q, &s)| q.accepts(s));
        let container = matches!(tok, Tok::Obj(_) | Tok::Arr(_));

        if let Some(query) = hit {
            // A member selected: is there another member of this object with the same name
            // in another case (before it, or later: `selected` is checked on each name)?
            if let Some(level) = levels.last_mut() {
                if let (true, Some(span)) = (level.obj, level.key) {
                    let name = name_of(text, span, &mut scratch)?;
                    if lx.any_earlier_name(tok, |n| {
                        n != name.as_bytes() && n.eq_ignore_ascii_case(name.as_bytes())
                    }) {
                        pass.ambiguous = true;
                    }
                    level.selected.push(name.to_string());
                }
            }
            let end = match tok.scalar_span() {
                Some((_, end)) => end,
                None => skip_container(&mut lx)?,
            };
            let raw = bytes.get(start..end).ok_or(json::internal(start))?;
            pass.hits += 1;
            let answer = edit(&Hit {
                query,
                raw,
                levels: &levels,
                text,
            })
            .map_err(RewriteError::Edit)?;
            match answer {
                Edit::Keep | Edit::Replace(_) => {
                    if let Some(parent) = levels.last_mut() {
                        parent.entries.keep(&mut out, entry_start, end);
                    }
                    if let Edit::Replace(new) = answer {
                        out.replace(start, end, &new);
                    }
                }
                Edit::Remove => {
                    let Some(parent) = levels.last_mut() else {
                        return Err(RewriteError::RemoveRoot);
                    };
                    parent.entries.remove(entry_start, end);
                }
            }
        } else if container
            && (queries.select.iter().zip(&next).any(|(q, &s)| q.live(s))
                || queries
                    .probes
                    .iter()
                    .zip(&next[nsel..])
                    .any(|((_, q), &s)| q.live(s)))
        {
            if let Some(parent) = levels.last_mut() {
                parent.entries.begin_kept(&mut out, entry_start);
            }
            states.extend_from_slice(&next);
            let obj = matches!(tok, Tok::Obj(_));
            levels.push(Level {
                entries: Entries::default(),
                key: None,
                obj,
                selected: Vec::new(),
            });
        } else {
            let end = match tok.scalar_span() {
                Some((_, end)) => end,
                None => skip_container(&mut lx)?,
            };
            if let Some(parent) = levels.last_mut() {
                parent.entries.keep(&mut out, entry_start, end);
            }
        }
    }
    pass.out = out.finish();
    Ok(pass)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use serde_json_path::JsonPath;

    #[test]
    fn parses_the_subset_only() {
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
        ] {
            assert!(Query::parse(ok).is_some(), "{ok}");
        }
        for no in [
            "$.a[-1]",
            "$.a[1:2]",
            "$[?@.a]",
            "$[ 'a' ]",
            "$ .a",
            "$['a\\'b']",
            "$[01]",
            "@.a",
            "$.a b",
        ] {
            assert!(Query::parse(no).is_none(), "{no}");
        }
    }

    fn queries(paths: &[&str]) -> Queries {
        Queries {
            select: paths
                .iter()
                .map(|p| Query::parse(p).expect("subset"))
                .collect(),
            rules: (0..paths.len()).collect(),
            probes: Vec::new(),
            variants: Vec::new(),
        }
    }

    fn run(body: &str, paths: &[&str]) -> Result<(String, Vec<String>), RewriteError<()>> {
        let mut seen = Vec::new();
        let pass = select_rewrite(body.as_bytes(), 8, &queries(paths), |hit| {
            seen.push(format!(
                "{} {}",
                hit.location(false).to_string().trim_start_matches("json:"),
                String::from_utf8_lossy(hit.raw)
            ));
            Ok(Edit::Replace(b"\"X\"".to_vec()))
        })?;
        Ok((String::from_utf8(pass.out).expect("utf-8"), seen))
    }

    #[test]
    fn skipped_parts_are_still_validated() {
        // Nothing selects inside `b`, but its duplicate name, depth and syntax still count.
        for (body, problem) in [
            (r#"{"a": 1, "b": {"x": 1, "x": 2}}"#, "duplicate"),
            (r#"{"a": 1, "b": [[[[[[[[[1]]]]]]]]]}"#, "nested deeper"),
            (r#"{"a": 1, "b": [1, 2,]}"#, "invalid JSON"),
            (r#"{"a": 1, "b": "\ud800"}"#, "invalid JSON"),
            (r#"{"a": 1, "b": 1e400}"#, "out of range"),
        ] {
            match run(body, &["$.a"]) {
                Err(RewriteError::Json(p)) => {
                    assert!(p.to_string().contains(problem), "{body}: {p}")
                }
                other => panic!("{body}: {:?}", other.map(|o| o.0)),
            }
        }
    }

    #[test]
    fn copies_everything_it_does_not_select() {
        let body = "{ \"k\" : [ 1.50 , {\"a\":\"x\"} ],\n \"a\":\"\\u0041\" , \"z\": null }";
        let (out, seen) = run(body, &["$..a"]).expect("valid");
        assert_eq!(
            out,
            "{ \"k\" : [ 1.50 , {\"a\":\"X\"} ],\n \"a\":\"X\" , \"z\": null }"
        );
        assert_eq!(seen, ["$['k'][1]['a'] \"x\"", "$['a'] \"\\u0041\""]);
    }

    #[test]
    fn selects_escaped_names_by_their_decoded_text() {
        let (out, seen) = run(r#"{"e\u006dail": "x"}"#, &["$.email"]).expect("valid");
        assert_eq!(out, r#"{"e\u006dail": "X"}"#);
        assert_eq!(seen, [r#"$['email'] "x""#]);
    }

    /// Every value a query selects in `doc`, by walking the tree with the automaton.
    fn select_all(q: &Query, doc: &Value) -> Vec<String> {
        fn walk(
            q: &Query,
            v: &Value,
            state: u64,
            path: &mut Vec<json::Seg>,
            out: &mut Vec<String>,
        ) {
            if q.accepts(state) {
                out.push(json::normalized(path));
            }
            match v {
                Value::Object(m) => {
                    for (k, c) in m {
                        path.push(json::Seg::Name(k.clone()));
                        walk(q, c, q.step(state, Step::Name(k), false), path, out);
                        path.pop();
                    }
                }
                Value::Array(a) => {
                    for (i, c) in a.iter().enumerate() {
                        path.push(json::Seg::Index(i));
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
            let Some(ours) = Query::parse(selector) else {
                continue;
            };
            let mut expected: Vec<String> = reference
                .query_located(doc)
                .locations()
                .map(|l| {
                    let segs: Vec<json::Seg> = l
                        .iter()
                        .map(|e| match e {
                            serde_json_path::PathElement::Name(n) => {
                                json::Seg::Name((*n).to_string())
                            }
                            serde_json_path::PathElement::Index(i) => json::Seg::Index(*i),
                        })
                        .collect();
                    json::normalized(&segs)
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
