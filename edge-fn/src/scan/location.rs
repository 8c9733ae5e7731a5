//! Locations in the canonical text form of the Location contract (issue 12):
//!
//! ```text
//! location  = json-loc / field-loc
//! json-loc  = "json:" normalized-path          ; RFC 9535 §2.7
//! field-loc = part ":" name [ "#" index ]      ; index omitted when 0
//! ```
//!
//! `pii_core::Location` will own this grammar once it lands; until then this module prints it
//! (and reads the engine's reports, which still spell the first occurrence `#0`), so the
//! scanner's output already has the final form.

/// One step of a JSON path: a member name or an array index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step {
    /// An object member.
    Name(String),
    /// An array element (from 0).
    Index(usize),
}

/// `json:` and the RFC 9535 normalized path of `steps` (`$['user']['email']`, `$['a'][0]`).
///
/// ```
/// use edge_fn::scan::location::{json, Step};
/// let loc = json(&[Step::Name("it's".into()), Step::Index(2)]);
/// assert_eq!(loc, r"json:$['it\'s'][2]");
/// ```
pub fn json(steps: &[Step]) -> String {
    let mut out = String::from("json:$");
    for step in steps {
        push_step(&mut out, step);
    }
    out
}

/// Append one step in normalized-path form (RFC 9535 §2.7: single quotes, `\'`, `\\`, the
/// short escapes and `\u00XX` for other control characters).
fn push_step(out: &mut String, step: &Step) {
    match step {
        Step::Index(i) => {
            out.push('[');
            out.push_str(&i.to_string());
            out.push(']');
        }
        Step::Name(name) => {
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
    }
}

/// A JSONPath that selects `steps` with every array index replaced by `[*]`
/// (`$['items'][*]['email']`): what a policy rule needs to cover every element.
pub fn json_selector(steps: &[Step]) -> String {
    let mut out = String::from("$");
    for step in steps {
        match step {
            Step::Index(_) => out.push_str("[*]"),
            name => push_step(&mut out, name),
        }
    }
    out
}

/// The request part of a field location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// A header value.
    Header,
    /// A query parameter.
    Query,
    /// A field of an `application/x-www-form-urlencoded` body.
    Form,
    /// A cookie of a `Cookie` header.
    Cookie,
}

impl Part {
    /// The part's name in the grammar.
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Header => "header",
            Part::Query => "query",
            Part::Form => "form",
            Part::Cookie => "cookie",
        }
    }
}

/// `part:name` or `part:name#index`: the decoded name in ASCII lower case, every byte outside
/// `ALPHA / DIGIT / - . _ ~` written `%HH`; the index omitted when 0.
///
/// ```
/// use edge_fn::scan::location::{field, Part};
/// assert_eq!(field(Part::Query, "E-Mail", 0), "query:e-mail");
/// assert_eq!(field(Part::Form, "straße", 1), "form:stra%C3%9Fe#1");
/// ```
pub fn field(part: Part, name: &str, index: usize) -> String {
    let mut out = String::from(part.as_str());
    out.push(':');
    push_name(&mut out, name);
    if index > 0 {
        out.push('#');
        out.push_str(&index.to_string());
    }
    out
}

fn push_name(out: &mut String, name: &str) {
    for b in name.bytes() {
        let b = b.to_ascii_lowercase();
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// The canonical form of a location as the engine reports it: `query:email#0` (the engine's
/// spelling before the Location contract) becomes `query:email`, names are percent-encoded as
/// in [`field`]. JSON locations and text already canonical come back unchanged.
///
/// ```
/// use edge_fn::scan::location::canonical;
/// assert_eq!(canonical("query:email#0"), "query:email");
/// assert_eq!(canonical("cookie:a b#2"), "cookie:a%20b#2");
/// assert_eq!(canonical("json:$['a']"), "json:$['a']");
/// ```
pub fn canonical(report: &str) -> String {
    if report.starts_with("json:") {
        return report.to_string();
    }
    let Some((part, rest)) = report.split_once(':') else {
        return report.to_string();
    };
    let part = match part {
        "header" => Part::Header,
        "query" => Part::Query,
        "form" => Part::Form,
        "cookie" => Part::Cookie,
        _ => return report.to_string(),
    };
    let (name, index) = match rest.rsplit_once('#') {
        Some((name, index)) if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) => {
            (name, index.parse().unwrap_or(0))
        }
        _ => (rest, 0),
    };
    // Already percent-encoded names stay as they are.
    if name.contains('%') {
        let mut out = format!("{}:{name}", part.as_str());
        if index > 0 {
            out.push_str(&format!("#{index}"));
        }
        return out;
    }
    field(part, name, index)
}

/// Whether the engine protecting `protected` also protects `found`: the same location, or a
/// JSON value inside a protected object or array (`json:$['user']['address']` covers
/// `json:$['user']['address']['street']`).
///
/// ```
/// use edge_fn::scan::location::covers;
/// assert!(covers("json:$['user']['address']", "json:$['user']['address']['street']"));
/// assert!(!covers("json:$['user']['a']", "json:$['user']['ab']"));
/// assert!(covers("query:email#0", "query:email"));
/// ```
pub fn covers(protected: &str, found: &str) -> bool {
    let protected = canonical(protected);
    if protected == found {
        return true;
    }
    protected.starts_with("json:")
        && found.len() > protected.len()
        && found.starts_with(&protected)
        && found.as_bytes()[protected.len()] == b'['
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_as_rfc_9535_says() {
        assert_eq!(
            json(&[Step::Name("a\u{1}\n\\".into())]),
            r"json:$['a\u0001\n\\']"
        );
        assert_eq!(
            json_selector(&[Step::Name("items".into()), Step::Index(3)]),
            "$['items'][*]"
        );
    }

    #[test]
    fn field_names_are_lower_case_and_percent_encoded() {
        assert_eq!(field(Part::Header, "X-National-ID", 0), "header:x-national-id");
        assert_eq!(field(Part::Cookie, "a=b", 3), "cookie:a%3Db#3");
        assert_eq!(canonical("header:x-id#1"), "header:x-id#1");
        assert_eq!(canonical("form:a%20b#0"), "form:a%20b");
    }
}
