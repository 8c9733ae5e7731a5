//! Read a value of a request at a location as the engine reports it (`json:$['user']['email']`,
//! `query:email#0`, `form:cvv#0`, `header:x-national-id#0`, `cookie:session#0`).

use pii_core::Request;

use super::rawjson;

/// What part of a request a location points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Json,
    Query,
    Form,
    Header,
    Cookie,
}

/// A parsed report location.
#[derive(Debug, Clone)]
pub(crate) struct Location {
    pub(crate) part: Part,
    /// The normalized path for JSON, the lowercase name otherwise.
    pub(crate) name: String,
    /// The repetition (0-based), not used for JSON.
    pub(crate) nth: usize,
}

impl Location {
    pub(crate) fn parse(text: &str) -> Result<Location, String> {
        let (part, rest) = text
            .split_once(':')
            .ok_or_else(|| format!("`{text}` is not a location (json:$..., query:NAME#N, form:NAME#N, header:NAME#N, cookie:NAME#N)"))?;
        let part = match part {
            "json" => Part::Json,
            "query" => Part::Query,
            "form" => Part::Form,
            "header" => Part::Header,
            "cookie" => Part::Cookie,
            other => {
                return Err(format!(
                "`{other}:` is not a location kind; use json:, query:, form:, header: or cookie:"
            ))
            }
        };
        if part == Part::Json {
            if rawjson::parse_normalized(rest).is_none() {
                return Err(format!(
                    "`{rest}` is not a normalized JSONPath like $['user']['email'] or $['items'][0]"
                ));
            }
            return Ok(Location {
                part,
                name: rest.to_string(),
                nth: 0,
            });
        }
        let (name, nth) = match rest.rsplit_once('#') {
            Some((name, n)) => (
                name,
                n.parse::<usize>()
                    .map_err(|_| format!("`{text}`: the part after `#` must be a number"))?,
            ),
            None => (rest, 0),
        };
        Ok(Location {
            part,
            name: name.to_ascii_lowercase(),
            nth,
        })
    }
}

/// A value found at a location.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    /// The raw text: the JSON text of a body value, a parameter's raw (still encoded) value,
    /// a header value, a cookie's raw value.
    pub(crate) raw: Vec<u8>,
    /// The value as text: a JSON string decoded (other JSON values as written), a parameter
    /// or cookie percent-decoded, a header as is.
    pub(crate) text: String,
}

/// Decode `%XX` escapes (and `+` as a space when `plus`); bad escapes stay as written.
pub(crate) fn percent_decode(input: &[u8], plus: bool) -> Vec<u8> {
    let hex = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'%' => {
                let decoded = input
                    .get(i + 1)
                    .and_then(|&a| hex(a))
                    .zip(input.get(i + 2).and_then(|&b| hex(b)));
                match decoded {
                    Some((a, b)) => {
                        out.push(a * 16 + b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' if plus => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// The parameters of a query string or form body: (decoded lowercase name, raw value, decoded value).
pub(crate) fn params(raw: &str) -> Vec<(String, String, String)> {
    if raw.is_empty() {
        return Vec::new();
    }
    raw.split('&')
        .map(|piece| {
            let (n, v) = piece.split_once('=').unwrap_or((piece, ""));
            let name =
                String::from_utf8_lossy(&percent_decode(n.as_bytes(), true)).to_ascii_lowercase();
            let value = String::from_utf8_lossy(&percent_decode(v.as_bytes(), true)).into_owned();
            (name, v.to_string(), value)
        })
        .collect()
}

/// The cookies of every `Cookie` header: (lowercase name, raw value).
pub(crate) fn cookies(req: &Request) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for value in req.header_values("cookie") {
        for piece in value.split(';') {
            let piece = piece.trim();
            if piece.is_empty() {
                continue;
            }
            let (n, v) = piece.split_once('=').unwrap_or((piece, ""));
            out.push((n.to_ascii_lowercase(), v.to_string()));
        }
    }
    out
}

/// The value at `location`, if the request has one there.
pub(crate) fn value_at(req: &Request, location: &Location) -> Option<Found> {
    match location.part {
        Part::Json => {
            let spans = rawjson::spans(&req.body)?;
            let range = rawjson::find(&spans, &location.name)?;
            let raw = req.body[range].to_vec();
            let text = rawjson::decode_string(&raw)
                .unwrap_or_else(|| String::from_utf8_lossy(&raw).into_owned());
            Some(Found { raw, text })
        }
        Part::Query | Part::Form => {
            let source = if location.part == Part::Query {
                req.query.clone()
            } else {
                String::from_utf8_lossy(&req.body).into_owned()
            };
            params(&source)
                .into_iter()
                .filter(|(n, _, _)| *n == location.name)
                .nth(location.nth)
                .map(|(_, raw, text)| Found {
                    raw: raw.into_bytes(),
                    text,
                })
        }
        Part::Header => req
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(&location.name))
            .nth(location.nth)
            .map(|(_, v)| Found {
                raw: v.as_bytes().to_vec(),
                text: v.clone(),
            }),
        Part::Cookie => cookies(req)
            .into_iter()
            .filter(|(n, _)| *n == location.name)
            .nth(location.nth)
            .map(|(_, v)| Found {
                text: String::from_utf8_lossy(&percent_decode(v.as_bytes(), false)).into_owned(),
                raw: v.into_bytes(),
            }),
    }
}

/// Every value at the location's name (all repetitions), as text; for "was it removed".
pub(crate) fn all_values(req: &Request, location: &Location) -> Vec<String> {
    (0..)
        .map_while(|nth| {
            value_at(
                req,
                &Location {
                    nth,
                    ..location.clone()
                },
            )
        })
        .map(|f| f.text)
        .collect()
}

/// Every place a value could hide in a request, as text: path, query, headers and body, raw
/// and decoded (percent escapes, JSON string escapes).
pub(crate) fn haystacks(req: &Request) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("path", req.path.clone()),
        (
            "path",
            String::from_utf8_lossy(&percent_decode(req.path.as_bytes(), false)).into_owned(),
        ),
        ("query", req.query.clone()),
        (
            "query",
            String::from_utf8_lossy(&percent_decode(req.query.as_bytes(), true)).into_owned(),
        ),
    ];
    for (name, value) in &req.headers {
        out.push(("headers", format!("{name}: {value}")));
        out.push((
            "headers",
            String::from_utf8_lossy(&percent_decode(value.as_bytes(), false)).into_owned(),
        ));
    }
    out.push(("body", String::from_utf8_lossy(&req.body).into_owned()));
    out.push((
        "body",
        String::from_utf8_lossy(&percent_decode(&req.body, true)).into_owned(),
    ));
    if let Some(spans) = rawjson::spans(&req.body) {
        for (_, range) in spans {
            if let Some(s) = rawjson::decode_string(&req.body[range]) {
                out.push(("body", s));
            }
        }
    }
    out
}
