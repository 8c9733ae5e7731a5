//! Criterion benchmarks of issue 7: per request, for bodies of 1 KB, 10 KB and 40 KB with 1, 5,
//! 10 and 100 protected fields (encrypt, one recipient), in one run:
//!
//! - `engine`: `pii_core::Engine::apply` on the decoded request;
//! - `event`: `edge_fn::handle_json`, CloudFront event JSON in, event JSON out (base64 both
//!   ways, the log line built);
//! - `floor-physical`: base64 decode + IgnoredAny scan + base64 encode of the same body;
//! - `floor-dom`: base64 decode + `serde_json::Value` parse + serialize + base64 encode;
//!
//! and, in group `apart`: `x25519-seal` (one X25519 agreement + HKDF + AES-GCM, the public-key part of a
//! request), `mask-f1-<size>` (the engine with a `mask` rule on one field: no public-key work;
//! `engine` minus this is the one-time public-key cost), `recipients-2-f5-<size>` (5 fields
//! sealed to a zone of two regions), `reuse-f5-<size>` (one encapsulation reused across
//! requests; `reuse-event-f5-<size>` the event path so), `split-event-f5-<size>` (the event
//! path as the Node.js package calls it: `edge_fn::handle_parts`, the body's data apart),
//! `x25519-keygen` (the ephemeral key and its public half alone) and `x25519-dalek-seal`
//! (`x25519-seal` with x25519-dalek's X25519 instead of ring's), `tree-f5-<size>` and `tree-mask-f1-<size>` (the same selection written as a slice,
//! `$.pii[0:]`, which the engine evaluates on a document tree instead of in one pass).
//!
//! Run: `cargo bench -p pii-bench --bench request` (add `-- --quick` for a smoke run);
//! `scripts/bench.sh` runs it with the Node.js comparison and writes the table.
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use pii_bench::{cases, dom_floor, edge, engine, physical_floor, Case, X25519Floor, SIZES};

fn configure() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args()
}

fn per_request(c: &mut Criterion) {
    let keys = pii_bench::keys(1).public();
    let engine = engine("encrypt", &keys);
    let edge = edge(&pii_bench::bundle("encrypt", &keys));
    for case in cases() {
        let mut g = c.benchmark_group(format!("{}-f{}", case.label, case.fields));
        g.bench_function("engine", |b| {
            b.iter(|| engine.apply(black_box(&case.request)))
        });
        g.bench_function("event", |b| {
            b.iter(|| edge_fn::handle_json(&edge, black_box(&case.event)))
        });
        g.bench_function("floor-physical", |b| {
            b.iter(|| physical_floor(black_box(&case.body_b64)))
        });
        g.bench_function("floor-dom", |b| {
            b.iter(|| dom_floor(black_box(&case.body_b64)))
        });
        g.finish();
    }
}

fn public_key_cost(c: &mut Criterion) {
    let floor = X25519Floor::new();
    let keys = pii_bench::keys(1).public();
    let mask = engine("mask", &keys);
    let keys2 = pii_bench::keys(2).public();
    let two = engine("encrypt", &keys2);
    // Issue 7's stretch: one encapsulation reused across requests (bounded).
    let reuse = engine("encrypt", &keys).with_reused_data_key_hazard(pii_core::danger::Reuse {
        max_age: std::time::Duration::from_secs(pii_bench::REUSE.0),
        max_fields: pii_bench::REUSE.1,
    });
    let reuse_edge = edge(&pii_bench::bundle_with_reuse("encrypt", &keys));
    let tree = pii_bench::engine_with("encrypt", pii_bench::TREE_SELECTOR, &keys);
    let tree_mask = pii_bench::engine_with("mask", pii_bench::TREE_SELECTOR, &keys);
    let plain_edge = edge(&pii_bench::bundle("encrypt", &keys));
    let mut g = c.benchmark_group("apart");
    g.bench_function("x25519-seal", |b| b.iter(|| floor.seal()));
    g.bench_function("x25519-keygen", |b| b.iter(|| floor.keygen()));
    g.bench_function("x25519-dalek-seal", |b| b.iter(|| floor.seal_dalek()));
    for &(label, size) in &SIZES {
        let one = Case::new(label, size, 1);
        g.bench_function(format!("mask-f1-{label}"), |b| {
            b.iter(|| mask.apply(black_box(&one.request)))
        });
        let five = Case::new(label, size, 5);
        g.bench_function(format!("recipients-2-f5-{label}"), |b| {
            b.iter(|| two.apply(black_box(&five.request)))
        });
        g.bench_function(format!("reuse-f5-{label}"), |b| {
            b.iter(|| reuse.apply(black_box(&five.request)))
        });
        let (event_apart, data) = pii_bench::event_apart(&five.event);
        g.bench_function(format!("split-event-f5-{label}"), |b| {
            b.iter(|| {
                edge_fn::handle_parts(&plain_edge, black_box(&event_apart), Some(data.clone()))
            })
        });
        g.bench_function(format!("reuse-event-f5-{label}"), |b| {
            b.iter(|| edge_fn::handle_json(&reuse_edge, black_box(&five.event)))
        });
        g.bench_function(format!("tree-f5-{label}"), |b| {
            b.iter(|| tree.apply(black_box(&five.request)))
        });
        g.bench_function(format!("tree-mask-f1-{label}"), |b| {
            b.iter(|| tree_mask.apply(black_box(&one.request)))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = configure();
    targets = per_request, public_key_cost
}
criterion_main!(benches);
