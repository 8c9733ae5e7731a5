//! `pii-edge draft --openapi FILE`: a draft policy per operation of an OpenAPI 3.0 or 3.1
//! document that carries personal data, with a test case built from the document's examples.
//!
//! A field is personal data when its schema's `format` says so (`email`, `ipv4`, a `date` whose
//! name says birth), when the scanner's detectors recognise its example, or when its name says
//! so in one of the EU languages: the same vocabulary `pii-edge scan` uses
//! (`edge_fn::scan::detect::context`), so the two agree on what a field is. Every rule
//! encrypts to `--zone`; a comment above it says why it is there. Documented in
//! `docs/draft.md`.

mod command;
mod openapi;
mod rules;
#[cfg(test)]
mod tests;
mod write;

pub(crate) use command::{run, DraftArgs};
