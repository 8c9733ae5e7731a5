//! Phone numbers, validated with libphonenumber's metadata through its Rust port (the
//! `phonenumber` crate): a number is reported when the metadata says it is a valid number of
//! its country (number type known), not when it merely looks like digits.
//!
//! - International form (`+49 30 1234567`, `0049 30 1234567`): anywhere.
//! - National form (`030 1234567`, `06 12 34 56 78`): only in a field whose name says phone
//!   (`phone`, `telefon`, `téléphone`, `móvil`, `cellulare`, `handy`, ...; see
//!   [`Field::is_phone`]), and valid in one of the EU/EEA countries (or CH, GB). Without the
//!   context word every 8-to-11-digit number would be a phone number somewhere.

use phonenumber::country::Id;

use super::context::Field;

/// The regions whose national formats are tried, in this order.
const REGIONS: &[Id] = &[
    Id::DE, Id::FR, Id::IT, Id::ES, Id::NL, Id::PL, Id::BE, Id::AT, Id::SE, Id::PT, Id::CZ,
    Id::GR, Id::HU, Id::RO, Id::DK, Id::FI, Id::IE, Id::SK, Id::BG, Id::HR, Id::LT, Id::SI,
    Id::LV, Id::EE, Id::CY, Id::LU, Id::MT, Id::NO, Id::IS, Id::LI, Id::CH, Id::GB,
];

/// Whether `value` is a phone number (see the module documentation for when national forms
/// count).
///
/// ```
/// use edge_fn::scan::detect::{phone::is_phone, context::Field};
/// let none = Field::new("x", &[]);
/// assert!(is_phone("+49 30 1234567", &none));
/// assert!(is_phone("0033 6 12 34 56 78", &none));
/// assert!(!is_phone("030 1234567", &none));
/// assert!(is_phone("030 1234567", &Field::new("telefon", &[])));
/// assert!(!is_phone("+49 1", &none));
/// ```
pub fn is_phone(value: &str, field: &Field) -> bool {
    let b = value.as_bytes();
    if b.len() < 7 || b.len() > 24 {
        return false;
    }
    let mut digits = 0;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'0'..=b'9' => digits += 1,
            b'+' if i == 0 => {}
            b' ' | b'-' | b'(' | b')' | b'/' | b'.' => {}
            _ => return false,
        }
    }
    if !(7..=15).contains(&digits) {
        return false;
    }
    if b[0] == b'+' {
        return valid(None, value);
    }
    if value.starts_with("00") {
        return valid(None, &format!("+{}", &value[2..]));
    }
    if !field.is_phone() {
        return false;
    }
    REGIONS.iter().any(|&region| valid(Some(region), value))
}

fn valid(region: Option<Id>, text: &str) -> bool {
    phonenumber::parse(region, text).is_ok_and(|n| phonenumber::is_valid(&n))
}
