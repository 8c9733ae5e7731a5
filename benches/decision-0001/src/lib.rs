//! Shared pieces of the decision-0001 measurements: the 40 KB test document, the three
//! selectors, and a tiny Lambda handler skeleton shared by the size probes so that the only
//! difference between them is the JSONPath (or YAML) crate.

use base64::Engine as _;
use serde_json::{json, Value};

/// The three selectors of the measurement: two descendant searches and one wildcard path.
pub const PATHS: [&str; 3] = ["$..email", "$.items[*].card.number", "$..phone"];

/// A deterministic order document of about `target` bytes of compact JSON.
pub fn document(target: usize) -> Value {
    let mut items = Vec::new();
    let mut doc = json!({
        "orderId": "ord-2024-000017",
        "customer": {
            "name": "Erika Mustermann",
            "email": "erika.mustermann@example.de",
            "phone": "+49 30 1234567",
            "addresses": [
                {"street": "Heidestrasse 17", "city": "Koeln", "zip": "51147", "country": "DE"}
            ]
        },
        "items": [],
        "meta": {"channel": "web", "locale": "de-DE", "amount": 12345678901234567890u64}
    });
    let mut i = 0u32;
    loop {
        items.push(json!({
            "sku": format!("SKU-{i:06}"),
            "qty": (i % 7) + 1,
            "price": 19.99 + f64::from(i),
            "card": {"number": format!("4111 1111 1111 {:04}", i % 10000), "exp": "12/29"},
            "contact": {"email": format!("user{i}@example.org"), "phone": format!("+33 1 {:08}", i)},
        }));
        i += 1;
        doc["items"] = Value::Array(items.clone());
        if serde_json::to_vec(&doc).map(|v| v.len()).unwrap_or(0) >= target {
            return doc;
        }
    }
}

/// What the size probes do with each selected value: AES-256-GCM with one key (the per-field
/// part of the real envelope), so the probe links ring like the real edge binary.
pub fn seal(key: &ring::aead::LessSafeKey, n: u32, value: &Value) -> String {
    let mut buf = serde_json::to_vec(value).unwrap_or_default();
    let mut nonce = [0u8; 12];
    nonce[..4].copy_from_slice(&n.to_be_bytes());
    let _ = key.seal_in_place_append_tag(
        ring::aead::Nonce::assume_unique_for_key(nonce),
        ring::aead::Aad::empty(),
        &mut buf,
    );
    base64::engine::general_purpose::STANDARD.encode(buf)
}

/// A key for [`seal`] (the size probes need one; its value does not matter).
pub fn probe_key() -> ring::aead::LessSafeKey {
    let rng = ring::rand::SystemRandom::new();
    let mut bytes = [0u8; 32];
    let _ = ring::rand::SecureRandom::fill(&rng, &mut bytes);
    ring::aead::LessSafeKey::new(
        ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, &bytes).expect("32-byte key"),
    )
}

/// Locations and values a probe's selector found.
pub type Found<'a> = Vec<(String, &'a Value)>;

/// A probe's selector: (event, document) to the located values.
pub type Select = for<'a> fn(&'a Value, &'a Value) -> Result<Found<'a>, String>;

fn answer(event: &Value, select: Select) -> Result<Value, String> {
    let key = probe_key();
    let body = base64::engine::general_purpose::STANDARD
        .decode(event["body"].as_str().unwrap_or_default())
        .map_err(|e| e.to_string())?;
    let doc: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    let found = select(event, &doc)?;
    let sealed: Vec<Value> = found
        .into_iter()
        .enumerate()
        .map(|(n, (p, v))| json!([p, seal(&key, n as u32, v)]))
        .collect();
    Ok(json!({ "sealed": sealed }))
}

/// Run a size probe: its selector inside the shared handler, under lambda_runtime (feature
/// `lambda`) or on one event read from stdin.
pub fn host(select: Select) {
    #[cfg(feature = "lambda")]
    {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let r = rt.block_on(lambda_runtime::run(lambda_runtime::service_fn(
            move |e: lambda_runtime::LambdaEvent<Value>| async move {
                answer(&e.payload, select).map_err(lambda_runtime::Error::from)
            },
        )));
        if let Err(e) = r {
            eprintln!("{e}");
        }
    }
    #[cfg(not(feature = "lambda"))]
    {
        let mut input = String::new();
        let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut input);
        let event: Value = serde_json::from_str(&input).unwrap_or_default();
        match answer(&event, select) {
            Ok(v) => println!("{v}"),
            Err(e) => eprintln!("{e}"),
        }
    }
}
