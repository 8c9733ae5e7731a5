//! The one parser of JSONPath text into the syntax tree of `syntax.rs`, after the ABNF of
//! RFC 9535 §2.1 (queries), §2.3 (selectors), §2.3.5.1 (filter expressions), §2.4 (function
//! calls, with their well-typedness) and §2.5 (segments).
//!
//! A policy's query is parsed here once, when the policy loads. With the `yaml` feature (the
//! command-line tool, the bindings) serde_json_path parses the same text too, to word the error
//! when it is not valid JSONPath; the edge build, whose bundle `pii-edge package` validated,
//! does not carry that second parser.

use serde_json_path_core::spec::functions::{
    FunctionArgType, FunctionExpr, FunctionExprArg, Validated,
};
use serde_json_path_core::spec::query::Query as SpecQuery;
use serde_json_path_core::spec::selector::filter::{
    BasicExpr, Comparable, ComparisonExpr, ComparisonOperator, ExistExpr, Literal, LogicalAndExpr,
    LogicalOrExpr, SingularQuery,
};

use super::functions;
use super::syntax::{Filter, Query, Root, Segment, Selector};

/// Filters inside embedded queries inside filters, at most this deep: the parser recurses
/// once per level.
const MAX_NESTING: usize = 32;

/// The reason for a text that ends inside a `\u` escape (after `\u` and fewer than four hex
/// digits).
pub(crate) const CUT_ESCAPE: &str = "the text ends inside a `\\u` escape";

/// The reason for a call of `match()` or `search()` (RFC 9535 §2.4.6, §2.4.7), at the
/// function's name: both need a regular-expression engine, which the edge package leaves out
/// (`JsonQuery::compile` words it).
pub(crate) const REGEX_FUNCTION: &str = "a regular-expression function";

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

    /// One level deeper (a filter, a parenthesized expression, a function call): the parser
    /// recurses once per level.
    fn enter(&mut self) -> Result<(), SyntaxError> {
        if self.depth >= MAX_NESTING {
            return Err(self.err("filters are nested too deeply"));
        }
        self.depth += 1;
        Ok(())
    }

    /// After blank space, `token`, consumed with the blank space after it; otherwise nothing
    /// is consumed.
    fn token(&mut self, token: &str) -> bool {
        let at = self.i;
        self.blanks();
        if self
            .b
            .get(self.i..)
            .is_some_and(|r| r.starts_with(token.as_bytes()))
        {
            self.i += token.len();
            self.blanks();
            true
        } else {
            self.i = at;
            false
        }
    }

    /// A filter's logical expression (§2.3.5.1), after `?`, up to the `,` or `]` that ends the
    /// selector.
    fn filter(&mut self) -> Result<Filter, SyntaxError> {
        self.enter()?;
        let mut filter = Filter {
            queries: Vec::new(),
            literals: Vec::new(),
            logic: LogicalOrExpr(Vec::new()),
        };
        self.blanks();
        filter.logic = self.or(&mut filter)?;
        self.depth -= 1;
        Ok(filter)
    }

    /// `logical-or-expr`: `&&` binds tighter than `||`.
    fn or(&mut self, f: &mut Filter) -> Result<LogicalOrExpr, SyntaxError> {
        let mut or = Vec::new();
        loop {
            let mut and = vec![self.basic(f)?];
            while self.token("&&") {
                and.push(self.basic(f)?);
            }
            or.push(LogicalAndExpr(and));
            if !self.token("||") {
                return Ok(LogicalOrExpr(or));
            }
        }
    }

    /// `basic-expr`: `(…)`, `!(…)`, a comparison, or a test of a query or a function.
    fn basic(&mut self, f: &mut Filter) -> Result<BasicExpr, SyntaxError> {
        let not = self.peek() == Some(b'!');
        if not {
            self.i += 1;
            self.blanks();
        }
        if self.peek() == Some(b'(') {
            self.enter()?;
            self.i += 1;
            self.blanks();
            let inner = self.or(f)?;
            self.blanks();
            self.expect(b')', "expected `)`")?;
            self.depth -= 1;
            return Ok(if not {
                BasicExpr::NotParen(inner)
            } else {
                BasicExpr::Paren(inner)
            });
        }
        let at = self.i;
        let left = self.operand(f)?;
        if !not {
            let op = [
                ("==", ComparisonOperator::EqualTo),
                ("!=", ComparisonOperator::NotEqualTo),
                ("<=", ComparisonOperator::LessThanEqualTo),
                (">=", ComparisonOperator::GreaterThanEqualTo),
                ("<", ComparisonOperator::LessThan),
                (">", ComparisonOperator::GreaterThan),
            ]
            .into_iter()
            .find(|(t, _)| self.token(t));
            if let Some((_, op)) = op {
                let right_at = self.i;
                let right = self.operand(f)?;
                return Ok(BasicExpr::Relation(ComparisonExpr {
                    left: comparable(left, at)?,
                    op,
                    right: comparable(right, right_at)?,
                }));
            }
        }
        match (left, not) {
            (Operand::Query(q), false) => Ok(BasicExpr::Exist(ExistExpr(q))),
            (Operand::Query(q), true) => Ok(BasicExpr::NotExist(ExistExpr(q))),
            (Operand::Function(e), not) if e.return_type != FunctionArgType::Value => Ok(if not {
                BasicExpr::NotFuncExpr(e)
            } else {
                BasicExpr::FuncExpr(e)
            }),
            _ => Err(SyntaxError {
                offset: at,
                reason:
                    "a literal or a function's value is compared, not tested (`length(@.a) > 0`)",
            }),
        }
    }

    /// A literal, an embedded query or a function call; what it mentions is added to `f`.
    fn operand(&mut self, f: &mut Filter) -> Result<Operand, SyntaxError> {
        let start = self.i;
        let Some(c) = self.peek() else {
            return Err(self.err("unterminated filter"));
        };
        Ok(match c {
            b'\'' | b'"' => {
                let s = self.string(c)?;
                f.literals.push(s.clone());
                Operand::Literal(Literal::String(s))
            }
            b'@' | b'$' => {
                self.i += 1;
                let root = if c == b'@' {
                    Root::Current
                } else {
                    Root::Document
                };
                let query = self.segments()?;
                let spec = query.evaluator(root);
                f.queries.push((root, query));
                Operand::Query(spec)
            }
            b'-' | b'0'..=b'9' => Operand::Literal(Literal::Number(self.number()?)),
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    self.i += 1;
                }
                let name = self.text.get(start..self.i).unwrap_or_default();
                match name {
                    _ if self.peek() == Some(b'(') => Operand::Function(self.call(start, f)?),
                    "true" => Operand::Literal(Literal::Bool(true)),
                    "false" => Operand::Literal(Literal::Bool(false)),
                    "null" => Operand::Literal(Literal::Null),
                    _ => {
                        return Err(SyntaxError {
                            offset: start,
                            reason: "expected a literal, a query or a function call",
                        })
                    }
                }
            }
            _ => return Err(self.err("unexpected character in a filter")),
        })
    }

    /// A function call (§2.4) whose name starts at `start`, at its `(`: the arguments checked
    /// against the function's declared types (§2.4.3).
    fn call(
        &mut self,
        start: usize,
        f: &mut Filter,
    ) -> Result<FunctionExpr<Validated>, SyntaxError> {
        let name = self.text.get(start..self.i).unwrap_or_default();
        if matches!(name, "match" | "search") {
            return Err(SyntaxError {
                offset: start,
                reason: REGEX_FUNCTION,
            });
        }
        let function = functions::lookup(name).ok_or(SyntaxError {
            offset: start,
            reason: "an unknown function (RFC 9535 defines length, count, value, match and search)",
        })?;
        self.enter()?;
        self.i += 1;
        self.blanks();
        let mut args = Vec::new();
        if self.peek() != Some(b')') {
            loop {
                let at = self.i;
                let (arg, kind) = match self.operand(f)? {
                    Operand::Literal(l) => (FunctionExprArg::Literal(l), FunctionArgType::Literal),
                    Operand::Query(q) => match SingularQuery::try_from(q.clone()) {
                        Ok(s) => (
                            FunctionExprArg::SingularQuery(s),
                            FunctionArgType::SingularQuery,
                        ),
                        Err(_) => (FunctionExprArg::FilterQuery(q), FunctionArgType::Nodelist),
                    },
                    Operand::Function(e) => {
                        let kind = e.return_type;
                        (FunctionExprArg::FunctionExpr(e), kind)
                    }
                };
                if !function
                    .params
                    .get(args.len())
                    .is_some_and(|&param| kind.converts_to(param))
                {
                    return Err(SyntaxError {
                        offset: at,
                        reason:
                            "a function argument of the wrong type, or one too many (RFC 9535 §2.4)",
                    });
                }
                args.push(arg);
                self.blanks();
                if self.peek() == Some(b')') {
                    break;
                }
                self.expect(b',', "expected `,` or `)`")?;
                self.blanks();
            }
        }
        self.i += 1;
        if args.len() != function.params.len() {
            return Err(SyntaxError {
                offset: start,
                reason: "a function called with too few arguments",
            });
        }
        self.depth -= 1;
        Ok(FunctionExpr {
            name: name.to_owned(),
            args,
            return_type: function.result,
            validated: Validated {
                evaluator: function.evaluator,
            },
        })
    }

    /// A number literal (§2.3.5.1): an `int` or `-0`, an optional fraction and exponent.
    fn number(&mut self) -> Result<serde_json::Number, SyntaxError> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let at = p.i;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.i += 1;
            }
            p.i - at
        };
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let int_at = self.i;
        let n = digits(self);
        if n == 0 || (n > 1 && self.b.get(int_at) == Some(&b'0')) {
            return Err(SyntaxError {
                offset: start,
                reason: "a number has digits, without leading zeros",
            });
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return Err(self.err("expected digits after `.`"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'-' | b'+')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(self.err("expected the exponent's digits"));
            }
        }
        self.text
            .get(start..self.i)
            .unwrap_or_default()
            .parse()
            .map_err(|_| SyntaxError {
                offset: start,
                reason: "a number out of range",
            })
    }
}

/// What a filter's operand is before it is known to be compared or tested.
enum Operand {
    Literal(Literal),
    Query(SpecQuery),
    Function(FunctionExpr<Validated>),
}

/// A side of a comparison (§2.3.5.1): a literal, a singular query, or a function returning a
/// value.
fn comparable(operand: Operand, at: usize) -> Result<Comparable, SyntaxError> {
    let err = |reason| SyntaxError { offset: at, reason };
    match operand {
        Operand::Literal(l) => Ok(Comparable::Literal(l)),
        Operand::Query(q) => SingularQuery::try_from(q)
            .map(Comparable::SingularQuery)
            .map_err(|_| err("a compared query selects at most one node: names and indexes only")),
        Operand::Function(e) if e.return_type == FunctionArgType::Value => {
            Ok(Comparable::FunctionExpr(e))
        }
        Operand::Function(_) => Err(err("this function's result cannot be compared")),
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
        assert_eq!(q.names(), ["body", "internal", "it's", "m", "tags", "x"]);
    }

    #[test]
    fn filters_are_parsed_and_typed() {
        for ok in [
            "$[?length(@.a) > 1]",
            "$[?count(@.*) == 2 || !@.b && $.c]",
            "$[?value(@..c) == 'x']",
            "$[?!(@.a && ($.b || @['c']))]",
            "$[?length(value(@..a)) == 1]",
            "$[?@.a == -0.5e3 && @.b != 1E+2 && @.c >= 0]",
            "$[?true == null]",
            "$[? count( @.a ) == 1 ]",
        ] {
            assert!(parse(ok).is_ok(), "{ok}: {:?}", parse(ok));
        }
        for (bad, at, reason) in [
            ("$[?length(@.a)]", 3, "compared, not tested"),
            ("$[?1]", 3, "compared, not tested"),
            (
                "$[?count(@.a[*], 1) == 1]",
                17,
                "wrong type, or one too many",
            ),
            ("$[?length(@.*) == 1]", 10, "wrong type"),
            ("$[?count(1) == 1]", 9, "wrong type"),
            ("$[?count(length(@.a)) == 1]", 9, "wrong type"),
            ("$[?length() == 1]", 3, "too few"),
            ("$[?@.a[*] == 1]", 3, "a compared query"),
            ("$[?1 == @..a]", 8, "a compared query"),
            ("$[?@.a && match(@.a, 'x') == true]", 10, REGEX_FUNCTION),
            ("$[?foo(@.a)]", 3, "unknown function"),
            ("$[?@.a == 01]", 10, "leading zeros"),
            ("$[?@.a == 1.]", 12, "after `.`"),
            ("$[?@.a == 1e]", 12, "exponent"),
            ("$[?@.a == 1e999]", 10, "out of range"),
            ("$[?length (@.a) == 1]", 3, "expected a literal"),
            ("$[?length(@.a,) == 1]", 14, "unexpected character"),
            ("$[?length(@.a == 1)]", 14, "expected `,` or `)`"),
            ("$[?(@.a]", 7, "expected `)`"),
            ("$[?@.a = 1]", 7, "expected `,` or `]`"),
            ("$[?!1 == 1]", 4, "compared, not tested"),
        ] {
            let e = parse(bad).expect_err(bad);
            assert_eq!(e.offset, at, "{bad}: {e:?}");
            assert!(e.reason.contains(reason), "{bad}: {e:?}");
        }
        let deep = format!("$[?{}@.a{}]", "(".repeat(40), ")".repeat(40));
        assert_eq!(
            parse(&deep).expect_err("deep").reason,
            "filters are nested too deeply"
        );
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
