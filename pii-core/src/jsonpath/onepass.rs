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

use crate::json::PathElement;
use crate::json::{
    self, skip_container, unescape_into, Edit, Entries, JsonProblem, Lexer, Out, RewriteError,
    Span, Tok,
};

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

impl Selector {
    fn matches(&self, step: Step<'_>, fold: bool) -> bool {
        match (self, step) {
            (Selector::Wildcard, _) => true,
            (Selector::Name(n, skeleton), Step::Name(k)) => {
                if fold {
                    n == k || crate::names::skeleton_is(k, skeleton)
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
        selectors: impl IntoIterator<Item = Option<&'a str>>,
    ) -> Option<Queries> {
        let mut queries = Queries {
            select: Vec::new(),
            rules: Vec::new(),
            probes: Vec::new(),
        };
        for (index, selector) in selectors.into_iter().enumerate() {
            let Some(text) = selector else {
                continue;
            };
            let query = Query::parse(text)?;
            if query.names_something() {
                queries.probes.push(query.clone());
            }
            queries.select.push(query);
            queries.rules.push(index);
        }
        Some(queries)
    }
}

/// What JSON member names are compared with to find names an origin could read as selected
/// ones (`names::equivalent`) that the policy does not select as written.
#[derive(Debug, Clone, Default)]
pub(crate) struct NameChecks {
    /// The queries of the subset that name a member, stepped with names compared by skeleton:
    /// a value one of them reaches and no rule selects was reached through a name that is
    /// only equivalent to a selected one.
    pub(crate) probes: Vec<Query>,
    /// For queries outside the subset (filters, slices, negative indexes): subset queries that
    /// reach every value they can select (those selectors read as `[*]`) and every member a
    /// filter tests (`[?@.a.b ...]` gives `...[*].a.b`). A value one of them reaches with names
    /// compared by skeleton, but not with names compared exactly, was reached through an
    /// equivalent name.
    pub(crate) approx: Vec<Query>,
    /// Names that queries neither form can describe mention (a nested filter): a member
    /// anywhere whose name is equivalent to one of them but not the same is refused.
    pub(crate) loose: Vec<crate::names::Selected>,
}

impl NameChecks {
    pub(crate) fn plan<'a>(selectors: impl IntoIterator<Item = Option<&'a str>>) -> NameChecks {
        let mut checks = NameChecks::default();
        for selector in selectors {
            let Some(text) = selector else {
                continue;
            };
            match Query::parse(text) {
                Some(query) if query.names_something() => checks.probes.push(query),
                Some(_) => {}
                None => match over_approximate(text) {
                    Some(queries) => checks.approx.extend(queries),
                    None => checks.loose.extend(
                        path_names(text)
                            .iter()
                            .map(|n| crate::names::Selected::new(n)),
                    ),
                },
            }
        }
        checks
    }
}

/// Member names a JSONPath mentions anywhere (`.name` and quoted strings, filters included),
/// for queries that cannot be decided on the path alone. Quoted comparison literals are
/// included too: a superset is what the name checks need.
pub(crate) fn path_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '.' => {
                let start = i + 1;
                let mut end = start;
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_alphanumeric() || d == '_' || !d.is_ascii() {
                        end = j + d.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                if end > start {
                    names.push(text[start..end].to_string());
                }
            }
            '\'' | '"' => {
                let mut raw = String::new();
                while let Some((_, d)) = chars.next() {
                    match d {
                        '\\' => {
                            if let Some((_, e)) = chars.next() {
                                raw.push('\\');
                                raw.push(e);
                            }
                        }
                        d if d == c => break,
                        d => raw.push(d),
                    }
                }
                let quoted = format!("\"{}\"", raw.replace("\\'", "'").replace('"', "\\\""));
                names.push(serde_json::from_str(&quoted).unwrap_or(raw));
            }
            _ => {}
        }
    }
    names.sort();
    names.dedup();
    names
}

/// The end of the bracket that starts at `start` (a `[`): the index after its `]`, skipping
/// quoted strings and nested brackets.
fn bracket_end(b: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Subset queries that together reach every value `text` selects and every member its
/// filters test (see [`NameChecks::approx`]); `None` when the text is beyond this reading
/// (a filter inside a filter, escapes in a filtered name).
fn over_approximate(text: &str) -> Option<Vec<Query>> {
    let b = text.as_bytes();
    let mut main = String::from("$");
    let mut extra = Vec::new();
    let mut i = 1;
    while i < b.len() {
        if b[i] == b'.' {
            let start = i;
            i += if b.get(i + 1) == Some(&b'.') { 2 } else { 1 };
            if b.get(i) == Some(&b'[') {
                continue;
            }
            while i < b.len() && b[i] != b'.' && b[i] != b'[' {
                i += 1;
            }
            main.push_str(text.get(start..i)?);
        } else if b[i] == b'[' {
            let end = bracket_end(b, i)?;
            let seg = text.get(i..end)?;
            if bracket(text, i).is_some_and(|(_, next)| next == end) {
                main.push_str(seg);
            } else {
                main.push_str("[*]");
                let inner = seg.get(1..seg.len() - 1)?.trim_start();
                if let Some(filter) = inner.strip_prefix('?') {
                    if filter.contains('[') && filter.contains('?') {
                        return None;
                    }
                    // Every `@.a.b` the filter tests, relative to the filtered element.
                    let fb = filter.as_bytes();
                    for (at, _) in filter.match_indices('@') {
                        let mut j = at + 1;
                        let mut rel = String::new();
                        while j < fb.len() && fb[j] == b'.' {
                            let k = j + 1;
                            let mut e = k;
                            while e < fb.len()
                                && (fb[e].is_ascii_alphanumeric() || fb[e] == b'_' || fb[e] >= 0x80)
                            {
                                e += 1;
                            }
                            if e == k {
                                break;
                            }
                            rel.push_str(filter.get(j..e)?);
                            j = e;
                        }
                        if !rel.is_empty() {
                            extra.push(format!("{main}{rel}"));
                        }
                    }
                }
            }
            i = end;
        } else {
            return None;
        }
    }
    let mut out = vec![Query::parse(&main)?];
    for e in extra {
        out.push(Query::parse(&e)?);
    }
    Some(out)
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

    /// Whether a selector of the query is a member name.
    fn names_something(&self) -> bool {
        self.segs
            .iter()
            .any(|s| s.selectors.iter().any(|s| matches!(s, Selector::Name(..))))
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
    Some((
        vec![Selector::Name(
            name.to_string(),
            crate::names::skeleton(name),
        )],
        i + end,
    ))
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
                selectors.push(Selector::Name(
                    name.to_string(),
                    crate::names::skeleton(name),
                ));
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
    /// The queries that name a member, stepped with names compared by skeleton
    /// (`NameChecks::probes`): a value one of them reaches and no query in `select` selects
    /// was reached through an equivalent name, not the selected one.
    pub(crate) probes: Vec<Query>,
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

    /// The elements of the value's RFC 9535 normalized path: in the output (array indexes
    /// counted after the elements removed before it) or in the input.
    pub(crate) fn path(&self, in_output: bool) -> Vec<PathElement> {
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
        path
    }
}

/// What the pass found.
pub(crate) struct Pass {
    /// The rewritten body.
    pub(crate) out: Vec<u8>,
    /// Values selected (and handed to the callback).
    pub(crate) hits: usize,
    /// A value is reached through a member name equivalent to a selected one
    /// (`names::equivalent`) but not selected as written.
    pub(crate) ambiguous: bool,
    /// The root object's members, in order: each name (decoded) and, for a string value, the
    /// string (decoded), for the checks of `params.rs` that read the top level.
    pub(crate) members: Vec<(String, Option<String>)>,
}

/// An open container the pass descended into.
struct Level {
    entries: Entries,
    /// Objects: the current member's name; `None` for arrays.
    key: Option<Span>,
    obj: bool,
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
        members: Vec::new(),
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
                for (k, q) in queries.probes.iter().enumerate() {
                    next[nsel + k] = q.start();
                }
            }
            Some(level) => {
                if levels.len() == 1 && level.obj {
                    if let Some(span) = level.key {
                        let name = name_of(text, span, &mut scratch)?.to_string();
                        let value = match tok {
                            Tok::Str(v) => {
                                let (s, e) = v.inner();
                                let mut out = String::new();
                                if v.esc {
                                    unescape_into(text, s, e, &mut out)?;
                                } else {
                                    out.push_str(text.get(s..e).unwrap_or_default());
                                }
                                Some(out)
                            }
                            _ => None,
                        };
                        pass.members.push((name, value));
                    }
                }
                let from = states
                    .get(states.len() - width..)
                    .ok_or(json::internal(start))?;
                let step = match level.key {
                    Some(span) if level.obj => Step::Name(name_of(text, span, &mut scratch)?),
                    _ => {
                        entry_start = start;
                        Step::Index(level.entries.count)
                    }
                };
                for (k, q) in queries.select.iter().enumerate() {
                    next[k] = q.step(from[k], step, false);
                }
                for (k, q) in queries.probes.iter().enumerate() {
                    next[nsel + k] = q.step(from[nsel + k], step, true);
                }
            }
        }
        let hit = queries
            .select
            .iter()
            .zip(&next)
            .position(|(q, &s)| q.accepts(s));
        if hit.is_none()
            && queries
                .probes
                .iter()
                .zip(&next[nsel..])
                .any(|(q, &s)| q.accepts(s))
        {
            pass.ambiguous = true;
        }
        let container = matches!(tok, Tok::Obj(_) | Tok::Arr(_));

        if let Some(query) = hit {
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
            // The root is always entered: its members are read for `Pass::members`.
            && (levels.is_empty()
                || queries.select.iter().zip(&next).any(|(q, &s)| q.live(s))
                || queries
                    .probes
                    .iter()
                    .zip(&next[nsel..])
                    .any(|(q, &s)| q.live(s)))
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
    let queries = |k: usize| -> (&Query, bool) {
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
        queries: &dyn Fn(usize) -> (&'a Query, bool),
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
    use serde_json::Value;
    use serde_json_path::JsonPath;

    #[test]
    fn names_in_filter_paths() {
        assert_eq!(
            path_names("$.messages[?@.internal != true].body"),
            ["body", "internal", "messages"]
        );
        assert_eq!(path_names("$['a b'][?@[\"c\"] == 'x']"), ["a b", "c", "x"]);
        assert_eq!(path_names("$[?@.k == 'it\\'s']"), ["it's", "k"]);
    }

    #[test]
    fn paths_outside_the_subset_are_over_approximated() {
        let texts = |t: &str| -> Option<Vec<String>> {
            over_approximate(t).map(|qs| qs.iter().map(|q| format!("{:?}", q.segs.len())).collect())
        };
        assert_eq!(
            texts("$.messages[?@.internal != true].body"),
            Some(vec!["3".into(), "3".into()])
        );
        assert_eq!(texts("$.a[1:].b"), Some(vec!["3".into()]));
        assert_eq!(texts("$..x[-1]"), Some(vec!["2".into()]));
        assert_eq!(texts("$.a[?@.b[?@.c]]"), None);
        let q = over_approximate("$.items[?@.kind.type == 'card'].number").expect("subset");
        assert_eq!(q.len(), 2);
        assert_eq!(q[1], Query::parse("$.items[*].kind.type").expect("subset"));
        assert_eq!(q[0], Query::parse("$.items[*].number").expect("subset"));
    }

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
        }
    }

    fn run(body: &str, paths: &[&str]) -> Result<(String, Vec<String>), RewriteError<()>> {
        let mut seen = Vec::new();
        let pass = select_rewrite(body.as_bytes(), 8, &queries(paths), |hit| {
            seen.push(format!(
                "{} {}",
                crate::jsonpath::normalized::to_string(&hit.path(false)),
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
                out.push(crate::jsonpath::normalized::to_string(path));
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
                    crate::jsonpath::normalized::to_string(&segs)
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
