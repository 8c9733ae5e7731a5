//! Declared request shapes (`docs/policy.md`, "Body shapes"): what an origin does to a
//! request before its handler reads it, as a policy's `shape` says: a JSON array root read as
//! a batch of bodies, or as a JSON Patch document (RFC 6902); top-level members wrapped under
//! a key (Rails' ParamsWrapper); JSON text inside a named query or form parameter (GraphQL over
//! HTTP's `variables` in a GET).
//!
//! Each reading hands the engine a *virtual body*, the JSON document the origin's handler
//! reads, for its ordinary JSON rules; what they protect there is spliced back into the
//! request, everything else byte for byte. So the rules, the one-pass evaluation and the
//! locations bound into envelopes are the ones of a plain JSON body:
//!
//! | reading | virtual body | location of a protected value |
//! |---|---|---|
//! | `arrayRoot: batch` | each element | inside the element (`$['variables']['email']`) |
//! | `arrayRoot: json-patch` | `{"a":{"b": <value>}}` for `"path": "/a/b"` | the member the operation writes (`$['a']['b']`) and below |
//! | `wrapper: user` | `{"user": <root>}` | under the key (`$['user']['email']`) |
//! | `jsonParams: [variables]` | `{"variables": <the parameter's JSON text>}` | `$['variables']…` |
//!
//! A value the reading cannot put back (the virtual body's rules protect a whole ancestor of
//! the written member, or remove it), an element or operation of another shape, and a patch
//! into an array position where a rule selects by index are refused: 422 `body-shape`.

use crate::json::{self, Edit, RewriteError, Seg};
use crate::location::Location;
use crate::spec::{ArrayRoot, PolicySpec, SelectorSpec, SpecPart, SpecPath, SpecProblem};

/// A request the declared reading cannot address: the engine refuses it (422 `body-shape`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotAddressable;

/// A report of a protected value, at a location the reading can move (the engine's
/// `FieldReport`).
pub(crate) trait Located {
    /// Where the value is, as reported.
    fn location(&self) -> &Location;
    /// Move the report (its location and original location) by `at`.
    fn relocate(&mut self, at: &Relocate);
}

/// One JSON body through the policy's JSON rules and checks: the protected text (`None`: not
/// changed), the reports it adds. The [`Relocate`] says where the body's values are in the
/// request as forwarded (`None`: it is the body); the closure binds envelopes there.
pub(crate) type Protect<'a, R, E> =
    dyn FnMut(&[u8], Option<Relocate>, &mut Vec<R>) -> Result<Option<Vec<u8>>, E> + 'a;

/// From a location in a virtual body to the location in the request as forwarded: drop the
/// first `strip` elements of the path, put `prefix` in front (`$['variables']['email']` of a
/// batch's element 2 is `$[2]['variables']['email']`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Relocate {
    strip: usize,
    prefix: Vec<Seg>,
}

impl Relocate {
    pub(crate) fn apply(&self, location: &Location) -> Location {
        match location {
            Location::Json(path) => {
                let mut out = self.prefix.clone();
                out.extend(path.iter().skip(self.strip).cloned());
                Location::Json(out)
            }
            other => other.clone(),
        }
    }
}

/// `protect` on a virtual body at `at`, its reports moved to their forwarded locations.
fn relocated<R: Located, E>(
    protect: &mut Protect<'_, R, E>,
    body: &[u8],
    at: Relocate,
    fields: &mut Vec<R>,
) -> Result<Option<Vec<u8>>, E> {
    let start = fields.len();
    let out = protect(body, Some(at.clone()), fields)?;
    for f in &mut fields[start..] {
        f.relocate(&at);
    }
    Ok(out)
}

/// The declarations of `spec.shape` that cannot work, at their place in the document: a
/// wrapper key or JSON parameter no JSON rule reads under, a declaration without JSON rules,
/// an empty or bracketed name.
pub(crate) fn problems(spec: &PolicySpec, out: &mut Vec<SpecProblem>) {
    let shape = &spec.shape;
    let roots: Vec<String> = spec
        .rules
        .iter()
        .filter_map(|r| match &r.select {
            SelectorSpec::Json(p) => Some(first_member(p)),
            _ => None,
        })
        .collect();
    let at = |key: &'static str, index: Option<usize>| {
        let mut parts = vec![SpecPart::Key("shape"), SpecPart::Key(key)];
        parts.extend(index.map(SpecPart::Index));
        SpecPath {
            parts,
            offset: Some(0),
        }
    };
    if shape.array_root.is_some() && roots.is_empty() {
        out.push(SpecProblem {
            path: at("arrayRoot", None),
            message: "`arrayRoot` makes the JSON rules apply inside an array root, but the policy has no JSON rule: add one or drop `arrayRoot`".into(),
        });
    }
    let mut check = |name: &str, path: SpecPath, what: &str| {
        if name.is_empty() || name.contains(['[', ']', '.', '$']) {
            out.push(SpecProblem {
                path,
                message: format!("`{name}` is not a plain member name; write the {what} as it is spelled in the request, e.g. `user`"),
            });
        } else if !roots.iter().any(|r| r == name) {
            out.push(SpecProblem {
                path,
                message: format!("no JSON rule reads under `$.{name}`, so declaring the {what} `{name}` protects nothing; write the rules as the origin reads the body (`$.{name}.email`)"),
            });
        }
    };
    if let Some(w) = &shape.wrapper {
        check(w, at("wrapper", None), "wrapper key");
    }
    for (i, p) in shape.json_params.iter().enumerate() {
        check(p, at("jsonParams", Some(i)), "JSON parameter");
    }
}

/// The first member name of a JSONPath (`$.user.email`, `$['user']…`): `""` when it starts
/// with anything else.
fn first_member(path: &str) -> String {
    let rest = path.trim().strip_prefix('$').unwrap_or("");
    if let Some(r) = rest.strip_prefix('.') {
        if r.starts_with('.') {
            return String::new();
        }
        let end = r.find(['.', '[']).unwrap_or(r.len());
        return r[..end].to_string();
    }
    for q in ['\'', '"'] {
        if let Some(r) = rest
            .strip_prefix('[')
            .and_then(|r| r.trim_start().strip_prefix(q))
        {
            if let Some(end) = r.find(q) {
                return r[..end].to_string();
            }
        }
    }
    String::new()
}

/// The JSON parameter the policy declares under `name` (any ASCII case), as the policy spells
/// it: the member name of its virtual body.
pub(crate) fn json_param_name<'p>(spec: &'p PolicySpec, name: &str) -> Option<&'p str> {
    spec.shape
        .json_params
        .iter()
        .find(|p| p.eq_ignore_ascii_case(name))
        .map(String::as_str)
}

/// Whether the policy declares a wrapper key (Rails' ParamsWrapper): the engine then reads
/// the wrapped members instead of refusing them.
pub(crate) fn wraps(spec: &PolicySpec) -> bool {
    spec.shape.wrapper.is_some()
}

/// A JSON body under the policy's declared shape: `Ok(None)` when no declaration applies to
/// it (the engine reads it as usual), else the protected body (`Some(None)`: unchanged).
pub(crate) fn json_body<R: Located, E: From<NotAddressable>>(
    spec: &PolicySpec,
    max_depth: usize,
    body: &[u8],
    protect: &mut Protect<'_, R, E>,
    fields: &mut Vec<R>,
) -> Result<Option<Option<Vec<u8>>>, E> {
    let shape = &spec.shape;
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let applies = match first {
        Some(b'[') => shape.array_root.is_some(),
        Some(b'{') => shape.wrapper.is_some(),
        _ => false,
    };
    if !applies {
        return Ok(None);
    }
    // A body that is not JSON text: the plain reading reports why (400), as for any body.
    let Ok(doc) = json::parse_strict(body, max_depth) else {
        return Ok(None);
    };
    match (&doc, shape.array_root, &shape.wrapper) {
        (serde_json::Value::Array(elements), Some(ArrayRoot::Batch), _) => {
            batch(max_depth, body, elements, protect, fields).map(Some)
        }
        (serde_json::Value::Array(ops), Some(ArrayRoot::JsonPatch), _) => {
            json_patch(spec, max_depth, body, ops, protect, fields).map(Some)
        }
        (serde_json::Value::Object(root), _, Some(key)) => {
            wrapped(max_depth, key, body, root, protect, fields)
        }
        _ => Ok(None),
    }
}

/// A batch: every element an object, protected as a body of its own.
fn batch<R: Located, E: From<NotAddressable>>(
    max_depth: usize,
    body: &[u8],
    elements: &[serde_json::Value],
    protect: &mut Protect<'_, R, E>,
    fields: &mut Vec<R>,
) -> Result<Option<Vec<u8>>, E> {
    if elements.iter().any(|e| !e.is_object()) {
        return Err(NotAddressable.into());
    }
    let targets: Vec<Vec<Seg>> = (0..elements.len()).map(|i| vec![Seg::Index(i)]).collect();
    let mut changed = false;
    let out = json::rewrite(body, &targets, max_depth, |i, raw| {
        let at = Relocate {
            strip: 0,
            prefix: vec![Seg::Index(i)],
        };
        Ok::<_, E>(match relocated(protect, raw, at, fields)? {
            Some(new) => {
                changed = true;
                Edit::Replace(new)
            }
            None => Edit::Keep,
        })
    })
    .map_err(rewrite_error)?;
    Ok(changed.then_some(out))
}

/// A JSON Patch document: each operation's `value` through the rules at the member its `path`
/// writes.
fn json_patch<R: Located, E: From<NotAddressable>>(
    spec: &PolicySpec,
    max_depth: usize,
    body: &[u8],
    ops: &[serde_json::Value],
    protect: &mut Protect<'_, R, E>,
    fields: &mut Vec<R>,
) -> Result<Option<Vec<u8>>, E> {
    const OPS: [&str; 6] = ["add", "remove", "replace", "move", "copy", "test"];
    let by_index = spec.rules.iter().any(|r| match &r.select {
        SelectorSpec::Json(text) => selects_by_index(text),
        _ => false,
    });
    let mut targets = Vec::new();
    let mut pointers = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let op_name = op.get("op").and_then(|o| o.as_str());
        let path = op.get("path").and_then(|p| p.as_str());
        let (Some(op_name), Some(path)) = (op_name, path) else {
            return Err(NotAddressable.into());
        };
        if !OPS.contains(&op_name) {
            return Err(NotAddressable.into());
        }
        let tokens = pointer(path).ok_or(NotAddressable)?;
        if let Some(from) = op.get("from") {
            pointer(from.as_str().ok_or(NotAddressable)?).ok_or(NotAddressable)?;
        }
        // Any `value`, whatever the operation: a lenient implementation may read it.
        if op.get("value").is_none() {
            continue;
        }
        // An array position (`/items/3`, `/items/-`): a rule that selects by index cannot
        // be evaluated without the document the patch applies to.
        if by_index
            && tokens
                .iter()
                .any(|t| t == "-" || t.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(NotAddressable.into());
        }
        targets.push(vec![Seg::Index(i), Seg::Name("value".into())]);
        pointers.push((i, tokens));
    }
    let mut changed = false;
    let out = json::rewrite(body, &targets, max_depth, |k, raw| {
        let (op, tokens) = &pointers[k];
        let at = Relocate {
            strip: tokens.len(),
            prefix: vec![Seg::Index(*op), Seg::Name("value".into())],
        };
        let mut prefix = Vec::new();
        for t in tokens {
            prefix.push(b'{');
            prefix.extend_from_slice(json::quote(t).as_bytes());
            prefix.push(b':');
        }
        let suffix = vec![b'}'; tokens.len()];
        Ok::<_, E>(match within(protect, at, fields, &prefix, raw, &suffix)? {
            Some(new) => {
                changed = true;
                Edit::Replace(new)
            }
            None => Edit::Keep,
        })
    })
    .map_err(rewrite_error)?;
    Ok(changed.then_some(out))
}

/// Rails' ParamsWrapper: when the root has no member `key`, its members are read under `key`
/// too. The rules apply to `{"key": <root>}` and to the root as it is; a top-level member the
/// wrapped reading protects is taken from it (bound to its location under the key), the
/// others from the plain reading. A member both readings change must be a single value (both
/// versions then protect all of it); an object or array both change in different places is
/// refused.
fn wrapped<R: Located, E: From<NotAddressable>>(
    depth: usize,
    key: &str,
    body: &[u8],
    root: &serde_json::Map<String, serde_json::Value>,
    protect: &mut Protect<'_, R, E>,
    fields: &mut Vec<R>,
) -> Result<Option<Option<Vec<u8>>>, E> {
    if root.contains_key(key) {
        return Ok(None);
    }
    let mut wrapped_fields = Vec::new();
    let prefix = format!("{{{}:", json::quote(key)).into_bytes();
    let at = Relocate {
        strip: 1,
        prefix: Vec::new(),
    };
    let Some(rewrapped) = within(protect, at, &mut wrapped_fields, &prefix, body, b"}")? else {
        // Nothing under the key: the plain reading alone.
        return Ok(None);
    };
    let members = |bytes: &[u8]| -> Result<serde_json::Map<String, serde_json::Value>, E> {
        match json::parse_strict(bytes, depth) {
            Ok(serde_json::Value::Object(m)) => Ok(m),
            _ => Err(NotAddressable.into()),
        }
    };
    let wrapped = members(&rewrapped)?;
    let mut plain_fields = Vec::new();
    let plain = protect(body, None, &mut plain_fields)?;
    let plain_members = match &plain {
        Some(p) => members(p)?,
        None => root.clone(),
    };
    let mut taken: Vec<&String> = Vec::new();
    let mut replacement = Vec::new();
    for (k, original) in root {
        let Some(w) = wrapped.get(k).filter(|w| *w != original) else {
            continue;
        };
        let plain_changed = plain_members.get(k) != Some(original);
        if plain_changed && (original.is_object() || original.is_array()) {
            return Err(NotAddressable.into());
        }
        taken.push(k);
        replacement.push(serde_json::to_vec(w).map_err(|_| NotAddressable)?);
    }
    let targets: Vec<Vec<Seg>> = taken
        .iter()
        .map(|k| vec![Seg::Name((*k).clone())])
        .collect();
    let base = plain.as_deref().unwrap_or(body);
    let out = json::rewrite(base, &targets, depth, |i, _| {
        Ok::<_, E>(Edit::Replace(replacement[i].clone()))
    })
    .map_err(rewrite_error)?;
    let from_wrapped = |loc: &Location| matches!(loc, Location::Json(p) if matches!(p.first(), Some(Seg::Name(n)) if taken.contains(&n)));
    fields.extend(
        plain_fields
            .into_iter()
            .filter(|f| !from_wrapped(f.location())),
    );
    fields.extend(wrapped_fields);
    Ok(Some(Some(out)))
}

/// JSON text in a declared query parameter or form field: the protected text (`None`: not
/// changed), read as the JSON body member `name`. Text that is not JSON is refused.
pub(crate) fn json_param<R: Located, E: From<NotAddressable>>(
    name: &str,
    text: &[u8],
    protect: &mut Protect<'_, R, E>,
    fields: &mut Vec<R>,
) -> Result<Option<Vec<u8>>, E> {
    let prefix = format!("{{{}:", json::quote(name)).into_bytes();
    // A value that is not JSON text: refused, whatever the origin would do with it.
    if serde_json::from_slice::<serde::de::IgnoredAny>(text).is_err() {
        return Err(NotAddressable.into());
    }
    within(protect, Relocate::default(), fields, &prefix, text, b"}")
}

/// `value` protected inside the virtual body `prefix value suffix`, and taken back out: the
/// rewrite keeps every byte it does not edit, so the new value sits between the same prefix
/// and suffix unless a rule protected or removed an ancestor of it, which the request cannot
/// carry (refused).
fn within<R: Located, E: From<NotAddressable>>(
    protect: &mut Protect<'_, R, E>,
    at: Relocate,
    fields: &mut Vec<R>,
    prefix: &[u8],
    value: &[u8],
    suffix: &[u8],
) -> Result<Option<Vec<u8>>, E> {
    let mut virtual_body = Vec::with_capacity(prefix.len() + value.len() + suffix.len());
    virtual_body.extend_from_slice(prefix);
    virtual_body.extend_from_slice(value);
    virtual_body.extend_from_slice(suffix);
    let Some(out) = relocated(protect, &virtual_body, at, fields)? else {
        return Ok(None);
    };
    match out
        .strip_prefix(prefix)
        .and_then(|r| r.strip_suffix(suffix))
    {
        Some(inner) if !inner.is_empty() => Ok(Some(inner.to_vec())),
        _ => Err(NotAddressable.into()),
    }
}

/// The reference tokens of an RFC 6901 JSON Pointer (`~1` is `/`, `~0` is `~`); `None` for
/// text that is not one.
fn pointer(text: &str) -> Option<Vec<String>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    let rest = text.strip_prefix('/')?;
    rest.split('/')
        .map(|t| {
            let mut out = String::with_capacity(t.len());
            let mut chars = t.chars();
            while let Some(c) = chars.next() {
                match (c, c == '~') {
                    (_, false) => out.push(c),
                    (_, true) => match chars.next() {
                        Some('0') => out.push('~'),
                        Some('1') => out.push('/'),
                        _ => return None,
                    },
                }
            }
            Some(out)
        })
        .collect()
}

/// Whether a JSONPath has an index, slice or union of indexes (`[0]`, `[-1]`, `[1:]`,
/// `[0,2]`) anywhere, filters included: an over-approximation.
fn selects_by_index(path: &str) -> bool {
    let b = path.as_bytes();
    let mut quote: Option<u8> = None;
    for (i, &c) in b.iter().enumerate() {
        match quote {
            Some(q) if c == q && b.get(i.wrapping_sub(1)) != Some(&b'\\') => quote = None,
            Some(_) => {}
            None if c == b'\'' || c == b'"' => quote = Some(c),
            None if c == b'[' || c == b',' => {
                let next = b[i + 1..].iter().find(|x| !x.is_ascii_whitespace());
                if next.is_some_and(|&n| n.is_ascii_digit() || n == b'-' || n == b':') {
                    return true;
                }
            }
            None => {}
        }
    }
    false
}

fn rewrite_error<E: From<NotAddressable>>(e: RewriteError<E>) -> E {
    match e {
        RewriteError::Edit(reason) => reason,
        _ => NotAddressable.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers() {
        assert_eq!(pointer(""), Some(vec![]));
        assert_eq!(
            pointer("/a~1b/~0c/0"),
            Some(vec!["a/b".into(), "~c".into(), "0".into()])
        );
        assert_eq!(pointer("/a/"), Some(vec!["a".into(), String::new()]));
        assert_eq!(pointer("a"), None);
        assert_eq!(pointer("/a~2"), None);
        assert_eq!(pointer("/a~"), None);
    }

    #[test]
    fn index_selectors() {
        assert!(selects_by_index("$.items[0].email"));
        assert!(selects_by_index("$.items[-1]"));
        assert!(selects_by_index("$.items[1:]"));
        assert!(selects_by_index("$.items[*, 2]"));
        assert!(!selects_by_index("$.items[*].email"));
        assert!(!selects_by_index("$['0'].email"));
        assert!(!selects_by_index("$.messages[?@.internal != true].body"));
    }

    #[test]
    fn first_members() {
        assert_eq!(first_member("$.user.email"), "user");
        assert_eq!(first_member("$['user'].email"), "user");
        assert_eq!(first_member("$.variables"), "variables");
        assert_eq!(first_member("$..email"), "");
        assert_eq!(first_member("$[*].email"), "");
    }
}
