//! Where the time of a bulk open goes (benches/README.md, "Bulk operations"): one X25519
//! agreement alone, a whole field with its data key unwrapped (one HPKE open), a field whose
//! data key is cached, and the parts of the latter, in one process, so that a loaded machine
//! slows every row alike.
//!
//! ```sh
//! cargo run --profile bindings -p pii-core --features test-util --example bulk_bench
//! ```
//!
//! Each figure is the best of 9 rounds (interleaved) of the mean over a round, in µs.

use std::hint::black_box;
use std::time::Instant;

use pii_core::batch::BatchOpener;
use pii_core::envelope::{self, Binding, TestSealer, ValueKind};
use pii_core::{keys::PrivateKey, location::PathElement, Location, PrivateKeyring};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // As the bulk table's zone `eu`: two recipients, a JSON location of a users array.
    let eu1 = PrivateKey::generate("eu", "eu-1", 1)?;
    let eu2 = PrivateKey::generate("eu", "eu-2", 1)?;
    let keys = PrivateKeyring::from_jwks(&format!(
        r#"{{"keys":[{},{}]}}"#,
        eu1.to_jwk(),
        eu2.to_jwk()
    ))?;
    let at = |slot: usize| {
        Binding::new(
            "signup",
            "eu",
            Location::json(vec![
                PathElement::Name("users".into()),
                PathElement::Index(slot),
                PathElement::Name("name".into()),
            ]),
        )
    };
    let wraps = 64;
    let mut fields = Vec::new();
    for w in 0..wraps {
        let mut sealer = TestSealer::new(&[&eu1.public(), &eu2.public()], "eu")?;
        fields.push(sealer.seal(
            &at(w % 4),
            ValueKind::String,
            format!("\"Erika {w} Sealedcanary\"").as_bytes(),
        )?);
    }
    // Fixed test scalars: the cost of the ladder does not depend on them.
    let secret = x25519_dalek::StaticSecret::from([7u8; 32]);
    let peers: Vec<x25519_dalek::PublicKey> = (0..wraps)
        .map(|i| x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from([i as u8; 32])))
        .collect();

    type Case<'a> = (&'a str, Box<dyn FnMut() -> usize + 'a>);
    let mut warm = BatchOpener::new();
    let mut cases: Vec<Case> = vec![
        (
            "X25519 agreement alone (x25519-dalek)",
            Box::new(|| {
                for p in &peers {
                    black_box(secret.diffie_hellman(p));
                }
                peers.len()
            }),
        ),
        (
            "field with its own wrap (HPKE open + field)",
            Box::new(|| {
                for f in &fields {
                    let _ = black_box(BatchOpener::new().open(&keys, f));
                }
                fields.len()
            }),
        ),
        (
            "field, data key cached",
            Box::new(|| {
                for _ in 0..50 {
                    for f in &fields {
                        let _ = black_box(warm.open(&keys, f));
                    }
                }
                50 * fields.len()
            }),
        ),
        (
            "  header parse alone (base64url + parse)",
            Box::new(|| {
                for _ in 0..50 {
                    for f in &fields {
                        let _ = black_box(envelope::header(f));
                    }
                }
                50 * fields.len()
            }),
        ),
    ];
    // `bulk_bench N`: run only case N for a profiler (perf record, callgrind).
    if let Some(only) = std::env::args().nth(1) {
        let (_, run) = cases
            .get_mut(only.parse::<usize>()?)
            .ok_or("no such case")?;
        for _ in 0..400 {
            run();
        }
        return Ok(());
    }
    let mut best = vec![f64::MAX; cases.len()];
    for _ in 0..9 {
        for (i, (_, run)) in cases.iter_mut().enumerate() {
            let t = Instant::now();
            let n = run();
            let us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
            best[i] = best[i].min(us);
        }
    }
    for ((name, _), us) in cases.iter().zip(best) {
        println!("{name:<48} {us:>8.2} µs");
    }
    Ok(())
}
