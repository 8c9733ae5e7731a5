//! Size probe, baseline: the shared handler (serde_json + ring + base64, and lambda_runtime with
//! feature `lambda`) with no JSONPath crate: the "selector" is a top-level member name.
use decision_0001::Found;
use serde_json::Value;

fn select<'a>(event: &'a Value, doc: &'a Value) -> Result<Found<'a>, String> {
    Ok(event["paths"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_str())
        .filter_map(|p| doc.get(p).map(|v| (p.to_string(), v)))
        .collect())
}

fn main() {
    decision_0001::host(select);
}
