//! `pii-edge serve`: the edge in front of a local origin.
//!
//! An HTTP/1.1 reverse proxy (hyper on tokio). Each request becomes the viewer-request event
//! CloudFront would deliver ([`event`]); the Lambda@Edge handler itself (`edge_fn::handle`, the
//! code of the `bootstrap` binary and of the Node.js addon) runs on it with the bundle
//! `pii-edge package` would build ([`bundle`]); its answer is then carried out as CloudFront
//! would ([`forward`]): the request it returns goes to the upstream, a generated response goes
//! back. The files reload when they change ([`watch`]); a bad edit keeps the last good bundle.
//! Recent requests and what every rule did are at `/_pii-edge/` ([`inspector`]).

use std::cell::RefCell;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clap::Args;
use edge_fn::handler::HandlerOutput;
use edge_fn::log::LogSink;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use hyper::service::service_fn;
use hyper::StatusCode;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use serde_json::json;

use crate::shared::bundle::BundleArgs;
use crate::shared::style::errln;
use crate::shared::{CliError, CliResult};

mod bundle;
pub(crate) mod demo;
mod event;
mod forward;
mod inspector;
mod watch;

use forward::ResponseBody;

/// The reserved path of the inspector: requests under it are never forwarded.
const INSPECTOR: &str = "/_pii-edge";

/// Run your application behind the edge: a local reverse proxy that protects every request
/// with the Lambda@Edge handler before the upstream sees it.
#[derive(Args, Debug)]
#[command(after_help = "Example:\n  \
    pii-edge serve --policies policies/ --keys examples/keys/public.jwks \\\n    \
    --tokens examples/keys/tokens.jwks --upstream http://127.0.0.1:3000 --listen 127.0.0.1:8080\n\n\
    Then send requests to http://127.0.0.1:8080 and open http://127.0.0.1:8080/_pii-edge/.\n\
    The handler's JSON log line of each request goes to stdout; what serve itself has to say\n\
    (listening, reloads, reload errors) to stderr. See docs/serve.md.")]
pub(crate) struct ServeArgs {
    /// The bundle's files, reloaded when one changes
    #[command(flatten)]
    pub(super) bundle: BundleArgs,
    /// The origin, http://HOST:PORT[/PATH] (PATH is put before every request path, like a
    /// CloudFront origin path)
    #[arg(long, value_name = "URL", required = true)]
    upstream: String,
    /// Address to listen on (port 0: any free port, printed at start)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Seconds to wait for the upstream's response headers before answering 504
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    upstream_timeout: f64,
    /// Largest request body read, in bytes; larger ones are answered 413 (the handler sees at
    /// most the first 40,000 bytes, as with CloudFront's include-body)
    #[arg(long, value_name = "BYTES", default_value_t = 10_000_000)]
    max_body: usize,
    /// How many recent requests the inspector keeps
    #[arg(long, value_name = "N", default_value_t = 200)]
    history: usize,
    /// Show the values as the viewer sent them (plaintext) in the inspector. Only for local
    /// fake data; refused unless --listen is a loopback address
    #[arg(long, conflicts_with = "no_inspector")]
    show_values: bool,
    /// No inspector: /_pii-edge/ answers 404 and no request is kept (for a sidecar others can
    /// reach)
    #[arg(long)]
    no_inspector: bool,
    /// The handler's log lines are not printed (`demo` prints its own account instead).
    #[arg(skip)]
    quiet_log: bool,
}

/// Everything a request needs, shared by all connections.
struct State {
    /// The bundle in force. Swapped whole on a good reload; each request keeps the one it
    /// started with.
    current: RwLock<Arc<bundle::Loaded>>,
    /// The last reload failure, cleared by a good reload: `(when, message)`.
    reload_error: Mutex<Option<(SystemTime, String)>>,
    sources: BundleArgs,
    history: inspector::History,
    upstream: forward::Upstream,
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
    max_body: usize,
    show_values: bool,
    inspector: bool,
    /// `distributionDomainName` of the events: the listen address.
    distribution: String,
    /// Whether the handler's log lines go to stdout.
    echo_log: bool,
    /// Request ids: a per-process prefix and a counter.
    id_prefix: String,
    ids: AtomicU64,
    /// Rule tables waiting for a blocking thread (each holds a request as the viewer sent it):
    /// past [`MAX_PENDING_RULES`], entries are listed without one.
    pending_rules: AtomicUsize,
}

/// Most rule tables waiting to be computed at once.
const MAX_PENDING_RULES: usize = 256;

thread_local! {
    /// The handler's log line of the request this thread is running (the handler runs
    /// synchronously on the calling thread and writes exactly one line per request).
    static LAST_LINE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The handler's log sink: the line goes to stdout, as in Lambda (unless `echo` is off, as
/// in `demo`), and is kept for the inspector.
struct Tap {
    echo: bool,
}

impl LogSink for Tap {
    fn write_line(&self, line: &str) {
        if self.echo {
            edge_fn::log::StdoutSink.write_line(line);
        }
        LAST_LINE.with(|last| *last.borrow_mut() = Some(line.to_owned()));
    }
}

pub(crate) fn run(args: ServeArgs) -> CliResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let bound = bind(args).await?;
        accept(bound.listener, bound.state).await;
        Ok(ExitCode::SUCCESS)
    })
}

/// An edge that loaded its files and listens, before it accepts: what `run` and `demo` start.
struct Bound {
    /// The address it listens on (the port chosen when `--listen` had port 0).
    local: SocketAddr,
    listener: tokio::net::TcpListener,
    state: Arc<State>,
}

/// Checks the arguments, loads the files and binds the listening socket; says where it
/// listens on stderr. Must run inside a tokio runtime.
async fn bind(args: ServeArgs) -> Result<Bound, CliError> {
    let upstream = forward::Upstream::parse(&args.upstream).map_err(CliError::new)?;
    if args.show_values && !args.listen.ip().is_loopback() {
        return Err(CliError::new(format!(
            "--show-values puts plaintext in the inspector: it needs a loopback --listen address (127.0.0.1 or ::1), not {}",
            args.listen.ip()
        )));
    }
    if !(args.upstream_timeout.is_finite() && args.upstream_timeout > 0.0) {
        return Err(CliError::new(
            "--upstream-timeout must be a positive number of seconds",
        ));
    }
    let sources = args.bundle;
    let echo_log = !args.quiet_log;
    let loaded = bundle::load(&sources, Arc::new(Tap { echo: echo_log }))
        .map_err(|e| CliError::new(format!("{e}\nthe policies did not load; nothing is served")))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| CliError::new(format!("cannot listen on {}: {e}", args.listen)))?;
    let local = listener
        .local_addr()
        .map_err(|e| CliError::new(format!("cannot read the listening address: {e}")))?;
    let start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let policies = loaded.policies.join(", ");
    let state = Arc::new(State {
        current: RwLock::new(Arc::new(loaded)),
        reload_error: Mutex::new(None),
        sources,
        history: inspector::History::new(args.history),
        client: Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector),
        upstream,
        timeout: Duration::from_secs_f64(args.upstream_timeout),
        max_body: args.max_body,
        show_values: args.show_values,
        inspector: !args.no_inspector,
        distribution: local.to_string(),
        echo_log,
        id_prefix: format!("{:x}-", start & 0xffff_ffff_ffff),
        ids: AtomicU64::new(0),
        pending_rules: AtomicUsize::new(0),
    });
    let reloader = Arc::clone(&state);
    watch::start(&state.sources, move || reload(&reloader)).map_err(CliError::new)?;
    errln!(
        "pii-edge serve: listening on http://{local}, forwarding to {} (policies: {policies})",
        state.upstream.shown()
    );
    if state.inspector {
        errln!("pii-edge serve: inspector at http://{local}{INSPECTOR}/");
        if !local.ip().is_loopback() {
            errln!("pii-edge serve: the inspector (paths, policies, protected values) is open to anyone who can reach {local}; --no-inspector turns it off");
        }
    }
    if state.show_values {
        errln!("pii-edge serve: --show-values: the inspector shows plaintext values; use fake data only");
    }
    Ok(Bound {
        local,
        listener,
        state,
    })
}

/// Reloads the files; keeps the bundle in force when they do not load.
fn reload(state: &State) {
    match bundle::load(
        &state.sources,
        Arc::new(Tap {
            echo: state.echo_log,
        }),
    ) {
        Ok(loaded) => {
            let policies = loaded.policies.join(", ");
            // In force first, then said: a request sent after the line runs on it.
            *state
                .current
                .write()
                .unwrap_or_else(PoisonError::into_inner) = Arc::new(loaded);
            *state
                .reload_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = None;
            errln!("pii-edge serve: reloaded (policies: {policies})");
        }
        Err(message) => {
            // Shown in the inspector first, then said on stderr (as for a good reload).
            let said = format!(
                "pii-edge serve: reload failed; still serving the policies loaded before:\n{message}"
            );
            *state
                .reload_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some((SystemTime::now(), message));
            errln!("{said}");
        }
    }
}

async fn accept(listener: tokio::net::TcpListener, state: Arc<State>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                errln!("pii-edge serve: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let state = Arc::clone(&state);
                async move { Ok::<_, Infallible>(respond(state, request, peer.ip()).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// One request: the inspector's, or one to protect and forward.
async fn respond(
    state: Arc<State>,
    request: hyper::Request<Incoming>,
    peer: IpAddr,
) -> hyper::Response<ResponseBody> {
    let path = request.uri().path();
    if path == INSPECTOR || path.starts_with("/_pii-edge/") {
        return inspect(&state, &request);
    }
    let shared = Arc::clone(&state);
    let state = state.as_ref();
    let started = Instant::now();
    let id = next_id(state);
    let mut entry = new_entry(state, &request, id.clone(), millis(SystemTime::now()));
    let mut pending = None;
    let mut response =
        protect_and_forward(state, request, peer, &id, &mut entry, &mut pending).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-amz-cf-id", value);
    }
    if state.inspector {
        entry.status = response.status().as_u16();
        entry.latency_micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        match pending {
            None => state.history.push(entry),
            Some(_) if state.pending_rules.load(Ordering::Relaxed) >= MAX_PENDING_RULES => {
                entry.note = Some("rule table skipped: the inspector was behind".to_owned());
                state.history.push(entry);
            }
            // The rule table reads every reported value back: off the request's path.
            Some(Pending {
                fields,
                seen,
                forwarded,
            }) => {
                let state = Arc::clone(&shared);
                state.pending_rules.fetch_add(1, Ordering::Relaxed);
                tokio::task::spawn_blocking(move || {
                    entry.rules = inspector::rules(&fields, &seen, forwarded, state.show_values);
                    state.history.push(entry);
                    state.pending_rules.fetch_sub(1, Ordering::Relaxed);
                });
            }
        }
    }
    response
}

/// What the inspector's rule table of a protected request is computed from, after the
/// response: the bundle that ran, the request as the handler saw it, as it was forwarded.
struct Pending {
    /// The handler's own report of what each rule did.
    fields: Vec<pii_core::engine::FieldReport>,
    seen: pii_core::Request,
    forwarded: pii_core::Request,
}

/// A fresh request id: the process prefix and a counter.
fn next_id(state: &State) -> String {
    format!(
        "{}{}",
        state.id_prefix,
        state.ids.fetch_add(1, Ordering::Relaxed)
    )
}

/// The inspector's entry for a request, before anything happened to it.
fn new_entry(
    state: &State,
    request: &hyper::Request<Incoming>,
    id: String,
    time: u64,
) -> inspector::Entry {
    inspector::Entry {
        seq: 0,
        id,
        time,
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
        decision: "refused".to_owned(),
        policy: None,
        status: 0,
        reason: None,
        note: None,
        latency_micros: 0,
        handler_micros: 0,
        rules: Vec::new(),
        query: state
            .show_values
            .then(|| request.uri().query().unwrap_or("").to_owned()),
    }
}

async fn protect_and_forward(
    state: &State,
    request: hyper::Request<Incoming>,
    peer: IpAddr,
    id: &str,
    entry: &mut inspector::Entry,
    pending: &mut Option<Pending>,
) -> hyper::Response<ResponseBody> {
    let (parts, body) = request.into_parts();
    let target = parts.uri.path_and_query().map_or(0, |p| p.as_str().len());
    if target > edge_fn::handler::MAX_URI_AND_QUERY {
        let problem = forward::uri_too_long(edge_fn::handler::MAX_URI_AND_QUERY);
        entry.reason = Some(problem.code.to_owned());
        return forward::problem_response(&problem);
    }
    let body: Bytes = match Limited::new(body, state.max_body).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let problem = if e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                forward::request_too_large(state.max_body)
            } else {
                edge_fn::problem::Problem::invalid_event(
                    "the request body could not be read (the connection broke)",
                )
            };
            entry.reason = Some(problem.code.to_owned());
            return forward::problem_response(&problem);
        }
    };
    let client_ip = peer.to_string();
    let event = match event::viewer_request(&parts, &body, &client_ip, &state.distribution, id) {
        Ok(event) => event,
        Err(problem) => {
            entry.reason = Some(problem.code.to_owned());
            return forward::problem_response(&problem);
        }
    };
    let loaded = Arc::clone(&state.current.read().unwrap_or_else(PoisonError::into_inner));
    // The request as the handler sees it, for the inspector's rule table.
    let seen = state.inspector.then(|| {
        let cf = &event.records[0].cf.request;
        pii_core::Request {
            method: cf.method.clone(),
            path: cf.uri.clone(),
            query: cf.querystring.clone(),
            headers: edge_fn::cloudfront::core_headers(&cf.headers).unwrap_or_default(),
            body: body[..body.len().min(event::INCLUDE_BODY_LIMIT)].to_vec(),
            body_truncated: body.len() > event::INCLUDE_BODY_LIMIT,
            body_withheld: false,
        }
    });
    LAST_LINE.with(|last| last.borrow_mut().take());
    let reported = edge_fn::handler::handle_reporting(&loaded.edge, event);
    let output = reported.output;
    let line = LAST_LINE
        .with(|last| last.borrow_mut().take())
        .map(|l| inspector::LogLine::parse(&l))
        .unwrap_or_default();
    entry.decision = line.decision;
    entry.policy = line.policy;
    entry.reason = line.reason;
    entry.note = line.note;
    entry.handler_micros = line.duration_micros;
    let forwarded = match output {
        HandlerOutput::Respond(response) => return forward::generated(&response),
        HandlerOutput::Forward(forwarded) => forwarded,
    };
    if let (Some(seen), "protected") = (seen, entry.decision.as_str()) {
        if let Ok(forwarded) = edge_fn::cloudfront::to_core(&forwarded) {
            *pending = Some(Pending {
                fields: reported.fields,
                seen,
                forwarded,
            });
        }
    }
    let upstream_request = match forward::upstream_request(
        &state.upstream,
        &forwarded,
        body,
        &client_ip,
        &state.distribution,
        id,
    ) {
        Ok(request) => request,
        Err(problem) => {
            entry.decision = "failed".to_owned();
            entry.reason = Some(problem.code.to_owned());
            return forward::problem_response(&problem);
        }
    };
    match tokio::time::timeout(state.timeout, state.client.request(upstream_request)).await {
        Ok(Ok(response)) => forward::passed_back(response),
        Ok(Err(e)) => {
            let problem = forward::upstream_unavailable(&state.upstream, &cause(&e));
            entry.decision = "failed".to_owned();
            entry.reason = Some(problem.code.to_owned());
            forward::problem_response(&problem)
        }
        Err(_) => {
            let problem = forward::upstream_timeout(&state.upstream, state.timeout.as_secs_f64());
            entry.decision = "failed".to_owned();
            entry.reason = Some(problem.code.to_owned());
            forward::problem_response(&problem)
        }
    }
}

/// The innermost cause of a client error ("Connection refused (os error 111)"): it names no
/// request value.
fn cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut last = error;
    while let Some(source) = last.source() {
        last = source;
    }
    last.to_string()
}

/// The inspector's routes: the page, its state, and a redirect to the page.
fn inspect(state: &State, request: &hyper::Request<Incoming>) -> hyper::Response<ResponseBody> {
    let path = if state.inspector {
        request.uri().path()
    } else {
        ""
    };
    let with = |status: StatusCode, content_type: &'static str, body: String| {
        let mut response = hyper::Response::new(forward::full(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            "content-security-policy",
            HeaderValue::from_static(
                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
            ),
        );
        response
    };
    if request.method() != hyper::Method::GET && request.method() != hyper::Method::HEAD {
        return with(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "the inspector only answers GET\n".to_owned(),
        );
    }
    match path {
        INSPECTOR => {
            let mut response = with(
                StatusCode::PERMANENT_REDIRECT,
                "text/plain; charset=utf-8",
                String::new(),
            );
            response
                .headers_mut()
                .insert(LOCATION, HeaderValue::from_static("/_pii-edge/"));
            response
        }
        "/_pii-edge/" => with(
            StatusCode::OK,
            "text/html; charset=utf-8",
            inspector::PAGE.to_owned(),
        ),
        "/_pii-edge/api/state" => {
            let after = request
                .uri()
                .query()
                .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("after=")))
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
            let loaded = Arc::clone(&state.current.read().unwrap_or_else(PoisonError::into_inner));
            let error = state
                .reload_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
                .map(|(at, message)| json!({"at": millis(*at), "message": message}));
            let head = json!({
                "upstream": state.upstream.shown(),
                "showValues": state.show_values,
                "bundle": {
                    "policies": loaded.policies,
                    "loadedAt": millis(loaded.at),
                    "error": error,
                },
            });
            // The entries are kept as JSON text: spliced in, not parsed again.
            let mut text = head.to_string();
            text.pop();
            text.push_str(",\"requests\":");
            text.push_str(&state.history.after(after));
            text.push('}');
            with(StatusCode::OK, "application/json", text)
        }
        _ => with(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not an inspector page; the inspector is at /_pii-edge/\n".to_owned(),
        ),
    }
}

fn millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
