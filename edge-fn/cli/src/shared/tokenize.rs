//! The `tokenize` rules of loaded policies and whether their `normalize` steps agree: `check`
//! warns when two rules of one domain normalize differently, `token` takes the normalization
//! from them.

use std::path::PathBuf;

use pii_core::{spec::ActionKind, token::Normalize};

use super::files::shown;

/// Every `tokenize` rule of `policies`: its domain, where it is (`file rule N`) and its
/// `normalize` steps, in file and rule order.
pub(crate) fn tokenize_rules(
    policies: &[(PathBuf, pii_core::Policy)],
) -> Vec<(String, String, Vec<Normalize>)> {
    let mut found = Vec::new();
    for (file, policy) in policies {
        for (i, rule) in policy.spec().rules.iter().enumerate() {
            if let (ActionKind::Tokenize, Some(domain)) = (rule.action, rule.domain.as_deref()) {
                found.push((
                    domain.to_owned(),
                    format!("{} rule {}", shown(file), i + 1),
                    rule.normalize.clone().unwrap_or_default(),
                ));
            }
        }
    }
    found
}

/// The first two rules of one domain whose `normalize` steps differ, as a message: their
/// tokens never join.
pub(crate) fn normalization_conflict(
    rules: &[(String, String, Vec<Normalize>)],
    domain: &str,
) -> Option<String> {
    let mut of_domain = rules.iter().filter(|(d, _, _)| d == domain);
    let (_, first_at, first) = of_domain.next()?;
    let (_, other_at, steps) = of_domain.find(|(_, _, s)| s != first)?;
    let names = |s: &[Normalize]| s.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(",");
    Some(format!(
        "the rules that tokenize in `{domain}` normalize differently ({first_at} has [{}], {other_at} has [{}]): the same value gets different tokens under them, so they never join",
        names(first),
        names(steps)
    ))
}
