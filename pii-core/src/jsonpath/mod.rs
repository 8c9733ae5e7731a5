//! RFC 9535 JSONPath, as policy rules use it. The files follow the RFC:
//!
//! | file | RFC 9535 | holds |
//! |---|---|---|
//! | `syntax.rs` | §2.1 queries, §2.3 selectors, §2.5 segments | the syntax tree |
//! | `parse.rs` | §2.1.1 ABNF | the one parser into that tree |
//! | `normalized.rs` | §2.7 normalized paths | printing and parsing a value's location |
//! | `automaton.rs` | §2.3.1-2.3.3, §2.5 | a query decided on the path alone, as an automaton |
//! | `onepass.rs` | | evaluation in one pass over the body text, no tree |
//! | `checks.rs` | | the name checks (names an origin reads as selected ones) |
//! | `functions.rs` | §2.4 | the functions a filter may call: types and evaluation |
//! | [`JsonQuery::locate`] here | all of §2 | evaluation on a document tree by serde_json_path_core |
//!
//! A policy's query is parsed once when the policy loads ([`JsonQuery::compile`]) into the
//! syntax tree, which every reader above consumes; the tree also gives serde_json_path_core's
//! query (`docs/decisions/0001`, `0010`), which evaluates filters, slices, negative indexes and
//! functions on a document tree. With the `yaml` feature (the command-line tool, the bindings)
//! serde_json_path parses the text too, to word the error for a text that is not valid JSONPath.

pub(crate) mod automaton;
pub(crate) mod checks;
pub(crate) mod functions;
pub(crate) mod normalized;
pub(crate) mod onepass;
pub(crate) mod parse;
pub(crate) mod syntax;

use serde_json_path_core::spec::query::{Query as SpecQuery, Queryable};

use serde_json_path_core::path::PathElement as NormalizedElement;

use crate::json::PathElement;
use syntax::{Query, Root};

/// A policy rule's JSONPath query, compiled when the policy loads.
#[derive(Debug)]
pub(crate) struct JsonQuery {
    text: String,
    tree: Query,
    eval: SpecQuery,
}

impl JsonQuery {
    /// Compile `text`; on failure the byte offset inside it (when known) and a message that
    /// says how to fix it.
    pub(crate) fn compile(text: &str) -> Result<JsonQuery, (Option<usize>, String)> {
        let tree = parse::parse(text);
        if let Err(e) = &tree {
            if e.reason == parse::REGEX_FUNCTION {
                let at = e.offset;
                let function = match text.get(at..) {
                    Some(rest) if rest.starts_with("match") => "match",
                    _ => "search",
                };
                return Err((
                Some(at),
                format!(
                    "the JSONPath function `{function}()` is not supported: it needs a regular-expression engine, which the edge package leaves out to stay under the 1 MB Lambda@Edge limit (docs/decisions/0007-edge-package-size.md); compare with `==` or select by name instead"
                ),
            ));
            }
        }
        // serde_json_path 0.7 panics (`unreachable!`) on a text that ends inside a `\u` escape
        // (`$["\u`, `$[?$["\u800cA\uD`, found by the `jsonpath` fuzz target): it never sees
        // one.
        if let Err(e) = &tree {
            if e.reason == parse::CUT_ESCAPE {
                return Err(invalid(e.offset, e.reason));
            }
        }
        // The policy author's tools word an invalid text as serde_json_path does; the parser
        // here refuses the same texts (the compliance suite checks that they agree), so the
        // edge, which leaves serde_json_path's parser out, accepts what `pii-edge check` did.
        #[cfg(feature = "yaml")]
        serde_json_path::JsonPath::parse(text).map_err(|e| {
            let (at, message) = invalid(e.position(), e.message());
            (at, with_hint(text, message))
        })?;
        let tree = tree.map_err(|e| invalid(e.offset, e.reason))?;
        let eval = tree.evaluator(Root::Document);
        Ok(JsonQuery {
            text: text.to_owned(),
            tree,
            eval,
        })
    }

    /// The query as written in the policy.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The syntax tree.
    pub(crate) fn tree(&self) -> &Query {
        &self.tree
    }

    /// Every value the query selects in `document`, with the elements of its normalized path,
    /// in the order of RFC 9535 §2.5 (serde_json_path_core's evaluation).
    pub(crate) fn locate<'v>(
        &self,
        document: &'v serde_json::Value,
    ) -> Vec<(Vec<PathElement>, &'v serde_json::Value)> {
        self.eval
            .query_located(document, document, Default::default())
            .into_iter()
            .map(|node| {
                let path = node
                    .location()
                    .iter()
                    .map(|e| match e {
                        NormalizedElement::Name(n) => PathElement::Name((*n).to_owned()),
                        NormalizedElement::Index(i) => PathElement::Index(*i),
                    })
                    .collect();
                (path, node.node())
            })
            .collect()
    }
}

fn invalid(position: usize, message: &str) -> (Option<usize>, String) {
    (
        Some(position),
        format!(
            "invalid JSONPath (RFC 9535) at character {}: {message}; paths look like `$.user.email`, `$..iban` or `$.items[*].card`",
            position + 1,
        ),
    )
}

/// `message` with what the author probably meant, for the common mistakes: no `$` at the start,
/// a member name that the shorthand `.name` cannot spell (`$.date-of-birth`), `=~`.
#[cfg(feature = "yaml")]
fn with_hint(text: &str, message: String) -> String {
    let hint = if !text.trim_start().starts_with('$') {
        let name = text.trim().trim_start_matches('.');
        format!("a query starts at the root `$`: `$.{name}`, or `$['{name}']`")
    } else if text.contains("=~") {
        "RFC 9535 has no `=~` (and the edge no regular expressions): compare with `==`".to_owned()
    } else {
        match bracketed(text) {
            Some(fixed) => format!(
                "the shorthand `.name` takes letters, digits and `_` only (not starting with a digit); write other names in brackets: `{fixed}`"
            ),
            None => return message,
        }
    };
    format!("{message}; {hint}")
}

/// `text` with each shorthand member `.name` whose name holds characters the shorthand cannot
/// (`-`, a leading digit, quotes) written as `['name']`; `None` when there is none.
#[cfg(feature = "yaml")]
fn bracketed(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 8);
    let mut changed = false;
    let mut rest = text;
    while let Some(i) = rest.find('.') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if after.starts_with('.') || after.starts_with('[') || after.starts_with('*') {
            out.push('.');
            rest = after;
            continue;
        }
        let end = after.find(['.', '[', ' ', ')', ']']).unwrap_or(after.len());
        let name = &after[..end];
        let plain = name
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_' || !c.is_ascii())
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || !c.is_ascii());
        if name.is_empty() || plain {
            out.push('.');
            out.push_str(name);
        } else {
            let bare = name.trim_matches(['"', '\'']);
            out.push_str(&format!("['{bare}']"));
            changed = true;
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "yaml")]
    #[test]
    fn common_mistakes_come_with_what_was_meant() {
        for (text, meant) in [
            ("$.date-of-birth", "`$['date-of-birth']`"),
            ("$.user.1st", "`$.user['1st']`"),
            ("$.user.\"email\"", "`$.user['email']`"),
            ("email", "`$.email`"),
            ("$[?@.a =~ 'x']", "no `=~`"),
        ] {
            let Err((_, message)) = JsonQuery::compile(text) else {
                panic!("{text} compiled")
            };
            assert!(message.contains(meant), "{text}: {message}");
        }
        assert!(bracketed("$.user.email").is_none());
        assert!(bracketed("$..iban").is_none());
    }

    #[test]
    fn regex_functions_are_refused_with_a_reason() {
        for (text, at) in [
            ("$.a[?match(@.b, 'x.*')]", 5),
            ("$[?search( @.b , \"x\")]", 3),
            ("$[?@.n == 1 && match(@.b, 'x')]", 15),
            ("$[?@.a[?match(@.b, 'x')]]", 8),
            // Not valid JSONPath either (match() returns a logical, not a value to compare):
            // the reason that matters to the author comes first.
            ("$[?match(@.b, 'x') == true]", 3),
        ] {
            let Err((offset, message)) = JsonQuery::compile(text) else {
                panic!("{text} compiled");
            };
            assert_eq!(offset, Some(at), "{text}");
            assert!(message.contains("regular-expression"), "{message}");
        }
        // The names inside a string literal or as member names are not calls.
        for text in [
            "$[?@.b == 'match(x)']",
            "$.match",
            "$.research[?@.x == \"search(\"]",
            "$['é'][?@.n == 1]",
        ] {
            JsonQuery::compile(text).expect(text);
        }
    }

    #[test]
    fn a_text_cut_inside_an_escape_is_refused_without_a_panic() {
        for text in [
            "$[\"\\u",
            "$['\\u",
            "$[?@.a==\"\\u",
            "$[?@['\\u",
            "$['\\ud800\\u",
            "$[\"\\u12",
            "$[?$[\"\\u800cA\\uD",
        ] {
            let Err((offset, message)) = JsonQuery::compile(text) else {
                panic!("{text} compiled");
            };
            // Where the escape's digits start.
            assert_eq!(offset, text.rfind("\\u").map(|at| at + 2), "{text}");
            assert!(message.contains("ends inside"), "{message}");
        }
        // Cut elsewhere, serde_json_path words it as before.
        let Err((_, message)) = JsonQuery::compile("$[\"\\u12\"]") else {
            panic!("compiled");
        };
        assert!(!message.contains("ends inside"), "{message}");
    }

    #[test]
    fn invalid_queries_are_worded_by_serde_json_path() {
        let Err((offset, message)) = JsonQuery::compile("$.users[") else {
            panic!("compiled");
        };
        assert!(offset.is_some());
        assert!(
            message.starts_with("invalid JSONPath (RFC 9535) at character"),
            "{message}"
        );
    }

    /// On the RFC 9535 compliance suite: the parser here accepts exactly the queries
    /// serde_json_path accepts (so the edge, which leaves serde_json_path's parser out, accepts
    /// what `pii-edge check` accepted), refuses every invalid one, and the query built from its
    /// tree selects what serde_json_path's own selects, at the same locations, in the same order
    /// (what the edge evaluates; `tests/jsonpath_compliance.rs` checks the expected results).
    #[test]
    fn parses_what_serde_json_path_parses_on_the_compliance_suite() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/jsonpath-cts/cts.json");
        let suite: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("cts.json")).expect("json");
        let (mut valid, mut invalid, mut regex) = (0, 0, 0);
        for case in suite["tests"].as_array().expect("tests") {
            let Some(selector) = case["selector"].as_str() else {
                continue;
            };
            let ours = parse::parse(selector);
            if matches!(&ours, Err(e) if e.reason == parse::REGEX_FUNCTION) {
                // serde_json_path without its `regex` feature does not know them either.
                regex += 1;
                continue;
            }
            let theirs = serde_json_path::JsonPath::parse(selector);
            assert_eq!(
                ours.is_ok(),
                theirs.is_ok(),
                "{}: {selector}: {ours:?}",
                case["name"]
            );
            if let (Ok(ours), Ok(theirs)) = (&ours, &theirs) {
                let doc = &case["document"];
                let ours = ours.evaluator(Root::Document);
                let ours = ours.query_located(doc, doc, Default::default());
                let theirs = theirs.query_located(doc);
                let found = |n: &serde_json_path_core::node::LocatedNode<'_>| {
                    (n.location().to_string(), n.node().clone())
                };
                assert_eq!(
                    ours.iter().map(found).collect::<Vec<_>>(),
                    theirs.iter().map(found).collect::<Vec<_>>(),
                    "{}: {selector}",
                    case["name"]
                );
            }
            if case["invalid_selector"] == true {
                assert!(ours.is_err(), "{}: {selector}", case["name"]);
                invalid += 1;
            } else {
                valid += 1;
            }
        }
        // The 56 that call match() or search() are refused for that reason: 50 valid cases,
        // and 6 invalid ones the reason is true of too (`$[?search(@.a)]`, `$[?match(@.a)==1]`).
        assert_eq!((valid, invalid, regex), (406, 241, 56));
    }

    /// Beyond the compliance suite: filters made of RFC 9535's tokens in random order (a fixed
    /// seed), where the typing rules and the precedence of the grammar meet. Both parsers
    /// accept the same ones, but for one difference: serde_json_path 0.7 refuses blank space
    /// before a descendant segment (`$ ..a`, `$[?@.a ..b]`), which RFC 9535 §2.5 allows
    /// (`segments = *(S segment)`). The tools refuse it as before (serde_json_path words the
    /// error); the edge would accept it, and no bundle `pii-edge package` makes holds one.
    #[test]
    fn filters_of_random_tokens_are_parsed_as_serde_json_path_parses_them() {
        const TOKENS: &[&str] = &[
            "@", "$", ".a", "['b']", "[0]", "[-1]", "[*]", "..a", "[1:]", "[?@]", " ", "==", "!=",
            "<", "<=", ">", "&&", "||", "!", "(", ")", "1", "-0", "01", "1.5e3", "1e", "'x'",
            "true", "null", "nul", "length(", "count(", "value(", "foo(", ",", "]", "[",
        ];
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let (mut accepted, mut refused) = (0, 0);
        for _ in 0..100_000 {
            let mut text = String::from("$[?");
            for _ in 0..1 + next(9) {
                text.push_str(TOKENS[next(TOKENS.len())]);
            }
            text.push(']');
            let ours = parse::parse(&text);
            let theirs = serde_json_path::JsonPath::parse(&text);
            if text.contains(" ..") && ours.is_ok() && theirs.is_err() {
                continue;
            }
            assert_eq!(ours.is_ok(), theirs.is_ok(), "{text}: {ours:?}");
            if ours.is_ok() {
                accepted += 1;
            } else {
                refused += 1;
            }
        }
        assert!(accepted > 500 && refused > 500, "{accepted} {refused}");
    }
}
