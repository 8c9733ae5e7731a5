//! CloudFront Lambda@Edge: the event types, the rules CloudFront sets for what a function may
//! change, and the one conversion between a CloudFront request and the engine's request.
//!
//! - [`event`] (re-exported here): [`CloudFrontEvent`], [`Request`], [`Headers`], [`Body`],
//!   [`Response`], ... parsed and written without losing a field.
//! - [`rules`]: the headers a function may not change or add ([`header_restriction`]) and the
//!   policy rules that would try to ([`restricted_header_rules`]).
//! - [`convert`]: event request -> `pii_core::Request` ([`to_core`]) and the engine's result
//!   back into the event request ([`write_back`]), with the body limits of each trigger.
//!   Every consumer uses it: the handler (so the `bootstrap` binary and the Node.js addon),
//!   `pii-edge apply` with and without `--edge`, `pii-edge reveal` and `pii-edge test`.
//!
//! ```
//! use edge_fn::cloudfront::{to_core, CloudFrontEvent};
//!
//! let json = r#"{"Records":[{"cf":{
//!     "config":{"distributionId":"EDFDVBD6EXAMPLE","eventType":"viewer-request"},
//!     "request":{"clientIp":"203.0.113.178","method":"GET","uri":"/","querystring":"",
//!                "headers":{"host":[{"key":"Host","value":"d111111abcdef8.cloudfront.net"}]}}}}]}"#;
//! let event: CloudFrontEvent = json.parse()?;
//! let record = event.single_record().expect("one record");
//! assert_eq!(record.cf.request.header_values("HOST"), ["d111111abcdef8.cloudfront.net"]);
//! let request = to_core(&record.cf.request)?;
//! assert_eq!(request.header("host"), Some("d111111abcdef8.cloudfront.net"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod convert;
pub mod event;
pub mod rules;

pub use convert::{
    core_headers, from_core, request_event, to_core, viewer_request_event, write_back, BodyLimits,
    ConvertError, EventFileError, WriteBackError, MAX_URI_AND_QUERY, ORIGIN_REQUEST_LIMITS,
    VIEWER_REQUEST_LIMITS,
};
pub use event::{
    needs_no_json_escape, Body, BodyAction, BodyDecodeError, BodyEncoding, Cf, CloudFrontEvent,
    Config, CustomOrigin, EventType, Header, Headers, Origin, Record, Request, Response, S3Origin,
};
pub use rules::{header_restriction, restricted_header_rules, RestrictedRule};
