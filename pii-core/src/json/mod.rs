//! Strict JSON (RFC 8259) for request bodies, with our own scanner.
//!
//! - [`parse_strict`] builds a `serde_json::Value` for JSONPath evaluation. It is stricter than
//!   `serde_json::from_slice`: a member name that appears twice in one object is refused (names
//!   compared after unescaping), a leading byte order mark is refused, and the nesting depth is a
//!   parameter. serde_json's own recursion limit of 128 plays no part: the scanner below is our own
//!   and **iterative** (an explicit stack of open containers), so no input and no `max_depth` can
//!   overflow the call stack. Numbers are converted exactly as serde_json converts them (the rare
//!   ones that are not plain 64-bit integers are handed to `serde_json::Number::from_str`, which is
//!   serde_json's own number parser).
//! - [`rewrite`] copies a body through byte for byte except at the selected normalized paths, in one
//!   linear pass: unselected subtrees are skipped without building paths or allocating, and string
//!   contents are skipped eight bytes at a time.
//! - [`find_strings`] finds string values by content (the origin side looks for envelopes).
//!
//! All three validate the whole input: RFC 8259 grammar, UTF-8, escapes (a lone surrogate such as
//! `"\ud800"` is refused), the depth limit, duplicate member names and numbers that do not fit an
//! `f64` (serde_json refuses `1e400`, so we refuse it everywhere). Problems carry byte offsets and
//! fixed descriptions only, never text of the input: bodies carry personal data.
//!
//! Files: `lexer.rs` (the scanner: tokens, escapes, duplicate names), `value.rs`
//! ([`parse_strict`]), `rewrite.rs` ([`rewrite`]), `find.rs` ([`find_strings`], the value at a
//! path, [`quote`]); `tests.rs` and `proptests.rs` test them all. JSONPath (RFC 9535) is the
//! `jsonpath` module's, which reads bodies with this scanner.

use std::fmt;

/// One step from a JSON value to a child, the elements of an RFC 9535 normalized path
/// (`crate::jsonpath::normalized` writes and reads their text form).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathElement {
    /// An object member name (decoded text).
    Name(String),
    /// An array index (0-based).
    Index(usize),
}

/// The short name the scanner and the engine use.
pub(crate) use PathElement as Seg;

/// Why a body is not acceptable JSON.
///
/// Never includes text of the input (it may be personal data): only offsets, limits and a
/// fixed description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JsonProblem {
    /// The body is empty or only whitespace.
    Empty,
    /// Not JSON per RFC 8259 (also: invalid UTF-8, lone surrogate escapes, unescaped control
    /// characters in strings, trailing characters, a leading byte order mark).
    Syntax {
        /// Byte offset in the body.
        offset: usize,
        /// What is wrong, a fixed text.
        what: &'static str,
    },
    /// The same member name twice in one object (compared after unescaping).
    DuplicateKey {
        /// Byte offset of the second occurrence of the name.
        offset: usize,
    },
    /// Arrays and objects nested deeper than the limit.
    TooDeep {
        /// Byte offset of the bracket that goes one level too deep.
        offset: usize,
        /// The limit.
        limit: usize,
    },
    /// A number whose magnitude does not fit an `f64` (such as `1e400`).
    NumberOutOfRange {
        /// Byte offset of the number.
        offset: usize,
    },
}

impl fmt::Display for JsonProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonProblem::Empty => f.write_str("the body is empty: a JSON value was expected"),
            JsonProblem::Syntax { offset, what } => {
                write!(f, "invalid JSON at byte {offset}: {what}")
            }
            JsonProblem::DuplicateKey { offset } => write!(
                f,
                "duplicate object member name at byte {offset}: the origin could read the other \
                 one; send each name once"
            ),
            JsonProblem::TooDeep { offset, limit } => write!(
                f,
                "arrays and objects nested deeper than {limit} levels at byte {offset}"
            ),
            JsonProblem::NumberOutOfRange { offset } => write!(
                f,
                "number at byte {offset} is out of range: it does not fit a 64-bit float"
            ),
        }
    }
}

impl std::error::Error for JsonProblem {}

fn syntax(offset: usize, what: &'static str) -> JsonProblem {
    JsonProblem::Syntax { offset, what }
}

/// A state the scanner guarantees cannot happen; reported rather than panicking.
pub(crate) fn internal(offset: usize) -> JsonProblem {
    syntax(offset, "internal error: unexpected scanner state")
}

mod find;
mod lexer;
mod rewrite;
mod value;

#[cfg(any(feature = "open", test))]
pub(crate) use find::find_strings;
pub use find::json_span;
pub(crate) use find::quote;
pub(crate) use lexer::{skip_container, unescape_into, Lexer, Span, Tok};
pub(crate) use rewrite::{rewrite, Edit, Entries, Out, RewriteError};
pub(crate) use value::parse_strict;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
