//! The one front door for input files (feature `fs`): policy files and directories, JWK Sets
//! and residency configurations, read with one rule set by the command-line tool, `serve` and
//! both origin packages.
//!
//! The rules:
//! - A policy input is a file (read whatever its name; `*.json` is the JSON form, anything
//!   else YAML) or a directory, of which every `*.yaml` and `*.yml` file directly inside is
//!   read, in file-name order. Subdirectories (such as a policy's `X.tests/` cases) are not
//!   entered. A directory without policy files is an error, never an empty bundle.
//! - Every policy problem of every file is reported, as `file:line:col` diagnostics; two
//!   policies with the same name are refused (the name is bound into ciphertext).
//! - Files are UTF-8 text; the position of the first invalid byte is reported.
//! - Key sets are JWK Sets (RFC 7517 §5); a public set holding a private key is refused.
//!   Private key text is zeroized after parsing.
//!
//! Messages name the file and never quote key material.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = std::env::temp_dir().join(format!("pii-load-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! std::fs::write(dir.join("search.yaml"), "apiVersion: pii-edge/v1\nname: search\n\
//!     match: {paths: [/api/search]}\nrules:\n  - select: {query: email}\n    action: redact\n")?;
//! let policies = pii_core::load::policies(&[&dir]).map_err(|d| d[0].to_string())?;
//! assert_eq!(policies[0].1.name(), "search");
//!
//! let empty = dir.join("empty");
//! std::fs::create_dir_all(&empty)?;
//! assert!(pii_core::load::policies(&[&empty]).is_err());
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::{error::Diagnostic, keys::KeyError, Policy, PublicKeyring, Residency, TokenKeys};

/// A file or directory that could not be read, or whose content is not what it must be.
#[derive(Debug)]
#[non_exhaustive]
pub enum LoadError {
    /// The operating system refused (not found, permission denied, ...).
    Io {
        /// The path as given.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A directory given as policies holds no `*.yaml` or `*.yml` file.
    NoPolicies {
        /// The directory.
        dir: PathBuf,
    },
    /// The file is not UTF-8 text.
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// The file is not a valid key set of its kind.
    Keys {
        /// The file.
        path: PathBuf,
        /// Why (never key material).
        source: KeyError,
    },
    /// The file is not a valid residency configuration.
    Residency {
        /// Every problem found, with its position.
        diagnostics: Vec<Diagnostic>,
    },
}

impl LoadError {
    /// The kind of I/O failure, when the operating system refused (for `FileNotFoundError`,
    /// `ENOENT` and their kin in the origin packages).
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        match self {
            LoadError::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { path, source } if source.kind() == std::io::ErrorKind::NotFound => {
                write!(f, "{}: no such file or directory", shown(path))
            }
            LoadError::Io { path, source } => {
                write!(f, "cannot read {}: {source}", shown(path))
            }
            LoadError::NoPolicies { dir } => write!(
                f,
                "{}: no policy files (*.yaml or *.yml) in this directory",
                dir.display()
            ),
            LoadError::NotUtf8 { path, offset } => write!(
                f,
                "{} is not UTF-8 text (invalid byte at offset {offset})",
                shown(path)
            ),
            LoadError::Keys {
                path,
                source: KeyError::PrivateKeyInPublicSet { index },
            } => write!(
                f,
                "{}: key #{index} is a private key (it has a `d` or `k` member); a public key set must hold public keys only (use public.jwks, written by `pii-edge keygen`)",
                shown(path)
            ),
            LoadError::Keys { path, source } => write!(f, "{}: {source}", shown(path)),
            LoadError::Residency { diagnostics } => {
                for (i, d) in diagnostics.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{d}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Io { source, .. } => Some(source),
            LoadError::Keys { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The bytes of a file.
///
/// # Errors
/// [`LoadError::Io`].
pub fn bytes(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The text of a file (UTF-8 required). Zeroized when dropped: key files are read with it.
///
/// # Errors
/// [`LoadError::Io`], [`LoadError::NotUtf8`].
pub fn text(path: &Path) -> Result<Zeroizing<String>, LoadError> {
    let raw = bytes(path)?;
    match String::from_utf8(raw) {
        Ok(text) => Ok(Zeroizing::new(text)),
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            drop(Zeroizing::new(e.into_bytes()));
            Err(LoadError::NotUtf8 {
                path: path.to_path_buf(),
                offset,
            })
        }
    }
}

/// Whether a file name is a policy's when it sits in a policy directory: `*.yaml` or `*.yml`.
pub fn is_policy_name(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// The `*.yaml` and `*.yml` files directly in `dir`, sorted by name; empty when the directory
/// cannot be read.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && is_policy_name(p))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The policy files named by `inputs`: files as given, and for a directory every `*.yaml` and
/// `*.yml` directly inside, sorted by name.
///
/// # Errors
/// [`LoadError::Io`] for a path that does not exist or a directory that cannot be read,
/// [`LoadError::NoPolicies`] for a directory without policy files.
pub fn policy_files<P: AsRef<Path>>(inputs: &[P]) -> Result<Vec<PathBuf>, LoadError> {
    let mut files = Vec::new();
    for input in inputs {
        let input = input.as_ref();
        let meta = std::fs::metadata(input).map_err(|source| LoadError::Io {
            path: input.to_path_buf(),
            source,
        })?;
        if !meta.is_dir() {
            files.push(input.to_path_buf());
            continue;
        }
        std::fs::read_dir(input).map_err(|source| LoadError::Io {
            path: input.to_path_buf(),
            source,
        })?;
        let found = yaml_files(input);
        if found.is_empty() {
            return Err(LoadError::NoPolicies {
                dir: input.to_path_buf(),
            });
        }
        files.extend(found);
    }
    Ok(files)
}

/// A diagnostic without a position.
pub fn plain_diagnostic(file: &str, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        file: file.to_string(),
        line: 0,
        column: 0,
        message: message.into(),
        line_text: String::new(),
    }
}

/// One policy from its bytes: `name` is how the source is shown in diagnostics; `json` reads
/// the JSON form instead of YAML. Bytes that are not UTF-8 get a diagnostic at the first
/// invalid byte. Never panics, whatever the bytes.
///
/// # Errors
/// Every problem found, with file, line and column.
pub fn policy_from_bytes(
    name: &str,
    bytes: Vec<u8>,
    json: bool,
) -> Result<Policy, Vec<Diagnostic>> {
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            return Err(vec![not_utf8(
                name,
                e.as_bytes(),
                e.utf8_error().valid_up_to(),
            )])
        }
    };
    let loaded = if json {
        Policy::from_json(&text)
    } else {
        Policy::from_yaml(name, &text)
    };
    loaded.map_err(|e| {
        e.diagnostics()
            .iter()
            .cloned()
            .map(|mut d| {
                d.file = name.to_string();
                d
            })
            .collect()
    })
}

/// The diagnostic of a policy that is not UTF-8: the line and column of the first invalid
/// byte, with a window of the line around it (binary files have long "lines").
fn not_utf8(name: &str, bytes: &[u8], offset: usize) -> Diagnostic {
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
    let line_text: String = String::from_utf8_lossy(&bytes[line_start..line_end])
        .chars()
        .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
        .collect();
    let mut column = String::from_utf8_lossy(&bytes[line_start..offset])
        .chars()
        .count()
        + 1;
    let skip = column.saturating_sub(40);
    column -= skip;
    Diagnostic {
        file: name.to_string(),
        line,
        column,
        message: format!(
            "not UTF-8 text (byte 0x{:02x}); a policy is a YAML text file",
            bytes.get(offset).copied().unwrap_or_default()
        ),
        line_text: line_text.chars().skip(skip).take(80).collect(),
    }
}

/// One policy file (`*.json` as the JSON form, anything else as YAML).
///
/// # Errors
/// Every problem found, with file, line and column (a file that cannot be read is one
/// diagnostic without a position).
pub fn policy(path: &Path) -> Result<Policy, Vec<Diagnostic>> {
    let name = path.display().to_string();
    let raw = bytes(path).map_err(|e| vec![plain_diagnostic(&name, e.to_string())])?;
    let json = path.extension().and_then(|e| e.to_str()) == Some("json");
    policy_from_bytes(&name, raw, json)
}

/// Every policy named by `inputs` (files and directories, see [`policy_files`]), in order.
///
/// # Errors
/// Every problem of every file, and a diagnostic for each policy whose name another one
/// already uses.
pub fn policies<P: AsRef<Path>>(inputs: &[P]) -> Result<Vec<(PathBuf, Policy)>, Vec<Diagnostic>> {
    let files = policy_files(inputs).map_err(|e| {
        let file = match &e {
            LoadError::Io { path, .. } => path.display().to_string(),
            LoadError::NoPolicies { dir } => dir.display().to_string(),
            _ => String::new(),
        };
        vec![plain_diagnostic(&file, e.to_string())]
    })?;
    let mut loaded: Vec<(PathBuf, Policy)> = Vec::new();
    let mut problems = Vec::new();
    for file in files {
        match policy(&file) {
            Ok(p) => match duplicate_name(&loaded, &file, &p) {
                Some(problem) => problems.push(problem),
                None => loaded.push((file, p)),
            },
            Err(found) => problems.extend(found),
        }
    }
    if problems.is_empty() {
        Ok(loaded)
    } else {
        Err(problems)
    }
}

/// The diagnostic for `policy` (read from `file`) when a policy already `loaded` has its name:
/// names are bound into ciphertext and must be unique in a bundle.
pub fn duplicate_name(
    loaded: &[(PathBuf, Policy)],
    file: &Path,
    policy: &Policy,
) -> Option<Diagnostic> {
    let (other, _) = loaded.iter().find(|(_, p)| p.name() == policy.name())?;
    Some(plain_diagnostic(
        &shown(file),
        format!(
            "policy name `{}` is already used by {}; names are bound into ciphertext and must be unique",
            policy.name(),
            shown(other)
        ),
    ))
}

/// How a path is named in messages (`-`, standard input for the command-line tool, as
/// `<stdin>`).
pub fn shown(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// Every problem, one per line (`file:line:col: message`, the line and a caret): the text the
/// origin packages raise and `serve` shows when policies do not load.
pub fn describe(problems: &[Diagnostic]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A key set from its text, read by the caller (the command-line tool reads `-` from standard
/// input), with the loader's errors: `parse` is the key set's reader (`PublicKeyring::from_jwks`,
/// `PrivateKeyring::from_jwk_or_jwks`, `TokenKeys::from_jwks`), `name` names the text in them.
///
/// # Errors
/// [`LoadError::Keys`], never quoting key material.
pub fn key_set<K>(
    name: &Path,
    text: &str,
    parse: impl FnOnce(&str) -> Result<K, KeyError>,
) -> Result<K, LoadError> {
    parse(text).map_err(|source| LoadError::Keys {
        path: name.to_path_buf(),
        source,
    })
}

/// A public JWK Set (the edge's sealing keys, as `pii-edge keygen` writes `public.jwks`). A
/// set holding a private key is refused.
///
/// # Errors
/// [`LoadError::Io`], [`LoadError::NotUtf8`], [`LoadError::Keys`].
pub fn public_keys(path: &Path) -> Result<PublicKeyring, LoadError> {
    key_set(path, &text(path)?, PublicKeyring::from_jwks)
}

/// A private JWK Set, or one private JWK (`<kid>.private.jwk`): the origin's opening keys.
///
/// # Errors
/// [`LoadError::Io`], [`LoadError::NotUtf8`], [`LoadError::Keys`].
#[cfg(feature = "open")]
pub fn private_keys(path: &Path) -> Result<crate::PrivateKeyring, LoadError> {
    key_set(path, &text(path)?, crate::PrivateKeyring::from_jwk_or_jwks)
}

/// A token key set (JWK Set of `oct` keys).
///
/// # Errors
/// [`LoadError::Io`], [`LoadError::NotUtf8`], [`LoadError::Keys`].
pub fn token_keys(path: &Path) -> Result<TokenKeys, LoadError> {
    key_set(path, &text(path)?, TokenKeys::from_jwks)
}

/// A residency configuration (YAML; `docs/residency.md`).
///
/// # Errors
/// [`LoadError::Io`], [`LoadError::NotUtf8`], [`LoadError::Residency`] with every problem.
pub fn residency(path: &Path) -> Result<Residency, LoadError> {
    let text = text(path)?;
    Residency::from_yaml(&path.display().to_string(), &text).map_err(|e| LoadError::Residency {
        diagnostics: e.diagnostics().to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pii-load-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    const POLICY: &str = "apiVersion: pii-edge/v1\nname: NAME\nmatch: {paths: [/p]}\nrules:\n  - select: {query: email}\n    action: redact\n";

    #[test]
    fn directories_read_yaml_and_yml_in_name_order_and_skip_subdirectories() {
        let dir = scratch("order");
        std::fs::write(dir.join("b.yml"), POLICY.replace("NAME", "b")).expect("write");
        std::fs::write(dir.join("a.yaml"), POLICY.replace("NAME", "a")).expect("write");
        std::fs::write(dir.join("notes.txt"), "not a policy").expect("write");
        std::fs::create_dir_all(dir.join("a.tests")).expect("cases");
        std::fs::write(dir.join("a.tests/01.yaml"), "description: x").expect("write");
        let got = policies(&[&dir]).expect("loads");
        let names: Vec<&str> = got.iter().map(|(_, p)| p.name()).collect();
        assert_eq!(names, ["a", "b"]);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn an_empty_directory_and_a_missing_path_are_errors() {
        let dir = scratch("empty");
        let e = policy_files(&[&dir]).expect_err("empty");
        assert!(matches!(e, LoadError::NoPolicies { .. }), "{e}");
        assert!(e.to_string().contains("*.yml"), "{e}");
        let e = policy_files(&[dir.join("nope.yaml")]).expect_err("missing");
        assert_eq!(e.io_kind(), Some(std::io::ErrorKind::NotFound));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn every_problem_of_every_file_and_duplicate_names_are_reported() {
        let dir = scratch("problems");
        std::fs::write(dir.join("a.yaml"), POLICY.replace("NAME", "same")).expect("write");
        std::fs::write(dir.join("b.yaml"), POLICY.replace("NAME", "same")).expect("write");
        std::fs::write(dir.join("c.yaml"), "name: [unclosed\n").expect("write");
        std::fs::write(dir.join("d.yaml"), b"name: \xff\n").expect("write");
        let problems = policies(&[&dir]).expect_err("problems");
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(text.iter().any(|t| t.contains("already used")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("c.yaml")), "{text:?}");
        let bad = problems
            .iter()
            .find(|d| d.file.ends_with("d.yaml"))
            .expect("d");
        assert_eq!((bad.line, bad.column), (1, 7), "{bad}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_private_key_in_a_public_set_is_refused_without_quoting_it() {
        let dir = scratch("keys");
        let path = dir.join("public.jwks");
        let secret = "c2VjcmV0LWtleS1tYXRlcmlhbC1ub3QtdG8tbGVhaw";
        std::fs::write(
            &path,
            format!(r#"{{"keys":[{{"kty":"OKP","crv":"X25519","kid":"k","x":"{secret}","d":"{secret}"}}]}}"#),
        )
        .expect("write");
        let e = public_keys(&path).expect_err("private");
        let text = e.to_string();
        assert!(text.contains("private key"), "{text}");
        assert!(!text.contains(secret), "{text}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
