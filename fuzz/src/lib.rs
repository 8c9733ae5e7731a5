//! Shared pieces of the fuzz targets: the fixed policy, the engine and edge built from it, two
//! ways to turn fuzz input into a request (a structured, `arbitrary`-driven generator that plants
//! marker plaintext at selected places, and a plain HTTP/1.1 text form that libFuzzer mutates
//! byte by byte), and the **oracle** that checks what would reach the origin.
//!
//! The oracle needs no knowledge of the input: it looks at the forwarded request the way an
//! origin would read it and checks that every place the policy selects holds a protected form
//! (an envelope, a token, a hash, a mask, or nothing at all), that a forwarded body is of a type
//! the policy inspects, valid JSON when declared JSON, not encoded and not truncated. With the
//! structured generator it additionally checks that no marker (`~PII~`) survives anywhere.
#![allow(missing_docs)]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use pii_core::{keys::PrivateKey, Engine, Policy, PrivateKeyring, Request, TokenKeys};
use serde_json::Value;

/// The zone the fuzz policy seals to.
pub const ZONE: &str = "eu-central";

/// Marker planted in every selected value by the structured generator. `~` is in none of the
/// alphabets of protected forms (base64url, hex, `*`), and free text never contains it.
pub const MARK: &str = "~PII~";

/// The fixed policy: every selector kind and every action, matching every request.
pub const POLICY: &str = r#"{
  "apiVersion": "pii-edge/v1", "name": "fuzz", "zone": "eu-central", "match": {},
  "rules": [
    {"select": {"json": "$..email"}, "action": "encrypt"},
    {"select": {"json": "$.user.ssn"}, "action": "tokenize", "domain": "email"},
    {"select": {"json": "$..phone"}, "action": "hash"},
    {"select": {"json": "$..card"}, "action": "mask"},
    {"select": {"json": "$..password"}, "action": "redact"},
    {"select": {"json": "$.items[*].iban"}, "action": "encrypt"},
    {"select": {"form": "email"}, "action": "encrypt"},
    {"select": {"form": "card"}, "action": "mask"},
    {"select": {"query": "email"}, "action": "encrypt"},
    {"select": {"query": "token"}, "action": "hash"},
    {"select": {"header": "x-national-id"}, "action": "encrypt"},
    {"select": {"cookie": "session_email"}, "action": "redact"}
  ]
}"#;

/// JSON names `$..name` selects anywhere (case-sensitive, as JSONPath is).
pub const JSON_ANYWHERE: &[&str] = &["email", "phone", "card", "password"];

pub struct Fixture {
    pub engine: Engine,
    /// The same policy plus a rule that never selects anything but is outside the one-pass
    /// JSONPath subset: the engine evaluates it on a document tree. Both must answer alike.
    pub tree: Engine,
    pub private: PrivateKeyring,
    /// The bundle document for `edge_fn` (public keys and token keys only).
    pub bundle: String,
}

/// The engine, keys and bundle, built once per process.
pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut private = PrivateKeyring::new();
        private.push(PrivateKey::generate(ZONE, "eu-central-1", 1).expect("keygen"));
        private.push(PrivateKey::generate(ZONE, "eu-central-2", 1).expect("keygen"));
        let token = TokenKeys::generate("email").expect("token key").to_jwk();
        let tokens_jwks = format!("{{\"keys\":[{token}]}}");
        let tokens = TokenKeys::from_jwks(&tokens_jwks).expect("token jwks");
        let policy = Policy::from_json(POLICY).expect("fuzz policy");
        let engine = Engine::new(vec![policy], private.public(), tokens).expect("engine");
        let tree_policy = POLICY.replacen(
            "\"rules\": [",
            "\"rules\": [\n    {\"select\": {\"json\": \"$[?@ && !@]\"}, \"action\": \"redact\"},",
            1,
        );
        let tree_policy = Policy::from_json(&tree_policy).expect("tree policy");
        let tokens = TokenKeys::from_jwks(&tokens_jwks).expect("token jwks");
        let tree = Engine::new(vec![tree_policy], private.public(), tokens).expect("engine");
        let bundle = format!(
            "{{\"policies\":[{POLICY}],\"keys\":{},\"tokens\":{tokens_jwks}}}",
            private.public().to_jwks()
        );
        Fixture {
            engine,
            tree,
            private,
            bundle,
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/// `%XX` decoding (and `+` as space), invalid escapes kept: how origins read query strings and
/// forms.
pub fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'%' && i + 2 < input.len() {
            let h = (input[i + 1] as char).to_digit(16);
            let l = (input[i + 2] as char).to_digit(16);
            if let (Some(h), Some(l)) = (h, l) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(if b == b'+' { b' ' } else { b });
        i += 1;
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Free text may not carry the marker, not even percent-encoded.
pub fn free_text(s: &str) -> String {
    let mut t = s.replace('~', "-");
    if contains(&percent_decode(t.as_bytes()), b"~") {
        t = t.replace('%', "!");
    }
    t
}

fn free_bytes(b: &[u8]) -> Vec<u8> {
    b.iter()
        .map(|&c| if c == b'~' { b'-' } else { c })
        .collect()
}

/// A deterministic style source (whitespace, escapes) from a fuzz-chosen seed.
struct Style(u64);

impl Style {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Structured generator
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Arbitrary)]
pub enum Method {
    Get,
    Post,
    Put,
    Lower,
    Other(String),
}

#[derive(Debug, Arbitrary)]
pub enum Name {
    /// A spelling of a selected name (index into the part's table).
    Selected(u8),
    Free(String),
}

#[derive(Debug, Arbitrary)]
pub struct Param {
    pub name: Name,
    pub value: String,
    /// Percent-encode the value (otherwise written raw, minus `&`).
    pub encode: bool,
    /// Write `name` without `=value`.
    pub bare: bool,
}

#[derive(Debug, Arbitrary)]
pub struct HeaderSpec {
    pub name: Name,
    pub value: String,
}

#[derive(Debug, Arbitrary)]
pub struct Cookie {
    pub name: Name,
    pub value: String,
    /// Spaces around the name (`" session_email =v"`), as some clients send.
    pub padded: bool,
}

#[derive(Debug, Arbitrary)]
pub enum ContentType {
    Json,
    JsonUtf8,
    JsonOddCase,
    VendorJson,
    Form,
    FormCharset,
    TextPlain,
    JsonUtf16,
    Missing,
    Twice,
    Free(String),
}

#[derive(Debug, Arbitrary)]
pub enum Encoding {
    Identity,
    Gzip,
    Br,
    Empty,
    IdentityGzip,
    Free(String),
}

#[derive(Debug, Arbitrary)]
pub enum Key {
    /// A name `$..name` selects (`email`, `phone`, `card`, `password`).
    Anywhere(u8),
    /// `user`, `ssn`, `items`, `iban`: selected only at their paths.
    Path(u8),
    /// A selected name with a different case (`Email`): not selected in JSON.
    OtherCase(u8),
    Free(String),
}

#[derive(Debug, Arbitrary)]
pub enum J {
    Null,
    Bool(bool),
    Int(i64),
    /// 20 digits and more: must pass through byte-exact.
    Big(u64, u8),
    /// A number written from parts (may be out of range: `1e400`).
    Num {
        neg: bool,
        int: u32,
        frac: Option<u32>,
        exp: Option<i16>,
    },
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(Key, J)>),
    /// `n` nested arrays around a value.
    Deep(u16, Box<J>),
    /// Raw bytes spliced into the document (usually makes it invalid).
    Raw(String),
}

#[derive(Debug, Arbitrary)]
pub enum BodySpec {
    None,
    Json { doc: J, bom: bool },
    Form(Vec<Param>),
    Raw(Vec<u8>),
}

#[derive(Debug, Arbitrary)]
pub struct FuzzRequest {
    pub method: Method,
    pub path: String,
    pub query: Vec<Param>,
    pub headers: Vec<HeaderSpec>,
    pub cookies: Vec<Cookie>,
    pub content_type: ContentType,
    pub encoding: Option<Encoding>,
    pub body: BodySpec,
    /// Cut the rendered body to this many bytes.
    pub cut: Option<u16>,
    pub truncated: bool,
    pub style: u64,
}

const QUERY_NAMES: &[&str] = &[
    "email",
    "EMAIL",
    "Email",
    "%65mail",
    "e%6Dail",
    "%45%4D%41%49%4C",
    "token",
    "TOKEN",
    "t%6Fken",
];
const FORM_NAMES: &[&str] = &[
    "email", "EMAIL", "%65mail", "e%6dail", "card", "CARD", "c%61rd",
];
const HEADER_NAMES: &[&str] = &["x-national-id", "X-National-ID", "X-NATIONAL-ID"];
const COOKIE_NAMES: &[&str] = &["session_email", "SESSION_EMAIL", "Session_Email"];
const PATH_KEYS: &[&str] = &["user", "ssn", "items", "iban"];

fn pick<'a>(table: &[&'a str], i: u8) -> &'a str {
    table[usize::from(i) % table.len()]
}

/// A marker with a number, so each planted value is distinct.
fn mark(n: &mut usize, rest: &str) -> String {
    *n += 1;
    format!("{MARK}{n}{}", free_text(rest))
}

fn encode_all(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

fn render_params(params: &[Param], table: &[&str], n: &mut usize, sep: &str) -> String {
    let mut pieces = Vec::new();
    for p in params {
        let (name, value) = match &p.name {
            Name::Selected(i) => (pick(table, *i).to_owned(), mark(n, &p.value)),
            Name::Free(s) => (free_text(s).replace(['&', '='], "_"), free_text(&p.value)),
        };
        let value = if p.encode {
            encode_all(&value)
        } else {
            value.replace(['&', '#'], "_")
        };
        if p.bare && !matches!(p.name, Name::Selected(_)) {
            pieces.push(name);
        } else {
            pieces.push(format!("{name}={value}"));
        }
    }
    pieces.join(sep)
}

fn render_string(s: &str, style: &mut Style, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        let escape = style.pick(8) == 0;
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if escape => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn ws(style: &mut Style, out: &mut String) {
    match style.pick(6) {
        0 => out.push(' '),
        1 => out.push_str("\n  "),
        2 => out.push('\t'),
        _ => {}
    }
}

/// Whether the JSON path (decoded names, `None` for an index) is selected by the policy.
fn selected(path: &[Option<String>]) -> bool {
    let name = |i: usize| path.get(i).and_then(|s| s.as_deref());
    let last = path.last().and_then(|s| s.as_deref());
    last.is_some_and(|n| JSON_ANYWHERE.contains(&n))
        || (path.len() == 2 && name(0) == Some("user") && name(1) == Some("ssn"))
        || (path.len() == 3
            && name(0) == Some("items")
            && path[1].is_none()
            && name(2) == Some("iban"))
}

struct JsonRender<'a> {
    style: Style,
    n: &'a mut usize,
    budget: usize,
}

impl JsonRender<'_> {
    fn value(&mut self, j: &J, path: &mut Vec<Option<String>>, inside: bool, out: &mut String) {
        if self.budget == 0 {
            out.push_str("null");
            return;
        }
        self.budget -= 1;
        let inside = inside || selected(path);
        match j {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Int(i) => out.push_str(&i.to_string()),
            J::Big(v, extra) => {
                out.push_str(&format!("{}{v:020}", u64::from(*extra % 9 + 1)));
            }
            J::Num {
                neg,
                int,
                frac,
                exp,
            } => {
                if *neg {
                    out.push('-');
                }
                out.push_str(&int.to_string());
                if let Some(f) = frac {
                    out.push_str(&format!(".{f}"));
                }
                if let Some(e) = exp {
                    out.push_str(&format!("e{e}"));
                }
            }
            J::Str(s) => {
                let text = if inside {
                    mark(self.n, s)
                } else {
                    free_text(s)
                };
                render_string(&text, &mut self.style, out);
            }
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    ws(&mut self.style, out);
                    path.push(None);
                    self.value(item, path, inside, out);
                    path.pop();
                }
                out.push(']');
            }
            J::Obj(members) => {
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    ws(&mut self.style, out);
                    let name = match key {
                        Key::Anywhere(k) => pick(JSON_ANYWHERE, *k).to_owned(),
                        Key::Path(k) => pick(PATH_KEYS, *k).to_owned(),
                        Key::OtherCase(k) => {
                            let n = pick(JSON_ANYWHERE, *k);
                            let mut c = n.chars();
                            c.next()
                                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                                .unwrap_or_default()
                        }
                        Key::Free(s) => free_text(s),
                    };
                    render_string(&name, &mut self.style, out);
                    ws(&mut self.style, out);
                    out.push(':');
                    ws(&mut self.style, out);
                    path.push(Some(name));
                    self.value(value, path, inside, out);
                    path.pop();
                }
                out.push('}');
            }
            J::Deep(n, inner) => {
                let n = usize::from(*n);
                out.push_str(&"[".repeat(n));
                for _ in 0..n {
                    path.push(None);
                }
                self.value(inner, path, inside, out);
                for _ in 0..n {
                    path.pop();
                }
                out.push_str(&"]".repeat(n));
            }
            J::Raw(s) => out.push_str(&free_text(s)),
        }
    }
}

impl FuzzRequest {
    /// The request, with every selected value carrying a marker.
    pub fn to_request(&self) -> Request {
        let mut n = 0usize;
        let mut style = Style(self.style | 1);
        let method = match &self.method {
            Method::Get => "GET".to_owned(),
            Method::Post => "POST".to_owned(),
            Method::Put => "PUT".to_owned(),
            Method::Lower => "post".to_owned(),
            Method::Other(s) => free_text(s),
        };
        let path = format!("/{}", free_text(&self.path));
        let query = render_params(&self.query, QUERY_NAMES, &mut n, "&");
        let mut req = Request::new(method, path).with_query(query);
        for h in &self.headers {
            let (name, value) = match &h.name {
                Name::Selected(i) => (pick(HEADER_NAMES, *i).to_owned(), mark(&mut n, &h.value)),
                Name::Free(s) => (free_text(s), free_text(&h.value)),
            };
            req = req.with_header(name, value);
        }
        if !self.cookies.is_empty() {
            let pieces: Vec<String> = self
                .cookies
                .iter()
                .map(|c| {
                    let (name, value) = match &c.name {
                        Name::Selected(i) => {
                            (pick(COOKIE_NAMES, *i).to_owned(), mark(&mut n, &c.value))
                        }
                        Name::Free(s) => (free_text(s), free_text(&c.value)),
                    };
                    let value = value.replace(';', "_");
                    let name = name.replace([';', '='], "_");
                    if c.padded {
                        format!(" {name} = {value}")
                    } else {
                        format!("{name}={value}")
                    }
                })
                .collect();
            req = req.with_header("Cookie", pieces.join("; "));
        }
        let ct = match &self.content_type {
            ContentType::Json => vec!["application/json".to_owned()],
            ContentType::JsonUtf8 => vec!["application/json; charset=utf-8".to_owned()],
            ContentType::JsonOddCase => vec!["APPLICATION/Json ;Charset=\"UTF-8\"".to_owned()],
            ContentType::VendorJson => vec!["application/vnd.api+json".to_owned()],
            ContentType::Form => vec!["application/x-www-form-urlencoded".to_owned()],
            ContentType::FormCharset => {
                vec!["application/x-www-form-urlencoded; charset=UTF-8".to_owned()]
            }
            ContentType::TextPlain => vec!["text/plain".to_owned()],
            ContentType::JsonUtf16 => vec!["application/json; charset=utf-16".to_owned()],
            ContentType::Missing => vec![],
            ContentType::Twice => vec![
                "application/json".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ],
            ContentType::Free(s) => vec![free_text(s)],
        };
        for c in ct {
            req = req.with_header("Content-Type", c);
        }
        if let Some(e) = &self.encoding {
            let v = match e {
                Encoding::Identity => "identity".to_owned(),
                Encoding::Gzip => "gzip".to_owned(),
                Encoding::Br => "br".to_owned(),
                Encoding::Empty => String::new(),
                Encoding::IdentityGzip => "identity, gzip".to_owned(),
                Encoding::Free(s) => free_text(s),
            };
            req = req.with_header("Content-Encoding", v);
        }
        let mut body = match &self.body {
            BodySpec::None => Vec::new(),
            BodySpec::Json { doc, bom } => {
                let mut out = String::new();
                if *bom {
                    out.push('\u{feff}');
                }
                JsonRender {
                    style: Style(style.next() | 1),
                    n: &mut n,
                    budget: 20_000,
                }
                .value(doc, &mut Vec::new(), false, &mut out);
                out.into_bytes()
            }
            BodySpec::Form(params) => render_params(params, FORM_NAMES, &mut n, "&").into_bytes(),
            BodySpec::Raw(bytes) => free_bytes(bytes),
        };
        if let Some(cut) = self.cut {
            body.truncate(usize::from(cut));
        }
        req.with_body(body).with_body_truncated(self.truncated)
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 text form
// ---------------------------------------------------------------------------------------------

/// Reads `METHOD target [version]`, header lines, an empty line and the body. A header
/// `X-Fuzz-Truncated` (any value) marks the body as cut by the transport and is dropped.
/// Tolerant: `\n` or `\r\n`, anything missing is empty.
pub fn parse_http(data: &[u8]) -> Request {
    let text_end = find(data, b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| find(data, b"\n\n").map(|i| (i, i + 2)))
        .unwrap_or((data.len(), data.len()));
    let head = String::from_utf8_lossy(&data[..text_end.0]);
    let body = data[text_end.1..].to_vec();
    let mut lines = head.split('\n').map(|l| l.trim_end_matches('\r'));
    let first = lines.next().unwrap_or("");
    let mut parts = first.splitn(3, ' ');
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut req = Request::new(method, path).with_query(query);
    for line in lines {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        if name.eq_ignore_ascii_case("x-fuzz-truncated") {
            req.body_truncated = true;
            continue;
        }
        req = req.with_header(name, value.trim_start());
    }
    req.with_body(body)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

// ---------------------------------------------------------------------------------------------
// Oracle
// ---------------------------------------------------------------------------------------------

/// What an origin would receive: the request after the edge, read leniently.
pub struct Forwarded<'a> {
    pub query: &'a str,
    /// `(name, value)`; for CloudFront events both the map name and `key` are given as names.
    pub headers: Vec<(Vec<&'a str>, &'a str)>,
    pub body: &'a [u8],
    pub body_truncated: bool,
}

impl<'a> Forwarded<'a> {
    pub fn of(req: &'a Request) -> Self {
        Forwarded {
            query: &req.query,
            headers: req
                .headers
                .iter()
                .map(|(n, v)| (vec![n.as_str()], v.as_str()))
                .collect(),
            body: &req.body,
            body_truncated: req.body_truncated,
        }
    }

    fn header_values(&self, name: &str) -> Vec<&'a str> {
        self.headers
            .iter()
            .filter(|(names, _)| names.iter().any(|n| n.eq_ignore_ascii_case(name)))
            .map(|(_, v)| *v)
            .collect()
    }
}

fn is_sealed(v: &[u8]) -> bool {
    std::str::from_utf8(v).is_ok_and(pii_core::envelope::is_envelope) && v.starts_with(b"pe2.")
}

fn is_hash(v: &[u8]) -> bool {
    v.strip_prefix(b"sha256:")
        .is_some_and(|h| h.len() == 64 && h.iter().all(u8::is_ascii_hexdigit))
}

fn is_masked(v: &[u8]) -> bool {
    v.iter().all(|&b| b == b'*')
}

/// Query or form parameters as an origin splits them: on `&`, name and value
/// percent-decoded, names compared case-insensitively.
fn params(raw: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    raw.split(|&b| b == b'&')
        .map(|piece| {
            let (n, v) = match piece.iter().position(|&b| b == b'=') {
                Some(i) => (&piece[..i], &piece[i + 1..]),
                None => (piece, &b""[..]),
            };
            (percent_decode(n), percent_decode(v))
        })
        .collect()
}

/// A selected name and the test its protected form passes.
type TextRule<'a> = (&'a str, fn(&[u8]) -> bool);
/// A JSONPath and the test its protected form passes.
type JsonRule<'a> = (&'a str, fn(&Value) -> bool);

fn check_params(raw: &[u8], rules: &[TextRule<'_>], what: &str) {
    for (name, value) in params(raw) {
        for (selected, ok) in rules {
            if name.eq_ignore_ascii_case(selected.as_bytes()) {
                assert!(
                    ok(&value),
                    "{what} parameter {selected} forwarded unprotected: {:?}",
                    String::from_utf8_lossy(&value)
                );
            }
        }
    }
}

fn check_json(doc: &Value) {
    let rules: &[JsonRule<'_>] = &[
        ("$..email", |v| {
            v.as_str().is_some_and(|s| is_sealed(s.as_bytes()))
        }),
        ("$.user.ssn", |v| {
            v.as_str().is_some_and(|s| s.starts_with("tk1.email."))
        }),
        ("$..phone", |v| {
            v.as_str().is_some_and(|s| is_hash(s.as_bytes()))
        }),
        ("$..card", |v| {
            v.as_str().is_some_and(|s| is_masked(s.as_bytes()))
        }),
        ("$..password", |_| false),
        ("$.items[*].iban", |v| {
            v.as_str().is_some_and(|s| is_sealed(s.as_bytes()))
        }),
    ];
    for (path, ok) in rules {
        let found = pii_core::select_json(path, doc).expect("selector");
        for (location, value) in found {
            assert!(
                ok(&value),
                "{path} at {location} forwarded unprotected: {value}"
            );
        }
    }
}

/// Checks a request that the edge forwards under the fuzz policy (which matches every
/// request). Panics (a libFuzzer crash) on any violation.
pub fn check_forwarded(f: &Forwarded<'_>) {
    check_params(
        f.query.as_bytes(),
        &[("email", is_sealed), ("token", is_hash)],
        "query",
    );
    for v in f.header_values("x-national-id") {
        assert!(
            is_sealed(v.as_bytes()),
            "header x-national-id forwarded: {v:?}"
        );
    }
    for cookie in f.header_values("cookie") {
        for piece in cookie.split(';') {
            let name = piece.split_once('=').map_or(piece, |(n, _)| n);
            assert!(
                !name.trim().eq_ignore_ascii_case("session_email"),
                "cookie session_email forwarded: {cookie:?}"
            );
        }
    }
    if f.body.is_empty() {
        return;
    }
    assert!(!f.body_truncated, "a truncated body was forwarded");
    for e in f.header_values("content-encoding") {
        let e = e.trim();
        assert!(
            e.is_empty() || e.eq_ignore_ascii_case("identity"),
            "a body with Content-Encoding {e:?} was forwarded"
        );
    }
    let types = f.header_values("content-type");
    assert_eq!(
        types.len(),
        1,
        "a body with {} Content-Types was forwarded",
        types.len()
    );
    let mut parts = types[0].split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        let doc: Value = serde_json::from_slice(f.body)
            .unwrap_or_else(|e| panic!("a forwarded JSON body is not JSON: {e}"));
        check_json(&doc);
    } else if essence == "application/x-www-form-urlencoded" {
        check_params(f.body, &[("email", is_sealed), ("card", is_masked)], "form");
    } else {
        panic!("a body of type {essence:?} was forwarded uninspected");
    }
}

/// No marker anywhere in the forwarded request (the structured generator's check).
pub fn check_no_marker(f: &Forwarded<'_>) {
    let mut all: Vec<u8> = Vec::new();
    all.extend_from_slice(f.query.as_bytes());
    all.extend_from_slice(&percent_decode(f.query.as_bytes()));
    for (_, v) in &f.headers {
        all.extend_from_slice(v.as_bytes());
        all.extend_from_slice(&percent_decode(v.as_bytes()));
    }
    all.extend_from_slice(f.body);
    all.extend_from_slice(&percent_decode(f.body));
    if let Ok(doc) = serde_json::from_slice::<Value>(f.body) {
        all.extend_from_slice(doc.to_string().as_bytes());
    }
    assert!(
        !contains(&all, MARK.as_bytes()),
        "marker plaintext forwarded: {}",
        String::from_utf8_lossy(&all)
    );
}

/// Whether anything in the request could be taken for an envelope (`pe` + digit), so that
/// opening everything the edge sealed is only asserted when the attacker sent none.
pub fn may_hold_envelopes(req: &Request) -> bool {
    let has = |b: &[u8]| {
        b.windows(3)
            .any(|w| w[0] == b'p' && w[1] == b'e' && w[2].is_ascii_digit())
    };
    has(req.query.as_bytes())
        || has(&percent_decode(req.query.as_bytes()))
        || has(&req.body)
        || has(&percent_decode(&req.body))
        || req.headers.iter().any(|(_, v)| has(v.as_bytes()))
}

/// `text` with every envelope (`pe2.` and its base64url) replaced by `pe2.*`: sealing is
/// randomized, everything else the engine writes is deterministic.
pub fn blank_envelopes(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with(b"pe2.") {
            out.extend_from_slice(b"pe2.*");
            i += 4;
            while i < text.len()
                && (text[i].is_ascii_alphanumeric() || matches!(text[i], b'-' | b'_'))
            {
                i += 1;
            }
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}
