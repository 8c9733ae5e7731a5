//! Measured quality of `pii-edge scan`: precision and recall per detector on a labelled
//! corpus generated at test time (`scripts/scan_corpus.py`: Faker's EU locales, ground truth
//! from python-stdnum and Google's Python libphonenumber, hand-written hard negatives).
//!
//! The test asserts floors and that `docs/scan.md` publishes exactly the table it measures;
//! after a deliberate change, regenerate the table with
//! `PII_EDGE_SCAN_TABLE=write cargo test -p pii-edge-cli --test scan_quality` and review the diff.
//! Needs `python3 -m pip install -r scripts/requirements.txt` (scripts/test.sh does it).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_pii-edge");
const REQUESTS: &str = "3000";
const SEED: &str = "15";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// (request, location, detector family, claim)
type Key = (u64, String, String, Option<String>);

fn family(detector: &str) -> String {
    if detector.starts_with("national-id:") {
        "national-id".into()
    } else {
        detector.to_string()
    }
}

fn key(v: &Value) -> (Key, String) {
    let detector = v["detector"].as_str().expect("detector").to_string();
    (
        (
            v["request"].as_u64().expect("request"),
            v["location"].as_str().expect("location").to_string(),
            family(&detector),
            v.get("claim").and_then(Value::as_str).map(str::to_string),
        ),
        detector,
    )
}

#[derive(Default, Debug, Clone, Copy)]
struct Count {
    tp: u64,
    fp: u64,
    fn_: u64,
    /// Labelled values in fields whose name gives context, and how many of them were found.
    in_context: u64,
    in_context_found: u64,
}

impl Count {
    fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }
    fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fn_) as f64
        }
    }
    fn context_recall(&self) -> f64 {
        if self.in_context == 0 {
            1.0
        } else {
            self.in_context_found as f64 / self.in_context as f64
        }
    }
}

#[test]
fn precision_and_recall_per_detector() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("scan-corpus");
    let _ = std::fs::remove_dir_all(&dir);
    let gen = Command::new("python3")
        .arg(root().join("scripts/scan_corpus.py"))
        .arg(&dir)
        .args(["--requests", REQUESTS, "--seed", SEED])
        .output()
        .expect("python3 runs");
    assert!(
        gen.status.success(),
        "the corpus generator failed (python3 -m pip install -r scripts/requirements.txt):\n{}",
        String::from_utf8_lossy(&gen.stderr)
    );
    let scan = Command::new(BIN)
        .args(["scan", "--format", "findings"])
        .arg(dir.join("corpus.ndjson"))
        .output()
        .expect("pii-edge runs");
    assert!(
        scan.status.success(),
        "{}",
        String::from_utf8_lossy(&scan.stderr)
    );

    let mut labels: HashMap<Key, (String, bool)> = HashMap::new();
    for line in std::fs::read_to_string(dir.join("labels.jsonl"))
        .expect("labels")
        .lines()
    {
        let v: Value = serde_json::from_str(line).expect("label line");
        let (k, detector) = key(&v);
        labels.insert(k, (detector, v["context"].as_bool().unwrap_or(true)));
    }
    let mut found: HashMap<Key, String> = HashMap::new();
    for line in String::from_utf8_lossy(&scan.stdout).lines() {
        let v: Value = serde_json::from_str(line).expect("finding line");
        let (k, detector) = key(&v);
        found.insert(k, detector);
    }

    // Rows by the labelled detector (national ids by scheme); false positives by the reported one.
    let mut rows: BTreeMap<String, Count> = BTreeMap::new();
    let mut scheme_right = 0u64;
    let mut scheme_total = 0u64;
    for (k, (detector, context)) in &labels {
        let row = rows.entry(detector.clone()).or_default();
        if *context {
            row.in_context += 1;
        }
        match found.get(k) {
            Some(reported) => {
                row.tp += 1;
                if *context {
                    row.in_context_found += 1;
                }
                if detector.starts_with("national-id:") {
                    scheme_total += 1;
                    scheme_right += u64::from(reported == detector);
                }
            }
            None => row.fn_ += 1,
        }
    }
    for (k, reported) in &found {
        if !labels.contains_key(k) {
            rows.entry(reported.clone()).or_default().fp += 1;
        }
    }

    let mut table = String::from(
        "| detector | labelled | found | false positives | missed | precision | recall | recall, context in field name |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for (detector, c) in &rows {
        table.push_str(&format!(
            "| `{detector}` | {} | {} | {} | {} | {:.4} | {:.4} | {:.4} |\n",
            c.tp + c.fn_,
            c.tp,
            c.fp,
            c.fn_,
            c.precision(),
            c.recall(),
            c.context_recall()
        ));
    }
    table.push_str(&format!(
        "\n{REQUESTS} requests (seed {SEED}); national ids attributed to the labelled scheme: {scheme_right} of {scheme_total}.\n"
    ));
    println!("{table}");

    // Floors.
    for (detector, c) in &rows {
        let checksum = detector.starts_with("national-id:")
            || matches!(
                detector.as_str(),
                "iban" | "card" | "email" | "ip-address" | "jwt-claim"
            );
        if checksum {
            // Values under names that say nothing count: bare HR OIB and NL BSN numbers are
            // not reported there (docs/scan.md), the rest is.
            assert!(
                c.recall() >= 0.95,
                "{detector}: recall {:.4} < 0.95",
                c.recall()
            );
            assert!(
                c.context_recall() >= 0.99,
                "{detector}: recall in context {:.4} < 0.99",
                c.context_recall()
            );
            assert!(
                c.precision() >= 0.98,
                "{detector}: precision {:.4} < 0.98",
                c.precision()
            );
        } else if detector == "phone" {
            // Labels come from a newer libphonenumber release than the Rust port's metadata.
            assert!(c.recall() >= 0.95, "phone: recall {:.4}", c.recall());
            assert!(
                c.precision() >= 0.98,
                "phone: precision {:.4}",
                c.precision()
            );
        } else {
            // Context types: found where the field name says what they are, never elsewhere.
            assert!(
                c.context_recall() >= 0.99,
                "{detector}: recall in context {:.4}",
                c.context_recall()
            );
            assert!(c.recall() >= 0.85, "{detector}: recall {:.4}", c.recall());
            assert!(
                c.precision() >= 0.98,
                "{detector}: precision {:.4}",
                c.precision()
            );
        }
    }
    for required in [
        "email",
        "phone",
        "iban",
        "card",
        "ip-address",
        "date-of-birth",
        "name",
        "jwt-claim",
    ] {
        assert!(rows.contains_key(required), "the corpus has no {required}");
    }
    assert!(
        rows.keys()
            .filter(|d| d.starts_with("national-id:"))
            .count()
            >= 10
    );

    // The published table is this table.
    let doc_path = root().join("docs/scan.md");
    let doc = std::fs::read_to_string(&doc_path).expect("docs/scan.md");
    let (start, end) = (
        "<!-- quality-table:start -->\n",
        "<!-- quality-table:end -->",
    );
    let (Some(a), Some(b)) = (doc.find(start), doc.find(end)) else {
        panic!("docs/scan.md has no {start:?} ... {end:?} markers");
    };
    let published = &doc[a + start.len()..b];
    if std::env::var_os("PII_EDGE_SCAN_TABLE").is_some_and(|v| v == "write") {
        let updated = format!("{}{table}{}", &doc[..a + start.len()], &doc[b..]);
        std::fs::write(&doc_path, updated).expect("write docs/scan.md");
    } else {
        assert_eq!(
            published, table,
            "docs/scan.md does not publish the measured table; regenerate with PII_EDGE_SCAN_TABLE=write"
        );
    }
}
