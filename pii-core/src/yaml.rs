//! Loading policies from YAML with file, line and column on every problem.
//!
//! Syntax and shape errors come from the YAML parser with their location. Problems found while
//! compiling (a bad JSONPath, an option that does not fit its action, a dead rule) carry a path
//! into the document; a second, location-only read of the same text turns that path into a
//! line and column. That read only happens when there is something to report.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::error::{Diagnostic, PolicyError};
use crate::policy::Policy;
use crate::spec::{SpecPart, SpecProblem};

impl Policy {
    /// Load and compile a policy from YAML. `source` names the file in messages.
    ///
    /// Every problem found is reported, each as `file:line:col: message` with the offending
    /// line and a caret.
    ///
    /// ```
    /// let policy = pii_core::Policy::from_yaml("forms.yaml", r#"
    /// apiVersion: pii-edge/v1
    /// name: checkout-form
    /// match: { methods: [POST], paths: ["/checkout"] }
    /// rules:
    ///   - select: { form: cvv }
    ///     action: redact
    /// "#).unwrap();
    /// assert_eq!(policy.name(), "checkout-form");
    ///
    /// let err = pii_core::Policy::from_yaml("typo.yaml", "apiVersion: pii-edge/v1\nname: x\nmatch: {}\nrules:\n  - select: { json: $.a }\n    actoin: hash\n").unwrap_err();
    /// assert!(err.to_string().contains("typo.yaml:6:5"), "{err}");
    /// ```
    pub fn from_yaml(source: &str, text: &str) -> Result<Policy, PolicyError> {
        load(source, text, Policy::compile)
    }
}

/// Parse YAML into a spec type, then compile it; every problem comes back located.
pub(crate) fn load<S, T>(
    source: &str,
    text: &str,
    compile: impl FnOnce(S) -> Result<T, Vec<SpecProblem>>,
) -> Result<T, PolicyError>
where
    S: serde::de::DeserializeOwned,
{
    let spec: S = serde_saphyr::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line() as usize, l.column() as usize))
            .unwrap_or((0, 0));
        PolicyError::single(
            source,
            line,
            column,
            clean_message(&e.without_snippet().to_string()),
            line_of(text, line),
        )
    })?;
    compile(spec).map_err(|problems| locate(source, text, problems))
}

/// The YAML parser's message without its own location suffix (we print ours in front).
fn clean_message(msg: &str) -> String {
    let first = msg.lines().next().unwrap_or(msg);
    match first.rfind(" at line ") {
        Some(i) => first[..i].to_string(),
        None => first.to_string(),
    }
}

fn line_of(text: &str, line: usize) -> &str {
    if line == 0 {
        return "";
    }
    text.lines().nth(line - 1).unwrap_or("")
}

/// A YAML node reduced to what is needed to find locations.
enum Node {
    /// Entries with the key's own location (problems with a key point at the key).
    Map(Vec<(Spanned<KeyText>, Spanned<Node>)>),
    Seq(Vec<Spanned<Node>>),
    Scalar,
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any YAML node")
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_none<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
                Node::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<Node>>()? {
                    items.push(item);
                }
                Ok(Node::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<KeyText>>()? {
                    entries.push((key, map.next_value::<Spanned<Node>>()?));
                }
                Ok(Node::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

/// A mapping key as text, whatever its YAML type.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a mapping key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyText, E> {
                Ok(KeyText(String::new()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Turn compile problems (paths into the document) into located diagnostics.
fn locate(source: &str, text: &str, problems: Vec<SpecProblem>) -> PolicyError {
    let root: Option<Spanned<Node>> = serde_saphyr::from_str(text).ok();
    let diagnostics = problems
        .into_iter()
        .map(|p| {
            let (mut line, mut column) = (0, 0);
            if let Some(root) = &root {
                let mut node = root;
                let mut key_at = None;
                for part in &p.path.parts {
                    let next = match (&node.value, part) {
                        (Node::Map(entries), SpecPart::Key(k)) => entries
                            .iter()
                            .find(|(name, _)| name.value.0 == *k)
                            .map(|(name, v)| (Some(name.referenced), v)),
                        (Node::Seq(items), SpecPart::Index(i)) => items.get(*i).map(|v| (None, v)),
                        _ => None,
                    };
                    match next {
                        Some((k, n)) => {
                            key_at = k;
                            node = n;
                        }
                        None => break,
                    }
                }
                // A problem inside a value points into the value; any other problem with a key
                // points at the key, where the author will look.
                let at = match (p.path.offset, key_at) {
                    (None, Some(k)) if k.line() > 0 => k,
                    _ => node.referenced,
                };
                line = at.line() as usize;
                column = at.column() as usize;
                if let (Some(offset), true) = (p.path.offset, line > 0) {
                    // Point inside the scalar: skip an opening quote, then count characters.
                    let quoted = line_of(text, line)
                        .chars()
                        .nth(column.saturating_sub(1))
                        .is_some_and(|c| c == '"' || c == '\'');
                    column += offset + usize::from(quoted);
                }
            }
            Diagnostic {
                file: source.to_string(),
                line,
                column,
                message: if line == 0 {
                    format!("{}: {}", p.path, p.message)
                } else {
                    p.message
                },
                line_text: line_of(text, line).to_string(),
            }
        })
        .collect();
    PolicyError::new(diagnostics)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "apiVersion: pii-edge/v1\nname: t\nzone: eu\nmatch:\n  paths: [\"/x\"]\n";

    fn err(text: &str) -> Vec<Diagnostic> {
        Policy::from_yaml("t.yaml", text)
            .expect_err("must fail")
            .diagnostics()
            .to_vec()
    }

    #[test]
    fn bad_jsonpath_points_inside_the_path() {
        let d = err(&format!(
            "{HEAD}rules:\n  - select: {{ json: \"$.user[\" }}\n    action: encrypt\n"
        ));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].line, 7);
        // `  - select: { json: "` is 21 characters; the path starts at column 22, the
        // problem is at its 8th character.
        assert!(d[0].column >= 22, "{:?}", d[0]);
        assert!(d[0].message.contains("invalid JSONPath"));
        assert!(d[0].line_text.contains("$.user["));
    }

    #[test]
    fn unknown_key_is_located() {
        let d = err(&format!(
            "{HEAD}rules:\n  - select: {{ json: $.a }}\n    acton: encrypt\n"
        ));
        assert_eq!(d[0].line, 8, "{:?}", d[0]);
        assert!(d[0].message.contains("acton"), "{}", d[0].message);
    }

    #[test]
    fn every_problem_is_reported() {
        let d = err(&format!(
            "{HEAD}rules:\n  - select: {{ json: $.a }}\n    action: encrypt\n    keepLast: 4\n  - select: {{ json: $.a }}\n    action: hash\n  - select: {{ header: \"bad header\" }}\n    action: hash\n"
        ));
        assert_eq!(d.len(), 3, "{d:#?}");
        assert_eq!((d[0].line, d[0].column), (9, 5));
        assert!(d[0].message.contains("keepLast"));
        assert_eq!(d[1].line, 10);
        assert!(d[1].message.contains("never applies"));
        assert_eq!(d[2].line, 12);
    }

    #[test]
    fn display_has_caret() {
        let e = Policy::from_yaml(
            "p.yaml",
            "apiVersion: pii-edge/v2\nname: x\nmatch: {}\nrules: []\n",
        )
        .expect_err("bad");
        let s = e.to_string();
        assert!(s.starts_with("p.yaml:1:13: unsupported apiVersion"), "{s}");
        assert!(s.contains("1 | apiVersion: pii-edge/v2"), "{s}");
        assert!(s.contains("  |             ^"), "{s}");
        assert!(s.contains("p.yaml:4:"), "{s}");
    }

    #[test]
    fn syntax_errors_have_location() {
        let d = err("apiVersion: pii-edge/v1\nname: [unclosed\n");
        assert!(d[0].line >= 2, "{:?}", d[0]);
    }
}
