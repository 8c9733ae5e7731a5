//! Reading files (or stdin for `-`), finding and loading policies and key sets.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use pii_core::{error::Diagnostic, Engine, Policy, PrivateKeyring, PublicKeyring, TokenKeys};

use super::style::{count, errln, Stream, Style};
use super::CliError;

/// Whether a path argument means standard input.
pub(crate) fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// How a path is named in messages.
pub(crate) fn shown(path: &Path) -> String {
    pii_core::load::shown(path)
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
    pii_core::load::bytes(path).map_err(|e| CliError::new(e.to_string()))
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

/// The policy files named by `inputs` (`-` is standard input), by the rules of
/// [`pii_core::load`]: files as given, for a directory every `*.yaml` and `*.yml` directly in
/// it, sorted by name; an empty directory is an error.
pub(crate) fn policy_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut files = Vec::new();
    for input in inputs {
        if is_stdin(input) {
            files.push(input.clone());
            continue;
        }
        files.extend(
            pii_core::load::policy_files(std::slice::from_ref(input))
                .map_err(|e| CliError::new(e.to_string()))?,
        );
    }
    Ok(files)
}

/// A diagnostic without a position.
pub(crate) fn plain_diagnostic(file: &str, message: impl Into<String>) -> Diagnostic {
    pii_core::load::plain_diagnostic(file, message)
}

/// Load one policy file (`*.json` as the JSON form, anything else as YAML), or standard input
/// for `-`. Never panics, whatever the file holds.
pub(crate) fn load_policy(path: &Path) -> Result<Policy, Vec<Diagnostic>> {
    if !is_stdin(path) {
        return pii_core::load::policy(path);
    }
    let name = shown(path);
    let bytes = read_bytes(path).map_err(|e| vec![plain_diagnostic(&name, e.to_string())])?;
    pii_core::load::policy_from_bytes(&name, bytes, false)
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

/// Load every policy named by `inputs` (files, directories, `-`), printing every problem.
/// Fails when any policy does not load or two have the same name.
pub(crate) fn load_policies(inputs: &[PathBuf]) -> Result<Vec<(PathBuf, Policy)>, CliError> {
    let files = policy_files(inputs)?;
    let mut policies: Vec<(PathBuf, Policy)> = Vec::new();
    let mut failed = 0;
    for file in files {
        let problems = match load_policy(&file) {
            Ok(policy) => match pii_core::load::duplicate_name(&policies, &file, &policy) {
                None => {
                    policies.push((file, policy));
                    continue;
                }
                Some(problem) => vec![problem],
            },
            Err(diagnostics) => diagnostics,
        };
        print_diagnostics(&problems);
        failed += 1;
    }
    if failed > 0 {
        return Err(CliError::new(format!(
            "{} did not load (run `pii-edge check` for details)",
            count(failed, "policy file", "policy files")
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

/// A key set's text: the file, or standard input for `-` (a secret manager's output piped
/// in, as the deployment guide does). Wiped when dropped.
fn key_text(path: &Path) -> Result<zeroize::Zeroizing<String>, CliError> {
    if is_stdin(path) {
        return read_text(path).map(zeroize::Zeroizing::new);
    }
    pii_core::load::text(path).map_err(|e| CliError::new(e.to_string()))
}

/// A key set read with the loader's rules and messages (`pii_core::load::key_set`).
fn key_set<K>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<K, pii_core::keys::KeyError>,
) -> Result<K, CliError> {
    pii_core::load::key_set(path, &key_text(path)?, parse).map_err(|e| CliError::new(e.to_string()))
}

/// A public JWK Set. A set holding private keys is refused.
pub(crate) fn load_public(path: &Path) -> Result<PublicKeyring, CliError> {
    key_set(path, PublicKeyring::from_jwks)
}

/// A private JWK Set, or one private JWK (`<kid>.private.jwk`) (origin side).
pub(crate) fn load_private(path: &Path) -> Result<PrivateKeyring, CliError> {
    key_set(path, PrivateKeyring::from_jwk_or_jwks)
}

/// A token key set.
pub(crate) fn load_tokens(path: &Path) -> Result<TokenKeys, CliError> {
    key_set(path, TokenKeys::from_jwks)
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

/// Write a file atomically (temporary file, then rename) with `mode`; with `new`, refuse to
/// replace an existing file.
pub(crate) fn write_file(
    path: &Path,
    contents: &[u8],
    mode: u32,
    new: bool,
) -> Result<(), CliError> {
    if new && path.exists() {
        return Err(CliError::new(format!(
            "{} already exists; not overwriting it",
            path.display()
        )));
    }
    let tmp = path.with_extension("tmp~");
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
        }
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        CliError::new(format!("cannot write {}: {e}", path.display()))
    })
}
