//! `pii-erasure-bench VECTOR_JSON`: the Rust figures of the erasure benchmark
//! (benches/bindings/erasure.sh, benches/README.md "Erasure"): per field, opening the edge's
//! envelope, rewrapping it to a subject key and opening the field at rest, each with the
//! subject key cached and with a key-store lookup (unwrapping the `psk1.` record: one X25519).
//! The vector is an at-rest test vector (docs/vectors/at_rest/string_email.json). Same timing
//! method as pii-reveal-bench: median over 15 rounds of at least 20 ms, µs per operation,
//! printed as one JSON line.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use pii_bench::median_us;
use pii_core::at_rest::{self, SubjectKey};
use pii_core::envelope;
use pii_core::token::Normalize;
use serde_json::Value;

fn main() -> ExitCode {
    match run(&std::env::args().skip(1).collect::<Vec<_>>()) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pii-erasure-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<String, String> {
    let [vector] = args else {
        return Err("usage: pii-erasure-bench AT_REST_VECTOR_JSON".into());
    };
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(vector).map_err(|e| format!("{vector}: {e}"))?,
    )
    .map_err(|e| e.to_string())?;
    let keys = pii_core::PrivateKeyring::from_jwks(&v["private_jwks"].to_string())
        .map_err(|e| e.to_string())?;
    let env = v["envelope"].as_str().ok_or("no envelope")?;
    let wrapped = v["subject_key"]["wrapped"]
        .as_str()
        .ok_or("no wrapped key")?;
    let key = SubjectKey::unwrap(&keys, wrapped).map_err(|e| e.to_string())?;
    let field = at_rest::rewrap(&keys, env, &key).map_err(|e| e.to_string())?;

    let open_envelope = median_us(|| envelope::open(&keys, env))?;
    let rewrap_cached = median_us(|| at_rest::rewrap(&keys, env, &key))?;
    let rewrap_lookup = median_us(|| {
        SubjectKey::unwrap(&keys, wrapped).and_then(|k| at_rest::rewrap(&keys, env, &k))
    })?;
    let open_cached = median_us(|| at_rest::open(&key, &field))?;
    let open_lookup =
        median_us(|| SubjectKey::unwrap(&keys, wrapped).and_then(|k| at_rest::open(&k, &field)))?;
    // Per-subject tokens (docs/at-rest.md §7): a lookup's token with the key cached, and the
    // rewrap that also tokenizes.
    let steps = [Normalize::Trim, Normalize::Casefold];
    let token_cached = median_us(|| key.token("email", &steps, b"alice@example.com"))?;
    let rewrap_token_cached =
        median_us(|| at_rest::rewrap_with_token(&keys, env, &key, "email", &steps))?;
    Ok(format!(
        "{{\"impl\":\"rust\",\"open_envelope_us\":{open_envelope:.2},\"rewrap_cached_us\":{rewrap_cached:.2},\"rewrap_lookup_us\":{rewrap_lookup:.2},\"open_at_rest_cached_us\":{open_cached:.3},\"open_at_rest_lookup_us\":{open_lookup:.2},\"token_cached_us\":{token_cached:.3},\"rewrap_with_token_cached_us\":{rewrap_token_cached:.2}}}"
    ))
}
