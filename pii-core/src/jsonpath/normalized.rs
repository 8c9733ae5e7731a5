//! Normalized paths (RFC 9535 §2.7): the one canonical spelling of a value's location in a
//! JSON document, `$['user']['email'][0]`. Printed for every location a rule reports, parsed
//! back (strictly: only the canonical spelling) from `json:` locations.

use std::fmt::Write as _;

use crate::json::PathElement;

/// Appends `$` and the normalized path of `path` (RFC 9535 §2.7).
pub(crate) fn push(out: &mut String, path: &[PathElement]) {
    out.push('$');
    for element in path {
        match element {
            PathElement::Index(i) => push_index(out, *i),
            PathElement::Name(n) => push_name(out, n),
        }
    }
}

/// Appends the normalized path segment of an array index: `[3]`.
fn push_index(out: &mut String, i: usize) {
    let _ = write!(out, "[{i}]");
}

/// Appends the normalized path segment of a member name: `['name']`, escaped per RFC 9535
/// §2.7 (`\\`, `\'`, `\b \f \n \r \t`, other control characters as `\u00xx`).
fn push_name(out: &mut String, n: &str) {
    out.push_str("['");
    for c in n.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push_str("']");
}

/// The normalized path of `path` as text, e.g. `$['user']['email'][0]` (a `Location` prints
/// it after `json:`).
#[cfg(test)]
pub(crate) fn to_string(path: &[PathElement]) -> String {
    let mut out = String::new();
    push(&mut out, path);
    out
}

/// `0` (only when `zero_ok`) or a number without leading zeros that fits `usize`.
pub(crate) fn parse_index(digits: &str, zero_ok: bool) -> Result<usize, &'static str> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("an index is decimal digits");
    }
    if digits.starts_with('0') && (digits.len() > 1 || !zero_ok) {
        return Err(if zero_ok {
            "an index has no leading zeros"
        } else {
            "index 0 is written without `#0`, and an index has no leading zeros"
        });
    }
    digits.parse().map_err(|_| "the index is too large")
}

/// Parses an RFC 9535 normalized path (§2.7) strictly: only the canonical spelling.
pub(crate) fn parse(text: &str) -> Result<Vec<PathElement>, (usize, &'static str)> {
    let b = text.as_bytes();
    if b.first() != Some(&b'$') {
        return Err((0, "a normalized path starts with `$`"));
    }
    let mut path = Vec::new();
    let mut i = 1;
    while i < b.len() {
        if b.get(i) != Some(&b'[') {
            return Err((i, "expected `[`"));
        }
        i += 1;
        if b.get(i) == Some(&b'\'') {
            i += 1;
            let mut name = String::new();
            loop {
                let rest = text.get(i..).ok_or((i, "not at a character boundary"))?;
                let c = rest.chars().next().ok_or((i, "unterminated name"))?;
                match c {
                    '\'' => {
                        i += 1;
                        break;
                    }
                    '\\' => {
                        let e = rest
                            .as_bytes()
                            .get(1)
                            .copied()
                            .ok_or((i, "unterminated escape"))?;
                        let (c, len) = match e {
                            b'b' => ('\u{8}', 2),
                            b'f' => ('\u{c}', 2),
                            b'n' => ('\n', 2),
                            b'r' => ('\r', 2),
                            b't' => ('\t', 2),
                            b'\'' => ('\'', 2),
                            b'\\' => ('\\', 2),
                            b'u' => {
                                let hex = rest.get(2..6).ok_or((i, "`\\u` needs 4 hex digits"))?;
                                let value = u32::from_str_radix(hex, 16)
                                    .ok()
                                    .filter(|_| {
                                        hex.bytes().all(|h| {
                                            h.is_ascii_digit() || (b'a'..=b'f').contains(&h)
                                        })
                                    })
                                    .ok_or((i, "`\\u` needs 4 lower-case hex digits"))?;
                                let c = char::from_u32(value)
                                    .filter(|c| {
                                        *c < ' ' && !matches!(c, '\u{8}' | '\u{c}' | '\n' | '\r' | '\t')
                                    })
                                    .ok_or((i, "`\\u` is only for control characters without a short escape"))?;
                                (c, 6)
                            }
                            _ => return Err((i, "unknown escape")),
                        };
                        name.push(c);
                        i += len;
                    }
                    c if c < ' ' => return Err((i, "a control character must be escaped")),
                    c => {
                        name.push(c);
                        i += c.len_utf8();
                    }
                }
            }
            path.push(PathElement::Name(name));
        } else {
            let end = b[i..]
                .iter()
                .position(|c| !c.is_ascii_digit())
                .map_or(b.len(), |p| i + p);
            let digits = text.get(i..end).unwrap_or_default();
            path.push(PathElement::Index(
                parse_index(digits, true).map_err(|r| (i, r))?,
            ));
            i = end;
        }
        if b.get(i) != Some(&b']') {
            return Err((i, "expected `]`"));
        }
        i += 1;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_as_rfc_9535_section_2_7_says() {
        let path = |s: &str| -> Vec<PathElement> {
            s.split('.')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    p.parse::<usize>()
                        .map_or_else(|_| PathElement::Name(p.to_owned()), PathElement::Index)
                })
                .collect()
        };
        let normalized = to_string;
        use PathElement as Seg;
        assert_eq!(normalized(&[]), "$");
        assert_eq!(normalized(&path("user.email.0")), "$['user']['email'][0]");
        assert_eq!(
            normalized(&[
                Seg::Name("a'b\\c\u{8}\u{c}\n\r\t\u{1}\u{1f}\"é".into()),
                Seg::Index(12)
            ]),
            r#"$['a\'b\\c\b\f\n\r\t\u0001\u001f"é'][12]"#
        );
        assert_eq!(
            normalized(&[
                Seg::Name("list".into()),
                Seg::Index(3),
                Seg::Name("k'".into()),
                Seg::Index(0)
            ]),
            r"$['list'][3]['k\''][0]"
        );
    }
}
