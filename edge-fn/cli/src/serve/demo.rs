//! `pii-edge demo`: the main job on built-in data, in one command.
//!
//! Starts a recording origin on loopback and the edge in front of it (the same [`bind`] and
//! [`accept`] as `pii-edge serve`, so the same Lambda@Edge handler) with the example policies
//! and throwaway keys, sends one request of every kind through it over HTTP, and prints what
//! was sent beside what the origin received. The origin's side is real too: it verifies each
//! request's receipt and opens one envelope with the zone's private key. Then the edge stays up
//! with its inspector until Ctrl-C (or exits, with `--no-wait`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use pii_core::receipt::{verify_receipt, ReceiptKeys, ReceiptRequest, ReceiptSigner};
use pii_core::{keys::PrivateKey, PrivateKeyring, TokenKeys};

use super::{accept, bind, ServeArgs, INSPECTOR};
use crate::shared::bundle::BundleArgs;
use crate::shared::files;
use crate::shared::files::write_file;
use crate::shared::style::{outln, Stream, Style};
use crate::shared::{CliError, CliResult, FAILED};

/// See protected traffic in one command: the example policies, throwaway keys, a built-in
/// recording origin and the edge in front of it, with one request of every kind sent through.
///
/// Prints each request as sent and as the origin received it (JSON body, form, query string,
/// headers and cookies, and a request the edge refuses), checks that no personal value reached
/// the origin in clear, verifies the edge's receipts and opens one envelope with the zone's
/// private key, as an origin would. Then the edge and its inspector stay up until Ctrl-C.
/// Nothing leaves 127.0.0.1; no AWS account is needed. Exit code 1 when plaintext reached the
/// origin or a request did not end as expected.
#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    cargo run --release -p pii-edge-cli -- demo\n  \
    pii-edge demo --listen 127.0.0.1:0 --no-wait   # any free port; exit after the requests")]
pub(crate) struct DemoArgs {
    /// Address of the edge (port 0: any free port)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Policies to run [default: the example policies, policies/ of the repository]
    #[arg(long, value_name = "DIR")]
    policies: Vec<PathBuf>,
    /// Exit after the example requests instead of keeping the edge and its inspector up
    #[arg(long)]
    no_wait: bool,
}

/// One request of the demo: what is sent, and what must (not) reach the origin.
struct Example {
    /// What kind of request it shows.
    title: &'static str,
    method: &'static str,
    /// Path and query, as sent.
    target: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
    /// Values that must never reach the origin in clear (also looked for percent-encoded).
    personal: &'static [&'static str],
    /// `true`: the edge must refuse it and the origin must not see it.
    refused: bool,
}

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// The requests, one per kind of location the example policies protect.
const EXAMPLES: &[Example] = &[
    Example {
        title: "JSON body (policy signup)",
        method: "POST",
        target: "/api/users",
        headers: &[("content-type", JSON)],
        body: r#"{"user":{"name":"Erika Mustermann","email":"erika.mustermann@example.de","phone":"+49 170 5550123","birthDate":"1984-07-02","password":"hunter2!"},"newsletter":true}"#,
        personal: &[
            "erika.mustermann@example.de",
            "+49 170 5550123",
            "1984-07-02",
            "hunter2!",
            "Mustermann",
        ],
        refused: false,
    },
    Example {
        title: "HTML form (policy checkout-form)",
        method: "POST",
        target: "/checkout",
        headers: &[("content-type", FORM)],
        body: "card_number=4111111111111111&cvv=737&name=Erika+Mustermann&email=erika.mustermann%40example.de&amount=42.00",
        personal: &[
            "4111111111111111",
            "737",
            "Erika Mustermann",
            "erika.mustermann@example.de",
        ],
        refused: false,
    },
    Example {
        title: "query string (policy search)",
        method: "GET",
        target: "/api/search?email=erika.mustermann%40example.de&limit=10",
        headers: &[],
        body: "",
        personal: &["erika.mustermann@example.de"],
        refused: false,
    },
    Example {
        title: "headers and a cookie (policy profile-headers)",
        method: "GET",
        target: "/api/profile",
        headers: &[
            ("x-national-id", "DE-65929970489"),
            ("x-user-email", "erika.mustermann@example.de"),
            ("cookie", "tracking_email=erika.mustermann%40example.de; theme=dark"),
        ],
        body: "",
        personal: &["65929970489", "erika.mustermann@example.de"],
        refused: false,
    },
    Example {
        title: "a body the edge cannot read whole (malformed JSON): refused, never forwarded",
        method: "POST",
        target: "/api/users",
        headers: &[("content-type", JSON)],
        body: r#"{"user":{"email":"erika.mustermann@example.de","phone":"+49 170 5550123","#,
        personal: &["erika.mustermann@example.de", "+49 170 5550123"],
        refused: true,
    },
];

/// What the recording origin received.
#[derive(Clone)]
struct Received {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// The throwaway keys of one demo run, written to a private temporary directory (the edge
/// reads its keys from files, as `serve` and `package` do); removed when dropped.
struct Keys {
    dir: PathBuf,
    private: PrivateKeyring,
    receipt_public: ReceiptKeys,
}

impl Drop for Keys {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(crate) fn run(args: DemoArgs) -> CliResult {
    let policies = if args.policies.is_empty() {
        vec![example_policies()?]
    } else {
        args.policies.clone()
    };
    // Throwaway keys for every zone and token domain the policies use (the examples' and yours).
    let loaded = files::load_policies(&policies)?;
    let mut zones: Vec<String> = loaded
        .iter()
        .filter_map(|(_, p)| p.zone().map(str::to_owned))
        .chain(["eu-central".to_owned()])
        .collect();
    zones.sort();
    zones.dedup();
    let mut domains: Vec<String> = crate::shared::tokenize::tokenize_rules(&loaded)
        .into_iter()
        .map(|(domain, _, _)| domain)
        .chain(["email".to_owned(), "patient".to_owned()])
        .collect();
    domains.sort();
    domains.dedup();
    let keys = throwaway_keys(&zones, &domains)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(demo(args, policies, keys))
}

async fn demo(args: DemoArgs, policies: Vec<PathBuf>, keys: Keys) -> CliResult {
    let recorded: Arc<Mutex<Vec<Received>>> = Arc::default();
    let origin = start_origin(Arc::clone(&recorded)).await?;
    let bound = bind(ServeArgs {
        bundle: BundleArgs {
            policies,
            keys: keys.dir.join("public.jwks"),
            tokens: Some(keys.dir.join("tokens.jwks")),
            residency: None,
            receipt_key: Some(keys.dir.join("receipt.private.jwk")),
        },
        upstream: format!("http://{origin}"),
        listen: args.listen,
        upstream_timeout: 10.0,
        max_body: 10_000_000,
        history: 200,
        show_values: false,
        no_inspector: false,
        quiet_log: true,
    })
    .await
    .map_err(|e| {
        if e.to_string().contains("in use") {
            CliError::new(format!(
                "{e}\nanother program uses {}; pass --listen 127.0.0.1:0 for any free port",
                args.listen
            ))
        } else {
            e
        }
    })?;
    let edge = bound.local;
    tokio::spawn(accept(bound.listener, bound.state));

    let style = Style::for_stream(Stream::Out);
    outln!(
        "{}",
        style.bold(&format!(
            "pii-edge demo: the edge on http://{edge}, a recording origin on http://{origin}"
        ))
    );
    let own = !args.policies.is_empty();
    if own {
        let shown: Vec<String> = args.policies.iter().map(|p| files::shown(p)).collect();
        outln!(
            "policies: {} (yours); keys: throwaway, made for this run\n\
             The requests below were written for the example policies of policies/: they show what\n\
             yours do to them, and are not judged; `pii-edge test` checks your policies against\n\
             cases of your own.\n",
            shown.join(", ")
        );
    } else {
        outln!("policies: the examples of policies/; keys: throwaway, made for this run\n");
    }

    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .build(hyper_util::client::legacy::connect::HttpConnector::new());
    let mut failures = Vec::new();
    let mut first_envelope = None;
    for (n, example) in EXAMPLES.iter().enumerate() {
        let before = recorded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        let (status, answer) = send(&client, edge, example).await?;
        let received = {
            let all = recorded.lock().unwrap_or_else(PoisonError::into_inner);
            all.get(before).cloned()
        };
        outln!("{}", style.bold(&format!("{}. {}", n + 1, example.title)));
        outln!("   sent      {} {}", example.method, example.target);
        for (name, value) in example.headers {
            outln!("             {name}: {value}");
        }
        if !example.body.is_empty() {
            outln!("             {}", example.body);
        }
        match (&received, example.refused) {
            (Some(got), _) => {
                outln!("   origin    {} {}", got.method, shorten(&got.target));
                for (name, value) in &got.headers {
                    if example
                        .headers
                        .iter()
                        .any(|(sent, _)| sent.eq_ignore_ascii_case(name))
                    {
                        outln!("             {name}: {}", shorten(value));
                    }
                }
                if !got.body.is_empty() {
                    outln!(
                        "             {}",
                        shorten(&String::from_utf8_lossy(&got.body))
                    );
                }
                outln!("   receipt   {}", receipt_line(got, &keys.receipt_public));
                if example.refused {
                    failures.push(format!("{}: forwarded, must be refused", example.title));
                }
                let leaked = leaks(got, example.personal);
                if !leaked.is_empty() {
                    failures.push(format!(
                        "{}: {} personal value(s) reached the origin in clear",
                        example.title,
                        leaked.len()
                    ));
                }
                if first_envelope.is_none() {
                    first_envelope = find_envelope(&String::from_utf8_lossy(&got.body));
                }
                if status != 200 {
                    failures.push(format!("{}: answered {status}", example.title));
                }
            }
            (None, true) => {
                outln!(
                    "   edge      answered {status} itself; the origin saw nothing: {}",
                    answer
                );
                if !(400..500).contains(&status) {
                    failures.push(format!("{}: answered {status}, not 4xx", example.title));
                }
            }
            (None, false) => {
                outln!("   edge      answered {status}: {answer}");
                failures.push(format!(
                    "{}: did not reach the origin ({status})",
                    example.title
                ));
            }
        }
        outln!("");
    }

    match first_envelope {
        Some(envelope) => match pii_core::envelope::open(&keys.private, &envelope) {
            Ok(opened) => outln!(
                "{}\n   {} (policy {}, zone {}, {})\n   opens to {}: only the regions of zone {} hold a key for it\n",
                style.bold(&format!(
                    "The origin in zone {} opens what the edge sealed, with its private key:",
                    opened.binding().zone
                )),
                shorten(&envelope),
                opened.binding().policy,
                opened.binding().zone,
                opened.binding().location,
                String::from_utf8_lossy(opened.plaintext()),
                opened.binding().zone
            ),
            Err(e) => failures.push(format!("the first envelope does not open: {e}")),
        },
        None => failures.push("no envelope reached the origin".to_owned()),
    }

    if own {
        // Requests written for other policies: what they show is said, not judged.
        for failure in failures.drain(..) {
            outln!("{} {failure}", style.yellow("note:"));
        }
        outln!("What your policies did to each request is above (notes: what they leave in clear of requests written for the example policies).");
    } else if failures.is_empty() {
        outln!(
            "{}",
            style.green("Every personal value reached the origin protected; the unreadable request was refused.")
        );
    } else {
        for failure in &failures {
            outln!("{} {failure}", style.red("FAIL"));
        }
    }
    if args.no_wait {
        return Ok(if failures.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(FAILED)
        });
    }
    outln!(
        "\nInspector: http://{edge}{INSPECTOR}/  (every request above, and what each rule did)\n\
         Send your own: curl -s 'http://{edge}/api/search?email=you%40example.org'\n\
         Ctrl-C to stop."
    );
    std::future::pending::<()>().await;
    Ok(ExitCode::SUCCESS)
}

/// `policies/` of the repository this binary was built from, or of the working directory.
fn example_policies() -> Result<PathBuf, CliError> {
    let candidates = [
        PathBuf::from("policies"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies"),
    ];
    candidates
        .into_iter()
        .find(|p| p.join("signup.yaml").is_file())
        .ok_or_else(|| {
            CliError::new(
                "the example policies (policies/signup.yaml and the others) were not found: run from a clone of the repository, or pass --policies DIR",
            )
        })
}

/// An X25519 pair for each of two regions of every zone in `zones` (`<zone>-1`, `<zone>-2`),
/// a token key for every domain in `domains` and a receipt pair, written to a new private
/// temporary directory.
fn throwaway_keys(zones: &[String], domains: &[String]) -> Result<Keys, CliError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let dir = std::env::temp_dir().join(format!(
        "pii-edge-demo-{}-{}",
        std::process::id(),
        now.as_nanos()
    ));
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(&dir)
        .map_err(|e| CliError::new(format!("cannot create {}: {e}", dir.display())))?;
    let made =
        |e: pii_core::keys::KeyError| CliError::new(format!("cannot make a throwaway key: {e}"));
    let mut private = PrivateKeyring::new();
    for zone in zones {
        for n in 1..=2 {
            let region = format!("{zone}-{n}");
            private.push(PrivateKey::generate(zone, &region, now.as_secs()).map_err(made)?);
        }
    }
    let mut tokens = Vec::new();
    for domain in domains {
        tokens.push(
            TokenKeys::generate_at(domain, now.as_secs())
                .map_err(made)?
                .to_jwk(),
        );
    }
    let signer = ReceiptSigner::generate(now.as_secs()).map_err(made)?;
    let receipt_public =
        ReceiptKeys::from_jwks(&format!("{{\"keys\":[{}]}}", signer.public_jwk())).map_err(made)?;
    let keys = Keys {
        dir,
        private,
        receipt_public,
    };
    write_file(
        &keys.dir.join("public.jwks"),
        keys.private.public().to_jwks().as_bytes(),
        0o644,
        true,
    )?;
    write_file(
        &keys.dir.join("tokens.jwks"),
        format!("{{\"keys\":[{}]}}", tokens.join(",")).as_bytes(),
        0o600,
        true,
    )?;
    write_file(
        &keys.dir.join("receipt.private.jwk"),
        signer.to_jwk().as_bytes(),
        0o600,
        true,
    )?;
    // What was written must load the way the edge loads it.
    files::load_public(&keys.dir.join("public.jwks"))?;
    files::load_tokens(&keys.dir.join("tokens.jwks"))?;
    Ok(keys)
}

/// The recording origin: answers every request `200 {"ok":true}` and keeps it.
async fn start_origin(recorded: Arc<Mutex<Vec<Received>>>) -> Result<SocketAddr, CliError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| CliError::new(format!("cannot start the recording origin: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| CliError::new(format!("cannot start the recording origin: {e}")))?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let recorded = Arc::clone(&recorded);
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let recorded = Arc::clone(&recorded);
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes().to_vec())
                            .unwrap_or_default();
                        let headers = parts
                            .headers
                            .iter()
                            .map(|(n, v)| {
                                (
                                    n.as_str().to_owned(),
                                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                )
                            })
                            .collect();
                        recorded
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(Received {
                                method: parts.method.to_string(),
                                target: parts
                                    .uri
                                    .path_and_query()
                                    .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
                                headers,
                                body,
                            });
                        let mut response =
                            hyper::Response::new(Full::new(Bytes::from_static(b"{\"ok\":true}")));
                        response.headers_mut().insert(
                            hyper::header::CONTENT_TYPE,
                            hyper::header::HeaderValue::from_static(JSON),
                        );
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(local)
}

/// Sends one example to the edge; its status and (for a generated answer) the problem's title.
async fn send(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    edge: SocketAddr,
    example: &Example,
) -> Result<(u16, String), CliError> {
    let mut request = hyper::Request::builder()
        .method(example.method)
        .uri(format!("http://{edge}{}", example.target));
    for (name, value) in example.headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from_static(example.body.as_bytes())))
        .map_err(|e| CliError::new(format!("internal: an example request is invalid: {e}")))?;
    let response = tokio::time::timeout(Duration::from_secs(30), client.request(request))
        .await
        .map_err(|_| CliError::new("the edge did not answer within 30 s"))?
        .map_err(|e| CliError::new(format!("the edge did not answer: {e}")))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let answer = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            let title = v.get("title")?.as_str()?.to_owned();
            let detail = v.get("detail").and_then(|d| d.as_str()).unwrap_or("");
            Some(format!("{title} ({detail})"))
        })
        .unwrap_or_default();
    Ok((status, answer))
}

/// The personal values of `personal` found in clear in what the origin received: in the
/// target, the headers and the body, as they are or form-encoded (`+` or `%20` for a space).
fn leaks<'a>(got: &Received, personal: &[&'a str]) -> Vec<&'a str> {
    let mut seen = got.target.clone();
    // The receipt is a signature over the request, not a value of it.
    for (name, value) in got
        .headers
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case(pii_core::receipt::HEADER))
    {
        seen.push('\n');
        seen.push_str(name);
        seen.push_str(": ");
        seen.push_str(value);
    }
    seen.push('\n');
    seen.push_str(&String::from_utf8_lossy(&got.body));
    // A short value (a CVV) turns up by chance in the base64url of envelopes and tokens.
    let seen = without_sealed(&seen);
    personal
        .iter()
        .copied()
        .filter(|p| {
            let encoded: String = form_urlencoded::byte_serialize(p.as_bytes()).collect();
            seen.contains(p)
                || seen.contains(&encoded)
                || seen.contains(&encoded.replace('+', "%20"))
        })
        .collect()
}

/// `text` with every envelope (`pe2.`) and token (`tk1.`) replaced by its prefix.
fn without_sealed(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((at, sealed)) = next_sealed(rest) {
        out.push_str(&rest[..at]);
        out.push_str(&sealed[..4]);
        rest = &rest[at + sealed.len()..];
    }
    out.push_str(rest);
    out
}

/// Whether the origin's receipt check passes, as the origin packages run it.
fn receipt_line(got: &Received, keys: &ReceiptKeys) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let request = ReceiptRequest {
        method: &got.method,
        target: &got.target,
        headers: &got.headers,
        body: &got.body,
    };
    match verify_receipt(&request, keys, 300, now) {
        Ok(receipt) => format!(
            "verified with the edge's public key (policy {}, {} location(s) protected)",
            receipt.policy.as_deref().unwrap_or("none"),
            receipt.locations.len() as u64 + receipt.more_locations
        ),
        Err(e) => format!("REFUSED by the origin: {e}"),
    }
}

/// The first envelope (`pe2.`) or token (`tk1.`) in `text` and where it starts: the run of
/// base64url characters and dots from its prefix on.
fn next_sealed(text: &str) -> Option<(usize, &str)> {
    let at = ["pe2.", "tk1."].iter().filter_map(|p| text.find(p)).min()?;
    let tail = &text[at..];
    let end = tail
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
        .unwrap_or(tail.len());
    Some((at, &tail[..end]))
}

/// The first `pe2.` envelope in `text`.
fn find_envelope(text: &str) -> Option<String> {
    let at = text.find("pe2.")?;
    next_sealed(&text[at..]).map(|(_, envelope)| envelope.to_owned())
}

/// Long values (envelopes) cut to what fits a line.
fn shorten(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some((at, envelope)) = next_sealed(rest) {
        out.push_str(&rest[..at]);
        // Envelopes are cut; tokens (`tk1.`) are short enough to show whole.
        if envelope.starts_with("pe2.") && envelope.len() > 24 {
            out.push_str(&envelope[..16]);
            out.push_str(&format!("…({} chars)", envelope.len()));
        } else {
            out.push_str(envelope);
        }
        rest = &rest[at + envelope.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaks_finds_plain_and_percent_encoded_values() {
        let got = Received {
            method: "GET".into(),
            target: "/api/search?email=a%40b.de".into(),
            headers: vec![("x-id".into(), "pe2.AAAA".into())],
            body: b"name=Erika+Mustermann".to_vec(),
        };
        assert_eq!(
            leaks(&got, &["a@b.de", "Erika Mustermann", "secret"]),
            vec!["a@b.de", "Erika Mustermann"]
        );
    }

    #[test]
    fn values_inside_envelopes_tokens_and_receipts_are_not_leaks() {
        let got = Received {
            method: "POST".into(),
            target: "/checkout".into(),
            headers: vec![(pii_core::receipt::HEADER.into(), "eyJ737.x737.y".into())],
            body: b"card=pe2.AA737BB&email=tk1.email.X737Y&cvv=737".to_vec(),
        };
        assert_eq!(leaks(&got, &["737"]), vec!["737"]);
        let got = Received {
            body: b"card=pe2.AA737BB&email=tk1.email.X737Y".to_vec(),
            ..got
        };
        assert!(leaks(&got, &["737"]).is_empty());
    }

    #[test]
    fn envelopes_are_shortened_and_found() {
        let long = format!("{{\"e\":\"pe2.{}\"}}", "A".repeat(100));
        assert_eq!(shorten(&long), "{\"e\":\"pe2.AAAAAAAAAAAA…(104 chars)\"}");
        assert_eq!(find_envelope(&long).map(|e| e.len()), Some(104));
    }
}
