//! `pii_edge._native`: the Python face of pii-core. Every operation is pii-core's; these modules
//! convert Python values to Rust and back, and pii-core's errors to Python exceptions. The
//! Python package around it (`python/pii_edge`) adds the middleware and the typing stubs.
//!
//! The modules mirror pii-core's: `envelope` (opened values and their binding), `keys` (the
//! region's keyring), `location`, `receipt`, `request` (header and body arguments), `reveal`,
//! `strict`, `at_rest` (subject keys and fields at rest), `erasure` (erasure receipts),
//! `batch` (columns of values), `error` (the exception classes).
//!
//! No message, `repr` or exception carries a plaintext value or key material.

use std::time::{SystemTime, UNIX_EPOCH};

mod at_rest;
mod batch;
mod envelope;
mod erasure;
mod error;
mod keys;
mod location;
mod receipt;
mod request;
mod reveal;
mod strict;

use pyo3::prelude::*;

pub(crate) use error::{key_error, InvalidKeys};
pub(crate) use keys::PrivateKeyring;

/// Reads a file for a key or policy; the error is Python's `OSError` subclass for the cause
/// (`FileNotFoundError`, `PermissionError`, ...) and names the path, never content.
pub(crate) fn read_file(path: &str) -> PyResult<String> {
    std::fs::read_to_string(path).map_err(|e| os_error(path, &e))
}

pub(crate) fn os_error(path: &str, e: &std::io::Error) -> PyErr {
    use pyo3::exceptions::{
        PyFileNotFoundError, PyIsADirectoryError, PyOSError, PyPermissionError,
    };
    let message = format!("cannot read {path}: {e}");
    match e.kind() {
        std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
        std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(message),
        std::io::ErrorKind::IsADirectory => PyIsADirectoryError::new_err(message),
        _ => PyOSError::new_err(message),
    }
}

/// A file the one loader (pii_core::load) could not read: `OSError` for what the operating
/// system refused, `PolicyError` for a directory without policies.
pub(crate) fn load_error(e: pii_core::load::LoadError) -> PyErr {
    match e {
        pii_core::load::LoadError::Io { path, source } => {
            os_error(&path.display().to_string(), &source)
        }
        other => error::PolicyError::new_err(other.to_string()),
    }
}

pub(crate) fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The module `pii_edge._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    keys::register(m)?;
    receipt::register(m)?;
    location::register(m)?;
    envelope::register(m)?;
    strict::register(m)?;
    reveal::register(m)?;
    batch::register(m)?;
    error::register(m)?;
    at_rest::register(m)?;
    erasure::register(m)?;
    Ok(())
}
