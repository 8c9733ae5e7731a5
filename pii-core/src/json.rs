//! Strict JSON (RFC 8259) for request bodies, with our own scanner.
//!
//! - [`parse_strict`] builds a `serde_json::Value` for JSONPath evaluation. It is stricter than
//!   `serde_json::from_slice`: a member name that appears twice in one object is refused (names
//!   compared after unescaping), a leading byte order mark is refused, and the nesting depth is a
//!   parameter. serde_json's own recursion limit of 128 plays no part: the scanner below is our own
//!   and **iterative** (an explicit stack of open containers), so no input and no `max_depth` can
//!   overflow the call stack. Numbers are converted exactly as serde_json converts them (the rare
//!   ones that are not plain 64-bit integers are handed to `serde_json::Number::from_str`, which is
//!   serde_json's own number parser).
//! - [`rewrite`] copies a body through byte for byte except at the selected normalized paths, in one
//!   linear pass: unselected subtrees are skipped without building paths or allocating, and string
//!   contents are skipped eight bytes at a time.
//! - [`find_strings`] finds string values by content (the origin side looks for envelopes).
//!
//! All three validate the whole input: RFC 8259 grammar, UTF-8, escapes (a lone surrogate such as
//! `"\ud800"` is refused), the depth limit, duplicate member names and numbers that do not fit an
//! `f64` (serde_json refuses `1e400`, so we refuse it everywhere). Problems carry byte offsets and
//! fixed descriptions only, never text of the input: bodies carry personal data.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Number, Value};

/// A segment of an RFC 9535 normalized path (the location module owns the type).
pub(crate) use crate::location::PathElement as Seg;

/// Why a body is not acceptable JSON.
///
/// Never includes text of the input (it may be personal data): only offsets, limits and a
/// fixed description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JsonProblem {
    /// The body is empty or only whitespace.
    Empty,
    /// Not JSON per RFC 8259 (also: invalid UTF-8, lone surrogate escapes, unescaped control
    /// characters in strings, trailing characters, a leading byte order mark).
    Syntax {
        /// Byte offset in the body.
        offset: usize,
        /// What is wrong, a fixed text.
        what: &'static str,
    },
    /// The same member name twice in one object (compared after unescaping).
    DuplicateKey {
        /// Byte offset of the second occurrence of the name.
        offset: usize,
    },
    /// Arrays and objects nested deeper than the limit.
    TooDeep {
        /// Byte offset of the bracket that goes one level too deep.
        offset: usize,
        /// The limit.
        limit: usize,
    },
    /// A number whose magnitude does not fit an `f64` (such as `1e400`).
    NumberOutOfRange {
        /// Byte offset of the number.
        offset: usize,
    },
}

impl fmt::Display for JsonProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonProblem::Empty => f.write_str("the body is empty: a JSON value was expected"),
            JsonProblem::Syntax { offset, what } => {
                write!(f, "invalid JSON at byte {offset}: {what}")
            }
            JsonProblem::DuplicateKey { offset } => write!(
                f,
                "duplicate object member name at byte {offset}: the origin could read the other \
                 one; send each name once"
            ),
            JsonProblem::TooDeep { offset, limit } => write!(
                f,
                "arrays and objects nested deeper than {limit} levels at byte {offset}"
            ),
            JsonProblem::NumberOutOfRange { offset } => write!(
                f,
                "number at byte {offset} is out of range: it does not fit a 64-bit float"
            ),
        }
    }
}

impl std::error::Error for JsonProblem {}

fn syntax(offset: usize, what: &'static str) -> JsonProblem {
    JsonProblem::Syntax { offset, what }
}

/// A state the scanner guarantees cannot happen; reported rather than panicking.
pub(crate) fn internal(offset: usize) -> JsonProblem {
    syntax(offset, "internal error: unexpected scanner state")
}

// ---------------------------------------------------------------------------------------------
// Scanner
// ---------------------------------------------------------------------------------------------

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
    pos: usize,
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
fn decoded<'t>(text: &'t str, span: Span) -> Result<Cow<'t, str>, JsonProblem> {
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

// ---------------------------------------------------------------------------------------------
// parse_strict
// ---------------------------------------------------------------------------------------------

/// Converts a validated number exactly as serde_json would.
fn to_number(text: &str, start: usize, end: usize) -> Result<Number, JsonProblem> {
    let s = text.get(start..end).ok_or(internal(start))?;
    let digits = s.as_bytes();
    let (negative, body) = match digits.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, digits),
    };
    // Fast path: plain integers that surely fit (u64 up to 19 digits, i64 up to 18).
    if !body.is_empty()
        && body.len() <= 18 + usize::from(!negative)
        && body.iter().all(u8::is_ascii_digit)
    {
        let v = body
            .iter()
            .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
        if !negative {
            return Ok(Number::from(v));
        }
        if v != 0 {
            // v < 10^18 < i64::MAX; `-0` falls through (serde_json makes it the float -0.0).
            if let Ok(v) = i64::try_from(v) {
                return Ok(Number::from(-v));
            }
        }
    }
    Number::from_str(s).map_err(|_| JsonProblem::NumberOutOfRange { offset: start })
}

enum Building {
    Arr(Vec<Value>),
    Obj(Map<String, Value>, Option<(String, usize)>),
}

/// Parses strictly into a `serde_json::Value` for JSONPath evaluation: RFC 8259 only; refuses
/// duplicate member names (after unescaping) at any depth, nesting of arrays and objects deeper
/// than `max_depth` (the root container is level 1; `max_depth` 0 admits only a scalar), a byte
/// order mark, lone surrogates and numbers that do not fit an `f64`.
///
/// Our own iterative parser (not serde_json's, whose recursion limit is 128): whatever the input
/// and `max_depth`, it never recurses and never panics. Keep `max_depth` moderate all the same
/// (the engine uses at most 512): dropping or comparing a `Value` recurses in serde_json.
pub(crate) fn parse_strict(bytes: &[u8], max_depth: usize) -> Result<Value, JsonProblem> {
    // Duplicate names are left to the lexer (as in `rewrite` and the one-pass evaluation), so
    // every reader of a body reports the same first problem.
    let mut lx = Lexer::new(bytes, max_depth, true)?;
    let text = lx.text;
    let mut stack: Vec<Building> = Vec::new();
    let mut root: Option<Value> = None;
    loop {
        let value = match lx.next()? {
            Tok::Obj(_) => {
                stack.push(Building::Obj(Map::new(), None));
                continue;
            }
            Tok::Arr(_) => {
                stack.push(Building::Arr(Vec::new()));
                continue;
            }
            Tok::Key(span) => {
                let Some(Building::Obj(_, pending)) = stack.last_mut() else {
                    return Err(internal(span.start));
                };
                *pending = Some((decoded(text, span)?.into_owned(), span.start));
                continue;
            }
            Tok::Str(span) => Value::String(decoded(text, span)?.into_owned()),
            Tok::Num(s, e) => Value::Number(to_number(text, s, e)?),
            Tok::Lit { value, .. } => value.map_or(Value::Null, Value::Bool),
            Tok::End(end) => match stack.pop() {
                Some(Building::Arr(v)) => Value::Array(v),
                Some(Building::Obj(m, _)) => Value::Object(m),
                None => return Err(internal(end)),
            },
            Tok::Eof => return root.ok_or(JsonProblem::Empty),
        };
        match stack.last_mut() {
            None => root = Some(value),
            Some(Building::Arr(v)) => v.push(value),
            Some(Building::Obj(m, pending)) => {
                let Some((key, _)) = pending.take() else {
                    return Err(internal(lx.pos));
                };
                // A repeated name is refused by the lexer by the time its object closes.
                m.insert(key, value);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// rewrite
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// find_strings, quote, normalized
// ---------------------------------------------------------------------------------------------

/// Every string value (not member names) whose decoded content satisfies `pred`, with its
/// normalized path, in document order. Validates the input like [`parse_strict`].
#[cfg(any(feature = "open", test))]
pub(crate) fn find_strings(
    bytes: &[u8],
    max_depth: usize,
    pred: impl Fn(&str) -> bool,
) -> Result<Vec<(Vec<Seg>, String)>, JsonProblem> {
    struct Level {
        count: usize,
        key: Option<Span>,
    }
    let mut lx = Lexer::new(bytes, max_depth, true)?;
    let text = lx.text;
    let mut stack: Vec<Level> = Vec::new();
    let mut found = Vec::new();
    let mut scratch = String::new();
    loop {
        match lx.next()? {
            Tok::Eof => break,
            Tok::Key(span) => {
                if let Some(l) = stack.last_mut() {
                    l.key = Some(span);
                }
                continue;
            }
            Tok::Obj(_) | Tok::Arr(_) => {
                stack.push(Level {
                    count: 0,
                    key: None,
                });
                continue;
            }
            Tok::End(_) => {
                stack.pop();
            }
            Tok::Str(span) => {
                let (s, e) = span.inner();
                let content = if span.esc {
                    scratch.clear();
                    unescape_into(text, s, e, &mut scratch)?;
                    scratch.as_str()
                } else {
                    text.get(s..e).ok_or(internal(s))?
                };
                if pred(content) {
                    let mut path = Vec::with_capacity(stack.len());
                    for l in &stack {
                        path.push(match l.key {
                            Some(k) => Seg::Name(decoded(text, k)?.into_owned()),
                            None => Seg::Index(l.count),
                        });
                    }
                    found.push((path, content.to_owned()));
                }
            }
            Tok::Num(..) | Tok::Lit { .. } => {}
        }
        // A value ended.
        if let Some(l) = stack.last_mut() {
            l.count += 1;
        }
    }
    Ok(found)
}

/// The byte range of the value at `path` (normalized-path segments from the root) in a JSON
/// text: a string with its quotes, a container from its bracket to its closing bracket. `None`
/// when no value is there. Validates the whole input like [`parse_strict`] (a text with a
/// duplicate member name is refused: the value at a name would be ambiguous).
pub(crate) fn span_at(
    bytes: &[u8],
    path: &[Seg],
    max_depth: usize,
) -> Result<Option<std::ops::Range<usize>>, JsonProblem> {
    struct Level {
        count: usize,
        key: Option<Span>,
        /// This container is the value at `path[..depth]`.
        on_path: bool,
    }
    let mut lx = Lexer::new(bytes, max_depth, true)?;
    let text = lx.text;
    let mut stack: Vec<Level> = Vec::new();
    let mut found = None;
    loop {
        let tok = lx.next()?;
        let (start, scalar_end) = match tok {
            Tok::Eof => break,
            Tok::Key(span) => {
                if let Some(l) = stack.last_mut() {
                    l.key = Some(span);
                }
                continue;
            }
            Tok::End(_) => {
                stack.pop();
                if let Some(l) = stack.last_mut() {
                    l.count += 1;
                }
                continue;
            }
            Tok::Obj(at) | Tok::Arr(at) => (at, None),
            Tok::Str(_) | Tok::Num(..) | Tok::Lit { .. } => {
                let (a, b) = tok.scalar_span().ok_or(internal(lx.pos))?;
                (a, Some(b))
            }
        };
        // Is this value at path[..depth]?
        let depth = stack.len();
        let on_path = match stack.last() {
            None => true,
            Some(parent) => {
                parent.on_path
                    && match (path.get(depth - 1), parent.key) {
                        (Some(Seg::Name(name)), Some(key)) => decoded(text, key)? == name.as_str(),
                        (Some(Seg::Index(i)), None) => *i == parent.count,
                        _ => false,
                    }
            }
        };
        let end = if on_path && depth == path.len() {
            let end = match scalar_end {
                Some(end) => end,
                None => skip_container(&mut lx)?,
            };
            found = Some(start..end);
            Some(end)
        } else {
            scalar_end
        };
        match end {
            // A whole value read: it counts in its container.
            Some(_) => {
                if let Some(l) = stack.last_mut() {
                    l.count += 1;
                }
            }
            None => stack.push(Level {
                count: 0,
                key: None,
                on_path: on_path && depth < path.len(),
            }),
        }
    }
    Ok(found)
}

/// Where the value at a JSON location is in a body: the byte range of its JSON text (a string
/// with its quotes, an object or array from its opening to its closing bracket), or `None`
/// when the body holds no value there or is not JSON the engine accepts (RFC 8259, UTF-8, no
/// member name twice in one object, at most
/// [`MAX_MAX_DEPTH`](crate::spec::MAX_MAX_DEPTH) levels).
///
/// `path` is a [`Location::Json`](crate::Location::Json)'s elements, as in every
/// [`FieldReport`](crate::engine::FieldReport): `location` in the protected body, `original` in the
/// body as it arrived. Member names compare after JSON unescaping. The scan is the one the
/// engine uses, so a tool that reads a value back (a test runner, an inspector) sees exactly
/// the bytes the engine saw.
///
/// ```
/// use pii_core::{hooks::json_span, Location};
///
/// let body = br#"{"user": {"email": "erika@example.de", "tags": [1, {"a": null}]}}"#;
/// let Location::Json(path) = "json:$['user']['email']".parse::<Location>()? else { unreachable!() };
/// let range = json_span(body, &path).expect("a value there");
/// assert_eq!(&body[range], br#""erika@example.de""#);
/// let Location::Json(path) = "json:$['user']['tags'][1]".parse::<Location>()? else { unreachable!() };
/// assert_eq!(json_span(body, &path).map(|r| &body[r]), Some(&br#"{"a": null}"#[..]));
/// let Location::Json(path) = "json:$['user']['phone']".parse::<Location>()? else { unreachable!() };
/// assert_eq!(json_span(body, &path), None);
/// assert_eq!(json_span(br#"{"a":1,"a":2}"#, &[]), None);
/// # Ok::<(), pii_core::location::LocationError>(())
/// ```
pub fn json_span(
    body: &[u8],
    path: &[crate::location::PathElement],
) -> Option<std::ops::Range<usize>> {
    span_at(body, path, crate::spec::MAX_MAX_DEPTH as usize)
        .ok()
        .flatten()
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_u00(out: &mut String, c: char) {
    let n = c as usize;
    out.push_str("\\u00");
    out.push(char::from(HEX[(n >> 4) & 0xF]));
    out.push(char::from(HEX[n & 0xF]));
}

/// A JSON string literal (with quotes) for `s`, escaped per RFC 8259: `"`, `\` and control
/// characters (short forms where they exist, else `\u00XX`); the same text serde_json writes.
pub(crate) fn quote(s: &str) -> String {
    // Most values (envelopes, tokens, hashes, masks) need no escaping at all.
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
        return out;
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut from = 0;
    for (i, c) in s.char_indices() {
        let esc = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            c if c < ' ' => "",
            _ => continue,
        };
        out.push_str(s.get(from..i).unwrap_or_default());
        if esc.is_empty() {
            push_u00(&mut out, c);
        } else {
            out.push_str(esc);
        }
        from = i + c.len_utf8();
    }
    out.push_str(s.get(from..).unwrap_or_default());
    out.push('"');
    out
}

/// The RFC 9535 normalized path, e.g. `$['user']['email'][0]`.
pub(crate) fn normalized(path: &[Seg]) -> String {
    let mut out = String::new();
    crate::location::push_normalized(&mut out, path);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;
    use std::convert::Infallible;

    /// `"user.email.0"` -> [Name(user), Name(email), Index(0)]; `""` is the root.
    fn path(s: &str) -> Vec<Seg> {
        if s.is_empty() {
            return Vec::new();
        }
        s.split('.')
            .map(|p| {
                p.parse::<usize>()
                    .map_or_else(|_| Seg::Name(p.to_owned()), Seg::Index)
            })
            .collect()
    }

    fn value(s: &str) -> Value {
        serde_json::from_str(s).expect("test JSON")
    }

    fn span(doc: &str, p: &str) -> Option<String> {
        span_at(doc.as_bytes(), &path(p), 64)
            .expect("valid JSON")
            .map(|r| doc[r].to_owned())
    }

    #[test]
    fn span_at_finds_every_kind_of_value() {
        let doc =
            r#" {"a": {"b": [1, "two", {"c": null}, [true]], "e\u0073c": "x"}, "z": 1.5e3 } "#;
        assert_eq!(span(doc, "").as_deref(), Some(doc.trim()));
        assert_eq!(
            span(doc, "a").as_deref(),
            Some(r#"{"b": [1, "two", {"c": null}, [true]], "e\u0073c": "x"}"#)
        );
        assert_eq!(span(doc, "a.b.0").as_deref(), Some("1"));
        assert_eq!(span(doc, "a.b.1").as_deref(), Some(r#""two""#));
        assert_eq!(span(doc, "a.b.2.c").as_deref(), Some("null"));
        assert_eq!(span(doc, "a.b.3").as_deref(), Some("[true]"));
        assert_eq!(span(doc, "a.b.3.0").as_deref(), Some("true"));
        // Names are compared decoded.
        assert_eq!(span(doc, "a.esc").as_deref(), Some(r#""x""#));
        assert_eq!(span(doc, "z").as_deref(), Some("1.5e3"));
        // Nothing there.
        for missing in ["b", "a.b.4", "a.b.c", "z.0", "a.b.1.x", "a.b.2.c.d"] {
            assert_eq!(span(doc, missing), None, "{missing}");
        }
    }

    #[test]
    fn span_at_refuses_what_the_engine_refuses() {
        assert!(span_at(br#"{"a":1,"a":2}"#, &path("a"), 64).is_err());
        assert!(span_at(br#"{"a":1"#, &path("a"), 64).is_err());
        assert!(span_at(br#"{"a":1} x"#, &path("a"), 64).is_err());
        assert!(span_at(b"[[[1]]]", &path("0.0.0"), 2).is_err());
        // A value found early does not excuse invalid JSON after it.
        assert!(span_at(br#"{"a":1,"b":}"#, &path("a"), 64).is_err());
    }

    fn any_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z\"\\\\é ]{0,6}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[ab\"é\\\\]{0,3}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// For every value of any document, the span holds exactly that value.
        #[test]
        fn span_at_agrees_with_serde_json(doc in any_value(), pretty in any::<bool>()) {
            let text = if pretty {
                serde_json::to_string_pretty(&doc).expect("json")
            } else {
                doc.to_string()
            };
            let mut paths = vec![Vec::new()];
            let mut k = 0;
            while k < paths.len() {
                let p: Vec<Seg> = paths[k].clone();
                let at = p.iter().try_fold(&doc, |v, seg| match seg {
                    Seg::Name(n) => v.get(n.as_str()),
                    Seg::Index(i) => v.get(*i),
                });
                if let Some(v) = at {
                    let range = span_at(text.as_bytes(), &p, 64).expect("valid").expect("found");
                    let got: Value = serde_json::from_str(&text[range]).expect("a value");
                    prop_assert_eq!(&got, v);
                    match v {
                        Value::Object(m) => paths.extend(m.keys().map(|n| {
                            let mut q = p.clone();
                            q.push(Seg::Name(n.clone()));
                            q
                        })),
                        Value::Array(a) => paths.extend((0..a.len()).map(|i| {
                            let mut q = p.clone();
                            q.push(Seg::Index(i));
                            q
                        })),
                        _ => {}
                    }
                }
                k += 1;
            }
        }
    }

    /// Callback calls: target index, raw value.
    type Calls = Vec<(usize, String)>;

    /// Rewrites `doc` with one edit per target; returns the output and the raw values seen.
    fn rw(doc: &str, edits: &[(&str, Edit)]) -> Result<(String, Calls), RewriteError<Infallible>> {
        let targets: Vec<Vec<Seg>> = edits.iter().map(|(p, _)| path(p)).collect();
        let mut calls = Vec::new();
        let out = rewrite(doc.as_bytes(), &targets, 64, |i, raw| {
            calls.push((i, String::from_utf8(raw.to_vec()).expect("utf8")));
            Ok(edits[i].1.clone())
        })?;
        Ok((String::from_utf8(out).expect("utf8 output"), calls))
    }

    fn rw_ok(doc: &str, edits: &[(&str, Edit)]) -> String {
        rw(doc, edits).expect("rewrite").0
    }

    fn null() -> Edit {
        Edit::Replace(b"null".to_vec())
    }

    fn all_problems(
        doc: &[u8],
        depth: usize,
    ) -> (
        Option<JsonProblem>,
        Option<JsonProblem>,
        Option<JsonProblem>,
    ) {
        let p = parse_strict(doc, depth).err();
        let r = match rewrite::<Infallible>(doc, &[], depth, |_, _| Ok(Edit::Keep)) {
            Ok(out) => {
                assert_eq!(out, doc, "rewrite without targets must copy the input");
                None
            }
            Err(RewriteError::Json(p)) => Some(p),
            Err(_) => panic!("unexpected rewrite error"),
        };
        let f = find_strings(doc, depth, |_| true).err();
        (p, r, f)
    }

    /// All three entry points refuse `doc` with the same problem.
    fn refused(doc: &[u8], depth: usize) -> JsonProblem {
        let (p, r, f) = all_problems(doc, depth);
        let p = p.expect("parse_strict should refuse");
        assert_eq!(Some(&p), r.as_ref(), "rewrite agrees");
        assert_eq!(Some(&p), f.as_ref(), "find_strings agrees");
        p
    }

    fn accepted(doc: &[u8], depth: usize) -> Value {
        let (p, r, f) = all_problems(doc, depth);
        assert_eq!((p, r, f), (None, None, None));
        parse_strict(doc, depth).expect("accepted")
    }

    // ----- untouched input ------------------------------------------------------------------

    const ODD: &str = " \r\n\t{ \"a\"\t:\r\n[1 ,2,\n 3 ] , \"big\":12345678901234567890123,\"f\" : 1.000000000000000000001 ,\n\
        \"s\":\"a\\u00e9\\n\\\"q\\\\\\/\\ud83d\\ude00 é 😀\",\"e\":{},\"l\":[ ],\"n\":-0.0e-0,\"t\":true,\"z\" :null , \"x\":1E+2}\n\t ";

    #[test]
    fn untouched_input_is_byte_identical() {
        for doc in [
            ODD,
            "1",
            " \"x\" ",
            "[]",
            "{}",
            "[[[]]]",
            "12.50",
            "-0",
            "[ 1e308 ]",
        ] {
            assert_eq!(rw_ok(doc, &[]), doc);
            // Targets that are not there are not called.
            let (out, calls) =
                rw(doc, &[("nope", null()), ("a.7", null()), ("s.x", null())]).expect("rw");
            assert_eq!(out, doc);
            assert!(calls.is_empty());
        }
        let v = accepted(ODD.as_bytes(), 8);
        assert_eq!(v, value(ODD));
        // Kept targets are called but change nothing.
        let (out, calls) = rw(
            ODD,
            &[
                ("big", Edit::Keep),
                ("f", Edit::Keep),
                ("s", Edit::Keep),
                ("a", Edit::Keep),
            ],
        )
        .expect("rw");
        assert_eq!(out, ODD);
        let raws: Vec<&str> = calls.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(
            raws,
            [
                "[1 ,2,\n 3 ]",
                "12345678901234567890123",
                "1.000000000000000000001",
                "\"a\\u00e9\\n\\\"q\\\\\\/\\ud83d\\ude00 é 😀\""
            ]
        );
        assert_eq!(
            calls.iter().map(|c| c.0).collect::<Vec<_>>(),
            [3, 0, 1, 2],
            "document order"
        );
    }

    // ----- replace --------------------------------------------------------------------------

    #[test]
    fn replace_at_several_depths() {
        let doc =
            r#"{"user": {"email": "a@x.de", "tags": ["x", {"deep": [1, 2, 3]}]}, "n": 12.50 }"#;
        let (out, calls) = rw(
            doc,
            &[
                ("user.email", Edit::Replace(quote("pe2.ab\"c").into_bytes())),
                ("user.tags.1.deep.2", Edit::Replace(b"\"three\"".to_vec())),
                ("n", Edit::Replace(b"{\"k\": 1}".to_vec())),
                ("user.tags.0", Edit::Keep),
            ],
        )
        .expect("rw");
        assert_eq!(
            out,
            r#"{"user": {"email": "pe2.ab\"c", "tags": ["x", {"deep": [1, 2, "three"]}]}, "n": {"k": 1} }"#
        );
        assert_eq!(
            calls,
            [
                (0, "\"a@x.de\"".into()),
                (3, "\"x\"".into()),
                (1, "3".into()),
                (2, "12.50".into())
            ]
        );
        // Whole containers, and the root (surrounding whitespace stays).
        let (out, calls) = rw(doc, &[("user", null())]).expect("rw");
        assert_eq!(out, r#"{"user": null, "n": 12.50 }"#);
        assert_eq!(
            calls[0].1,
            r#"{"email": "a@x.de", "tags": ["x", {"deep": [1, 2, 3]}]}"#
        );
        let (out, calls) = rw(
            &format!(" \n{doc}\t"),
            &[("", Edit::Replace(b"[]".to_vec()))],
        )
        .expect("rw");
        assert_eq!(out, " \n[]\t");
        assert_eq!(calls, [(0, doc.to_owned())]);
    }

    #[test]
    fn escaped_names_match_targets() {
        let doc = r#"{"em\u0061il": "a", "x\"y": "b", "\ud83d\ude00": "c", "plain": "d"}"#;
        let out = rw_ok(doc, &[("email", null()), ("x\"y", null()), ("😀", null())]);
        assert_eq!(
            out,
            r#"{"em\u0061il": null, "x\"y": null, "\ud83d\ude00": null, "plain": "d"}"#
        );
    }

    #[test]
    fn targets_of_the_wrong_kind_are_not_called() {
        let doc = r#"{"a": [1, {"b": 2}], "c": {"0": 1}, "s": "text"}"#;
        let (out, calls) = rw(
            doc,
            &[
                ("a.b", null()),
                ("c.0", null()),
                ("s.0", null()),
                ("a.1.b.x", null()),
            ],
        )
        .expect("rw");
        assert_eq!(out, doc);
        assert!(calls.is_empty());
    }

    #[test]
    fn nested_or_duplicate_targets_are_handled() {
        let doc = r#"{"a": {"b": 1}, "c": 2}"#;
        let (out, calls) = rw(
            doc,
            &[
                ("a.b", null()),
                ("a", Edit::Replace(b"0".to_vec())),
                ("c", null()),
                ("c", null()),
            ],
        )
        .expect("rw");
        assert_eq!(out, r#"{"a": 0, "c": null}"#);
        assert_eq!(
            calls.len(),
            2,
            "the outer target covers the inner one, the duplicate is ignored"
        );
        let (_, calls) = rw(doc, &[("a.b", null()), ("", Edit::Keep)]).expect("rw");
        assert_eq!(calls, [(1, doc.to_owned())]);
    }

    #[test]
    fn edit_errors_and_root_removal() {
        let targets = [path("a")];
        let r = rewrite(b"{\"a\":1}", &targets, 8, |_, _| Err::<Edit, _>("no"));
        assert_eq!(r, Err(RewriteError::Edit("no")));
        let r = rewrite::<Infallible>(b" [1] ", &[Vec::new()], 8, |_, _| Ok(Edit::Remove));
        assert_eq!(r, Err(RewriteError::RemoveRoot));
        let r = rewrite::<Infallible>(b"{\"a\":1", &targets, 8, |_, _| Ok(Edit::Keep));
        assert!(matches!(
            r,
            Err(RewriteError::Json(JsonProblem::Syntax { .. }))
        ));
    }

    // ----- remove ---------------------------------------------------------------------------

    fn removed(doc: &str, paths: &[&str]) -> String {
        let edits: Vec<(&str, Edit)> = paths.iter().map(|p| (*p, Edit::Remove)).collect();
        let out = rw_ok(doc, &edits);
        accepted(out.as_bytes(), 64);
        out
    }

    #[test]
    fn remove_object_members() {
        let doc = r#"{ "a" : 1 , "b": [2], "c":{"x":3}, "d" :4 }"#;
        assert_eq!(removed(doc, &["a"]), r#"{ "b": [2], "c":{"x":3}, "d" :4 }"#);
        assert_eq!(removed(doc, &["c"]), r#"{ "a" : 1 , "b": [2], "d" :4 }"#);
        assert_eq!(
            removed(doc, &["d"]),
            r#"{ "a" : 1 , "b": [2], "c":{"x":3} }"#
        );
        assert_eq!(removed(doc, &["a", "b"]), r#"{ "c":{"x":3}, "d" :4 }"#);
        assert_eq!(removed(doc, &["a", "c"]), r#"{ "b": [2], "d" :4 }"#);
        assert_eq!(removed(doc, &["b", "d"]), r#"{ "a" : 1 , "c":{"x":3} }"#);
        assert_eq!(removed(doc, &["c", "d"]), r#"{ "a" : 1 , "b": [2] }"#);
        assert_eq!(removed(doc, &["a", "d"]), r#"{ "b": [2], "c":{"x":3} }"#);
        assert_eq!(removed(doc, &["a", "b", "c", "d"]), r#"{  }"#);
        assert_eq!(removed(doc, &["b", "c", "d"]), r#"{ "a" : 1 }"#);
        assert_eq!(removed(doc, &["a", "b", "c"]), r#"{ "d" :4 }"#);
        assert_eq!(removed(r#"{"only":1}"#, &["only"]), "{}");
        assert_eq!(
            removed("{\n  \"a\": 1,\n  \"b\": 2\n}", &["b"]),
            "{\n  \"a\": 1\n}"
        );
        assert_eq!(
            removed("{\n  \"a\": 1,\n  \"b\": 2\n}", &["a"]),
            "{\n  \"b\": 2\n}"
        );
    }

    #[test]
    fn remove_array_elements() {
        let doc = "[0, 1 ,2,3]";
        assert_eq!(removed(doc, &["0"]), "[1 ,2,3]");
        assert_eq!(removed(doc, &["1"]), "[0, 2,3]");
        assert_eq!(removed(doc, &["3"]), "[0, 1 ,2]");
        assert_eq!(removed(doc, &["0", "1", "2", "3"]), "[]");
        assert_eq!(removed(doc, &["1", "2"]), "[0, 3]");
        assert_eq!(removed(doc, &["0", "3"]), "[1 ,2]");
        assert_eq!(removed(doc, &["0", "2"]), "[1 ,3]");
        assert_eq!(removed(" [ 7 ] ", &["0"]), " [  ] ");
    }

    #[test]
    fn remove_mixed_with_replace_and_nesting() {
        let doc = r#"{"users":[{"id":1,"email":"a","tel":"1"},{"id":2,"email":"b"}],"keep":true,"drop":{"x":[1]}}"#;
        let out = rw_ok(
            doc,
            &[
                ("users.0.email", Edit::Remove),
                ("users.0.tel", Edit::Replace(b"\"T\"".to_vec())),
                ("users.1.id", Edit::Remove),
                ("users.1.email", Edit::Remove),
                ("drop", Edit::Remove),
            ],
        );
        assert_eq!(out, r#"{"users":[{"id":1,"tel":"T"},{}],"keep":true}"#);
        let out = rw_ok(
            doc,
            &[
                ("users.0", Edit::Remove),
                ("users.1.email", null()),
                ("keep", Edit::Remove),
            ],
        );
        assert_eq!(
            value(&out),
            value(r#"{"users":[{"id":2,"email":null}],"drop":{"x":[1]}}"#)
        );
    }

    // ----- duplicate names ------------------------------------------------------------------

    #[test]
    fn duplicate_names_are_refused() {
        let doc = br#"{"a": 1, "b": 2, "a": 3}"#;
        assert_eq!(refused(doc, 8), JsonProblem::DuplicateKey { offset: 17 });
        let deep = br#"{"l1":{"l2":[{"l4":{"l5":{"x":1,"y":2,"x":3}}}]}}"#;
        assert_eq!(refused(deep, 8), JsonProblem::DuplicateKey { offset: 38 });
        assert_eq!(&deep[38..41], b"\"x\"");
        let escaped = br#"{"email": 1, "em\u0061il": 2}"#;
        assert_eq!(
            refused(escaped, 8),
            JsonProblem::DuplicateKey { offset: 13 }
        );
        let escaped2 = r#"{"\u00e9": 1, "é": 2}"#;
        assert!(matches!(
            refused(escaped2.as_bytes(), 8),
            JsonProblem::DuplicateKey { .. }
        ));
        // The same name in different objects is fine.
        accepted(br#"{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}"#, 8);
        // Large objects (checked by sorting when they close).
        let mut big: Vec<String> = (0..100).map(|i| format!("\"k{i}\": {i}")).collect();
        accepted(format!("{{{}}}", big.join(",")).as_bytes(), 8);
        big.push("\"k\\u0035\": 0".into());
        let doc = format!("{{{}}}", big.join(","));
        let at = doc.find("\"k\\u0035\"").expect("present");
        assert_eq!(
            refused(doc.as_bytes(), 8),
            JsonProblem::DuplicateKey { offset: at }
        );
    }

    #[test]
    fn a_target_behind_a_duplicate_name_is_never_edited_twice() {
        let doc = r#"{"user": {"email": "a"}, "user": {"email": "b"}}"#;
        let targets = [path("user.email")];
        let mut calls = 0;
        let r = rewrite::<Infallible>(doc.as_bytes(), &targets, 8, |_, _| {
            calls += 1;
            Ok(null())
        });
        assert!(matches!(
            r,
            Err(RewriteError::Json(JsonProblem::DuplicateKey { .. }))
        ));
        assert_eq!(calls, 1);
    }

    // ----- depth ----------------------------------------------------------------------------

    fn nested(n: usize) -> String {
        format!(
            "{}1{}",
            "[{\"a\":".repeat(n / 2) + if n % 2 == 1 { "[" } else { "" },
            if n % 2 == 1 { "]" } else { "" }.to_owned() + &"}]".repeat(n / 2)
        )
    }

    #[test]
    fn depth_limit() {
        for limit in [1, 2, 5, 6, 128, 129, 300, 512] {
            let at = nested(limit);
            accepted(at.as_bytes(), limit);
            let over = nested(limit + 1);
            let p = refused(over.as_bytes(), limit);
            assert_eq!(
                p,
                JsonProblem::TooDeep {
                    offset: over.rfind(['[', '{']).expect("bracket"),
                    limit
                }
            );
        }
        accepted(b"1", 0);
        assert!(matches!(
            refused(b"[]", 0),
            JsonProblem::TooDeep {
                offset: 0,
                limit: 0
            }
        ));
        // Far beyond any limit: no stack overflow, in all three functions.
        let huge = "[".repeat(1_000_000);
        assert!(matches!(
            refused(huge.as_bytes(), 512),
            JsonProblem::TooDeep { limit: 512, .. }
        ));
        let huge = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(parse_strict(huge.as_bytes(), usize::MAX).is_ok_and(|v| {
            std::mem::forget(v); // serde_json's Drop recurses; not our concern here
            true
        }));
        assert!(
            rewrite::<Infallible>(huge.as_bytes(), &[], usize::MAX, |_, _| Ok(Edit::Keep)).is_ok()
        );
        // Rewrite deep inside (beyond serde_json's 128).
        let deep = nested(300);
        let mut p = Vec::new();
        for _ in 0..150 {
            p.extend([Seg::Index(0), Seg::Name("a".into())]);
        }
        let out = rewrite::<Infallible>(deep.as_bytes(), &[p], 512, |_, raw| {
            assert_eq!(raw, b"1");
            Ok(Edit::Replace(b"2".to_vec()))
        })
        .expect("deep rewrite");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            deep.replace('1', "2")
        );
    }

    // ----- syntax ---------------------------------------------------------------------------

    #[test]
    fn long_strings_stop_at_every_quote_escape_and_control_byte() {
        // Runs shorter and longer than LONG_RUN, the special byte at every offset around the
        // switch to `long_run_end` and around memchr's and first_control's block sizes.
        let lengths = (0..140).chain([255, 256, 257, 1000, 4096, 40_000]);
        for len in lengths {
            let positions: Vec<usize> = if len < 140 {
                (0..=len).collect()
            } else {
                vec![0, 31, 32, 33, 63, 64, 65, len / 2, len - 1, len]
            };
            for &at in &positions {
                for special in ["\"", "\\n", "\\u00e9", "\u{1}", "\u{1f}", "\n", "\u{e9}"] {
                    let text = format!("[\"{}{special}{}\"]", "a".repeat(at), "b".repeat(len - at));
                    let ours = parse_strict(text.as_bytes(), 8);
                    let theirs = serde_json::from_str::<Value>(&text);
                    assert_eq!(ours.is_ok(), theirs.is_ok(), "{len} {at} {special:?}");
                    if let Ok(v) = ours {
                        assert_eq!(Ok(v), theirs.map_err(|_| ()), "{len} {at} {special:?}");
                    } else if special.starts_with(|c: char| c < ' ') {
                        assert_eq!(
                            refused(text.as_bytes(), 8),
                            syntax(2 + at, "control character in a string: it must be escaped"),
                            "{len} {at} {special:?}"
                        );
                    }
                }
            }
        }
        // Unterminated, long.
        let open = format!("[\"{}", "a".repeat(5000));
        assert_eq!(
            refused(open.as_bytes(), 8),
            syntax(1, "unterminated string")
        );
    }

    #[test]
    fn syntax_problems() {
        assert_eq!(refused(b"", 8), JsonProblem::Empty);
        assert_eq!(refused(b" \n\t\r ", 8), JsonProblem::Empty);
        assert_eq!(refused(b"\xEF\xBB\xBF{}", 8), syntax(0, "byte order mark"));
        assert_eq!(refused(b"[\"a\xFFb\"]", 8), syntax(3, "invalid UTF-8"));
        assert_eq!(refused(b"[\"\xC3\"]", 8), syntax(2, "invalid UTF-8"));
        assert!(matches!(
            refused(b"{} x", 8),
            JsonProblem::Syntax { offset: 3, .. }
        ));
        assert!(matches!(
            refused(b"1 2", 8),
            JsonProblem::Syntax { offset: 2, .. }
        ));
        assert!(matches!(
            refused(b"[1]]", 8),
            JsonProblem::Syntax { offset: 3, .. }
        ));
        for lone in [
            &br#"["\ud800"]"#[..],
            br#"["\udc00"]"#,
            br#"["\ud800\u0041"]"#,
            br#"["\ud800\n"]"#,
            br#"{"\udbff":1}"#,
            br#"["\ud800\udbff"]"#,
        ] {
            let p = refused(lone, 8);
            assert!(
                matches!(
                    p,
                    JsonProblem::Syntax {
                        what: "lone surrogate in a \\u escape",
                        ..
                    }
                ),
                "{p:?}"
            );
        }
        for bad in [
            &b"[1,]"[..],
            b"{\"a\":1,}",
            b"[01]",
            b"[1.]",
            b"[.5]",
            b"[+1]",
            b"[-]",
            b"[1e]",
            b"[1e+]",
            b"[NaN]",
            b"[Infinity]",
            b"['a']",
            b"{a:1}",
            b"[\"a\tb\"]",
            b"[\"\\x\"]",
            b"[\"\\u12\"]",
            b"[\"abc",
            b"[tru]",
            b"[nul",
            b"{\"a\" 1}",
            b"{\"a\":}",
            b"[1 2]",
            b"{,}",
            b"[,1]",
            b"\"\x00\"",
            b"[\"\\uZZZZ\"]",
            b"{\"a\":1 \"b\":2}",
            b"[1}",
            b"{\"a\":1]",
            b"[",
            b"{",
            b"\x00",
            b"[1]\x00",
        ] {
            assert!(
                matches!(refused(bad, 8), JsonProblem::Syntax { .. }),
                "{}",
                String::from_utf8_lossy(bad)
            );
            assert!(
                serde_json::from_slice::<Value>(bad).is_err(),
                "serde_json refuses it too"
            );
        }
    }

    #[test]
    fn numbers() {
        for big in [
            &b"1e400"[..],
            b"[-1e400]",
            b"{\"a\":1.5E+309}",
            b"[0.00001e314]",
            b"[2e308]",
        ] {
            assert!(matches!(
                refused(big, 8),
                JsonProblem::NumberOutOfRange { .. }
            ));
        }
        let digits = format!("[{}]", "9".repeat(400));
        assert_eq!(
            refused(digits.as_bytes(), 8),
            JsonProblem::NumberOutOfRange { offset: 1 }
        );
        for ok in [
            "1e308",
            "-1.7976931348623157e308",
            "1e-400",
            "0e999999999999",
            "0.0e400",
            "123456789012345678901234567890",
            "1e-99999999999999",
            "-0",
            "0.1e309",
        ] {
            let v = accepted(ok.as_bytes(), 8);
            assert_eq!(v, value(ok), "{ok}");
        }
        // Integers keep serde_json's representation (u64, i64, else f64).
        for n in [
            "0",
            "-0",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "9999999999999999999",
            "-999999999999999999",
            "12.50",
            "1E2",
        ] {
            let ours = parse_strict(n.as_bytes(), 8).expect("number");
            let theirs = value(n);
            assert_eq!(ours, theirs, "{n}");
            assert_eq!(ours.as_u64(), theirs.as_u64());
            assert_eq!(ours.as_i64(), theirs.as_i64());
            assert_eq!(
                ours.as_f64().map(f64::to_bits),
                theirs.as_f64().map(f64::to_bits),
                "{n}"
            );
        }
    }

    #[test]
    fn problems_never_show_input_text() {
        let secret = "hunter2@example.com";
        let docs = [
            format!("{{\"{secret}\":1,\"{secret}\":2}}"),
            format!("[\"{secret}\" \"{secret}\"]"),
            format!("[\"{secret}\\ud800\"]"),
            format!("[{secret}]"),
            format!("[1e999{secret}]"),
        ];
        for d in docs {
            let p = parse_strict(d.as_bytes(), 8).expect_err("refused");
            let msg = format!("{p} {p:?}");
            assert!(!msg.contains("hunter") && !msg.contains("example"), "{msg}");
        }
        let msg = JsonProblem::DuplicateKey { offset: 123 }.to_string();
        assert_eq!(msg, "duplicate object member name at byte 123: the origin could read the other one; send each name once");
    }

    // ----- find_strings, quote, normalized ----------------------------------------------------

    #[test]
    fn find_strings_finds_values_not_names() {
        let doc = br#"{"pe2.key": "pe2.a", "list": [1, "x", "pe\u0032.b", {"k\u0027": ["pe2.c"]}], "z": "pe1"}"#;
        let found = find_strings(doc, 8, |s| s.starts_with("pe2.")).expect("find");
        assert_eq!(
            found,
            vec![
                (vec![Seg::Name("pe2.key".into())], "pe2.a".to_owned()),
                (path("list.2"), "pe2.b".to_owned()),
                (
                    vec![
                        Seg::Name("list".into()),
                        Seg::Index(3),
                        Seg::Name("k'".into()),
                        Seg::Index(0)
                    ],
                    "pe2.c".to_owned()
                ),
            ]
        );
        assert_eq!(
            find_strings(b"\"pe2.root\"", 0, |_| true).expect("root"),
            vec![(vec![], "pe2.root".to_owned())]
        );
        assert_eq!(normalized(&found[2].0), r"$['list'][3]['k\''][0]");
    }

    #[test]
    fn quote_and_normalized() {
        for s in [
            "",
            "plain",
            "q\"b\\s/",
            "\u{0}\u{1}\u{8}\u{c}\n\r\t\u{1f}\u{7f}",
            "é😀\u{2028}",
        ] {
            assert_eq!(quote(s), serde_json::to_string(s).expect("serde"));
            assert_eq!(
                parse_strict(quote(s).as_bytes(), 0).expect("valid"),
                Value::String(s.to_owned())
            );
        }
        assert_eq!(normalized(&[]), "$");
        assert_eq!(normalized(&path("user.email.0")), "$['user']['email'][0]");
        assert_eq!(
            normalized(&[
                Seg::Name("a'b\\c\u{8}\u{c}\n\r\t\u{1}\u{1f}\"é".into()),
                Seg::Index(12)
            ]),
            r#"$['a\'b\\c\b\f\n\r\t\u0001\u001f"é'][12]"#
        );
    }

    // ----- property tests ---------------------------------------------------------------------

    #[derive(Debug, Clone)]
    enum J {
        Null,
        Bool(bool),
        Num(String),
        Str(String),
        Arr(Vec<J>),
        Obj(Vec<(String, J)>),
    }

    fn num() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            (
                any::<i32>(),
                0u32..100_000,
                prop::option::of(-300i32..290),
                any::<bool>()
            )
                .prop_map(|(i, f, e, upper)| {
                    let mut s = format!("{i}.{f}");
                    if let Some(e) = e {
                        s.push_str(if upper { "E" } else { "e" });
                        if e >= 0 && upper {
                            s.push('+');
                        }
                        s.push_str(&e.to_string());
                    }
                    s
                }),
            prop::sample::select(vec![
                "0",
                "-0",
                "12345678901234567890123",
                "1.000000000000000000001",
                "12.50",
                "1E+2",
                "-1e-400",
                "0.0",
                "1e308",
                "-0.0e-5",
                "18446744073709551616",
                "-9223372036854775809",
            ])
            .prop_map(String::from),
        ]
    }

    fn text() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                3 => any::<char>(),
                2 => prop::sample::select(vec!['"', '\\', '/', '\n', '\u{1}', '\u{1f}', 'a', 'é', '😀', '\u{7f}', '\'']),
            ],
            0..8,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec!["a", "b", "email", "x\"y", "é"]).prop_map(String::from),
            text()
        ]
    }

    fn doc() -> impl Strategy<Value = J> {
        let leaf = prop_oneof![
            Just(J::Null),
            any::<bool>().prop_map(J::Bool),
            num().prop_map(J::Num),
            text().prop_map(J::Str),
        ];
        leaf.prop_recursive(5, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(J::Arr),
                prop::collection::vec((key(), inner), 0..6).prop_map(|members| {
                    let mut seen = HashSet::new();
                    J::Obj(
                        members
                            .into_iter()
                            .filter(|(k, _)| seen.insert(k.clone()))
                            .collect(),
                    )
                }),
            ]
        })
    }

    struct Rng(u64);

    impl Rng {
        fn pick(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    fn ws(rng: &mut Rng, out: &mut String) {
        out.push_str(["", "", "", " ", "\n  ", "\t", "\r\n", " \t "][rng.pick(8) as usize]);
    }

    fn print_str(s: &str, rng: &mut Rng, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            let uhex = |out: &mut String, rng: &mut Rng, u: u32| {
                let h = format!("{u:04x}");
                out.push_str("\\u");
                out.push_str(&if rng.pick(2) == 0 {
                    h.to_uppercase()
                } else {
                    h
                });
            };
            let escape = rng.pick(6) == 0;
            match c {
                '"' if !escape => out.push_str("\\\""),
                '\\' if !escape => out.push_str("\\\\"),
                '\n' if !escape => out.push_str("\\n"),
                '/' if escape => out.push_str("\\/"),
                c if (c as u32) < 0x20 || c == '"' || c == '\\' || escape => {
                    let mut buf = [0u16; 2];
                    for u in c.encode_utf16(&mut buf) {
                        uhex(out, rng, u32::from(*u));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }

    fn print(j: &J, rng: &mut Rng, out: &mut String) {
        ws(rng, out);
        match j {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Num(n) => out.push_str(n),
            J::Str(s) => print_str(s, rng, out),
            J::Arr(items) => {
                out.push('[');
                ws(rng, out);
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    print(item, rng, out);
                }
                out.push(']');
            }
            J::Obj(members) => {
                out.push('{');
                ws(rng, out);
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                        ws(rng, out);
                    }
                    print_str(k, rng, out);
                    ws(rng, out);
                    out.push(':');
                    print(v, rng, out);
                }
                out.push('}');
            }
        }
        ws(rng, out);
    }

    fn paths(j: &J, prefix: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
        out.push(prefix.clone());
        let children: Vec<(Seg, &J)> = match j {
            J::Arr(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (Seg::Index(i), v))
                .collect(),
            J::Obj(m) => m.iter().map(|(k, v)| (Seg::Name(k.clone()), v)).collect(),
            _ => Vec::new(),
        };
        for (seg, child) in children {
            prefix.push(seg);
            paths(child, prefix, out);
            prefix.pop();
        }
    }

    /// A random prefix-free selection of the paths, in random order.
    fn select(j: &J, rng: &mut Rng, with_root: bool, objects_only: bool) -> Vec<Vec<Seg>> {
        let mut all = Vec::new();
        paths(j, &mut Vec::new(), &mut all);
        let mut chosen: Vec<Vec<Seg>> = all
            .into_iter()
            .filter(|p| {
                (with_root || !p.is_empty())
                    && (!objects_only || matches!(p.last(), Some(Seg::Name(_))))
            })
            .filter(|_| rng.pick(3) == 0)
            .collect();
        chosen.sort();
        let mut kept: Vec<Vec<Seg>> = Vec::new();
        for p in chosen {
            if kept.last().is_some_and(|k| p.starts_with(k)) {
                continue;
            }
            kept.push(p);
        }
        for i in (1..kept.len()).rev() {
            let j = rng.pick(i as u64 + 1) as usize;
            kept.swap(i, j);
        }
        kept
    }

    fn get_mut<'v>(v: &'v mut Value, p: &[Seg]) -> Option<&'v mut Value> {
        p.iter().try_fold(v, |v, seg| match seg {
            Seg::Name(n) => v.get_mut(n.as_str()),
            Seg::Index(i) => v.get_mut(*i),
        })
    }

    fn render(j: &J, seed: u64) -> String {
        let mut out = String::new();
        print(j, &mut Rng(seed | 1), &mut out);
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// (a) No targets: the output is the input, byte for byte.
        #[test]
        fn prop_identity(j in doc(), seed in any::<u64>()) {
            let text = render(&j, seed);
            let out = rewrite::<Infallible>(text.as_bytes(), &[], 64, |_, _| Ok(Edit::Keep));
            prop_assert_eq!(out.ok(), Some(text.clone().into_bytes()));
            let mut rng = Rng(seed.rotate_left(7) | 1);
            let targets = select(&j, &mut rng, true, false);
            let out = rewrite::<Infallible>(text.as_bytes(), &targets, 64, |_, _| Ok(Edit::Keep));
            prop_assert_eq!(out.ok(), Some(text.into_bytes()));
        }

        /// (b) Removing random members and elements gives the Value-level removal.
        #[test]
        fn prop_remove(j in doc(), seed in any::<u64>(), objects_only in any::<bool>()) {
            let text = render(&j, seed);
            let mut expected: Value = serde_json::from_str(&text).expect("oracle");
            let mut rng = Rng(seed.rotate_left(7) | 1);
            let targets = select(&j, &mut rng, false, objects_only);
            let mut calls = 0;
            let out = rewrite::<Infallible>(text.as_bytes(), &targets, 64, |_, _| { calls += 1; Ok(Edit::Remove) }).expect("rewrite");
            prop_assert_eq!(calls, targets.len());
            let mut sorted = targets.clone();
            sorted.sort();
            for p in sorted.iter().rev() {
                let (last, parent) = p.split_last().expect("not root");
                match (get_mut(&mut expected, parent).expect("parent"), last) {
                    (Value::Object(m), Seg::Name(n)) => { m.remove(n); }
                    (Value::Array(a), Seg::Index(i)) => { a.remove(*i); }
                    _ => unreachable!(),
                }
            }
            let got = parse_strict(&out, 64);
            prop_assert_eq!(got, Ok(expected), "{}", String::from_utf8_lossy(&out));
        }

        /// (c) Replacing random targets with null gives the Value-level replacement; the raw bytes
        /// handed to the callback are the value.
        #[test]
        fn prop_replace(j in doc(), seed in any::<u64>()) {
            let text = render(&j, seed);
            let original: Value = serde_json::from_str(&text).expect("oracle");
            let mut expected = original.clone();
            let mut rng = Rng(seed.rotate_left(7) | 1);
            let targets = select(&j, &mut rng, true, false);
            let mut order = Vec::new();
            let out = rewrite::<Infallible>(text.as_bytes(), &targets, 64, |i, raw| {
                let mut o = original.clone();
                let want = get_mut(&mut o, &targets[i]).cloned();
                assert_eq!(serde_json::from_slice::<Value>(raw).ok(), want);
                order.push(targets[i].clone());
                Ok(Edit::Replace(b"null".to_vec()))
            }).expect("rewrite");
            let mut in_document = Vec::new();
            paths(&j, &mut Vec::new(), &mut in_document);
            in_document.retain(|p| targets.contains(p));
            prop_assert_eq!(&order, &in_document, "document order");
            for p in &targets {
                *get_mut(&mut expected, p).expect("present") = Value::Null;
            }
            prop_assert_eq!(serde_json::from_slice::<Value>(&out).ok(), Some(expected));
        }

        /// (d) parse_strict agrees with serde_json on valid documents without duplicate names.
        #[test]
        fn prop_parse_agrees(j in doc(), seed in any::<u64>()) {
            let text = render(&j, seed);
            let theirs: Value = serde_json::from_str(&text).expect("oracle");
            let ours = parse_strict(text.as_bytes(), 64);
            prop_assert_eq!(ours, Ok(theirs.clone()));
            // find_strings finds every string value.
            let found = find_strings(text.as_bytes(), 64, |_| true).expect("find");
            for (p, s) in &found {
                let mut t = theirs.clone();
                prop_assert_eq!(get_mut(&mut t, p).cloned(), Some(Value::String(s.clone())));
            }
        }

        /// Damaged documents: nothing panics, all entry points agree, and what we accept
        /// serde_json accepts with the same value.
        #[test]
        fn prop_damaged(j in doc(), seed in any::<u64>(), at in any::<usize>(), byte in any::<u8>(), op in 0u8..3) {
            let mut bytes = render(&j, seed).into_bytes();
            let at = at % (bytes.len() + 1);
            match op {
                0 => bytes.insert(at, byte),
                1 if at < bytes.len() => { bytes.remove(at); }
                _ if at < bytes.len() => bytes[at] = byte,
                _ => bytes.push(byte),
            }
            let (p, r, f) = all_problems(&bytes, 64);
            prop_assert_eq!(&p, &r);
            prop_assert_eq!(&p, &f);
            if p.is_none() {
                prop_assert_eq!(parse_strict(&bytes, 64).ok(), serde_json::from_slice::<Value>(&bytes).ok());
            }
        }
    }

    // ----- speed ------------------------------------------------------------------------------

    /// `cargo test -p pii-core --lib --release json::tests::speed -- --ignored --nocapture`
    #[test]
    #[ignore = "measurement, run by hand in release mode"]
    fn speed() {
        use std::hint::black_box;
        use std::time::Instant;
        let mut users = Vec::new();
        let mut i = 0;
        let mut doc = String::new();
        while doc.len() < 40_000 {
            users.push(format!(
                r#"{{"id": {i}, "name": "Jöhn \"Doe\" {i}", "email": "john.doe{i}@example.com", "phone": "+49 30 1234{i}",
  "address": {{"street": "Unter den Linden {i}", "city": "Berlin", "zip": "10115", "geo": [52.517, 13.388]}},
  "tags": ["customer", "newsletter", "vip"], "score": {i}.25, "active": true, "notes": null,
  "history": [{{"at": "2024-01-0{}T10:00:00Z", "amount": 1999, "currency": "EUR"}}]}}"#,
                i % 9 + 1
            ));
            doc = format!(
                "{{\"request_id\": \"7d1f3a2c\", \"users\": [\n{}\n]}}",
                users.join(",\n")
            );
            i += 1;
        }
        let bytes = doc.as_bytes();
        let targets: Vec<Vec<Seg>> = (0..i)
            .flat_map(|u| {
                [
                    vec![
                        Seg::Name("users".into()),
                        Seg::Index(u),
                        Seg::Name("email".into()),
                    ],
                    vec![
                        Seg::Name("users".into()),
                        Seg::Index(u),
                        Seg::Name("address".into()),
                        Seg::Name("street".into()),
                    ],
                    vec![
                        Seg::Name("users".into()),
                        Seg::Index(u),
                        Seg::Name("phone".into()),
                    ],
                ]
            })
            .collect();
        let replacement = quote(&format!("pe2.{}", "A".repeat(60))).into_bytes();
        let n = 50;
        // The best of several rounds: the machine may be busy with other work.
        let time = |f: &mut dyn FnMut()| {
            (0..10)
                .map(|_| {
                    let t = Instant::now();
                    for _ in 0..n {
                        f();
                    }
                    t.elapsed().as_secs_f64() / f64::from(n)
                })
                .fold(f64::INFINITY, f64::min)
        };
        let serde = time(&mut || {
            black_box(serde_json::from_slice::<Value>(black_box(bytes)).expect("serde"));
        });
        let strict = time(&mut || {
            black_box(parse_strict(black_box(bytes), 512).expect("strict"));
        });
        let copy = time(&mut || {
            black_box(
                rewrite::<Infallible>(black_box(bytes), &[], 512, |_, _| Ok(Edit::Keep))
                    .expect("rw"),
            );
        });
        let replace = time(&mut || {
            black_box(
                rewrite::<Infallible>(black_box(bytes), &targets, 512, |_, _| {
                    Ok(Edit::Replace(replacement.clone()))
                })
                .expect("rw"),
            );
        });
        let remove = time(&mut || {
            black_box(
                rewrite::<Infallible>(black_box(bytes), &targets, 512, |_, _| Ok(Edit::Remove))
                    .expect("rw"),
            );
        });
        let find = time(&mut || {
            black_box(
                find_strings(black_box(bytes), 512, |s| s.starts_with("pe2.")).expect("find"),
            );
        });
        println!(
            "doc {} bytes, {} targets; serde_json::from_slice::<Value> {:.1} us = 1.00\n\
             parse_strict {:.2}x, rewrite(no targets) {:.2}x, rewrite(replace) {:.2}x, rewrite(remove) {:.2}x, find_strings {:.2}x",
            bytes.len(),
            targets.len(),
            serde * 1e6,
            strict / serde,
            copy / serde,
            replace / serde,
            remove / serde,
            find / serde
        );
    }
}
