//! The engine: picks the policy that matches a request and applies it, returning the protected
//! request or a rejection.

mod apply;
mod body;
mod fields;
mod json;
mod outcome;
mod routing;
#[cfg(test)]
mod tests;

pub use apply::Engine;
pub use outcome::{FieldReport, Outcome, Protected, RejectReason, Rejection};
pub use routing::{near_misses, route, PassThrough};
