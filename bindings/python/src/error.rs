//! The exception classes of `pii_edge`, and pii-core's errors as them.

use pii_core::envelope::OpenError as CoreOpenError;
use pii_core::receipt::ReceiptError as CoreReceiptError;
use pii_core::strict::StrictError;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    pii_edge,
    PiiEdgeError,
    PyException,
    "Base class of every error of pii_edge."
);
create_exception!(
    pii_edge,
    InvalidKeys,
    PiiEdgeError,
    "A key or key set was refused (the message names the key by position or kid, never its material)."
);
create_exception!(
    pii_edge,
    OpenError,
    PiiEdgeError,
    "An envelope did not open. Subclasses say why; messages say nothing about the contents."
);
create_exception!(
    pii_edge,
    Malformed,
    OpenError,
    "Not a well-formed envelope."
);
create_exception!(
    pii_edge,
    UnsupportedVersion,
    OpenError,
    "An envelope of a format version this library does not know."
);
create_exception!(
    pii_edge,
    WrongZone,
    OpenError,
    "Sealed for another residency zone than the one expected."
);
create_exception!(
    pii_edge,
    WrongPolicy,
    OpenError,
    "Sealed by another policy than the one expected."
);
create_exception!(
    pii_edge,
    WrongLocation,
    OpenError,
    "Sealed for another location in the request than the one expected."
);
create_exception!(
    pii_edge,
    NoKey,
    OpenError,
    "No private key of the keyring is a recipient of the envelope."
);
create_exception!(
    pii_edge,
    Tampered,
    OpenError,
    "The envelope was changed, or not sealed to this key."
);
create_exception!(
    pii_edge,
    PlaintextFound,
    PiiEdgeError,
    "Strict opening: a location the policy protects holds plaintext instead of an envelope."
);
create_exception!(
    pii_edge,
    Uninspectable,
    PiiEdgeError,
    "Strict opening: the request cannot be inspected as the edge would (malformed or compressed body, ...)."
);
create_exception!(
    pii_edge,
    LocationError,
    PiiEdgeError,
    "A location text that is not in the spec's form (json:$['a'], header:x-id, query:email#1)."
);
create_exception!(
    pii_edge,
    PolicyError,
    PiiEdgeError,
    "A policy that does not load (the message has the file, line and column)."
);
create_exception!(
    pii_edge,
    ReceiptError,
    PiiEdgeError,
    "A request without a valid, fresh receipt of the edge. `code` names the failed check."
);

pub(crate) fn key_error(e: pii_core::keys::KeyError) -> PyErr {
    InvalidKeys::new_err(e.to_string())
}

pub(crate) fn receipt_error(py: Python<'_>, e: &CoreReceiptError) -> PyErr {
    let err = ReceiptError::new_err(e.to_string());
    // `code` is a short stable name (docs/receipt.md, "Verifying").
    let _ = err.value(py).setattr("code", e.code());
    err
}

pub(crate) fn open_error(e: CoreOpenError) -> PyErr {
    let message = e.to_string();
    match e {
        CoreOpenError::Malformed => Malformed::new_err(message),
        CoreOpenError::UnsupportedVersion => UnsupportedVersion::new_err(message),
        CoreOpenError::WrongZone => WrongZone::new_err(message),
        CoreOpenError::WrongPolicy => WrongPolicy::new_err(message),
        CoreOpenError::WrongLocation => WrongLocation::new_err(message),
        CoreOpenError::NoKey => NoKey::new_err(message),
        CoreOpenError::Tampered => Tampered::new_err(message),
        CoreOpenError::Erased => crate::at_rest::Erased::new_err(message),
        _ => OpenError::new_err(message),
    }
}

/// An open error raised for a value of a request: the message and `.location` say where.
pub(crate) fn reveal_error(py: Python<'_>, e: pii_core::reveal::RevealError) -> PyErr {
    let err = open_error(e.error);
    let text = format!("{}", e);
    let value = err.value(py);
    let _ = value.setattr("args", (text,));
    let _ = value.setattr("location", e.location.to_string());
    err
}

pub(crate) fn strict_error(py: Python<'_>, e: StrictError) -> PyErr {
    match e {
        StrictError::Open(e) => reveal_error(py, e),
        StrictError::Plaintext { ref location, .. } => {
            let err = PlaintextFound::new_err(e.to_string());
            let _ = err.value(py).setattr("location", location.to_string());
            err
        }
        StrictError::Uninspectable { .. } => Uninspectable::new_err(e.to_string()),
        other => PiiEdgeError::new_err(other.to_string()),
    }
}

/// Adds the exception classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    for (name, class) in [
        ("PiiEdgeError", py.get_type::<PiiEdgeError>()),
        ("InvalidKeys", py.get_type::<InvalidKeys>()),
        ("OpenError", py.get_type::<OpenError>()),
        ("Malformed", py.get_type::<Malformed>()),
        ("UnsupportedVersion", py.get_type::<UnsupportedVersion>()),
        ("WrongZone", py.get_type::<WrongZone>()),
        ("WrongPolicy", py.get_type::<WrongPolicy>()),
        ("WrongLocation", py.get_type::<WrongLocation>()),
        ("NoKey", py.get_type::<NoKey>()),
        ("Tampered", py.get_type::<Tampered>()),
        ("PlaintextFound", py.get_type::<PlaintextFound>()),
        ("Uninspectable", py.get_type::<Uninspectable>()),
        ("LocationError", py.get_type::<LocationError>()),
        ("PolicyError", py.get_type::<PolicyError>()),
        ("ReceiptError", py.get_type::<ReceiptError>()),
    ] {
        m.add(name, class)?;
    }
    Ok(())
}
