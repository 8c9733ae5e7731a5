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
    Id::DE,
    Id::FR,
    Id::IT,
    Id::ES,
    Id::NL,
    Id::PL,
    Id::BE,
    Id::AT,
    Id::SE,
    Id::PT,
    Id::CZ,
    Id::GR,
    Id::HU,
    Id::RO,
    Id::DK,
    Id::FI,
    Id::IE,
    Id::SK,
    Id::BG,
    Id::HR,
    Id::LT,
    Id::SI,
    Id::LV,
    Id::EE,
    Id::CY,
    Id::LU,
    Id::MT,
    Id::NO,
    Id::IS,
    Id::LI,
    Id::CH,
    Id::GB,
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
/// assert!(is_phone("(+358) 40 1234567", &none));
/// assert!(is_phone("+49 30 1234567 ext. 12", &none));
/// ```
pub fn is_phone(value: &str, field: &Field) -> bool {
    // An extension (`x123`, `ext. 123`) is not part of the number.
    let value = strip_extension(value);
    // `(+358) 40 1234567`: the country code in parentheses.
    let unwrapped;
    let value = match value.strip_prefix("(+").and_then(|r| r.split_once(')')) {
        Some((code, rest)) if code.len() <= 3 && code.bytes().all(|b| b.is_ascii_digit()) => {
            unwrapped = format!("+{code}{rest}");
            unwrapped.as_str()
        }
        _ => value,
    };
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
    if let Some(international) = value.strip_prefix("00") {
        return valid(None, &format!("+{international}"));
    }
    if !field.is_phone() {
        return false;
    }
    REGIONS.iter().any(|&region| valid(Some(region), value))
}

/// `value` without a trailing extension: `x`, `ext`, `ext.` or `#` and up to 6 digits.
fn strip_extension(value: &str) -> &str {
    let digits = value.trim_end_matches(|c: char| c.is_ascii_digit());
    let n = value.len() - digits.len();
    if n == 0 || n > 6 {
        return value;
    }
    let head = digits.trim_end();
    for mark in ["ext.", "ext", "x", "#"] {
        if let Some(rest) = head.strip_suffix(mark) {
            if rest.ends_with(|c: char| c.is_ascii_digit() || c == ' ') {
                return rest.trim_end();
            }
        }
    }
    value
}

fn valid(region: Option<Id>, text: &str) -> bool {
    phonenumber::parse(region, text).is_ok_and(|n| phonenumber::is_valid(&n) && full_match(&n))
}

/// libphonenumber requires a number type's pattern to match the whole national number; the
/// port's `is_valid` (0.3.10) accepts a match of its beginning (`+1 7846832` passes), so the
/// whole match is checked here against the same metadata.
fn full_match(number: &phonenumber::PhoneNumber) -> bool {
    let national = number.national().to_string();
    let code = number.country().code();
    let Some(regions) = phonenumber::metadata::DATABASE.by_code(&code) else {
        return false;
    };
    regions.iter().any(|meta| {
        let d = meta.descriptors();
        [
            d.fixed_line(),
            d.mobile(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.uan(),
            d.pager(),
        ]
        .into_iter()
        .flatten()
        .any(|desc| {
            (desc.possible_length().is_empty()
                || desc.possible_length().contains(&(national.len() as u16)))
                && desc
                    .national_number()
                    .find(&national)
                    .is_some_and(|m| m.start() == 0 && m.end() == national.len())
        })
    })
}
