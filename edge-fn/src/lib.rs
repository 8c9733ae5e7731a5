//! edge-fn: the pii-edge policy engine as a CloudFront Lambda@Edge request trigger.
//!
//! - [`cloudfront`]: the Lambda@Edge event and generated-response types, the headers a function
//!   may not change, and the one conversion between a CloudFront request and
//!   `pii_core::Request` that every consumer (handler, CLI, test runner) uses.
//! - [`bundle`]: the configuration compiled into the package (policies, public keys, token
//!   keys), validated once per cold start; [`Edge`] holds the outcome.
//! - [`handler`]: one event in, the request to forward or a generated response out
//!   ([`handle`], [`handle_json`], [`handle_parts`]).
//! - [`problem`]: rejections as RFC 9457 `application/problem+json` responses.
//! - [`log`]: one JSON log line per request, CloudWatch Embedded Metric Format, no values.
//! - [`elf`]: the packaging check of the Node-API addon (x86_64, glibc versions it needs).
//! - `scan` (feature `scan`): reading recorded traffic (HAR, NDJSON, events) and finding
//!   personal data in it, for `pii-edge scan`, the fuzz target, the benchmark and the Python
//!   package's audit. Not in the edge package.
//!
//! The same handler runs in the `bootstrap` binary (`lambda_runtime`, for `provided.al2023`
//! regional functions), in the Node.js addon of the Lambda@Edge package (`edge-fn/node`) and
//! in `pii-edge serve`, the local reverse proxy (docs/serve.md). The `pii-edge` command-line
//! tool is a crate of its own, `edge-fn/cli`, so that none of its dependencies reach the edge.
#![forbid(unsafe_code)]

pub mod bundle;
pub mod cloudfront;
pub mod elf;
pub mod handler;
mod identity;
pub mod log;
pub mod problem;
#[cfg(feature = "scan")]
pub mod scan;

pub use bundle::{build_bundle, load_bundle, Bundle, BundleError, Edge};
pub use handler::{
    handle, handle_json, handle_parts, handle_reporting, handle_value, AnswerParts, HandlerOutput,
    Reported,
};
