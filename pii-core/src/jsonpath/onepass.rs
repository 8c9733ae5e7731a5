//! Selecting and rewriting a JSON body in one pass, without building a document tree.
//!
//! Most policies select with plain JSONPath: member names, array indexes, wildcards and
//! descendants (`$.user.email`, `$.items[*].card`, `$..iban`). Whether such a query selects a
//! value depends only on the path from the root to it, so it can be decided while the body is
//! read: each query is a small automaton (`automaton.rs`) whose state is the set of its
//! segments matched so far. The pass validates every byte (like `json::parse_strict`), descends only into the
//! containers a query can still select something in, skips the rest with the validating
//! scanner, hands each selected value's raw bytes to the caller and splices the answer into
//! the output. Nothing is allocated per value that is not selected.
//!
//! Queries outside this subset (filters, slices, negative indexes, which need a container's
//! length or its contents) are evaluated by serde_json_path on a `serde_json::Value` instead
//! (`JsonQuery::locate`, called from `engine.rs`). The two paths give the same answers (a
//! property test in `engine.rs` compares them), and on the subset the automaton selects exactly
//! what serde_json_path selects (tested on the RFC 9535 compliance suite in `automaton.rs`).

use crate::json::PathElement;
use crate::json::{
    self, skip_container, unescape_into, Edit, Entries, JsonProblem, Lexer, Out, RewriteError,
    Span, Tok,
};

use super::automaton::{Automaton, Step};
use super::syntax::Query;

impl Queries {
    /// The queries of a policy's rules (their selectors, in rule order) when every JSON
    /// selector among them is in the subset.
    pub(crate) fn plan<'a>(
        selectors: impl IntoIterator<Item = Option<&'a Query>>,
    ) -> Option<Queries> {
        let mut queries = Queries {
            select: Vec::new(),
            rules: Vec::new(),
            probes: Vec::new(),
        };
        for (index, selector) in selectors.into_iter().enumerate() {
            let Some(query) = selector else {
                continue;
            };
            let query = Automaton::of(query)?;
            if query.names_something() {
                queries.probes.push(query.clone());
            }
            queries.select.push(query);
            queries.rules.push(index);
        }
        Some(queries)
    }
}

/// The queries of one policy's JSON rules, and what makes a body ambiguous for them.
#[derive(Debug, Clone)]
pub(crate) struct Queries {
    /// One per JSON rule, in rule order; the first that selects a value wins.
    pub(crate) select: Vec<Automaton>,
    /// The index in the policy's rules of each query in `select`.
    pub(crate) rules: Vec<usize>,
    /// The queries that name a member, stepped with names compared by skeleton
    /// (`NameChecks::probes`): a value one of them reaches and no query in `select` selects
    /// was reached through an equivalent name, not the selected one.
    pub(crate) probes: Vec<Automaton>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn queries(paths: &[&str]) -> Queries {
        Queries {
            select: paths
                .iter()
                .map(|p| {
                    Automaton::of(&super::super::parse::parse(p).expect("valid")).expect("subset")
                })
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
}
