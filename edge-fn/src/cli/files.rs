//! Reading files (or stdin for `-`), finding and loading policies and key sets.

use std::io::Read;
use std::path::{Path, PathBuf};

use pii_core::{Diagnostic, Engine, Policy, PrivateKeyring, PublicKeyring, TokenKeys};

use super::style::{errln, Stream, Style};
use super::CliError;

/// Whether a path argument means standard input.
pub(crate) fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// How a path is named in messages.
pub(crate) fn shown(path: &Path) -> String {
    if is_stdin(path) {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// The bytes of a file, or of stdin for `-`.
pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>, CliError> {
    if is_stdin(path) {
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .map_err(|e| CliError::new(format!("cannot read standard input: {e}")))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| CliError::new(format!("cannot read {}: {e}", shown(path))))
}

/// The text of a file (UTF-8 required), or of stdin for `-`.
pub(crate) fn read_text(path: &Path) -> Result<String, CliError> {
    let bytes = read_bytes(path)?;
    String::from_utf8(bytes).map_err(|e| {
        CliError::new(format!(
            "{} is not UTF-8 text (invalid byte at offset {})",
            shown(path),
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Whether a file name looks like a policy: `*.yaml` / `*.yml`.
fn is_policy_name(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// The policy files named by `inputs`: files as given, and for a directory every `*.yaml`
/// (and `*.yml`) directly in it, sorted by name. Test case directories (`X.tests/`) and other
/// subdirectories are not entered.
pub(crate) fn policy_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut files = Vec::new();
    for input in inputs {
        if is_stdin(input) || !input.is_dir() {
            if !is_stdin(input) && !input.exists() {
                return Err(CliError::new(format!(
                    "{}: no such file or directory",
                    shown(input)
                )));
            }
            files.push(input.clone());
            continue;
        }
        let entries = std::fs::read_dir(input)
            .map_err(|e| CliError::new(format!("cannot read directory {}: {e}", shown(input))))?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && is_policy_name(p))
            .collect();
        if found.is_empty() {
            return Err(CliError::new(format!(
                "{}: no policy files (*.yaml) in this directory",
                shown(input)
            )));
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

/// A diagnostic without a position.
pub(crate) fn plain_diagnostic(file: &str, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        file: file.to_string(),
        line: 0,
        column: 0,
        message: message.into(),
        line_text: String::new(),
    }
}

/// Load one policy file (`*.json` as the JSON form, anything else as YAML). Never panics,
/// whatever the file holds.
pub(crate) fn load_policy(path: &Path) -> Result<Policy, Vec<Diagnostic>> {
    let name = shown(path);
    let bytes = read_bytes(path).map_err(|e| vec![plain_diagnostic(&name, e.to_string())])?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let bytes = e.as_bytes();
            let offset = e.utf8_error().valid_up_to();
            let before = &bytes[..offset];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let line_start = before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let line_end = bytes[line_start..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |i| line_start + i);
            let line_text = String::from_utf8_lossy(&bytes[line_start..line_end])
                .chars()
                .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
                .collect::<String>();
            let mut column = String::from_utf8_lossy(&bytes[line_start..offset])
                .chars()
                .count()
                + 1;
            // Binary files have long "lines": show a window around the bad byte.
            let skip = column.saturating_sub(40);
            let line_text: String = line_text.chars().skip(skip).take(80).collect();
            column -= skip;
            return Err(vec![Diagnostic {
                file: name,
                line,
                column,
                message: format!(
                    "not UTF-8 text (byte 0x{:02x}); a policy is a YAML text file",
                    bytes[offset]
                ),
                line_text,
            }]);
        }
    };
    let json = path.extension().and_then(|e| e.to_str()) == Some("json");
    let loaded = if json {
        Policy::from_json(&text)
    } else {
        Policy::from_yaml(&name, &text)
    };
    loaded.map_err(|e| {
        e.diagnostics()
            .iter()
            .cloned()
            .map(|mut d| {
                d.file = name.clone();
                d
            })
            .collect()
    })
}

/// Print diagnostics on stderr (`file:line:col: message`, the line and a caret).
pub(crate) fn print_diagnostics(diagnostics: &[Diagnostic]) {
    let style = Style::for_stream(Stream::Err);
    for d in diagnostics {
        let text = d.to_string();
        let mut lines = text.lines();
        if let Some(first) = lines.next() {
            errln!("{}", style.bold(first));
        }
        for line in lines {
            if line.trim_end().ends_with('^') {
                errln!("{}", style.red(line));
            } else {
                errln!("{line}");
            }
        }
    }
}

/// Load every policy named by `inputs` (files and directories), printing every problem. Fails
/// when any policy does not load or two have the same name.
pub(crate) fn load_policies(inputs: &[PathBuf]) -> Result<Vec<(PathBuf, Policy)>, CliError> {
    let files = policy_files(inputs)?;
    let mut policies: Vec<(PathBuf, Policy)> = Vec::new();
    let mut failed = 0;
    for file in files {
        match load_policy(&file) {
            Ok(policy) => {
                if let Some((other, _)) = policies.iter().find(|(_, p)| p.name() == policy.name()) {
                    print_diagnostics(&[plain_diagnostic(
                        &shown(&file),
                        format!(
                            "policy name `{}` is already used by {}; names are bound into ciphertext and must be unique",
                            policy.name(),
                            shown(other)
                        ),
                    )]);
                    failed += 1;
                } else {
                    policies.push((file, policy));
                }
            }
            Err(diagnostics) => {
                print_diagnostics(&diagnostics);
                failed += 1;
            }
        }
    }
    if failed > 0 {
        return Err(CliError::new(format!(
            "{failed} policy file{} did not load (run `pii-edge check` for details)",
            if failed == 1 { "" } else { "s" }
        )));
    }
    Ok(policies)
}

/// The demo key file `examples/keys/<name>`, looked for in the current directory, its
/// ancestors and the ancestors of `near` (e.g. the policy directory).
pub(crate) fn find_example_key(name: &str, near: &[PathBuf]) -> Option<PathBuf> {
    let mut starts: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        starts.push(cwd);
    }
    for path in near {
        if let Ok(abs) = std::fs::canonicalize(path) {
            starts.push(abs);
        }
    }
    for start in starts {
        for dir in start.ancestors() {
            let candidate = dir.join("examples").join("keys").join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// A public JWK Set. A set holding private keys is refused.
pub(crate) fn load_public(path: &Path) -> Result<PublicKeyring, CliError> {
    let text = read_text(path)?;
    PublicKeyring::from_jwks(&text).map_err(|e| match e {
        pii_core::KeyError::PrivateKeyInPublicSet { index } => CliError::new(format!(
            "{}: key #{index} is a private key (it has a `d` or `k` member); a public key set must hold public keys only (use public.jwks, written by `pii-edge keygen`)",
            shown(path)
        )),
        other => CliError::new(format!("{}: {other}", shown(path))),
    })
}

/// A private JWK Set, or one private JWK (`<kid>.private.jwk`) (origin side).
pub(crate) fn load_private(path: &Path) -> Result<PrivateKeyring, CliError> {
    let text = read_text(path)?;
    PrivateKeyring::from_jwk_or_jwks(&text)
        .map_err(|e| CliError::new(format!("{}: {e}", shown(path))))
}

/// A token key set.
pub(crate) fn load_tokens(path: &Path) -> Result<TokenKeys, CliError> {
    let text = read_text(path)?;
    TokenKeys::from_jwks(&text).map_err(|e| CliError::new(format!("{}: {e}", shown(path))))
}

/// Public keys and token keys: the given files, or the demo keys under `examples/keys/` when
/// they exist, or empty sets.
pub(crate) fn edge_keys(
    keys: Option<&Path>,
    tokens: Option<&Path>,
    near: &[PathBuf],
) -> Result<(PublicKeyring, TokenKeys), CliError> {
    let public = match keys {
        Some(path) => load_public(path)?,
        None => match find_example_key("public.jwks", near) {
            Some(path) => load_public(&path)?,
            None => PublicKeyring::default(),
        },
    };
    let tokens = match tokens {
        Some(path) => load_tokens(path)?,
        None => match find_example_key("tokens.jwks", near) {
            Some(path) => load_tokens(&path)?,
            None => TokenKeys::default(),
        },
    };
    Ok((public, tokens))
}

/// An engine, with a message a person can act on when policies and keys do not fit.
pub(crate) fn engine(
    policies: Vec<Policy>,
    public: PublicKeyring,
    tokens: TokenKeys,
) -> Result<Engine, CliError> {
    Engine::new(policies, public, tokens).map_err(|e| CliError::new(e.to_string()))
}
