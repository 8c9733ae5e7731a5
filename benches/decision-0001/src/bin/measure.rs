//! Decision 0001 measurements, all in one process so that the numbers can be compared as
//! ratios even on a busy machine:
//! - JSONPath evaluate time on a ~40 KB document with three selectors, jsonpath-rust 1.x vs
//!   serde_json_path 0.7, against `serde_json::from_str` of the same document;
//! - the RFC 9535 compliance suite (cts.json) run against both crates;
//! - what serde-saphyr reports for a duplicate key and a type error.
//!
//! Usage: measure [--quick] [--cts PATH]
use std::hint::black_box;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use decision_0001::{document, PATHS};
use serde_json::Value;

type Case<'a> = (&'a str, Box<dyn FnMut() -> usize + 'a>);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let cts = args
        .iter()
        .position(|a| a == "--cts")
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| "../../pii-core/tests/jsonpath-cts/cts.json".into());

    let doc = document(40 * 1024);
    let text = serde_json::to_string(&doc).expect("serialize");
    let sjp: Vec<_> = PATHS.iter().map(|p| serde_json_path::JsonPath::parse(p).expect("valid")).collect();
    let jpr: Vec<_> = PATHS
        .iter()
        .map(|p| jsonpath_rust::parser::parse_json_path(p).expect("valid"))
        .collect();

    let n_sjp: usize = sjp.iter().map(|p| p.query(&doc).len()).sum();
    let n_jpr: usize = jpr
        .iter()
        .map(|p| jsonpath_rust::query::js_path_process(p, &doc).map(|v| v.len()).unwrap_or(0))
        .sum();
    // Same locations, same order?
    let loc_sjp: Vec<String> = sjp
        .iter()
        .flat_map(|p| p.query_located(&doc).into_iter().map(|n| n.location().to_string()).collect::<Vec<_>>())
        .collect();
    let loc_jpr: Vec<String> = jpr
        .iter()
        .flat_map(|p| jsonpath_rust::query::js_path_process(p, &doc).unwrap_or_default().into_iter().map(|r| r.path))
        .collect();

    println!("document: {} bytes, selectors {:?}", text.len(), PATHS);
    println!(
        "matches: serde_json_path {n_sjp}, jsonpath-rust {n_jpr}; same normalized paths in the same order: {}",
        loc_sjp == loc_jpr
    );

    let mut cases: Vec<Case> = vec![
        ("serde_json::from_str (baseline)", Box::new(|| {
            let v: Value = serde_json::from_str(black_box(&text)).expect("parse");
            v.as_object().map(|o| o.len()).unwrap_or(0)
        })),
        ("serde_json_path query (values)", Box::new(|| {
            sjp.iter().map(|p| p.query(black_box(&doc)).len()).sum()
        })),
        ("serde_json_path query_located + path strings", Box::new(|| {
            sjp.iter()
                .map(|p| p.query_located(black_box(&doc)).into_iter().map(|n| n.location().to_string().len()).sum::<usize>())
                .sum()
        })),
        ("jsonpath-rust js_path_process (values + paths)", Box::new(|| {
            jpr.iter()
                .map(|p| jsonpath_rust::query::js_path_process(p, black_box(&doc)).map(|v| v.len()).unwrap_or(0))
                .sum()
        })),
        ("serde_json_path select + replace (clone, pointer_mut)", Box::new(|| {
            let mut d = doc.clone();
            let ptrs: Vec<String> = sjp
                .iter()
                .flat_map(|p| p.query_located(&doc).into_iter().map(|n| n.location().to_json_pointer()).collect::<Vec<_>>())
                .collect();
            for ptr in &ptrs {
                if let Some(v) = d.pointer_mut(ptr) {
                    *v = Value::from("x");
                }
            }
            ptrs.len()
        })),
        ("jsonpath-rust select + replace (clone, reference_mut)", Box::new(|| {
            use jsonpath_rust::query::queryable::Queryable;
            let mut d = doc.clone();
            let paths: Vec<String> = jpr
                .iter()
                .flat_map(|p| jsonpath_rust::query::js_path_process(p, &doc).unwrap_or_default().into_iter().map(|r| r.path))
                .collect();
            for p in &paths {
                if let Some(v) = d.reference_mut(p.as_str()) {
                    *v = Value::from("x");
                }
            }
            paths.len()
        })),
        ("serde_json_path compile 3 selectors", Box::new(|| {
            PATHS.iter().filter(|p| serde_json_path::JsonPath::parse(black_box(p)).is_ok()).count()
        })),
        ("jsonpath-rust compile 3 selectors", Box::new(|| {
            PATHS.iter().filter(|p| jsonpath_rust::parser::parse_json_path(black_box(p)).is_ok()).count()
        })),
    ];

    // Interleaved rounds: every case once per round, so load changes hit all cases alike.
    let rounds = if quick { 5 } else { 31 };
    let budget = if quick { 0.02 } else { 0.1 }; // seconds per case per round
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for round in 0..=rounds {
        for (i, (_, f)) in cases.iter_mut().enumerate() {
            let start = Instant::now();
            let mut iters = 0u64;
            while start.elapsed().as_secs_f64() < budget {
                black_box(f());
                iters += 1;
            }
            if round > 0 {
                samples[i].push(start.elapsed().as_secs_f64() * 1e6 / iters as f64);
            }
        }
    }
    let stats: Vec<(f64, f64, f64)> = samples
        .iter_mut()
        .map(|s| {
            s.sort_by(f64::total_cmp);
            let q = |x: f64| s[((s.len() - 1) as f64 * x).round() as usize];
            (q(0.5), q(0.1), q(0.9))
        })
        .collect();
    let base = stats[0].0;
    println!("\n{} interleaved rounds; µs per call: median [p10 .. p90], ratio to the parse baseline", rounds);
    for ((name, _), (med, lo, hi)) in cases.iter().zip(&stats) {
        println!("  {name:<56} {med:>9.2} [{lo:.2} .. {hi:.2}]  x{:.2}", med / base);
    }
    let sjp_loc = stats[2].0;
    let jpr_loc = stats[3].0;
    println!("  jsonpath-rust / serde_json_path (located, evaluate): x{:.1}", jpr_loc / sjp_loc);
    println!("  jsonpath-rust / serde_json_path (select + replace): x{:.1}", stats[5].0 / stats[4].0);
    let _ = &mut cases;

    match std::fs::read_to_string(&cts) {
        Ok(t) => run_cts(&t),
        Err(e) => println!("\nCTS: cannot read {cts}: {e}"),
    }
    yaml_demo();
}

/// One CTS case outcome per crate: Ok(()) or the reason.
fn check(case: &Value, got: Result<Vec<(String, Value)>, String>) -> Result<(), String> {
    if case["invalid_selector"].as_bool() == Some(true) {
        return match got {
            Ok(_) => Err("accepted an invalid selector".into()),
            Err(_) => Ok(()),
        };
    }
    let got = got?;
    let expected: Vec<(Value, Value)> = if case.get("result").is_some() {
        vec![(case["result"].clone(), case["result_paths"].clone())]
    } else {
        let rs = case["results"].as_array().cloned().unwrap_or_default();
        let ps = case["results_paths"].as_array().cloned().unwrap_or_default();
        rs.into_iter().zip(ps).collect()
    };
    let vals: Vec<&Value> = got.iter().map(|(_, v)| v).collect();
    let paths: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
    let values_ok = expected.iter().any(|(v, _)| v.as_array().map(|a| a.iter().collect::<Vec<_>>()) == Some(vals.clone()));
    let all_ok = expected.iter().any(|(v, p)| {
        v.as_array().map(|a| a.iter().collect::<Vec<_>>()) == Some(vals.clone())
            && p.as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>()) == Some(paths.clone())
    });
    match (values_ok, all_ok) {
        (_, true) => Ok(()),
        (true, false) => Err("right values, wrong normalized paths".into()),
        _ => Err("wrong values".into()),
    }
}

fn run_cts(text: &str) {
    let suite: Value = serde_json::from_str(text).expect("cts.json");
    let tests = suite["tests"].as_array().cloned().unwrap_or_default();
    let mut tally = [(0usize, 0usize, 0usize, 0usize); 2]; // pass, fail, panics, of which path-only
    let mut examples: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    std::panic::set_hook(Box::new(|_| {}));
    for case in &tests {
        let sel = case["selector"].as_str().unwrap_or_default();
        let doc = &case["document"];
        let a = catch_unwind(AssertUnwindSafe(|| {
            serde_json_path::JsonPath::parse(sel)
                .map(|p| p.query_located(doc).into_iter().map(|n| (n.location().to_string(), n.node().clone())).collect())
                .map_err(|e| e.to_string())
        }));
        let b = catch_unwind(AssertUnwindSafe(|| {
            jsonpath_rust::parser::parse_json_path(sel)
                .map_err(|e| e.to_string())
                .and_then(|p| {
                    jsonpath_rust::query::js_path_process(&p, doc)
                        .map(|v| v.into_iter().map(|r| (r.path, r.val.clone())).collect())
                        .map_err(|e| e.to_string())
                })
        }));
        for (k, r) in [a, b].into_iter().enumerate() {
            match r {
                Err(_) => {
                    tally[k].1 += 1;
                    tally[k].2 += 1;
                }
                Ok(got) => match check(case, got) {
                    Ok(()) => tally[k].0 += 1,
                    Err(why) => {
                        tally[k].1 += 1;
                        if why.starts_with("right values") {
                            tally[k].3 += 1;
                        }
                        if examples[k].len() < 14 {
                            examples[k].push(format!("{}: `{sel}`: {why}", case["name"].as_str().unwrap_or("?")));
                        }
                    }
                },
            }
        }
    }
    let _ = std::panic::take_hook();
    println!("\nRFC 9535 compliance suite: {} cases", tests.len());
    for (name, (p, f, pn, po)) in ["serde_json_path 0.7", "jsonpath-rust 1.x"].iter().zip(tally) {
        println!("  {name:<20} {p} passed, {f} failed ({pn} panics, {po} right values with wrong paths)");
    }
    for (name, ex) in ["serde_json_path", "jsonpath-rust"].iter().zip(examples) {
        println!("  {name} failures (first 14):");
        for e in ex {
            println!("    {e}");
        }
    }
}

fn yaml_demo() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Rule {
        select: String,
        action: String,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Policy {
        name: String,
        rules: Vec<Rule>,
    }
    let dup = "name: signup\nrules:\n  - select: $.email\n    action: encrypt\n    action: mask\n";
    let ty = "name: signup\nrules:\n  - select: $.email\n    action: [encrypt]\n";
    println!("\nserde-saphyr on a duplicate key:");
    match serde_saphyr::from_str::<Policy>(dup) {
        Ok(p) => println!("  accepted (!): {p:?}"),
        Err(e) => println!("  {}", e.to_string().replace('\n', "\n  ")),
    }
    println!("serde-saphyr on a type error:");
    match serde_saphyr::from_str::<Policy>(ty) {
        Ok(p) => println!("  accepted (!): {p:?}"),
        Err(e) => println!("  {}", e.to_string().replace('\n', "\n  ")),
    }
}
