//! The Node.js face of pii-core (`pii_edge_origin.node`): open envelopes, reveal requests,
//! verify receipts. Every operation is pii-core's; this crate converts JavaScript values to
//! Rust and back, and pii-core's errors to JavaScript errors whose `code` names the Rust error
//! kind (`WrongZone`, `NoKey`, `Tampered`, `ReceiptError`, ...). `index.js` turns them into
//! the typed error classes of `index.d.ts`.
//!
//! No message, property or error carries a plaintext value or key material.
#![deny(unsafe_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use pii_core::receipt;

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

fn read_file(path: &str) -> Result<zeroize::Zeroizing<String>, Failure> {
    std::fs::read_to_string(path)
        .map(zeroize::Zeroizing::new)
        .map_err(|e| Failure::new("PiiEdgeError", format!("cannot read {path}: {e}")))
}

fn load_receipt_keys(text: &str) -> Result<receipt::ReceiptKeys, Failure> {
    receipt::ReceiptKeys::from_jwks(text).map_err(|e| Failure::new("InvalidKeys", e.to_string()))
}

fn load_private(text: &str) -> Result<pii_core::PrivateKeyring, Failure> {
    pii_core::PrivateKeyring::from_jwks(text)
        .map_err(|e| Failure::new("InvalidKeys", e.to_string()))
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
    }
}
