//! Payment card numbers (PANs): ISO/IEC 7812-1 Luhn check digit, and an issuer identification
//! number in a range a card scheme publishes, with a length that scheme issues: Visa (4;
//! 13, 16, 19), Mastercard (51-55 and 2221-2720; 16), American Express (34, 37; 15), Discover
//! (6011, 644-649, 65; 16-19), Diners Club (300-305, 36, 38-39; 14-19), JCB (3528-3589 and
//! the rest of 35, which card generators and BIN tables assign to JCB, and the older ranges
//! 3088-3094, 3096-3102, 3112-3120, 3158-3159, 3337-3349; 16-19; and the 15-digit JCB numbers
//! of 1800 and 2131), Mir (2200-2204; 16-19), UnionPay (62, 81; 16-19), Maestro (50, 56-58,
//! 6; 12-19). Digits may be grouped by single
//! spaces or dashes. A number in a field named like an order, invoice or tracking reference is
//! not a card unless the name also says card: about one random number in ten passes Luhn, and
//! references are often issued in the same lengths.

use super::context::Field;

/// Whether `value` is a payment card number.
///
/// ```
/// use edge_fn::scan::detect::{card::is_card, context::Field};
/// let any = Field::new("pan", &[]);
/// assert!(is_card("4111 1111 1111 1111", &any));
/// assert!(is_card("5555-5555-5555-4444", &any));
/// assert!(!is_card("4111 1111 1111 1112", &any)); // Luhn
/// assert!(!is_card("9111111111111115", &any));   // no issuer starts with 9
/// assert!(!is_card("4111111111111111", &Field::new("orderId", &[])));
/// assert!(is_card("213100000000001", &Field::new("value", &[]))); // JCB, 15 digits
/// ```
pub fn is_card(value: &str, field: &Field) -> bool {
    let b = value.as_bytes();
    if b.len() < 12 || b.len() > 23 || !b[0].is_ascii_digit() {
        return false;
    }
    let mut digits = [0u8; 19];
    let mut n = 0;
    let mut last_sep = true;
    for &c in b {
        match c {
            b'0'..=b'9' => {
                if n == 19 {
                    return false;
                }
                digits[n] = c - b'0';
                n += 1;
                last_sep = false;
            }
            b' ' | b'-' if !last_sep => last_sep = true,
            _ => return false,
        }
    }
    let digits = &digits[..n];
    if last_sep || !(12..=19).contains(&n) || !luhn(digits) || !issued(digits) {
        return false;
    }
    // A reference (order, invoice, tracking number, an `id`) is no card unless its name says
    // card: about one random number in ten passes Luhn.
    field.is_card() || !(field.is_reference() || field.has_token(&["id"]))
}

/// The Luhn check (ISO/IEC 7812-1 Annex B) over decimal digits.
///
/// ```
/// assert!(edge_fn::scan::detect::card::luhn(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 3]));
/// ```
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let d = u32::from(d);
        sum += if i % 2 == 1 {
            let x = d * 2;
            if x > 9 {
                x - 9
            } else {
                x
            }
        } else {
            d
        };
    }
    sum % 10 == 0
}

/// Whether the number starts with an issuer range issued with this length.
fn issued(d: &[u8]) -> bool {
    let n = d.len();
    let prefix = |k: usize| d[..k].iter().fold(0u32, |a, &x| a * 10 + u32::from(x));
    let p2 = prefix(2);
    let p3 = prefix(3);
    let p4 = prefix(4);
    match d[0] {
        1 if p4 == 1800 => n == 15,
        2 if p4 == 2131 => n == 15,
        2 if (2200..=2204).contains(&p4) => (16..=19).contains(&n),
        8 if p2 == 81 => (16..=19).contains(&n),
        3 if p2 == 35
            || (3088..=3094).contains(&p4)
            || (3096..=3102).contains(&p4)
            || (3112..=3120).contains(&p4)
            || (3158..=3159).contains(&p4)
            || (3337..=3349).contains(&p4) =>
        {
            (16..=19).contains(&n)
        }
        4 => matches!(n, 13 | 16 | 19),
        5 if (51..=55).contains(&p2) => n == 16,
        5 if p2 == 50 || (56..=58).contains(&p2) => (12..=19).contains(&n),
        2 if (2221..=2720).contains(&p4) => n == 16,
        3 if p2 == 34 || p2 == 37 => n == 15,
        3 if (300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39 => {
            (14..=19).contains(&n)
        }
        6 if p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 => (16..=19).contains(&n),
        6 if p2 == 62 => (16..=19).contains(&n),
        6 => (12..=19).contains(&n),
        _ => false,
    }
}
