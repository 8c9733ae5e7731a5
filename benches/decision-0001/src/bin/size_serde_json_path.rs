//! Size probe: the shared handler selecting with serde_json_path 0.7 (selectors parsed at run
//! time, results located, as a policy engine needs them).
use decision_0001::Found;
use serde_json::Value;

fn select<'a>(event: &'a Value, doc: &'a Value) -> Result<Found<'a>, String> {
    let mut out = Vec::new();
    for p in event["paths"].as_array().into_iter().flatten() {
        let q = serde_json_path::JsonPath::parse(p.as_str().unwrap_or_default())
            .map_err(|e| e.to_string())?;
        out.extend(q.query_located(doc).into_iter().map(|n| (n.location().to_string(), n.node())));
    }
    Ok(out)
}

fn main() {
    decision_0001::host(select);
}
