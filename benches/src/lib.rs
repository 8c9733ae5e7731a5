//! # pii-bench
//!
//! Fixtures and floors for the pii-edge benchmarks (issue 7): request bodies of 1 KB, 10 KB and
//! 40 KB with 1 to 100 protected fields, the policy that selects them, keys, CloudFront events,
//! and the reference costs the engine is compared with:
//!
//! - the **physical floor**: base64 decode + encode of the body and a validating scan of the
//!   same JSON that builds nothing (`serde::de::IgnoredAny`), plus, reported apart, one X25519
//!   operation (ephemeral key, agreement, HKDF, AES-256-GCM of a 32-byte key: the public-key
//!   part of sealing one request to one recipient);
//! - the **DOM floor**: base64 decode, `serde_json::Value` parse + serialize, base64 encode.
//!
//! The criterion benches (`benches/request.rs`, run by `cargo bench -p pii-bench`) and the
//! `pii-bench` tool (fixtures for the Node.js handlers, one-shot timing for the smoke run) use
//! this library. `scripts/bench.sh` runs everything; `benches/README.md` has the results.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use edge_fn::bundle::Edge;
use edge_fn::log::LogSink;
use pii_core::{
    keys::PrivateKey, spec::PolicySpec, Engine, Policy, PrivateKeyring, PublicKeyring, Request,
};
use ring::{aead, agreement, hkdf, rand};
use serde_json::{json, Value};

/// Body sizes of the benchmark: label and size in bytes of the compact JSON body.
pub const SIZES: [(&str, usize); 3] = [("1KB", 1_000), ("10KB", 10_000), ("40KB", 40_000)];

/// Protected field counts of the benchmark (5 is issue 7's reference point).
pub const FIELDS: [usize; 4] = [1, 5, 10, 100];

/// Residency zone of the benchmark policy.
pub const ZONE: &str = "eu-central";

/// Path the benchmark policy protects.
pub const PATH: &str = "/api/bench";

/// The JSONPath selecting the protected fields: every member of `pii`.
pub const SELECTOR: &str = "$.pii[*]";

/// A JSON body of exactly `size` bytes (when `size` leaves room for the fields) with `fields`
/// protected values under `pii` and filler items that the policy does not select. The
/// protected values are e-mail addresses, or 3-character strings when more than 20 must fit.
pub fn body(size: usize, fields: usize) -> Vec<u8> {
    let pii: Vec<Value> = (0..fields)
        .map(|i| Value::from(pii_value(i, fields)))
        .collect();
    let mut items: Vec<Value> = Vec::new();
    let doc = |items: &[Value], note: &str| {
        json!({
            "orderId": "ord-2026-000017",
            "pii": pii,
            "items": items,
            "note": note,
            "amount": 12345678901234567890u64,
        })
    };
    let len = |v: &Value| serde_json::to_vec(v).map(|v| v.len()).unwrap_or(usize::MAX);
    loop {
        let next = json!({
            "sku": format!("SKU-{:06}", items.len()),
            "qty": items.len() % 7 + 1,
            "price": 19.99,
            "title": "Merino wool socks, anthracite, size 42-44",
        });
        items.push(next);
        if len(&doc(&items, "")) > size {
            items.pop();
            break;
        }
    }
    let room = size.saturating_sub(len(&doc(&items, "")));
    let out = serde_json::to_vec(&doc(&items, &"x".repeat(room))).unwrap_or_default();
    debug_assert!(out.len() == size || room == 0);
    out
}

/// The i-th protected value: an e-mail address, shortened when many must fit in 1 KB.
fn pii_value(i: usize, fields: usize) -> String {
    if fields > 20 {
        format!("p{i:02}")
    } else {
        format!("user{i}@example.de")
    }
}

/// The benchmark policy (JSON form): requests `POST /api/bench` with a JSON body; every value
/// of `$.pii[*]` gets `action` (`encrypt`, `mask`, ...), sealed to [`ZONE`].
pub fn policy_spec(action: &str) -> PolicySpec {
    policy_spec_with(action, SELECTOR)
}

/// [`SELECTOR`] written as a slice: it selects the same values, but slices are outside the
/// one-pass JSONPath subset, so the engine evaluates it on a `serde_json::Value` tree (the
/// engine before the one-pass evaluation). The baseline of the `apart/tree-*` benchmarks.
pub const TREE_SELECTOR: &str = "$.pii[0:]";

/// The benchmark policy with another JSONPath.
pub fn policy_spec_with(action: &str, selector: &str) -> PolicySpec {
    let mut rule = json!({"name": "pii", "select": {"json": selector}, "action": action});
    if action == "mask" {
        rule["keepFirst"] = json!(1);
    }
    serde_json::from_value(json!({
        "apiVersion": "pii-edge/v1",
        "name": "bench",
        "zone": ZONE,
        "match": {"methods": ["POST"], "paths": [PATH], "contentTypes": ["application/json"]},
        "rules": [rule],
    }))
    .expect("the benchmark policy is valid")
}

/// `recipients` freshly generated X25519 keys of [`ZONE`] (one per region).
pub fn keys(recipients: usize) -> PrivateKeyring {
    let mut ring = PrivateKeyring::default();
    for r in 0..recipients {
        let key = PrivateKey::generate(ZONE, &format!("eu-central-{}", r + 1), 1_767_225_600)
            .expect("key generation");
        ring.push(key);
    }
    ring
}

/// The engine alone, compiled once, with the benchmark policy.
pub fn engine(action: &str, keys: &PublicKeyring) -> Engine {
    engine_with(action, SELECTOR, keys)
}

/// The engine alone with the benchmark policy selecting with `selector`.
pub fn engine_with(action: &str, selector: &str, keys: &PublicKeyring) -> Engine {
    let policy = Policy::compile(policy_spec_with(action, selector)).expect("policy compiles");
    Engine::new(vec![policy], keys.clone(), Default::default()).expect("engine")
}

/// The request the engine sees (method, path, content type, decoded body).
pub fn request(body: &[u8]) -> Request {
    Request::new("POST", PATH)
        .with_header("Content-Type", "application/json")
        .with_body(body.to_vec())
}

/// The bundle document (policies + public keys) the edge package would carry.
pub fn bundle(action: &str, keys: &PublicKeyring) -> String {
    edge_fn::bundle::build_bundle(&[policy_spec(action)], &keys.to_jwks(), None)
        .expect("bundle builds")
}

/// The reuse limits of the `reuse` variants: one encapsulation for at most 5 minutes and
/// 100,000 values (the bundle's `reuse`, docs/envelope.md §10.1).
pub const REUSE: (u64, u64) = (300, 100_000);

/// [`bundle`] with one encapsulation reused across requests within [`REUSE`].
pub fn bundle_with_reuse(action: &str, keys: &PublicKeyring) -> String {
    let mut bundle: Value = serde_json::from_str(&bundle(action, keys)).expect("bundle is JSON");
    bundle["reuse"] = json!({"maxAgeSeconds": REUSE.0, "maxFields": REUSE.1});
    bundle.to_string()
}

/// A log sink that formats nothing further and writes nothing (the line is still built by
/// the handler; only the `write` system call of the real sink is left out).
#[derive(Debug, Default)]
pub struct NullSink;

impl LogSink for NullSink {
    fn write_line(&self, line: &str) {
        std::hint::black_box(line);
    }
}

/// The edge handler state for a bundle, logging to [`NullSink`].
pub fn edge(bundle: &str) -> Edge {
    let edge = Edge::from_bundle_with_log(bundle, Arc::new(NullSink));
    assert!(edge.is_ready(), "bundle loads");
    edge
}

/// A CloudFront origin-request event carrying `body` (base64, as CloudFront sends it with
/// "include body"). Origin-request, because its 1 MB body limit lets a 40 KB body grow by
/// its envelopes; on viewer-request a 40 KB body that grows at all must be rejected.
pub fn event(body: &[u8]) -> String {
    json!({"Records": [{"cf": {
        "config": {
            "distributionDomainName": "d111111abcdef8.cloudfront.net",
            "distributionId": "EDFDVBD6EXAMPLE",
            "eventType": "origin-request",
            "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ=="
        },
        "request": {
            "clientIp": "203.0.113.178",
            "headers": {
                "host": [{"key": "Host", "value": "api.example.de"}],
                "user-agent": [{"key": "User-Agent", "value": "Amazon CloudFront"}],
                "via": [{"key": "Via", "value": "2.0 2afae0d44e2540f472c0635ab62c232b.cloudfront.net (CloudFront)"}],
                "content-type": [{"key": "Content-Type", "value": "application/json"}],
                "content-length": [{"key": "Content-Length", "value": body.len().to_string()}],
                "accept": [{"key": "Accept", "value": "application/json"}]
            },
            "method": "POST",
            "querystring": "",
            "uri": PATH,
            "origin": {"custom": {
                "customHeaders": {}, "domainName": "api.eu-central-1.example.de",
                "keepaliveTimeout": 5, "path": "", "port": 443, "protocol": "https",
                "readTimeout": 30, "sslProtocols": ["TLSv1.2"]
            }},
            "body": {
                "inputTruncated": false,
                "action": "read-only",
                "encoding": "base64",
                "data": STANDARD.encode(body)
            }
        }
    }}]})
    .to_string()
}

/// An event of [`event`] split the way the Node.js package passes it to the addon
/// (`edge_fn::handle_parts`): the event JSON with the body's `data` set to `""`, and the data.
pub fn event_apart(event: &str) -> (String, String) {
    let mut value: Value = serde_json::from_str(event).expect("bench events are JSON");
    let body = &mut value["Records"][0]["cf"]["request"]["body"]["data"];
    let data = body.as_str().unwrap_or_default().to_owned();
    *body = Value::from("");
    (value.to_string(), data)
}

/// The physical floor: base64 decode of the body, a validating scan that builds nothing,
/// base64 encode. Returns a length so the work cannot be optimized away.
pub fn physical_floor(body_b64: &str) -> usize {
    let raw = STANDARD.decode(body_b64).unwrap_or_default();
    let scan: Result<serde::de::IgnoredAny, _> = serde_json::from_slice(&raw);
    STANDARD.encode(&raw).len() + usize::from(scan.is_ok())
}

/// The DOM floor: base64 decode, parse into `serde_json::Value`, serialize, base64 encode.
pub fn dom_floor(body_b64: &str) -> usize {
    let raw = STANDARD.decode(body_b64).unwrap_or_default();
    let value: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    let out = serde_json::to_vec(&value).unwrap_or_default();
    STANDARD.encode(&out).len()
}

/// One X25519 operation as a sealer pays it per request and recipient: a fresh ephemeral key
/// (its public half included), the agreement with the recipient's public key, HKDF-SHA256 and
/// AES-256-GCM of a 32-byte data key (ring).
pub struct X25519Floor {
    peer: [u8; 32],
    rng: rand::SystemRandom,
}

impl X25519Floor {
    /// A floor sealing to a fresh random recipient.
    pub fn new() -> Self {
        let rng = rand::SystemRandom::new();
        let private = agreement::EphemeralPrivateKey::generate(&agreement::X25519, &rng)
            .expect("key generation");
        let mut peer = [0u8; 32];
        peer.copy_from_slice(private.compute_public_key().expect("public key").as_ref());
        X25519Floor { peer, rng }
    }

    /// Seal a 32-byte key once; returns the ciphertext length.
    pub fn seal(&self) -> usize {
        let Ok(eph) = agreement::EphemeralPrivateKey::generate(&agreement::X25519, &self.rng)
        else {
            return 0;
        };
        let Ok(public) = eph.compute_public_key() else {
            return 0;
        };
        let peer = agreement::UnparsedPublicKey::new(&agreement::X25519, &self.peer);
        agreement::agree_ephemeral(eph, &peer, |shared| wrap_key(public.as_ref(), shared))
            .unwrap_or(0)
    }

    /// Only the ephemeral key and its public half (the fixed-base scalar multiplication), no
    /// agreement: `seal` minus this is the agreement (variable-base) plus HKDF and AES-GCM.
    pub fn keygen(&self) -> usize {
        agreement::EphemeralPrivateKey::generate(&agreement::X25519, &self.rng)
            .and_then(|eph| eph.compute_public_key())
            .map_or(0, |public| public.as_ref().len())
    }

    /// [`seal`](Self::seal) with x25519-dalek 2 (curve25519-dalek 4, precomputed base-point
    /// table) for the key and the agreement; the 32 random bytes, HKDF and AES-GCM stay ring's.
    /// The other well-kept X25519, measured beside ring's in the same program.
    pub fn seal_dalek(&self) -> usize {
        let mut secret = [0u8; 32];
        if rand::SecureRandom::fill(&self.rng, &mut secret).is_err() {
            return 0;
        }
        let secret = x25519_dalek::StaticSecret::from(secret);
        let public = x25519_dalek::PublicKey::from(&secret);
        let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(self.peer));
        wrap_key(public.as_bytes(), shared.as_bytes())
    }
}

/// HKDF-SHA256 from the shared secret, then AES-256-GCM of a 32-byte data key under it: what
/// a sealer does after the agreement (ring). Returns the ciphertext length (0 on failure).
fn wrap_key(public: &[u8], shared: &[u8]) -> usize {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, public).extract(shared);
    let mut k = [0u8; 32];
    let filled = prk
        .expand(&[b"pii-bench"], &aead::AES_256_GCM)
        .and_then(|okm| okm.fill(&mut k));
    let Ok(Ok(key)) = filled.map(|()| aead::UnboundKey::new(&aead::AES_256_GCM, &k)) else {
        return 0;
    };
    let key = aead::LessSafeKey::new(key);
    let mut data = vec![7u8; 32];
    let nonce = aead::Nonce::assume_unique_for_key([0u8; 12]);
    match key.seal_in_place_append_tag(nonce, aead::Aad::empty(), &mut data) {
        Ok(()) => data.len(),
        Err(_) => 0,
    }
}

impl Default for X25519Floor {
    fn default() -> Self {
        Self::new()
    }
}

/// Everything one benchmark case needs, built once.
pub struct Case {
    /// Size label (`1KB`, ...).
    pub label: &'static str,
    /// Protected fields.
    pub fields: usize,
    /// The decoded body.
    pub body: Vec<u8>,
    /// The body as CloudFront sends it (base64).
    pub body_b64: String,
    /// The request for the engine alone.
    pub request: Request,
    /// The CloudFront event for the full path.
    pub event: String,
}

impl Case {
    /// Build the case for one size and field count.
    pub fn new(label: &'static str, size: usize, fields: usize) -> Case {
        let body = body(size, fields);
        Case {
            label,
            fields,
            body_b64: STANDARD.encode(&body),
            request: request(&body),
            event: event(&body),
            body,
        }
    }

    /// `1KB/5` style id.
    pub fn id(&self) -> String {
        format!("{}/{}", self.label, self.fields)
    }
}

/// Every case: each size with each field count.
pub fn cases() -> Vec<Case> {
    SIZES
        .iter()
        .flat_map(|&(label, size)| FIELDS.iter().map(move |&f| Case::new(label, size, f)))
        .collect()
}

/// The timing of the origin-package benchmarks (`pii-reveal-bench`, `pii-erasure-bench`, and
/// the Python and Node.js scripts beside them): the median over 15 rounds of at least 20 ms of
/// calling `f`, in microseconds per call. The first error of `f` ends the measurement.
pub fn median_us<T, E: ToString>(mut f: impl FnMut() -> Result<T, E>) -> Result<f64, String> {
    let mut rounds = Vec::with_capacity(15);
    for _ in 0..15 {
        let start = std::time::Instant::now();
        let mut n = 0u32;
        while start.elapsed() < std::time::Duration::from_millis(20) {
            std::hint::black_box(f().map_err(|e| e.to_string())?);
            n += 1;
        }
        rounds.push(start.elapsed().as_secs_f64() * 1e6 / f64::from(n));
    }
    rounds.sort_by(f64::total_cmp);
    Ok(rounds[rounds.len() / 2])
}
