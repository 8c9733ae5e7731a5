//! Checks of a value that a context makes worth checking: dates of birth and person names.

/// Whether `value` reads as a birth date: `YYYY-MM-DD` (optionally with a time of midnight),
/// `DD.MM.YYYY`, `DD/MM/YYYY` or `DD-MM-YYYY`, a real calendar date, year 1900 to 2025.
///
/// ```
/// use edge_fn::scan::detect::context::is_birth_date;
/// assert!(is_birth_date("1990-04-01"));
/// assert!(is_birth_date("01.04.1990"));
/// assert!(!is_birth_date("1990-02-30"));
/// assert!(!is_birth_date("2090-04-01"));
/// ```
pub fn is_birth_date(value: &str) -> bool {
    let v = value
        .strip_suffix("T00:00:00Z")
        .or_else(|| value.strip_suffix("T00:00:00.000Z"))
        .or_else(|| value.strip_suffix("T00:00:00"))
        .unwrap_or(value);
    let b = v.as_bytes();
    if b.len() != 10 {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = v.get(r)?;
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    let (y, m, d) = if b[4] == b'-' && b[7] == b'-' {
        (num(0..4), num(5..7), num(8..10))
    } else if b[2] == b[5] && matches!(b[2], b'.' | b'/' | b'-') {
        (num(6..10), num(3..5), num(0..2))
    } else {
        return false;
    };
    let (Some(y), Some(m), Some(d)) = (y, m, d) else {
        return false;
    };
    (1900..=2025).contains(&y) && valid_date(y, m, d)
}

/// Whether `y-m-d` is a day of the Gregorian calendar.
pub fn valid_date(y: u32, m: u32, d: u32) -> bool {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// Whether `value` has the shape of a person's name: one to five words of letters (any
/// script), with `'`, `-`, `.` inside words; 2 to 80 characters; not all upper-case ASCII
/// longer than 3 letters per word only (codes like `ADMIN`).
///
/// ```
/// use edge_fn::scan::detect::context::is_name;
/// assert!(is_name("José María García-López"));
/// assert!(is_name("Zoë O'Brien"));
/// assert!(!is_name("order 12345"));
/// assert!(!is_name("true"));
/// ```
pub fn is_name(value: &str) -> bool {
    let n = value.chars().count();
    if !(2..=80).contains(&n) {
        return false;
    }
    let words: Vec<&str> = value.split_whitespace().collect();
    if words.is_empty() || words.len() > 5 {
        return false;
    }
    if matches!(
        value,
        "true" | "false" | "null" | "none" | "n/a" | "unknown"
    ) {
        return false;
    }
    words.iter().all(|w| {
        w.chars().next().is_some_and(char::is_alphabetic)
            && w.chars()
                .all(|c| c.is_alphabetic() || matches!(c, '\'' | '’' | '-' | '.'))
    })
}
