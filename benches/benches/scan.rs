//! Criterion benchmark of `pii-edge scan` (issue 15): throughput in MB/s of reading recorded
//! traffic and running every detector on it, against the floor of parsing the same bytes.
//!
//! - `scan/ndjson`: NDJSON request logs with JSON bodies (about 1.3 KB a line: contact data,
//!   an IBAN, a card, a national id, a birth date, order references, line items),
//!   `edge_fn::scan::input::read` + `scan_request` on every request;
//! - `scan/ndjson-floor`: the same lines parsed as `serde_json::Value`, and each body again
//!   (what any tool reading these logs pays before looking at a value);
//! - `scan/har`: a HAR 1.2 file of the same requests with a 4 KB base64 response body each (the
//!   usual bulk of a HAR), read entry by entry;
//! - `scan/har-floor`: the same file validated with `serde::de::IgnoredAny`.
//!
//! Run: `cargo bench -p pii-bench --bench scan` (`-- --quick` for a smoke run).
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use edge_fn::scan::{input, scan_request};
use serde_json::{json, Value};

/// Requests per input.
const REQUESTS: usize = 4000;

/// A deterministic pseudo-random sequence (xorshift), so every run scans the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + (self.next() % 10) as u8))
            .collect()
    }
}

fn body(rng: &mut Rng, i: usize) -> Value {
    let first = rng.pick(&[
        "Erika", "Jan", "Sofia", "Luca", "Anna", "Mateusz", "Léa", "Björn",
    ]);
    let last = rng.pick(&[
        "Mustermann",
        "Kowalski",
        "Rossi",
        "Dubois",
        "Jansen",
        "Andersson",
    ]);
    let phone = rng.pick(&[
        "+49 30 1234567",
        "+33 6 12 34 56 78",
        "+39 312 345 6789",
        "030 1234567",
        "06 12 34 56 78",
        "+48 512 345 678",
    ]);
    let items: Vec<Value> = (0..3)
        .map(|j| json!({"sku": format!("SKU-{}", rng.digits(5)), "name": "Trail running shoe", "quantity": j + 1, "priceCents": rng.next() % 100000}))
        .collect();
    json!({
        "customer": {
            "firstName": first, "lastName": last,
            "email": format!("{}.{}{i}@example.com", first.to_lowercase(), last.to_lowercase()),
            "phone": phone,
            "dateOfBirth": format!("19{}-0{}-1{}", 50 + rng.next() % 49, 1 + rng.next() % 9, rng.next() % 9),
            "iban": rng.pick(&["DE89370400440532013000", "FR1420041010050500013M02606", "NL91ABNA0417164300"]),
            "nationalId": rng.pick(&["44051401359", "85073003328", "111222333"]),
        },
        "payment": {"cardNumber": rng.pick(&["4111111111111111", "5555555555554444", "378282246310005"]), "cvc": "123"},
        "order": {"orderId": rng.digits(16), "createdAt": "2026-11-30T12:00:00Z", "id": "6f1c2b1e-9d1a-4c3e-8f5a-2b7d9e0c4a11", "note": "Please leave the parcel with the neighbours if nobody answers the door.", "items": items},
        "marketingOptIn": rng.next() % 2 == 0,
    })
}

fn ndjson() -> Vec<u8> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::new();
    for i in 0..REQUESTS {
        let record = json!({
            "method": "POST", "path": format!("/api/orders/{i}"), "query": format!("ref=mail&session={}", rng.digits(12)),
            "headers": {"content-type": "application/json", "user-agent": "Mozilla/5.0", "x-forwarded-for": "203.0.113.7"},
            "body": body(&mut rng, i).to_string(),
        });
        out.extend(record.to_string().into_bytes());
        out.push(b'\n');
    }
    out
}

fn har() -> Vec<u8> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let response = "iVBORw0K".repeat(512);
    let entries: Vec<Value> = (0..REQUESTS)
        .map(|i| json!({
            "startedDateTime": "2026-11-30T12:00:00.000Z", "time": 12,
            "request": {"method": "POST", "url": format!("https://shop.example/api/orders/{i}?ref=mail"), "httpVersion": "HTTP/2",
                "headers": [{"name": ":authority", "value": "shop.example"}, {"name": "content-type", "value": "application/json"}, {"name": "user-agent", "value": "Mozilla/5.0"}],
                "cookies": [], "queryString": [{"name": "ref", "value": "mail"}],
                "postData": {"mimeType": "application/json", "text": body(&mut rng, i).to_string()}, "headersSize": -1, "bodySize": 1000},
            "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/2", "cookies": [], "headers": [],
                "content": {"size": 3072, "mimeType": "image/png", "encoding": "base64", "text": response}, "redirectURL": "", "headersSize": -1, "bodySize": 3072},
            "cache": {}, "timings": {"send": 0, "wait": 10, "receive": 2}
        }))
        .collect();
    let doc = json!({"log": {"version": "1.2", "creator": {"name": "bench", "version": "1"}, "entries": entries}});
    serde_json::to_vec_pretty(&doc).unwrap_or_default()
}

/// Each line parsed as a `Value`, and its body again.
fn floor(ndjson: &[u8]) -> usize {
    let mut n = 0;
    for line in ndjson.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
        let v: Value = serde_json::from_slice(line).unwrap_or(Value::Null);
        let body: Value = v["body"]
            .as_str()
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or(Value::Null);
        n += usize::from(body.is_object());
    }
    n
}

/// CPU seconds (user + system) this process has used.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn scan_all(bytes: &[u8]) -> usize {
    let mut found = 0;
    let stats = input::read(
        bytes,
        &mut |req| found += scan_request(&req).len(),
        &mut |_| {},
    );
    assert!(stats.is_ok_and(|s| s.requests == REQUESTS));
    found
}

fn bench(c: &mut Criterion) {
    let ndjson = ndjson();
    let har = har();
    let mut g = c.benchmark_group("scan");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Bytes(ndjson.len() as u64));
    g.bench_function("ndjson", |b| b.iter(|| scan_all(black_box(&ndjson))));
    g.bench_function("ndjson-floor", |b| {
        b.iter(|| {
            let mut n = 0;
            for line in black_box(&ndjson)
                .split(|&c| c == b'\n')
                .filter(|l| !l.is_empty())
            {
                let v: Value = serde_json::from_slice(line).unwrap_or(Value::Null);
                let body: Value = v["body"]
                    .as_str()
                    .and_then(|b| serde_json::from_str(b).ok())
                    .unwrap_or(Value::Null);
                n += usize::from(body.is_object());
            }
            n
        })
    });
    g.throughput(Throughput::Bytes(har.len() as u64));
    g.bench_function("har", |b| b.iter(|| scan_all(black_box(&har))));
    g.bench_function("har-floor", |b| {
        b.iter(|| serde_json::from_slice::<serde::de::IgnoredAny>(black_box(&har)).is_ok())
    });
    g.finish();
    // The machine is shared: wall time includes waiting for a core. CPU time of the same work
    // (utime + stime of this process, /proc/self/stat, 10 ms ticks) says what the scanner
    // costs when it has a core.
    for (name, bytes, scan) in [
        ("ndjson", &ndjson, true),
        ("ndjson-floor", &ndjson, false),
        ("har", &har, true),
    ] {
        let rounds = 10;
        let (cpu0, wall0) = (cpu_seconds(), std::time::Instant::now());
        for _ in 0..rounds {
            if scan {
                black_box(scan_all(bytes));
            } else {
                black_box(floor(bytes));
            }
        }
        let (cpu, wall) = (cpu_seconds() - cpu0, wall0.elapsed().as_secs_f64());
        let mb = (bytes.len() * rounds) as f64 / 1e6;
        println!(
            "scan/{name}: {:.1} MB/s of CPU time ({cpu:.2} s CPU, {wall:.2} s wall for {mb:.0} MB)",
            mb / cpu.max(0.01)
        );
    }
    println!(
        "input sizes: NDJSON {} bytes, HAR {} bytes, {REQUESTS} requests each",
        ndjson.len(),
        har.len()
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().configure_from_args();
    targets = bench
}
criterion_main!(benches);
