//! Masking found values for display. A masked example keeps at most three characters of the
//! value (for e-mail addresses the first character and the top-level domain), so it shows the
//! shape of what was found without disclosing it; values of six characters or fewer are masked
//! whole. The stars are a fixed run ([`HIDDEN`]), not one per character: a mask does not
//! disclose a value's length, nor the lengths of an e-mail address's local part and domain.

use super::Detector;

/// What stands for the hidden characters, whatever their number.
pub const HIDDEN: &str = "****";

/// The masked form of `value` found by `detector`.
///
/// ```
/// use edge_fn::scan::{mask::mask, Detector};
/// assert_eq!(mask("erika.mustermann@example.de", Detector::Email), "e****@****.de");
/// assert_eq!(mask("e@x.de", Detector::Email), "e****@****.de");
/// assert_eq!(mask("+49 30 1234567", Detector::Phone), "+****67");
/// assert_eq!(mask("Erika", Detector::Name), "****");
/// ```
pub fn mask(value: &str, detector: Detector) -> String {
    if detector == Detector::Email
        || (detector == Detector::JwtClaim && super::detect::email::is_email(value))
    {
        if let Some((local, domain)) = value.rsplit_once('@') {
            let tld = domain.rsplit_once('.').map_or("", |(_, t)| t);
            let masked_domain = if tld.is_empty() || tld.chars().count() > 6 {
                HIDDEN.to_string()
            } else {
                format!("{HIDDEN}.{tld}")
            };
            let first: String = local.chars().take(1).collect();
            return format!("{first}{HIDDEN}@{masked_domain}");
        }
    }
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    if n <= 6 {
        return HIDDEN.to_string();
    }
    let first: String = chars[..1].iter().collect();
    let last: String = chars[n - 2..].iter().collect();
    format!("{first}{HIDDEN}{last}")
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
        assert_eq!(mask("x@localhost", Detector::Email), "x****@****");
        let long = "a".repeat(500);
        assert_eq!(mask(&long, Detector::Name), "a****aa");
    }

    #[test]
    fn masks_do_not_reveal_lengths() {
        for detector in [Detector::Email, Detector::Name, Detector::Phone] {
            let short = mask("ab@cd.de", detector);
            let long = mask("abcdefghijklmnop@cdefghijklmnop.de", detector);
            assert_eq!(
                short.chars().count(),
                long.chars().count(),
                "{short} {long}"
            );
        }
        assert_eq!(
            mask("1234567", Detector::Card).len(),
            mask("1234567890123456789", Detector::Card).len()
        );
    }
}
