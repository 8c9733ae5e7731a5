//! What the commands share; a command module imports from here, never from another command
//! (`scripts/check-module-cycles.py --hub edge-fn/cli=shared` checks it).
//!
//! - [`files`]: standard input, files, and the CLI's use of `pii_core::load` (policies, keys).
//! - [`bundle`]: the bundle's arguments (`BundleArgs`) and the bundle document `package` and
//!   `serve` make.
//! - [`request`]: requests and CloudFront events given on the command line, and their JSON form.
//! - [`inspect`]: finding a protected value in a request by its report location.
//! - [`run_keys`]: the keys of a run of the engine: given, the demo keys, or throwaway keys.
//! - [`tokenize`]: the `tokenize` rules of policies and whether their normalizations agree.
//! - [`draft_yaml`]: writing drafted policies and their test cases (`scan --suggest`, `draft`).
//! - [`style`]: colours and output.

use std::fmt;
use std::process::ExitCode;

pub(crate) mod bundle;
pub(crate) mod draft_yaml;
pub(crate) mod files;
pub(crate) mod inspect;
pub(crate) mod request;
pub(crate) mod run_keys;
pub(crate) mod style;
pub(crate) mod tokenize;

/// A command that could not do its job: printed as `error: ...` on stderr, exit code 1.
#[derive(Debug)]
pub(crate) struct CliError {
    message: String,
}

impl CliError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Shorthand for the commands' results: the exit code on success.
pub(crate) type CliResult = Result<ExitCode, CliError>;

/// Exit code for a command that ran and found problems (invalid policy, failing test).
pub(crate) const FAILED: u8 = 1;
