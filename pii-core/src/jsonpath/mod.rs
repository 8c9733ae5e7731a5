//! RFC 9535 JSONPath, as policy rules use it.

pub(crate) mod normalized;
pub(crate) mod onepass;
