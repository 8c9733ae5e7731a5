//! Size probe: serde_json_path plus serde-saphyr reading the selectors from a YAML policy at
//! run time: what carrying the YAML parser in the edge package would cost.
use decision_0001::Found;
use serde_json::Value;

#[derive(serde::Deserialize)]
struct Policy {
    paths: Vec<String>,
}

fn select<'a>(event: &'a Value, doc: &'a Value) -> Result<Found<'a>, String> {
    let policy: Policy = serde_saphyr::from_str(event["policy"].as_str().unwrap_or_default())
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for p in &policy.paths {
        let q = serde_json_path::JsonPath::parse(p).map_err(|e| e.to_string())?;
        out.extend(q.query_located(doc).into_iter().map(|n| (n.location().to_string(), n.node())));
    }
    Ok(out)
}

fn main() {
    decision_0001::host(select);
}
