//! Finding values: strings by content, the value at a normalized path, and quoting.

use super::lexer::decoded;
use super::{internal, skip_container, JsonProblem, Lexer, Seg, Span, Tok};

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
                    super::unescape_into(text, s, e, &mut scratch)?;
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
