//! Errors, by phase: loading a policy ([`PolicyError`]), assembling an engine
//! ([`ConfigError`]), keys ([`KeyError`](crate::keys::KeyError)), sealing and opening
//! ([`SealError`](crate::envelope::SealError), [`OpenError`](crate::envelope::OpenError)),
//! and [`Error`], which holds any of them. Requests are never errors: a request the engine
//! will not forward is a [`Rejection`](crate::Rejection).
//!
//! No message ever contains a request value or key material.

use std::fmt;

use crate::spec::SpecProblem;

/// One problem in a policy file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// File (or source) name as given to the loader.
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column (in characters), 0 when unknown.
    pub column: usize,
    /// What is wrong and how to fix it.
    pub message: String,
    /// The text of the offending line (policy text, never request data).
    pub line_text: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return write!(f, "{}: {}", self.file, self.message);
        }
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )?;
        if !self.line_text.is_empty() {
            let width = self.line.to_string().len();
            write!(
                f,
                "\n{:width$} |\n{} | {}\n{:width$} | {}^",
                "",
                self.line,
                self.line_text,
                "",
                " ".repeat(self.column.saturating_sub(1)),
            )?;
        }
        Ok(())
    }
}

/// A policy that did not load: every problem found, each with file, line and column.
///
/// ```
/// # #[cfg(feature = "yaml")] {
/// let err = pii_core::Policy::from_yaml("bad.yaml", "apiVersion: pii-edge/v1\nname: x\nmatch: {}\nrules:\n  - select: { json: \"$.a[\" }\n    action: hash\n").unwrap_err();
/// let d = &err.diagnostics()[0];
/// assert_eq!((d.line, d.file.as_str()), (5, "bad.yaml"));
/// assert!(err.to_string().starts_with("bad.yaml:5:"));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    diagnostics: Vec<Diagnostic>,
}

impl PolicyError {
    pub(crate) fn new(diagnostics: Vec<Diagnostic>) -> Self {
        PolicyError { diagnostics }
    }

    pub(crate) fn single(
        file: &str,
        line: usize,
        column: usize,
        message: String,
        line_text: &str,
    ) -> Self {
        PolicyError::new(vec![Diagnostic {
            file: file.to_string(),
            line,
            column,
            message,
            line_text: line_text.to_string(),
        }])
    }

    pub(crate) fn unlocated(file: &str, problems: Vec<SpecProblem>) -> Self {
        PolicyError::new(
            problems
                .into_iter()
                .map(|p| Diagnostic {
                    file: file.to_string(),
                    line: 0,
                    column: 0,
                    message: format!("{}: {}", p.path, p.message),
                    line_text: String::new(),
                })
                .collect(),
        )
    }

    /// Every problem found, in document order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}

/// Policies and keys that do not fit together, found when an [`Engine`](crate::Engine) is built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A policy encrypts to a zone for which the public keyring has no key.
    NoKeysForZone {
        /// The policy.
        policy: String,
        /// The zone it seals to.
        zone: String,
    },
    /// A policy tokenizes in a domain for which there is no token key.
    NoTokenKey {
        /// The policy.
        policy: String,
        /// The token domain.
        domain: String,
    },
    /// Two policies have the same name (the name is bound into ciphertext).
    DuplicatePolicy {
        /// The name.
        name: String,
    },
    /// A policy encrypts but has no `zone`, and the engine has no residency configuration.
    NoZone {
        /// The policy.
        policy: String,
    },
    /// A region of a residency zone has no public key, so it could not open what is sealed to
    /// the zone after a failover.
    NoKeysForRegion {
        /// The zone.
        zone: String,
        /// The region without a key.
        region: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NoKeysForZone { policy, zone } => write!(
                f,
                "policy `{policy}` encrypts to zone `{zone}`, but the public keyring has no key for it; add a key pair per region of the zone (pii-edge keygen --zone {zone} --region REGION --out keys/, one --region per region, then use keys/public.jwks) or fix the zone name"
            ),
            ConfigError::NoTokenKey { policy, domain } => write!(
                f,
                "policy `{policy}` tokenizes in domain `{domain}`, but no token key has that domain; add one to the token key set"
            ),
            ConfigError::NoZone { policy } => write!(
                f,
                "policy `{policy}` encrypts but has no `zone`; add `zone: <name>` or give the engine a residency configuration"
            ),
            ConfigError::NoKeysForRegion { zone, region } => write!(
                f,
                "region `{region}` of zone `{zone}` has no public key; add it (pii-edge keygen --zone {zone} --region {region}) or remove the region from the zone"
            ),
            ConfigError::DuplicatePolicy { name } => write!(
                f,
                "two policies are named `{name}`; policy names must be unique because they are bound into ciphertext"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Any error of this crate.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A policy did not load.
    Policy(PolicyError),
    /// Policies and keys do not fit together.
    Config(ConfigError),
    /// A key or key set is unusable.
    Key(crate::keys::KeyError),
    /// A value could not be sealed.
    Seal(crate::envelope::SealError),
    /// An envelope did not open.
    #[cfg(feature = "open")]
    Open(crate::envelope::OpenError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Policy(e) => e.fmt(f),
            Error::Config(e) => e.fmt(f),
            Error::Key(e) => e.fmt(f),
            Error::Seal(e) => e.fmt(f),
            #[cfg(feature = "open")]
            Error::Open(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

impl From<PolicyError> for Error {
    fn from(e: PolicyError) -> Self {
        Error::Policy(e)
    }
}
impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}
impl From<crate::keys::KeyError> for Error {
    fn from(e: crate::keys::KeyError) -> Self {
        Error::Key(e)
    }
}
impl From<crate::envelope::SealError> for Error {
    fn from(e: crate::envelope::SealError) -> Self {
        Error::Seal(e)
    }
}
#[cfg(feature = "open")]
impl From<crate::envelope::OpenError> for Error {
    fn from(e: crate::envelope::OpenError) -> Self {
        Error::Open(e)
    }
}
