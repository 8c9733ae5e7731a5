//! Compilation of a policy (`docs/policy.md`, the types in `spec.rs`) into an immutable
//! [`Policy`] that the [`Engine`](crate::Engine) applies. Compilation checks everything a
//! request cannot fix (selectors parse, options fit their action, no rule is dead), so a bad
//! policy fails when it is loaded, never per request.

use crate::select::{CompiledSelector, PathPattern};
use crate::spec::*;

/// A compiled rule.
#[derive(Debug)]
pub(crate) struct Rule {
    pub(crate) label: String,
    pub(crate) selector: CompiledSelector,
    pub(crate) action: Action,
    /// The skeleton (`names::skeleton`) of the name a form, query, header or cookie rule
    /// selects; empty for JSON rules.
    pub(crate) skeleton: String,
    /// A form rule that also protects the query parameter of its name.
    pub(crate) also_query: bool,
}

/// A compiled action with its options.
#[derive(Debug, Clone)]
pub(crate) enum Action {
    Encrypt,
    Tokenize {
        domain: String,
    },
    Mask {
        keep_first: usize,
        keep_last: usize,
        mask: char,
    },
    Redact {
        replace_with: Option<serde_json::Value>,
    },
    Hash,
}

impl Action {
    pub(crate) fn kind(&self) -> ActionKind {
        match self {
            Action::Encrypt => ActionKind::Encrypt,
            Action::Tokenize { .. } => ActionKind::Tokenize,
            Action::Mask { .. } => ActionKind::Mask,
            Action::Redact { .. } => ActionKind::Redact,
            Action::Hash => ActionKind::Hash,
        }
    }
}

/// Body formats a route accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyFormat {
    Json,
    Form,
}

/// A compiled, immutable policy: cheap to share across threads, applied by an
/// [`Engine`](crate::Engine) without re-parsing anything.
///
/// ```
/// # #[cfg(feature = "yaml")] {
/// let policy = pii_core::Policy::from_yaml("p.yaml", r#"
/// apiVersion: pii-edge/v1
/// name: search
/// match: { methods: [GET], paths: ["/api/search"] }
/// rules:
///   - select: { query: email }
///     action: hash
/// "#).unwrap();
/// assert_eq!(policy.name(), "search");
/// assert_eq!(policy.spec().rules.len(), 1);
/// # }
/// ```
#[derive(Debug)]
pub struct Policy {
    pub(crate) spec: PolicySpec,
    pub(crate) methods: Vec<String>,
    pub(crate) paths: Vec<PathPattern>,
    pub(crate) headers: Vec<HeaderCondition>,
    pub(crate) formats: Vec<(String, BodyFormat)>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) max_depth: usize,
    /// The JSON rules as one-pass queries, when all of them can be (see `onepass.rs`).
    pub(crate) onepass: Option<crate::onepass::Queries>,
    /// What the JSON name checks compare member names with (see `onepass::NameChecks`).
    pub(crate) json_names: crate::onepass::NameChecks,
}

impl Policy {
    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The residency zone the policy seals to, if it encrypts.
    pub fn zone(&self) -> Option<&str> {
        self.spec.zone.as_deref()
    }

    /// The policy as written.
    pub fn spec(&self) -> &PolicySpec {
        &self.spec
    }

    /// Whether the policy reads request bodies (it has `json` or `form` rules, or lists
    /// `match.contentTypes`): a request on its route cannot be protected without its body.
    ///
    /// ```
    /// let p = pii_core::Policy::from_json(r#"{"apiVersion":"pii-edge/v1","name":"p",
    ///   "match":{},"rules":[{"select":{"json":"$.email"},"action":"redact"}]}"#).unwrap();
    /// assert!(p.reads_body());
    /// ```
    pub fn reads_body(&self) -> bool {
        !self.formats.is_empty()
    }

    /// Compile a policy from its parsed form, reporting every problem found (not just the
    /// first). Locations are paths into the document; [`Policy::from_yaml`] turns them into
    /// lines and columns.
    ///
    /// ```
    /// let spec: pii_core::spec::PolicySpec = serde_json::from_str(r#"{
    ///   "apiVersion": "pii-edge/v1", "name": "p",
    ///   "match": {"paths": ["/x"]},
    ///   "rules": [{"select": {"json": "$.a["}, "action": "hash"}]
    /// }"#).unwrap();
    /// let problems = pii_core::Policy::compile(spec).unwrap_err();
    /// assert_eq!(problems[0].path.to_string(), "rules[0].select.json");
    /// ```
    pub fn compile(spec: PolicySpec) -> Result<Policy, Vec<SpecProblem>> {
        compile(spec)
    }

    /// Load a policy from its JSON form (what `pii-edge package` bundles for the edge, where no
    /// YAML parser is carried).
    ///
    /// ```
    /// let p = pii_core::Policy::from_json(r#"{"apiVersion":"pii-edge/v1","name":"p",
    ///   "match":{},"rules":[{"select":{"header":"x-ssn"},"action":"redact"}]}"#).unwrap();
    /// assert_eq!(p.name(), "p");
    /// ```
    pub fn from_json(text: &str) -> Result<Policy, crate::PolicyError> {
        let spec: PolicySpec = serde_json::from_str(text).map_err(|e| {
            crate::PolicyError::single(
                "<json>",
                e.line(),
                e.column(),
                format!("{e}"),
                text.lines().nth(e.line().saturating_sub(1)).unwrap_or(""),
            )
        })?;
        compile(spec).map_err(|problems| crate::PolicyError::unlocated("<json>", problems))
    }
}

fn compile(spec: PolicySpec) -> Result<Policy, Vec<SpecProblem>> {
    use SpecPart::{Index, Key};
    let mut problems = Vec::new();
    fn add(problems: &mut Vec<SpecProblem>, parts: &[SpecPart], message: String) {
        problems.push(SpecProblem {
            path: SpecPath::of(parts),
            message,
        })
    }
    // For a wrong value (rather than a misplaced key): point at the value itself.
    fn add_value(problems: &mut Vec<SpecProblem>, parts: &[SpecPart], message: String) {
        problems.push(SpecProblem {
            path: SpecPath {
                parts: parts.to_vec(),
                offset: Some(0),
            },
            message,
        })
    }

    if spec.api_version != API_VERSION {
        add_value(
            &mut problems,
            &[Key("apiVersion")],
            format!(
                "unsupported apiVersion `{}`: this build understands `{API_VERSION}`",
                spec.api_version
            ),
        );
    }
    if let Some(kind) = &spec.kind {
        if kind != "Policy" {
            add_value(
                &mut problems,
                &[Key("kind")],
                format!("kind must be `Policy`, not `{kind}`"),
            );
        }
    }
    if spec.name.is_empty()
        || !spec
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        add_value(
            &mut problems,
            &[Key("name")],
            "a policy name must be non-empty and use only letters, digits, `-`, `_` and `.`".into(),
        );
    }
    if spec.rules.is_empty() {
        add(
            &mut problems,
            &[Key("rules")],
            "a policy needs at least one rule; remove the file if nothing is to be protected"
                .into(),
        );
    }
    if spec.limits.max_depth == 0 || spec.limits.max_depth > MAX_MAX_DEPTH {
        add_value(
            &mut problems,
            &[Key("limits"), Key("maxDepth")],
            format!("maxDepth must be between 1 and {MAX_MAX_DEPTH}"),
        );
    }

    let mut methods = Vec::new();
    for (i, m) in spec.matches.methods.iter().enumerate() {
        let up = m.to_ascii_uppercase();
        if up.is_empty() || !up.bytes().all(|b| b.is_ascii_alphabetic()) {
            add(
                &mut problems,
                &[Key("match"), Key("methods"), Index(i)],
                format!("`{m}` is not an HTTP method; write e.g. POST or GET"),
            );
        }
        methods.push(up);
    }
    let mut paths = Vec::new();
    for (i, p) in spec.matches.paths.iter().enumerate() {
        match PathPattern::parse(p) {
            Ok(pat) => paths.push(pat),
            Err(msg) => add(&mut problems, &[Key("match"), Key("paths"), Index(i)], msg),
        }
    }
    for (i, h) in spec.matches.headers.iter().enumerate() {
        if h.name.is_empty() || !h.name.bytes().all(is_token_byte) {
            add_value(
                &mut problems,
                &[Key("match"), Key("headers"), Index(i), Key("name")],
                format!("`{}` is not a valid header name", h.name),
            );
        }
        if h.equals.is_some() && h.present == Some(false) {
            add(
                &mut problems,
                &[Key("match"), Key("headers"), Index(i)],
                "a header cannot both equal a value and be absent; drop `present: false`".into(),
            );
        }
    }

    let mut rules: Vec<Rule> = Vec::new();
    let mut uses_json = false;
    let mut uses_form = false;
    for (i, r) in spec.rules.iter().enumerate() {
        let at = |k: &'static str| [Key("rules"), Index(i), Key(k)];
        let selector = match CompiledSelector::compile(&r.select) {
            Ok(s) => Some(s),
            Err((offset, message)) => {
                let sel_key = match r.select {
                    SelectorSpec::Json(_) => "json",
                    SelectorSpec::Form(_) => "form",
                    SelectorSpec::Query(_) => "query",
                    SelectorSpec::Header(_) => "header",
                    SelectorSpec::Cookie(_) => "cookie",
                };
                problems.push(SpecProblem {
                    path: SpecPath {
                        parts: vec![Key("rules"), Index(i), Key("select"), Key(sel_key)],
                        offset,
                    },
                    message,
                });
                None
            }
        };
        match r.select {
            SelectorSpec::Json(_) => uses_json = true,
            SelectorSpec::Form(_) => uses_form = true,
            _ => {}
        }

        // Options that do not belong to the action are mistakes, not decoration.
        let options: [(&'static str, bool, &[ActionKind]); 5] = [
            ("keepFirst", r.keep_first.is_some(), &[ActionKind::Mask]),
            ("keepLast", r.keep_last.is_some(), &[ActionKind::Mask]),
            ("maskChar", r.mask_char.is_some(), &[ActionKind::Mask]),
            (
                "replaceWith",
                r.replace_with.is_some(),
                &[ActionKind::Redact],
            ),
            ("domain", r.domain.is_some(), &[ActionKind::Tokenize]),
        ];
        if r.also_query.is_some() && !matches!(r.select, SelectorSpec::Form(_)) {
            add(
                &mut problems,
                &at("alsoQuery"),
                "option `alsoQuery` only applies to `form` rules".into(),
            );
        }
        for (name, given, fits) in options {
            if given && !fits.contains(&r.action) {
                add(
                    &mut problems,
                    &at(name),
                    format!(
                        "option `{name}` does not apply to action `{}`; it belongs to `{}`",
                        r.action.as_str(),
                        fits[0].as_str()
                    ),
                );
            }
        }
        let action = match r.action {
            ActionKind::Encrypt => Action::Encrypt,
            ActionKind::Tokenize => match &r.domain {
                Some(d) if is_domain(d) => Action::Tokenize { domain: d.clone() },
                Some(_) => {
                    add_value(
                        &mut problems,
                        &at("domain"),
                        "a token domain uses only lowercase letters, digits, `-` and `.`".into(),
                    );
                    Action::Hash
                }
                None => {
                    add(
                        &mut problems,
                        &at("action"),
                        "`tokenize` needs `domain: <name>`, the token domain whose key is used"
                            .into(),
                    );
                    Action::Hash
                }
            },
            ActionKind::Mask => {
                let mask = match r.mask_char.as_deref() {
                    None => '*',
                    Some(s) => {
                        let mut chars = s.chars();
                        match (chars.next(), chars.next()) {
                            (Some(c), None) if !c.is_control() => c,
                            _ => {
                                add_value(
                                    &mut problems,
                                    &at("maskChar"),
                                    "maskChar must be exactly one visible character, e.g. \"*\""
                                        .into(),
                                );
                                '*'
                            }
                        }
                    }
                };
                Action::Mask {
                    keep_first: r.keep_first.unwrap_or(0) as usize,
                    keep_last: r.keep_last.unwrap_or(0) as usize,
                    mask,
                }
            }
            ActionKind::Redact => {
                if let Some(v) = &r.replace_with {
                    let textual = !matches!(r.select, SelectorSpec::Json(_));
                    if textual && !v.is_string() {
                        add(&mut problems, &at("replaceWith"),
                            "headers, query parameters, form fields and cookies are text: give replaceWith as a string".into(),
                        );
                    }
                }
                Action::Redact {
                    replace_with: r.replace_with.clone(),
                }
            }
            ActionKind::Hash => Action::Hash,
        };
        if let Some(selector) = selector {
            // A rule whose selections are always taken by an earlier rule never runs.
            for (j, earlier) in rules.iter().enumerate() {
                if let Some(why) = earlier.selector.shadows(&selector) {
                    add(&mut problems, &at("select"),
                        format!(
                            "this rule never applies: {why} rule {j} (`{}`) already selects it; remove one or make them select different values",
                            earlier.label
                        ),
                    );
                }
            }
            let skeleton = match &r.select {
                SelectorSpec::Json(_) => String::new(),
                SelectorSpec::Form(n)
                | SelectorSpec::Query(n)
                | SelectorSpec::Header(n)
                | SelectorSpec::Cookie(n) => crate::names::skeleton(n),
            };
            rules.push(Rule {
                label: r.name.clone().unwrap_or_else(|| r.select.to_string()),
                selector,
                action,
                skeleton,
                also_query: matches!(r.select, SelectorSpec::Form(_))
                    && r.also_query.unwrap_or(true),
            });
        }
    }

    let mut formats = Vec::new();
    if spec.matches.content_types.is_empty() {
        if uses_json {
            formats.push(("application/json".to_string(), BodyFormat::Json));
            formats.push(("application/*+json".to_string(), BodyFormat::Json));
        }
        if uses_form {
            formats.push((
                "application/x-www-form-urlencoded".to_string(),
                BodyFormat::Form,
            ));
        }
    }
    for (i, ct) in spec.matches.content_types.iter().enumerate() {
        let lower = ct.trim().to_ascii_lowercase();
        let format = if lower == "application/json"
            || (lower.starts_with("application/") && lower.ends_with("+json"))
        {
            Some(BodyFormat::Json)
        } else if lower == "application/x-www-form-urlencoded" {
            Some(BodyFormat::Form)
        } else {
            None
        };
        match format {
            Some(f) => formats.push((lower, f)),
            None => add(&mut problems, &[Key("match"), Key("contentTypes"), Index(i)],
                format!("pii-edge cannot inspect `{ct}` bodies; supported: application/json, application/*+json, application/x-www-form-urlencoded"),
            ),
        }
    }
    for (i, r) in spec.rules.iter().enumerate() {
        let needs = match r.select {
            SelectorSpec::Json(_) => Some(BodyFormat::Json),
            SelectorSpec::Form(_) => Some(BodyFormat::Form),
            _ => None,
        };
        if let Some(needs) = needs {
            if !formats.iter().any(|(_, f)| *f == needs) && !spec.matches.content_types.is_empty() {
                add(&mut problems, &[Key("rules"), Index(i), Key("select")],
                    "this rule reads a body format that match.contentTypes does not allow, so it never applies; add the content type".into(),
                );
            }
        }
    }

    if !problems.is_empty() {
        return Err(problems);
    }
    let max_depth = spec.limits.max_depth as usize;
    let onepass = crate::onepass::Queries::plan(rules.iter().map(|r| &r.selector));
    let json_names = crate::onepass::NameChecks::plan(rules.iter().map(|r| &r.selector));
    Ok(Policy {
        onepass,
        json_names,
        methods,
        paths,
        headers: spec.matches.headers.clone(),
        formats,
        rules,
        max_depth,
        spec,
    })
}

fn is_domain(d: &str) -> bool {
    !d.is_empty()
        && d.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}
