//! What `pii-edge serve` adds in front of an upstream: requests per second and the latency
//! added at the median and the 99th percentile, against calling the same upstream directly,
//! in the same run (rounds alternate direct / through serve / through serve without the
//! inspector, so that drift hits all alike).
//!
//! ```sh
//! cargo bench -p pii-edge-cli --bench serve             # release build of serve and this program
//! cargo bench -p pii-edge-cli --bench serve -- --quick  # a smoke run
//! ```
//!
//! The upstream is an in-process hyper server answering 200 at once; clients are pooled
//! HTTP/1.1 connections on loopback; `pii-edge serve` runs the example policies with the demo
//! keys (its per-request log lines go to /dev/null). The requests are the forwarded requests
//! of the example events and policy test cases (`tests/serve_support`), and, apart, the
//! example sign-up (a JSON body with 7 protected values).

#[path = "../tests/serve_support/mod.rs"]
mod serve_support;

use std::time::{Duration, Instant};

use serve_support::{client, example_args, send, Expect, Req, Serve, Upstream};

const BIN: &str = env!("CARGO_BIN_EXE_pii-edge");

/// Latencies of one phase, microseconds, and its wall time.
struct Phase {
    latencies: Vec<u64>,
    wall: Duration,
}

async fn phase(base: &str, requests: &[Req], total: usize, concurrency: usize) -> Phase {
    let started = Instant::now();
    let per_client = total / concurrency;
    let mut tasks = Vec::new();
    for c in 0..concurrency {
        let base = base.to_owned();
        let requests = requests.to_vec();
        tasks.push(tokio::spawn(async move {
            let http = client();
            let mut latencies = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let req = &requests[(c * 13 + i) % requests.len()];
                let t = Instant::now();
                let resp = send(&http, &base, req).await.expect("response");
                assert_eq!(resp.status, 200, "{} {}", req.method, req.target);
                latencies.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
            }
            latencies
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        latencies.extend(task.await.expect("client"));
    }
    Phase {
        latencies,
        wall: started.elapsed(),
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// `(requests/s, p50 µs, p99 µs)` over the phases.
fn summary(phases: &[Phase]) -> (f64, u64, u64) {
    let mut all: Vec<u64> = phases
        .iter()
        .flat_map(|p| p.latencies.iter().copied())
        .collect();
    all.sort_unstable();
    let wall: f64 = phases.iter().map(|p| p.wall.as_secs_f64()).sum();
    (
        all.len() as f64 / wall,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
    )
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 1 } else { 3 };
    let per_phase = if quick { 400 } else { 3000 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let upstream = Upstream::start(false, Duration::ZERO).await;
        let serve = Serve::start(BIN, &example_args(&upstream.url()));
        let mut args = example_args(&upstream.url());
        args.push("--no-inspector".into());
        let bare = Serve::start(BIN, &args);
        let traffic = serve_support::traffic();
        let forwarded: Vec<Req> = traffic
            .iter()
            .filter(|c| !matches!(c.expect, Expect::Rejected(..)))
            .map(|c| c.req.clone())
            .collect();
        let signup: Vec<Req> = traffic
            .iter()
            .filter(|c| c.name == "examples/events/signup-json.json")
            .map(|c| c.req.clone())
            .collect();
        println!(
            "pii-edge serve benchmark: {} forwarded request kinds; {rounds} round(s) of {per_phase} requests per phase; nproc {}",
            forwarded.len(),
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
        );
        println!();
        println!("| requests | clients | via | req/s | ratio to direct | p50 | added p50 | p99 | added p99 |");
        println!("|---|---:|---|---:|---:|---:|---:|---:|---:|");
        for (name, requests) in [("example mix", &forwarded), ("sign-up JSON", &signup)] {
            for concurrency in [1, 8] {
                let targets = [
                    ("direct", upstream.url()),
                    ("serve", serve.url()),
                    ("serve --no-inspector", bare.url()),
                ];
                // Warm-up: connections, caches, the first sealing.
                for (_, base) in &targets {
                    phase(base, requests, 200, concurrency).await;
                }
                let mut results: Vec<Vec<Phase>> = targets.iter().map(|_| Vec::new()).collect();
                for _ in 0..rounds {
                    for (i, (_, base)) in targets.iter().enumerate() {
                        results[i].push(phase(base, requests, per_phase, concurrency).await);
                    }
                }
                let (d_rps, d50, d99) = summary(&results[0]);
                for (i, (via, _)) in targets.iter().enumerate() {
                    let (rps, p50, p99) = summary(&results[i]);
                    let added = |x: u64, base: u64| {
                        if i == 0 { "".to_owned() } else { format!("+{} µs", x.saturating_sub(base)) }
                    };
                    println!(
                        "| {name} | {concurrency} | {via} | {rps:.0} | {:.2} | {p50} µs | {} | {p99} µs | {} |",
                        rps / d_rps,
                        added(p50, d50),
                        added(p99, d99)
                    );
                }
            }
        }
        drop(serve);
        drop(bare);
    });
}
