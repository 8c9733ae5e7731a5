//! The function extensions of RFC 9535 §2.4 a filter may call: their parameter and result
//! types (§2.4.1 to §2.4.3, checked by the parser when the policy loads) and their evaluation
//! on a document tree (serde_json_path_core's evaluator calls them).
//!
//! `match()` and `search()` (§2.4.6, §2.4.7) are not here: the parser refuses a call of either
//! with its own reason, the edge package carrying no regular-expression engine
//! (docs/decisions/0007).

use std::collections::VecDeque;
use std::sync::LazyLock;

use serde_json::Value;
use serde_json_path_core::spec::functions::{
    Evaluator, FunctionArgType, JsonPathType, JsonPathValue,
};

/// A function's declared type (§2.4.1): what each parameter takes, what the call returns, and
/// how it is evaluated.
pub(crate) struct Function {
    pub(crate) params: &'static [JsonPathType],
    pub(crate) result: FunctionArgType,
    pub(crate) evaluator: &'static Evaluator,
}

/// The function of this name, if RFC 9535 defines one (other than `match()` and `search()`).
pub(crate) fn lookup(name: &str) -> Option<Function> {
    const VALUE: &[JsonPathType] = &[JsonPathType::Value];
    const NODES: &[JsonPathType] = &[JsonPathType::Nodes];
    let (params, result, evaluator): (_, _, &'static Evaluator) = match name {
        "length" => (VALUE, FunctionArgType::Value, &LENGTH),
        "count" => (NODES, FunctionArgType::Value, &COUNT),
        "value" => (NODES, FunctionArgType::Value, &VALUE_OF),
        _ => return None,
    };
    Some(Function {
        params,
        result,
        evaluator,
    })
}

static LENGTH: Evaluator = LazyLock::new(|| Box::new(length));
static COUNT: Evaluator = LazyLock::new(|| Box::new(count));
static VALUE_OF: Evaluator = LazyLock::new(|| Box::new(value));

/// `length(value)` (§2.4.4): the characters of a string, the elements of an array, the members
/// of an object; nothing for anything else.
fn length(mut args: VecDeque<JsonPathValue<'_>>) -> JsonPathValue<'_> {
    fn of(v: &Value) -> Option<usize> {
        match v {
            Value::String(s) => Some(s.chars().count()),
            Value::Array(a) => Some(a.len()),
            Value::Object(o) => Some(o.len()),
            _ => None,
        }
    }
    match args.pop_front() {
        Some(JsonPathValue::Value(v)) => of(&v),
        Some(JsonPathValue::Node(v)) => of(v),
        _ => None,
    }
    .map_or(JsonPathValue::Nothing, |n| JsonPathValue::Value(n.into()))
}

/// `count(nodes)` (§2.4.5): how many nodes.
fn count(mut args: VecDeque<JsonPathValue<'_>>) -> JsonPathValue<'_> {
    let n = match args.pop_front() {
        Some(JsonPathValue::Nodes(nodes)) => nodes.len(),
        Some(JsonPathValue::Node(_)) => 1,
        _ => 0,
    };
    JsonPathValue::Value(n.into())
}

/// `value(nodes)` (§2.4.8): the one node's value, or nothing for none or several.
fn value(mut args: VecDeque<JsonPathValue<'_>>) -> JsonPathValue<'_> {
    match args.pop_front() {
        Some(JsonPathValue::Nodes(nodes)) if nodes.len() == 1 => nodes
            .first()
            .map_or(JsonPathValue::Nothing, JsonPathValue::Node),
        Some(JsonPathValue::Node(v)) => JsonPathValue::Node(v),
        _ => JsonPathValue::Nothing,
    }
}
