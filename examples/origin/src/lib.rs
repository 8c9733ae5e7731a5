//! The regional side of pii-edge, for platform teams: a Lambda function behind API Gateway
//! (HTTP API, payload format 2.0, or a function URL) in one region of a residency zone. It
//! opens the fields the edge sealed for its zone with its region's private key, refuses fields
//! of any other zone, and shows where the plaintext may and may not go.
//!
//! - The private keyring is loaded **once per cold start**, from a file (`PII_EDGE_KEYS_FILE`;
//!   in production fetch it from Secrets Manager or derive it from KMS in the same region and
//!   write it to memory only). It is never part of the edge package and never of this code.
//! - `PII_EDGE_ZONE` names the zone this region serves; `PII_EDGE_POLICY` the policy whose
//!   name the edge bound into the envelopes of this route.
//!
//! ```no_run
//! let origin = pii_edge_origin_example::Origin::from_env().expect("configured");
//! ```
#![forbid(unsafe_code)]

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use base64::Engine as _;
use pii_core::envelope::OpenError;
use pii_core::{reveal, PrivateKeyring, Request};

/// The origin's configuration, built once per cold start.
pub struct Origin {
    keys: PrivateKeyring,
    zone: String,
    policy: String,
}

impl std::fmt::Debug for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The keyring's own Debug prints key ids only; still, say nothing more than needed.
        f.debug_struct("Origin")
            .field("zone", &self.zone)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Origin {
    /// An origin for `zone` and `policy` with this region's private keyring (JWKS text).
    /// Refuses a keyring that holds no key of `zone`: such a region could open nothing.
    pub fn new(private_jwks: &str, zone: &str, policy: &str) -> Result<Origin, String> {
        let keys = PrivateKeyring::from_jwks(private_jwks).map_err(|e| e.to_string())?;
        if !keys.zones().contains(&zone) {
            return Err(format!(
                "the private keyring has no key for zone `{zone}`; load this region's keys"
            ));
        }
        Ok(Origin {
            keys,
            zone: zone.to_owned(),
            policy: policy.to_owned(),
        })
    }

    /// Configuration from the environment (regional Lambdas have environment variables; the
    /// edge does not).
    pub fn from_env() -> Result<Origin, String> {
        let var = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
        let path = var("PII_EDGE_KEYS_FILE")?;
        let jwks = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read the private keyring {path}: {e}"))?;
        Origin::new(&jwks, &var("PII_EDGE_ZONE")?, &var("PII_EDGE_POLICY")?)
    }

    /// Handle one request: open every envelope, use the plaintext, answer without it.
    pub fn handle(&self, event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
        let request = match to_request(&event) {
            Some(r) => r,
            None => return respond(400, r#"{"title":"Unreadable request body"}"#),
        };
        let revealed = match reveal(
            &self.keys,
            &request,
            pii_core::reveal::Expect {
                policy: Some(&self.policy),
                zone: Some(&self.zone),
            },
        ) {
            Ok(r) => r,
            // Another zone's data must never be read here, whatever key might fit.
            Err(e) if e.error == OpenError::WrongZone => {
                return respond(403, r#"{"title":"Data of another residency zone"}"#)
            }
            // Terse on purpose: a failed opening tells the sender nothing useful.
            Err(_) => return respond(400, r#"{"title":"Protected fields did not open"}"#),
        };

        // WHERE THE PLAINTEXT MAY GO: this function's memory, for as long as it needs it, and
        // services of this same zone over TLS (say, the regional mail service sending the
        // welcome e-mail). WHERE IT MAY NOT GO: logs and traces, the HTTP response, queues or
        // stores shared with other regions, and anything outside the zone. Store the envelopes
        // (the protected body as it arrived), not the plaintext: every region of the zone can
        // open them again after a failover, and backups hold ciphertext only.
        let body: serde_json::Value =
            serde_json::from_slice(&revealed.request.body).unwrap_or_default();
        let has_email = body
            .pointer("/user/email")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|e| e.contains('@'));

        respond(
            201,
            &serde_json::json!({
                "stored": "ciphertext",
                "opened": revealed.opened(),
                "emailLooksValid": has_email,
                "zone": self.zone,
            })
            .to_string(),
        )
    }
}

/// The transport-neutral request of an API Gateway HTTP API (v2) event.
fn to_request(event: &ApiGatewayV2httpRequest) -> Option<Request> {
    let body = match (&event.body, event.is_base64_encoded) {
        (None, _) => Vec::new(),
        (Some(b), true) => base64::engine::general_purpose::STANDARD.decode(b).ok()?,
        (Some(b), false) => b.clone().into_bytes(),
    };
    let mut req = Request::new(
        event.request_context.http.method.as_str(),
        event.raw_path.clone().unwrap_or_default(),
    )
    .with_query(event.raw_query_string.clone().unwrap_or_default())
    .with_body(body);
    for (name, value) in &event.headers {
        req = req.with_header(name.as_str(), value.to_str().ok()?);
    }
    // HTTP APIs move cookies out of the headers.
    if let Some(cookies) = &event.cookies {
        req = req.with_header("cookie", cookies.join("; "));
    }
    Some(req)
}

fn respond(status: i64, json: &str) -> ApiGatewayV2httpResponse {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = status;
    response.headers = headers;
    response.body = Some(Body::Text(json.to_owned()));
    response
}
