//! IBANs: ISO 13616 structure and ISO 7064 MOD 97-10 check digits, and each country's length
//! and BBAN format from the SWIFT IBAN registry, by the `iban_validate` crate (which tracks
//! that registry). Electronic (`DE89370400440532013000`) and paper format (groups of four
//! separated by single spaces) are both accepted.

/// Whether `value` is a valid IBAN.
///
/// ```
/// use edge_fn::scan::detect::iban::is_iban;
/// assert!(is_iban("DE89370400440532013000"));
/// assert!(is_iban("FR14 2004 1010 0505 0001 3M02 606"));
/// assert!(!is_iban("DE89370400440532013001")); // check digits
/// assert!(!is_iban("DE8937040044053201300"));  // German length is 22
/// ```
pub fn is_iban(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() >= 15
        && b.len() <= 42
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_uppercase()
        && b[2].is_ascii_digit()
        && b[3].is_ascii_digit()
        && value.parse::<iban::Iban>().is_ok()
}
