//! The `pii-edge` command line: argument parsing and dispatch. Each command lives in its own
//! module; shared pieces are `files` (reading policies, keys and stdin), `request` (requests,
//! events and their JSON form), `inspect` (finding a protected value by its report location)
//! and `style` (colours and output).

use std::fmt;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub(crate) mod style;

mod apply;
mod check;
mod files;
mod inspect;
mod keygen;
mod package;
mod rawjson;
mod request;
mod testcases;

use style::{errln, Stream, Style};

/// Protect personal data in HTTP requests at the CloudFront edge: check, test and apply
/// policies, make keys and build the Lambda@Edge package.
#[derive(Parser)]
#[command(
    name = "pii-edge",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 success, 1 invalid input or failed checks/tests, 2 usage error.\n\
                  A FILE argument of `-` reads standard input. Colours only on a terminal, never with NO_COLOR set.\n\
                  Policy language: docs/policy.md. Example policies and test cases: policies/."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate policies; every problem as `file:line:col: message` with the line and a caret.
    Check(check::CheckArgs),
    /// Run the policy test cases (`DIR/X.tests/*.yaml` for the policy `DIR/X.yaml`).
    Test(testcases::TestArgs),
    /// Apply policies to one request or CloudFront event and print the result.
    Apply(apply::ApplyArgs),
    /// The origin side: open the envelopes of a protected request with private keys.
    Reveal(apply::RevealArgs),
    /// Generate an X25519 key pair per region of a zone, or a token key per domain.
    Keygen(keygen::KeygenArgs),
    /// Build the Lambda@Edge zip: the Node.js handler, the addon and the policy bundle.
    Package(package::PackageArgs),
    /// Print the JSON Schema of the policy language (for editors).
    Schema,
}

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

pub(crate) fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print to stdout and exit 0; usage errors exit 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Test(args) => testcases::run(args),
        Command::Apply(args) => apply::run_apply(args),
        Command::Reveal(args) => apply::run_reveal(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Package(args) => package::run(args),
        Command::Schema => {
            style::out(&pii_core::policy_schema());
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let style = Style::for_stream(Stream::Err);
            errln!("{} {e}", style.red(&style.bold("error:")));
            ExitCode::from(FAILED)
        }
    }
}
