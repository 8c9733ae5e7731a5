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
    /// Where a `query`, `form` or `json` rule's parameter is protected (`params.rs`);
    /// empty for header and cookie rules.
    pub(crate) sources: crate::params::Sources,
}

impl Rule {
    /// Whether this rule protects, as written, a parameter named exactly `name`
    /// (case-insensitively) in `part` (the query string or a form body).
    pub(crate) fn protects_as_written(&self, part: crate::location::Part) -> Option<&str> {
        use crate::location::Part;
        use crate::params::Source;
        let (n, source) = match (&self.selector, part) {
            (CompiledSelector::Query(n) | CompiledSelector::Form(n), Part::Query) => {
                (n, Source::Query)
            }
            (CompiledSelector::Query(n) | CompiledSelector::Form(n), Part::Form) => {
                (n, Source::Form)
            }
            _ => return None,
        };
        self.sources.has(source).then_some(n.as_str())
    }
}

/// A compiled action with its options.
#[derive(Debug, Clone)]
pub(crate) enum Action {
    Encrypt,
    Tokenize {
        domain: String,
        normalization: crate::token::Normalization,
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
    /// The JSON rules as one-pass queries, when all of them can be (see `jsonpath/onepass.rs`).
    pub(crate) onepass: Option<crate::jsonpath::onepass::Queries>,
    /// What the JSON name checks compare member names with (see `jsonpath::checks`).
    pub(crate) json_names: crate::jsonpath::checks::NameChecks,
    /// Every parameter a `query`, `form` or `json` rule protects, with its sources.
    pub(crate) params: Vec<crate::params::ParamPath>,
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
    pub fn from_json(text: &str) -> Result<Policy, crate::error::PolicyError> {
        let spec: PolicySpec = serde_json::from_str(text).map_err(|e| {
            crate::error::PolicyError::single(
                "<json>",
                e.line(),
                e.column(),
                format!("{e}"),
                text.lines().nth(e.line().saturating_sub(1)).unwrap_or(""),
            )
        })?;
        compile(spec).map_err(|problems| crate::error::PolicyError::unlocated("<json>", problems))
    }
}

impl Policy {
    /// Whether a rule of this policy encrypts (and so needs a zone, fixed or resolved).
    pub fn encrypts(&self) -> bool {
        self.rules
            .iter()
            .any(|r| matches!(r.action, Action::Encrypt))
    }

    /// Where this policy encrypts without a `zone`: one problem at the first `encrypt` rule's
    /// action, or none. Such a policy only works with a residency configuration that resolves
    /// the zone per request; `pii-edge check` reports it when none is given.
    pub fn zone_problem(&self) -> Option<SpecProblem> {
        if self.spec.zone.is_some() {
            return None;
        }
        let first = self
            .rules
            .iter()
            .position(|r| matches!(r.action, Action::Encrypt))?;
        Some(SpecProblem {
            path: SpecPath::of(&[SpecPart::Key("rules"), SpecPart::Index(first), SpecPart::Key("action")]),
            message: format!(
                "policy `{}` encrypts but has no `zone`: add `zone: <name>` (the residency zone whose regions may read the values), or give a residency configuration that resolves the zone per request (--residency)",
                self.spec.name
            ),
        })
    }

    /// The routes of this policy that `earlier`, tried first, takes: one problem per path
    /// pattern whose requests (some or all of them, for methods both policies accept) match
    /// `earlier` first, so this policy never sees them. An earlier policy with header
    /// conditions takes only some requests and is not reported.
    ///
    /// ```
    /// let a = pii_core::Policy::from_json(r#"{"apiVersion":"pii-edge/v1","name":"all-users",
    ///   "match":{"paths":["/api/users/**"]},"rules":[{"select":{"header":"x-a"},"action":"redact"}]}"#)?;
    /// let b = pii_core::Policy::from_json(r#"{"apiVersion":"pii-edge/v1","name":"profile",
    ///   "match":{"methods":["PUT"],"paths":["/api/users/{id}/profile", "/api/orders"]},
    ///   "rules":[{"select":{"header":"x-b"},"action":"redact"}]}"#)?;
    /// let taken = b.routes_taken_by(&a);
    /// assert_eq!(taken.len(), 1);
    /// assert_eq!(taken[0].path.to_string(), "match.paths[0]");
    /// # Ok::<(), pii_core::error::PolicyError>(())
    /// ```
    pub fn routes_taken_by(&self, earlier: &Policy) -> Vec<SpecProblem> {
        if !earlier.headers.is_empty() {
            return Vec::new();
        }
        let methods: Vec<String> = match (self.methods.is_empty(), earlier.methods.is_empty()) {
            (_, true) => self.methods.clone(),
            (true, false) => earlier.methods.clone(),
            (false, false) => self
                .methods
                .iter()
                .filter(|m| earlier.methods.contains(m))
                .cloned()
                .collect(),
        };
        if methods.is_empty() && !(self.methods.is_empty() && earlier.methods.is_empty()) {
            return Vec::new();
        }
        let shown = if methods.is_empty() {
            "any method".to_string()
        } else {
            methods.join(", ")
        };
        let patterns: Vec<(usize, Option<&PathPattern>)> = if self.paths.is_empty() {
            vec![(0, None)]
        } else {
            self.paths.iter().map(Some).enumerate().collect()
        };
        let mut out = Vec::new();
        for (i, pattern) in patterns {
            let sample = pattern.map(PathPattern::sample).unwrap_or_default();
            let taken =
                earlier.paths.is_empty() || earlier.paths.iter().any(|p| p.matches(&sample));
            if !taken {
                continue;
            }
            let (path, route) = match pattern {
                Some(_) => (
                    SpecPath {
                        parts: vec![
                            SpecPart::Key("match"),
                            SpecPart::Key("paths"),
                            SpecPart::Index(i),
                        ],
                        offset: None,
                    },
                    format!("`{}`", self.spec.matches.paths[i]),
                ),
                None => (
                    SpecPath::of(&[SpecPart::Key("match")]),
                    "every path".to_string(),
                ),
            };
            out.push(SpecProblem {
                path,
                message: format!(
                    "policy `{}` is shadowed here: the earlier policy `{}` matches requests to {route} ({shown}) first, so this policy never applies to them; narrow or reorder the policies (they are tried in file name order)",
                    self.spec.name, earlier.spec.name
                ),
            });
        }
        out
    }
}

/// The problems found while compiling one policy, each at its place in the document.
struct Problems(Vec<SpecProblem>);

impl Problems {
    /// A problem with a key (or a misplaced one): points at the key.
    fn add(&mut self, parts: &[SpecPart], message: String) {
        self.0.push(SpecProblem {
            path: SpecPath::of(parts),
            message,
        })
    }

    /// A wrong value (rather than a misplaced key): points at the value itself.
    fn add_value(&mut self, parts: &[SpecPart], message: String) {
        self.0.push(SpecProblem {
            path: SpecPath {
                parts: parts.to_vec(),
                offset: Some(0),
            },
            message,
        })
    }
}

/// Compiles a policy, one function per section of the document: the header (`apiVersion`,
/// `kind`, `name`, `limits`), `match`, each rule, the body formats the rules need, the declared
/// shape; then the plans the engine runs.
fn compile(spec: PolicySpec) -> Result<Policy, Vec<SpecProblem>> {
    let mut p = Problems(Vec::new());
    check_header(&spec, &mut p);
    let (methods, paths) = compile_match(&spec.matches, &mut p);
    let mut rules: Vec<Rule> = Vec::new();
    for (i, r) in spec.rules.iter().enumerate() {
        if let Some(rule) = compile_rule(i, r, &rules, &mut p) {
            rules.push(rule);
        }
    }
    let formats = body_formats(&spec, &rules, &mut p);
    let mut problems = p.0;
    crate::shape::problems(&spec, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    let max_depth = spec.limits.max_depth as usize;
    let onepass = crate::jsonpath::onepass::Queries::plan(
        rules.iter().map(|r| r.selector.json().map(|q| q.tree())),
    );
    let json_names = crate::jsonpath::checks::NameChecks::plan(
        rules.iter().map(|r| r.selector.json().map(|q| q.tree())),
    );
    let params = param_paths(&rules);
    Ok(Policy {
        params,
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

/// `apiVersion`, `kind`, `name`, that there are rules, `limits`.
fn check_header(spec: &PolicySpec, p: &mut Problems) {
    use SpecPart::Key;
    if spec.api_version != API_VERSION {
        p.add_value(
            &[Key("apiVersion")],
            format!(
                "unsupported apiVersion `{}`: this build understands `{API_VERSION}`",
                spec.api_version
            ),
        );
    }
    if let Some(kind) = &spec.kind {
        if kind != "Policy" {
            p.add_value(
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
        p.add_value(
            &[Key("name")],
            "a policy name must be non-empty and use only letters, digits, `-`, `_` and `.`".into(),
        );
    }
    if spec.rules.is_empty() {
        p.add(
            &[Key("rules")],
            "a policy needs at least one rule; remove the file if nothing is to be protected"
                .into(),
        );
    }
    if spec.limits.max_depth == 0 || spec.limits.max_depth > MAX_MAX_DEPTH {
        p.add_value(
            &[Key("limits"), Key("maxDepth")],
            format!("maxDepth must be between 1 and {MAX_MAX_DEPTH}"),
        );
    }
}

/// `match`: methods, path patterns, header conditions.
fn compile_match(spec_match: &MatchSpec, p: &mut Problems) -> (Vec<String>, Vec<PathPattern>) {
    use SpecPart::{Index, Key};
    let mut methods = Vec::new();
    for (i, m) in spec_match.methods.iter().enumerate() {
        let up = m.to_ascii_uppercase();
        if up.is_empty() || !up.bytes().all(|b| b.is_ascii_alphabetic()) {
            p.add(
                &[Key("match"), Key("methods"), Index(i)],
                format!("`{m}` is not an HTTP method; write e.g. POST or GET"),
            );
        }
        methods.push(up);
    }
    let mut paths = Vec::new();
    for (i, text) in spec_match.paths.iter().enumerate() {
        match PathPattern::parse(text) {
            Ok(pat) => paths.push(pat),
            Err(msg) => p.add(&[Key("match"), Key("paths"), Index(i)], msg),
        }
    }
    for (i, h) in spec_match.headers.iter().enumerate() {
        if h.name.is_empty() || !h.name.bytes().all(is_token_byte) {
            p.add_value(
                &[Key("match"), Key("headers"), Index(i), Key("name")],
                format!("`{}` is not a valid header name", h.name),
            );
        }
        if h.equals.is_some() && h.present == Some(false) {
            p.add(
                &[Key("match"), Key("headers"), Index(i)],
                "a header cannot both equal a value and be absent; drop `present: false`".into(),
            );
        }
    }

    (methods, paths)
}

/// One rule: its selector, options, sources and action; `None` when its selector does not
/// compile. `earlier` are the rules before it (a rule they always take first is dead).
fn compile_rule(i: usize, r: &RuleSpec, earlier: &[Rule], p: &mut Problems) -> Option<Rule> {
    use SpecPart::{Index, Key};
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
            p.0.push(SpecProblem {
                path: SpecPath {
                    parts: vec![Key("rules"), Index(i), Key("select"), Key(sel_key)],
                    offset,
                },
                message,
            });
            None
        }
    };

    // Options that do not belong to the action are mistakes, not decoration.
    let options: [(&'static str, bool, &[ActionKind]); 6] = [
        ("normalize", r.normalize.is_some(), &[ActionKind::Tokenize]),
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
        p.add(
            &at("alsoQuery"),
            "option `alsoQuery` only applies to `form` rules".into(),
        );
    }
    let sources = rule_sources(i, r, p);
    for (name, given, fits) in options {
        if given && !fits.contains(&r.action) {
            p.add(
                &at(name),
                format!(
                    "option `{name}` does not apply to action `{}`; it belongs to `{}`",
                    r.action.as_str(),
                    fits[0].as_str()
                ),
            );
        }
    }
    let action = rule_action(i, r, p);
    if let Some(selector) = selector {
        // A rule whose selections are always taken by an earlier rule never runs.
        for (j, earlier) in earlier.iter().enumerate() {
            if let Some(why) = earlier.selector.shadows(&selector) {
                p.add(&at("select"),
                    format!(
                        "this rule never applies: {why} rule {} (`{}`) already selects it; remove one or make them select different values",
                        j + 1,
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
        return Some(Rule {
            label: r.name.clone().unwrap_or_else(|| r.select.to_string()),
            selector,
            action,
            skeleton,
            sources,
        });
    }
    None
}

/// A rule's action with its options checked (`normalize`, `domain`, `maskChar`,
/// `replaceWith`); a stand-in (`Hash`) where an option is wrong, the problem recorded.
fn rule_action(i: usize, r: &RuleSpec, p: &mut Problems) -> Action {
    use SpecPart::{Index, Key};
    let at = |k: &'static str| [Key("rules"), Index(i), Key(k)];
    match r.action {
        ActionKind::Encrypt => Action::Encrypt,
        ActionKind::Tokenize => match &r.domain {
            Some(d) if crate::keys::is_valid_domain(d) => {
                let steps = r.normalize.as_deref().unwrap_or_default();
                if let Some(twice) = steps
                    .iter()
                    .enumerate()
                    .find(|(i, s)| steps[..*i].contains(s))
                {
                    p.add_value(
                        &at("normalize"),
                        format!(
                            "normalization step `{}` is listed twice; list each step once",
                            twice.1
                        ),
                    );
                }
                if steps.iter().any(|s| !s.at_edge()) {
                    p.add_value(&at("normalize"),
                        "`nfkc` is not supported at the edge: the Unicode NFKC tables would take the Lambda@Edge package over its 1,000,000-byte limit; use `fullwidth` (full-width letters, digits and spaces to ASCII), which with `casefold` joins the spellings of e-mail addresses and numbers".into(),
                    );
                }
                Action::Tokenize {
                    domain: d.clone(),
                    normalization: crate::token::Normalization::new(steps),
                }
            }
            Some(_) => {
                p.add_value(&at("domain"),
                    "a token domain is 1 to 64 bytes of lowercase letters, digits and `-`, in parts joined by single dots (`email`, `email.v2`)".into(),
                );
                Action::Hash
            }
            None => {
                p.add(
                    &at("action"),
                    "`tokenize` needs `domain: <name>`, the token domain whose key is used".into(),
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
                            p.add_value(
                                &at("maskChar"),
                                "maskChar must be exactly one visible character, e.g. \"*\"".into(),
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
                    p.add(&at("replaceWith"),
                        "headers, query parameters, form fields and cookies are text: give replaceWith as a string".into(),
                    );
                }
            }
            Action::Redact {
                replace_with: r.replace_with.clone(),
            }
        }
        ActionKind::Hash => Action::Hash,
    }
}

/// Where a `query`, `form` or `json` rule's parameter is protected: every source a framework
/// merges, unless `sources` (or `alsoQuery: false`) narrows them.
fn rule_sources(i: usize, r: &RuleSpec, p: &mut Problems) -> crate::params::Sources {
    use SpecPart::{Index, Key};
    let at = |k: &'static str| [Key("rules"), Index(i), Key(k)];
    let own = match r.select {
        SelectorSpec::Query(_) => Some(crate::params::Source::Query),
        SelectorSpec::Form(_) => Some(crate::params::Source::Form),
        SelectorSpec::Json(_) => Some(crate::params::Source::Json),
        _ => None,
    };
    let mut sources = match own {
        Some(_) => crate::params::Sources::ALL,
        None => crate::params::Sources::NONE,
    };
    if let Some(list) = &r.sources {
        match own {
            None => p.add(
                &at("sources"),
                "option `sources` only applies to `query`, `form` and `json` rules".into(),
            ),
            Some(own) => {
                sources = crate::params::Sources::NONE;
                for (k, name) in list.iter().enumerate() {
                    match name.parse::<crate::params::Source>() {
                        Ok(s) => sources = sources.with(s),
                        Err(why) => {
                            p.add_value(&[Key("rules"), Index(i), Key("sources"), Index(k)], why)
                        }
                    }
                }
                if !sources.has(own) {
                    p.add(
                        &at("sources"),
                        format!("`sources` must list the rule's own source `{own}`"),
                    );
                }
            }
        }
    }
    if matches!(r.select, SelectorSpec::Form(_)) && r.also_query == Some(false) {
        sources = sources.without(crate::params::Source::Query);
    }
    sources
}

/// The body formats the rules need (or `match.contentTypes` allows), and the rules whose body
/// format is not allowed.
fn body_formats(spec: &PolicySpec, rules: &[Rule], p: &mut Problems) -> Vec<(String, BodyFormat)> {
    use SpecPart::{Index, Key};
    // A query or form rule's parameter sent in a body is read there too (merged sources):
    // the body must then be one the edge can read.
    let mut uses_json = spec
        .rules
        .iter()
        .any(|r| matches!(r.select, SelectorSpec::Json(_)));
    let mut uses_form = spec
        .rules
        .iter()
        .any(|r| matches!(r.select, SelectorSpec::Form(_)));
    for r in rules {
        if matches!(
            r.selector,
            CompiledSelector::Query(_) | CompiledSelector::Form(_)
        ) {
            uses_json |= r.sources.has(crate::params::Source::Json);
            uses_form |= r.sources.has(crate::params::Source::Form);
        }
    }
    // A declared JSON parameter may be a form field (`shape.jsonParams`).
    uses_form |= !spec.shape.json_params.is_empty();
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
            None => p.add(&[Key("match"), Key("contentTypes"), Index(i)],
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
                p.add(&[Key("rules"), Index(i), Key("select")],
                    "this rule reads a body format that match.contentTypes does not allow, so it never applies; add the content type".into(),
                );
            }
        }
    }

    formats
}

/// Where each query, form and JSON rule's parameter may be read (`params.rs`).
fn param_paths(rules: &[Rule]) -> Vec<crate::params::ParamPath> {
    rules
        .iter()
        .filter_map(|r| {
            let own = match &r.selector {
                CompiledSelector::Json(_) => crate::params::Source::Json,
                CompiledSelector::Query(_) => crate::params::Source::Query,
                CompiledSelector::Form(_) => crate::params::Source::Form,
                _ => return None,
            };
            let path = match &r.selector {
                CompiledSelector::Json(query) => crate::params::json_path(query.tree()),
                CompiledSelector::Query(n) | CompiledSelector::Form(n) => {
                    crate::params::readings(n)
                        .into_iter()
                        .next()?
                        .into_iter()
                        .map(crate::params::PathSeg::Name)
                        .collect()
                }
                _ => return None,
            };
            // A path that names no member (`$..*`, `$..[?@.a]`) selects by shape, not by
            // name: it protects the JSON body only.
            if !path
                .iter()
                .any(|s| matches!(s, crate::params::PathSeg::Name(_)))
            {
                return None;
            }
            Some(crate::params::ParamPath {
                path,
                sources: r.sources,
                own,
            })
        })
        .collect()
}
