//! Selectors: compiled JSONPath queries and the parsers for the other parts of a request
//! (form bodies, query strings, headers, cookies, paths and media types).

use crate::jsonpath::JsonQuery;
use crate::spec::SelectorSpec;

/// A selector compiled at load time.
#[derive(Debug)]
pub(crate) enum CompiledSelector {
    Json(JsonQuery),
    Form(String),
    Query(String),
    Header(String),
    Cookie(String),
}

impl CompiledSelector {
    /// Compile a selector; on failure returns the character offset inside the selector text
    /// (when known) and a message.
    pub(crate) fn compile(spec: &SelectorSpec) -> Result<Self, (Option<usize>, String)> {
        Ok(match spec {
            SelectorSpec::Json(text) => CompiledSelector::Json(JsonQuery::compile(text)?),
            SelectorSpec::Form(n) => CompiledSelector::Form(name(n, "form field")?),
            SelectorSpec::Query(n) => CompiledSelector::Query(name(n, "query parameter")?),
            SelectorSpec::Cookie(n) => CompiledSelector::Cookie(name(n, "cookie")?),
            SelectorSpec::Header(n) => {
                if n.is_empty() || !n.bytes().all(crate::spec::is_token_byte) {
                    return Err((None, format!("`{n}` is not a valid header name")));
                }
                CompiledSelector::Header(n.to_ascii_lowercase())
            }
        })
    }

    /// The JSONPath query of a JSON selector.
    pub(crate) fn json(&self) -> Option<&JsonQuery> {
        match self {
            CompiledSelector::Json(query) => Some(query),
            _ => None,
        }
    }

    /// When every value `later` selects is always selected by `self` first, say why.
    pub(crate) fn shadows(&self, later: &CompiledSelector) -> Option<&'static str> {
        use CompiledSelector::*;
        match (self, later) {
            (Json(a), Json(b)) => {
                let (sa, sb) = (a.tree().singular(), b.tree().singular());
                if a.text() == b.text() || (sa.is_some() && sa == sb) {
                    Some("the same JSONPath as")
                } else if let (Some(sa), Some(sb)) = (sa, sb) {
                    (sb.len() > sa.len() && sb.starts_with(&sa))
                        .then_some("it selects a value inside what")
                } else {
                    None
                }
            }
            (Form(a), Form(b)) | (Query(a), Query(b)) | (Cookie(a), Cookie(b)) => {
                a.eq_ignore_ascii_case(b).then_some("the same name as")
            }
            (Header(a), Header(b)) => (a == b).then_some("the same header as"),
            _ => None,
        }
    }
}

fn name(n: &str, what: &str) -> Result<String, (Option<usize>, String)> {
    if n.is_empty() {
        return Err((None, format!("a {what} name cannot be empty")));
    }
    Ok(n.to_string())
}

/// A path pattern of `match.paths`.
#[derive(Debug, Clone)]
pub(crate) struct PathPattern(Vec<PatSeg>);

#[derive(Debug, Clone, PartialEq)]
enum PatSeg {
    Literal(String),
    One,
    Any,
    /// A segment with OpenAPI parameters inside literal text (`{id}.json`, `v{n}`): the
    /// literal pieces in order, a parameter between each two.
    Template(Vec<String>),
}

impl PathPattern {
    pub(crate) fn parse(p: &str) -> Result<Self, String> {
        if !p.starts_with('/') {
            return Err(format!("path pattern `{p}` must start with `/`"));
        }
        refuse_framework_route(p)?;
        let mut segs = Vec::new();
        for s in p.split('/').filter(|s| !s.is_empty()) {
            if let Some(seg) = template_segment(p, s)? {
                segs.push(seg);
                continue;
            }
            segs.push(match s {
                "*" => PatSeg::One,
                "**" => PatSeg::Any,
                s if s.contains('*') => {
                    return Err(format!(
                        "in `{p}`, `*` must be a whole segment (`/a/*/b`) or `**`; partial wildcards like `{s}` are not supported"
                    ))
                }
                s => PatSeg::Literal(s.to_lowercase()),
            });
        }
        Ok(PathPattern(segs))
    }

    /// Match against the segments of a normalized request path.
    pub(crate) fn matches(&self, path: &[String]) -> bool {
        fn go(pat: &[PatSeg], path: &[String]) -> bool {
            match pat.split_first() {
                None => path.is_empty(),
                Some((PatSeg::Any, rest)) => (0..=path.len()).any(|i| go(rest, &path[i..])),
                Some((PatSeg::One, rest)) => !path.is_empty() && go(rest, &path[1..]),
                Some((PatSeg::Literal(l), rest)) => {
                    path.first().is_some_and(|p| p == l) && go(rest, &path[1..])
                }
                Some((PatSeg::Template(pieces), rest)) => {
                    path.first().is_some_and(|p| template_matches(pieces, p))
                        && go(rest, &path[1..])
                }
            }
        }
        go(&self.0, path)
    }
}

// Route templates (issue 17). OpenAPI's `{name}` is the one parameter syntax: a whole segment
// `{name}` is `*`, and `{name}` inside a segment (`{id}.json`) matches any text there. Express
// (`:id`) and Flask (`<int:id>`) routes are refused with their OpenAPI spelling, because read
// literally they match nothing and the request would pass unprotected.

/// A segment holding `{name}` parameters, compiled; `None` for a segment without braces.
fn template_segment(pattern: &str, seg: &str) -> Result<Option<PatSeg>, String> {
    if !seg.contains(['{', '}']) {
        return Ok(None);
    }
    let mut pieces = Vec::new();
    let mut rest = seg;
    loop {
        let Some(open) = rest.find('{') else {
            if rest.contains('}') {
                return Err(unbalanced(pattern, seg));
            }
            pieces.push(rest.to_lowercase());
            break;
        };
        let literal = &rest[..open];
        if literal.contains('}') {
            return Err(unbalanced(pattern, seg));
        }
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| unbalanced(pattern, seg))?;
        let name = &after[..close];
        if !is_param_name(name) {
            return Err(format!(
                "in `{pattern}`, `{{{name}}}` is not a route parameter: write `{{name}}` with a name of letters, digits and `_` (OpenAPI path templating)"
            ));
        }
        if literal.contains('*') {
            return Err(format!(
                "in `{pattern}`, `*` must be a whole segment (`/a/*/b`) or `**`; partial wildcards like `{seg}` are not supported"
            ));
        }
        pieces.push(literal.to_lowercase());
        rest = &after[close + 1..];
    }
    if pieces.len() == 2 && pieces.iter().all(String::is_empty) {
        // `{id}` alone is one whole segment, exactly like `*`.
        return Ok(Some(PatSeg::One));
    }
    if pieces.iter().skip(1).rev().skip(1).any(String::is_empty) {
        return Err(format!(
            "in `{pattern}`, the parameters of `{seg}` touch each other: separate them with literal text (`{{a}}.{{b}}`)"
        ));
    }
    if pieces.iter().any(|p| p.contains('*')) {
        return Err(format!(
            "in `{pattern}`, `*` must be a whole segment (`/a/*/b`) or `**`; partial wildcards like `{seg}` are not supported"
        ));
    }
    Ok(Some(PatSeg::Template(pieces)))
}

fn is_param_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

fn unbalanced(pattern: &str, seg: &str) -> String {
    format!("in `{pattern}`, the braces of `{seg}` do not pair up: a parameter is `{{name}}`")
}

/// Whether a request segment fits a template segment: the literal pieces in order, any text
/// (also none: a wider match is the safe side) where each parameter stands.
fn template_matches(pieces: &[String], seg: &str) -> bool {
    let (Some(first), Some(last)) = (pieces.first(), pieces.last()) else {
        return false;
    };
    // The suffix is looked for after the prefix, so the two never overlap.
    let Some(mut rest) = seg
        .strip_prefix(first.as_str())
        .and_then(|r| r.strip_suffix(last.as_str()))
    else {
        return false;
    };
    for piece in &pieces[1..pieces.len() - 1] {
        match rest.find(piece.as_str()) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

/// Refuse a route written for Express (`:id`, `:id?`, `:id(\\d+)`) or Flask / Werkzeug
/// (`<id>`, `<int:id>`, `<path:rest>`), naming the pattern to write instead.
fn refuse_framework_route(pattern: &str) -> Result<(), String> {
    let mut framework = None;
    let mut openapi = Vec::new();
    for seg in pattern.split('/') {
        if let Some(param) = seg.strip_prefix(':') {
            framework = Some("an Express-style parameter (`:name`)");
            let name: String = param
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            openapi.push(if param.ends_with('*') || param.ends_with('+') {
                "**".to_string()
            } else {
                format!("{{{}}}", if name.is_empty() { "param" } else { &name })
            });
        } else if seg.contains('<') || seg.contains('>') {
            framework = Some("a Flask-style parameter (`<converter:name>`)");
            let mut out = String::new();
            let mut rest = seg;
            while let Some(open) = rest.find('<') {
                out.push_str(&rest[..open]);
                let after = &rest[open + 1..];
                let close = after.find('>').unwrap_or(after.len());
                let inner = &after[..close];
                let (converter, name) = inner.split_once(':').unwrap_or(("", inner));
                if converter.trim() == "path" && seg.starts_with('<') && seg.ends_with('>') {
                    out.push_str("**");
                } else {
                    out.push('{');
                    out.push_str(if name.is_empty() {
                        "param"
                    } else {
                        name.trim()
                    });
                    out.push('}');
                }
                rest = after.get(close + 1..).unwrap_or("");
            }
            out.push_str(&rest.replace('>', ""));
            openapi.push(out);
        } else {
            openapi.push(seg.to_string());
        }
    }
    match framework {
        None => Ok(()),
        Some(what) => Err(format!(
            "`{pattern}` uses {what}, which pii-edge would read literally and never match, leaving the route unprotected; write it as `{}` (OpenAPI path templating: `{{name}}` is one segment, `**` any number)",
            openapi.join("/")
        )),
    }
}

impl PathPattern {
    /// A request path this pattern matches, as normalized segments: a parameter or `*` becomes
    /// a segment no literal pattern names, `**` no segment at all. Another policy's pattern
    /// that matches it takes at least some requests of this route.
    pub(crate) fn sample(&self) -> Vec<String> {
        const PARAM: &str = "\u{0}param";
        self.0
            .iter()
            .filter_map(|seg| match seg {
                PatSeg::Literal(l) => Some(l.clone()),
                PatSeg::One => Some(PARAM.to_string()),
                PatSeg::Any => None,
                PatSeg::Template(pieces) => Some(pieces.join(PARAM)),
            })
            .collect()
    }
}

/// Normalize a request path the way origins read it, so a route cannot be dodged by spelling:
/// percent-escapes decoded, empty and `.` segments dropped, `..` applied, `;parameters` cut.
pub(crate) fn normalize_path(raw: &str) -> Vec<String> {
    path_reading(raw, true, true)
}

/// Every reading of a request path an origin router may apply: escapes decoded before the
/// path is split (`%2F` and `%5C` separate segments, as servlet containers and proxies that
/// decode read them) or after (Express and Go 1.22 `ServeMux` route on the escaped path, so
/// `42%2Fx` is one segment `42/x`), and dot segments applied or kept as segments. A path
/// without escapes, backslashes or dot segments has one reading.
pub(crate) fn path_readings(raw: &str) -> Vec<Vec<String>> {
    let path = raw.split(['?', '#']).next().unwrap_or("");
    let first = path_reading(raw, true, true);
    let plain = !path.contains(['%', '\\'])
        && !path
            .split('/')
            .any(|s| s.split(';').next() == Some(".") || s.split(';').next() == Some(".."));
    if plain {
        return vec![first];
    }
    let mut out = vec![first];
    for (decoded_first, dots) in [(true, false), (false, true), (false, false)] {
        let r = path_reading(raw, decoded_first, dots);
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

/// One reading of a path: see [`path_readings`]. Segments compare case-insensitively
/// (lowercased here and in patterns), `;parameters` are cut.
fn path_reading(raw: &str, decoded_first: bool, dots: bool) -> Vec<String> {
    let raw = raw.split(['?', '#']).next().unwrap_or("");
    let segments: Vec<String> = if decoded_first {
        let decoded =
            String::from_utf8_lossy(&percent_decode(raw.as_bytes(), false)).to_lowercase();
        decoded
            .split(['/', '\\'])
            .map(|seg| seg.split(';').next().unwrap_or("").to_string())
            .collect()
    } else {
        raw.split('/')
            .map(|seg| {
                let seg = seg.split(';').next().unwrap_or("");
                String::from_utf8_lossy(&percent_decode(seg.as_bytes(), false)).to_lowercase()
            })
            .collect()
    };
    let mut out: Vec<String> = Vec::new();
    for seg in segments {
        match seg.as_str() {
            "" => {}
            "." if dots => {}
            ".." if dots => {
                out.pop();
            }
            _ => out.push(seg),
        }
    }
    out
}

/// The segments of a path with a format suffix (`users.json`) cut from its last segment, the
/// way Rails (`(.:format)`) and Spring MVC before 5.3 (suffix pattern matching) route
/// `/api/users.json` to `/api/users`; `None` when the last segment has no suffix.
pub(crate) fn without_format_suffix(segments: &[String]) -> Option<Vec<String>> {
    let (last, rest) = segments.split_last()?;
    let (stem, _) = last.split_once('.')?;
    if stem.is_empty() {
        return None;
    }
    let mut out = rest.to_vec();
    out.push(stem.to_string());
    Some(out)
}

/// Whether every `%` in a query string or form body starts a `%HH` escape. IIS decodes
/// `%u0065` as `e`; other servers keep it as text: a name spelled so is read differently.
pub(crate) fn strict_escapes(raw: &str) -> bool {
    let b = raw.as_bytes();
    b.iter().enumerate().all(|(i, &c)| {
        c != b'%'
            || (b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

pub(crate) use crate::params::cookie_pieces;

/// The `Cookie` header `header` with `edits` applied: `(start, end, text)` replaces a value
/// (`text` non-empty or a value range) or removes a whole cookie (`text` empty, the range of
/// the cookie), together with the separator before it (after it, for the first cookie).
pub(crate) fn edit_cookie_header(header: &str, edits: &[(usize, usize, String)]) -> String {
    let b = header.as_bytes();
    let is_sep = |c: u8| c == b';' || c == b',' || c.is_ascii_whitespace();
    let mut ranges: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|(start, end, text)| {
            let (mut s, mut e) = (*start, *end);
            if text.is_empty() {
                let before = s;
                while s > 0 && b.get(s - 1).is_some_and(|&c| is_sep(c)) {
                    s -= 1;
                }
                if s == 0 {
                    // The first cookie: take the separator after it instead.
                    s = before.min(s);
                    while b.get(e).is_some_and(|&c| is_sep(c)) {
                        e += 1;
                    }
                }
            }
            (s, e, text.as_str())
        })
        .collect();
    ranges.sort_by_key(|r| r.0);
    let mut out = String::with_capacity(header.len());
    let mut at = 0;
    for (s, e, text) in ranges {
        if s >= at {
            out.push_str(header.get(at..s).unwrap_or(""));
        }
        out.push_str(text);
        at = at.max(e);
    }
    out.push_str(header.get(at..).unwrap_or(""));
    out.trim_matches(|c: char| c == ';' || c == ',' || c.is_whitespace())
        .to_string()
}

pub(crate) use crate::params::percent_decode;

/// Percent-encode everything but RFC 3986 unreserved characters.
pub(crate) fn percent_encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len());
    for &b in input {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether a body could be `application/x-www-form-urlencoded` as browsers send it. A body that
/// is really JSON (or anything else) sent under a form content type is refused rather than
/// forwarded uninspected.
pub(crate) fn plausible_form(body: &[u8]) -> bool {
    body.iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"%+=&-._~*!'()$,;:@/?".contains(&b))
}

/// A parsed `Content-Type`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct MediaType {
    pub(crate) essence: String,
    pub(crate) charset: Option<String>,
    /// A parameter is given twice (`charset=utf-8; charset=ibm037`): servers disagree on
    /// which one counts.
    pub(crate) repeated: bool,
}

pub(crate) fn parse_media_type(value: &str) -> MediaType {
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let mut charset = None;
    let mut seen: Vec<String> = Vec::new();
    let mut repeated = false;
    for p in parts {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        let k = k.trim().to_ascii_lowercase();
        if k.is_empty() {
            continue;
        }
        if seen.contains(&k) {
            repeated = true;
        }
        if k == "charset" && charset.is_none() {
            charset = Some(v.trim().trim_matches('"').to_ascii_lowercase());
        }
        seen.push(k);
    }
    MediaType {
        essence,
        charset,
        repeated,
    }
}

/// Whether `essence` is allowed by a configured media type (`application/*+json` patterns).
pub(crate) fn media_type_matches(pattern: &str, essence: &str) -> bool {
    if let Some(suffix) = pattern.strip_prefix("application/*") {
        essence.starts_with("application/") && essence.ends_with(suffix)
    } else {
        pattern == essence
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_patterns() {
        let p = PathPattern::parse("/api/users/*").unwrap();
        assert!(p.matches(&normalize_path("/api/users/42")));
        assert!(!p.matches(&normalize_path("/api/users")));
        assert!(!p.matches(&normalize_path("/api/users/42/x")));
        let p = PathPattern::parse("/api/**").unwrap();
        assert!(p.matches(&normalize_path("/api")));
        assert!(p.matches(&normalize_path("/api/a/b/c")));
        assert!(PathPattern::parse("/api/us*").is_err());
        assert!(PathPattern::parse("api").is_err());
    }

    #[test]
    fn openapi_templates_match_one_segment() {
        let p = PathPattern::parse("/v1/users/{user_id}/profile").unwrap();
        assert!(p.matches(&normalize_path("/v1/users/42/profile")));
        assert!(p.matches(&normalize_path("/V1/Users/abc/PROFILE")));
        assert!(!p.matches(&normalize_path("/v1/users/profile")));
        assert!(!p.matches(&normalize_path("/v1/users/4/2/profile")));
        assert!(!p.matches(&normalize_path("/v1/users/42/profile/x")));
    }

    #[test]
    fn templates_inside_a_segment() {
        let p = PathPattern::parse("/files/{id}.json").unwrap();
        assert!(p.matches(&normalize_path("/files/report.json")));
        assert!(p.matches(&normalize_path("/files/REPORT.JSON")));
        assert!(p.matches(&normalize_path("/files/a.b.json")));
        assert!(!p.matches(&normalize_path("/files/report.xml")));
        assert!(!p.matches(&normalize_path("/files/report.json/x")));
        let p = PathPattern::parse("/api/v{version}/users").unwrap();
        assert!(p.matches(&normalize_path("/api/v2/users")));
        assert!(!p.matches(&normalize_path("/api/2/users")));
        let p = PathPattern::parse("/d/{a}-{b}.csv").unwrap();
        assert!(p.matches(&normalize_path("/d/x-y.csv")));
        assert!(!p.matches(&normalize_path("/d/xy.csv")));
        // The suffix must not overlap the prefix.
        let p = PathPattern::parse("/x/ab{id}ba").unwrap();
        assert!(!p.matches(&normalize_path("/x/aba")));
        assert!(p.matches(&normalize_path("/x/abba")));
        for bad in [
            "/a/{id",
            "/a/id}",
            "/a/{}",
            "/a/{a}{b}",
            "/a/{a b}",
            "/a/x*{id}",
        ] {
            assert!(PathPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn framework_routes_are_refused_with_their_openapi_form() {
        for (route, want) in [
            ("/api/users/:id", "`/api/users/{id}`"),
            ("/api/users/:id?/x", "`/api/users/{id}/x`"),
            ("/orders/<int:order_id>", "`/orders/{order_id}`"),
            ("/orders/<order_id>/items", "`/orders/{order_id}/items`"),
            ("/static/<path:rest>", "`/static/**`"),
            ("/files/<name>.json", "`/files/{name}.json`"),
        ] {
            let err = PathPattern::parse(route).expect_err(route);
            assert!(err.contains(want), "{route}: {err}");
        }
        // A colon inside a segment is literal text (`/v1/users:batchGet`).
        assert!(PathPattern::parse("/v1/users:batchget").is_ok());
    }

    #[test]
    fn path_spelling_tricks_normalize() {
        let want = vec!["api".to_string(), "users".to_string()];
        assert_eq!(normalize_path("/api/%75sers"), want);
        assert_eq!(normalize_path("//api/./users/"), want);
        assert_eq!(normalize_path("/api/x/../users"), want);
        assert_eq!(normalize_path("/api/users;jsessionid=1"), want);
        assert_eq!(normalize_path("/api/users?x=1"), want);
    }

    #[test]
    fn percent_decoding_is_tolerant() {
        assert_eq!(percent_decode(b"%65mail", true), b"email");
        assert_eq!(percent_decode(b"a+b%2", true), b"a b%2");
        assert_eq!(percent_decode(b"%zz%", false), b"%zz%");
        assert_eq!(percent_decode(b"%4", false), b"%4");
        assert_eq!(percent_decode(b"%41", false), b"A");
        assert_eq!(percent_encode(b"a b@c.de"), "a%20b%40c.de");
    }

    #[test]
    fn params_keep_raw_text() {
        let p = crate::params::pairs("email=a%40b.de&&q&x=1=2", crate::location::Part::Query);
        assert_eq!(p.len(), 4);
        assert_eq!(p[0].value, b"a@b.de");
        assert_eq!(p[1].raw, "");
        assert_eq!(p[2].name, "q");
        assert_eq!(p[3].value, b"1=2");
    }

    #[test]
    fn media_types() {
        let m = parse_media_type("Application/JSON; Charset=\"UTF-8\"");
        assert_eq!(m.essence, "application/json");
        assert_eq!(m.charset.as_deref(), Some("utf-8"));
        assert!(!m.repeated);
        assert!(parse_media_type("a/b; charset=utf-8; CHARSET=ibm037").repeated);
        assert!(parse_media_type("a/b; q=1; x=2; q=3").repeated);
        assert!(media_type_matches(
            "application/*+json",
            "application/merge-patch+json"
        ));
        assert!(!media_type_matches("application/*+json", "text/json"));
    }

    #[test]
    fn forms_vs_json() {
        assert!(plausible_form(b"a=1&b=%40x+y"));
        assert!(!plausible_form(b"{\"a\":1}"));
        assert!(!plausible_form(b"a=1 b"));
    }
}

#[cfg(test)]
mod name_parsing_tests {
    use super::*;

    fn pieces(h: &str) -> Vec<(&str, &str)> {
        cookie_pieces(h).iter().map(|p| (p.name, p.value)).collect()
    }

    #[test]
    fn cookies_split_every_way_an_origin_splits_them() {
        assert_eq!(
            pieces("$Version=1; session=x7Kp2, tracking_email=a%40b"),
            [
                ("$Version", "1"),
                ("session", "x7Kp2"),
                ("tracking_email", "a%40b")
            ]
        );
        assert_eq!(pieces("a=1 b=2;c"), [("a", "1"), ("b", "2"), ("c", "")]);
        assert_eq!(
            pieces("session_email =v; x=\"1=2\""),
            [("session_email", "v"), ("x", "\"1=2\"")]
        );
        let h = " a = 1 ,b=2";
        for p in cookie_pieces(h) {
            assert_eq!(&h[p.value_start..p.end], p.value);
            assert!(h[p.start..p.end].starts_with(p.name));
        }
        assert!(pieces(" ; ,, ").is_empty());
    }

    #[test]
    fn cookie_edits_keep_the_other_cookies() {
        let h = "$Version=1; session=x7Kp2, tracking_email=a%40b";
        let p = cookie_pieces(h)[2];
        assert_eq!(
            edit_cookie_header(h, &[(p.start, p.end, String::new())]),
            "$Version=1; session=x7Kp2"
        );
        assert_eq!(
            edit_cookie_header(h, &[(p.value_start, p.end, "X".into())]),
            "$Version=1; session=x7Kp2, tracking_email=X"
        );
        let h = "a=1; b=2; c=3";
        let all: Vec<_> = cookie_pieces(h)
            .iter()
            .map(|p| (p.start, p.end, String::new()))
            .collect();
        assert_eq!(edit_cookie_header(h, &all), "");
        let first = cookie_pieces(h)[0];
        assert_eq!(
            edit_cookie_header(h, &[(first.start, first.end, String::new())]),
            "b=2; c=3"
        );
        assert_eq!(
            edit_cookie_header(h, &[all[0].clone(), all[1].clone()]),
            "c=3"
        );
    }

    #[test]
    fn escapes_must_be_two_hex_digits() {
        assert!(strict_escapes("a=%41&b=%7e"));
        assert!(!strict_escapes("card%u005Fnumber=1"));
        assert!(!strict_escapes("a=100%"));
        assert!(!strict_escapes("a=%4"));
    }

    #[test]
    fn format_suffixes_are_cut_from_the_last_segment() {
        let segs = normalize_path("/api/users.json");
        assert_eq!(
            without_format_suffix(&segs),
            Some(normalize_path("/api/users"))
        );
        assert_eq!(without_format_suffix(&normalize_path("/api/users")), None);
        assert_eq!(without_format_suffix(&normalize_path("/.well-known")), None);
    }
}
