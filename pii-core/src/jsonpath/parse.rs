//! The one parser of JSONPath text into the syntax tree of `syntax.rs`, after the ABNF of
//! RFC 9535 §2.1 (queries), §2.3 (selectors) and §2.5 (segments). Filter expressions
//! (§2.3.5.1) are read token by token for what they mention; their logic is serde_json_path's.
//!
//! A policy's query is parsed here once, when the policy loads; serde_json_path parses the
//! same text to evaluate it and to word the error when it is not valid JSONPath.

use super::syntax::{Filter, Query, Root, Segment, Selector};

/// Filters inside embedded queries inside filters, at most this deep: the parser recurses
/// once per level.
const MAX_NESTING: usize = 32;

/// The reason for a text that ends inside a `\u` escape (after `\u` and fewer than four hex
/// digits).
pub(crate) const CUT_ESCAPE: &str = "the text ends inside a `\\u` escape";

/// Why a text is not a query this parser reads: the byte offset and a fixed description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) offset: usize,
    pub(crate) reason: &'static str,
}

/// Parse a whole JSONPath query (`$` and segments, nothing after them).
pub(crate) fn parse(text: &str) -> Result<Query, SyntaxError> {
    let mut p = Parser {
        b: text.as_bytes(),
        text,
        i: 0,
        depth: 0,
    };
    if p.b.first() != Some(&b'$') {
        return Err(p.err("a query starts with `$`"));
    }
    p.i = 1;
    let query = p.segments()?;
    if p.i != p.b.len() {
        return Err(p.err("unexpected text after the query"));
    }
    Ok(query)
}

struct Parser<'t> {
    text: &'t str,
    b: &'t [u8],
    i: usize,
    depth: usize,
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// `name-first` of §2.5.1.1, for one character.
fn is_name_first(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || !c.is_ascii()
}

impl Parser<'_> {
    fn err(&self, reason: &'static str) -> SyntaxError {
        SyntaxError {
            offset: self.i,
            reason,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn blanks(&mut self) {
        while self.peek().is_some_and(is_blank) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8, reason: &'static str) -> Result<(), SyntaxError> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(reason))
        }
    }

    /// `*(S segment)`: segments as long as one follows (blank space before each).
    fn segments(&mut self) -> Result<Query, SyntaxError> {
        let mut segments = Vec::new();
        loop {
            let before = self.i;
            self.blanks();
            match self.peek() {
                Some(b'[') => segments.push(Segment {
                    descendant: false,
                    selectors: self.bracketed()?,
                }),
                Some(b'.') if self.b.get(self.i + 1) == Some(&b'.') => {
                    self.i += 2;
                    let selectors = if self.peek() == Some(b'[') {
                        self.bracketed()?
                    } else {
                        vec![self.shorthand()?]
                    };
                    segments.push(Segment {
                        descendant: true,
                        selectors,
                    });
                }
                Some(b'.') => {
                    self.i += 1;
                    segments.push(Segment {
                        descendant: false,
                        selectors: vec![self.shorthand()?],
                    });
                }
                _ => {
                    self.i = before;
                    return Ok(Query { segments });
                }
            }
        }
    }

    /// `*` or a member-name-shorthand (§2.5.1.1), right after the dot(s).
    fn shorthand(&mut self) -> Result<Selector, SyntaxError> {
        if self.peek() == Some(b'*') {
            self.i += 1;
            return Ok(Selector::Wildcard);
        }
        let rest = self.text.get(self.i..).unwrap_or_default();
        let mut end = 0;
        for (at, c) in rest.char_indices() {
            if is_name_first(c) || (at > 0 && c.is_ascii_digit()) {
                end = at + c.len_utf8();
            } else {
                break;
            }
        }
        if end == 0 {
            return Err(self.err("expected a member name or `*`"));
        }
        self.i += end;
        Ok(Selector::Name(rest[..end].to_owned()))
    }

    /// `[ S selector *(S "," S selector) S ]`.
    fn bracketed(&mut self) -> Result<Vec<Selector>, SyntaxError> {
        self.expect(b'[', "expected `[`")?;
        let mut selectors = Vec::new();
        loop {
            self.blanks();
            selectors.push(self.selector()?);
            self.blanks();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(selectors);
                }
                _ => return Err(self.err("expected `,` or `]`")),
            }
        }
    }

    fn selector(&mut self) -> Result<Selector, SyntaxError> {
        match self.peek() {
            Some(q @ (b'\'' | b'"')) => Ok(Selector::Name(self.string(q)?)),
            Some(b'*') => {
                self.i += 1;
                Ok(Selector::Wildcard)
            }
            Some(b'?') => {
                self.i += 1;
                Ok(Selector::Filter(self.filter()?))
            }
            _ => {
                let start = self.int()?;
                let at = self.i;
                self.blanks();
                if self.peek() != Some(b':') {
                    self.i = at;
                    return start
                        .map(Selector::Index)
                        .ok_or_else(|| self.err("expected a selector"));
                }
                self.i += 1;
                self.blanks();
                let end = self.int()?;
                self.blanks();
                let step = if self.peek() == Some(b':') {
                    self.i += 1;
                    self.blanks();
                    self.int()?
                } else {
                    None
                };
                Ok(Selector::Slice { start, end, step })
            }
        }
    }

    /// An optional `int` (§2.3.3.1): `0` or an optional `-` and digits without a leading zero,
    /// within ±(2^53 - 1).
    fn int(&mut self) -> Result<Option<i64>, SyntaxError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let digits = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        let text = self.text.get(digits..self.i).unwrap_or_default();
        if text.is_empty() {
            self.i = start;
            return if digits > start {
                Err(self.err("expected digits after `-`"))
            } else {
                Ok(None)
            };
        }
        if text.len() > 1 && text.starts_with('0') || (text == "0" && digits > start) {
            return Err(self.err("an index has no leading zeros and no `-0`"));
        }
        const MAX: i64 = (1 << 53) - 1;
        let value: i64 = self
            .text
            .get(start..self.i)
            .unwrap_or_default()
            .parse()
            .ok()
            .filter(|v: &i64| (-MAX..=MAX).contains(v))
            .ok_or(SyntaxError {
                offset: start,
                reason: "an index is out of range",
            })?;
        Ok(Some(value))
    }

    /// A string literal (§2.3.1.1) starting at its quote `q`, decoded.
    fn string(&mut self, q: u8) -> Result<String, SyntaxError> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let rest = self.text.get(self.i..).unwrap_or_default();
            let c = rest
                .chars()
                .next()
                .ok_or_else(|| self.err("unterminated string"))?;
            match c {
                c if c == char::from(q) => {
                    self.i += 1;
                    return Ok(out);
                }
                '\\' => {
                    let e = rest.as_bytes().get(1).copied();
                    let decoded = match e {
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'/') => '/',
                        Some(b'\\') => '\\',
                        Some(e) if e == q => char::from(q),
                        Some(b'u') => {
                            self.i += 2;
                            let c = self.unicode_escape()?;
                            out.push(c);
                            continue;
                        }
                        _ => return Err(self.err("unknown escape")),
                    };
                    out.push(decoded);
                    self.i += 2;
                }
                c if c < ' ' => return Err(self.err("a control character must be escaped")),
                c => {
                    out.push(c);
                    self.i += c.len_utf8();
                }
            }
        }
    }

    /// After `\u`: four hex digits, and a low surrogate's `\uXXXX` after a high one.
    fn unicode_escape(&mut self) -> Result<char, SyntaxError> {
        let hex4 = |p: &mut Self| -> Result<u32, SyntaxError> {
            let rest = p.b.get(p.i..).unwrap_or_default();
            if rest.len() < 4 && rest.iter().all(u8::is_ascii_hexdigit) {
                return Err(p.err(CUT_ESCAPE));
            }
            let digits = p.text.get(p.i..p.i + 4).unwrap_or_default();
            if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(p.err("`\\u` needs four hex digits"));
            }
            p.i += 4;
            u32::from_str_radix(digits, 16).map_err(|_| p.err("`\\u` needs four hex digits"))
        };
        let high = hex4(self)?;
        let code = if (0xD800..0xDC00).contains(&high) {
            if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                return Err(self.err("a high surrogate needs a low one after it"));
            }
            self.i += 2;
            let low = hex4(self)?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(self.err("a high surrogate needs a low one after it"));
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else {
            high
        };
        char::from_u32(code).ok_or_else(|| self.err("a lone low surrogate"))
    }

    /// A filter's logical expression, after `?`, up to the `,` or `]` that ends the selector.
    fn filter(&mut self) -> Result<Filter, SyntaxError> {
        if self.depth >= MAX_NESTING {
            return Err(self.err("filters are nested too deeply"));
        }
        self.depth += 1;
        let mut filter = Filter::default();
        let mut parens = 0usize;
        let mut tokens = 0usize;
        loop {
            self.blanks();
            let Some(c) = self.peek() else {
                return Err(self.err("unterminated filter"));
            };
            match c {
                b',' | b']' if parens == 0 => break,
                b'\'' | b'"' => filter.literals.push(self.string(c)?),
                b'@' | b'$' => {
                    self.i += 1;
                    let root = if c == b'@' {
                        Root::Current
                    } else {
                        Root::Document
                    };
                    filter.queries.push((root, self.segments()?));
                }
                b'(' => {
                    parens += 1;
                    self.i += 1;
                }
                b')' => {
                    parens = parens
                        .checked_sub(1)
                        .ok_or_else(|| self.err("`)` without `(`"))?;
                    self.i += 1;
                }
                b',' => self.i += 1, // between function arguments
                b'=' | b'!' | b'<' | b'>' | b'&' | b'|' => self.i += 1,
                b'-' | b'0'..=b'9' => {
                    self.i += 1;
                    while self.peek().is_some_and(|c| {
                        c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-')
                    }) {
                        self.i += 1;
                    }
                }
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    let start = self.i;
                    while self
                        .peek()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                    {
                        self.i += 1;
                    }
                    let name = self.text.get(start..self.i).unwrap_or_default();
                    let after = self.i;
                    self.blanks();
                    if self.peek() == Some(b'(') {
                        filter.functions.push((start, name.to_owned()));
                    } else if !matches!(name, "true" | "false" | "null") {
                        return Err(SyntaxError {
                            offset: start,
                            reason: "expected a literal, a query or a function call",
                        });
                    }
                    self.i = after;
                }
                _ => return Err(self.err("unexpected character in a filter")),
            }
            tokens += 1;
        }
        if tokens == 0 {
            return Err(self.err("a filter needs an expression"));
        }
        self.depth -= 1;
        Ok(filter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> Selector {
        Selector::Name(n.to_owned())
    }

    fn child(selectors: Vec<Selector>) -> Segment {
        Segment {
            descendant: false,
            selectors,
        }
    }

    #[test]
    fn segments_and_selectors() {
        let q = parse("$.a ['b', \"c\\u00e9\"][0, -1, 1:2, ::-1, *]..d..*..[?@.e]").expect("valid");
        assert_eq!(q.segments.len(), 6);
        assert_eq!(q.segments[0], child(vec![name("a")]));
        assert_eq!(q.segments[1], child(vec![name("b"), name("cé")]));
        assert_eq!(
            q.segments[2],
            child(vec![
                Selector::Index(0),
                Selector::Index(-1),
                Selector::Slice {
                    start: Some(1),
                    end: Some(2),
                    step: None
                },
                Selector::Slice {
                    start: None,
                    end: None,
                    step: Some(-1)
                },
                Selector::Wildcard,
            ])
        );
        assert!(q.segments[3].descendant && q.segments[3].selectors == [name("d")]);
        assert!(q.segments[4].descendant && q.segments[4].selectors == [Selector::Wildcard]);
        let Selector::Filter(f) = &q.segments[5].selectors[0] else {
            panic!("a filter");
        };
        assert_eq!(f.queries, [(Root::Current, parse("$.e").expect("valid"))]);
    }

    #[test]
    fn names_are_decoded() {
        for (text, want) in [
            (r"$['a\'b']", "a'b"),
            (r#"$["a\"b"]"#, "a\"b"),
            (r"$['\b\f\n\r\t\/\\']", "\u{8}\u{c}\n\r\t/\\"),
            (r"$['\ud83d\ude00']", "😀"),
            ("$.é_1", "é_1"),
        ] {
            assert_eq!(parse(text).expect(text).segments[0].selectors, [name(want)]);
        }
    }

    #[test]
    fn filters_keep_what_they_mention() {
        let q = parse("$.m[?@.internal != true && length(@.tags) > 0 || $.x == 'it\\'s'].body")
            .expect("valid");
        let Selector::Filter(f) = &q.segments[1].selectors[0] else {
            panic!("a filter");
        };
        assert_eq!(f.queries.len(), 3);
        assert_eq!(f.queries[2].0, Root::Document);
        assert_eq!(f.literals, ["it's"]);
        assert_eq!(f.functions, [(27, "length".to_owned())]);
        assert_eq!(q.names(), ["body", "internal", "it's", "m", "tags", "x"]);
    }

    #[test]
    fn refuses_what_is_not_a_query() {
        for bad in [
            "",
            "@.a",
            "$.",
            "$..",
            "$.1a",
            "$[",
            "$['a'",
            "$[01]",
            "$[-0]",
            "$[a]",
            "$.a ",
            "$[?]",
            "$[?@.a == ]]",
            "$['\\x']",
            "$['\\ud800']",
            "$[9007199254740992]",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let deep = format!("$.a{}", "[?@".repeat(40));
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn singular_paths() {
        use crate::json::PathElement as E;
        let singular = |t: &str| parse(t).expect(t).singular();
        assert_eq!(
            singular("$.a['b'][2]"),
            Some(vec![E::Name("a".into()), E::Name("b".into()), E::Index(2)])
        );
        assert_eq!(singular("$"), Some(vec![]));
        for no in [
            "$..a",
            "$.a[*]",
            "$.a[?@.b]",
            "$[-1]",
            "$['a','b']",
            "$[0:1]",
        ] {
            assert_eq!(singular(no), None, "{no}");
        }
    }
}
