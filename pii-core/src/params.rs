//! A request's named parameters as origin frameworks read them: which sources a framework
//! merges into one parameter map, how it splits a parameter name into nested segments, and
//! when a name some origin reads as a protected parameter is not the one a rule protects as
//! written.
//!
//! Rails `params`, PHP `$_REQUEST`, Flask `request.values`, Go `FormValue`, Spring data binding
//! and Sails `req.param` read one map built from the query string, the body and (PHP) cookies.
//! A rule naming a query parameter, a form field or a JSON member therefore names a
//! *parameter*, wherever it is sent: [`Sources`] says where (all four by default; a rule may
//! narrow it with `sources:`). A parameter's name is read as nested segments the way `qs`
//! (Express), Rack (Rails, Sinatra) and PHP read bracket syntax, and Spring dot syntax
//! ([`readings`]): `user[email]`, `user.email`, `[user][email]`, `user]`, `card[number`
//! (PHP's `card_number`) and `!email` (Spring's default-value marker) are all read.
//!
//! The decision, for every name in a merged source: a name *related* to a protected
//! parameter path (equal to it, inside it, or a literal ancestor of it, compared segment by
//! segment with [`crate::names::skeleton`]) is refused with `ambiguous-name`, unless a rule
//! protects it exactly as written in that source (then the engine protects its value). Being
//! refused rather than protected is deliberate: the edge cannot know which of the spellings
//! the origin will bind, and protecting one reading while another reaches the origin in clear
//! is the failure this module exists to prevent.
//!
//! ```
//! use pii_core::params::readings;
//! let r = readings("user[email]");
//! assert!(r.iter().any(|segs| segs == &["user".to_string(), "ernail".to_string()]));
//! assert!(readings("[email]").iter().any(|segs| segs.len() == 1 && segs[0] == "ernail"));
//! ```

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use crate::location::{Location, Part};

/// One named value of a request: a query parameter, a form field or a cookie, with where it
/// was sent, its name as written and decoded, which occurrence of that name it is, and its
/// value. What the engine protects, `reveal` opens, `apply --explain`, the test runner and
/// `scan` read: one reading of a request's named values.
///
/// ```
/// use pii_core::{params::pairs, location::Part};
/// let q = pairs("email=a%40b.de&EMAIL=c&x", Part::Query);
/// assert_eq!(q[1].name, "EMAIL");
/// assert_eq!(q[1].occurrence, 1);
/// assert_eq!(q[0].value, b"a@b.de");
/// assert_eq!(q[1].location().to_string(), "query:email#1");
/// assert_eq!(q[2].raw_value, "");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedValue<'a> {
    /// Where it was sent.
    pub part: Part,
    /// The whole piece as written (`name=value`), to write an unchanged piece back byte for
    /// byte.
    pub raw: &'a str,
    /// The name as written (still encoded).
    pub raw_name: &'a str,
    /// The value as written (still encoded; empty for a piece without `=`).
    pub raw_value: &'a str,
    /// The name decoded (`%XX`, and `+` as a space in query strings and forms; lossy UTF-8).
    pub name: String,
    /// The value decoded the same way (bytes).
    pub value: Vec<u8>,
    /// How many values of the same name (ASCII case-insensitive) come before it in its part.
    pub occurrence: usize,
}

impl NamedValue<'_> {
    /// Its location as the engine reports it (`query:email#1`): the decoded name in ASCII
    /// lower case and the occurrence.
    pub fn location(&self) -> Location {
        Location::field(self.part, self.name.to_ascii_lowercase(), self.occurrence)
    }

    /// The nested readings of its name (see [`readings`]).
    pub fn nested(&self) -> Vec<Vec<String>> {
        readings(&self.name)
    }
}

/// Decode `%XX` escapes (and `+` as a space when `plus`); an escape that is not `%` and two
/// hex digits stays as written. The one percent-decoder of the project.
///
/// ```
/// assert_eq!(pii_core::params::percent_decode(b"%65mail+x%zz", true), b"email x%zz");
/// ```
pub fn percent_decode(input: &[u8], plus: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'%' => {
                let hex = |b: u8| (b as char).to_digit(16);
                let digits = (
                    input.get(i + 1).and_then(|&b| hex(b)),
                    input.get(i + 2).and_then(|&b| hex(b)),
                );
                if let (Some(h), Some(l)) = digits {
                    // Two hex digits are at most 0xFF.
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' if plus => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// The `&`-separated pieces of a query string or form body, tolerantly: empty pieces are
/// kept, a piece without `=` has an empty value. The one splitter of the project (origins
/// that also split on `;` are covered by the engine's name checks, which refuse a protected
/// name behind a `;`).
pub fn pairs(raw: &str, part: Part) -> Vec<NamedValue<'_>> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    raw.split('&')
        .map(|piece| {
            let (n, v) = piece.split_once('=').unwrap_or((piece, ""));
            let name = String::from_utf8_lossy(&percent_decode(n.as_bytes(), true)).into_owned();
            let nth = seen.entry(name.to_ascii_lowercase()).or_insert(0);
            let occurrence = *nth;
            *nth += 1;
            NamedValue {
                part,
                raw: piece,
                raw_name: n,
                raw_value: v,
                value: percent_decode(v.as_bytes(), true),
                name,
                occurrence,
            }
        })
        .collect()
}

/// The cookies of every `Cookie` header of `req`, split the union of the ways origins split
/// them (on `;`, on `,` and at white space after a value; names trimmed): names as written
/// (cookie names are not decoded by RFC 6265; PHP's decoding is covered by the name checks),
/// values percent-decoded without `+`.
pub fn cookies(req: &crate::Request) -> Vec<NamedValue<'_>> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for header in req.header_values("cookie") {
        for piece in cookie_pieces(header) {
            let nth = seen.entry(piece.name.to_ascii_lowercase()).or_insert(0);
            out.push(NamedValue {
                part: Part::Cookie,
                raw: header.get(piece.start..piece.end).unwrap_or(""),
                raw_name: piece.name,
                raw_value: piece.value,
                name: piece.name.to_string(),
                value: percent_decode(piece.value.as_bytes(), false),
                occurrence: *nth,
            });
            *nth += 1;
        }
    }
    out
}

/// The sources a parameter rule covers: a set of query string, form body, JSON body and
/// cookies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sources(u8);

/// One source of named values in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The query string.
    Query,
    /// An `application/x-www-form-urlencoded` body.
    Form,
    /// A JSON body.
    Json,
    /// The cookies of the `Cookie` header.
    Cookie,
}

impl Source {
    fn bit(self) -> u8 {
        match self {
            Source::Query => 1,
            Source::Form => 2,
            Source::Json => 4,
            Source::Cookie => 8,
        }
    }

    /// The name used in policies: `query`, `form`, `json`, `cookie`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Query => "query",
            Source::Form => "form",
            Source::Json => "json",
            Source::Cookie => "cookie",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Source {
    type Err = String;

    /// ```
    /// assert_eq!("json".parse::<pii_core::params::Source>(), Ok(pii_core::params::Source::Json));
    /// ```
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "query" => Ok(Source::Query),
            "form" => Ok(Source::Form),
            "json" => Ok(Source::Json),
            "cookie" => Ok(Source::Cookie),
            other => Err(format!(
                "unknown source `{other}`; sources are query, form, json and cookie"
            )),
        }
    }
}

impl Sources {
    /// Every source a framework merges: query, form, JSON body and cookies.
    pub const ALL: Sources = Sources(15);

    /// No source.
    pub const NONE: Sources = Sources(0);

    /// Whether `source` is in the set.
    pub fn has(self, source: Source) -> bool {
        self.0 & source.bit() != 0
    }

    /// The set with `source` added.
    #[must_use]
    pub fn with(self, source: Source) -> Sources {
        Sources(self.0 | source.bit())
    }

    /// The set without `source`.
    #[must_use]
    pub fn without(self, source: Source) -> Sources {
        Sources(self.0 & !source.bit())
    }
}

/// One cookie of a `Cookie` header, with where it is in the header text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CookiePiece<'a> {
    /// The name as written, trimmed.
    pub(crate) name: &'a str,
    /// The value as written (not decoded).
    pub(crate) value: &'a str,
    /// Byte range of the whole `name=value` in the header.
    pub(crate) start: usize,
    pub(crate) end: usize,
    /// Byte range of the value.
    pub(crate) value_start: usize,
    /// Whether the cookie was written with `=` (`session_id` alone has none).
    pub(crate) has_eq: bool,
}

/// The cookies of a `Cookie` header under the union of the ways origins split it: on `;`
/// (RFC 6265), on `,` (RFC 2965 `$Version` mode in Jetty, Python's `SimpleCookie`) and on white
/// space after a value (`SimpleCookie`). Names are trimmed (`name =v` is `name`); a piece
/// without `=` is a name with an empty value.
pub(crate) fn cookie_pieces(header: &str) -> Vec<CookiePiece<'_>> {
    let mut out = Vec::new();
    let mut seg_start = 0;
    for seg in header.split([';', ',']) {
        let mut at = seg_start;
        seg_start += seg.len() + 1;
        let mut rest = seg;
        loop {
            let lead = rest.len() - rest.trim_start().len();
            at += lead;
            rest = rest.trim_start();
            if rest.is_empty() {
                break;
            }
            let Some((raw_name, after)) = rest.split_once('=') else {
                let name = rest.trim_end();
                out.push(CookiePiece {
                    name,
                    value: "",
                    start: at,
                    end: at + name.len(),
                    value_start: at + name.len(),
                    has_eq: false,
                });
                break;
            };
            // `name = value`: parsers trim the value too.
            let pad = after.len() - after.trim_start().len();
            let after = &after[pad..];
            let value_start = at + raw_name.len() + 1 + pad;
            // The value ends at white space; what follows is another cookie to some parsers.
            let value_len = after.find(char::is_whitespace).unwrap_or(after.len());
            let value = &after[..value_len];
            out.push(CookiePiece {
                name: raw_name.trim(),
                value,
                start: at,
                end: value_start + value_len,
                value_start,
                has_eq: true,
            });
            at = value_start + value_len;
            rest = after.get(value_len..).unwrap_or("");
        }
    }
    out
}

/// One segment of a protected parameter's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathSeg {
    /// A member or parameter name, as its skeleton.
    Name(String),
    /// A wildcard, an index, a slice or a filter: one segment or none (indexes of a
    /// parameter name are not compared).
    Any,
    /// `..`: any number of segments.
    Descendants,
}

/// A parameter a rule protects: its path and where an origin may read it.
#[derive(Debug, Clone)]
pub(crate) struct ParamPath {
    pub(crate) path: Vec<PathSeg>,
    pub(crate) sources: Sources,
    /// The source the rule names (`json` for a JSONPath rule).
    pub(crate) own: Source,
}

impl ParamPath {
    /// The literal segments at the start of the path, as skeletons.
    fn head(&self) -> impl Iterator<Item = &str> {
        self.path.iter().map_while(|s| match s {
            PathSeg::Name(n) => Some(n.as_str()),
            _ => None,
        })
    }

    /// The last named segment (for GraphQL argument names).
    pub(crate) fn leaf(&self) -> Option<&str> {
        match self.path.last() {
            Some(PathSeg::Name(n)) => Some(n),
            _ => None,
        }
    }
}

/// The segments of an RFC 9535 JSONPath as a parameter path: names, with every wildcard,
/// index, slice, union or filter as [`PathSeg::Any`] and `..` as [`PathSeg::Descendants`].
/// An over-approximation: it is used to refuse names, never to select values.
pub(crate) fn json_path(query: &crate::jsonpath::syntax::Query) -> Vec<PathSeg> {
    use crate::jsonpath::syntax::Selector;
    let mut out = Vec::new();
    for segment in &query.segments {
        if segment.descendant {
            out.push(PathSeg::Descendants);
        }
        out.push(match segment.selectors.as_slice() {
            [Selector::Name(n)] => PathSeg::Name(crate::names::skeleton(n)),
            _ => PathSeg::Any,
        });
    }
    out
}

/// The nested readings of a parameter name, each a list of segment skeletons: every way `qs`,
/// Rack 2 and 3, PHP and Spring's binder may split it. Index segments (`[]`, `[0]`) and
/// segments that fold to nothing are left out.
///
/// - brackets: `a[b][c]` is `a`, `b`, `c`; a name that starts with a group (`[a][b]`) takes
///   the group as its first segment (`qs`, Rack 2); stray `]` are dropped (`a]` is `a`, Rack 2);
///   text after the last group is ignored;
/// - the whole name without brackets (`card[number` is PHP's `card_number`; `[]email` is
///   Rack 2's `email`);
/// - dots as separators too (`user.email`, Spring; `$.user.email`);
/// - a leading `!` dropped (Spring's default-value marker; `_` folds away in the skeleton).
pub fn readings(name: &str) -> Vec<Vec<String>> {
    let name = name.trim_start_matches('!');
    let name = match name.strip_prefix('$') {
        Some(r) if r.starts_with(['.', '[']) => r.trim_start_matches('.'),
        _ => name,
    };
    let mut groups: Vec<&str> = Vec::new();
    let (head, mut rest) = name.split_at(name.find('[').unwrap_or(name.len()));
    groups.push(head);
    while let Some(r) = rest.strip_prefix('[') {
        match r.find(']') {
            Some(j) => {
                groups.push(&r[..j]);
                rest = &r[j + 1..];
            }
            None => break,
        }
    }
    if groups.first().is_some_and(|h| h.is_empty()) && groups.len() > 1 {
        groups.remove(0);
    }
    let seg = |s: &str| -> Option<String> {
        if s.is_empty() || s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let cleaned: String = s.chars().filter(|c| !matches!(c, '[' | ']')).collect();
        let sk = crate::names::skeleton(&cleaned);
        (!sk.is_empty()).then_some(sk)
    };
    let mut out: Vec<Vec<String>> = Vec::with_capacity(3);
    let mut push = |r: Vec<String>| {
        if !r.is_empty() && !out.contains(&r) {
            out.push(r);
        }
    };
    push(groups.iter().filter_map(|g| seg(g)).collect());
    push(seg(name).into_iter().collect());
    if name.contains('.') {
        // Spring's property paths: dots and bracket groups in any order, to the end of the
        // name (`users[0].email` is `users`, `email`).
        push(
            groups
                .iter()
                .copied()
                .chain(std::iter::once(rest))
                .flat_map(|g| g.split('.'))
                .filter_map(seg)
                .collect(),
        );
    }
    out
}

/// Whether a name read as `name` (segment skeletons) is related to the parameter `path`: the
/// same parameter, a value inside it, or a literal ancestor of it (a value that holds it, such
/// as GraphQL's `variables` sent as JSON text).
pub(crate) fn related(path: &[PathSeg], name: &[String]) -> bool {
    fn go(p: &[PathSeg], n: &[String], literal: bool) -> bool {
        match (p.split_first(), n.split_first()) {
            (None, _) => true,
            (Some((first, _)), None) => literal && matches!(first, PathSeg::Name(_)),
            (Some((PathSeg::Name(s), pr)), Some((h, nr))) => s == h && go(pr, nr, literal),
            (Some((PathSeg::Any, pr)), Some((_, nr))) => go(pr, n, false) || go(pr, nr, false),
            (Some((PathSeg::Descendants, pr)), Some(_)) => {
                (0..=n.len()).any(|i| go(pr, &n[i..], false))
            }
        }
    }
    go(path, name, true)
}

/// Whether the JSON rules among `paths` select the member `name` (segment skeletons) itself:
/// a member a JSON rule protects is protected whoever else reads it.
pub(crate) fn json_covers(paths: &[ParamPath], name: &[String]) -> bool {
    fn go(p: &[PathSeg], n: &[String]) -> bool {
        match (p.split_first(), n.split_first()) {
            (None, None) => true,
            (None, Some(_)) => false,
            (Some((PathSeg::Descendants, pr)), _) => (0..=n.len()).any(|i| go(pr, &n[i..])),
            (Some(_), None) => false,
            (Some((PathSeg::Name(s), pr)), Some((h, nr))) => s == h && go(pr, nr),
            (Some((PathSeg::Any, pr)), Some((_, nr))) => go(pr, nr),
        }
    }
    paths
        .iter()
        .any(|p| p.own == Source::Json && go(&p.path, name))
}

/// Whether any reading of `name` is related to a protected parameter that `source` may carry.
pub(crate) fn names_protected(paths: &[ParamPath], source: Source, name: &str) -> bool {
    let relevant: Vec<&ParamPath> = paths.iter().filter(|p| p.sources.has(source)).collect();
    if relevant.is_empty() {
        return false;
    }
    readings(name)
        .iter()
        .any(|r| relevant.iter().any(|p| related(&p.path, r)))
}

/// Whether a GraphQL document passes an argument whose name is one of `leaves` (skeletons)
/// as a literal (`signup(email: "...")`) instead of a variable (`$email`): the value is then
/// inside the document text, where no member rule reaches it.
pub(crate) fn graphql_literal_argument(doc: &str, leaves: &[&str]) -> bool {
    let b = doc.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'"' {
            // Skip strings (block strings too: an empty "" then a third quote).
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let ident = &doc[start..i];
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_whitespace() || b[j] == b',') {
                j += 1;
            }
            if b.get(j) == Some(&b':') {
                j += 1;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                let literal = b
                    .get(j)
                    .is_some_and(|&v| v == b'"' || v == b'-' || v.is_ascii_digit() || v == b'{');
                if literal && leaves.contains(&crate::names::skeleton(ident).as_str()) {
                    return true;
                }
            }
            continue;
        }
        i += 1;
    }
    false
}

/// Whether the policy's parameters read in a JSON body (JSON rules, and query and form rules
/// whose sources include it) address members of an object root: a body whose root is an array
/// (a GraphQL batch, a JSON Patch document, Rails' `_json`) is then not addressed.
pub(crate) fn expects_object_root(paths: &[ParamPath]) -> bool {
    paths
        .iter()
        .any(|p| p.sources.has(Source::Json) && matches!(p.path.first(), Some(PathSeg::Name(_))))
}

/// Rails' ParamsWrapper (on for JSON by default) copies the top-level members of a JSON body
/// into `params[<root>]` when the body has no `<root>` member: `{"email": ...}` reaches a
/// controller as `params[:user][:email]`. Whether some top-level member of `members` would be
/// wrapped into a protected parameter `<root>.<member>`.
pub(crate) fn wrapped_member(paths: &[ParamPath], members: &[(String, Option<String>)]) -> bool {
    let skeletons: Vec<String> = members
        .iter()
        .map(|(k, _)| crate::names::skeleton(k))
        .collect();
    paths.iter().filter(|p| p.own == Source::Json).any(|p| {
        let mut head = p.head();
        let (Some(root), Some(PathSeg::Name(_))) = (head.next(), p.path.get(1)) else {
            return false;
        };
        !skeletons.iter().any(|s| s == root)
            && skeletons.iter().any(|s| {
                let one = std::slice::from_ref(s);
                related(&p.path[1..], one) && !json_covers(paths, one)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jp(text: &str) -> crate::jsonpath::syntax::Query {
        crate::jsonpath::parse::parse(text).expect("valid JSONPath")
    }

    fn sk(s: &str) -> String {
        crate::names::skeleton(s)
    }

    fn reads_as(name: &str, segs: &[&str]) -> bool {
        let want: Vec<String> = segs.iter().map(|s| sk(s)).collect();
        readings(name).contains(&want)
    }

    #[test]
    fn bracket_dot_and_mangled_names() {
        assert!(reads_as("user[email]", &["user", "email"]));
        assert!(reads_as("user.email", &["user", "email"]));
        assert!(reads_as("$.user.email", &["user", "email"]));
        assert!(reads_as("[email]", &["email"]));
        assert!(reads_as("[user][email]", &["user", "email"]));
        assert!(reads_as("email]", &["email"]));
        assert!(reads_as("]email", &["email"]));
        assert!(reads_as("[]email", &["email"]));
        assert!(reads_as("email[]", &["email"]));
        assert!(reads_as("email[0]", &["email"]));
        assert!(reads_as("card[number", &["card_number"]));
        assert!(reads_as("!cardNumber", &["card_number"]));
        assert!(reads_as("_cardNumber", &["card_number"]));
        assert!(reads_as("filters[email][0]", &["filters", "email"]));
        assert!(reads_as("users[0].email", &["users", "email"]));
        assert!(reads_as("user[address].city", &["user", "address", "city"]));
    }

    #[test]
    fn json_paths_as_parameter_paths() {
        use PathSeg::*;
        assert_eq!(
            json_path(&jp("$.user.email")),
            vec![Name(sk("user")), Name(sk("email"))]
        );
        assert_eq!(
            json_path(&jp("$..email")),
            vec![Descendants, Name(sk("email"))]
        );
        assert_eq!(
            json_path(&jp("$.messages[?@.internal != true].body")),
            vec![Name(sk("messages")), Any, Name(sk("body"))]
        );
        assert_eq!(json_path(&jp("$['a b'][*]")), vec![Name(sk("a b")), Any]);
    }

    #[test]
    fn relations() {
        let p = json_path(&jp("$.user.email"));
        let r = |n: &str| readings(n).iter().any(|segs| related(&p, segs));
        assert!(r("user[email]"));
        assert!(r("user"));
        assert!(r("user[email][x]"));
        assert!(!r("email"));
        assert!(!r("name"));
        let m = json_path(&jp("$.messages[?@.internal != true].body"));
        assert!(readings("messages[0].body").iter().any(|s| related(&m, s)));
        let d = json_path(&jp("$..password"));
        assert!(readings("password").iter().any(|s| related(&d, s)));
        assert!(readings("a[password]").iter().any(|s| related(&d, s)));
        assert!(!readings("user").iter().any(|s| related(&d, s)));
    }

    #[test]
    fn graphql_literals() {
        assert!(graphql_literal_argument(
            "mutation { s(email: \"x\") }",
            &[&sk("email")]
        ));
        assert!(graphql_literal_argument(
            "{ s(input: {email: 1}) }",
            &[&sk("email")]
        ));
        assert!(!graphql_literal_argument(
            "mutation { s(email: $email) }",
            &[&sk("email")]
        ));
        assert!(!graphql_literal_argument(
            "{ s(note: \"email: x\") }",
            &[&sk("email")]
        ));
    }
}
