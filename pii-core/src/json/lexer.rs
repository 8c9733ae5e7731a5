//! The scanner: RFC 8259 tokens with byte offsets, validated as they are read.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::str::FromStr;

use serde_json::Number;

use super::{internal, syntax, JsonProblem};

/// A string token: `start` is the opening quote, `end` is just after the closing quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
    /// Contains a backslash escape (the raw bytes differ from the decoded text).
    pub(crate) esc: bool,
}

impl Span {
    /// The content between the quotes.
    pub(crate) fn inner(self) -> (usize, usize) {
        (
            self.start + 1,
            self.end.saturating_sub(1).max(self.start + 1),
        )
    }
}

/// One token. Offsets are byte offsets in the input.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Tok {
    /// `{` at this offset.
    Obj(usize),
    /// `[` at this offset.
    Arr(usize),
    /// A member name (the `:` after it has been consumed).
    Key(Span),
    /// A string value.
    Str(Span),
    /// A number value: start, end.
    Num(usize, usize),
    /// `true`, `false` (`Some`) or `null` (`None`).
    Lit {
        start: usize,
        end: usize,
        value: Option<bool>,
    },
    /// `}` or `]`; the offset just after it.
    End(usize),
    /// End of the input after the root value and trailing whitespace.
    Eof,
}

impl Tok {
    /// Start and end of a scalar value token.
    pub(crate) fn scalar_span(self) -> Option<(usize, usize)> {
        match self {
            Tok::Str(s) => Some((s.start, s.end)),
            Tok::Num(a, b)
            | Tok::Lit {
                start: a, end: b, ..
            } => Some((a, b)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// A value is expected (root, after `:`, after `,` in an array).
    Value,
    /// Just after `{`.
    ObjFirst,
    /// Just after `[`.
    ArrFirst,
    /// After a complete value.
    After,
    /// After the end of the input.
    Done,
}

/// A pull tokenizer that validates everything (grammar, escapes, depth, numbers and optionally
/// duplicate names) with an explicit stack, so nothing it reads can make it recurse.
pub(crate) struct Lexer<'a> {
    pub(crate) text: &'a str,
    b: &'a [u8],
    pub(super) pos: usize,
    max_depth: usize,
    /// Open containers, `true` = object.
    open: Vec<bool>,
    state: State,
    keys: Option<KeyTracker>,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `w` that is `"`, `\` or below 0x20 (exact for the lowest such
/// byte, which is all we use).
#[inline(always)]
fn special_bytes(w: u64) -> u64 {
    let q = w ^ (ONES * u64::from(b'"'));
    let bs = w ^ (ONES * u64::from(b'\\'));
    ((q.wrapping_sub(ONES) & !q)
        | (bs.wrapping_sub(ONES) & !bs)
        | (w.wrapping_sub(ONES * 0x20) & !w))
        & HIGHS
}

/// After this many plain bytes in a row, a string is scanned by [`long_run_end`] instead of
/// eight bytes at a time: most names and values end well before it, and for a run of a few
/// dozen bytes the call costs more than it saves (at 32, the 41-byte strings of the 40 KB
/// benchmark body spent 6 % of the path in it).
const LONG_RUN: usize = 128;

/// The offset of the first `"`, `\` or control byte (below 0x20) at or after `i`, or
/// `b.len()`: the end of a run of plain string bytes, for long runs. memchr's search (SIMD,
/// chosen at run time) finds the first quote or backslash; the bytes before it are then only
/// checked for control bytes, 32 at a time.
#[inline(never)]
fn long_run_end(b: &[u8], i: usize) -> usize {
    let rest = b.get(i..).unwrap_or_default();
    let stop = memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
    let plain = rest.get(..stop).unwrap_or_default();
    i + first_control(plain).unwrap_or(stop)
}

/// High bit set in each byte of `w` below 0x20 (exact for the lowest such byte).
#[inline(always)]
fn control_bytes(w: u64) -> u64 {
    w.wrapping_sub(ONES * 0x20) & !w & HIGHS
}

/// The offset of the first byte below 0x20 in `s`.
fn first_control(s: &[u8]) -> Option<usize> {
    let mut k = 0;
    while let Some(block) = s.get(k..).and_then(|s| s.first_chunk::<32>()) {
        let word = |j: usize| {
            block
                .get(j..j + 8)
                .and_then(|w| w.first_chunk::<8>())
                .map_or(0, |w| control_bytes(u64::from_le_bytes(*w)))
        };
        if word(0) | word(8) | word(16) | word(24) != 0 {
            break;
        }
        k += 32;
    }
    s.get(k..)
        .unwrap_or_default()
        .iter()
        .position(|&c| c < 0x20)
        .map(|p| k + p)
}

#[inline(always)]
fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | b'\r' | b'\t')
}

fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let digits = b.get(i..i.checked_add(4)?)?;
    digits
        .iter()
        .try_fold(0u32, |acc, &d| Some(acc * 16 + char::from(d).to_digit(16)?))
}

/// Reads the `\uXXXX` escape whose backslash is at `i` (with its low surrogate partner when it
/// is a high surrogate). Returns the character and the offset after the escape.
fn read_u_escape(b: &[u8], i: usize) -> Result<(char, usize), JsonProblem> {
    let bad_hex = || syntax(i, "invalid \\u escape: four hexadecimal digits expected");
    let lone = || syntax(i, "lone surrogate in a \\u escape");
    let hi = hex4(b, i + 2).ok_or_else(bad_hex)?;
    let (cp, next) = match hi {
        0xD800..=0xDBFF => {
            if b.get(i + 6) != Some(&b'\\') || b.get(i + 7) != Some(&b'u') {
                return Err(lone());
            }
            let lo = hex4(b, i + 8).ok_or_else(bad_hex)?;
            if !(0xDC00..=0xDFFF).contains(&lo) {
                return Err(lone());
            }
            (0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00), i + 12)
        }
        0xDC00..=0xDFFF => return Err(lone()),
        _ => (hi, i + 6),
    };
    char::from_u32(cp).map(|c| (c, next)).ok_or_else(lone)
}

/// Checks the escape whose backslash is at `i`; returns the offset after it.
fn check_escape(b: &[u8], i: usize) -> Result<usize, JsonProblem> {
    match b.get(i + 1) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(i + 2),
        Some(b'u') => read_u_escape(b, i).map(|(_, next)| next),
        _ => Err(syntax(i, "invalid escape sequence in a string")),
    }
}

/// Appends the decoded content `text[start..end]` (between the quotes) to `out`.
pub(crate) fn unescape_into(
    text: &str,
    start: usize,
    end: usize,
    out: &mut String,
) -> Result<(), JsonProblem> {
    let b = text.as_bytes();
    let mut i = start;
    while let Some(off) = text.get(i..end).and_then(|s| s.find('\\')) {
        let j = i + off;
        out.push_str(text.get(i..j).ok_or(internal(i))?);
        let (ch, next) = match b.get(j + 1) {
            Some(b'"') => ('"', j + 2),
            Some(b'\\') => ('\\', j + 2),
            Some(b'/') => ('/', j + 2),
            Some(b'b') => ('\u{8}', j + 2),
            Some(b'f') => ('\u{c}', j + 2),
            Some(b'n') => ('\n', j + 2),
            Some(b'r') => ('\r', j + 2),
            Some(b't') => ('\t', j + 2),
            Some(b'u') => read_u_escape(b, j)?,
            _ => return Err(syntax(j, "invalid escape sequence in a string")),
        };
        out.push(ch);
        i = next;
    }
    out.push_str(text.get(i..end).ok_or(internal(i))?);
    Ok(())
}

/// The decoded content of a string token, borrowed when it has no escapes.
pub(super) fn decoded<'t>(text: &'t str, span: Span) -> Result<Cow<'t, str>, JsonProblem> {
    let (s, e) = span.inner();
    if span.esc {
        let mut out = String::with_capacity(e - s);
        unescape_into(text, s, e, &mut out)?;
        Ok(Cow::Owned(out))
    } else {
        text.get(s..e).map(Cow::Borrowed).ok_or(internal(s))
    }
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(
        bytes: &'a [u8],
        max_depth: usize,
        check_dups: bool,
    ) -> Result<Self, JsonProblem> {
        if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
            return Err(syntax(0, "byte order mark"));
        }
        if bytes.iter().all(|&c| is_ws(c)) {
            return Err(JsonProblem::Empty);
        }
        let text =
            std::str::from_utf8(bytes).map_err(|e| syntax(e.valid_up_to(), "invalid UTF-8"))?;
        Ok(Lexer {
            text,
            b: bytes,
            pos: 0,
            max_depth,
            open: Vec::new(),
            state: State::Value,
            keys: check_dups.then(KeyTracker::default),
        })
    }

    fn err(&self, what: &'static str) -> JsonProblem {
        syntax(self.pos, what)
    }

    // `always`: the release profile is opt-level "z", where LLVM keeps even these one-liners
    // as calls (13 % of a 40 KB scan).
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    #[inline(always)]
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.pos) {
            if !is_ws(c) {
                break;
            }
            self.pos += 1;
        }
    }

    pub(crate) fn next(&mut self) -> Result<Tok, JsonProblem> {
        match self.state {
            State::Value => self.value(),
            State::ArrFirst => {
                self.ws();
                if self.peek() == Some(b']') {
                    self.close()
                } else {
                    self.value()
                }
            }
            State::ObjFirst => {
                self.ws();
                match self.peek() {
                    Some(b'}') => self.close(),
                    Some(b'"') => self.key(),
                    _ => Err(self.err("expected a member name in double quotes or '}'")),
                }
            }
            State::After => self.after(),
            State::Done => Ok(Tok::Eof),
        }
    }

    fn after(&mut self) -> Result<Tok, JsonProblem> {
        self.ws();
        let Some(&obj) = self.open.last() else {
            if self.pos == self.b.len() {
                self.state = State::Done;
                return Ok(Tok::Eof);
            }
            return Err(self.err("unexpected characters after the JSON value"));
        };
        match (self.peek(), obj) {
            (Some(b','), true) => {
                self.pos += 1;
                self.ws();
                if self.peek() == Some(b'"') {
                    self.key()
                } else {
                    Err(self.err("expected a member name in double quotes"))
                }
            }
            (Some(b','), false) => {
                self.pos += 1;
                self.value()
            }
            (Some(b'}'), true) | (Some(b']'), false) => self.close(),
            (None, _) => Err(self.err("unexpected end of input inside an object or array")),
            (_, true) => Err(self.err("expected ',' or '}'")),
            (_, false) => Err(self.err("expected ',' or ']'")),
        }
    }

    fn value(&mut self) -> Result<Tok, JsonProblem> {
        self.ws();
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Err(self.err("unexpected end of input: a value was expected"));
        };
        let tok = match c {
            b'{' | b'[' => {
                if self.open.len() >= self.max_depth {
                    return Err(JsonProblem::TooDeep {
                        offset: start,
                        limit: self.max_depth,
                    });
                }
                self.pos += 1;
                let obj = c == b'{';
                self.open.push(obj);
                return Ok(if obj {
                    if let Some(k) = &mut self.keys {
                        k.open();
                    }
                    self.state = State::ObjFirst;
                    Tok::Obj(start)
                } else {
                    self.state = State::ArrFirst;
                    Tok::Arr(start)
                });
            }
            b'"' => {
                let esc = self.string()?;
                Tok::Str(Span {
                    start,
                    end: self.pos,
                    esc,
                })
            }
            b'-' | b'0'..=b'9' => {
                self.number()?;
                Tok::Num(start, self.pos)
            }
            b't' => self.literal(b"true", Some(true))?,
            b'f' => self.literal(b"false", Some(false))?,
            b'n' => self.literal(b"null", None)?,
            _ => return Err(self.err("expected a JSON value")),
        };
        self.state = State::After;
        Ok(tok)
    }

    fn close(&mut self) -> Result<Tok, JsonProblem> {
        self.pos += 1;
        if self.open.pop() == Some(true) {
            if let Some(k) = &mut self.keys {
                k.close(self.text)?;
            }
        }
        self.state = State::After;
        Ok(Tok::End(self.pos))
    }

    fn key(&mut self) -> Result<Tok, JsonProblem> {
        let start = self.pos;
        let esc = self.string()?;
        let span = Span {
            start,
            end: self.pos,
            esc,
        };
        if let Some(k) = &mut self.keys {
            k.add(self.text, span)?;
        }
        self.ws();
        if self.peek() != Some(b':') {
            return Err(self.err("expected ':' after a member name"));
        }
        self.pos += 1;
        self.state = State::Value;
        Ok(Tok::Key(span))
    }

    fn literal(&mut self, word: &'static [u8], value: Option<bool>) -> Result<Tok, JsonProblem> {
        let start = self.pos;
        if self.b.get(start..start + word.len()) != Some(word) {
            return Err(self.err("invalid literal: true, false or null expected"));
        }
        self.pos += word.len();
        Ok(Tok::Lit {
            start,
            end: self.pos,
            value,
        })
    }

    /// Scans the string starting at the quote at `self.pos`; returns whether it has escapes.
    fn string(&mut self) -> Result<bool, JsonProblem> {
        let b = self.b;
        let start = self.pos;
        let mut i = start + 1;
        let mut esc = false;
        loop {
            let run = i;
            while let Some(chunk) = b.get(i..).and_then(|s| s.first_chunk::<8>()) {
                let m = special_bytes(u64::from_le_bytes(*chunk));
                if m != 0 {
                    i += (m.trailing_zeros() / 8) as usize;
                    break;
                }
                i += 8;
                if i - run >= LONG_RUN {
                    i = long_run_end(b, i);
                    break;
                }
            }
            match b.get(i) {
                None => return Err(syntax(start, "unterminated string")),
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(esc);
                }
                Some(b'\\') => {
                    esc = true;
                    i = check_escape(b, i)?;
                }
                Some(&c) if c < 0x20 => {
                    return Err(syntax(
                        i,
                        "control character in a string: it must be escaped",
                    ))
                }
                Some(_) => i += 1,
            }
        }
    }

    /// Scans a number (RFC 8259 grammar) and refuses one that does not fit an `f64`.
    fn number(&mut self) -> Result<(), JsonProblem> {
        let b = self.b;
        let start = self.pos;
        let mut i = start;
        let digit = |i: usize| matches!(b.get(i), Some(b'0'..=b'9'));
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        let int_start = i;
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while digit(i) {
                    i += 1;
                }
            }
            _ => return Err(syntax(i, "invalid number: a digit was expected")),
        }
        if digit(i) {
            return Err(syntax(int_start, "invalid number: leading zero"));
        }
        let int_zero = b.get(int_start) == Some(&b'0');
        // Decimal exponent of the first significant digit (None: all digits so far are zero).
        let mut magnitude = (!int_zero).then(|| (i - int_start) as i64 - 1);
        if b.get(i) == Some(&b'.') {
            i += 1;
            let frac_start = i;
            while let Some(&c @ b'0'..=b'9') = b.get(i) {
                if magnitude.is_none() && c != b'0' {
                    magnitude = Some(-((i - frac_start) as i64) - 1);
                }
                i += 1;
            }
            if i == frac_start {
                return Err(syntax(i, "invalid number: a digit was expected after '.'"));
            }
        }
        let mut exp: i64 = 0;
        let has_exp = matches!(b.get(i), Some(b'e' | b'E'));
        if has_exp {
            i += 1;
            let negative = match b.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let exp_start = i;
            while let Some(&c @ b'0'..=b'9') = b.get(i) {
                exp = (exp * 10 + i64::from(c - b'0')).min(1 << 40);
                i += 1;
            }
            if i == exp_start {
                return Err(syntax(
                    i,
                    "invalid number: a digit was expected in the exponent",
                ));
            }
            if negative {
                exp = -exp;
            }
        }
        self.pos = i;
        // Only numbers of magnitude near 1e308 or more can overflow; let serde_json's own
        // parser decide those, so we agree with it exactly.
        if let Some(m) = magnitude {
            if m.saturating_add(exp) >= 307 {
                let text = self.text.get(start..i).ok_or(internal(start))?;
                if Number::from_str(text).is_err() {
                    return Err(JsonProblem::NumberOutOfRange { offset: start });
                }
            }
        }
        Ok(())
    }
}

/// Detects duplicate member names. Names of the open objects are kept on one stack (an object's
/// names are contiguous: a nested object's names are dropped when it closes). Small objects are
/// checked as each name arrives; larger ones are sorted when they close (no quadratic work).
#[derive(Default)]
struct KeyTracker {
    keys: Vec<KeyRef>,
    /// Decoded text of names that contain escapes.
    decoded: String,
    /// Per open object: start in `keys`, start in `decoded`.
    marks: Vec<(usize, usize)>,
    order: Vec<usize>,
}

#[derive(Debug, Clone, Copy)]
struct KeyRef {
    /// Offset of the name's opening quote in the input.
    offset: usize,
    start: usize,
    end: usize,
    /// In `decoded` rather than in the input.
    in_decoded: bool,
}

/// Whether two names are equal. Most names of one object differ in length or first byte:
/// checking those first keeps `memcmp` calls (7 % of a 40 KB scan) for the rare near-misses.
#[inline]
fn same_name(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.first() == b.first() && a == b
}

/// Names up to this many per object are compared as they arrive.
const LINEAR_KEYS: usize = 16;

impl KeyTracker {
    fn open(&mut self) {
        self.marks.push((self.keys.len(), self.decoded.len()));
    }

    #[inline(always)]
    fn name<'s>(&'s self, text: &'s str, k: KeyRef) -> &'s [u8] {
        let src = if k.in_decoded {
            self.decoded.as_bytes()
        } else {
            text.as_bytes()
        };
        src.get(k.start..k.end).unwrap_or_default()
    }

    fn add(&mut self, text: &str, span: Span) -> Result<(), JsonProblem> {
        let (s, e) = span.inner();
        let key = if span.esc {
            let from = self.decoded.len();
            unescape_into(text, s, e, &mut self.decoded)?;
            KeyRef {
                offset: span.start,
                start: from,
                end: self.decoded.len(),
                in_decoded: true,
            }
        } else {
            KeyRef {
                offset: span.start,
                start: s,
                end: e,
                in_decoded: false,
            }
        };
        let first = self.marks.last().map_or(0, |m| m.0);
        let earlier = self.keys.get(first..).unwrap_or_default();
        if earlier.len() < LINEAR_KEYS {
            let name = self.name(text, key);
            if earlier.iter().any(|&k| same_name(self.name(text, k), name)) {
                return Err(JsonProblem::DuplicateKey { offset: span.start });
            }
        }
        self.keys.push(key);
        Ok(())
    }

    fn close(&mut self, text: &str) -> Result<(), JsonProblem> {
        let Some((first, first_decoded)) = self.marks.pop() else {
            return Ok(());
        };
        let result = if self.keys.len().saturating_sub(first) > LINEAR_KEYS {
            self.check_sorted(text, first)
        } else {
            Ok(())
        };
        self.keys.truncate(first);
        self.decoded.truncate(first_decoded);
        result
    }

    fn check_sorted(&mut self, text: &str, first: usize) -> Result<(), JsonProblem> {
        let mut order = std::mem::take(&mut self.order);
        order.clear();
        order.extend(first..self.keys.len());
        let keys = &self.keys;
        let key = |i: usize| keys.get(i).copied();
        order.sort_unstable_by(|&a, &b| match (key(a), key(b)) {
            (Some(ka), Some(kb)) => self
                .name(text, ka)
                .cmp(self.name(text, kb))
                .then(ka.offset.cmp(&kb.offset)),
            _ => Ordering::Equal,
        });
        let mut found: Option<usize> = None;
        for w in order.windows(2) {
            if let (Some(a), Some(b)) = (key(w[0]), key(w[1])) {
                if self.name(text, a) == self.name(text, b) {
                    found = Some(found.map_or(b.offset, |f| f.min(b.offset)));
                }
            }
        }
        self.order = order;
        found.map_or(Ok(()), |offset| Err(JsonProblem::DuplicateKey { offset }))
    }
}

/// After an `Obj` or `Arr` token: consumes (and validates) the rest of that container and returns
/// the offset just after it.
pub(crate) fn skip_container(lx: &mut Lexer<'_>) -> Result<usize, JsonProblem> {
    let mut depth = 0usize;
    loop {
        match lx.next()? {
            Tok::Obj(_) | Tok::Arr(_) => depth += 1,
            Tok::End(end) => {
                if depth == 0 {
                    return Ok(end);
                }
                depth -= 1;
            }
            Tok::Eof => return Err(internal(lx.pos)),
            _ => {}
        }
    }
}
