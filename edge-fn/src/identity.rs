//! The viewer's verified identity on the trigger that seals (issue 22): the residency file's
//! `identity` ([`pii_core::identity::IdentitySpec`]) says which issuers' tokens count, on which routes a
//! token is required and which claims name the zone and the data subject. The issuers' key
//! sets travel in the bundle (`pii-edge package --issuer-jwks`): nothing is fetched here.
//!
//! A refusal is a problem response: 401 `token-missing`, `token-invalid`, `token-expired`,
//! `token-key-unknown` (the packaged key set is stale: rebuild the package), or 403
//! `token-no-zone`. It never falls back to a zone the viewer chose.

use pii_core::{identity::Identified, identity::IdentityError, Request, Residency};

use crate::problem::Problem;

/// Checks the identity token of a request about to be sealed, at the current time. `Ok(None)`:
/// no identity configured, or no token on a route that does not require one.
pub(crate) fn check(
    residency: Option<&Residency>,
    request: &Request,
) -> Result<Option<Identified>, Problem> {
    let Some(residency) = residency.filter(|r| r.identity().is_some()) else {
        return Ok(None);
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    residency.identify(request, now).map_err(|e| problem(&e))
}

/// The problem response of a refused identity.
fn problem(error: &IdentityError) -> Problem {
    Problem {
        status: error.status(),
        code: error.code(),
        title: match error {
            IdentityError::Missing => "Identity token required",
            IdentityError::NoZone => "No residency zone in the identity token",
            _ => "Identity token refused",
        },
        detail: error.to_string(),
        policy: None,
    }
}
