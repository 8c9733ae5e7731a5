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
use crate::spec::{PolicySpec, SpecPart, SpecProblem};

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
        load(source, text, |spec: PolicySpec| {
            let mut problems = crate::lint::misspellings(&spec);
            match Policy::compile(spec) {
                Ok(policy) if problems.is_empty() => Ok(policy),
                Ok(_) => Err(problems),
                Err(mut compiled) => {
                    compiled.append(&mut problems);
                    Err(compiled)
                }
            }
        })
    }
}

impl PolicyError {
    /// Problems found in a loaded policy (for example [`Policy::zone_problem`] or
    /// [`Policy::routes_taken_by`]), located in its YAML text as `file:line:col`.
    ///
    /// ```
    /// let text = "apiVersion: pii-edge/v1\nname: p\nmatch: {}\nrules:\n  - select: { header: x-id }\n    action: encrypt\n";
    /// let policy = pii_core::Policy::from_yaml("p.yaml", text)?;
    /// let problem = policy.zone_problem().expect("no zone");
    /// let err = pii_core::error::PolicyError::located_in_yaml("p.yaml", text, vec![problem]);
    /// assert!(err.to_string().starts_with("p.yaml:6:5: policy `p` encrypts but has no `zone`"), "{err}");
    /// # Ok::<(), pii_core::error::PolicyError>(())
    /// ```
    pub fn located_in_yaml(source: &str, text: &str, problems: Vec<SpecProblem>) -> PolicyError {
        locate(source, text, problems)
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
    let spec: S = match serde_saphyr::from_str(text) {
        Ok(spec) => spec,
        Err(e) => {
            let (line, column) = e
                .location()
                .map(|l| (l.line() as usize, l.column() as usize))
                .unwrap_or((0, 0));
            let message = clean_message(&e.without_snippet().to_string());
            // Past the first problem of these kinds, the others are still found.
            let more = [
                "unknown field",
                "missing field",
                "unknown variant",
                "invalid type",
            ];
            if more.iter().any(|kind| message.starts_with(kind)) {
                if let Some(all) = past_unknown_keys(source, text, compile) {
                    return Err(all);
                }
            }
            return Err(PolicyError::single(
                source,
                line,
                column,
                message,
                line_of(text, line),
            ));
        }
    };
    compile(spec).map_err(|problems| locate(source, text, problems))
}

/// Most unknown keys leave the other problems of a file to find: report every unknown key
/// (with the known key it most resembles), then read the document without them and report
/// what else is wrong. A problem that is not an unknown key (a missing field, an unknown
/// action) is reported once and patched over with a stand-in value, so that the unknown keys
/// after it are still found; once anything was patched, the compile problems are not reported
/// (they could be the stand-in's). `None` when the document cannot be read this way; the
/// caller then reports the parser's first error alone.
fn past_unknown_keys<S, T>(
    source: &str,
    text: &str,
    compile: impl FnOnce(S) -> Result<T, Vec<SpecProblem>>,
) -> Option<PolicyError>
where
    S: serde::de::DeserializeOwned,
{
    let root: Spanned<Node> = serde_saphyr::from_str(text).ok()?;
    let mut value: serde_json::Value = serde_saphyr::from_str(text).ok()?;
    let mut diagnostics = Vec::new();
    let diagnostic = |steps: &[Step], message: String| {
        // A wrong value (an unknown action, a number written as a word) is shown at the value;
        // an unknown or missing key at the key.
        let at_value = ["unknown variant", "invalid type", "invalid value"]
            .iter()
            .any(|kind| message.starts_with(kind));
        let (line, column) = locate_steps(&root, steps, at_value);
        Diagnostic {
            file: source.to_string(),
            line,
            column,
            message,
            line_text: line_of(text, line).to_string(),
        }
    };
    let mut patched = false;
    // Where stand-ins were put: a stand-in that does not fit either is patched again, not
    // reported (the problem was reported where it was found).
    let mut stand_ins: Vec<String> = Vec::new();
    // Each round removes one unknown key or patches one value; a document has fewer than this.
    for _ in 0..1000 {
        let error = match serde_path_to_error::deserialize::<_, S>(&value) {
            Ok(spec) => {
                if !patched {
                    if let Err(problems) = compile(spec) {
                        diagnostics.extend(locate(source, text, problems).diagnostics().to_vec());
                    }
                }
                break;
            }
            Err(e) => e,
        };
        // An enum's variant (or an unknown segment) names no node of the document: skipped.
        let steps: Vec<Step> = error
            .path()
            .iter()
            .filter_map(|s| match s {
                serde_path_to_error::Segment::Seq { index } => Some(Step::Index(*index)),
                serde_path_to_error::Segment::Map { key } => Some(Step::Key(key.clone())),
                _ => None,
            })
            .collect();
        let message = error.inner().to_string();
        if message.starts_with("unknown field") {
            diagnostics.push(diagnostic(&steps, with_suggestion(&message)));
            remove_key(&mut value, &steps)?;
            continue;
        }
        let at = error.path().to_string();
        let within = |p: &String| {
            p == "."
                || at == *p
                || at.starts_with(&format!("{p}."))
                || at.starts_with(&format!("{p}["))
        };
        if !stand_ins.iter().any(within) {
            let explained = match how_to_write(&message) {
                Some(hint) => format!("{message}: {hint}"),
                None => with_suggestion(&message),
            };
            diagnostics.push(diagnostic(&steps, explained));
        }
        stand_ins.push(match missing_field(&message) {
            Some(field) if at == "." => field.to_owned(),
            Some(field) => format!("{at}.{field}"),
            None => at,
        });
        patched = true;
        if patch(&mut value, &steps, &message).is_none() {
            break;
        }
    }
    diagnostics.sort_by_key(|d| (d.line, d.column));
    diagnostics.dedup_by(|a, b| a.line == b.line && a.column == b.column && a.message == b.message);
    Some(PolicyError::new(diagnostics))
}

/// serde's "unknown field `keepLats`, expected one of `name`, `keepLast`, ..." (or "unknown
/// variant", or two names: "expected `batch` or `json-patch`") with ", did you mean
/// `keepLast`?" when one expected name is close.
fn with_suggestion(message: &str) -> String {
    let (Some(given), Some(expected)) = (
        message.split('`').nth(1),
        message.split_once(", expected ").map(|(_, list)| list),
    ) else {
        return message.to_owned();
    };
    let best = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|name| {
            (
                strsim::jaro_winkler(&given.to_lowercase(), &name.to_lowercase()),
                name,
            )
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, name)) => format!("{message}; did you mean `{name}`?"),
        None => message.to_owned(),
    }
}

/// The field of serde's "missing field `action`".
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
}

/// Put a stand-in value where deserialization failed, so that the rest of the document is
/// read: a missing field gets one (the first variant an enum names, else an empty string); an
/// unknown variant, or a value of the wrong type, is replaced. `None` when nothing fits.
fn patch(value: &mut serde_json::Value, steps: &[Step], message: &str) -> Option<()> {
    let mut node = value;
    for step in steps {
        node = match step {
            Step::Key(k) => node.get_mut(k.as_str())?,
            Step::Index(i) => node.get_mut(*i)?,
        };
    }
    let stand_in = |message: &str| -> serde_json::Value {
        if let Some((_, list)) = message.split_once("expected one of ") {
            if let Some(first) = list.split(", ").next() {
                return serde_json::Value::String(first.trim_matches('`').to_owned());
            }
        }
        if message.contains("expected a sequence") || message.contains("expected a list") {
            return serde_json::Value::Array(Vec::new());
        }
        if message.contains("expected struct") || message.contains("expected a map") {
            return serde_json::Value::Object(serde_json::Map::new());
        }
        if message.contains("expected u") || message.contains("expected i") {
            return serde_json::Value::from(0);
        }
        if message.contains("expected a boolean") {
            return serde_json::Value::Bool(false);
        }
        serde_json::Value::String(String::new())
    };
    if let Some(field) = missing_field(message) {
        let map = node.as_object_mut()?;
        if map.contains_key(field) {
            return None;
        }
        map.insert(field.to_owned(), stand_in(""));
        return Some(());
    }
    let replacement = stand_in(message);
    if *node == replacement {
        return None;
    }
    *node = replacement;
    Some(())
}

/// One step of a path into a YAML document, with the key as written.
enum Step {
    Key(String),
    Index(usize),
}

/// Line and column of the node at `steps`: for a mapping entry, of its key, or of its value
/// when `at_value`.
fn locate_steps(root: &Spanned<Node>, steps: &[Step], at_value: bool) -> (usize, usize) {
    let mut node = root;
    let mut at = root.referenced;
    for step in steps {
        let next = match (&node.value, step) {
            (Node::Map(entries), Step::Key(k)) => entries
                .iter()
                .find(|(name, _)| name.value.0 == *k)
                .map(|(name, v)| {
                    (
                        if at_value {
                            v.referenced
                        } else {
                            name.referenced
                        },
                        v,
                    )
                }),
            (Node::Seq(items), Step::Index(i)) => items.get(*i).map(|v| (v.referenced, v)),
            _ => None,
        };
        match next {
            Some((here, n)) => {
                at = here;
                node = n;
            }
            None => break,
        }
    }
    (at.line() as usize, at.column() as usize)
}

/// Remove the mapping entry at `steps`; `None` when there is none.
fn remove_key(value: &mut serde_json::Value, steps: &[Step]) -> Option<()> {
    let (last, parents) = steps.split_last()?;
    let mut node = value;
    for step in parents {
        node = match step {
            Step::Key(k) => node.get_mut(k.as_str())?,
            Step::Index(i) => node.get_mut(*i)?,
        };
    }
    match last {
        Step::Key(k) => node.as_object_mut()?.remove(k.as_str()).map(|_| ()),
        Step::Index(_) => None,
    }
}

/// The YAML parser's message without its own location suffix (we print ours in front).
fn clean_message(msg: &str) -> String {
    let first = msg.lines().next().unwrap_or(msg);
    let message = match first.rfind(" at line ") {
        Some(i) => &first[..i],
        None => first,
    };
    match how_to_write(message) {
        Some(hint) => format!("{message}: {hint}"),
        None => message.to_string(),
    }
}

/// What the parser's terse messages about a value of the wrong shape ask the author to write.
fn how_to_write(message: &str) -> Option<&'static str> {
    let hint = if message.starts_with("invalid u") || message.contains("expected u32") {
        "write a whole number of 0 or more (`keepFirst: 2`)"
    } else if message.starts_with("expected sequence start") {
        "write a list, `[a, b]`, or one `- item` per line (`methods: [POST]`)"
    } else if message.starts_with("expected string scalar") {
        "write one text value here, not a list or a mapping (`zone: eu-central`)"
    } else if message.starts_with("expected end of mapping after enum variant value") {
        "this takes exactly one key (a selector is one of `json`, `form`, `query`, `header`, `cookie`: `select: { json: $.email }`)"
    } else {
        return None;
    };
    Some(hint)
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
        let typo = d
            .iter()
            .find(|d| d.message.contains("acton"))
            .expect("reported");
        assert_eq!(typo.line, 8, "{typo:?}");
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
    fn unknown_keys_do_not_hide_other_problems() {
        let d = err(&format!(
            "{HEAD}rules:\n  - select: {{ json: \"$.a[\" }}\n    action: hash\n  - select: {{ json: $.b }}\n    action: mask\n    keepLats: 2\n  - select: {{ json: $.c }}\n    action: hash\n    colour: red\n"
        ));
        assert_eq!(d.len(), 3, "{d:#?}");
        assert_eq!(d[0].line, 7);
        assert!(
            d[0].message.contains("invalid JSONPath"),
            "{}",
            d[0].message
        );
        assert_eq!((d[1].line, d[1].column), (11, 5));
        assert!(
            d[1].message.contains("unknown field `keepLats`"),
            "{}",
            d[1].message
        );
        assert_eq!((d[2].line, d[2].column), (14, 5));
        assert!(
            d[2].message.contains("unknown field `colour`"),
            "{}",
            d[2].message
        );
    }

    #[test]
    fn a_typo_of_a_required_key_reports_both() {
        let d = err(&format!(
            "{HEAD}rules:\n  - select: {{ json: $.a }}\n    actoin: hash\nlimits: {{ maxDepht: 3 }}\n"
        ));
        let messages: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
        assert!(
            messages.iter().any(|m| m.contains("`actoin`")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("`maxDepht`")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("missing field `action`")),
            "{messages:?}"
        );
    }

    #[test]
    fn unknown_keys_after_a_missing_field_are_reported_with_suggestions() {
        let d = err(&format!(
            "{HEAD}rules:\n  - select: {{ json: $.a }}\n  - select: {{ json: $.b }}\n    action: mask\n    keepLats: 2\n  - select: {{ json: $.c }}\n    action: hsah\n    colour: red\n"
        ));
        let messages: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("missing field `action`")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("unknown field `keepLats`")
                    && m.contains("did you mean `keepLast`?")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("unknown variant `hsah`") && m.contains("did you mean `hash`?")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("unknown field `colour`")),
            "{messages:?}"
        );
        // The stand-ins are never reported themselves.
        assert!(!messages.iter().any(|m| m.contains("``")), "{messages:?}");
        assert_eq!(d.len(), 4, "{messages:?}");
    }

    #[test]
    fn every_typo_of_every_rule_is_reported_with_suggestions() {
        let d = err(&format!(
            "{HEAD}rules:\n  - select: {{ json: $.a }}\n    action: encrpyt\n  - select: {{ jsn: $.b }}\n    action: tokenise\n    domain: email\n"
        ));
        let messages: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("`encrpyt`") && m.contains("did you mean `encrypt`?")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("`jsn`") && m.contains("did you mean `json`?")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("`tokenise`") && m.contains("did you mean `tokenize`?")),
            "{messages:?}"
        );
    }

    #[test]
    fn a_misspelled_method_is_reported_at_its_value_with_the_method_meant() {
        let d = err("apiVersion: pii-edge/v1\nname: p\nmatch: { methods: [GET, POTS], paths: [/x] }\nrules:\n  - select: { header: x-id }\n    action: hash\n");
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!((d[0].line, d[0].column), (3, 25), "{d:?}");
        assert!(
            d[0].message.contains("did you mean `POST`?"),
            "{}",
            d[0].message
        );
        // Extension methods far from every standard one are the author's to name.
        let text = "apiVersion: pii-edge/v1\nname: p\nmatch: { methods: [purge, QUERY, patch], paths: [/x] }\nrules:\n  - select: { header: x-id }\n    action: hash\n";
        assert!(Policy::from_yaml("p.yaml", text).is_ok());
    }

    #[test]
    fn a_wrong_value_is_shown_at_the_value_and_an_unknown_key_at_the_key() {
        let d = err(&format!(
            "{HEAD}rules:\n  - select: {{ json: $.a }}\n    action: hsah\n  - select: {{ json: $.b }}\n    action: mask\n    keepFirst: two\n    keepLats: 2\n"
        ));
        let at = |needle: &str| {
            d.iter()
                .find(|d| d.message.contains(needle))
                .map(|d| (d.line, d.column))
        };
        assert_eq!(at("`hsah`"), Some((8, 13)), "{d:#?}");
        assert_eq!(at("\"two\""), Some((11, 16)), "{d:#?}");
        assert_eq!(at("`keepLats`"), Some((12, 5)), "{d:#?}");
    }

    #[test]
    fn values_of_the_wrong_shape_say_how_to_write_them() {
        for (text, says) in [
            ("match: { paths: [/x] }\nrules:\n  - select: { json: $.a }\n    action: mask\n    keepFirst: -1\n", "whole number"),
            ("match: { paths: [/x] }\nrules:\n  - select: { json: $.a }\n    action: mask\n    keepFirst: two\n    keepLats: 1\n", "whole number"),
            ("match: { methods: POST, paths: [/x] }\nrules:\n  - select: { json: $.a }\n    action: hash\n", "write a list"),
            ("match: { paths: [/x] }\nrules:\n  - select: { query: user, json: $.a }\n    action: hash\n", "exactly one key"),
        ] {
            let d = err(&format!("apiVersion: pii-edge/v1\nname: p\nzone: eu\n{text}"));
            assert!(d.iter().any(|d| d.message.contains(says)), "{says}: {d:#?}");
        }
        let d = err("apiVersion: pii-edge/v1\nname: p\nzone: [eu]\nmatch: { paths: [/x] }\nrules:\n  - select: { json: $.a }\n    action: hash\n");
        assert!(
            d.iter().any(|d| d.message.contains("one text value")),
            "{d:#?}"
        );
    }

    #[test]
    fn a_misspelled_media_type_names_the_one_meant() {
        let d = err("apiVersion: pii-edge/v1\nname: p\nzone: eu\nmatch: { paths: [/x], contentTypes: [application/jsn] }\nrules:\n  - select: { json: $.a }\n    action: hash\n");
        assert!(
            d.iter()
                .any(|d| d.line == 4 && d.message.contains("did you mean `application/json`?")),
            "{d:#?}"
        );
        let ok = "apiVersion: pii-edge/v1\nname: p\nzone: eu\nmatch: { paths: [/x], contentTypes: [application/json, application/vnd.api+json] }\nrules:\n  - select: { json: $.a }\n    action: hash\n";
        assert!(Policy::from_yaml("p.yaml", ok).is_ok());
    }

    #[test]
    fn suggestions_only_when_close() {
        assert_eq!(
            with_suggestion("unknown field `zzz`, expected one of `name`, `select`"),
            "unknown field `zzz`, expected one of `name`, `select`"
        );
        assert!(
            with_suggestion("unknown field `slect`, expected one of `name`, `select`")
                .ends_with("did you mean `select`?")
        );
        assert_eq!(with_suggestion("missing field `x`"), "missing field `x`");
    }

    #[test]
    fn dead_rules_are_counted_from_one() {
        let d = err(&format!(
            "{HEAD}rules:\n  - select: {{ json: $.a }}\n    action: hash\n  - select: {{ json: $.a }}\n    action: redact\n"
        ));
        assert!(
            d[0].message.contains("rule 1 (`json $.a`)"),
            "{}",
            d[0].message
        );
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
