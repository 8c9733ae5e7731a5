//! `pii-bench`: helpers for `scripts/bench.sh`.
//!
//! - `pii-bench fixtures DIR`: writes the benchmark policy (`policy.json`), the public keys
//!   (`public.jwks`), the edge bundle (`bundle.json`) and one CloudFront event per case
//!   (`events/<size>-f<fields>.json`, listed in `cases.json`), so that the Node.js handlers and
//!   the cold-start runs use exactly what the Rust benchmarks use.
//! - `pii-bench check DIR`: runs every event of DIR through the edge handler once and checks
//!   that it is forwarded with every protected value sealed (no plaintext left); prints the
//!   body growth per case as JSON.
//! - `pii-bench breakdown DIR`: where the time of the full event path goes, 5 fields per size:
//!   event JSON parse, engine, the handler around it, output JSON; medians of 15 rounds of
//!   20 ms per part (µs), as JSON.
//! - `pii-bench count WHAT N`: does WHAT once, then N more times, and nothing else: for
//!   instruction counts under `valgrind --tool=callgrind`, which stay the same on a loaded
//!   machine. (Ir with N) − (Ir with 0), divided by N, is the cost of one WHAT. WHAT is
//!   `x25519-seal`, `x25519-keygen`, `x25519-dalek-seal` (as the criterion benchmarks of those
//!   names), or `KIND-SIZE-fFIELDS` with KIND `event` (`edge_fn::handle_json`), `split`
//!   (`edge_fn::handle_parts`, the Node.js package's path), `reuse-split` (the same with one
//!   encapsulation reused: everything but the X25519) or `engine`, e.g. `split-40KB-f5`.
//! - `pii-bench repeat DIR engine|event CASE N`: one case N times, for instruction counts.
//! - `pii-bench jwt FIXTURE`: identity-token verification per algorithm (µs, median), on
//!   `benches/fixtures/jwt.json`; `count jwt-rs256|jwt-ps256|jwt-es256|jwt-eddsa N` for
//!   instruction counts (issue 22).
#![forbid(unsafe_code)]

use std::path::Path;
use std::process::ExitCode;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["fixtures", dir] => fixtures(Path::new(dir)),
        ["check", dir] => check(Path::new(dir)),
        ["breakdown", dir] => breakdown(Path::new(dir)),
        ["count", what, n] => count(what, n),
        ["repeat", dir, what, id, n] => repeat(Path::new(dir), what, id, n),
        ["jwt", fixture] => jwt(Path::new(fixture)),
        _ => Err(
            "usage: pii-bench fixtures DIR | check DIR | breakdown DIR | count WHAT N | repeat DIR engine|event CASE N | jwt FIXTURE"
                .to_string(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pii-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn fixtures(dir: &Path) -> Result<(), String> {
    let events = dir.join("events");
    std::fs::create_dir_all(&events).map_err(|e| format!("{}: {e}", events.display()))?;
    let keys = pii_bench::keys(1).public();
    let spec = serde_json::to_string_pretty(&pii_bench::policy_spec("encrypt"))
        .map_err(|e| e.to_string())?;
    write(&dir.join("policy.json"), &spec)?;
    write(&dir.join("public.jwks"), &keys.to_jwks())?;
    write(
        &dir.join("bundle.json"),
        &pii_bench::bundle("encrypt", &keys),
    )?;
    write(
        &dir.join("bundle-reuse.json"),
        &pii_bench::bundle_with_reuse("encrypt", &keys),
    )?;
    let mut list = Vec::new();
    for case in pii_bench::cases() {
        let name = format!("{}-f{}.json", case.label, case.fields);
        write(&events.join(&name), &case.event)?;
        list.push(json!({
            "id": case.id(), "size": case.label, "fields": case.fields,
            "bodyBytes": case.body.len(), "event": format!("events/{name}"),
        }));
    }
    write(&dir.join("cases.json"), &Value::Array(list).to_string())?;
    println!("fixtures written to {}", dir.display());
    Ok(())
}

fn check(dir: &Path) -> Result<(), String> {
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let edge = pii_bench::edge(&read(&dir.join("bundle.json"))?);
    let cases: Value =
        serde_json::from_str(&read(&dir.join("cases.json"))?).map_err(|e| e.to_string())?;
    let mut report = Vec::new();
    for case in cases.as_array().into_iter().flatten() {
        let id = case["id"].as_str().unwrap_or("?");
        let event_text = read(&dir.join(case["event"].as_str().unwrap_or_default()))?;
        let event: Value = serde_json::from_str(&event_text).map_err(|e| e.to_string())?;
        let body_in = STANDARD
            .decode(
                event["Records"][0]["cf"]["request"]["body"]["data"]
                    .as_str()
                    .unwrap_or(""),
            )
            .map_err(|e| e.to_string())?;
        let doc_in: Value = serde_json::from_slice(&body_in).map_err(|e| e.to_string())?;
        let out: Value = serde_json::from_str(&edge_fn::handle_json(&edge, &event_text))
            .map_err(|e| e.to_string())?;
        if out.get("status").is_some() {
            return Err(format!(
                "{id}: answered {} instead of forwarding",
                out["status"]
            ));
        }
        let data = out["body"]["data"].as_str().unwrap_or_default();
        let body_out = match out["body"]["encoding"].as_str() {
            Some("base64") => STANDARD.decode(data).map_err(|e| e.to_string())?,
            _ => data.as_bytes().to_vec(),
        };
        let text_out = String::from_utf8_lossy(&body_out);
        let doc_out: Value = serde_json::from_slice(&body_out).map_err(|e| e.to_string())?;
        for (i, v) in doc_in["pii"].as_array().into_iter().flatten().enumerate() {
            let plain = v.as_str().unwrap_or_default();
            if text_out.contains(&format!("\"{plain}\"")) {
                return Err(format!("{id}: field {i} left in clear"));
            }
            if !doc_out["pii"][i]
                .as_str()
                .unwrap_or_default()
                .starts_with("pe2.")
            {
                return Err(format!("{id}: field {i} is not an envelope"));
            }
        }
        if doc_in["items"] != doc_out["items"] || doc_in["amount"] != doc_out["amount"] {
            return Err(format!("{id}: unselected members changed"));
        }
        report.push(json!({
            "id": id, "bodyIn": body_in.len(), "bodyOut": body_out.len(),
            "growthPerField": (body_out.len() - body_in.len()) / case["fields"].as_u64().unwrap_or(1).max(1) as usize,
        }));
    }
    println!("{}", Value::Array(report));
    Ok(())
}

/// Median per-call time in µs of `f`, over `rounds` batches of about 20 ms.
fn time<T>(rounds: usize, mut f: impl FnMut() -> T) -> f64 {
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = std::time::Instant::now();
        let mut n = 0u32;
        while start.elapsed().as_millis() < 20 {
            std::hint::black_box(f());
            n += 1;
        }
        samples.push(start.elapsed().as_secs_f64() * 1e6 / f64::from(n));
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// `pii-bench repeat DIR engine|event CASE N`: run the engine (or the whole event path) on one
/// case N times and nothing else, for instruction counts under `valgrind --tool=callgrind`
/// (repeatable on a loaded machine, unlike time): the count of N minus the count of 0,
/// divided by N, is the cost of one call.
fn repeat(dir: &Path, what: &str, id: &str, n: &str) -> Result<(), String> {
    let n: usize = n.parse().map_err(|_| format!("not a count: {n}"))?;
    let bundle = std::fs::read_to_string(dir.join("bundle.json")).map_err(|e| e.to_string())?;
    let edge = pii_bench::edge(&bundle);
    let engine = edge.engine().map_err(str::to_string)?;
    let case = pii_bench::cases()
        .into_iter()
        .find(|c| c.id() == id)
        .ok_or_else(|| format!("no case {id}"))?;
    let mut sink = 0usize;
    for _ in 0..n {
        sink += match what {
            "engine" => usize::from(matches!(
                engine.apply(&case.request),
                pii_core::Outcome::Protected(_)
            )),
            "event" => edge_fn::handle_json(&edge, &case.event).len(),
            _ => return Err(format!("repeat what? engine or event, not {what}")),
        };
    }
    println!("{sink}");
    Ok(())
}

fn breakdown(dir: &Path) -> Result<(), String> {
    use edge_fn::cloudfront::CloudFrontEvent;
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let edge = pii_bench::edge(&read(&dir.join("bundle.json"))?);
    let engine = edge.engine().map_err(str::to_string)?;
    let mut report = Vec::new();
    for case in pii_bench::cases().into_iter().filter(|c| c.fields == 5) {
        let event: CloudFrontEvent = case.event.parse().map_err(|e| format!("{e}"))?;
        let output = edge_fn::handle(&edge, event.clone());
        if output.status() != 200 {
            return Err(format!("{}: {}", case.id(), output.to_json()));
        }
        let rounds = 15;
        let parse = time(rounds, || case.event.parse::<CloudFrontEvent>().is_ok());
        let handle = time(rounds, || edge_fn::handle(&edge, event.clone()));
        let clone = time(rounds, || event.clone());
        let engine_only = time(rounds, || engine.apply(&case.request));
        let to_json = time(rounds, || output.to_json().len());
        let total = time(rounds, || edge_fn::handle_json(&edge, &case.event).len());
        report.push(json!({
            "id": case.id(), "handleJson": total, "parseEvent": parse,
            "handleMinusEventClone": handle - clone, "engine": engine_only,
            "handlerAroundEngine": handle - clone - engine_only, "outputToJson": to_json,
        }));
    }
    println!("{}", Value::Array(report));
    Ok(())
}

/// The verifier and the tokens of `benches/fixtures/jwt.json` (by algorithm name).
fn jwt_fixture(path: &Path) -> Result<(pii_core::jwt::Verifier, Vec<(String, String)>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let issuer = pii_core::jwt::Issuer::from_jwks_value(
        v["issuer"].as_str().unwrap_or_default(),
        vec![v["audience"].as_str().unwrap_or_default().to_owned()],
        &v["jwks"],
    )
    .map_err(|e| e.to_string())?;
    let tokens = v["tokens"]
        .as_object()
        .ok_or("no tokens")?
        .iter()
        .map(|(alg, t)| (alg.clone(), t.as_str().unwrap_or_default().to_owned()))
        .collect();
    Ok((pii_core::jwt::Verifier::new(vec![issuer], 60), tokens))
}

const JWT_NOW: u64 = 1_767_225_600;

fn jwt(fixture: &Path) -> Result<(), String> {
    let (verifier, tokens) = jwt_fixture(fixture)?;
    let mut report = serde_json::Map::new();
    for (alg, token) in &tokens {
        verifier
            .verify(token, JWT_NOW)
            .map_err(|e| format!("{alg}: {e}"))?;
        let us = time(15, || verifier.verify(token, JWT_NOW).is_ok());
        report.insert(alg.clone(), json!((us * 100.0).round() / 100.0));
    }
    println!("{}", Value::Object(report));
    Ok(())
}

fn count(what: &str, n: &str) -> Result<(), String> {
    let n: u64 = n.parse().map_err(|_| format!("{n}: not a count"))?;
    let floor = pii_bench::X25519Floor::new();
    let jwt_fixture_path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/jwt.json");
    let op: Box<dyn Fn() -> usize> = match what {
        _ if what.starts_with("jwt-") => {
            let (verifier, tokens) = jwt_fixture(Path::new(jwt_fixture_path))?;
            let token = tokens
                .into_iter()
                .find(|(alg, _)| alg.eq_ignore_ascii_case(&what[4..]))
                .map(|(_, t)| t)
                .ok_or_else(|| format!("{what}: no such token"))?;
            Box::new(move || usize::from(verifier.verify(&token, JWT_NOW).is_ok()))
        }
        "x25519-seal" => Box::new(|| floor.seal()),
        "x25519-keygen" => Box::new(|| floor.keygen()),
        "x25519-dalek-seal" => Box::new(|| floor.seal_dalek()),
        _ => {
            let (kind, case) = what
                .rsplit_once('-')
                .and_then(|(rest, f)| Some((rest.rsplit_once('-')?, f)))
                .and_then(|((kind, size), f)| {
                    let fields: usize = f.strip_prefix('f')?.parse().ok()?;
                    let &(label, bytes) = pii_bench::SIZES.iter().find(|(l, _)| *l == size)?;
                    Some((kind, pii_bench::Case::new(label, bytes, fields)))
                })
                .ok_or_else(|| format!("{what}: unknown (see the usage in the source)"))?;
            let keys = pii_bench::keys(1).public();
            let bundle = match kind {
                "reuse-split" => pii_bench::bundle_with_reuse("encrypt", &keys),
                _ => pii_bench::bundle("encrypt", &keys),
            };
            let edge = pii_bench::edge(&bundle);
            let (apart, data) = pii_bench::event_apart(&case.event);
            match kind {
                "event" => Box::new(move || edge_fn::handle_json(&edge, &case.event).len()),
                "split" | "reuse-split" => Box::new(move || {
                    let parts = edge_fn::handle_parts(&edge, &apart, Some(data.clone()));
                    parts.json.len() + parts.body_data.map_or(0, |d| d.len())
                }),
                "engine" => {
                    let engine = pii_bench::engine("encrypt", &keys);
                    Box::new(move || match engine.apply(&case.request) {
                        pii_core::Outcome::Protected(p) => p.fields.len(),
                        _ => 0,
                    })
                }
                _ => return Err(format!("{kind}: unknown kind")),
            }
        }
    };
    // Once outside the count: lazy set-up (a reused encapsulation) is paid by both runs alike.
    if op() == 0 {
        return Err(format!("{what}: the operation failed"));
    }
    for _ in 0..n {
        std::hint::black_box(op());
    }
    println!("{what}: 1 + {n} operations");
    Ok(())
}
