//! The Node.js face of pii-core (`pii_edge_origin.node`): open envelopes, reveal requests,
//! verify receipts. Every operation is pii-core's; this crate converts JavaScript values to
//! Rust and back, and pii-core's errors to JavaScript errors whose `code` names the Rust error
//! kind (`WrongZone`, `NoKey`, `Tampered`, `ReceiptError`, ...). `index.js` turns them into
//! the typed error classes of `index.d.ts`.
//!
//! No message, property or error carries a plaintext value or key material.
#![deny(unsafe_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use pii_core::envelope::{self, OpenError};
use pii_core::receipt;
use pii_core::strict::{Strict, StrictError};
use pii_core::{location::Part, location::PathElement, Location};

/// An error for JavaScript: `kind` becomes the error's `code`.
#[derive(Debug)]
pub struct Failure {
    kind: &'static str,
    message: String,
}

impl Failure {
    fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
        }
    }
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Reads a key or policy file. A failure is kind `SystemError:<errno name>` (`ENOENT`,
/// `EACCES`, `EISDIR`, `EIO`): index.js makes it an `Error` with that `code` and the `path`,
/// as `fs` does. The message names the path, never content.
fn read_file(path: &str) -> Result<zeroize::Zeroizing<String>, Failure> {
    std::fs::read_to_string(path)
        .map(zeroize::Zeroizing::new)
        .map_err(|e| {
            let code = match e.kind() {
                std::io::ErrorKind::NotFound => "SystemError:ENOENT",
                std::io::ErrorKind::PermissionDenied => "SystemError:EACCES",
                std::io::ErrorKind::IsADirectory => "SystemError:EISDIR",
                _ => "SystemError:EIO",
            };
            Failure::new(code, format!("cannot read {path}: {e}"))
        })
}

fn load_receipt_keys(text: &str) -> Result<receipt::ReceiptKeys, Failure> {
    receipt::ReceiptKeys::from_jwks(text).map_err(|e| Failure::new("InvalidKeys", e.to_string()))
}

fn load_private(text: &str) -> Result<pii_core::PrivateKeyring, Failure> {
    pii_core::PrivateKeyring::from_jwks(text)
        .map_err(|e| Failure::new("InvalidKeys", e.to_string()))
}

fn open_failure(e: OpenError) -> Failure {
    Failure::new(e.name(), e.to_string())
}

/// `Kind|location`: index.js splits it into the class and the `location` property.
fn reveal_failure(e: pii_core::reveal::RevealError) -> Failure {
    Failure {
        kind: e.error.name(),
        message: e.to_string(),
    }
    .at(&e.location)
}

impl Failure {
    fn at(self, location: &Location) -> Failure {
        Failure {
            kind: self.kind,
            message: format!("{}\u{1f}{location}", self.message),
        }
    }
}

fn strict_failure(e: StrictError) -> Failure {
    match e {
        StrictError::Open(e) => reveal_failure(e),
        StrictError::Plaintext { ref location, .. } => {
            Failure::new("PlaintextFound", e.to_string()).at(location)
        }
        StrictError::Uninspectable { .. } => Failure::new("Uninspectable", e.to_string()),
        other => Failure::new("PiiEdgeError", other.to_string()),
    }
}

fn parse_location(text: &str) -> Result<Location, Failure> {
    text.parse::<Location>()
        .map_err(|e| Failure::new("LocationError", e.to_string()))
}

fn part_of(name: &str) -> Result<Part, Failure> {
    name.parse::<Part>()
        .map_err(|e| Failure::new("LocationError", e.to_string()))
}

fn load_policies(paths: &[String]) -> Result<Vec<pii_core::Policy>, Failure> {
    let policy_error = |m: String| Failure::new("PolicyError", m);
    let mut policies = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path)
            .map_err(|e| policy_error(format!("cannot read {path}: {e}")))?;
        let mut files = Vec::new();
        if meta.is_dir() {
            let entries = std::fs::read_dir(path)
                .map_err(|e| policy_error(format!("cannot read {path}: {e}")))?;
            for entry in entries.flatten() {
                let p = entry.path();
                if p.extension().and_then(|e| e.to_str()) == Some("yaml") && p.is_file() {
                    files.push(p);
                }
            }
            files.sort();
        } else {
            files.push(path.into());
        }
        for file in files {
            let shown = file.display().to_string();
            let text = std::fs::read_to_string(&file)
                .map_err(|e| policy_error(format!("cannot read {shown}: {e}")))?;
            policies.push(
                pii_core::Policy::from_yaml(&shown, &text)
                    .map_err(|e| policy_error(e.to_string()))?,
            );
        }
    }
    Ok(policies)
}

/// A verified receipt, as JavaScript sees it.
#[derive(Debug)]
pub struct VerifiedReceipt {
    kid: String,
    issued_at: u64,
    request_id: Option<String>,
    policy: Option<String>,
    zone: Option<String>,
    locations: Vec<String>,
    more_locations: u64,
    bound_headers: Vec<String>,
    body_bound: bool,
}

fn verify(
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
    keys: &receipt::ReceiptKeys,
    max_age: u64,
    now: Option<u64>,
) -> Result<VerifiedReceipt, Failure> {
    let request = receipt::ReceiptRequest {
        method,
        target,
        headers,
        body,
    };
    let r = receipt::verify_receipt(&request, keys, max_age, now.unwrap_or_else(now_seconds))
        .map_err(|e| Failure::new(receipt_code(&e), e.to_string()))?;
    Ok(VerifiedReceipt {
        kid: r.kid,
        issued_at: r.issued_at,
        request_id: r.request_id,
        policy: r.policy,
        zone: r.zone,
        locations: r.locations,
        more_locations: r.more_locations,
        bound_headers: r.bound_headers,
        body_bound: r.body_bound,
    })
}

/// `ReceiptError:<code>`: index.js splits it into the class and the `code` property.
fn receipt_code(e: &receipt::ReceiptError) -> &'static str {
    match e.code() {
        "missing" => "ReceiptError:missing",
        "repeated" => "ReceiptError:repeated",
        "malformed" => "ReceiptError:malformed",
        "unknown-key" => "ReceiptError:unknown-key",
        "bad-signature" => "ReceiptError:bad-signature",
        "unsupported-version" => "ReceiptError:unsupported-version",
        "expired" => "ReceiptError:expired",
        "from-the-future" => "ReceiptError:from-the-future",
        "method" => "ReceiptError:method",
        "target" => "ReceiptError:target",
        "body" => "ReceiptError:body",
        "headers" => "ReceiptError:headers",
        _ => "ReceiptError:invalid",
    }
}

// napi-derive expands `#[napi]` into `extern "C"` glue and a module registration, which use
// `unsafe`; this module is the only place where that is allowed. The functions are safe Rust
// over the functions above.
#[allow(unsafe_code)]
pub mod exports {
    //! What node sees (`index.js` wraps it; `index.d.ts` types it).
    use napi::bindgen_prelude::Buffer;
    use napi_derive::napi;

    use super::Failure;

    pub mod erasure; // src/exports/erasure.rs

    type Result<T> = napi::Result<T, String>;

    fn js(f: Failure) -> napi::Error<String> {
        napi::Error::new(f.kind.to_owned(), f.message)
    }

    fn pairs(headers: Vec<Vec<String>>) -> Result<Vec<(String, String)>> {
        headers
            .into_iter()
            .map(|pair| match <[String; 2]>::try_from(pair) {
                Ok([name, value]) => Ok((name, value)),
                Err(_) => Err(js(Failure::new(
                    "TypeError",
                    "headers must be [name, value] pairs",
                ))),
            })
            .collect()
    }

    /// The edge's public receipt keys.
    #[napi]
    pub struct ReceiptKeys {
        inner: pii_core::receipt::ReceiptKeys,
    }

    #[napi]
    impl ReceiptKeys {
        /// A public Ed25519 JWK or JWK Set.
        #[napi(factory)]
        pub fn from_jwks(text: String) -> Result<Self> {
            super::load_receipt_keys(&text)
                .map(|inner| ReceiptKeys { inner })
                .map_err(js)
        }

        /// `fromJwks` of a file.
        #[napi(factory)]
        pub fn from_file(path: String) -> Result<Self> {
            let text = super::read_file(&path).map_err(js)?;
            super::load_receipt_keys(&text)
                .map(|inner| ReceiptKeys { inner })
                .map_err(|e| js(Failure::new(e.kind, format!("{path}: {}", e.message))))
        }

        /// The key ids.
        #[napi(getter)]
        pub fn kids(&self) -> Vec<String> {
            self.inner
                .keys()
                .iter()
                .map(|k| k.kid().to_owned())
                .collect()
        }
    }

    /// A verified receipt.
    #[napi(object)]
    pub struct Receipt {
        /// Key id that signed it.
        pub kid: String,
        /// Unix seconds when the edge issued it.
        pub issued_at: f64,
        /// CloudFront's request id.
        pub request_id: Option<String>,
        /// The policy that applied; null when none matched.
        pub policy: Option<String>,
        /// The zone values were sealed to.
        pub zone: Option<String>,
        /// Protected locations (text form).
        pub locations: Vec<String>,
        /// Protected locations not listed.
        pub more_locations: f64,
        /// Header names the receipt binds.
        pub bound_headers: Vec<String>,
        /// Whether the receipt binds the body.
        pub body_bound: bool,
    }

    /// `verifyReceipt(method, target, headers, body, keys, maxAge, now?)` (index.js normalizes
    /// the headers to pairs).
    #[napi]
    pub fn verify_receipt(
        method: String,
        target: String,
        headers: Vec<Vec<String>>,
        body: Buffer,
        keys: &ReceiptKeys,
        max_age: f64,
        now: Option<f64>,
    ) -> Result<Receipt> {
        let headers = pairs(headers)?;
        let r = super::verify(
            &method,
            &target,
            &headers,
            &body,
            &keys.inner,
            seconds(max_age),
            now.map(seconds),
        )
        .map_err(js)?;
        Ok(Receipt {
            kid: r.kid,
            issued_at: r.issued_at as f64,
            request_id: r.request_id,
            policy: r.policy,
            zone: r.zone,
            locations: r.locations,
            more_locations: r.more_locations as f64,
            bound_headers: r.bound_headers,
            body_bound: r.body_bound,
        })
    }

    /// Whole seconds of a JavaScript number (negative and NaN are 0).
    fn seconds(n: f64) -> u64 {
        if n.is_finite() && n > 0.0 {
            n as u64
        } else {
            0
        }
    }

    /// The private keys of one region.
    #[napi]
    pub struct PrivateKeyring {
        inner: pii_core::PrivateKeyring,
    }

    impl PrivateKeyring {
        /// `open_failure`, with `NoKey` saying which zone and key ids the envelope needs.
        fn open_failure(&self, e: super::OpenError, envelope: &str) -> super::Failure {
            match e {
                super::OpenError::NoKey => super::Failure::new(
                    e.name(),
                    super::envelope::no_key_reason(&self.inner, envelope),
                ),
                other => super::open_failure(other),
            }
        }
    }

    #[napi]
    impl PrivateKeyring {
        /// A private X25519 JWK Set.
        #[napi(factory)]
        pub fn from_jwks(text: String) -> Result<Self> {
            let text = zeroize::Zeroizing::new(text);
            super::load_private(&text)
                .map(|inner| PrivateKeyring { inner })
                .map_err(js)
        }

        /// `fromJwks` of a file.
        #[napi(factory)]
        pub fn from_file(path: String) -> Result<Self> {
            let text = super::read_file(&path).map_err(js)?;
            super::load_private(&text)
                .map(|inner| PrivateKeyring { inner })
                .map_err(|e| js(Failure::new(e.kind, format!("{path}: {}", e.message))))
        }

        /// The zones this keyring opens.
        #[napi(getter)]
        pub fn zones(&self) -> Vec<String> {
            self.inner.zones().into_iter().map(str::to_owned).collect()
        }

        /// `open(envelope)`: kind, plaintext (JSON text or raw text) and binding.
        #[napi]
        pub fn open(&self, envelope: String) -> Result<OpenedValue> {
            let o = super::envelope::open(&self.inner, &envelope)
                .map_err(|e| js(self.open_failure(e, &envelope)))?;
            opened(&o)
        }

        /// `openExpecting(envelope, policy, zone, location)`.
        #[napi]
        pub fn open_expecting(
            &self,
            envelope: String,
            policy: String,
            zone: String,
            location: String,
        ) -> Result<OpenedValue> {
            let location = super::parse_location(&location).map_err(js)?;
            let expected = super::envelope::Binding::new(policy, zone, location);
            let o = super::envelope::open_expecting(&self.inner, &envelope, &expected)
                .map_err(|e| js(self.open_failure(e, &envelope)))?;
            opened(&o)
        }

        /// `reveal(method, path, query, headers, body, policy?, zone?, strict?)`.
        #[napi]
        #[allow(clippy::too_many_arguments)]
        pub fn reveal(
            &self,
            method: String,
            path: String,
            query: String,
            headers: Vec<Vec<String>>,
            body: Buffer,
            policy: Option<String>,
            zone: Option<String>,
            strict: Option<&Policies>,
        ) -> Result<RevealedRequest> {
            let mut request = pii_core::Request::new(method, path).with_query(query);
            request.headers = pairs(headers)?;
            request.body = body.to_vec();
            let expect = pii_core::reveal::Expect {
                policy: policy.as_deref(),
                zone: zone.as_deref(),
            };
            let revealed = match strict {
                Some(p) => p
                    .strict
                    .reveal(&self.inner, &request, expect)
                    .map_err(|e| js(super::strict_failure(e)))?,
                None => pii_core::reveal(&self.inner, &request, expect)
                    .map_err(|e| js(super::reveal_failure(e)))?,
            };
            let fields = revealed
                .fields
                .iter()
                .map(|f| RevealedValue {
                    kind: f.kind.name().to_owned(),
                    binding: binding(&f.binding),
                })
                .collect();
            let r = revealed.request;
            Ok(RevealedRequest {
                method: r.method,
                path: r.path,
                query: r.query,
                headers: r.headers.into_iter().map(|(n, v)| vec![n, v]).collect(),
                body: r.body.into(),
                fields,
            })
        }
    }

    /// Policy, zone and location (text form) of a sealed value.
    #[napi(object)]
    pub struct ValueBinding {
        /// Policy that sealed it.
        pub policy: String,
        /// Zone it was sealed for.
        pub zone: String,
        /// Location, text form.
        pub location: String,
    }

    fn binding(b: &pii_core::envelope::Binding) -> ValueBinding {
        ValueBinding {
            policy: b.policy.clone(),
            zone: b.zone.clone(),
            location: b.location.to_string(),
        }
    }

    /// An opened value before index.js restores its JSON type.
    #[napi(object)]
    pub struct OpenedValue {
        /// `text`, `string`, `number`, `bool`, `null`, `object` or `array`.
        pub kind: String,
        /// JSON text of the value (raw text for `text`).
        pub plaintext: String,
        /// Where it belongs.
        pub binding: ValueBinding,
    }

    fn opened(o: &pii_core::envelope::Opened) -> Result<OpenedValue> {
        let plaintext = std::str::from_utf8(o.plaintext())
            .map_err(|_| js(Failure::new("Malformed", "the opened value is not UTF-8")))?
            .to_owned();
        Ok(OpenedValue {
            kind: o.kind().name().to_owned(),
            plaintext,
            binding: binding(o.binding()),
        })
    }

    /// One opened value of a revealed request.
    #[napi(object)]
    pub struct RevealedValue {
        /// The kind.
        pub kind: String,
        /// Where it belongs.
        pub binding: ValueBinding,
    }

    /// A revealed request.
    #[napi(object)]
    pub struct RevealedRequest {
        /// Method.
        pub method: String,
        /// Path.
        pub path: String,
        /// Raw query.
        pub query: String,
        /// `[name, value]` pairs.
        pub headers: Vec<Vec<String>>,
        /// Body.
        pub body: Buffer,
        /// One report per opened value.
        pub fields: Vec<RevealedValue>,
    }

    /// Policies compiled for strict opening.
    #[napi]
    pub struct Policies {
        strict: pii_core::strict::Strict,
        names: Vec<String>,
    }

    #[napi]
    impl Policies {
        /// Policies from YAML files or directories of them.
        #[napi(factory)]
        pub fn from_files(paths: Vec<String>) -> Result<Self> {
            let policies = super::load_policies(&paths).map_err(js)?;
            let names = policies.iter().map(|p| p.name().to_owned()).collect();
            let strict = super::Strict::new(&policies)
                .map_err(|e| js(Failure::new("PolicyError", e.to_string())))?;
            Ok(Policies { strict, names })
        }

        /// The policy names.
        #[napi(getter)]
        pub fn names(&self) -> Vec<String> {
            self.names.clone()
        }
    }

    /// Location parts of a text form: `{part, name?, index?, path?}`; throws LocationError.
    #[napi(object)]
    pub struct LocationParts {
        /// `json`, `header`, `query`, `form` or `cookie`.
        pub part: String,
        /// The field name.
        pub name: Option<String>,
        /// Which value of that name.
        pub index: Option<u32>,
        /// JSON path elements: names as strings, indexes as numbers.
        pub path: Option<Vec<napi::Either<String, u32>>>,
        /// The canonical text form.
        pub text: String,
    }

    fn parts_of(location: &super::Location) -> LocationParts {
        let text = location.to_string();
        match location {
            super::Location::Json(path) => LocationParts {
                part: "json".to_owned(),
                name: None,
                index: None,
                path: Some(
                    path.iter()
                        .map(|e| match e {
                            super::PathElement::Name(n) => napi::Either::A(n.clone()),
                            super::PathElement::Index(i) => {
                                napi::Either::B(u32::try_from(*i).unwrap_or(u32::MAX))
                            }
                        })
                        .collect(),
                ),
                text,
            },
            super::Location::Field { part, name, index } => LocationParts {
                part: part.as_str().to_owned(),
                name: Some(name.clone()),
                index: Some(u32::try_from(*index).unwrap_or(u32::MAX)),
                path: None,
                text,
            },
            _ => LocationParts {
                part: "unknown".to_owned(),
                name: None,
                index: None,
                path: None,
                text,
            },
        }
    }

    /// `isEnvelope(text)`: whether `text` has the form of an envelope (opens nothing).
    #[napi]
    pub fn is_envelope(text: String) -> bool {
        super::envelope::is_envelope(&text)
    }

    /// `parseLocation(text)`.
    #[napi]
    pub fn parse_location(text: String) -> Result<LocationParts> {
        super::parse_location(&text)
            .map(|l| parts_of(&l))
            .map_err(js)
    }

    /// `jsonLocation(path)`: the location of a JSON path (names and indexes).
    #[napi]
    pub fn json_location(path: Vec<napi::Either<String, u32>>) -> LocationParts {
        let elements = path
            .into_iter()
            .map(|e| match e {
                napi::Either::A(n) => super::PathElement::Name(n),
                napi::Either::B(i) => super::PathElement::Index(i as usize),
            })
            .collect();
        parts_of(&super::Location::json(elements))
    }

    /// `fieldLocation(part, name, index)`.
    #[napi]
    pub fn field_location(part: String, name: String, index: u32) -> Result<LocationParts> {
        let part = super::part_of(&part).map_err(js)?;
        Ok(parts_of(&super::Location::field(
            part,
            name,
            index as usize,
        )))
    }
}
