//! Size probe: the shared handler selecting with jsonpath-rust 1.x (selectors parsed at run
//! time, results located, as a policy engine needs them).
use decision_0001::Found;
use serde_json::Value;

fn select<'a>(event: &'a Value, doc: &'a Value) -> Result<Found<'a>, String> {
    let mut out = Vec::new();
    for p in event["paths"].as_array().into_iter().flatten() {
        let q = jsonpath_rust::parser::parse_json_path(p.as_str().unwrap_or_default())
            .map_err(|e| e.to_string())?;
        let found = jsonpath_rust::query::js_path_process(&q, doc).map_err(|e| e.to_string())?;
        out.extend(found.into_iter().map(|r| (r.path, r.val)));
    }
    Ok(out)
}

fn main() {
    decision_0001::host(select);
}
