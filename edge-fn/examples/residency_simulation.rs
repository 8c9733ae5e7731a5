//! A local multi-region simulation of residency and failover.
//!
//! One small HTTP origin per region runs on loopback, each holding only its own region's private
//! key. Requests from users of several countries go through the edge pipeline exactly as
//! CloudFront would run it: the viewer-request trigger seals their personal data to every region
//! of their zone, the origin-request trigger picks the zone's first available region. Midway,
//! one region is stopped; the operator's health signal (the bundle's `unavailable` list, see
//! docs/decisions/0003-region-health-signal.md) is updated, and the pipeline retries the
//! request that failed. Every origin opens what it receives with its own key; an envelope of
//! another zone would not open there.
//!
//! A second run takes the zone from a verified identity token instead (issue 22): each user
//! sends an `Authorization: Bearer` token of a simulated identity provider whose
//! `custom:residency` claim names their country, and a viewer header that names a country of
//! *another* zone (a traveller, or someone choosing where their data goes). The route requires
//! a token, so the token decides: nothing may be sealed to, or served by, the header's zone.
//!
//! Run it: `cargo run -p edge-fn --example residency_simulation`. The integration test
//! `tests/residency_simulation.rs` runs the same code and checks the report.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;
use edge_fn::bundle::Edge;
use edge_fn::handler::handle_value;
use edge_fn::log::MemorySink;
use pii_core::{keys::PrivateKey, reveal, PrivateKeyring, Request};
use serde_json::{json, Value};

/// Zones of the simulation: name -> regions in preference order.
pub(crate) const ZONES: [(&str, [&str; 2]); 3] = [
    ("eu-central", ["eu-central-1", "eu-central-2"]),
    ("eu-west", ["eu-west-1", "eu-west-3"]),
    ("eu-south", ["eu-south-2", "eu-south-1"]),
];

/// Users' countries and the zone each belongs to.
pub(crate) const COUNTRIES: [(&str, &str); 6] = [
    ("DE", "eu-central"),
    ("AT", "eu-central"),
    ("FR", "eu-west"),
    ("IE", "eu-west"),
    ("ES", "eu-south"),
    ("IT", "eu-south"),
];

const POLICY: &str = "signup";

/// The simulated identity provider (issue 22): its issuer, audience and signing key's seed.
const ISSUER: &str = "https://idp.simulation.test/pool";
const AUDIENCE: &str = "shop";
const IDP_SEED: [u8; 32] = [42; 32];

/// What the run measured.
#[derive(Debug, Default, Clone)]
pub(crate) struct Report {
    /// Requests sent through the edge.
    pub(crate) sent: usize,
    /// Requests served (opened and stored) per region.
    pub(crate) served: BTreeMap<String, usize>,
    /// Requests that had to go to another region of their zone.
    pub(crate) failovers: usize,
    /// Requests served by a region outside their zone, or that their region could not open.
    pub(crate) misrouted: usize,
    /// Requests no region served.
    pub(crate) lost: usize,
    /// Envelopes that opened in a region of another zone (cross-zone attempts, must stay 0).
    pub(crate) opened_elsewhere: usize,
    /// Cross-zone opening attempts made to check the above.
    pub(crate) cross_zone_attempts: usize,
    /// Requests whose protected form still held a plaintext value.
    pub(crate) plaintext_leaks: usize,
    /// With identity tokens: requests sealed to a zone the token does not name, or refused.
    pub(crate) not_token_zone: usize,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "requests sent:        {}", self.sent)?;
        for (region, n) in &self.served {
            writeln!(f, "served by {region:<13} {n}")?;
        }
        writeln!(f, "failovers:            {}", self.failovers)?;
        writeln!(f, "misrouted:            {} (must be 0)", self.misrouted)?;
        writeln!(f, "lost:                 {} (must be 0)", self.lost)?;
        writeln!(
            f,
            "plaintext leaks:      {} (must be 0)",
            self.plaintext_leaks
        )?;
        writeln!(
            f,
            "not the token's zone: {} (must be 0)",
            self.not_token_zone
        )?;
        write!(
            f,
            "opened in other zone: {} of {} attempts (must be 0)",
            self.opened_elsewhere, self.cross_zone_attempts
        )
    }
}

/// One region's origin: an HTTP server on loopback holding only its region's private key.
struct Origin {
    region: String,
    zone: String,
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// (opened envelopes) per served request.
    stored: Arc<Mutex<Vec<usize>>>,
    /// Requests this origin could not open (another zone's data, or tampered).
    refused: Arc<Mutex<usize>>,
}

impl Origin {
    fn start(region: &str, zone: &str, key_jwk: String) -> std::io::Result<Origin> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let stored = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(Mutex::new(0));
        let keys = PrivateKeyring::from_jwks(&format!("{{\"keys\":[{key_jwk}]}}"))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let (z, s, r, st) = (
            zone.to_string(),
            stored.clone(),
            refused.clone(),
            stop.clone(),
        );
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => serve(stream, &keys, &z, &s, &r),
                    Err(_) => std::thread::sleep(Duration::from_millis(1)),
                }
            }
            // Dropping the listener here: connections are refused from now on.
        });
        Ok(Origin {
            region: region.to_string(),
            zone: zone.to_string(),
            port,
            stop,
            thread: Some(thread),
            stored,
            refused,
        })
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Handle one HTTP/1.1 request: open every envelope with this region's key, answer 200 with
/// the number opened, or 403 when anything does not open here.
fn serve(
    stream: TcpStream,
    keys: &PrivateKeyring,
    zone: &str,
    stored: &Mutex<Vec<usize>>,
    refused: &Mutex<usize>,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut body = vec![0; length.min(1 << 20)];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let mut req = Request::new("POST", "/api/users").with_body(body);
    req.headers = headers;
    let (status, text) = match reveal(
        keys,
        &req,
        pii_core::reveal::Expect {
            policy: Some(POLICY),
            zone: Some(zone),
        },
    ) {
        Ok(r) if r.opened() > 0 => {
            if let Ok(mut s) = stored.lock() {
                s.push(r.opened());
            }
            (200, format!("{{\"opened\":{}}}", r.opened()))
        }
        _ => {
            if let Ok(mut n) = refused.lock() {
                *n += 1;
            }
            (403, "{\"error\":\"cannot open here\"}".to_string())
        }
    };
    let mut out = stream;
    let _ = write!(
        out,
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    );
}

/// POST a protected request to an origin; `None` when the region cannot be reached.
fn post(port: u16, headers: &[(String, String)], body: &[u8]) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut head = String::from("POST /api/users HTTP/1.1\r\n");
    for (k, v) in headers {
        if !k.eq_ignore_ascii_case("content-length") {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    resp.split_whitespace().nth(1)?.parse().ok()
}

/// The identity provider's key pair (ring, the project's one crypto stack).
fn idp_key() -> Result<ring::signature::Ed25519KeyPair, String> {
    ring::signature::Ed25519KeyPair::from_seed_unchecked(&IDP_SEED).map_err(|e| e.to_string())
}

/// The residency file's `identity` section: the provider's public key set, the zone from the
/// `custom:residency` claim, a token required on the sign-up route.
fn identity_section() -> Result<Value, String> {
    use ring::signature::KeyPair as _;
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(idp_key()?.public_key());
    Ok(json!({
        "issuers": [{"issuer": ISSUER, "audiences": [AUDIENCE],
                     "jwks": {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "sim-1", "x": x}]}}],
        "zoneClaim": "custom:residency",
        "required": ["/api/users"]
    }))
}

/// An identity token of user `sub` whose residency claim is `country` (EdDSA, compact JWS).
fn mint(sub: &str, country: &str) -> Result<String, String> {
    let b64 = |d: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let header = b64(br#"{"alg":"EdDSA","kid":"sim-1"}"#);
    let claims = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + 600,
                        "custom:residency": country});
    let signing_input = format!("{header}.{}", b64(claims.to_string().as_bytes()));
    let signature = idp_key()?.sign(signing_input.as_bytes());
    Ok(format!("{signing_input}.{}", b64(signature.as_ref())))
}

fn bundle(
    public_jwks: &Value,
    origins: &BTreeMap<String, u16>,
    unavailable: &[String],
    identity: Option<&Value>,
) -> String {
    let zones: serde_json::Map<String, Value> = ZONES
        .iter()
        .map(|(z, regions)| (z.to_string(), json!({ "regions": regions })))
        .collect();
    let countries: serde_json::Map<String, Value> = COUNTRIES
        .iter()
        .map(|(c, z)| (c.to_string(), json!(z)))
        .collect();
    let origin_names: serde_json::Map<String, Value> = origins
        .keys()
        .map(|r| (r.clone(), json!(format!("{r}.origin.test"))))
        .collect();
    json!({
        "policies": [{
            "apiVersion": "pii-edge/v1", "name": POLICY,
            "match": {"methods": ["POST"], "paths": ["/api/users"]},
            "rules": [
                {"select": {"json": "$.email"}, "action": "encrypt"},
                {"select": {"json": "$.name"}, "action": "encrypt"}
            ]
        }],
        "keys": public_jwks,
        "tokens": null,
        // Attached to both triggers: the viewer trigger seals, the origin trigger routes.
        "sealAt": "viewer-request",
        "residency": {
            "apiVersion": "pii-edge/v1", "kind": "Residency",
            "zones": zones,
            "resolve": [{"header": {"name": "x-account-country"}}],
            "countries": countries,
            "default": null,
            "origins": origin_names,
            "unavailable": unavailable,
            "identity": identity,
        }
    })
    .to_string()
}

fn event(event_type: &str, request: Value) -> Value {
    json!({"Records": [{"cf": {
        "config": {"distributionId": "ESIM", "eventType": event_type, "requestId": "sim"},
        "request": request
    }}]})
}

/// Send a sign-up of a user of `country` through the viewer-request trigger; returns what the
/// trigger forwards and its decoded body.
/// With `token`, the request also carries `Authorization: Bearer <token>`.
fn seal(edge: &Edge, country: &str, body: &str, token: Option<&str>) -> (Value, Vec<u8>) {
    let mut viewer = event(
        "viewer-request",
        json!({
            "clientIp": "203.0.113.9", "method": "POST", "uri": "/api/users", "querystring": "",
            "headers": {
                "host": [{"key": "Host", "value": "shop.example"}],
                "content-type": [{"key": "Content-Type", "value": "application/json"}],
                "x-account-country": [{"key": "X-Account-Country", "value": country}]
            },
            "body": {"inputTruncated": false, "action": "read-only", "encoding": "base64",
                     "data": base64::engine::general_purpose::STANDARD.encode(body)}
        }),
    );
    if let Some(token) = token {
        viewer["Records"][0]["cf"]["request"]["headers"]["authorization"] =
            json!([{"key": "Authorization", "value": format!("Bearer {token}")}]);
    }
    let sealed = handle_value(edge, viewer);
    let body = sealed["body"]["data"]
        .as_str()
        .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
        .unwrap_or_default();
    (sealed, body)
}

/// Run the simulation: `requests` requests, region `stop_region` stopped after `stop_after`;
/// the zone from the viewer's account-country header.
pub(crate) fn run(requests: usize, stop_region: &str, stop_after: usize) -> Result<Report, String> {
    run_as(requests, stop_region, stop_after, false)
}

/// [`run`] with the zone from verified identity tokens, each request's viewer header naming a
/// country of another zone.
pub(crate) fn run_with_tokens(
    requests: usize,
    stop_region: &str,
    stop_after: usize,
) -> Result<Report, String> {
    run_as(requests, stop_region, stop_after, true)
}

fn run_as(
    requests: usize,
    stop_region: &str,
    stop_after: usize,
    tokens: bool,
) -> Result<Report, String> {
    let identity = if tokens {
        Some(identity_section()?)
    } else {
        None
    };
    let mut origins: Vec<Origin> = Vec::new();
    let mut public = Vec::new();
    for (zone, regions) in ZONES {
        for region in regions {
            let key = PrivateKey::generate(zone, region, 1).map_err(|e| e.to_string())?;
            public.push(
                serde_json::from_str::<Value>(&key.public().to_jwk()).map_err(|e| e.to_string())?,
            );
            origins.push(Origin::start(region, zone, key.to_jwk()).map_err(|e| e.to_string())?);
        }
    }
    let public_jwks = json!({ "keys": public });
    let ports: BTreeMap<String, u16> = origins.iter().map(|o| (o.region.clone(), o.port)).collect();
    let zone_of = |region: &str| {
        ZONES
            .iter()
            .find(|(_, rs)| rs.contains(&region))
            .map(|(z, _)| *z)
            .unwrap_or("?")
    };

    let log = Arc::new(MemorySink::default());
    let mut unavailable: Vec<String> = Vec::new();
    let mut edge = Edge::from_bundle_with_log(
        &bundle(&public_jwks, &ports, &unavailable, identity.as_ref()),
        log.clone(),
    );
    if !edge.is_ready() {
        return Err(format!("bundle did not load: {:?}", log.lines()));
    }

    let mut report = Report::default();
    for i in 0..requests {
        if i == stop_after {
            if let Some(o) = origins.iter_mut().find(|o| o.region == stop_region) {
                o.stop();
            }
        }
        let (country, zone) = COUNTRIES[i % COUNTRIES.len()];
        let email = format!("user{i}@example.{}", country.to_ascii_lowercase());
        let name = format!("Person Number {i}");
        let body = json!({"email": email, "name": name, "plan": "basic", "n": i}).to_string();
        report.sent += 1;

        // Viewer-request: seal. With tokens, the token names the user's country and the
        // viewer header a country of the next zone.
        let (sealed, sealed_body) = if tokens {
            let token = mint(&format!("user-{i}"), country)?;
            let (claimed, _) = COUNTRIES[(i + 2) % COUNTRIES.len()];
            let (sealed, body) = seal(&edge, claimed, &body, Some(&token));
            if sealed["headers"]["x-pii-edge-zone"][0]["value"] != json!(zone) {
                report.not_token_zone += 1;
            }
            (sealed, body)
        } else {
            seal(&edge, country, &body, None)
        };
        let sealed_text = sealed.to_string();
        if sealed_text.contains(&email) || sealed_text.contains(&name) {
            report.plaintext_leaks += 1;
        }
        if String::from_utf8_lossy(&sealed_body).contains(&email) {
            report.plaintext_leaks += 1;
        }

        // Origin-request: route, then send; on a dead region, the health signal is updated
        // (a redeploy with the region marked unavailable) and the request is retried.
        let mut served = false;
        for _attempt in 0..3 {
            let mut origin_req = sealed.clone();
            origin_req["origin"] = json!({"custom": {
                "domainName": "default.origin.test", "port": 443, "protocol": "https",
                "path": "", "sslProtocols": ["TLSv1.2"], "readTimeout": 30,
                "keepaliveTimeout": 5, "customHeaders": {}
            }});
            let routed = handle_value(&edge, event("origin-request", origin_req));
            let Some(domain) = routed["origin"]["custom"]["domainName"].as_str() else {
                break;
            };
            let region = domain.trim_end_matches(".origin.test").to_string();
            if !ports.contains_key(&region) {
                break;
            }
            let headers: Vec<(String, String)> = routed["headers"]
                .as_object()
                .map(|h| {
                    h.values()
                        .flat_map(|vs| vs.as_array().cloned().unwrap_or_default())
                        .filter_map(|v| {
                            Some((
                                v["key"].as_str()?.to_string(),
                                v["value"].as_str()?.to_string(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            match post(ports[&region], &headers, &sealed_body) {
                Some(200) => {
                    *report.served.entry(region.clone()).or_insert(0) += 1;
                    if zone_of(&region) != zone {
                        report.misrouted += 1;
                    }
                    if routed["headers"]["x-pii-edge-zone"][0]["value"] != json!(zone) {
                        report.misrouted += 1;
                    }
                    served = true;
                    break;
                }
                Some(_) => {
                    report.misrouted += 1;
                    break;
                }
                None => {
                    report.failovers += 1;
                    if !unavailable.contains(&region) {
                        unavailable.push(region.clone());
                        edge = Edge::from_bundle_with_log(
                            &bundle(&public_jwks, &ports, &unavailable, identity.as_ref()),
                            log.clone(),
                        );
                    }
                }
            }
        }
        if !served {
            report.lost += 1;
        }
    }

    // Every stored envelope opened where it was served; now prove the negative: a request
    // sealed for one zone does not open in any region of another zone.
    for (zone, _) in ZONES {
        let country = COUNTRIES
            .iter()
            .find(|(_, z)| *z == zone)
            .map(|(c, _)| *c)
            .unwrap_or("DE");
        let body = json!({"email": "probe@example.eu", "name": "Probe"}).to_string();
        let token = if tokens {
            Some(mint("probe", country)?)
        } else {
            None
        };
        let (_, sealed_body) = seal(&edge, country, &body, token.as_deref());
        for o in origins
            .iter()
            .filter(|o| o.zone != zone && o.thread.is_some())
        {
            report.cross_zone_attempts += 1;
            let before = o.refused.lock().map(|n| *n).unwrap_or(0);
            match post(
                o.port,
                &[("x-pii-edge-zone".into(), zone.into())],
                &sealed_body,
            ) {
                Some(200) => report.opened_elsewhere += 1,
                Some(_) => {
                    let after = o.refused.lock().map(|n| *n).unwrap_or(0);
                    if after != before + 1 {
                        report.opened_elsewhere += 1;
                    }
                }
                None => report.cross_zone_attempts -= 1,
            }
        }
    }
    let stored: usize = origins
        .iter()
        .map(|o| o.stored.lock().map(|s| s.len()).unwrap_or(0))
        .sum();
    if stored != report.served.values().sum::<usize>() {
        return Err(format!(
            "origins stored {stored} requests, the client counted otherwise"
        ));
    }
    if log.lines().iter().any(|l| l.contains("@example.")) {
        report.plaintext_leaks += 1;
    }
    for o in &mut origins {
        o.stop();
    }
    Ok(report)
}

#[allow(dead_code)] // the integration test includes this file and calls `run` itself
fn main() {
    println!("== zone from the viewer's account-country header");
    match run(120, "eu-central-1", 40) {
        Ok(report) => println!("{report}"),
        Err(e) => {
            eprintln!("simulation failed: {e}");
            std::process::exit(1);
        }
    }
    println!("\n== zone from verified identity tokens (the viewer header names another zone)");
    match run_with_tokens(120, "eu-central-1", 40) {
        Ok(report) => println!("{report}"),
        Err(e) => {
            eprintln!("simulation failed: {e}");
            std::process::exit(1);
        }
    }
}
