//! Finding personal data in recorded HTTP traffic (`pii-edge scan`).
//!
//! - [`input`]: recorded requests, streamed one at a time from HAR 1.2 files, NDJSON request
//!   logs and CloudFront Lambda@Edge events.
//! - [`scan_request`]: every value of a request (query parameters, headers, cookies, JSON and
//!   form bodies) run through the detectors of [`detect`], each hit a [`Finding`] with its
//!   [`pii_core::Location`] (`json:$['user']['email']`, `query:email`,
//!   `header:authorization`).
//! - [`mask`]: the only form in which a found value is ever shown.
//!
//! Sources and limits of every detector: `docs/scan.md`. The scanner needs no keys and no
//! policies; comparing findings with policies is the CLI's job (it runs the real engine).
//!
//! ```
//! use edge_fn::scan::{scan_request, Detector};
//! let req = pii_core::Request::new("POST", "/api/users")
//!     .with_header("content-type", "application/json")
//!     .with_body(br#"{"user": {"phoneNumber": "+49 30 1234567", "iban": "DE89370400440532013000"}}"#.to_vec());
//! let found = scan_request(&req);
//! let phone = found.iter().find(|f| f.detector == Detector::Phone).unwrap();
//! assert_eq!(phone.location.to_string(), "json:$['user']['phoneNumber']");
//! let iban = found.iter().find(|f| f.detector == Detector::Iban).unwrap();
//! assert_eq!(iban.masked(), "D****00");
//! ```

use std::fmt;

use pii_core::Location;

pub mod detect;
mod extract;
pub mod input;
pub mod location;
pub mod mask;

pub use detect::{Detector, IdScheme};
pub use extract::scan_request;

/// One value a detector recognised.
///
/// `Debug` never prints the value: only [`Finding::masked`] shows it, masked.
#[derive(Clone, PartialEq, Eq)]
pub struct Finding {
    /// Where the value is (text form: `json:$['a']['b']`, `query:email`, `header:x-id#1`,
    /// `cookie:session`, `form:iban`).
    pub location: Location,
    /// What it is.
    pub detector: Detector,
    /// For a JWT claim: the claim's name (`email`, `name`, `phone_number`, ...); the location
    /// is where the token is.
    pub claim: Option<String>,
    /// The value itself. Kept for masking and for the engine check; never printed whole.
    value: String,
}

impl Finding {
    /// A finding of `detector` at `location`.
    pub fn new(location: Location, detector: Detector, value: &str) -> Self {
        Finding {
            location,
            detector,
            claim: None,
            value: value.to_string(),
        }
    }

    /// The value, masked for display (see [`mask::mask`]).
    pub fn masked(&self) -> String {
        mask::mask(&self.value, self.detector)
    }

    /// The value in clear. For the engine check and for tests; never print it.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The location and, for a JWT claim, the claim: `header:authorization (jwt claim email)`.
    pub fn place(&self) -> String {
        match &self.claim {
            Some(claim) => format!("{} (jwt claim {claim})", self.location),
            None => self.location.to_string(),
        }
    }
}

impl fmt::Debug for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Finding")
            .field("location", &self.location.to_string())
            .field("detector", &self.detector)
            .field("claim", &self.claim)
            .field("value", &self.masked())
            .finish()
    }
}
