//! `pii-edge`: the command-line tool for policy authors and operators.
//!
//! `check` and `test` policies, `apply` them to a request or CloudFront event, `reveal` what the
//! edge sealed (origin side), `keygen` keys, `package` the Lambda@Edge zip, `serve` the edge as a
//! local reverse proxy, `scan` recorded traffic, `draft` policies from OpenAPI and print the
//! policy `schema`. Run `pii-edge --help` for the details of each command.
//!
//! Argument parsing and dispatch live here. Each command lives in its own module, which imports
//! no other command's: what commands share is in [`shared`] (errors, reading files and keys,
//! requests, colours; `scripts/check-module-cycles.py` checks it).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod shared;

mod apply;
mod check;
mod draft;
mod keygen;
mod keys;
mod package;
mod scan;
mod serve;
mod testcases;
mod token;

use shared::style::{self, errln, Stream, Style};
use shared::FAILED;

/// Protect personal data in HTTP requests at the CloudFront edge: check, test and apply
/// policies, make keys and build the Lambda@Edge package.
#[derive(Parser)]
#[command(
    name = "pii-edge",
    version,
    about = "pii-edge: protect personal data in HTTP requests at the CloudFront edge with declarative policies",
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
    ///
    /// Checks syntax, unknown keys, JSONPath, options that do not fit their action, dead rules
    /// and duplicate policy names; with --keys/--tokens also that every zone a policy encrypts to
    /// has public keys and every token domain a key. Exit code 0 when every policy is valid, 1
    /// otherwise.
    Check(check::CheckArgs),
    /// Run the policy test cases (`DIR/X.tests/*.yaml` for the policy `DIR/X.yaml`).
    ///
    /// One case per file: a request (or a CloudFront event) and what must happen to it. Every
    /// case runs against all the policies of DIR, in file name order, as they would be deployed
    /// together. The case format is documented in policies/README.md. Keys: the demo keys in
    /// examples/keys/ when found (public keys seal, private keys check that every `encrypted`
    /// value opens to the original), else throwaway keys made for the run. Prints one line per
    /// case (`ok` or `FAIL` with the field, the expectation and what happened) and finally
    /// `N passed, N failed`. Exit code 1 when any case fails (or none was found).
    Test(testcases::TestArgs),
    /// Apply policies to one request or CloudFront event and print the result.
    ///
    /// Prints JSON: the protected request with a report per protected value, the rejection the
    /// edge would answer with, or `unmatched`. The exit code is 0 whatever the outcome (read
    /// `.outcome`); 1 when the policies, keys or request cannot be read. Keys default to the
    /// demo keys in examples/keys/ when found.
    Apply(apply::ApplyArgs),
    /// The origin side: open the envelopes of a protected request with private keys.
    ///
    /// Prints the request as it was before the edge (values that were masked, tokenized,
    /// hashed or removed stay so: only encryption is reversible). Reads what `pii-edge apply`
    /// printed (which also names the policy and zone), what the edge function forwarded (a
    /// CloudFront request object or event), or --body with the request flags.
    Reveal(apply::RevealArgs),
    /// Generate an X25519 key pair per region of a zone, or a token key per domain.
    ///
    /// With --zone and --region: the private key goes to DIR/<kid>.private.jwk and
    /// DIR/private.jwks (mode 0600: they belong to the region's origin, never to the edge), the
    /// public key to DIR/public.jwks (what `pii-edge package` puts in the edge package). With
    /// --token-domain: an HMAC-SHA256 key per domain in DIR/tokens.jwks (mode 0600); token keys
    /// travel in the edge package, so keep the package private.
    Keygen(keygen::KeygenArgs),
    /// Key set tools: `keys assemble` joins the regions' public keys into the edge's key set.
    Keys(keys::KeysArgs),
    /// A value's token under every key of a token domain, newest first (origin lookups across
    /// a key rotation).
    ///
    /// Prints `<kid> <token>` per key; the current (newest) key is marked. Give the rule's
    /// normalization with --policies or --normalize.
    Token(token::TokenArgs),
    /// Build the Lambda@Edge zip: the Node.js handler, the addon and the policy bundle.
    ///
    /// The zip holds index.js, pii_edge.node (the Rust engine as a Node-API addon) and
    /// bundle.json (the policies as JSON, the public keys, the token keys). Everything is
    /// validated first; a key set with private keys is refused (the package is readable by
    /// anyone who can read the function). The zip is written only when it fits the trigger's
    /// size limit (1,000,000 bytes compressed for viewer-request).
    Package(package::PackageArgs),
    /// Run your application behind the edge: a local HTTP/1.1 reverse proxy that runs the
    /// Lambda@Edge handler on every request, with a live inspector at /_pii-edge/.
    ///
    /// Each request becomes the viewer-request event CloudFront would deliver; the handler's
    /// answer is forwarded to --upstream or returned, as CloudFront would. Policies, keys and
    /// residency reload when their files change; a bad edit keeps the last good policies.
    Serve(serve::ServeArgs),
    /// See protected traffic in one command: the example policies and throwaway keys, a
    /// built-in recording origin, and the edge in front of it.
    ///
    /// Sends one request of every kind (JSON body, form, query string, headers and cookies, and
    /// one the edge refuses) through the edge over HTTP on 127.0.0.1, prints what was sent
    /// beside what the origin received, verifies the receipts and opens an envelope as the
    /// origin would; then keeps the edge and its inspector up until Ctrl-C (`--no-wait`: exit).
    Demo(serve::demo::DemoArgs),
    /// Find the personal data in recorded traffic (HAR, NDJSON logs, CloudFront events) and
    /// whether the policies protect it.
    ///
    /// Detectors: e-mail, phone, IBAN, payment card, national ids of thirteen EU countries, IP
    /// address, birth date and name (by field name), JWT claims (docs/scan.md). With --policies,
    /// each finding says `covered`, `not covered` or `route not matched by any policy`, as the
    /// real engine decides on a sample. Values are only ever shown masked (--no-examples: not
    /// at all). Exit code 1 with --fail-on when it applies.
    Scan(scan::ScanArgs),
    /// Draft policies from an OpenAPI 3.0 or 3.1 document (JSON or YAML): one per operation
    /// that carries personal data, with a test case built from the document's examples.
    ///
    /// A field is personal data by its `format` (email, ipv4, a birth `date`), by its example
    /// as the scan detectors read it, or by its name in the EU languages (the vocabulary of
    /// `pii-edge scan`, docs/scan.md). Each rule encrypts to --zone and says why it is there;
    /// then `pii-edge check DIR` and `pii-edge test DIR` (docs/draft.md).
    Draft(draft::DraftArgs),
    /// Print the JSON Schema of the policy language (for editors).
    Schema,
}

fn main() -> ExitCode {
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
        Command::Keys(args) => keys::run(args),
        Command::Token(args) => token::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Demo(args) => serve::demo::run(args),
        Command::Scan(args) => scan::run(args),
        Command::Draft(args) => draft::run(args),
        Command::Schema => {
            style::out(&pii_core::spec::policy_schema());
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
