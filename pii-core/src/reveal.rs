//! The origin side: open every envelope in a protected request with the region's private keys
//! ([`reveal`]), and the fields at rest (`pr1.`) of a request with their subject keys too
//! ([`reveal_at_rest`]).

use std::collections::HashMap;
use std::fmt;

use crate::at_rest::{self, AtRestError, SubjectKey};
use crate::envelope::{self, Binding, OpenError, Opened, ValueKind};
use crate::json::{self, Edit, PathElement, RewriteError};
use crate::keys::PrivateKeyring;
use crate::location::{Location, Part};
use crate::request::Request;
use crate::select;

/// Deepest JSON nesting [`reveal`] reads.
const MAX_DEPTH: usize = crate::spec::MAX_MAX_DEPTH as usize;

/// A request with its envelopes opened.
#[derive(Debug)]
#[non_exhaustive]
pub struct Revealed {
    /// The request as it was before the edge protected it (values that were masked, hashed,
    /// tokenized or removed stay that way: only encryption is reversible).
    pub request: Request,
    /// One report per opened value, in request order (body, query, headers).
    pub fields: Vec<RevealedField>,
}

impl Revealed {
    /// How many envelopes were opened.
    pub fn opened(&self) -> usize {
        self.fields.len()
    }
}

/// What one opened value was: its binding (policy, zone and the location where it was found,
/// which is the location it was sealed for) and its kind. Never its plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevealedField {
    /// Policy, zone and location of the value.
    pub binding: Binding,
    /// The value's JSON type, or text.
    pub kind: ValueKind,
}

/// What an origin insists on for every envelope of a request; `None` accepts what the
/// envelope says. The location is always checked: a value must be found where it was sealed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expect<'a> {
    /// The policy that must have sealed every value.
    pub policy: Option<&'a str>,
    /// The zone every value must be sealed for.
    pub zone: Option<&'a str>,
}

/// An envelope of a request that did not open, and where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevealError {
    /// Where the envelope was found.
    pub location: Location,
    /// Why it did not open.
    pub error: OpenError,
}

impl fmt::Display for RevealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.error, self.location)
    }
}

impl std::error::Error for RevealError {}

/// Open one envelope found at `location`, insisting on `expect` and on the location.
fn open_at(
    keys: &PrivateKeyring,
    text: &str,
    location: &Location,
    expect: Expect<'_>,
    data_keys: &mut envelope::DataKeys,
) -> Result<Opened, RevealError> {
    let fail = |error| RevealError {
        location: location.clone(),
        error,
    };
    let opened = match expect {
        Expect {
            policy: Some(policy),
            zone: Some(zone),
        } => envelope::open_in_request(
            keys,
            text,
            Some(&Binding::new(policy, zone, location.clone())),
            data_keys,
        ),
        _ => envelope::open_in_request(keys, text, None, data_keys),
    }
    .map_err(fail)?;
    check_binding(opened.binding(), location, expect)?;
    Ok(opened)
}

/// A value must be found where it was sealed, and for `expect`'s zone and policy.
fn check_binding(b: &Binding, location: &Location, expect: Expect<'_>) -> Result<(), RevealError> {
    let fail = |error| RevealError {
        location: location.clone(),
        error,
    };
    if expect.zone.is_some_and(|z| z != b.zone) {
        return Err(fail(OpenError::WrongZone));
    }
    if expect.policy.is_some_and(|p| p != b.policy) {
        return Err(fail(OpenError::WrongPolicy));
    }
    if b.location != *location {
        return Err(fail(OpenError::WrongLocation));
    }
    Ok(())
}

/// Open every envelope (every value that [`envelope::is_envelope`]) in a protected request:
/// JSON body values, form fields, query parameters, headers and cookies. Each must have been
/// sealed for the location where it is found (and for `expect`'s policy and zone when given),
/// so a value moved elsewhere does not open.
///
/// Text values come back as the edge read them (`docs/envelope.md` §5) and are written back
/// encoded for their place: query and form values percent-encoded (space as `%20`), cookie and
/// header values as they are.
///
/// Fails on the first envelope that does not open, saying where; the error says nothing
/// about its contents.
///
/// ```
/// use pii_core::{reveal, Engine, reveal::Expect, Outcome, Policy, keys::PrivateKey, PrivateKeyring, Request, TokenKeys};
/// let key = PrivateKey::generate("eu-central", "eu-central-1", 1)?;
/// let mut private = PrivateKeyring::default();
/// private.push(key);
/// let policy = Policy::from_json(r#"{"apiVersion":"pii-edge/v1","name":"signup","zone":"eu-central",
///   "match":{"paths":["/api/users"]},"rules":[{"select":{"json":"$.email"},"action":"encrypt"}]}"#)?;
/// let engine = Engine::new(vec![policy], private.public(), TokenKeys::default())?;
///
/// let req = Request::new("POST", "/api/users")
///     .with_header("content-type", "application/json")
///     .with_body(br#"{"email": "erika@example.de", "n": 1}"#.to_vec());
/// let Outcome::Protected(p) = engine.apply(&req) else { panic!() };
/// assert!(!String::from_utf8_lossy(&p.request.body).contains("erika"));
///
/// let opened = reveal(&private, &p.request, Expect { policy: Some("signup"), zone: None })?;
/// assert_eq!(opened.request.body, req.body);
/// assert_eq!(opened.fields[0].binding.location.to_string(), "json:$['email']");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn reveal(
    keys: &PrivateKeyring,
    req: &Request,
    expect: Expect<'_>,
) -> Result<Revealed, RevealError> {
    let mut fields = Vec::new();
    // The envelopes of one request share their data key: unwrap it once (see DataKeys).
    let mut data_keys = envelope::DataKeys::default();
    let request = walk(req, &envelope::is_envelope, &mut |text, location| {
        let opened = open_at(keys, text, &location, expect, &mut data_keys)?;
        fields.push(RevealedField {
            binding: opened.binding().clone(),
            kind: opened.kind(),
        });
        Ok(Some(Found::Envelope(opened)))
    })?;
    Ok(Revealed { request, fields })
}

/// The subject keys that [`reveal_at_rest`] opens a request's fields at rest with: the keys the
/// key store gave for the key ids of [`at_rest_keys`], and the key ids it says were erased.
#[derive(Debug, Default)]
pub struct SubjectKeyring<'k> {
    keys: Vec<&'k SubjectKey>,
    erased: Vec<String>,
}

impl<'k> SubjectKeyring<'k> {
    /// An empty set: every field at rest fails with `NoKey`.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a live subject key.
    pub fn push(&mut self, key: &'k SubjectKey) {
        self.keys.push(key);
    }
    /// Records that the key `key_id` was destroyed (`forget`): its fields fail with `Erased`.
    pub fn push_erased(&mut self, key_id: &str) {
        self.erased.push(key_id.to_owned());
    }
}

/// The `(subject, key id)` of every field at rest (`pr1.`) in a request, in request order and
/// without repeats, read from their clear headers: which subject keys to fetch from the key
/// store before [`reveal_at_rest`]. A malformed field fails here, saying where.
pub fn at_rest_keys(req: &Request) -> Result<Vec<(String, String)>, RevealError> {
    let mut found: Vec<(String, String)> = Vec::new();
    walk(req, &at_rest::is_at_rest, &mut |text, location| {
        let head = at_rest::header(text).map_err(|e| RevealError {
            location,
            error: open_error(e),
        })?;
        let pair = (head.subject, head.key_id);
        if !found.contains(&pair) {
            found.push(pair);
        }
        Ok(None)
    })?;
    Ok(found)
}

/// [`reveal`], and the fields at rest (`pr1.`, docs/at-rest.md) of the request too, each opened
/// with its subject key from `subject_keys` and checked like an envelope (where it is found,
/// `expect`'s policy and zone). A field whose key id `subject_keys` lists as erased fails with
/// [`OpenError::Erased`]; one whose key it lacks with [`OpenError::NoKey`]. Get the key ids
/// with [`at_rest_keys`] and the keys from the key store (`SubjectKeys::key_of` in the
/// bindings).
///
/// ```
/// use pii_core::at_rest::{self, SubjectKey};
/// use pii_core::envelope::{Binding, OpenError, TestSealer, ValueKind};
/// use pii_core::{reveal::at_rest_keys, reveal::reveal_at_rest, reveal::Expect, Location, location::Part, keys::PrivateKey, PrivateKeyring, Request, reveal::SubjectKeyring};
/// let mut keys = PrivateKeyring::new();
/// keys.push(PrivateKey::generate("eu-central", "eu-central-1", 1)?);
/// let mut edge = TestSealer::new(&keys.public().recipients("eu-central")?, "eu-central")?;
/// let at = Binding::new("signup", "eu-central", Location::field(Part::Header, "x-email", 0));
/// let key = SubjectKey::generate("user-42", 1)?;
/// let stored = at_rest::rewrap(&keys, &edge.seal(&at, ValueKind::Text, b"a@b.c")?, &key)?;
///
/// let req = Request::new("GET", "/users/42").with_header("x-email", &stored);
/// assert_eq!(at_rest_keys(&req)?, vec![("user-42".to_owned(), key.key_id())]);
/// let mut subject_keys = SubjectKeyring::new();
/// subject_keys.push(&key);
/// let revealed = reveal_at_rest(&keys, &subject_keys, &req, Expect::default())?;
/// assert_eq!(revealed.request.header("x-email"), Some("a@b.c"));
///
/// let mut erased = SubjectKeyring::new();
/// erased.push_erased(&key.key_id());
/// let err = reveal_at_rest(&keys, &erased, &req, Expect::default()).unwrap_err();
/// assert_eq!(err.error, OpenError::Erased);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn reveal_at_rest(
    keys: &PrivateKeyring,
    subject_keys: &SubjectKeyring<'_>,
    req: &Request,
    expect: Expect<'_>,
) -> Result<Revealed, RevealError> {
    let mut fields = Vec::new();
    let mut data_keys = envelope::DataKeys::default();
    let sealed = |text: &str| envelope::is_envelope(text) || at_rest::is_at_rest(text);
    let request = walk(req, &sealed, &mut |text, location| {
        let found = if at_rest::is_at_rest(text) {
            let opened = open_at_rest_at(subject_keys, text, &location)?;
            check_binding(opened.binding(), &location, expect)?;
            Found::AtRest(opened)
        } else {
            Found::Envelope(open_at(keys, text, &location, expect, &mut data_keys)?)
        };
        fields.push(RevealedField {
            binding: found.binding().clone(),
            kind: found.kind(),
        });
        Ok(Some(found))
    })?;
    Ok(Revealed { request, fields })
}

/// Opens a field at rest found at `location` with its key from `subject_keys`.
fn open_at_rest_at(
    subject_keys: &SubjectKeyring<'_>,
    text: &str,
    location: &Location,
) -> Result<at_rest::Opened, RevealError> {
    let fail = |error| RevealError {
        location: location.clone(),
        error,
    };
    let head = at_rest::header(text).map_err(|e| fail(open_error(e)))?;
    if subject_keys.erased.contains(&head.key_id) {
        return Err(fail(OpenError::Erased));
    }
    let key = subject_keys
        .keys
        .iter()
        .find(|k| k.key_id() == head.key_id && k.subject() == head.subject)
        .ok_or_else(|| fail(OpenError::NoKey))?;
    at_rest::open(key, text).map_err(|e| fail(open_error(e)))
}

/// An at-rest error as a request's open error.
fn open_error(e: AtRestError) -> OpenError {
    match e {
        AtRestError::UnsupportedVersion => OpenError::UnsupportedVersion,
        AtRestError::Tampered => OpenError::Tampered,
        AtRestError::Erased => OpenError::Erased,
        AtRestError::NoKey | AtRestError::WrongKey => OpenError::NoKey,
        AtRestError::Envelope(e) => e,
        _ => OpenError::Malformed,
    }
}

/// A sealed value of a request, opened: an edge envelope or a field at rest.
enum Found {
    Envelope(Opened),
    AtRest(at_rest::Opened),
}

impl Found {
    fn kind(&self) -> ValueKind {
        match self {
            Found::Envelope(o) => o.kind(),
            Found::AtRest(o) => o.kind(),
        }
    }
    fn plaintext(&self) -> &[u8] {
        match self {
            Found::Envelope(o) => o.plaintext(),
            Found::AtRest(o) => o.plaintext(),
        }
    }
    fn binding(&self) -> &Binding {
        match self {
            Found::Envelope(o) => o.binding(),
            Found::AtRest(o) => o.binding(),
        }
    }
}

/// What [`walk`] does with a sealed value: `Some` replaces it with the opened plaintext, `None`
/// leaves it.
type OpenFound<'f> = dyn FnMut(&str, Location) -> Result<Option<Found>, RevealError> + 'f;

/// Every value of `req` for which `sealed` holds, in request order (JSON body, form, query,
/// headers and cookies), handed to `open` with its location; returns the request with the
/// opened values written back, encoded for their place.
fn walk(
    req: &Request,
    sealed: &dyn Fn(&str) -> bool,
    open: &mut OpenFound<'_>,
) -> Result<Request, RevealError> {
    let mut out = req.clone();

    let content_type = req
        .header("content-type")
        .map(|c| select::parse_media_type(c).essence)
        .unwrap_or_default();
    let is_form = content_type == "application/x-www-form-urlencoded";
    let looks_json = req
        .body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'{' | b'[' | b'"'));
    if !is_form && looks_json {
        match reveal_json(&req.body, &[], sealed, open)? {
            JsonText::Revealed(body) => out.body = body,
            JsonText::Unchanged => {}
            JsonText::NotJson => {
                return Err(RevealError {
                    location: Location::Json(Vec::new()),
                    error: OpenError::Malformed,
                })
            }
        }
    } else if is_form {
        if let Ok(text) = std::str::from_utf8(&req.body) {
            if let Some(new) = reveal_params(text, Part::Form, sealed, open)? {
                out.body = new.into_bytes();
            }
        }
    }
    if let Some(q) = reveal_params(&req.query, Part::Query, sealed, open)? {
        out.query = q;
    }

    let mut nth: HashMap<String, usize> = HashMap::new();
    let mut cookie_nth: HashMap<String, usize> = HashMap::new();
    for (name, value) in out.headers.iter_mut() {
        let lower = name.to_ascii_lowercase();
        if lower == "cookie" {
            // Cookies as the edge reads them (docs/envelope.md §5.2): split on `;`, `,` and
            // white space, the name compared in ASCII lower case, every cookie of a name
            // counted, the value raw.
            let mut edits = Vec::new();
            for piece in select::cookie_pieces(value) {
                let (cn, cv) = (piece.name, piece.value);
                let lower_cn = cn.to_ascii_lowercase();
                let n = cookie_nth.entry(lower_cn.clone()).or_insert(0);
                let location = Location::field(Part::Cookie, lower_cn.as_str(), *n);
                *n += 1;
                if sealed(cv) {
                    let Some(opened) = open(cv, location)? else {
                        continue;
                    };
                    // Edited in place (docs/envelope.md 5.2): only the value changes.
                    edits.push((
                        piece.value_start,
                        piece.end,
                        String::from_utf8_lossy(opened.plaintext()).into_owned(),
                    ));
                }
            }
            if !edits.is_empty() {
                *value = select::edit_cookie_header(value, &edits);
            }
            continue;
        }
        let n = nth.entry(lower.clone()).or_insert(0);
        let location = Location::field(Part::Header, lower.as_str(), *n);
        *n += 1;
        if sealed(value) {
            if let Some(opened) = open(value, location)? {
                *value = String::from_utf8_lossy(opened.plaintext()).into_owned();
            }
        }
    }
    if out.body != req.body {
        let len = out.body.len().to_string();
        for (name, value) in out.headers.iter_mut() {
            if name.eq_ignore_ascii_case("content-length") {
                *value = len.clone();
            }
        }
    }
    Ok(out)
}

/// What [`reveal_json`] made of a JSON text.
enum JsonText {
    /// Not JSON: the caller decides whether that is an error.
    NotJson,
    /// JSON without an envelope (or none that opened).
    Unchanged,
    /// The text with its envelopes opened.
    Revealed(Vec<u8>),
}

/// The envelopes found inside the JSON text `text`, opened at `prefix` followed by their path
/// in it, and written back.
fn reveal_json(
    text: &[u8],
    prefix: &[PathElement],
    sealed: &dyn Fn(&str) -> bool,
    open: &mut OpenFound<'_>,
) -> Result<JsonText, RevealError> {
    let Ok(found) = json::find_strings(text, MAX_DEPTH, sealed) else {
        return Ok(JsonText::NotJson);
    };
    if found.is_empty() {
        return Ok(JsonText::Unchanged);
    }
    let at = |path: &[PathElement]| {
        let mut full = prefix.to_vec();
        full.extend_from_slice(path);
        Location::Json(full)
    };
    let paths: Vec<_> = found.iter().map(|(p, _)| p.clone()).collect();
    let rewritten = json::rewrite(text, &paths, MAX_DEPTH, |i, _raw| {
        let (path, text) = &found[i];
        let Some(opened) = open(text, at(path))? else {
            return Ok(Edit::Keep);
        };
        Ok(Edit::Replace(match opened.kind() {
            ValueKind::Text => {
                json::quote(&String::from_utf8_lossy(opened.plaintext())).into_bytes()
            }
            _ => opened.plaintext().to_vec(),
        }))
    });
    match rewritten {
        Ok(bytes) if bytes == text => Ok(JsonText::Unchanged),
        Ok(bytes) => Ok(JsonText::Revealed(bytes)),
        Err(RewriteError::Edit(e)) => Err(e),
        Err(_) => Ok(JsonText::NotJson),
    }
}

fn reveal_params(
    raw: &str,
    part: Part,
    sealed: &dyn Fn(&str) -> bool,
    open: &mut OpenFound<'_>,
) -> Result<Option<String>, RevealError> {
    if raw.is_empty() {
        return Ok(None);
    }
    let params = crate::params::pairs(raw, part);
    let mut pieces = Vec::with_capacity(params.len());
    let mut changed = false;
    for p in &params {
        let value = String::from_utf8_lossy(&p.value);
        // JSON text in a parameter (a policy's `shape.jsonParams`, docs/envelope.md §3.1): its
        // envelopes are located as in the body `{"<name>": <text>}`.
        let json_text = match value.trim_start().starts_with(['{', '[']) {
            true => reveal_json(&p.value, &[PathElement::Name(p.name.clone())], sealed, open)?,
            false => JsonText::NotJson,
        };
        if let JsonText::Revealed(text) = json_text {
            pieces.push(format!("{}={}", p.raw_name, select::percent_encode(&text)));
            changed = true;
        } else if sealed(&value) {
            let Some(opened) = open(&value, p.location())? else {
                pieces.push(p.raw.to_string());
                continue;
            };
            pieces.push(format!(
                "{}={}",
                p.raw_name,
                select::percent_encode(opened.plaintext())
            ));
            changed = true;
        } else {
            pieces.push(p.raw.to_string());
        }
    }
    Ok(changed.then(|| pieces.join("&")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::TestSealer;
    use crate::keys::PrivateKey;

    /// GraphQL over GET: the edge sealed `variables.input.email` inside the query parameter's
    /// JSON text (a policy's `shape.jsonParams`); reveal opens it at the JSON location the spec
    /// gives (docs/envelope.md §3.1) and writes the parameter back.
    #[test]
    fn envelopes_inside_a_json_parameter_open_at_their_json_location() {
        use crate::{Engine, Outcome, Policy, TokenKeys};
        let mut private = PrivateKeyring::new();
        private.push(PrivateKey::generate("eu-central", "eu-central-1", 1).expect("key"));
        let policy = Policy::from_json(
            r#"{"apiVersion": "pii-edge/v1", "name": "graphql", "zone": "eu-central",
              "match": {"paths": ["/graphql"]}, "shape": {"jsonParams": ["variables"]},
              "rules": [{"select": {"json": "$.variables.input.email"}, "action": "encrypt"}]}"#,
        )
        .expect("policy");
        let engine =
            Engine::new(vec![policy], private.public(), TokenKeys::default()).expect("engine");
        let query = "query=q&variables=%7B%22input%22%3A%7B%22email%22%3A%22erika%40example.de%22%2C%22n%22%3A1%7D%7D";
        let req = Request::new("GET", "/graphql").with_query(query);
        let Outcome::Protected(p) = engine.apply(&req) else {
            panic!("not protected")
        };
        assert!(!p.request.query.contains("erika"), "{}", p.request.query);
        let opened = reveal(&private, &p.request, Expect::default()).expect("reveal");
        assert_eq!(opened.fields.len(), 1);
        assert_eq!(
            opened.fields[0].binding.location.to_string(),
            "json:$['variables']['input']['email']"
        );
        let variables = crate::params::pairs(&opened.request.query, Part::Query)
            .into_iter()
            .find(|p| p.name == "variables")
            .expect("variables");
        let value: serde_json::Value = serde_json::from_slice(&variables.value).expect("JSON");
        assert_eq!(value["input"]["email"], "erika@example.de");
        assert_eq!(value["input"]["n"], 1);
        // JSON text without envelopes, and text that only starts like JSON, pass unchanged.
        let plain = Request::new("GET", "/x").with_query("a=%7B%22b%22%3A1%7D&c=%7Bnot+json");
        let same = reveal(&private, &plain, Expect::default()).expect("reveal");
        assert_eq!(same.request.query, plain.query);
    }

    #[test]
    fn fields_at_rest_open_in_every_place_beside_envelopes() {
        let mut keys = PrivateKeyring::new();
        keys.push(PrivateKey::generate("eu-central", "eu-central-1", 1).expect("key"));
        let mut edge = TestSealer::new(
            &keys.public().recipients("eu-central").expect("r"),
            "eu-central",
        )
        .expect("sealer");
        let key = SubjectKey::generate("user-1", 1).expect("key");
        let seal = |edge: &mut TestSealer, at: Location, kind, v: &[u8]| {
            edge.seal(&Binding::new("p", "eu-central", at), kind, v)
                .expect("seal")
        };
        let json_at = Location::json(vec![crate::location::PathElement::Name("email".into())]);
        let body_env = seal(&mut edge, json_at.clone(), ValueKind::String, br#""a@b.c""#);
        let body_field = at_rest::rewrap(&keys, &body_env, &key).expect("rewrap");
        let query_env = seal(
            &mut edge,
            Location::field(Part::Query, "q", 0),
            ValueKind::Text,
            b"x y",
        );
        let query_field = at_rest::rewrap(&keys, &query_env, &key).expect("rewrap");
        let cookie_env = seal(
            &mut edge,
            Location::field(Part::Cookie, "sid", 0),
            ValueKind::Text,
            b"s-1",
        );
        let header_env = seal(
            &mut edge,
            Location::field(Part::Header, "x-id", 0),
            ValueKind::Text,
            b"id-7",
        );
        let cookie_field = at_rest::rewrap(&keys, &cookie_env, &key).expect("rewrap");
        let req = Request::new("POST", "/x")
            .with_query(format!("q={query_field}"))
            .with_header("content-type", "application/json")
            .with_header("cookie", format!("sid={cookie_field}"))
            .with_header("x-id", &header_env)
            .with_body(format!(r#"{{"email":"{body_field}"}}"#).into_bytes());

        assert_eq!(
            at_rest_keys(&req).expect("keys"),
            vec![("user-1".to_owned(), key.key_id())],
            "one key, named once"
        );
        let mut ring = SubjectKeyring::new();
        ring.push(&key);
        let out = reveal_at_rest(&keys, &ring, &req, Expect::default()).expect("reveal");
        assert_eq!(out.request.body, br#"{"email":"a@b.c"}"#);
        assert_eq!(out.request.query, "q=x%20y");
        assert_eq!(out.request.header("cookie"), Some("sid=s-1"));
        assert_eq!(out.request.header("x-id"), Some("id-7"));
        assert_eq!(out.opened(), 4);
        // reveal alone leaves the fields at rest as they are and opens the envelope.
        let plain = reveal(&keys, &req, Expect::default()).expect("reveal");
        assert_eq!(plain.opened(), 1);
        assert_eq!(plain.request.body, req.body);

        let mut erased = SubjectKeyring::new();
        erased.push_erased(&key.key_id());
        let e = reveal_at_rest(&keys, &erased, &req, Expect::default()).unwrap_err();
        assert_eq!((e.error, e.location), (OpenError::Erased, json_at.clone()));
        let e = reveal_at_rest(&keys, &SubjectKeyring::new(), &req, Expect::default()).unwrap_err();
        assert_eq!(e.error, OpenError::NoKey);
        // A wrong policy is refused as for an envelope.
        let expect = Expect {
            policy: Some("other"),
            zone: None,
        };
        let e = reveal_at_rest(&keys, &ring, &req, expect).unwrap_err();
        assert_eq!(e.error, OpenError::WrongPolicy);
        // A malformed field at rest fails at_rest_keys, saying where.
        let bad = Request::new("GET", "/").with_header("x-id", "pr1.AAAA");
        let e = at_rest_keys(&bad).unwrap_err();
        assert_eq!(e.error, OpenError::Malformed);
        assert_eq!(e.location, Location::field(Part::Header, "x-id", 0));
    }
}
