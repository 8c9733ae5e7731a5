//! The origin side: open every envelope in a protected request with the region's private keys.

use std::collections::HashMap;

use crate::envelope::{self, Binding, OpenError, ValueKind};
use crate::json::{self, Edit, RewriteError};
use crate::keys::PrivateKeyring;
use crate::request::Request;
use crate::select;

/// Deepest JSON nesting [`reveal`] reads.
const MAX_DEPTH: usize = crate::policy::MAX_MAX_DEPTH as usize;

/// A request with its envelopes opened.
#[derive(Debug)]
pub struct Revealed {
    /// The request as it was before the edge protected it (values that were masked, hashed,
    /// tokenized or removed stay that way: only encryption is reversible).
    pub request: Request,
    /// How many envelopes were opened.
    pub opened: usize,
}

/// Open every envelope (`pe1.` value) in a protected request: JSON body values, form fields,
/// query parameters, headers and cookies. Each is checked against where it was found, the
/// policy name and the zone, so a value moved elsewhere does not open.
///
/// Fails on the first envelope that does not open; the error says nothing about its contents.
///
/// ```
/// use pii_core::{reveal, Engine, Outcome, Policy, PrivateKey, PrivateKeyring, Request, TokenKeys};
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
/// let opened = reveal(&private, "signup", "eu-central", &p.request)?;
/// assert_eq!(opened.request.body, req.body);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn reveal(
    keys: &PrivateKeyring,
    policy: &str,
    zone: &str,
    req: &Request,
) -> Result<Revealed, OpenError> {
    let mut out = req.clone();
    let mut opened = 0;
    let open = |text: &str, location: &str| {
        envelope::open(
            keys,
            text,
            &Binding {
                policy,
                location,
                zone,
            },
        )
    };

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
        let found = json::find_strings(&req.body, MAX_DEPTH, envelope::is_envelope)
            .map_err(|_| OpenError::Malformed)?;
        if !found.is_empty() {
            let paths: Vec<_> = found.iter().map(|(p, _)| p.clone()).collect();
            let body = json::rewrite(&req.body, &paths, MAX_DEPTH, |i, _raw| {
                let (path, text) = &found[i];
                let location = format!("json:{}", json::normalized(path));
                let (kind, plain) = open(text, &location)?;
                opened += 1;
                Ok(Edit::Replace(match kind {
                    ValueKind::Text => json::quote(&String::from_utf8_lossy(&plain)).into_bytes(),
                    _ => plain,
                }))
            })
            .map_err(|e| match e {
                RewriteError::Edit(e) => e,
                _ => OpenError::Malformed,
            })?;
            out.body = body;
        }
    } else if is_form {
        if let Ok(text) = std::str::from_utf8(&req.body) {
            if let Some(new) = reveal_params(text, "form", &open, &mut opened)? {
                out.body = new.into_bytes();
            }
        }
    }
    if let Some(q) = reveal_params(&req.query, "query", &open, &mut opened)? {
        out.query = q;
    }

    let mut nth: HashMap<String, usize> = HashMap::new();
    let mut cookie_nth: HashMap<String, usize> = HashMap::new();
    for (name, value) in out.headers.iter_mut() {
        let lower = name.to_ascii_lowercase();
        if lower == "cookie" {
            // Cookies split as the edge splits them (`;`, `,`, white space).
            let mut edits = Vec::new();
            for piece in select::cookie_pieces(value) {
                let (cn, cv) = (piece.name, piece.value);
                let decoded = select::percent_decode(cv.as_bytes(), false);
                let decoded = String::from_utf8_lossy(&decoded);
                if envelope::is_envelope(&decoded) {
                    let lower_cn = cn.to_ascii_lowercase();
                    let n = cookie_nth.entry(lower_cn.clone()).or_insert(0);
                    let location = format!("cookie:{lower_cn}#{n}");
                    *n += 1;
                    let (_, plain) = open(&decoded, &location)?;
                    opened += 1;
                    edits.push((
                        piece.value_start,
                        piece.end,
                        String::from_utf8_lossy(&plain).into_owned(),
                    ));
                }
            }
            if !edits.is_empty() {
                *value = select::edit_cookie_header(value, &edits);
            }
            continue;
        }
        let n = nth.entry(lower.clone()).or_insert(0);
        let location = format!("header:{lower}#{n}");
        *n += 1;
        if envelope::is_envelope(value) {
            let (_, plain) = open(value, &location)?;
            opened += 1;
            *value = String::from_utf8_lossy(&plain).into_owned();
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
    Ok(Revealed {
        request: out,
        opened,
    })
}

fn reveal_params(
    raw: &str,
    part: &str,
    open: &impl Fn(&str, &str) -> Result<(ValueKind, Vec<u8>), OpenError>,
    opened: &mut usize,
) -> Result<Option<String>, OpenError> {
    if raw.is_empty() {
        return Ok(None);
    }
    let params = select::parse_params(raw);
    let mut nth: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut pieces = Vec::with_capacity(params.len());
    let mut changed = false;
    for p in &params {
        let lower = p.name.to_ascii_lowercase();
        let n = nth.entry(lower.clone()).or_insert(0);
        let location = format!("{part}:{}#{n}", String::from_utf8_lossy(&lower));
        *n += 1;
        let value = String::from_utf8_lossy(&p.value);
        if envelope::is_envelope(&value) {
            let (_, plain) = open(&value, &location)?;
            *opened += 1;
            let raw_name = p.raw.split_once('=').map_or(p.raw, |(n, _)| n);
            pieces.push(format!("{raw_name}={}", select::percent_encode(&plain)));
            changed = true;
        } else {
            pieces.push(p.raw.to_string());
        }
    }
    Ok(changed.then(|| pieces.join("&")))
}
