//! The pii-edge handler as a Node-API addon, for the Lambda@Edge package.
//!
//! Lambda@Edge runs only managed Node.js and Python runtimes, so the Rust engine rides inside
//! a Node.js function as a native addon (`pii_edge.node`, this crate's `cdylib`), called in
//! process: no child process, no IPC (why: `docs/decisions/0002-edge-bridge.md`).
//!
//! JavaScript API (used by `index.js`):
//!
//! - `init(bundleJson: string): boolean` — validates the bundle once per cold start and keeps
//!   the engine; `false` when the bundle was refused (the reason is logged once, and every
//!   request is then answered 503). Only the first call counts.
//! - `handle(eventJson: string): string` — one CloudFront event in, CloudFront's answer out
//!   (the request to forward or a generated response), as JSON. Never throws: broken input is
//!   a 400 response, an internal fault a 500.
//! - `handleSplit(eventJson: string, bodyData: string | null): {json: string, bodyData?: string}`
//!   — the same with the request body's `data` passed apart: `eventJson` is the event with
//!   `Records[0].cf.request.body.data` set to `""` and `bodyData` its value. The answer's
//!   forwarded body `data` comes back apart too (`bodyData`, present exactly when the answer
//!   is a forwarded request with a body; `body.data` in `json` is then `""`). V8 then never
//!   writes or parses the large base64 string as JSON (`edge_fn::handle_parts`). Never throws.
//! - `ready(): boolean` — whether the bundle loaded.
#![deny(unsafe_code)]

use std::sync::OnceLock;

use edge_fn::bundle::Edge;

/// The engine of this process, built once by `init`.
static EDGE: OnceLock<Edge> = OnceLock::new();

fn init_edge(bundle_json: &str) -> bool {
    EDGE.get_or_init(|| {
        edge_fn::log::install_quiet_panic_hook();
        Edge::from_bundle(bundle_json)
    })
    .is_ready()
}

/// The engine, or one that answers every request 503 when `init` was not called.
fn edge() -> &'static Edge {
    EDGE.get_or_init(|| {
        Edge::new(
            Err("init(bundleJson) was not called before handle(eventJson)".to_owned()),
            std::sync::Arc::new(edge_fn::log::StdoutSink),
        )
    })
}

fn handle_event(event_json: &str) -> String {
    edge_fn::handle_json(edge(), event_json)
}

fn handle_event_split(event_json: &str, body_data: Option<String>) -> edge_fn::AnswerParts {
    edge_fn::handle_parts(edge(), event_json, body_data)
}

// napi-derive expands `#[napi]` into `extern "C"` glue and a module registration, which use
// `unsafe`; this module is the only place where that is allowed. The functions themselves are
// safe Rust.
#[allow(unsafe_code)]
pub mod exports {
    //! The functions node sees.
    use napi_derive::napi;

    /// `init(bundleJson)`: validate the bundle and build the engine (first call only).
    #[napi]
    pub fn init(bundle_json: String) -> bool {
        super::init_edge(&bundle_json)
    }

    /// `handle(eventJson)`: one CloudFront event in, CloudFront's JSON answer out.
    #[napi]
    pub fn handle(event_json: String) -> String {
        super::handle_event(&event_json)
    }

    /// What `handleSplit` returns: the answer JSON and, apart, a forwarded body's `data`.
    #[napi(object)]
    pub struct SplitAnswer {
        /// The answer JSON; a forwarded body's `data` in it is `""` when `body_data` is set.
        pub json: String,
        /// The forwarded request's `body.data` (`bodyData` in JavaScript), set exactly when
        /// the answer is a forwarded request with a body.
        pub body_data: Option<String>,
    }

    /// `handleSplit(eventJson, bodyData)`: one CloudFront event whose body `data` is passed
    /// apart (and set to `""` in `eventJson`); the answer's body `data` comes back apart.
    #[napi]
    pub fn handle_split(event_json: String, body_data: Option<String>) -> SplitAnswer {
        let parts = super::handle_event_split(&event_json, body_data);
        SplitAnswer {
            json: parts.json,
            body_data: parts.body_data,
        }
    }

    /// `ready()`: whether the bundle loaded.
    #[napi]
    pub fn ready() -> bool {
        super::EDGE.get().is_some_and(|edge| edge.is_ready())
    }
}
