//! Writes a table of stored envelopes for the bulk-operation tests and benchmarks
//! (`bindings/python/tests/spark/`, `docs/bulk.md`): the keys, a CSV table and the counts an
//! audit of it must find.
//!
//! ```sh
//! cargo run --profile bindings -p pii-core --features test-util --example bulk_table -- OUT_DIR ROWS [FIELDS_PER_WRAP]
//! ```
//!
//! Rows are `id,email,name,email_sha256,name_sha256`. A request of the edge is
//! `FIELDS_PER_WRAP / 2` rows (default 4 rows: 8 fields share one data-key wrap, as an import
//! request carrying four users would); `FIELDS_PER_WRAP = 1` seals every field with its own
//! wrap. Zones: `eu` (regions eu-1 and eu-2, policy `signup`) and `us` (us-1, policy
//! `checkout`); half of the `eu` requests are sealed to eu-1's old key, rotated since. Of the
//! `email` column 2% is an e-mail address in clear, 1% a damaged envelope and 1% empty (null).
//! The `*_sha256` columns are SHA-256 of the value an opener returns (hex), so a test checks
//! every opened value without any plaintext leaving Spark's executors.
//!
//! Files: `table.csv`, `private-all.jwks` (old and new keys), `private-new.jwks` (without
//! eu-1's old key), `public.jwks` (every public key; the newest of a region seals),
//! `private-next.jwks` and `public-next.jwks` (a later key of every region: every field
//! rewraps to it, for the benchmarks), `expected.json` (counts by column, class, zone, policy and recipients' kid prefixes).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufWriter, Write};

use pii_core::envelope::{Binding, TestSealer, ValueKind};
use pii_core::{keys::PrivateKey, keys::PublicKey, location::PathElement, Location};

fn hex_sha256(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest.as_ref() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn jwks(keys: &[String]) -> String {
    format!("{{\"keys\":[{}]}}\n", keys.join(","))
}

fn prefixes(keys: &[&PublicKey]) -> String {
    let mut p: Vec<&str> = keys.iter().map(|k| &k.kid()[..10]).collect();
    p.sort_unstable();
    p.join(",")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(rows)) = (args.get(1), args.get(2)) else {
        return Err("usage: bulk_table OUT_DIR ROWS [FIELDS_PER_WRAP]".into());
    };
    let rows: usize = rows.parse()?;
    let per_wrap: usize = args.get(3).map_or(Ok(8), |n| n.parse())?;
    let rows_per_request = (per_wrap / 2).max(1);
    let own_wraps = per_wrap == 1;
    std::fs::create_dir_all(dir)?;

    let eu1_old = PrivateKey::generate("eu", "eu-1", 1_700_000_000)?;
    let eu1_new = PrivateKey::generate("eu", "eu-1", 1_800_000_000)?;
    let eu2 = PrivateKey::generate("eu", "eu-2", 1_700_000_000)?;
    let us1 = PrivateKey::generate("us", "us-1", 1_700_000_000)?;
    let all = [&eu1_old, &eu1_new, &eu2, &us1];
    let private = |keys: &[&PrivateKey]| jwks(&keys.iter().map(|k| k.to_jwk()).collect::<Vec<_>>());
    std::fs::write(format!("{dir}/private-all.jwks"), private(&all))?;
    std::fs::write(
        format!("{dir}/private-new.jwks"),
        private(&[&eu1_new, &eu2, &us1]),
    )?;
    std::fs::write(
        format!("{dir}/public.jwks"),
        jwks(&all.iter().map(|k| k.public().to_jwk()).collect::<Vec<_>>()),
    )?;
    // A next rotation of every region, for the benchmarks (every field rewraps).
    let next = [
        PrivateKey::generate("eu", "eu-1", 1_900_000_000)?,
        PrivateKey::generate("eu", "eu-2", 1_900_000_000)?,
        PrivateKey::generate("us", "us-1", 1_900_000_000)?,
    ];
    std::fs::write(
        format!("{dir}/private-next.jwks"),
        private(&next.iter().collect::<Vec<_>>()),
    )?;
    std::fs::write(
        format!("{dir}/public-next.jwks"),
        jwks(&next.iter().map(|k| k.public().to_jwk()).collect::<Vec<_>>()),
    )?;
    let (eu1_old_p, eu1_new_p, eu2_p, us1_p) = (
        eu1_old.public(),
        eu1_new.public(),
        eu2.public(),
        us1.public(),
    );
    let sets: [(&str, &str, Vec<&PublicKey>); 3] = [
        ("eu", "signup", vec![&eu1_old_p, &eu2_p]),
        ("eu", "signup", vec![&eu1_new_p, &eu2_p]),
        ("us", "checkout", vec![&us1_p]),
    ];

    let mut out = BufWriter::new(std::fs::File::create(format!("{dir}/table.csv"))?);
    writeln!(out, "id,email,name,email_sha256,name_sha256")?;
    // (column, class, zone, policy, kids) -> count
    let mut counts: BTreeMap<(String, String, String, String, String), u64> = BTreeMap::new();
    let mut count = |column: &str, class: &str, zone: &str, policy: &str, kids: &str| {
        *counts
            .entry((
                column.into(),
                class.into(),
                zone.into(),
                policy.into(),
                kids.into(),
            ))
            .or_default() += 1;
    };
    let mut sealer = None;
    let mut set = 0;
    for id in 0..rows {
        let request = id / rows_per_request;
        let slot = id % rows_per_request;
        if slot == 0 || own_wraps {
            set = match request % 4 {
                0 => 0,
                1 | 3 => 1,
                _ => 2,
            };
            let (zone, _, keys) = &sets[set];
            sealer = Some(TestSealer::new(keys, zone)?);
        }
        let (zone, policy, keys) = &sets[set];
        let kids = prefixes(keys);
        let at = |field: &str| {
            Binding::new(
                *policy,
                *zone,
                Location::json(vec![
                    PathElement::Name("users".into()),
                    PathElement::Index(slot),
                    PathElement::Name(field.into()),
                ]),
            )
        };
        let email = format!("user{id}.sealedcanary@example.com");
        let name = format!("Erika {id} Sealedcanary");
        let Some(s) = sealer.as_mut() else {
            return Err("no sealer".into());
        };
        let sealed_email = s.seal(
            &at("email"),
            ValueKind::String,
            format!("\"{email}\"").as_bytes(),
        )?;
        if own_wraps {
            let (zone, _, keys) = &sets[set];
            sealer = Some(TestSealer::new(keys, zone)?);
        }
        let Some(s) = sealer.as_mut() else {
            return Err("no sealer".into());
        };
        let sealed_name = s.seal(
            &at("name"),
            ValueKind::String,
            format!("\"{name}\"").as_bytes(),
        )?;
        let (email_cell, email_sha) = match id % 100 {
            0 | 50 => {
                count("email", "plaintext", "", "", "");
                let clear = format!("user{id}.clearcanary@example.com");
                let sha = hex_sha256(&clear);
                (clear, sha)
            }
            25 => {
                count("email", "malformed", "", "", "");
                (
                    sealed_email[..sealed_email.len() / 2].to_owned(),
                    String::new(),
                )
            }
            75 => {
                count("email", "null", "", "", "");
                (String::new(), String::new())
            }
            _ => {
                count("email", "envelope", zone, policy, &kids);
                (sealed_email, hex_sha256(&email))
            }
        };
        count("name", "envelope", zone, policy, &kids);
        writeln!(
            out,
            "{id},{email_cell},{sealed_name},{email_sha},{}",
            hex_sha256(&name)
        )?;
    }
    out.flush()?;
    let expected: Vec<serde_json::Value> = counts
        .into_iter()
        .map(|((column, class, zone, policy, kids), n)| {
            serde_json::json!({"column": column, "class": class, "zone": zone,
                "policy": policy, "kids": kids, "count": n})
        })
        .collect();
    let old_kid = &eu1_old_p.kid()[..10];
    std::fs::write(
        format!("{dir}/expected.json"),
        serde_json::to_string_pretty(&serde_json::json!({
            "rows": rows, "counts": expected, "retired_kid_prefix": old_kid,
        }))?,
    )?;
    Ok(())
}
