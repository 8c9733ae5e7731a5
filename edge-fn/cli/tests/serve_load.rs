//! `pii-edge serve` under load and faults, on loopback only, with bounded loops: concurrent
//! clients sending thousands of the example requests (nothing lost, no plaintext at the
//! upstream, every rejection the right status); the upstream stopped mid-run (502 problems,
//! then recovery); a slow upstream (other requests go on; a timeout gives 504).
//!
//! Correctness only: the figures (requests/s, added latency) come from the benchmark
//! `cargo bench -p pii-edge-cli --bench serve`, never from a timed test.

mod serve_support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serve_support::{client, example_args, send, Expect, Req, Resp, Serve, Upstream};

const BIN: &str = env!("CARGO_BIN_EXE_pii-edge");

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn is_problem(resp: &Resp, status: u16, code: &str) -> bool {
    resp.status == status
        && resp.header("content-type") == Some("application/problem+json")
        && resp.json()["type"] == format!("https://pii-edge.dev/problems/{code}")
}

#[test]
fn concurrent_clients_lose_nothing_and_leak_nothing() {
    const CLIENTS: usize = 8;
    const PER_CLIENT: usize = 300;
    let rt = runtime();
    rt.block_on(async {
        let upstream = Upstream::start(true, Duration::ZERO).await;
        let serve = Serve::start(BIN, &example_args(&upstream.url()));
        let cases = Arc::new(serve_support::traffic());
        let base = serve.url();
        let mut tasks = Vec::new();
        for c in 0..CLIENTS {
            let cases = Arc::clone(&cases);
            let base = base.clone();
            tasks.push(tokio::spawn(async move {
                let http = client();
                let mut sent = Vec::with_capacity(PER_CLIENT);
                for i in 0..PER_CLIENT {
                    let index = (c * 7 + i) % cases.len();
                    let resp = send(&http, &base, &cases[index].req).await;
                    sent.push((index, resp));
                }
                sent
            }));
        }
        // Request id -> case, for every request the edge forwarded.
        let mut forwarded: HashMap<String, usize> = HashMap::new();
        let mut total = 0;
        for task in tasks {
            for (index, resp) in task.await.expect("client") {
                total += 1;
                let case = &cases[index];
                let resp = resp.unwrap_or_else(|e| panic!("{}: lost: {e}", case.name));
                match &case.expect {
                    Expect::Rejected(status, code) => {
                        assert!(
                            is_problem(&resp, *status, code),
                            "{}: {} {}",
                            case.name,
                            resp.status,
                            String::from_utf8_lossy(&resp.body)
                        );
                    }
                    _ => {
                        assert_eq!(resp.status, 200, "{}", case.name);
                        let id = resp.header("x-amz-cf-id").expect("request id").to_owned();
                        assert!(forwarded.insert(id, index).is_none(), "request id reused");
                    }
                }
            }
        }
        assert_eq!(total, CLIENTS * PER_CLIENT);
        let received = upstream.taken();
        assert_eq!(
            received.len(),
            forwarded.len(),
            "the upstream got a different number of requests than were forwarded"
        );
        for got in &received {
            let id = got.header("x-amz-cf-id");
            let index = forwarded
                .remove(id[0])
                .expect("a request the edge forwarded, once");
            let case = &cases[index];
            let text = got.text();
            for plain in &case.absent {
                assert!(
                    !text.contains(plain.as_str()),
                    "{}: plaintext {plain:?} at the upstream",
                    case.name
                );
            }
            if case.expect == Expect::Unmatched {
                assert_eq!(got.body, case.req.body, "{}", case.name);
            }
        }
        assert!(forwarded.is_empty());
    });
}

#[test]
fn a_stopped_upstream_gives_502_problems_and_serve_recovers_when_it_returns() {
    const CLIENTS: usize = 4;
    const PER_CLIENT: usize = 150;
    let rt = runtime();
    rt.block_on(async {
        let upstream = Arc::new(Upstream::start(true, Duration::ZERO).await);
        let serve = Serve::start(BIN, &example_args(&upstream.url()));
        let base = serve.url();
        let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let total = CLIENTS * PER_CLIENT;
        // Stop after a third of the responses, start again after two thirds.
        let orchestrator = {
            let upstream = Arc::clone(&upstream);
            let done = Arc::clone(&done);
            tokio::spawn(async move {
                while done.load(std::sync::atomic::Ordering::SeqCst) < total / 3 {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                upstream.stop();
                let stopped_at = done.load(std::sync::atomic::Ordering::SeqCst);
                while done.load(std::sync::atomic::Ordering::SeqCst) < 2 * total / 3 {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                upstream.restart().await;
                let restarted_at = done.load(std::sync::atomic::Ordering::SeqCst);
                (stopped_at, restarted_at)
            })
        };
        let mut tasks = Vec::new();
        for _ in 0..CLIENTS {
            let base = base.clone();
            let done = Arc::clone(&done);
            tasks.push(tokio::spawn(async move {
                let http = client();
                let mut got = Vec::new();
                for _ in 0..PER_CLIENT {
                    let req = Req {
                        method: "GET".into(),
                        target: "/api/search?email=erika%40example.de".into(),
                        ..Req::default()
                    };
                    let resp = send(&http, &base, &req).await;
                    let n = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    got.push((n, resp));
                    // Leave the orchestrator room on a busy machine.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                got
            }));
        }
        let mut responses = Vec::new();
        for task in tasks {
            responses.extend(task.await.expect("client"));
        }
        let (stopped_at, restarted_at) = orchestrator.await.expect("orchestrator");
        responses.sort_by_key(|(n, _)| *n);
        assert_eq!(responses.len(), total);
        let mut failed = 0;
        for (n, resp) in &responses {
            let resp = resp
                .as_ref()
                .unwrap_or_else(|e| panic!("response {n} lost: {e}"));
            if resp.status == 200 {
                continue;
            }
            assert!(
                is_problem(resp, 502, "upstream-unavailable"),
                "response {n}: {} {}",
                resp.status,
                String::from_utf8_lossy(&resp.body)
            );
            assert!(
                *n >= stopped_at.saturating_sub(CLIENTS) && *n < restarted_at + CLIENTS,
                "502 at {n}, outside the stop ({stopped_at}..{restarted_at})"
            );
            failed += 1;
        }
        assert!(failed > 0, "no request met the stopped upstream");
        // After the restart, every request is served again.
        let tail = responses
            .iter()
            .filter(|(n, _)| *n >= restarted_at + CLIENTS)
            .count();
        assert!(tail > 50, "too few requests after the restart: {tail}");
        for got in upstream.taken() {
            assert!(!got.text().contains("erika"), "plaintext at the upstream");
        }
    });
}

#[test]
fn a_slow_upstream_does_not_block_other_requests_and_times_out_with_504() {
    let rt = runtime();
    rt.block_on(async {
        let upstream = Upstream::start(true, Duration::from_secs(10)).await;
        let mut args = example_args(&upstream.url());
        args.extend(["--upstream-timeout".into(), "8".into()]);
        let serve = Serve::start(BIN, &args);
        let base = serve.url();
        let mut slow = Vec::new();
        for i in 0..8 {
            let base = base.clone();
            slow.push(tokio::spawn(async move {
                let req = Req {
                    method: "GET".into(),
                    target: format!("/slow/{i}"),
                    ..Req::default()
                };
                send(&client(), &base, &req).await
            }));
        }
        // Let the slow ones reach the upstream.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let http = client();
        for _ in 0..50 {
            let req = Req {
                method: "GET".into(),
                target: "/api/search?email=erika%40example.de".into(),
                ..Req::default()
            };
            let resp = send(&http, &base, &req).await.expect("quick request");
            assert_eq!(resp.status, 200);
        }
        // The quick requests were all answered while every slow one was still waiting.
        assert!(
            slow.iter().all(|t| !t.is_finished()),
            "a slow request finished before 50 quick ones"
        );
        for task in slow {
            let resp = task.await.expect("task").expect("slow request answered");
            assert!(
                is_problem(&resp, 504, "upstream-timeout"),
                "{} {}",
                resp.status,
                String::from_utf8_lossy(&resp.body)
            );
        }
        let state = send(
            &http,
            &base,
            &Req {
                method: "GET".into(),
                target: "/_pii-edge/api/state".into(),
                ..Req::default()
            },
        )
        .await
        .expect("state")
        .json();
        let timeouts = state["requests"]
            .as_array()
            .expect("requests")
            .iter()
            .filter(|r| {
                r["reason"] == "upstream-timeout" && r["status"] == 504 && r["decision"] == "failed"
            })
            .count();
        assert_eq!(timeouts, 8);
    });
}
