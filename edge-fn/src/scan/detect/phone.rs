//! Phone numbers, validated against libphonenumber's metadata (Google's per-country number
//! plans, shipped by the `phonenumber` crate, metadata 9.0.33): a number is reported when its
//! national significant number has a length the plan allows and matches, whole, the pattern
//! of one of its number types (fixed line, mobile, toll free, premium rate, shared cost, VoIP,
//! personal, UAN, pager, voicemail), as libphonenumber's `isValidNumber` decides.
//!
//! - International form (`+49 30 1234567`, `0049 30 1234567`, `+49 (0)30 1234567`): anywhere.
//! - National form (`030 1234567`, `06 12 34 56 78`): only in a field whose name says phone
//!   (`phone`, `telefon`, `téléphone`, `móvil`, `cellulare`, `handy`, ...; see
//!   [`Field::is_phone`]), valid in one of the EU/EEA countries, CH or GB, with or without
//!   the country's trunk prefix. Without the context word every 8-to-11-digit number would be
//!   a phone number somewhere.
//!
//! Why the metadata and not the crate's `parse`/`is_valid`: they compile the patterns into a
//! 100-entry LRU cache shared by the whole plan (thousands of patterns), so a national number
//! tried against the EU plans recompiles regexes on every call (165 ms per value measured,
//! 130 µs for one international number); and `is_valid` accepts a pattern that matches only
//! the beginning of a number (`+1 7846832`). Here each country's patterns are compiled once,
//! anchored, on first use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use phonenumber::metadata::{Descriptor, Metadata, DATABASE};
use regex::Regex;

use super::context::{Field, PhoneContext};

/// The regions whose national formats are tried, in this order.
const REGIONS: &[&str] = &[
    "DE", "FR", "IT", "ES", "NL", "PL", "BE", "AT", "SE", "PT", "CZ", "GR", "HU", "RO", "DK", "FI",
    "IE", "SK", "BG", "HR", "LT", "SI", "LV", "EE", "CY", "LU", "MT", "NO", "IS", "LI", "CH", "GB",
];

/// Whether `value` is a phone number (see the module documentation for when national forms
/// count).
///
/// ```
/// use edge_fn::scan::detect::{phone::is_phone, context::Field};
/// let none = Field::new("x", &[]);
/// assert!(is_phone("+49 30 1234567", &none));
/// assert!(is_phone("0033 6 12 34 56 78", &none));
/// assert!(is_phone("+49 (0)30 1234567", &none));
/// assert!(!is_phone("030 1234567", &none));
/// assert!(is_phone("030 1234567", &Field::new("telefon", &[])));
/// assert!(is_phone("06 12 34 56 78", &Field::new("portable", &[])));
/// assert!(is_phone("06 12 34 56 78", &Field::new("ph", &[])));
/// assert!(is_phone("06 12 34 56 78", &Field::new("numero", &[])));
/// assert!(is_phone("0612345678", &Field::new("numero", &[])));
/// assert!(!is_phone("612345678", &Field::new("numero", &[])));
/// assert!(is_phone("+358 017875383", &none));
/// assert!(!is_phone("+49 1", &none));
/// assert!(!is_phone("+1 7846832", &none));
/// assert!(is_phone("(+358) 40 1234567", &none));
/// assert!(is_phone("+49 30 1234567 ext. 12", &none));
/// ```
pub fn is_phone(value: &str, field: &Field) -> bool {
    // An extension (`x123`, `ext. 123`) is not part of the number.
    let value = strip_extension(value);
    let b = value.as_bytes();
    if b.len() < 7 || b.len() > 28 {
        return false;
    }
    let mut digits = String::with_capacity(16);
    let mut plus = false;
    let mut trunk_zero = false;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'0'..=b'9' => digits.push(char::from(c)),
            b'+' if digits.is_empty() && !plus => plus = true,
            b'(' if value[i..].starts_with("(0)") && plus && !digits.is_empty() => {
                // `+49 (0)30 ...`: the trunk prefix written in parentheses, not dialled.
                trunk_zero = true;
            }
            b' ' | b'-' | b'(' | b')' | b'/' | b'.' => {}
            _ => return false,
        }
    }
    if trunk_zero {
        // Drop the `0` of `(0)`: it is the first digit after the country code's digits.
        if let Some(pos) = value.find("(0)") {
            let before = value[..pos].bytes().filter(u8::is_ascii_digit).count();
            digits.remove(before);
        }
    }
    if !(7..=15).contains(&digits.len()) {
        return false;
    }
    if plus {
        return international(&digits, !trunk_zero);
    }
    let context = field.phone_context();
    if let Some(rest) = digits.strip_prefix("00") {
        // `0049 30 1234567`; a bare `00...` digit run only in a phone field (one random number
        // in a hundred starts with `00`).
        let bare = digits.len() == value.len();
        return (!bare || context.is_some()) && international(rest, true);
    }
    match context {
        Some(PhoneContext::Phone) => {}
        // A field named only "number": the value must be written as a phone number is, in
        // groups (`06 12 34 56 78`, `516 849 666`), or start with a trunk `0` (`0432297442`).
        Some(PhoneContext::Number)
            if written_as_phone(value) && super::national::named_scheme(field).is_none() => {}
        _ => return false,
    }
    // In a phone field, a number may start with its country code without `+` or `00`
    // (`(351) 912 455 629`), as libphonenumber reads it when the rest is valid.
    if !digits.starts_with('0') && international(&digits, false) {
        return true;
    }
    REGIONS.iter().any(|region| {
        rules(region).is_some_and(|r| {
            let stripped = r.prefix.as_deref().and_then(|p| digits.strip_prefix(p));
            stripped.is_some_and(|nsn| r.valid(nsn)) || r.valid(&digits)
        })
    })
}

/// Digit groups separated by spaces, dashes, slashes, dots or parentheses, or a digit run
/// starting with a trunk `0`.
fn written_as_phone(value: &str) -> bool {
    let groups = value
        .split([' ', '-', '/', '.', '(', ')'])
        .filter(|g| !g.is_empty())
        .count();
    groups >= 2 || value.starts_with('0')
}

/// Country code and national number (digits only, `+` removed): valid in a region of that code;
/// with `trunk`, also after a trunk prefix written after the country code (`+358 017875383`),
/// which libphonenumber strips when the rest is valid.
fn international(digits: &str, trunk: bool) -> bool {
    // Country codes are prefix-free: the first length that is a code is the code.
    for len in 1..=3 {
        let Some(code) = digits.get(..len).and_then(|c| c.parse::<u16>().ok()) else {
            return false;
        };
        let Some(regions) = DATABASE.region(&code) else {
            continue;
        };
        let nsn = &digits[len..];
        return regions.iter().any(|region| {
            rules(region).is_some_and(|r| {
                r.valid(nsn)
                    || trunk
                        && r.prefix
                            .as_deref()
                            .and_then(|p| nsn.strip_prefix(p))
                            .is_some_and(|rest| r.valid(rest))
            })
        });
    }
    false
}

/// One region's number plan, compiled.
struct Rules {
    /// The trunk prefix dialled before a national number (`0`), if any.
    prefix: Option<String>,
    /// Each number type: its anchored pattern and its allowed lengths.
    types: Vec<(Regex, Vec<u16>)>,
}

impl Rules {
    fn valid(&self, nsn: &str) -> bool {
        let len = nsn.len() as u16;
        self.types
            .iter()
            .any(|(re, lengths)| lengths.contains(&len) && re.is_match(nsn))
    }

    fn compile(meta: &Metadata) -> Rules {
        let d = meta.descriptors();
        let general: Vec<u16> = d.general().possible_length().to_vec();
        let kinds: [Option<&Descriptor>; 10] = [
            d.fixed_line(),
            d.mobile(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.uan(),
            d.pager(),
            d.voicemail(),
        ];
        let types = kinds
            .into_iter()
            .flatten()
            .filter_map(|desc| {
                // The metadata keeps the XML's layout: whitespace is not part of the pattern.
                let pattern: String = desc
                    .national_number()
                    .as_str()
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                // "NA" marks a type the plan does not have.
                if pattern.is_empty()
                    || pattern == "NA"
                    || desc.possible_length().first() == Some(&0)
                {
                    return None;
                }
                let re = Regex::new(&format!("^(?:{pattern})$")).ok()?;
                let lengths = if desc.possible_length().is_empty() {
                    general.clone()
                } else {
                    desc.possible_length().to_vec()
                };
                Some((re, lengths))
            })
            .collect();
        Rules {
            prefix: meta.national_prefix().map(str::to_string),
            types,
        }
    }
}

/// A region's compiled plan, compiled on first use and kept for the process.
fn rules(region: &str) -> Option<Arc<Rules>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Rules>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(r) = map.get(region) {
        return Some(Arc::clone(r));
    }
    let meta = DATABASE.by_id(region)?;
    let compiled = Arc::new(Rules::compile(meta));
    map.insert(region.to_string(), Arc::clone(&compiled));
    Some(compiled)
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
