//! The Node.js face of pii-core (`pii_edge_origin.node`): open envelopes, reveal requests,
//! verify receipts. Every operation is pii-core's; this crate converts JavaScript values to
//! Rust and back, and pii-core's errors to JavaScript errors whose `code` names the Rust error
//! kind (`WrongZone`, `NoKey`, `Tampered`, `ReceiptError`, ...). `index.js` turns them into
//! the typed error classes of `index.d.ts`.
//!
//! No message, property or error carries a plaintext value or key material.
#![deny(unsafe_code)]

use std::time::{SystemTime, UNIX_EPOCH};

mod error;
mod location;
mod receipt;
mod strict;

use error::Failure;

pub(crate) fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Reads a key or policy file. A failure is kind `SystemError:<errno name>` (`ENOENT`,
/// `EACCES`, `EISDIR`, `EIO`): index.js makes it an `Error` with that `code` and the `path`,
/// as `fs` does. The message names the path, never content.
pub(crate) fn read_file(path: &str) -> Result<zeroize::Zeroizing<String>, Failure> {
    std::fs::read_to_string(path)
        .map(zeroize::Zeroizing::new)
        .map_err(|e| {
            let code = match e.kind() {
                std::io::ErrorKind::NotFound => "SystemError:ENOENT",
                std::io::ErrorKind::PermissionDenied => "SystemError:EACCES",
                std::io::ErrorKind::IsADirectory => "SystemError:EISDIR",
                _ => "SystemError:EIO",
            };
            Failure::new(code, format!("cannot read {path}: {e}"))
        })
}

pub(crate) fn load_private(text: &str) -> Result<pii_core::PrivateKeyring, Failure> {
    pii_core::PrivateKeyring::from_jwks(text)
        .map_err(|e| Failure::new("InvalidKeys", e.to_string()))
}

// napi-derive expands `#[napi]` into `extern "C"` glue and a module registration, which use
// `unsafe`; this module (src/exports.rs and its children in src/exports/) is the only place
// where that is allowed. The functions are safe Rust over the modules above.
#[allow(unsafe_code)]
pub mod exports;
