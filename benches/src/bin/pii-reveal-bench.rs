//! `pii-reveal-bench REQUEST PRIVATE_JWKS`: the Rust figure of the origin-package benchmark
//! (benches/bindings/run.sh): how long `pii_core::reveal` takes on a protected request written
//! by `pii-edge apply` (method, path, query, `Name: value` headers, body), with the same timing
//! method as the Python and Node.js scripts beside it: median over 15 rounds of at least 20 ms,
//! in microseconds per reveal, printed as JSON.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use serde_json::Value;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pii-reveal-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<String, String> {
    let [request, keys] = args else {
        return Err("usage: pii-reveal-bench REQUEST_JSON PRIVATE_JWKS".into());
    };
    let read = |p: &str| std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"));
    let keys = pii_core::PrivateKeyring::from_jwks(&read(keys)?).map_err(|e| e.to_string())?;
    let doc: Value = serde_json::from_str(&read(request)?).map_err(|e| e.to_string())?;
    let r = &doc["request"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let mut req = pii_core::Request::new(text(&r["method"]), text(&r["path"]))
        .with_query(text(&r["query"]))
        .with_body(text(&r["body"]).into_bytes());
    for line in r["headers"].as_array().into_iter().flatten() {
        if let Some((name, value)) = line.as_str().and_then(|l| l.split_once(": ")) {
            req = req.with_header(name, value);
        }
    }
    let once = || pii_core::reveal(&keys, &req, pii_core::reveal::Expect::default());
    let opened = once().map_err(|e| e.to_string())?.opened();
    let median = pii_bench::median_us(once)?;
    Ok(format!(
        "{{\"impl\":\"rust\",\"opened\":{opened},\"median_us\":{:.2}}}",
        median
    ))
}
