//! Recorded requests, streamed: one [`pii_core::Request`] at a time goes to a callback, so a
//! file of any size needs the memory of one request (one HAR entry, one NDJSON line), not of
//! the file.
//!
//! Forms read, recognised by their content:
//! - **HAR 1.2** (W3C Web Performance WG draft "HTTP Archive (HAR) format", as browser
//!   DevTools, Charles and mitmproxy export it): `log.entries[*].request`, read entry by entry
//!   with a serde visitor; responses are skipped without being kept. HTTP/2 pseudo-headers
//!   (`:authority`, ...) are dropped; `postData.text` is the body (`postData.params` when only
//!   they are given, re-encoded as a form); the non-standard `postData.encoding: base64` some
//!   tools write is honoured.
//! - **CloudFront Lambda@Edge events** (`Records[0].cf.request`), and the bare request object a
//!   trigger returns (`uri`, `querystring`, CloudFront-shaped headers and body).
//! - **Request log records**: `{"method", "path" | "url", "query", "headers", "body"}`;
//!   `headers` a map (values a string or a list) or a list (`[name, value]`, `"Name: value"`,
//!   `{"name", "value"}`); `body` text, or any JSON value (then sent as JSON), or
//!   `bodyBase64`; what `pii-edge apply` prints (a `request` member) is unwrapped.
//! - Any of these one per line (**NDJSON**, the first line a complete JSON value), or one
//!   document per file, or a JSON array of them.
//!
//! Why not the `har` crate: its `Entries` type requires the response, cache and timings, and
//! allocates every response body (most of a HAR's bytes are base64 response content the
//! scanner never reads), it has no streaming reader, and its current release needs Rust 1.88
//! (the workspace builds with 1.85). The request fields read here follow the HAR 1.2 spec's
//! `request` object exactly.

use std::fmt;
use std::io::{BufRead, Read};

use base64::Engine as _;
use pii_core::Request;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Why recorded traffic could not be read. Messages name a position (line, or byte offset
/// for a document), never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    message: String,
}

impl InputError {
    fn new(message: impl Into<String>) -> Self {
        InputError {
            message: message.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InputError {}

/// What reading a source found besides requests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReadStats {
    /// Requests passed to the callback.
    pub requests: usize,
    /// Records that are not requests (a response event, a line that is not JSON, a record
    /// without method or path) and were skipped.
    pub skipped: usize,
    /// Of those, the lines that could not be read at all (not JSON, cut short): they may have
    /// held requests, which were not scanned.
    pub unreadable: usize,
    /// Why the first few records were skipped (`line 3: not JSON (expected value at column 1)`).
    pub skip_reasons: Vec<String>,
}

impl ReadStats {
    fn skip(&mut self, reason: String) {
        self.skipped += 1;
        if self.skip_reasons.len() < 5 {
            self.skip_reasons.push(reason);
        }
    }
}

/// Read every request in `reader` (HAR, event, log records; one document or NDJSON), calling
/// `sink` with each, and `progress` with the number of bytes consumed so far now and then.
///
/// A document that is not valid JSON, or a HAR whose structure is broken, is an error; in
/// NDJSON a line that cannot be read is skipped and counted in [`ReadStats`].
///
/// ```
/// use edge_fn::scan::input::read;
/// let ndjson = b"{\"method\":\"GET\",\"path\":\"/a\",\"query\":\"email=x%40y.de\"}\nnot json\n";
/// let mut paths = Vec::new();
/// let stats = read(&ndjson[..], &mut |r| paths.push(r.path), &mut |_| {}).unwrap();
/// assert_eq!(paths, ["/a"]);
/// assert_eq!(stats.skipped, 1);
/// ```
pub fn read(
    mut reader: impl BufRead,
    sink: &mut dyn FnMut(Request),
    progress: &mut dyn FnMut(u64),
) -> Result<ReadStats, InputError> {
    let mut stats = ReadStats::default();
    let mut line = Vec::new();
    let mut consumed: u64 = 0;
    let mut number = 0usize;
    // The first non-empty line decides: a complete JSON value means NDJSON.
    let whole = loop {
        line.clear();
        let (n, whole) = read_line(&mut reader, &mut line)
            .map_err(|e| InputError::new(format!("cannot read: {e}")))?;
        if n == 0 {
            return Ok(stats);
        }
        consumed += n as u64;
        number += 1;
        if !line.iter().all(u8::is_ascii_whitespace) {
            break whole;
        }
    };
    // A line longer than LINE_MAX (a HAR or a JSON array written on one line) is parsed as it
    // streams, as one NDJSON line.
    if whole && serde_json::from_slice::<IgnoredAny>(&line).is_err() {
        // Not a value on its own: a document across lines (`{` of a pretty-printed HAR), or
        // NDJSON whose first line is cut or damaged, which the next line tells apart: a
        // complete value on its own line is NDJSON.
        let opener = matches!(line.trim_ascii(), b"{" | b"[");
        let mut next = Vec::new();
        let mut next_lines = 0usize;
        let mut next_consumed = 0u64;
        let mut next_whole = true;
        if !opener {
            loop {
                next.clear();
                let (n, w) = read_line(&mut reader, &mut next)
                    .map_err(|e| InputError::new(format!("cannot read: {e}")))?;
                next_consumed += n as u64;
                next_lines += 1;
                next_whole = w;
                if n == 0 || !next.iter().all(u8::is_ascii_whitespace) {
                    break;
                }
            }
        }
        let next_is_value =
            !next.is_empty() && next_whole && serde_json::from_slice::<IgnoredAny>(&next).is_ok();
        if !next_is_value {
            // One document across lines: stream it.
            let first_len = (line.len() + next.len()) as u64;
            line.extend_from_slice(&next);
            let chained = std::io::Cursor::new(std::mem::take(&mut line)).chain(reader);
            let counting = Counting {
                inner: chained,
                count: consumed + next_consumed - first_len,
                progress,
                last: 0,
            };
            let mut de = serde_json::Deserializer::from_reader(counting);
            let mut emit = |r: Request| {
                stats.requests += 1;
                sink(r);
            };
            let mut skipped = Vec::new();
            let mut har = false;
            Document {
                sink: &mut emit,
                skipped: &mut skipped,
                har: &mut har,
            }
            .deserialize(&mut de)
            .map_err(|e| {
                InputError::new(format!("not a HAR file, event or request document: {e}"))
            })?;
            de.end()
                .map_err(|e| InputError::new(format!("text after the document: {e}")))?;
            for reason in skipped {
                stats.skip(reason);
            }
            return Ok(stats);
        }
        let e = serde_json::from_slice::<IgnoredAny>(&line)
            .err()
            .map_or_else(String::new, |e| short(&e));
        stats.unreadable += 1;
        stats.skip(format!("line {number}: {e}"));
        progress(consumed);
        consumed += next_consumed;
        number += next_lines;
        line = next;
    }
    let mut whole = whole;
    loop {
        if !line.iter().all(u8::is_ascii_whitespace) {
            let mut skipped = Vec::new();
            let mut count = 0usize;
            let mut har = false;
            let mut line_done = whole;
            let result = {
                let mut emit = |r: Request| {
                    count += 1;
                    sink(r);
                };
                let document = Document {
                    sink: &mut emit,
                    skipped: &mut skipped,
                    har: &mut har,
                };
                if whole {
                    let mut de = serde_json::Deserializer::from_slice(&line);
                    document.deserialize(&mut de).and_then(|()| de.end())
                } else {
                    // The rest of an overlong line, read as it is parsed.
                    let rest = RestOfLine {
                        inner: &mut reader,
                        done: &mut line_done,
                        count: &mut consumed,
                    };
                    let source = std::io::Cursor::new(std::mem::take(&mut line)).chain(rest);
                    // serde_json reads a reader byte by byte: buffered, within the line.
                    let mut de =
                        serde_json::Deserializer::from_reader(std::io::BufReader::new(source));
                    document.deserialize(&mut de).and_then(|()| de.end())
                }
            };
            if !line_done {
                skip_rest_of_line(&mut reader, &mut consumed)
                    .map_err(|e| InputError::new(format!("cannot read line {number}: {e}")))?;
            }
            stats.requests += count;
            match result {
                Ok(()) => {
                    for reason in skipped {
                        stats.skip(format!("line {number}: {reason}"));
                    }
                }
                // A HAR is a document, not a log record: an entry it cannot read means
                // requests that were not scanned, which must not pass as a skipped line.
                Err(e) if har => {
                    return Err(InputError::new(format!(
                        "line {number}: a HAR file that cannot be read whole: {e}"
                    )))
                }
                Err(e) => {
                    stats.unreadable += 1;
                    stats.skip(format!("line {number}: {}", short(&e)));
                }
            }
        }
        progress(consumed);
        line.clear();
        let (n, w) = read_line(&mut reader, &mut line)
            .map_err(|e| InputError::new(format!("cannot read line {}: {e}", number + 1)))?;
        if n == 0 {
            return Ok(stats);
        }
        whole = w;
        consumed += n as u64;
        number += 1;
    }
}

/// Longest line read into memory whole; a longer one is parsed as it is read, so one huge line
/// (a 1 GB JSON array or HAR written on one line) needs the memory of one record, not of the
/// line.
const LINE_MAX: u64 = 4 << 20;

/// Reads one line (up to [`LINE_MAX`] bytes) into `line`: the bytes read, and whether the
/// line is whole (ends with a newline, or the input ended).
fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<(usize, bool)> {
    let n = reader.by_ref().take(LINE_MAX).read_until(b'\n', line)?;
    Ok((n, line.last() == Some(&b'\n') || (n as u64) < LINE_MAX))
}

/// The bytes of the current line up to (not including) its newline, which is consumed.
struct RestOfLine<'a, R> {
    inner: &'a mut R,
    /// Set once the newline (or the end of the input) is reached.
    done: &'a mut bool,
    count: &'a mut u64,
}

impl<R: BufRead> Read for RestOfLine<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if *self.done {
            return Ok(0);
        }
        let available = self.inner.fill_buf()?;
        if available.is_empty() {
            *self.done = true;
            return Ok(0);
        }
        let take = available.len().min(buf.len());
        let (n, newline) = match available[..take].iter().position(|&c| c == b'\n') {
            Some(i) => (i, true),
            None => (take, false),
        };
        buf[..n].copy_from_slice(&available[..n]);
        let used = if newline { n + 1 } else { n };
        self.inner.consume(used);
        *self.count += used as u64;
        *self.done = newline;
        Ok(n)
    }
}

/// Consumes what is left of the current line, newline included.
fn skip_rest_of_line(reader: &mut impl BufRead, consumed: &mut u64) -> std::io::Result<()> {
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(());
        }
        match available.iter().position(|&c| c == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                *consumed += (i + 1) as u64;
                return Ok(());
            }
            None => {
                let n = available.len();
                reader.consume(n);
                *consumed += n as u64;
            }
        }
    }
}

/// A JSON error without the input's text (serde_json's messages hold none, but keep it short).
fn short(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("not JSON ({text})")
        }
        _ => text,
    }
}

/// A reader that reports how many bytes went through.
struct Counting<'p, R> {
    inner: R,
    count: u64,
    progress: &'p mut dyn FnMut(u64),
    last: u64,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if self.count - self.last >= 1 << 20 || n == 0 {
            self.last = self.count;
            (self.progress)(self.count);
        }
        Ok(n)
    }
}

/// One JSON document: a HAR (entries streamed), an event, a request record, or an array of
/// documents.
struct Document<'s, 'f> {
    sink: &'s mut dyn FnMut(Request),
    skipped: &'f mut Vec<String>,
    /// Set when the document is a HAR (has `log`).
    har: &'f mut bool,
}

impl<'de> DeserializeSeed<'de> for Document<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Document<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a HAR file, a CloudFront event or a request record (a JSON object)")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Document { sink, skipped, har } = self;
        while seq
            .next_element_seed(Document {
                sink: &mut *sink,
                skipped: &mut *skipped,
                har: &mut *har,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut rest = Map::new();
        let mut har = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "log" {
                *self.har = true;
                map.next_value_seed(Log {
                    sink: &mut *self.sink,
                })?;
                har = true;
            } else {
                let value: Value = map.next_value()?;
                rest.insert(key, value);
            }
        }
        if har {
            return Ok(());
        }
        match record_to_request(Value::Object(rest)) {
            Ok(Some(req)) => (self.sink)(req),
            Ok(None) => {}
            Err(reason) => self.skipped.push(reason),
        }
        Ok(())
    }
}

/// `log`: only `entries` is read.
struct Log<'s> {
    sink: &'s mut dyn FnMut(Request),
}

impl<'de> DeserializeSeed<'de> for Log<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Log<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the HAR `log` object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "entries" {
                map.next_value_seed(Entries {
                    sink: &mut *self.sink,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// `log.entries`: one entry at a time.
struct Entries<'s> {
    sink: &'s mut dyn FnMut(Request),
}

impl<'de> DeserializeSeed<'de> for Entries<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Entries<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the HAR `entries` array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        while let Some(entry) = seq.next_element::<HarEntry>()? {
            let req = entry
                .request
                .into_request()
                .map_err(|e| de::Error::custom(format!("HAR entry {index}: {e}")))?;
            (self.sink)(req);
            index += 1;
        }
        Ok(())
    }
}

/// A HAR entry: the request only (the response, timings and the rest are skipped unread).
#[derive(Deserialize)]
struct HarEntry {
    request: HarRequest,
}

/// HAR 1.2 `request` (the members the scanner needs).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HarRequest {
    method: String,
    url: String,
    #[serde(default)]
    headers: Vec<HarPair>,
    #[serde(default)]
    cookies: Vec<HarPair>,
    #[serde(default)]
    post_data: Option<HarPostData>,
}

#[derive(Deserialize)]
struct HarPair {
    name: String,
    #[serde(default)]
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HarPostData {
    #[serde(default)]
    mime_type: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    params: Vec<HarParam>,
    /// Not in HAR 1.2; some tools mark binary bodies so.
    #[serde(default)]
    encoding: Option<String>,
}

#[derive(Deserialize)]
struct HarParam {
    name: String,
    #[serde(default)]
    value: Option<String>,
}

impl HarRequest {
    fn into_request(self) -> Result<Request, String> {
        let (path, query) = split_url(&self.url);
        let mut headers: Vec<(String, String)> = self
            .headers
            .into_iter()
            .filter(|h| !h.name.starts_with(':'))
            .map(|h| (h.name, h.value))
            .collect();
        if !self.cookies.is_empty()
            && !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        {
            let joined: Vec<String> = self
                .cookies
                .iter()
                .map(|c| format!("{}={}", c.name, c.value))
                .collect();
            headers.push(("Cookie".to_string(), joined.join("; ")));
        }
        let mut body = Vec::new();
        if let Some(post) = self.post_data {
            if !post.mime_type.is_empty()
                && !headers
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            {
                headers.push(("Content-Type".to_string(), post.mime_type.clone()));
            }
            match (post.text, post.encoding.as_deref()) {
                (Some(text), Some("base64")) => {
                    body = base64::engine::general_purpose::STANDARD
                        .decode(text.trim())
                        .map_err(|e| format!("postData.text is not valid base64: {e}"))?;
                }
                (Some(text), _) => body = text.into_bytes(),
                (None, _) => {
                    let mut form = form_urlencoded::Serializer::new(String::new());
                    for p in &post.params {
                        form.append_pair(&p.name, p.value.as_deref().unwrap_or(""));
                    }
                    body = form.finish().into_bytes();
                }
            }
        }
        Ok(Request {
            method: self.method,
            path,
            query,
            headers,
            body,
            body_truncated: false,
            body_withheld: false,
        })
    }
}

/// The path and raw query of a URL (`https://h/p?q#f` -> `/p`, `q`); a path alone is kept.
fn split_url(url: &str) -> (String, String) {
    let rest = match url.find("://") {
        Some(i) => {
            let after = &url[i + 3..];
            match after.find(['/', '?', '#']) {
                Some(j) => &after[j..],
                None => "",
            }
        }
        None => url,
    };
    let rest = rest.split('#').next().unwrap_or("");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = if path.is_empty() { "/" } else { path };
    (path.to_string(), query.to_string())
}

/// A request from an event or a record; `Ok(None)` for records that carry no request (a
/// response event), `Err` with a reason for records that are not requests.
fn record_to_request(value: Value) -> Result<Option<Request>, String> {
    let Value::Object(mut map) = value else {
        return Err("not a JSON object".into());
    };
    if map.contains_key("Records") {
        let bytes = serde_json::to_vec(&map).map_err(|e| e.to_string())?;
        return event_request(&bytes).map(Some);
    }
    if let Some(Value::Object(inner)) = map.remove("request") {
        map = inner;
    }
    if map.contains_key("uri") && !map.contains_key("path") {
        // The request object of a CloudFront event.
        let bytes = serde_json::to_vec(&map).map_err(|e| e.to_string())?;
        let cf: crate::cloudfront::Request = serde_json::from_slice(&bytes)
            .map_err(|e| format!("not a CloudFront request object: {e}"))?;
        return crate::cloudfront::to_core(&cf)
            .map(Some)
            .map_err(|e| e.to_string());
    }
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let method = text(map.get("method")).unwrap_or_else(|| "GET".to_string());
    let (path, mut query) = match text(map.get("path")).or_else(|| text(map.get("url"))) {
        Some(p) => split_url(&p),
        None => return Err("a request record needs `path` or `url`".into()),
    };
    match map
        .get("query")
        .or_else(|| map.get("querystring"))
        .or_else(|| map.get("queryString"))
    {
        Some(Value::String(q)) => query = q.strip_prefix('?').unwrap_or(q).to_string(),
        Some(Value::Object(params)) => {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (k, v) in params {
                match v {
                    Value::String(s) => form.append_pair(k, s),
                    other => form.append_pair(k, &other.to_string()),
                };
            }
            query = form.finish();
        }
        _ => {}
    }
    let mut headers = headers_of(map.get("headers"))?;
    let has_type = headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
    let body = match (map.get("body"), map.get("bodyBase64")) {
        (Some(Value::String(s)), _) => s.as_bytes().to_vec(),
        (None | Some(Value::Null), Some(Value::String(b))) => {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .map_err(|e| format!("`bodyBase64` is not valid base64: {e}"))?
        }
        (Some(Value::Object(o)), _) if o.contains_key("data") && o.contains_key("encoding") => {
            let body: crate::cloudfront::Body = serde_json::from_value(Value::Object(o.clone()))
                .map_err(|e| format!("not a CloudFront body: {e}"))?;
            body.decode().map_err(|e| e.to_string())?
        }
        (None | Some(Value::Null), _) => Vec::new(),
        (Some(other), _) => {
            if !has_type {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            other.to_string().into_bytes()
        }
    };
    let truncated = map
        .get("truncated")
        .or_else(|| map.get("inputTruncated"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(Some(Request {
        method,
        path,
        query,
        headers,
        body,
        body_truncated: truncated,
        body_withheld: false,
    }))
}

/// Headers of a record, in any of the shapes the module documentation lists.
fn headers_of(value: Option<&Value>) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, v) in map {
                match v {
                    Value::Array(items) => {
                        for item in items {
                            // CloudFront's `[{key, value}]` or plain values.
                            if let Some(s) = scalar(item) {
                                out.push((name.clone(), s));
                            } else if let Some(s) = item.get("value").and_then(scalar) {
                                let key = item.get("key").and_then(Value::as_str).unwrap_or(name);
                                out.push((key.to_string(), s));
                            }
                        }
                    }
                    other => {
                        if let Some(s) = scalar(other) {
                            out.push((name.clone(), s));
                        }
                    }
                }
            }
        }
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::String(line) => {
                        if let Some((n, v)) = line.split_once(':') {
                            out.push((n.trim().to_string(), v.trim_start().to_string()));
                        }
                    }
                    Value::Array(pair) if pair.len() == 2 => {
                        if let (Some(n), Some(v)) = (pair[0].as_str(), scalar(&pair[1])) {
                            out.push((n.to_string(), v));
                        }
                    }
                    Value::Object(o) => {
                        if let (Some(n), Some(v)) = (
                            o.get("name").and_then(Value::as_str),
                            o.get("value").and_then(scalar),
                        ) {
                            out.push((n.to_string(), v));
                        }
                    }
                    _ => {}
                }
            }
        }
        Some(_) => return Err("`headers` is neither a map nor a list".into()),
    }
    Ok(out)
}

/// The request of a CloudFront event, read by the one event-file reader.
fn event_request(bytes: &[u8]) -> Result<Request, String> {
    let event = crate::cloudfront::request_event(bytes).map_err(|e| e.to_string())?;
    let record = event
        .single_record()
        .ok_or_else(|| crate::cloudfront::EventFileError::Records.to_string())?;
    // The handler's own conversion: one reading of a CloudFront request.
    crate::cloudfront::to_core(&record.cf.request).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(bytes: &[u8]) -> (Vec<Request>, ReadStats) {
        let mut out = Vec::new();
        let stats = read(bytes, &mut |r| out.push(r), &mut |_| {}).expect("readable");
        (out, stats)
    }

    #[test]
    fn har_entries_are_requests() {
        let har = br#"{
          "log": {"version": "1.2", "creator": {"name": "t", "version": "1"},
            "entries": [
              {"startedDateTime": "x", "request": {"method": "POST", "url": "https://h.example/api/users?ref=a#top",
                "httpVersion": "h2", "headers": [{"name": ":authority", "value": "h"}, {"name": "content-type", "value": "application/json"}],
                "cookies": [], "queryString": [], "postData": {"mimeType": "application/json", "text": "{\"a\":1}"},
                "headersSize": -1, "bodySize": 7},
               "response": {"status": 200, "content": {"size": 3, "text": "abc"}}},
              {"request": {"method": "POST", "url": "/form", "postData": {"mimeType": "application/x-www-form-urlencoded",
                "params": [{"name": "e mail", "value": "a@b.de"}]}}}
            ]}
        }"#;
        let (reqs, stats) = all(har);
        assert_eq!(stats.requests, 2);
        assert_eq!(reqs[0].path, "/api/users");
        assert_eq!(reqs[0].query, "ref=a");
        assert_eq!(
            reqs[0].headers,
            [("content-type".to_string(), "application/json".to_string())]
        );
        assert_eq!(reqs[0].body, br#"{"a":1}"#);
        assert_eq!(reqs[1].body, b"e+mail=a%40b.de");
    }

    #[test]
    fn ndjson_records_of_every_shape() {
        let lines = concat!(
            r#"{"method":"POST","url":"https://x/p?q=1","headers":{"X-A":["1","2"]},"body":{"email":"a@b.de"}}"#,
            "\n",
            "\n",
            r#"{"request":{"method":"GET","path":"/r","headers":["Cookie: a=b",["x-b","3"]]}}"#,
            "\n",
            r#"{"path":"/b","bodyBase64":"aGk="}"#,
            "\n",
            r#"{"method":"GET"}"#,
            "\n",
            "[1,2\n",
        );
        let (reqs, stats) = all(lines.as_bytes());
        assert_eq!(reqs.len(), 3);
        assert_eq!(reqs[0].query, "q=1");
        assert_eq!(reqs[0].headers.len(), 3);
        assert_eq!(reqs[0].body, br#"{"email":"a@b.de"}"#);
        assert_eq!(reqs[1].headers[1], ("x-b".to_string(), "3".to_string()));
        assert_eq!(reqs[2].body, b"hi");
        assert_eq!(stats.skipped, 2, "{:?}", stats.skip_reasons);
        assert!(
            stats.skip_reasons[0].starts_with("line 5:"),
            "{:?}",
            stats.skip_reasons
        );
    }

    #[test]
    fn broken_documents_are_errors_not_panics() {
        for bad in [
            &b"{\n\"log\": {\"entries\": [1"[..],
            b"{\n",
            b"{\n\"log\": 5}",
            b"[\n{}]]",
        ] {
            let _ = read(bad, &mut |_| {}, &mut |_| {});
        }
        assert!(read(
            &b"{\n\"log\": {\"entries\": [{\"request\": 1}]}}"[..],
            &mut |_| {},
            &mut |_| {}
        )
        .is_err());
    }

    /// A HAR written on one line is a document: an entry it cannot read is an error, not a
    /// skipped NDJSON line (which `--fail-on` would let pass).
    #[test]
    fn a_one_line_har_with_a_bad_entry_is_an_error() {
        let har = br#"{"log":{"entries":[{"request":{"method":"GET","url":"/a"}},{"request":{"method":"GET"}}]}}"#;
        let err = read(&har[..], &mut |_| {}, &mut |_| {}).expect_err("a broken HAR");
        assert!(err.to_string().contains("line 1: a HAR file"), "{err}");
        // The same after NDJSON records: still an error.
        let mut two = br#"{"method":"GET","path":"/x"}"#.to_vec();
        two.push(b'\n');
        two.extend_from_slice(har);
        assert!(read(&two[..], &mut |_| {}, &mut |_| {}).is_err());
    }

    /// NDJSON whose first line is cut short: that line is skipped, the rest read.
    #[test]
    fn a_truncated_first_line_is_skipped_not_the_file() {
        for first in [
            &br#"{"method":"GET","path":"/a","que"#[..],
            b"garbage",
            b"[1, 2",
        ] {
            let mut input = first.to_vec();
            input.extend_from_slice(
                b"\n{\"method\":\"GET\",\"path\":\"/b\"}\n\n{\"method\":\"GET\",\"path\":\"/c\"}\n",
            );
            let (reqs, stats) = all(&input);
            let paths: Vec<&str> = reqs.iter().map(|r| r.path.as_str()).collect();
            assert_eq!(paths, ["/b", "/c"]);
            assert_eq!(stats.skipped, 1);
            assert!(
                stats.skip_reasons[0].starts_with("line 1: not JSON"),
                "{:?}",
                stats.skip_reasons
            );
        }
        // A pretty-printed document still reads as one document.
        let (reqs, _) = all(b"[\n{\"method\":\"GET\",\"path\":\"/p\"}\n]\n");
        assert_eq!(reqs.len(), 1);
        let (reqs, _) = all(b"{\"method\": \"GET\",\n \"path\": \"/q\"}\n");
        assert_eq!(reqs[0].path, "/q");
    }

    /// A line longer than LINE_MAX is parsed as it is read, and the lines after it still are.
    #[test]
    fn overlong_lines_are_streamed() {
        let record = br#"{"method":"GET","path":"/big","query":"email=a%40b.de"}"#;
        let mut input = b"[".to_vec();
        while (input.len() as u64) < LINE_MAX + 1000 {
            input.extend_from_slice(record);
            input.push(b',');
        }
        input.extend_from_slice(record);
        input.extend_from_slice(b"]\n{\"method\":\"GET\",\"path\":\"/after\"}\n");
        let mut count = 0usize;
        let mut last = String::new();
        let stats = read(
            &input[..],
            &mut |r| {
                count += 1;
                last = r.path;
            },
            &mut |_| {},
        )
        .expect("readable");
        assert_eq!(stats.skipped, 0, "{:?}", stats.skip_reasons);
        // Every record of the overlong line, and the line after it.
        assert!(
            count as u64 * (record.len() as u64 + 1) > LINE_MAX,
            "{count}"
        );
        assert_eq!(last, "/after");
    }
}
