//! Read a value of a request at a location as the engine reports it (`pii_core::Location`:
//! `json:$['user']['email']`, `query:email#1`, `form:cvv`, `header:x-national-id`,
//! `cookie:session`). JSON values are found by pii-core's own scanner (`pii_core::hooks::json_span`).

use pii_core::engine::FieldReport;
use pii_core::params::percent_decode;
use pii_core::{hooks::json_span, location::Part, Location, Request};
use serde_json::Value;

/// A value found at a location.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    /// The raw text: the JSON text of a body value, a parameter's raw (still encoded) value,
    /// a header value, a cookie's raw value.
    pub(crate) raw: Vec<u8>,
    /// The value as text: a JSON string decoded (other JSON values as written), a parameter
    /// or cookie percent-decoded, a header as is.
    pub(crate) text: String,
}

/// The parameters of a query string or form body: (decoded lowercase name, raw value, decoded
/// value), split and decoded as the engine does (`pii_core::params::pairs`).
pub(crate) fn params(raw: &str) -> Vec<(String, String, String)> {
    if raw.is_empty() {
        return Vec::new();
    }
    pii_core::params::pairs(raw, Part::Query)
        .into_iter()
        .map(|p| {
            (
                p.name.to_ascii_lowercase(),
                p.raw_value.to_string(),
                String::from_utf8_lossy(&p.value).into_owned(),
            )
        })
        .collect()
}

/// The value at `location`, if the request has one there.
pub(crate) fn value_at(req: &Request, location: &Location) -> Option<Found> {
    match location {
        Location::Json(path) => {
            let raw = req.body.get(json_span(&req.body, path)?)?.to_vec();
            let text = serde_json::from_slice::<String>(&raw)
                .unwrap_or_else(|_| String::from_utf8_lossy(&raw).into_owned());
            Some(Found { raw, text })
        }
        Location::Field { part, name, index } => field_at(req, *part, name, *index),
        _ => None,
    }
}

/// The `index`th value named `name` (lowercase, decoded) in a part of the request.
fn field_at(req: &Request, part: Part, name: &str, index: usize) -> Option<Found> {
    match part {
        Part::Query | Part::Form => {
            let source = if part == Part::Query {
                req.query.as_str()
            } else {
                std::str::from_utf8(&req.body).ok()?
            };
            pii_core::params::pairs(source, part)
                .into_iter()
                .find(|p| p.location() == Location::field(part, name, index))
                .map(|p| Found {
                    raw: p.raw_value.as_bytes().to_vec(),
                    text: String::from_utf8_lossy(&p.value).into_owned(),
                })
        }
        Part::Header => req
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .nth(index)
            .map(|(_, v)| Found {
                raw: v.as_bytes().to_vec(),
                text: v.clone(),
            }),
        // The cookies as the engine splits them (on `;`, `,` and white space).
        Part::Cookie => pii_core::params::cookies(req)
            .into_iter()
            .find(|c| c.location() == Location::field(part, name, index))
            .map(|c| Found {
                raw: c.raw_value.as_bytes().to_vec(),
                text: String::from_utf8_lossy(&c.value).into_owned(),
            }),
        _ => None,
    }
}

/// Every value at the location's name (all occurrences), as text; for "was it removed". For
/// a JSON location, the value there if any.
pub(crate) fn all_values(req: &Request, location: &Location) -> Vec<String> {
    match location {
        Location::Field { part, name, .. } => (0..)
            .map_while(|index| field_at(req, *part, name, index))
            .map(|f| f.text)
            .collect(),
        other => value_at(req, other).map(|f| f.text).into_iter().collect(),
    }
}

/// Every place a value could hide in a request, as text: path, query, headers and body, raw
/// and decoded (percent escapes, JSON string escapes).
pub(crate) fn haystacks(req: &Request) -> Vec<(&'static str, String)> {
    let mut out = raw_haystacks(req);
    for (_, text) in &mut out {
        *text = blank_protected(text);
    }
    out
}

/// `text` with the random part of every envelope (`pe2.…`), token (`tk1.…`) and hash
/// (`sha256:…`) replaced by `…`, the prefix kept: their base64url and hex are random, and a short needle (`cvv`, `737`) turns
/// up in them by chance (about once in 500 requests with two envelopes).
pub(crate) fn blank_protected(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        let rest = &b[i..];
        let digits = rest
            .get(2..)
            .map_or(0, |r| r.iter().take_while(|c| c.is_ascii_digit()).count());
        let prefix = if rest.starts_with(b"pe")
            && (1..=3).contains(&digits)
            && rest.get(2 + digits) == Some(&b'.')
        {
            3 + digits
        } else if rest.starts_with(b"tk1.") {
            4
        } else if rest.starts_with(b"sha256:") {
            7
        } else {
            0
        };
        if prefix == 0 {
            i += 1;
            continue;
        }
        let end = i
            + prefix
            + b[i + prefix..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
                .count();
        out.push_str(text.get(copied..i + prefix).unwrap_or_default());
        out.push('…');
        copied = end;
        i = end;
    }
    out.push_str(text.get(copied..).unwrap_or_default());
    out
}

fn raw_haystacks(req: &Request) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("path", req.path.clone()),
        (
            "path",
            String::from_utf8_lossy(&percent_decode(req.path.as_bytes(), false)).into_owned(),
        ),
        ("query", req.query.clone()),
        (
            "query",
            String::from_utf8_lossy(&percent_decode(req.query.as_bytes(), true)).into_owned(),
        ),
    ];
    for (name, value) in &req.headers {
        out.push(("headers", format!("{name}: {value}")));
        out.push((
            "headers",
            String::from_utf8_lossy(&percent_decode(value.as_bytes(), false)).into_owned(),
        ));
    }
    out.push(("body", String::from_utf8_lossy(&req.body).into_owned()));
    out.push((
        "body",
        String::from_utf8_lossy(&percent_decode(&req.body, true)).into_owned(),
    ));
    if let Ok(doc) = serde_json::from_slice::<Value>(&req.body) {
        let mut strings = Vec::new();
        json_strings(&doc, &mut strings);
        out.extend(strings.into_iter().map(|s| ("body", s)));
    }
    out
}

/// What a protected value became in the forwarded request, short enough for a table.
pub(crate) fn result_of(forwarded: &Request, f: &FieldReport) -> String {
    if f.failed {
        return "removed (action did not fit the value)".to_string();
    }
    if f.removed {
        return "removed".to_string();
    }
    match value_at(forwarded, &f.location) {
        Some(found) => {
            let shown = if matches!(f.location, pii_core::Location::Json(_)) {
                String::from_utf8_lossy(&found.raw).into_owned()
            } else {
                format!("{:?}", found.text)
            };
            shorten(&shown, 44)
        }
        None => "(not found)".to_string(),
    }
}

/// `text` cut to `max` characters (at least 17), the rest counted.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let head: String = text.chars().take(max.saturating_sub(16)).collect();
    // A JSON string keeps its closing quote, so the text still reads as one string.
    if count > 1 && text.starts_with('"') && text.ends_with('"') {
        return format!("{head}…\" ({count} chars)");
    }
    format!("{head}…({count} chars)")
}

#[cfg(test)]
mod blank_tests {
    use super::{blank_protected, shorten};

    #[test]
    fn shortened_json_strings_keep_their_closing_quote() {
        let long = format!("\"pe2.{}\"", "A".repeat(100));
        let short = shorten(&long, 40);
        assert!(
            short.starts_with("\"pe2.AAAA") && short.ends_with("…\" (106 chars)"),
            "{short}"
        );
        assert_eq!(shorten("abc", 2), "…(3 chars)");
        assert_eq!(shorten("\"ab\"", 40), "\"ab\"");
    }

    #[test]
    fn envelopes_tokens_and_hashes_are_blanked_and_nothing_else() {
        assert_eq!(
            blank_protected("a=pe2.AbcvvX_-9&b=tk1.email.cvvQ&c=sha256:0a1f&cvv=737 pe.x pe1234.x"),
            "a=pe2.…&b=tk1.…&c=sha256:…&cvv=737 pe.x pe1234.x"
        );
        assert_eq!(blank_protected("type"), "type");
    }
}

/// Every string value of a JSON document (not member names), decoded.
fn json_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| json_strings(v, out)),
        Value::Object(members) => members.values().for_each(|v| json_strings(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(req: &Request, location: &str) -> Option<String> {
        let location: Location = location.parse().expect("location");
        value_at(req, &location).map(|f| f.text)
    }

    #[test]
    fn values_by_location() {
        let req = Request::new("POST", "/")
            .with_query("email=a%40x.de&EMAIL=b&q=1")
            .with_header("X-Id", "one")
            .with_header("x-id", "two")
            .with_header("Cookie", "s=1; T=%41")
            .with_body(br#"{"user":{"email":"e\u0040x.de","n":[1,{"k":true}]}}"#.to_vec());
        assert_eq!(at(&req, "query:email").as_deref(), Some("a@x.de"));
        assert_eq!(at(&req, "query:email#1").as_deref(), Some("b"));
        assert_eq!(at(&req, "query:email#2"), None);
        assert_eq!(at(&req, "header:x-id#1").as_deref(), Some("two"));
        assert_eq!(at(&req, "cookie:t").as_deref(), Some("A"));
        assert_eq!(
            at(&req, "json:$['user']['email']").as_deref(),
            Some("e@x.de")
        );
        assert_eq!(
            at(&req, "json:$['user']['n'][1]").as_deref(),
            Some(r#"{"k":true}"#)
        );
        assert_eq!(at(&req, "json:$['user']['x']"), None);
        let raw = value_at(&req, &"json:$['user']['email']".parse().expect("location"))
            .expect("found")
            .raw;
        assert_eq!(raw, br#""e\u0040x.de""#);
        let email: Location = "query:email".parse().expect("location");
        assert_eq!(all_values(&req, &email), ["a@x.de", "b"]);
    }

    #[test]
    fn haystacks_hold_decoded_json_strings() {
        let req = Request::new("POST", "/").with_body(br#"{"a":["x\u0041"]}"#.to_vec());
        assert!(haystacks(&req)
            .iter()
            .any(|(part, s)| *part == "body" && s == "xA"));
    }
}
