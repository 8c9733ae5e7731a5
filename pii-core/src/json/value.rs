//! [`parse_strict`]: a body as a `serde_json::Value`, for JSONPath evaluation on a tree.

use std::str::FromStr;

use serde_json::{Map, Number, Value};

use super::lexer::decoded;
use super::{internal, JsonProblem, Lexer, Tok};

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
