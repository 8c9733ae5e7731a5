//! Masking found values for display. A masked example keeps at most three characters of the
//! value (for e-mail addresses the first character and the top-level domain), so it shows the
//! shape of what was found without disclosing it; values of six characters or fewer are masked
//! whole. Masks never exceed 24 characters, so they do not disclose long values' lengths either.

use super::Detector;

/// The masked form of `value` found by `detector`.
///
/// ```
/// use edge_fn::scan::{mask::mask, Detector};
/// assert_eq!(mask("erika.mustermann@example.de", Detector::Email), "e***************@*******.de");
/// assert_eq!(mask("+49 30 1234567", Detector::Phone), "+***********67");
/// assert_eq!(mask("Erika", Detector::Name), "*****");
/// ```
pub fn mask(value: &str, detector: Detector) -> String {
    if detector == Detector::Email
        || (detector == Detector::JwtClaim && super::detect::email::is_email(value))
    {
        if let Some((local, domain)) = value.rsplit_once('@') {
            let tld = domain.rsplit_once('.').map_or("", |(_, t)| t);
            let masked_domain = if tld.is_empty() || tld.chars().count() > 6 {
                stars(domain.chars().count())
            } else {
                format!(
                    "{}.{tld}",
                    stars(domain.chars().count() - tld.chars().count() - 1)
                )
            };
            let first: String = local.chars().take(1).collect();
            return format!(
                "{first}{}@{masked_domain}",
                stars(local.chars().count().saturating_sub(1))
            );
        }
    }
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    if n <= 6 {
        return stars(n);
    }
    let first: String = chars[..1].iter().collect();
    let last: String = chars[n - 2..].iter().collect();
    format!("{first}{}{last}", stars(n - 3))
}

fn stars(n: usize) -> String {
    "*".repeat(n.min(24))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_at_most_three_characters() {
        for value in [
            "DE89370400440532013000",
            "4111111111111111",
            "1990-04-01",
            "Ab",
        ] {
            let masked = mask(value, Detector::Iban);
            let kept = masked.chars().filter(|&c| c != '*').count();
            assert!(kept <= 3, "{masked}");
        }
        assert_eq!(mask("x@localhost", Detector::Email), "x@*********");
        let long = "a".repeat(500);
        assert!(mask(&long, Detector::Name).len() <= 27);
    }
}
