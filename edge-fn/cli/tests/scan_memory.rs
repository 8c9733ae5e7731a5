//! `pii-edge scan` streams: a large input fed through a pipe needs the memory of one request,
//! not of the input. The peak resident set (`VmHWM` in `/proc/PID/status`) is read once all
//! the input has been written (the scanner has read all but a pipe's and a buffer's worth),
//! before standard input is closed, and must stay far below the input's size.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_pii-edge");
/// Input fed to each run.
const INPUT_BYTES: usize = 128 << 20;
/// Peak resident set allowed (measured: about 13.5 MB for either input, debug build).
const RSS_LIMIT_KB: u64 = 32 << 10;

fn spawn() -> Child {
    Command::new(BIN)
        .args(["scan", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pii-edge")
}

fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// Feeds `chunks` to a scan, returns (peak RSS in kB while reading, the report).
fn feed(chunks: impl Iterator<Item = Vec<u8>>) -> (u64, Value, usize) {
    let mut child = spawn();
    let pid = child.id();
    let mut stdin = child.stdin.take().expect("stdin");
    let mut written = 0;
    for chunk in chunks {
        written += chunk.len();
        stdin.write_all(&chunk).expect("write");
    }
    stdin.flush().expect("flush");
    let peak = peak_rss_kb(pid);
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    (peak, report, written)
}

fn ndjson_line(i: usize) -> Vec<u8> {
    let items: Vec<Value> = (0..40)
        .map(|j| serde_json::json!({"sku": format!("SKU-{j:05}"), "name": "Walking shoe, size 42, colour anthracite", "qty": j}))
        .collect();
    let body = serde_json::json!({
        "customer": {"email": format!("user{i}@example.com"), "lastName": "Beispiel"},
        "items": items,
    });
    let record = serde_json::json!({
        "method": "POST", "path": format!("/api/orders/{i}"),
        "headers": {"content-type": "application/json"},
        "body": body.to_string(),
    });
    let mut line = record.to_string().into_bytes();
    line.push(b'\n');
    line
}

#[test]
fn ndjson_is_read_line_by_line() {
    let line_len = ndjson_line(0).len();
    let lines = INPUT_BYTES / line_len;
    let (peak, report, written) = feed((0..lines).map(ndjson_line));
    println!("NDJSON: {written} bytes, peak RSS {peak} kB");
    assert_eq!(report["requests"], lines as u64);
    assert!(written >= INPUT_BYTES - line_len);
    assert!(
        peak < RSS_LIMIT_KB,
        "peak RSS {peak} kB for {written} bytes of NDJSON (limit {RSS_LIMIT_KB} kB)"
    );
}

/// The same records as one JSON array on a single line (no newline until the end): the line
/// is parsed as it is read, not held.
#[test]
fn a_single_line_json_array_is_streamed() {
    let record = |i: usize| {
        let mut line = ndjson_line(i);
        line.pop(); // the newline
        let mut bytes = if i == 0 { b"[".to_vec() } else { b",".to_vec() };
        bytes.extend(line);
        bytes
    };
    // Half the input of the other runs (the test's time): still twice the memory allowed.
    let records = INPUT_BYTES / 2 / record(1).len();
    let chunks = (0..records)
        .map(record)
        .chain(std::iter::once(b"]\n".to_vec()));
    let (peak, report, written) = feed(chunks);
    println!("one-line JSON array: {written} bytes, peak RSS {peak} kB");
    assert_eq!(report["requests"], records as u64);
    assert!(
        peak < RSS_LIMIT_KB,
        "peak RSS {peak} kB for {written} bytes on one line (limit {RSS_LIMIT_KB} kB)"
    );
}

#[test]
fn har_entries_are_read_one_by_one() {
    // Most of a HAR's bytes are response bodies, which the scanner skips unread.
    let content = "QUJD".repeat(64 << 10);
    let entry = |i: usize| {
        let e = serde_json::json!({
            "startedDateTime": "2026-11-30T12:00:00.000Z", "time": 1,
            "request": {"method": "GET", "url": format!("https://shop.example/api/search?email=user{i}%40example.com&page={i}"),
                "httpVersion": "HTTP/1.1", "cookies": [], "headers": [], "queryString": [], "headersSize": -1, "bodySize": 0},
            "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "cookies": [], "headers": [],
                "content": {"size": content.len(), "mimeType": "image/png", "encoding": "base64", "text": content},
                "redirectURL": "", "headersSize": -1, "bodySize": -1},
            "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}
        });
        let mut bytes = if i == 0 { Vec::new() } else { b",\n".to_vec() };
        bytes.extend(e.to_string().into_bytes());
        bytes
    };
    let entry_len = entry(1).len();
    let entries = INPUT_BYTES / entry_len;
    let head = b"{\n  \"log\": {\"version\": \"1.2\", \"creator\": {\"name\": \"test\", \"version\": \"1\"},\n  \"entries\": [\n".to_vec();
    let tail = b"\n]}}\n".to_vec();
    let chunks = std::iter::once(head)
        .chain((0..entries).map(entry))
        .chain(std::iter::once(tail));
    let (peak, report, written) = feed(chunks);
    println!("HAR: {written} bytes, peak RSS {peak} kB");
    assert_eq!(report["requests"], entries as u64);
    let email = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["location"] == "query:email")
        .unwrap();
    assert_eq!(email["requests"], entries as u64);
    assert!(
        peak < RSS_LIMIT_KB,
        "peak RSS {peak} kB for {written} bytes of HAR (limit {RSS_LIMIT_KB} kB)"
    );
}

#[test]
fn the_peak_is_read_from_a_live_process() {
    // The measurement itself: a fresh process is small, and VmHWM is readable.
    let mut child = spawn();
    let peak = peak_rss_kb(child.id());
    assert!(peak > 0 && peak < RSS_LIMIT_KB);
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("wait");
    let _ = BufReader::new(&out.stdout[..]).lines().count();
}
