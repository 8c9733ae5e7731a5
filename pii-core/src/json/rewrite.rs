//! [`rewrite`]: a body copied through, edited at normalized paths.

use std::cmp::Ordering;
use std::fmt;

use super::{internal, skip_container, unescape_into, JsonProblem, Lexer, Seg, Tok};

/// What to do with one target value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Edit {
    /// Leave it as it is (the engine always edits what it selected; kept for callers that
    /// inspect first).
    #[allow(dead_code)]
    Keep,
    /// Replace the value's bytes with this JSON text (trusted to be one valid JSON value).
    Replace(Vec<u8>),
    /// Remove the object member or array element.
    Remove,
}

/// Why [`rewrite`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RewriteError<E> {
    /// The body is not acceptable JSON.
    Json(JsonProblem),
    /// The edit callback failed; returned as is.
    Edit(E),
    /// The callback asked to remove the root value.
    RemoveRoot,
}

impl<E> From<JsonProblem> for RewriteError<E> {
    fn from(p: JsonProblem) -> Self {
        RewriteError::Json(p)
    }
}

impl<E: fmt::Display> fmt::Display for RewriteError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RewriteError::Json(p) => p.fmt(f),
            RewriteError::Edit(e) => e.fmt(f),
            RewriteError::RemoveRoot => f.write_str("the root value cannot be removed"),
        }
    }
}

/// The targets, sorted and made prefix-free: the children of a path are a contiguous range.
struct Trie<'t> {
    targets: &'t [Vec<Seg>],
    sorted: Vec<usize>,
}

/// What the next value is to the targets.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// No target in or at it.
    Skip,
    /// Targets inside it: `sorted[lo..hi]`.
    Descend(usize, usize),
    /// It is this target.
    Capture(usize),
}

impl<'t> Trie<'t> {
    fn new(targets: &'t [Vec<Seg>]) -> Self {
        let mut order: Vec<usize> = (0..targets.len()).collect();
        order.sort_by(|&a, &b| targets[a].cmp(&targets[b]));
        let mut sorted: Vec<usize> = Vec::with_capacity(order.len());
        for i in order {
            // A target inside (or equal to) an earlier one is covered by it: drop it.
            if let Some(&last) = sorted.last() {
                if targets[i].starts_with(&targets[last]) {
                    continue;
                }
            }
            sorted.push(i);
        }
        Trie { targets, sorted }
    }

    fn seg(&self, k: usize, d: usize) -> Option<&Seg> {
        self.targets.get(*self.sorted.get(k)?)?.get(d)
    }

    /// The value at path length `d` whose targets (sharing its path) are `sorted[lo..hi]`.
    fn want(&self, lo: usize, hi: usize, d: usize) -> Want {
        if lo >= hi {
            return Want::Skip;
        }
        match self.sorted.get(lo) {
            Some(&t) if self.targets.get(t).is_some_and(|p| p.len() <= d) => Want::Capture(t),
            Some(_) => Want::Descend(lo, hi),
            None => Want::Skip,
        }
    }

    /// Sub-range of `sorted[lo..hi]` whose segment `d` is the member name `key`.
    fn by_name(&self, lo: usize, hi: usize, d: usize, key: &[u8]) -> (usize, usize) {
        let Some(range) = self.sorted.get(lo..hi) else {
            return (lo, lo);
        };
        let cmp = |&t: &usize| match self.targets.get(t).and_then(|p| p.get(d)) {
            Some(Seg::Name(n)) => n.as_bytes().cmp(key),
            Some(Seg::Index(_)) => Ordering::Greater,
            None => Ordering::Less,
        };
        let a = range.partition_point(|t| cmp(t) == Ordering::Less);
        let b = range.partition_point(|t| cmp(t) != Ordering::Greater);
        (lo + a, lo + b)
    }

    /// First position in `sorted[lo..hi]` whose segment `d` is an index.
    fn first_index(&self, lo: usize, hi: usize, d: usize) -> usize {
        let Some(range) = self.sorted.get(lo..hi) else {
            return hi;
        };
        lo + range.partition_point(|&t| {
            !matches!(
                self.targets.get(t).and_then(|p| p.get(d)),
                Some(Seg::Index(_))
            )
        })
    }

    fn index_at(&self, k: usize, d: usize) -> Option<usize> {
        match self.seg(k, d) {
            Some(Seg::Index(i)) => Some(*i),
            _ => None,
        }
    }
}

/// Entries removed since the last kept entry of a container, not yet settled: whether they take
/// the comma after them depends on whether a later entry is kept.
#[derive(Debug, Clone, Copy)]
struct Run {
    /// End of the last kept entry before the run (or start of the first removed entry).
    gap: usize,
    /// Start of the first removed entry.
    first: usize,
    /// End of the last removed entry.
    last_end: usize,
}

/// An open container with targets inside.
struct Frame {
    obj: bool,
    lo: usize,
    hi: usize,
    /// Arrays: the first target in `lo..hi` whose index may still come.
    cursor: usize,
    entries: Entries,
}

/// The output of a rewrite: the input copied through, with edits spliced in.
pub(crate) struct Out<'a> {
    src: &'a [u8],
    pub(crate) buf: Vec<u8>,
    copied: usize,
}

impl<'a> Out<'a> {
    pub(crate) fn new(src: &'a [u8]) -> Self {
        Out {
            src,
            buf: Vec::with_capacity(src.len() + src.len() / 8),
            copied: 0,
        }
    }

    /// Replaces `start..end` of the input with `new`.
    pub(crate) fn replace(&mut self, start: usize, end: usize, new: &[u8]) {
        self.copy_to(start);
        self.buf.extend_from_slice(new);
        self.copied = end;
    }

    /// Copies the rest of the input and returns the output.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.copy_to(self.src.len());
        self.buf
    }

    /// Copies the input up to `upto` (from where copying stopped).
    fn copy_to(&mut self, upto: usize) {
        if upto > self.copied {
            if let Some(s) = self.src.get(self.copied..upto) {
                self.buf.extend_from_slice(s);
            }
            self.copied = upto;
        }
    }
}

/// The entries of one open container as the output sees them: which were removed, and where
/// the commas between them go.
#[derive(Debug, Default)]
pub(crate) struct Entries {
    /// Entries seen so far (for arrays: the index of the next element in the input).
    pub(crate) count: usize,
    /// Entries removed so far (for arrays: `count - removed` is the next index in the output).
    pub(crate) removed: usize,
    prev_kept_end: Option<usize>,
    run: Option<Run>,
}

impl Entries {
    /// An entry starting at `start` is kept: settle the pending removed entries (they take the
    /// comma after them).
    pub(crate) fn begin_kept(&mut self, out: &mut Out<'_>, start: usize) {
        if let Some(run) = self.run.take() {
            out.copy_to(run.first);
            out.copied = out.copied.max(start);
        }
    }

    /// The entry `start..end` is kept as it is.
    pub(crate) fn keep(&mut self, out: &mut Out<'_>, start: usize, end: usize) {
        self.begin_kept(out, start);
        self.end_kept(end);
    }

    /// The entry kept last ends at `end`.
    pub(crate) fn end_kept(&mut self, end: usize) {
        self.prev_kept_end = Some(end);
        self.count += 1;
    }

    /// The entry `start..end` goes.
    pub(crate) fn remove(&mut self, start: usize, end: usize) {
        self.run = Some(match self.run {
            None => Run {
                gap: self.prev_kept_end.unwrap_or(start),
                first: start,
                last_end: end,
            },
            Some(r) => Run { last_end: end, ..r },
        });
        self.count += 1;
        self.removed += 1;
    }

    /// The container of these entries ends just before `end`: settle its commas, and count it
    /// as a kept entry of its parent (none for the root).
    pub(crate) fn end_container(
        &self,
        out: &mut Out<'_>,
        parent: Option<&mut Entries>,
        end: usize,
    ) {
        self.close(out);
        if let Some(parent) = parent {
            parent.end_kept(end);
        }
    }

    /// The container closes: pending removed entries take the comma before them.
    fn close(&self, out: &mut Out<'_>) {
        if let Some(run) = self.run {
            out.copy_to(run.gap);
            out.copied = out.copied.max(run.last_end);
        }
    }
}

/// One pass over `bytes` that copies every byte through unchanged except at the targets.
///
/// `targets` are normalized paths (an empty path is the root value). For each target present in
/// the document, `edit(target_index, raw_value_bytes)` is called exactly once, in document order,
/// with the exact original bytes of the value (`"a\u00e9"` with its quotes, `12.50`,
/// `{ "x": [1] }`); absent targets are not called.
///
/// - `Replace`: the value's bytes are replaced; everything around is copied verbatim.
/// - `Remove`: the member (name, colon, value) or element goes, with exactly one separating
///   comma: the comma after it if a later entry of the same container is kept, else the comma
///   before it if there is one. Whitespace next to a removed comma may go with it; everything
///   else outside edited ranges is byte-identical. Removing the root is `RewriteError::RemoveRoot`.
///
/// The callers should pass prefix-free targets without duplicates; if not, a target inside (or
/// equal to) another is ignored (the outer value is edited as a whole) and never called.
/// The input is validated exactly like [`parse_strict`] validates it (grammar, depth, duplicate
/// names, number range); a target reached twice is a `DuplicateKey` before its second call.
pub(crate) fn rewrite<E>(
    bytes: &[u8],
    targets: &[Vec<Seg>],
    max_depth: usize,
    mut edit: impl FnMut(usize, &[u8]) -> Result<Edit, E>,
) -> Result<Vec<u8>, RewriteError<E>> {
    let mut lx = Lexer::new(bytes, max_depth, true)?;
    let text = lx.text;
    let trie = Trie::new(targets);
    let mut seen = vec![false; targets.len()];
    let mut out = Out::new(bytes);
    let mut frames: Vec<Frame> = Vec::new();
    let mut scratch = String::new();
    let mut want = trie.want(0, trie.sorted.len(), 0);
    let mut entry_start = 0usize;
    loop {
        let tok = lx.next()?;
        let start = match tok {
            Tok::Eof => break,
            Tok::Key(span) => {
                let d = frames.len();
                let Some(f) = frames.last() else {
                    return Err(internal(span.start).into());
                };
                entry_start = span.start;
                let (s, e) = span.inner();
                let name = if span.esc {
                    scratch.clear();
                    unescape_into(text, s, e, &mut scratch)?;
                    scratch.as_bytes()
                } else {
                    bytes.get(s..e).unwrap_or_default()
                };
                let (lo, hi) = trie.by_name(f.lo, f.hi, d - 1, name);
                want = trie.want(lo, hi, d);
                continue;
            }
            Tok::End(end) => {
                let Some(f) = frames.pop() else {
                    return Err(internal(end).into());
                };
                f.entries
                    .end_container(&mut out, frames.last_mut().map(|p| &mut p.entries), end);
                continue;
            }
            Tok::Obj(s) | Tok::Arr(s) | Tok::Num(s, _) | Tok::Lit { start: s, .. } => s,
            Tok::Str(span) => span.start,
        };
        // A value starts.
        let d = frames.len();
        if let Some(f) = frames.last_mut() {
            if !f.obj {
                entry_start = start;
                let i = f.entries.count;
                while f.cursor < f.hi && trie.index_at(f.cursor, d - 1).is_some_and(|x| x < i) {
                    f.cursor += 1;
                }
                let lo = f.cursor;
                let mut hi = lo;
                while hi < f.hi && trie.index_at(hi, d - 1) == Some(i) {
                    hi += 1;
                }
                want = trie.want(lo, hi, d);
            }
        }
        let container = matches!(tok, Tok::Obj(_) | Tok::Arr(_));
        match want {
            Want::Descend(lo, hi) if container => {
                if let Some(parent) = frames.last_mut() {
                    parent.entries.begin_kept(&mut out, entry_start);
                }
                let obj = matches!(tok, Tok::Obj(_));
                let cursor = if obj { hi } else { trie.first_index(lo, hi, d) };
                frames.push(Frame {
                    obj,
                    lo,
                    hi,
                    cursor,
                    entries: Entries::default(),
                });
            }
            Want::Skip | Want::Descend(..) => {
                let end = match tok.scalar_span() {
                    Some((_, end)) => end,
                    None => skip_container(&mut lx)?,
                };
                if let Some(parent) = frames.last_mut() {
                    parent.entries.keep(&mut out, entry_start, end);
                }
            }
            Want::Capture(t) => {
                let end = match tok.scalar_span() {
                    Some((_, end)) => end,
                    None => skip_container(&mut lx)?,
                };
                match seen.get_mut(t) {
                    Some(s) if !*s => *s = true,
                    _ => {
                        return Err(JsonProblem::DuplicateKey {
                            offset: entry_start,
                        }
                        .into())
                    }
                }
                let raw = bytes.get(start..end).ok_or(internal(start))?;
                match edit(t, raw).map_err(RewriteError::Edit)? {
                    Edit::Keep => {
                        if let Some(parent) = frames.last_mut() {
                            parent.entries.keep(&mut out, entry_start, end);
                        }
                    }
                    Edit::Replace(new) => {
                        if let Some(parent) = frames.last_mut() {
                            parent.entries.keep(&mut out, entry_start, end);
                        }
                        out.replace(start, end, &new);
                    }
                    Edit::Remove => {
                        let Some(parent) = frames.last_mut() else {
                            return Err(RewriteError::RemoveRoot);
                        };
                        parent.entries.remove(entry_start, end);
                    }
                }
            }
        }
    }
    Ok(out.finish())
}
