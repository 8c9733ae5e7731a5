//! Where a value is in a request: the one location type, with its one text form and its binary
//! form inside envelopes (`docs/envelope.md` §3.2).
//!
//! Text form (ABNF, RFC 5234):
//!
//! ```text
//! location  = json-loc / field-loc
//! json-loc  = "json:" normalized-path      ; RFC 9535 §2.7, e.g. json:$['user']['email'][0]
//! field-loc = part ":" name [ "#" index ]  ; e.g. header:x-national-id, query:email#1
//! part      = "header" / "query" / "form" / "cookie"
//! name      = 1*( %x61-7A / DIGIT / "-" / "." / "_" / "~" / pct-encoded )
//! pct-encoded = "%" UPHEX UPHEX            ; every other byte of the name's UTF-8
//! index     = %x31-39 *DIGIT               ; omitted when 0
//! ```
//!
//! A field name is the name as the rule selects it: decoded (a query or form name is
//! percent-decoded with `+` as space), in ASCII lower case. The index counts the values of that
//! name in that part of the request, from 0, in request order.

use std::fmt::{self, Write as _};
use std::str::FromStr;

pub use crate::json::PathElement;
use crate::jsonpath::normalized::{self, parse_index};

/// The part of a request a named value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Part {
    /// An HTTP header field (RFC 9110).
    Header,
    /// A parameter of the query string (`application/x-www-form-urlencoded` syntax).
    Query,
    /// A field of an `application/x-www-form-urlencoded` body.
    Form,
    /// A cookie of the `Cookie` header (RFC 6265).
    Cookie,
}

impl Part {
    /// The part's name in the text form: `header`, `query`, `form`, `cookie`.
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Header => "header",
            Part::Query => "query",
            Part::Form => "form",
            Part::Cookie => "cookie",
        }
    }

    /// Every part, in the order of [`Part::as_str`]'s documentation.
    pub const ALL: [Part; 4] = [Part::Header, Part::Query, Part::Form, Part::Cookie];

    fn code(self) -> u8 {
        match self {
            Part::Header => 1,
            Part::Query => 2,
            Part::Form => 3,
            Part::Cookie => 4,
        }
    }
}

/// Where a value is in a request: a JSON body value at an RFC 9535 normalized path, or the
/// `index`-th value named `name` in a header, the query string, a form body or a cookie.
///
/// It has exactly one text form ([`fmt::Display`] prints it, [`FromStr`] parses it and refuses
/// every other spelling), specified in `docs/envelope.md` §3.2. Envelopes carry it, in a compact
/// binary form, inside their authenticated data.
///
/// ```
/// use pii_core::{Location, location::Part, location::PathElement};
///
/// let email = Location::json(vec![PathElement::Name("user".into()), PathElement::Name("email".into())]);
/// assert_eq!(email.to_string(), "json:$['user']['email']");
/// assert_eq!("json:$['user']['email']".parse::<Location>()?, email);
///
/// let second = Location::field(Part::Query, "e mail", 1);
/// assert_eq!(second.to_string(), "query:e%20mail#1");
/// assert_eq!("query:e%20mail#1".parse::<Location>()?, second);
/// assert!("query:email#0".parse::<Location>().is_err()); // index 0 is written without `#0`
/// # Ok::<(), pii_core::location::LocationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Location {
    /// A value of a JSON body, by the elements of its normalized path (empty: the root).
    Json(Vec<PathElement>),
    /// A named value of a header, the query string, a form body or a cookie.
    Field {
        /// Which part of the request.
        part: Part,
        /// The decoded name, in ASCII lower case.
        name: String,
        /// Which value of that name (0 = the first), in request order.
        index: usize,
    },
}

/// Why a text is not a location in its canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationError {
    /// Byte offset in the text where the problem is.
    pub offset: usize,
    /// What is wrong.
    pub reason: &'static str,
}

impl fmt::Display for LocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a location at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for LocationError {}

impl Location {
    /// A JSON body location.
    pub fn json(path: Vec<PathElement>) -> Self {
        Location::Json(path)
    }

    /// A named location; `name` is lower-cased (ASCII) as the text form requires.
    pub fn field(part: Part, name: impl Into<String>, index: usize) -> Self {
        let mut name = name.into();
        name.make_ascii_lowercase();
        Location::Field { part, name, index }
    }

    /// The part of the request: `None` for a JSON body location.
    pub fn part(&self) -> Option<Part> {
        match self {
            Location::Json(_) => None,
            Location::Field { part, .. } => Some(*part),
        }
    }

    /// Appends the binary form (`docs/envelope.md` §3.3) to `out`; `None` when an index does
    /// not fit 32 bits or a member name is longer than 65 535 bytes.
    pub(crate) fn write_binary(&self, out: &mut Vec<u8>) -> Option<()> {
        match self {
            Location::Json(path) => {
                out.push(0);
                for element in path {
                    match element {
                        PathElement::Name(n) => {
                            out.push(0);
                            out.extend_from_slice(&u16::try_from(n.len()).ok()?.to_be_bytes());
                            out.extend_from_slice(n.as_bytes());
                        }
                        PathElement::Index(i) => {
                            out.push(1);
                            out.extend_from_slice(&u32::try_from(*i).ok()?.to_be_bytes());
                        }
                    }
                }
            }
            Location::Field { part, name, index } => {
                out.push(part.code());
                out.extend_from_slice(&u32::try_from(*index).ok()?.to_be_bytes());
                out.extend_from_slice(name.as_bytes());
            }
        }
        Some(())
    }

    /// Parses the binary form; `None` unless it is well formed and canonical (a field name is
    /// non-empty UTF-8 without ASCII upper case).
    #[cfg(any(test, feature = "open"))]
    pub(crate) fn from_binary(bytes: &[u8]) -> Option<Location> {
        let (&code, mut rest) = bytes.split_first()?;
        if code == 0 {
            let mut path = Vec::new();
            while let Some((&tag, after)) = rest.split_first() {
                match tag {
                    0 => {
                        let (len, after) = after.split_first_chunk::<2>()?;
                        let len = usize::from(u16::from_be_bytes(*len));
                        if after.len() < len {
                            return None;
                        }
                        let (name, after) = after.split_at(len);
                        path.push(PathElement::Name(
                            std::str::from_utf8(name).ok()?.to_owned(),
                        ));
                        rest = after;
                    }
                    1 => {
                        let (index, after) = after.split_first_chunk::<4>()?;
                        path.push(PathElement::Index(
                            usize::try_from(u32::from_be_bytes(*index)).ok()?,
                        ));
                        rest = after;
                    }
                    _ => return None,
                }
            }
            return Some(Location::Json(path));
        }
        let part = match code {
            1 => Part::Header,
            2 => Part::Query,
            3 => Part::Form,
            4 => Part::Cookie,
            _ => return None,
        };
        let (index, name) = rest.split_first_chunk::<4>()?;
        let name = std::str::from_utf8(name).ok()?;
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        Some(Location::Field {
            part,
            name: name.to_owned(),
            index: usize::try_from(u32::from_be_bytes(*index)).ok()?,
        })
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Json(path) => {
                let mut out = String::with_capacity(8 + 12 * path.len());
                out.push_str("json:");
                normalized::push(&mut out, path);
                f.write_str(&out)
            }
            Location::Field { part, name, index } => {
                f.write_str(part.as_str())?;
                f.write_char(':')?;
                for &b in name.as_bytes() {
                    if is_name_char(b) {
                        f.write_char(char::from(b))?;
                    } else {
                        write!(f, "%{b:02X}")?;
                    }
                }
                if *index > 0 {
                    write!(f, "#{index}")?;
                }
                Ok(())
            }
        }
    }
}

/// A byte written as itself in a field name: lower-case letters, digits, `-`, `.`, `_`, `~`.
fn is_name_char(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// A part name that is not `header`, `query`, `form` or `cookie`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPart;

impl fmt::Display for UnknownPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("part must be header, query, form or cookie")
    }
}

impl std::error::Error for UnknownPart {}

impl FromStr for Part {
    type Err = UnknownPart;

    /// The part named as in [`Part::as_str`].
    ///
    /// ```
    /// assert_eq!("cookie".parse(), Ok(pii_core::location::Part::Cookie));
    /// assert!("json".parse::<pii_core::location::Part>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Part, UnknownPart> {
        Part::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or(UnknownPart)
    }
}

impl FromStr for Location {
    type Err = LocationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |offset: usize, reason: &'static str| LocationError { offset, reason };
        let (part, rest) = text.split_once(':').ok_or(err(
            0,
            "expected `json:`, `header:`, `query:`, `form:` or `cookie:`",
        ))?;
        let start = part.len() + 1;
        let part = match part {
            "json" => {
                return normalized::parse(rest)
                    .map(Location::Json)
                    .map_err(|(at, reason)| err(start + at, reason))
            }
            other => other.parse::<Part>().map_err(|_| {
                err(
                    0,
                    "expected `json:`, `header:`, `query:`, `form:` or `cookie:`",
                )
            })?,
        };
        let (name_text, index) = match rest.split_once('#') {
            None => (rest, 0),
            Some((name, digits)) => {
                let at = start + name.len() + 1;
                (name, parse_index(digits, false).map_err(|r| err(at, r))?)
            }
        };
        let mut name = Vec::with_capacity(name_text.len());
        let bytes = name_text.as_bytes();
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            if b == b'%' {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .ok_or(err(start + i, "`%` needs two hex digits"))?;
                let value = hex_upper(hex).ok_or(err(start + i, "use upper-case hex after `%`"))?;
                if is_name_char(value) || value.is_ascii_uppercase() {
                    return Err(err(
                        start + i,
                        "this character is written as itself, not escaped (and names are lower case)",
                    ));
                }
                name.push(value);
                i += 3;
            } else if is_name_char(b) {
                name.push(b);
                i += 1;
            } else {
                return Err(err(
                    start + i,
                    "names use a-z 0-9 - . _ ~ and %HH for every other byte (lower case)",
                ));
            }
        }
        if name.is_empty() {
            return Err(err(start, "the name is empty"));
        }
        let name = String::from_utf8(name).map_err(|_| err(start, "the name is not UTF-8"))?;
        Ok(Location::Field { part, name, index })
    }
}

fn hex_upper(hex: &[u8]) -> Option<u8> {
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    match hex {
        [h, l] => Some(digit(*h)? << 4 | digit(*l)?),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name(s: &str) -> PathElement {
        PathElement::Name(s.to_owned())
    }

    #[test]
    fn text_forms() {
        for (loc, text) in [
            (Location::json(vec![]), "json:$"),
            (
                Location::json(vec![
                    name("a"),
                    PathElement::Index(10),
                    name("it's\\\n\u{1}é"),
                ]),
                r"json:$['a'][10]['it\'s\\\n\u0001é']",
            ),
            (
                Location::field(Part::Header, "X-National-ID", 0),
                "header:x-national-id",
            ),
            (Location::field(Part::Query, "email", 1), "query:email#1"),
            (
                Location::field(Part::Form, "card number", 12),
                "form:card%20number#12",
            ),
            (
                Location::field(Part::Cookie, "sessión#", 0),
                "cookie:sessi%C3%B3n%23",
            ),
        ] {
            assert_eq!(loc.to_string(), text);
            assert_eq!(text.parse::<Location>(), Ok(loc.clone()), "{text}");
            let mut bin = Vec::new();
            loc.write_binary(&mut bin).expect("binary");
            assert_eq!(Location::from_binary(&bin), Some(loc));
        }
    }

    #[test]
    fn only_the_canonical_spelling_parses() {
        for text in [
            "",
            "json",
            "json:",
            "json:$.a",
            "json:$[\"a\"]",
            "json:$['a']x",
            "json:$[01]",
            "json:$[-1]",
            r"json:$['\u0041']",
            r"json:$['\u000A']",
            r"json:$['\u000a']",
            "json:$['a",
            "json:$['\u{1}']",
            "query:",
            "query:Email",
            "query:email#0",
            "query:email#01",
            "query:email#",
            "query:e mail",
            "query:e%2fmail",
            "query:%61",
            "query:%41",
            "query:%C3",
            "head:x",
            "header:x#1#2",
        ] {
            assert!(text.parse::<Location>().is_err(), "{text:?} parsed");
        }
    }

    #[test]
    fn binary_refuses_what_text_cannot_say() {
        for bytes in [
            &[][..],
            &[5, 0, 0, 0, 0, b'a'],
            &[1, 0, 0, 0, 0],
            &[1, 0, 0, 0, 0, b'A'],
            &[0, 2],
            &[0, 0, 0, 5, b'a'],
            &[0, 1, 0, 0],
            &[2, 0, 0, 0, 1, 0xff],
        ] {
            assert_eq!(Location::from_binary(bytes), None, "{bytes:?}");
        }
    }

    fn any_location() -> impl Strategy<Value = Location> {
        let element = prop_oneof![
            any::<String>().prop_map(PathElement::Name),
            (0usize..100_000).prop_map(PathElement::Index),
        ];
        let part = prop_oneof![
            Just(Part::Header),
            Just(Part::Query),
            Just(Part::Form),
            Just(Part::Cookie)
        ];
        prop_oneof![
            proptest::collection::vec(element, 0..6).prop_map(Location::Json),
            (part, ".+", 0usize..1000).prop_map(|(p, n, i)| Location::field(p, n, i)),
        ]
    }

    proptest! {
        #[test]
        fn text_and_binary_round_trip(loc in any_location()) {
            let text = loc.to_string();
            prop_assert_eq!(text.parse::<Location>(), Ok(loc.clone()));
            let mut bin = Vec::new();
            loc.write_binary(&mut bin).expect("binary");
            prop_assert_eq!(Location::from_binary(&bin), Some(loc));
        }

        #[test]
        fn parsing_never_panics_and_reprints_exactly(text in "\\PC{0,40}") {
            if let Ok(loc) = text.parse::<Location>() {
                prop_assert_eq!(loc.to_string(), text);
            }
        }
    }
}
