//! `pii-edge-ndjson`: the child-process bridge, kept to measure it against the addon
//! (`docs/decisions/0002-edge-bridge.md`); the shipped package uses the addon.
//!
//! `pii-edge-ndjson BUNDLE.json` validates the bundle once, then reads one CloudFront event
//! per line on stdin and writes one answer per line on stdout, in order. Log lines go to
//! stderr (stdout is the protocol). Exits at the end of stdin.
#![forbid(unsafe_code)]

use std::io::{BufRead, Write};
use std::sync::Arc;

use edge_fn::bundle::Edge;
use edge_fn::log::LogSink;

/// Log lines on stderr.
struct StderrSink;

impl LogSink for StderrSink {
    fn write_line(&self, line: &str) {
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}

fn main() {
    edge_fn::log::install_quiet_panic_hook();
    let bundle = std::env::args_os()
        .nth(1)
        .and_then(|path| std::fs::read_to_string(path).ok())
        .unwrap_or_default();
    let edge = Edge::from_bundle_with_log(&bundle, Arc::new(StderrSink));
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let answer = edge_fn::handle_json(&edge, &line);
        if out.write_all(answer.as_bytes()).is_err()
            || out.write_all(b"\n").is_err()
            || out.flush().is_err()
        {
            break;
        }
    }
}
