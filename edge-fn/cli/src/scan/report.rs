//! The scan report: a table (default), a JSON document, or one JSON line per finding.

use serde_json::{json, Value};

use edge_fn::scan::Finding;

use super::{Coverage, Group, Tally};
use crate::shared::style::{outln, Stream, Style};

/// One JSON line per finding: `{"input", "request", "location", "detector", "claim", "example"}`.
pub(super) fn print_findings(input: &str, request: u64, found: &[Finding], no_examples: bool) {
    for f in found {
        let mut line = json!({
            "input": input,
            "request": request,
            "location": f.location.to_string(),
            "detector": f.detector.to_string(),
        });
        if let Some(claim) = &f.claim {
            line["claim"] = json!(claim);
        }
        if !no_examples {
            line["example"] = json!(f.masked());
        }
        outln!("{line}");
    }
}

fn coverage_detail(c: &Coverage) -> String {
    match c {
        Coverage::Covered { policy, rule } => format!("covered ({policy}: {rule})"),
        Coverage::NotCovered { policy } => format!("not covered (policy {policy} matches)"),
        Coverage::Rejected { policy, reason } => format!("request rejected ({policy}: {reason})"),
        other => other.label().to_string(),
    }
}

fn sorted(tally: &Tally) -> Vec<&Group> {
    let mut groups: Vec<&Group> = tally.groups.values().collect();
    // Uncovered first, then by route, location, detector.
    groups.sort_by(|a, b| {
        (
            !a.coverage.is_uncovered(),
            &a.route,
            &a.method,
            &a.shape,
            a.detector,
        )
            .cmp(&(
                !b.coverage.is_uncovered(),
                &b.route,
                &b.method,
                &b.shape,
                b.detector,
            ))
    });
    groups
}

/// The table: one row per route, location and detector.
pub(super) fn print_table(tally: &Tally, checked: bool, no_examples: bool) {
    let style = Style::for_stream(Stream::Out);
    let mut rows: Vec<[String; 6]> = vec![[
        "route".into(),
        "location".into(),
        "detector".into(),
        "requests".into(),
        if no_examples {
            String::new()
        } else {
            "example".into()
        },
        "coverage".into(),
    ]];
    for g in sorted(tally) {
        let location = match &g.claim {
            Some(claim) => format!("{} (jwt claim {claim})", g.shape),
            None => g.shape.clone(),
        };
        rows.push([
            format!("{} {}", g.method, g.route),
            location,
            g.detector.to_string(),
            g.requests.to_string(),
            if no_examples {
                String::new()
            } else {
                g.masked.clone()
            },
            if checked {
                coverage_detail(&g.coverage)
            } else {
                "-".into()
            },
        ]);
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for (i, row) in rows.iter().enumerate() {
        let mut line = String::new();
        for (j, (cell, w)) in row.iter().zip(widths).enumerate() {
            if j == 4 && no_examples {
                continue;
            }
            let padded = if j == 5 {
                cell.clone()
            } else {
                format!("{cell:<w$}  ")
            };
            let painted = if i == 0 {
                style.bold(&padded)
            } else if j == 5 && checked {
                let g = &rows[i][5];
                if g.starts_with("covered") {
                    style.green(&padded)
                } else if g.starts_with("request rejected") {
                    style.yellow(&padded)
                } else {
                    style.red(&padded)
                }
            } else {
                padded
            };
            line.push_str(&painted);
        }
        outln!("{}", line.trim_end());
    }
    let uncovered = tally
        .groups
        .values()
        .filter(|g| g.coverage.is_uncovered())
        .count();
    outln!("");
    outln!(
        "{} requests read ({} with personal data), {} findings{}",
        tally.requests,
        tally.requests_with_findings,
        tally.groups.len(),
        if checked {
            format!(", {uncovered} not covered by any rule")
        } else {
            " (no --policies given: coverage not checked)".to_string()
        }
    );
}

/// The report as one JSON document.
pub(super) fn print_json(tally: &Tally, checked: bool, no_examples: bool) {
    let findings: Vec<Value> = sorted(tally)
        .into_iter()
        .map(|g| {
            let mut v = json!({
                "method": g.method,
                "route": g.route,
                "location": g.shape,
                "exampleLocation": g.example_location.to_string(),
                "detector": g.detector.to_string(),
                "requests": g.requests,
                "values": g.values,
                "coverage": g.coverage.label(),
            });
            if let Some(claim) = &g.claim {
                v["claim"] = json!(claim);
            }
            if !no_examples {
                v["example"] = json!(g.masked);
            }
            match &g.coverage {
                Coverage::Covered { policy, rule } => {
                    v["policy"] = json!(policy);
                    v["rule"] = json!(rule);
                }
                Coverage::NotCovered { policy } => v["policy"] = json!(policy),
                Coverage::Rejected { policy, reason } => {
                    v["policy"] = json!(policy);
                    v["reason"] = json!(reason);
                }
                _ => {}
            }
            v
        })
        .collect();
    let doc = json!({
        "requests": tally.requests,
        "requestsWithFindings": tally.requests_with_findings,
        "bytes": tally.bytes,
        "skipped": tally.skipped,
        "coverageChecked": checked,
        "uncovered": tally.groups.values().filter(|g| g.coverage.is_uncovered()).count(),
        "findings": findings,
    });
    outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
}
