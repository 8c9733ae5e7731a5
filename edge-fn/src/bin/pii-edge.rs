//! `pii-edge`: the command-line tool for policy authors and operators.
//!
//! `check` and `test` policies, `apply` them to a request or CloudFront event, `reveal` what the
//! edge sealed (origin side), `keygen` keys, `package` the Lambda@Edge zip and print the policy
//! `schema`. Run `pii-edge --help` for the details of each command.

#[path = "../cli/mod.rs"]
mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
