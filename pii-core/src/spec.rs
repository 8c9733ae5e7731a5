//! The policy language v1 as its author writes it: the types a policy file deserializes into
//! (`docs/policy.md`; the JSON Schema in `policies/schema.json` is generated from them), and
//! where in a document a problem is. Compilation into a [`Policy`](crate::Policy) is in
//! `policy.rs`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The only `apiVersion` this build understands.
pub const API_VERSION: &str = "pii-edge/v1";

/// Default limit on JSON nesting (objects and arrays) inside a protected body.
pub const DEFAULT_MAX_DEPTH: u32 = 64;

/// Highest nesting limit a policy may ask for.
pub const MAX_MAX_DEPTH: u32 = 512;

/// A policy as written by its author (`apiVersion: pii-edge/v1`), before compilation. See
/// `docs/policy.md` for the language and `Policy::from_yaml` to load one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(title = "pii-edge policy (apiVersion pii-edge/v1)")
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct PolicySpec {
    /// Version of the policy language; must be `pii-edge/v1`.
    pub api_version: String,
    /// Optional document kind; when present it must be `Policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Unique name of the policy. It is bound into every ciphertext, so renaming a policy
    /// means old ciphertext must be opened with the old name.
    pub name: String,
    /// What the policy protects and why (free text for reviewers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Residency zone whose regions receive the encrypted fields (see `docs/residency.md`).
    /// Without it, the zone is resolved per request by the engine's residency configuration;
    /// a policy that encrypts needs one or the other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Which requests the policy applies to.
    #[serde(rename = "match")]
    pub matches: MatchSpec,
    /// What to protect and how. Rules are tried in order; when two rules select the same value
    /// the first wins, and when a rule selects a value inside another selected value the outer
    /// one wins.
    pub rules: Vec<RuleSpec>,
    /// What happens when a rule cannot be applied to a value it selected (for example `mask`
    /// on an object). Unreadable requests are always rejected.
    #[serde(default)]
    pub on_error: OnError,
    /// Limits that protect the edge from hostile input.
    #[serde(default)]
    pub limits: LimitsSpec,
    /// What the origin does to the request's shape before its handler reads it (a batch, a
    /// JSON Patch document, a wrapper key, JSON text in a parameter): the readings the rules
    /// then apply under. Without it, such requests are refused (`docs/policy.md`, "Body
    /// shapes").
    #[serde(default, skip_serializing_if = "ShapeSpec::is_default")]
    pub shape: ShapeSpec,
}

/// The shapes an origin gives a request (`docs/policy.md`, "Body shapes"). Each one declared
/// makes the rules apply under that reading too; anything the reading cannot address is still
/// refused (422 `body-shape`).
///
/// ```
/// let p = pii_core::Policy::from_yaml("p.yaml", r#"
/// apiVersion: pii-edge/v1
/// name: graphql
/// match: { paths: [/graphql] }
/// shape: { arrayRoot: batch, jsonParams: [variables] }
/// rules:
///   - select: { json: "$.variables.email" }
///     action: hash
/// "#).unwrap();
/// assert_eq!(p.spec().shape.json_params, ["variables"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct ShapeSpec {
    /// How the origin reads a JSON body whose root is an array. Without it such a body is
    /// refused when a rule names a member of an object root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array_root: Option<ArrayRoot>,
    /// The key Rails' ParamsWrapper wraps a JSON body's top-level members under when the body
    /// has no member of that name (`user`: `{"email": …}` is read as `params[:user][:email]`).
    /// The rules under `$.<wrapper>` then apply to those top-level members too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrapper: Option<String>,
    /// Query parameters and form fields whose value is JSON text, read as the JSON body member
    /// of that name (GraphQL over HTTP's `variables` and `extensions` in a GET): the rules under
    /// `$.<name>` apply inside the text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub json_params: Vec<String>,
}

impl ShapeSpec {
    fn is_default(&self) -> bool {
        *self == ShapeSpec::default()
    }

    /// The declared readings in words, one per declaration (what `pii-edge check` and
    /// `apply --explain` print); empty when nothing is declared.
    ///
    /// ```
    /// let shape: pii_core::spec::ShapeSpec =
    ///     serde_json::from_str(r#"{"arrayRoot": "batch", "jsonParams": ["variables"]}"#).unwrap();
    /// assert_eq!(shape.describe()[0], "a JSON array root is a batch: the rules apply to each element");
    /// ```
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self.array_root {
            Some(ArrayRoot::Batch) => out.push(
                "a JSON array root is a batch: the rules apply to each element".to_string(),
            ),
            Some(ArrayRoot::JsonPatch) => out.push(
                "a JSON array root is a JSON Patch (RFC 6902): the rules apply to each operation's value at the member its path writes".to_string(),
            ),
            None => {}
        }
        if let Some(w) = &self.wrapper {
            out.push(format!(
                "top-level JSON members are also read under `{w}` (Rails' ParamsWrapper) when the body has no `{w}`"
            ));
        }
        for p in &self.json_params {
            out.push(format!(
                "the query parameter or form field `{p}` holds JSON text, read as the member `$.{p}`"
            ));
        }
        out
    }
}

/// How an origin reads a JSON body whose root is an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ArrayRoot {
    /// A batch: every element is an object read as a body of its own (GraphQL batching, as
    /// Apollo Server's `allowBatchedHttpRequests`). The rules apply to each element.
    Batch,
    /// A JSON Patch document (RFC 6902): the `value` of each operation is written at the
    /// member its `path` (an RFC 6901 JSON Pointer) names, and the rules apply to it there.
    JsonPatch,
}

/// Which requests a policy applies to. Every given condition must hold.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct MatchSpec {
    /// HTTP methods (case-insensitive); empty means any method.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    /// Path patterns: `*` matches one path segment, `**` any number of segments (including
    /// none), anything else matches literally. Empty means any path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// Media types the body may have (`application/json`, `application/*+json`,
    /// `application/x-www-form-urlencoded`). A non-empty body of any other type is rejected
    /// with 415. Default: derived from the rules (JSON rules allow JSON, form rules allow forms).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content_types: Vec<String>,
    /// Header conditions, all of which must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderCondition>,
}

/// A condition on a request header (name compared case-insensitively).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct HeaderCondition {
    /// Header name.
    pub name: String,
    /// The header must have exactly this value (one of its values, when repeated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    /// `true`: the header must be present; `false`: it must be absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
}

/// One rule: a selector and the action applied to every value it selects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct RuleSpec {
    /// Optional name shown in reports and `--explain`; defaults to the selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the rule selects.
    pub select: SelectorSpec,
    /// What happens to each selected value.
    pub action: ActionKind,
    /// `mask`: number of leading characters left visible (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_first: Option<u32>,
    /// `mask`: number of trailing characters left visible (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_last: Option<u32>,
    /// `mask`: the character written in place of hidden characters (default `*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask_char: Option<String>,
    /// `redact`: a constant written in place of the value. Without it the value is removed
    /// (the object member, array element, header, parameter or cookie disappears).
    #[serde(
        default,
        deserialize_with = "explicit_value",
        skip_serializing_if = "Option::is_none"
    )]
    pub replace_with: Option<serde_json::Value>,
    /// `tokenize`: the token domain, whose key must be in the token key set. Equal values give
    /// equal tokens within one domain and unrelated tokens across domains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// `tokenize`: normalization steps applied, in this order, before the token is computed,
    /// so that spellings of one value join (`[trim, fullwidth, casefold]` for e-mail addresses,
    /// `[fullwidth, digits]` for phone and card numbers). The steps are bound into the token key:
    /// another list gives unrelated tokens. See `docs/policy.md`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<Vec<crate::token::Normalize>>,
    /// `form` rules: whether the rule also protects a query parameter of the same name
    /// (default `true`). Servlet containers, Spring, PHP's `$_REQUEST` and Rails merge query
    /// and body parameters, so a form field sent in the query string reaches them all the
    /// same. Set `false` only when every origin behind the route reads the body alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub also_query: Option<bool>,
    /// `query`, `form` and `json` rules: where the parameter is protected (default: every
    /// source origin frameworks merge into one parameter map, `[query, form, json, cookie]`).
    /// The rule's own source must be listed. Narrow it only when every origin behind the route
    /// reads the parameter from the listed sources alone (see `docs/policy.md`,
    /// "Parameters").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<String>>,
}

/// Where a rule looks. Exactly one key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub enum SelectorSpec {
    /// An RFC 9535 JSONPath query over a JSON body, e.g. `$.user.email` or `$..iban`.
    Json(String),
    /// A field of an `application/x-www-form-urlencoded` body (decoded name, every repetition).
    Form(String),
    /// A query-string parameter (decoded name, every repetition).
    Query(String),
    /// A request header (case-insensitive name, every value).
    Header(String),
    /// A cookie of the `Cookie` header(s).
    Cookie(String),
}

impl fmt::Display for SelectorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectorSpec::Json(p) => write!(f, "json {p}"),
            SelectorSpec::Form(n) => write!(f, "form field {n}"),
            SelectorSpec::Query(n) => write!(f, "query parameter {n}"),
            SelectorSpec::Header(n) => write!(f, "header {n}"),
            SelectorSpec::Cookie(n) => write!(f, "cookie {n}"),
        }
    }
}

/// The action a rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ActionKind {
    /// Public-key encryption to every region of the policy's zone (reversible at the origin;
    /// restores the original JSON type).
    Encrypt,
    /// Deterministic keyed token (HMAC-SHA256 with the domain's key): equal values give equal
    /// tokens, for lookups and joins. Not reversible.
    Tokenize,
    /// Replace characters by a mask character, keeping `keepFirst`/`keepLast` visible.
    Mask,
    /// Remove the value, or replace it with `replaceWith`.
    Redact,
    /// Unkeyed SHA-256 of the value (`sha256:<hex>`). Only for values that are not guessable.
    Hash,
}

impl ActionKind {
    /// The name used in policies and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Encrypt => "encrypt",
            ActionKind::Tokenize => "tokenize",
            ActionKind::Mask => "mask",
            ActionKind::Redact => "redact",
            ActionKind::Hash => "hash",
        }
    }

    /// What the action did to a value, as test cases and reports say it (`encrypted`,
    /// `tokenized`, `masked`, `replaced`, `hashed`).
    pub const fn done(self) -> &'static str {
        match self {
            ActionKind::Encrypt => "encrypted",
            ActionKind::Tokenize => "tokenized",
            ActionKind::Mask => "masked",
            ActionKind::Redact => "replaced",
            ActionKind::Hash => "hashed",
        }
    }

    /// The name of its count in metrics (CloudWatch embedded metric format, `docs/operations.md`).
    pub const fn metric(self) -> &'static str {
        match self {
            ActionKind::Encrypt => "FieldsEncrypted",
            ActionKind::Tokenize => "FieldsTokenized",
            ActionKind::Mask => "FieldsMasked",
            ActionKind::Redact => "FieldsRedacted",
            ActionKind::Hash => "FieldsHashed",
        }
    }

    /// Every action, in the order of reports (and of declaration: `ALL[k as usize] == k`).
    pub const ALL: [ActionKind; 5] = [
        ActionKind::Encrypt,
        ActionKind::Tokenize,
        ActionKind::Mask,
        ActionKind::Redact,
        ActionKind::Hash,
    ];
}

/// How many values each action protected in one request: for logs, metrics and reports.
/// Grows with [`ActionKind`]: a new kind is counted everywhere without a change here.
///
/// ```
/// use pii_core::spec::{ActionCounts, ActionKind};
/// let mut counts = ActionCounts::default();
/// counts.add(ActionKind::Encrypt);
/// counts.add(ActionKind::Encrypt);
/// counts.add(ActionKind::Mask);
/// assert_eq!(counts.get(ActionKind::Encrypt), 2);
/// assert_eq!(counts.total(), 3);
/// let shown: Vec<String> = counts.nonzero().map(|(k, n)| format!("{n} {}", k.as_str())).collect();
/// assert_eq!(shown, ["2 encrypt", "1 mask"]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActionCounts([usize; ActionKind::ALL.len()]);

impl ActionCounts {
    /// One more value protected by `kind`.
    pub fn add(&mut self, kind: ActionKind) {
        self.0[kind as usize] = self.0[kind as usize].saturating_add(1);
    }

    /// Sets the count of `kind`.
    pub fn set(&mut self, kind: ActionKind, count: usize) {
        self.0[kind as usize] = count;
    }

    /// The count of `kind`.
    pub fn get(&self, kind: ActionKind) -> usize {
        self.0[kind as usize]
    }

    /// Every kind with its count, in the order of [`ActionKind::ALL`].
    pub fn iter(&self) -> impl Iterator<Item = (ActionKind, usize)> + '_ {
        ActionKind::ALL.iter().map(|&k| (k, self.get(k)))
    }

    /// The kinds that protected at least one value, with their counts.
    pub fn nonzero(&self) -> impl Iterator<Item = (ActionKind, usize)> + '_ {
        self.iter().filter(|&(_, n)| n > 0)
    }

    /// All values protected.
    pub fn total(&self) -> usize {
        self.0.iter().fold(0, |a, &n| a.saturating_add(n))
    }
}

impl FromIterator<ActionKind> for ActionCounts {
    fn from_iter<I: IntoIterator<Item = ActionKind>>(kinds: I) -> Self {
        let mut counts = ActionCounts::default();
        for kind in kinds {
            counts.add(kind);
        }
        counts
    }
}

/// What happens when a rule cannot be applied to a value it selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum OnError {
    /// Reject the whole request with 422 (the default: fail closed).
    #[default]
    Reject,
    /// Remove the value the rule could not protect and go on (still fails closed: the value
    /// never reaches the origin). A body that cannot be read is rejected regardless.
    Remove,
}

/// Limits that protect the edge from hostile input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct LimitsSpec {
    /// Deepest JSON nesting accepted (objects and arrays); deeper bodies are rejected with 400.
    /// Default 64, at most 512.
    #[serde(default = "default_depth")]
    pub max_depth: u32,
}

/// `replaceWith: null` means "write null", not "no replacement": a present key is always
/// `Some`, even when its value is null.
fn explicit_value<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

fn default_depth() -> u32 {
    DEFAULT_MAX_DEPTH
}

impl Default for LimitsSpec {
    fn default() -> Self {
        LimitsSpec {
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

/// Where in a policy document a problem is, as a path of keys and indexes
/// (`rules[2].select.json`), plus an optional character offset inside that scalar.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SpecPath {
    /// Keys and indexes from the document root.
    pub parts: Vec<SpecPart>,
    /// Character offset inside the scalar value, when the problem is inside it.
    pub offset: Option<usize>,
}

/// One step of a [`SpecPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecPart {
    /// A mapping key.
    Key(&'static str),
    /// A sequence index.
    Index(usize),
}

impl SpecPath {
    pub(crate) fn of(parts: &[SpecPart]) -> Self {
        SpecPath {
            parts: parts.to_vec(),
            offset: None,
        }
    }
}

impl fmt::Display for SpecPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.parts.iter().enumerate() {
            match p {
                SpecPart::Key(k) if i == 0 => write!(f, "{k}")?,
                SpecPart::Key(k) => write!(f, ".{k}")?,
                SpecPart::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A problem found while compiling a policy; [`PolicyError`](crate::error::PolicyError) adds the file,
/// line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpecProblem {
    /// Where the problem is.
    pub path: SpecPath,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// An RFC 9110 `tchar`: a byte a header or cookie name may hold.
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The JSON Schema of the policy language, as written to `policies/schema.json`.
///
/// ```
/// let schema = pii_core::spec::policy_schema();
/// assert!(schema.contains("\"apiVersion\""));
/// ```
#[cfg(feature = "schema")]
pub fn policy_schema() -> String {
    let mut text =
        serde_json::to_string_pretty(&schemars::schema_for!(PolicySpec)).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_count_slot_and_report_names() {
        // `ActionCounts` indexes by declaration order: `ALL` must list every kind in it.
        for (i, kind) in ActionKind::ALL.iter().enumerate() {
            assert_eq!(*kind as usize, i, "{kind:?}");
        }
        let mut names: Vec<&str> = ActionKind::ALL.iter().map(|k| k.metric()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ActionKind::ALL.len());
        let counts: ActionCounts = ActionKind::ALL.iter().copied().collect();
        assert!(counts.iter().all(|(_, n)| n == 1));
    }
}
