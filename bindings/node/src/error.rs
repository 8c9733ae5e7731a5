//! pii-core's errors as JavaScript errors: `kind` becomes the error's `code`, index.js the
//! typed class (`WrongZone`, `NoKey`, `Tampered`, `ReceiptError`, ...).

use pii_core::envelope::OpenError;
use pii_core::strict::StrictError;
use pii_core::{receipt, Location};

/// An error for JavaScript: `kind` becomes the error's `code`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) kind: &'static str,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
        }
    }
}

pub(crate) fn open_failure(e: OpenError) -> Failure {
    Failure::new(e.name(), e.to_string())
}

/// `Kind|location`: index.js splits it into the class and the `location` property.
pub(crate) fn reveal_failure(e: pii_core::reveal::RevealError) -> Failure {
    Failure {
        kind: e.error.name(),
        message: e.to_string(),
    }
    .at(&e.location)
}

impl Failure {
    pub(crate) fn at(self, location: &Location) -> Failure {
        Failure {
            kind: self.kind,
            message: format!("{}\u{1f}{location}", self.message),
        }
    }
}

pub(crate) fn strict_failure(e: StrictError) -> Failure {
    match e {
        StrictError::Open(e) => reveal_failure(e),
        StrictError::Plaintext { ref location, .. } => {
            Failure::new("PlaintextFound", e.to_string()).at(location)
        }
        StrictError::Uninspectable { .. } => Failure::new("Uninspectable", e.to_string()),
        other => Failure::new("PiiEdgeError", other.to_string()),
    }
}

/// `ReceiptError:<code>`: index.js splits it into the class and the `code` property.
pub(crate) fn receipt_code(e: &receipt::ReceiptError) -> &'static str {
    match e.code() {
        "missing" => "ReceiptError:missing",
        "repeated" => "ReceiptError:repeated",
        "malformed" => "ReceiptError:malformed",
        "unknown-key" => "ReceiptError:unknown-key",
        "bad-signature" => "ReceiptError:bad-signature",
        "unsupported-version" => "ReceiptError:unsupported-version",
        "expired" => "ReceiptError:expired",
        "from-the-future" => "ReceiptError:from-the-future",
        "method" => "ReceiptError:method",
        "target" => "ReceiptError:target",
        "body" => "ReceiptError:body",
        "headers" => "ReceiptError:headers",
        _ => "ReceiptError:invalid",
    }
}
