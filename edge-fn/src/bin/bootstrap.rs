//! `bootstrap`: the edge handler on `lambda_runtime`, for a `provided.al2023` function (for
//! example a regional function behind CloudFront, or local tests with a Runtime API emulator).
//!
//! Lambda@Edge itself runs only Node.js and Python: for it, see the package in `edge-fn/node`.
//!
//! The bundle (policies and public keys) is compiled in: set `PII_EDGE_BUNDLE` to its path at
//! build time (relative to `edge-fn/`), default `../examples/bundle/bundle.json`. It is
//! validated once, before the runtime loop; a bad bundle makes every request a 503.
#![forbid(unsafe_code)]

use edge_fn::bundle::Edge;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

/// The bundle, embedded at build time.
const BUNDLE: &str = include_str!(env!("PII_EDGE_BUNDLE_PATH"));

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    edge_fn::log::install_quiet_panic_hook();
    // Init once per cold start, outside the loop.
    let edge: &'static Edge = Box::leak(Box::new(Edge::from_bundle(BUNDLE)));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(edge_fn::handle_value(edge, event.payload))
    }))
    .await
}
