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
//! | [`JsonQuery::locate`] here | all of §2 | evaluation on a document tree by serde_json_path |
//!
//! A policy's query is parsed once when the policy loads ([`JsonQuery::compile`]): into the
//! syntax tree, which every reader above consumes, and by serde_json_path
//! (`docs/decisions/0001`), which evaluates filters, slices, negative indexes and functions on
//! a document tree and words the error for a text that is not valid JSONPath.

pub(crate) mod automaton;
pub(crate) mod checks;
pub(crate) mod normalized;
pub(crate) mod onepass;
pub(crate) mod parse;
pub(crate) mod syntax;

use serde_json_path::JsonPath;

use crate::json::PathElement;
use syntax::Query;

/// A policy rule's JSONPath query, compiled when the policy loads.
#[derive(Debug)]
pub(crate) struct JsonQuery {
    text: String,
    tree: Query,
    eval: JsonPath,
}

impl JsonQuery {
    /// Compile `text`; on failure the byte offset inside it (when known) and a message that
    /// says how to fix it.
    pub(crate) fn compile(text: &str) -> Result<JsonQuery, (Option<usize>, String)> {
        let tree = parse::parse(text);
        if let Some((at, function)) = tree.as_ref().ok().and_then(regex_function) {
            return Err((
                Some(at),
                format!(
                    "the JSONPath function `{function}()` is not supported: it needs a regular-expression engine, which the edge package leaves out to stay under the 1 MB Lambda@Edge limit (docs/decisions/0007-edge-package-size.md); compare with `==` or select by name instead"
                ),
            ));
        }
        // serde_json_path 0.7 panics (`unreachable!`) on a text that ends inside a `\u` escape
        // (`$["\u`, `$[?$["\u800cA\uD`, found by the `jsonpath` fuzz target): it never sees
        // one.
        if let Err(e) = &tree {
            if e.reason == parse::CUT_ESCAPE {
                return Err(invalid(e.offset, e.reason));
            }
        }
        let eval = JsonPath::parse(text).map_err(|e| invalid(e.position(), e.message()))?;
        // serde_json_path accepted it, so the parser here must too (the compliance suite
        // checks that they agree); a disagreement is refused rather than guessed at.
        let tree = tree.map_err(|e| invalid(e.offset, e.reason))?;
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
    /// in the order of RFC 9535 §2.5 (serde_json_path's evaluation).
    pub(crate) fn locate<'v>(
        &self,
        document: &'v serde_json::Value,
    ) -> Vec<(Vec<PathElement>, &'v serde_json::Value)> {
        self.eval
            .query_located(document)
            .into_iter()
            .map(|node| {
                let path = node
                    .location()
                    .iter()
                    .map(|e| match e {
                        serde_json_path::PathElement::Name(n) => PathElement::Name((*n).to_owned()),
                        serde_json_path::PathElement::Index(i) => PathElement::Index(*i),
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

/// The first call of `match()` or `search()` (RFC 9535 §2.4.6, §2.4.7) in the query's filters:
/// the byte offset of the name and the name. Both are refused (see [`JsonQuery::compile`]).
fn regex_function(tree: &Query) -> Option<(usize, &'static str)> {
    tree.functions()
        .into_iter()
        .find_map(|(at, name)| match name {
            "match" => Some((at, "match")),
            "search" => Some((at, "search")),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_functions_are_refused_with_a_reason() {
        for (text, at) in [
            ("$.a[?match(@.b, 'x.*')]", 5),
            ("$[?search( @.b , \"x\")]", 3),
            ("$[?@.n == 1 && match(@.b, 'x')]", 15),
            ("$[?@.a[?match(@.b, 'x')]]", 8),
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
            let query = JsonQuery::compile(text).expect(text);
            assert_eq!(regex_function(query.tree()), None, "{text}");
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

    /// On the RFC 9535 compliance suite: the parser here accepts every query serde_json_path
    /// accepts (a policy that loaded before still loads), and refuses the suite's invalid ones.
    #[test]
    fn parses_what_serde_json_path_parses_on_the_compliance_suite() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/jsonpath-cts/cts.json");
        let suite: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("cts.json")).expect("json");
        let (mut valid, mut invalid) = (0, 0);
        for case in suite["tests"].as_array().expect("tests") {
            let Some(selector) = case["selector"].as_str() else {
                continue;
            };
            let ours = parse::parse(selector);
            if JsonPath::parse(selector).is_ok() {
                assert!(ours.is_ok(), "{}: {selector}: {ours:?}", case["name"]);
                valid += 1;
            } else if case["invalid_selector"] == true {
                invalid += usize::from(ours.is_err());
            }
        }
        // 406 valid cases; of the invalid ones, those refused for their syntax outside filter
        // logic (the parser reads a filter's logic token by token, serde_json_path checks it).
        assert!(valid >= 400, "{valid}");
        assert!(invalid >= 150, "{invalid}");
    }
}
