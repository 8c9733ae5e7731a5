//! Where each value of a JSON text is, byte for byte: a map from RFC 9535 normalized paths
//! (`$['user']['email']`, `$['items'][0]`) to byte ranges. Used by `test` and `apply --explain`
//! to read a protected value at the location the engine reported, and to check that values
//! no rule selected kept their exact bytes.

use std::ops::Range;

/// Deepest nesting read; deeper input is refused (no stack overflow on hostile bodies).
const MAX_DEPTH: usize = 512;

/// Every value of `text` with its normalized path and byte range, in document order (the
/// root `$` last). `None` when the text is not JSON.
pub(crate) fn spans(text: &[u8]) -> Option<Vec<(String, Range<usize>)>> {
    let mut p = Parser {
        b: text,
        i: 0,
        out: Vec::new(),
    };
    let mut path = String::from("$");
    p.value(&mut path, 0)?;
    p.ws();
    if p.i != text.len() {
        return None;
    }
    Some(p.out)
}

/// The byte range of the value at a normalized path.
pub(crate) fn find(spans: &[(String, Range<usize>)], path: &str) -> Option<Range<usize>> {
    spans
        .iter()
        .find(|(p, _)| p == path)
        .map(|(_, r)| r.clone())
}

/// Append `['name']` to a normalized path, escaped as RFC 9535 section 2.7 says.
pub(crate) fn push_name(out: &mut String, name: &str) {
    out.push_str("['");
    for c in name.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push_str("']");
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    out: Vec<(String, Range<usize>)>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    fn value(&mut self, path: &mut String, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        let start = self.i;
        match self.peek()? {
            b'{' => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        let key = self.string()?;
                        self.eat(b':')?;
                        let len = path.len();
                        push_name(path, &key);
                        self.value(path, depth + 1)?;
                        path.truncate(len);
                        self.ws();
                        match self.peek()? {
                            b',' => self.i += 1,
                            b'}' => {
                                self.i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
            }
            b'[' => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                } else {
                    let mut n = 0usize;
                    loop {
                        let len = path.len();
                        path.push_str(&format!("[{n}]"));
                        self.value(path, depth + 1)?;
                        path.truncate(len);
                        n += 1;
                        self.ws();
                        match self.peek()? {
                            b',' => self.i += 1,
                            b']' => {
                                self.i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
            }
            b'"' => {
                self.string()?;
            }
            b'-' | b'0'..=b'9' => {
                while matches!(
                    self.peek(),
                    Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                ) {
                    self.i += 1;
                }
            }
            b't' | b'f' | b'n' => {
                while matches!(self.peek(), Some(b'a'..=b'z')) {
                    self.i += 1;
                }
                if !matches!(&self.b[start..self.i], b"true" | b"false" | b"null") {
                    return None;
                }
            }
            _ => return None,
        }
        self.out.push((path.clone(), start..self.i));
        Some(())
    }

    /// A string at the cursor, decoded.
    fn string(&mut self) -> Option<String> {
        if self.peek()? != b'"' {
            return None;
        }
        self.i += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = self.peek()?;
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = self.peek()?;
                    self.i += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let cp = if (0xD800..0xDC00).contains(&hi)
                                && self.b.get(self.i..self.i + 2) == Some(b"\\u")
                            {
                                let save = self.i;
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                } else {
                                    self.i = save;
                                    0xFFFD
                                }
                            } else {
                                hi
                            };
                            let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return None,
                    }
                }
                c => out.push(c),
            }
        }
        Some(String::from_utf8_lossy(&out).into_owned())
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.b.get(self.i..self.i + 4)?;
        let text = std::str::from_utf8(digits).ok()?;
        let v = u32::from_str_radix(text, 16).ok()?;
        self.i += 4;
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_ranges() {
        let text =
            br#"{"user": {"e\u006dail": "a@b", "it's": [1, 2.50]}, "n": 12345678901234567890}"#;
        let s = spans(text).expect("json");
        let get = |p: &str| find(&s, p).map(|r| String::from_utf8_lossy(&text[r]).into_owned());
        assert_eq!(get("$['user']['email']").as_deref(), Some("\"a@b\""));
        assert_eq!(get("$['user']['it\\'s'][1]").as_deref(), Some("2.50"));
        assert_eq!(get("$['n']").as_deref(), Some("12345678901234567890"));
        assert!(spans(b"{\"a\": }").is_none());
        assert!(spans(&[b'['; 600]).is_none());
    }
}

/// One step of a normalized path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Name(String),
    Index(usize),
}

/// Parse a normalized path (`$['a'][0]`) into its steps; `None` when it is not one.
pub(crate) fn parse_normalized(path: &str) -> Option<Vec<Seg>> {
    let mut rest = path.strip_prefix('$')?.chars().peekable();
    let mut segs = Vec::new();
    while let Some(c) = rest.next() {
        if c != '[' {
            return None;
        }
        if rest.peek() == Some(&'\'') {
            rest.next();
            let mut name = String::new();
            loop {
                match rest.next()? {
                    '\'' => break,
                    '\\' => match rest.next()? {
                        'b' => name.push('\u{8}'),
                        'f' => name.push('\u{c}'),
                        'n' => name.push('\n'),
                        'r' => name.push('\r'),
                        't' => name.push('\t'),
                        'u' => {
                            let hex: String = (0..4).filter_map(|_| rest.next()).collect();
                            let v = u32::from_str_radix(&hex, 16).ok()?;
                            name.push(char::from_u32(v)?);
                        }
                        other => name.push(other),
                    },
                    other => name.push(other),
                }
            }
            if rest.next()? != ']' {
                return None;
            }
            segs.push(Seg::Name(name));
        } else {
            let mut digits = String::new();
            loop {
                match rest.next()? {
                    ']' => break,
                    d if d.is_ascii_digit() => digits.push(d),
                    _ => return None,
                }
            }
            segs.push(Seg::Index(digits.parse().ok()?));
        }
    }
    Some(segs)
}

/// Format steps as a normalized path.
pub(crate) fn format_normalized(segs: &[Seg]) -> String {
    let mut out = String::from("$");
    for seg in segs {
        match seg {
            Seg::Name(n) => push_name(&mut out, n),
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Where a value of the original body is after the engine removed `removed` (original
/// paths): array indexes after a removed element shift down. `None` when the value itself or
/// a value containing it was removed.
pub(crate) fn shift(path: &[Seg], removed: &[Vec<Seg>]) -> Option<Vec<Seg>> {
    if removed.iter().any(|r| path.starts_with(r)) {
        return None;
    }
    let mut out = path.to_vec();
    for (k, seg) in path.iter().enumerate() {
        if let Seg::Index(n) = seg {
            let before = removed
                .iter()
                .filter(|r| {
                    r.len() == k + 1
                        && r[..k] == path[..k]
                        && matches!(r[k], Seg::Index(m) if m < *n)
                })
                .count();
            out[k] = Seg::Index(n - before);
        }
    }
    Some(out)
}

/// The inverse of [`shift`]: where a value of the protected body was in the original.
pub(crate) fn unshift(path: &[Seg], removed: &[Vec<Seg>]) -> Vec<Seg> {
    let mut orig: Vec<Seg> = Vec::with_capacity(path.len());
    for seg in path {
        match seg {
            Seg::Index(n) => {
                let k = orig.len();
                let is_removed = |m: usize| {
                    removed
                        .iter()
                        .any(|r| r.len() == k + 1 && r[..k] == orig[..] && r[k] == Seg::Index(m))
                };
                let mut m = *n;
                let limit = n + removed.len() + 1;
                while m <= limit {
                    let before = (0..m).filter(|&j| is_removed(j)).count();
                    if !is_removed(m) && m - before == *n {
                        break;
                    }
                    m += 1;
                }
                orig.push(Seg::Index(m));
            }
            other => orig.push(other.clone()),
        }
    }
    orig
}

/// Decode a JSON string literal (quotes included); `None` when it is not one.
pub(crate) fn decode_string(raw: &[u8]) -> Option<String> {
    let mut p = Parser {
        b: raw,
        i: 0,
        out: Vec::new(),
    };
    let s = p.string()?;
    (p.i == raw.len()).then_some(s)
}

#[cfg(test)]
mod path_tests {
    use super::*;

    #[test]
    fn normalized_round_trip_and_shifts() {
        let p = "$['a'][3]['it\\'s']";
        let segs = parse_normalized(p).expect("path");
        assert_eq!(format_normalized(&segs), p);
        let removed = vec![
            parse_normalized("$['a'][1]").expect("path"),
            parse_normalized("$['a'][4]").expect("path"),
        ];
        let shifted = shift(&segs, &removed).expect("kept");
        assert_eq!(format_normalized(&shifted), "$['a'][2]['it\\'s']");
        assert_eq!(unshift(&shifted, &removed), segs);
        assert_eq!(
            format_normalized(&unshift(
                &parse_normalized("$['a'][3]").expect("p"),
                &removed
            )),
            "$['a'][5]"
        );
        assert!(shift(&parse_normalized("$['a'][1]['x']").expect("p"), &removed).is_none());
    }
}
