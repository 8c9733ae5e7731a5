//! The Lambda@Edge request event and generated-response types.
//!
//! `aws_lambda_events` has no CloudFront types, so they are defined here, after the
//! "Lambda@Edge event structure" and "Generating HTTP responses" pages of the CloudFront
//! Developer Guide, and tested against the documented examples in `examples/events/`.
//!
//! Two properties matter more than convenience:
//!
//! - **Nothing is lost.** Every struct keeps the fields it does not model in an `extra` map,
//!   and [`Headers`] keeps the order of its names, so `parse -> serialize` gives back the same
//!   JSON value. A request the function forwards carries everything CloudFront gave it.
//! - **Parsing never panics.** Any input, however malformed, gives a [`serde_json::Error`].
//!   Fields the engine depends on (`body.inputTruncated`, `body.encoding`, ...) are required
//!   and typed, so an event that does not say what the engine needs to know is an error, not a
//!   default; so is an unknown `body.action` or `body.encoding`. Header names that repeat
//!   exactly inside one `headers` object are an error too.
//!
//! Known limits of the round trip: a modelled optional field given as JSON `null` comes back
//! absent, and a `headers`, `customHeaders` or `querystring` that was absent comes back empty.

mod body;
mod de;
mod headers;
mod origin;
mod records;
mod request;
mod response;
mod write;

pub use body::{Body, BodyAction, BodyDecodeError, BodyEncoding};
pub use headers::{Header, Headers};
pub use origin::{CustomOrigin, Origin, S3Origin};
pub use records::{Cf, CloudFrontEvent, Config, EventType, Record};
pub use request::Request;
pub use response::Response;
pub use write::needs_no_json_escape;
