//! A minimal Lambda Runtime API emulator on loopback, enough for `lambda_runtime`:
//!
//! - `GET  /2018-06-01/runtime/invocation/next` hands out queued events (long-polls while the
//!   queue is empty) with the `Lambda-Runtime-*` headers;
//! - `POST /2018-06-01/runtime/invocation/{id}/response` and `.../{id}/error` record results;
//! - `POST /2018-06-01/runtime/init/error` records an init failure.
//!
//! HTTP/1.1 with keep-alive, `Content-Length` or chunked bodies. Every wait is bounded.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the function answered for one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// `POST .../response` with this body.
    Response(String),
    /// `POST .../error` with this body.
    Error(String),
}

#[derive(Default)]
struct State {
    queue: VecDeque<(String, String)>,
    results: HashMap<String, Outcome>,
    init_error: Option<String>,
    next_calls: usize,
}

/// The emulator. Dropping it leaves its threads blocked on their sockets; the test process
/// ends them.
pub(crate) struct RuntimeApi {
    addr: SocketAddr,
    state: Arc<(Mutex<State>, Condvar)>,
}

impl RuntimeApi {
    /// Starts the emulator on a free port of 127.0.0.1.
    pub(crate) fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let state: Arc<(Mutex<State>, Condvar)> = Arc::default();
        let shared = state.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let shared = shared.clone();
                thread::spawn(move || serve(stream, &shared));
            }
        });
        RuntimeApi { addr, state }
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub(crate) fn endpoint(&self) -> String {
        self.addr.to_string()
    }

    /// Queues an event under a request id.
    pub(crate) fn push(&self, request_id: &str, event: String) {
        let (lock, cvar) = &*self.state;
        lock.lock()
            .expect("state")
            .queue
            .push_back((request_id.to_owned(), event));
        cvar.notify_all();
    }

    /// Waits until every id has a result, or `timeout`; returns what there is.
    pub(crate) fn wait_results(
        &self,
        ids: &[String],
        timeout: Duration,
    ) -> HashMap<String, Outcome> {
        let deadline = Instant::now() + timeout;
        let (lock, cvar) = &*self.state;
        let mut state = lock.lock().expect("state");
        loop {
            let done = ids.iter().all(|id| state.results.contains_key(id));
            let now = Instant::now();
            if done || now >= deadline || state.init_error.is_some() {
                return state.results.clone();
            }
            state = cvar.wait_timeout(state, deadline - now).expect("state").0;
        }
    }

    /// The init error the function reported, if any.
    pub(crate) fn init_error(&self) -> Option<String> {
        self.state.0.lock().expect("state").init_error.clone()
    }

    /// How many times the function asked for the next event.
    pub(crate) fn next_calls(&self) -> usize {
        self.state.0.lock().expect("state").next_calls
    }
}

pub(crate) struct HttpRequest {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) body: Vec<u8>,
}

fn serve(stream: TcpStream, shared: &Arc<(Mutex<State>, Condvar)>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut writer = write_half;
    while let Some(request) = read_request(&mut reader) {
        let (status, headers, body) = route(&request, shared);
        let mut head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/json\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&body).is_err() {
            return;
        }
        let _ = writer.flush();
    }
}

fn route(
    request: &HttpRequest,
    shared: &Arc<(Mutex<State>, Condvar)>,
) -> (&'static str, Vec<(String, String)>, Vec<u8>) {
    const PREFIX: &str = "/2018-06-01/runtime/";
    let accepted = ("202 Accepted", Vec::new(), br#"{"status":"OK"}"#.to_vec());
    let (lock, cvar) = &**shared;
    let Some(rest) = request.path.strip_prefix(PREFIX) else {
        return ("404 Not Found", Vec::new(), b"{}".to_vec());
    };
    match (request.method.as_str(), rest) {
        ("GET", "invocation/next") => {
            let mut state = lock.lock().expect("state");
            state.next_calls += 1;
            // Long-poll, as the real API does, in bounded steps.
            let give_up = Instant::now() + Duration::from_secs(60);
            loop {
                if let Some((id, event)) = state.queue.pop_front() {
                    let deadline = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map(|d| d.as_millis() + 30_000)
                        .unwrap_or(0);
                    let headers = vec![
                        ("Lambda-Runtime-Aws-Request-Id".to_owned(), id),
                        ("Lambda-Runtime-Deadline-Ms".to_owned(), deadline.to_string()),
                        (
                            "Lambda-Runtime-Invoked-Function-Arn".to_owned(),
                            "arn:aws:lambda:us-east-1:123456789012:function:pii-edge-test:1"
                                .to_owned(),
                        ),
                        (
                            "Lambda-Runtime-Trace-Id".to_owned(),
                            "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"
                                .to_owned(),
                        ),
                    ];
                    return ("200 OK", headers, event.into_bytes());
                }
                let now = Instant::now();
                if now >= give_up {
                    return ("500 Internal Server Error", Vec::new(), b"{}".to_vec());
                }
                state = cvar.wait_timeout(state, give_up - now).expect("state").0;
            }
        }
        ("POST", "init/error") => {
            lock.lock().expect("state").init_error =
                Some(String::from_utf8_lossy(&request.body).into_owned());
            cvar.notify_all();
            accepted
        }
        ("POST", path) => {
            let Some(rest) = path.strip_prefix("invocation/") else {
                return ("404 Not Found", Vec::new(), b"{}".to_vec());
            };
            let body = String::from_utf8_lossy(&request.body).into_owned();
            let (id, outcome) = if let Some(id) = rest.strip_suffix("/response") {
                (id, Outcome::Response(body))
            } else if let Some(id) = rest.strip_suffix("/error") {
                (id, Outcome::Error(body))
            } else {
                return ("404 Not Found", Vec::new(), b"{}".to_vec());
            };
            lock.lock()
                .expect("state")
                .results
                .insert(id.to_owned(), outcome);
            cvar.notify_all();
            accepted
        }
        _ => ("404 Not Found", Vec::new(), b"{}".to_vec()),
    }
}

/// One HTTP/1.1 request (Content-Length or chunked body); shared with the fault emulator of
/// tests/hostile_events.rs.
pub(crate) fn read_request(reader: &mut BufReader<TcpStream>) -> Option<HttpRequest> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut content_length = 0usize;
    let mut chunked = false;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse().ok()?;
            } else if name.eq_ignore_ascii_case("transfer-encoding")
                && value.eq_ignore_ascii_case("chunked")
            {
                chunked = true;
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line).ok()?;
            let size_text = size_line.trim().split(';').next()?;
            let size = usize::from_str_radix(size_text, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(content_length, 0);
        reader.read_exact(&mut body).ok()?;
    }
    Some(HttpRequest { method, path, body })
}
