//! When two names could be the same name to some origin: the one name equivalence the engine
//! applies to JSON member names, form and query names, header names and cookie names.
//!
//! Origin frameworks do not read names the way RFC 9535 or RFC 6265 compare them: Go's
//! `encoding/json` folds Unicode case (`paſſword` is `password`), ASP.NET binds JSON members
//! ignoring case, WSGI servers turn `X_National_ID` and `X-National-ID` into the same
//! `HTTP_X_NATIONAL_ID`, PHP turns `card.number` and `card number` into `card_number` and
//! drops an array suffix (`email[]`). Rather than a list of such quirks, two names are
//! *equivalent* when their [`skeleton`]s are equal. The skeleton of a name is, from the
//! standards:
//!
//! 1. the name cut at the first NUL or `[` (C strings; PHP, Rack and `qs` array suffixes);
//! 2. Unicode compatibility caseless matching (Unicode 3.13, D146: full case folding from
//!    `CaseFolding.txt` and NFKD, so `ＥＭＡＩＬ`, `ß`/`ss`, `K` (Kelvin)/`k` fold together);
//! 3. the UTS #39 confusable skeleton (`confusables.txt`: Cyrillic `е` is Latin `e`), case
//!    folded again, repeated until stable;
//! 4. without separators: `-`, `_`, `.` and white space.
//!
//! The skeleton is a tool for comparing, not a name to show or to bind: `email` has the
//! skeleton `ernail` (UTS #39 maps `m` to `rn`).
//!
//! The Unicode data comes from the `caseless`, `unicode-normalization` and `unicode-security`
//! crates, through a table `build.rs` generates: every code point whose image is ASCII (a few
//! thousand). A name whose skeleton is ASCII, which includes every name that is equivalent to
//! an ASCII name, gets exactly the skeleton the crates give (tested against them). Code points
//! outside the table fold with the standard library's lower-case mapping only, so two
//! non-ASCII names are equivalent by case but not always by compatibility or confusables.
//!
//! ```
//! use pii_core::hooks::names::{equivalent, skeleton};
//! assert!(equivalent("password", "pa\u{17F}\u{17F}word")); // long s, Go's encoding/json
//! assert!(equivalent("x-national-id", "X_National_ID")); // WSGI / CGI
//! assert!(equivalent("card_number", "card.number")); // PHP
//! assert!(equivalent("email", "email[]")); // PHP, Rack, qs
//! assert!(equivalent("email", "\u{435}mail")); // Cyrillic e
//! assert!(!equivalent("email", "e-mail2"));
//! assert_eq!(skeleton("Card Number"), skeleton("cardnumber"));
//! ```

mod table {
    include!(concat!(env!("OUT_DIR"), "/name_table.rs"));
}

/// The image packed as `offset << 4 | length` into the table's blob.
fn image(packed: u16) -> &'static str {
    let offset = usize::from(packed >> 4);
    let len = usize::from(packed & 0xF);
    table::BLOB.get(offset..offset + len).unwrap_or("")
}

/// The image of a non-ASCII code point when it is in the table (its fold is ASCII).
fn table_image(c: char) -> Option<&'static str> {
    let c = c as u32;
    let run = table::RUN_STARTS
        .partition_point(|&start| start <= c)
        .checked_sub(1)?;
    let offset = c - table::RUN_STARTS.get(run)?;
    if offset >= u32::from(*table::RUN_LENS.get(run)?) {
        return None;
    }
    let first = *table::RUN_FIRSTS.get(run)?;
    let step = u16::from(*table::RUN_STEPS.get(run)?);
    // `offset` < 255: the packed image moves 16 (one blob byte) per code point.
    Some(image(first + step * 16 * offset as u16))
}

/// The skeleton of `name`: equal skeletons mean that some origin may read the two names as the
/// same name. See the module documentation for what it folds.
///
/// ```
/// assert_eq!(pii_core::hooks::names::skeleton("E_Mail"), pii_core::hooks::names::skeleton("email"));
/// ```
pub fn skeleton(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    skeleton_into(name, &mut out);
    out
}

/// [`skeleton`] written into `out` (cleared first), to compare many names without allocating.
pub fn skeleton_into(name: &str, out: &mut String) {
    out.clear();
    let name = name.find(['\0', '[']).map_or(name, |end| &name[..end]);
    if name.is_ascii() {
        // The fast path: one table entry per byte.
        for b in name.bytes() {
            out.push_str(image(table::ASCII[usize::from(b & 0x7F)]));
        }
        return;
    }
    for c in name.chars() {
        if c.is_ascii() {
            out.push_str(image(table::ASCII[c as usize]));
            continue;
        }
        match table_image(c) {
            Some(img) => out.push_str(img),
            None => out.extend(c.to_lowercase()),
        }
    }
}

/// Whether the skeleton of `name` is `skeleton`, without building it when `name` is ASCII:
/// compared byte by byte, it stops at the first difference (the hot path compares every
/// member name of a body with a few selected names, and most differ at once).
///
/// ```
/// use pii_core::hooks::names::{skeleton, skeleton_is};
/// assert!(skeleton_is("Card.Number", &skeleton("card_number")));
/// assert!(!skeleton_is("cardnumbers", &skeleton("card_number")));
/// ```
pub fn skeleton_is(name: &str, skeleton: &str) -> bool {
    let want = skeleton.as_bytes();
    let mut at = 0;
    for b in name.bytes() {
        if b == 0 || b == b'[' {
            break;
        }
        if !b.is_ascii() {
            let mut full = String::new();
            skeleton_into(name, &mut full);
            return full == skeleton;
        }
        let img = image(table::ASCII[usize::from(b)]).as_bytes();
        if want.get(at..at + img.len()) != Some(img) {
            return false;
        }
        at += img.len();
    }
    at == want.len()
}

/// Whether two names are equivalent: their [`skeleton`]s are equal.
pub fn equivalent(a: &str, b: &str) -> bool {
    a == b || skeleton(a) == skeleton(b)
}

/// A name a rule selects, with its skeleton computed once when the policy is compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selected {
    /// The name as the policy writes it.
    pub(crate) name: String,
    /// Its skeleton.
    pub(crate) skeleton: String,
}

impl Selected {
    pub(crate) fn new(name: &str) -> Selected {
        Selected {
            name: name.to_string(),
            skeleton: skeleton(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use caseless::Caseless;
    use proptest::prelude::*;
    use unicode_normalization::UnicodeNormalization;

    /// The composite fold computed from the full data of the crates, on a whole string (not
    /// code point by code point as the table is built).
    fn reference(name: &str) -> String {
        let name = name.find(['\0', '[']).map_or(name, |end| &name[..end]);
        let mut cur = name.to_string();
        for _ in 0..8 {
            let compat: String = cur
                .chars()
                .nfd()
                .default_case_fold()
                .nfkd()
                .default_case_fold()
                .nfkd()
                .collect();
            let skel: String = unicode_security::confusable_detection::skeleton(&compat).collect();
            let next: String = skel.chars().default_case_fold().nfd().collect();
            if next == cur {
                break;
            }
            cur = next;
        }
        cur.chars()
            .filter(|&c| !(matches!(c, '-' | '_' | '.') || c.is_whitespace()))
            .collect()
    }

    #[test]
    fn the_cases_of_the_differential_reports() {
        for (a, b) in [
            ("password", "pa\u{17F}\u{17F}word"),
            ("address", "addre\u{17F}\u{17F}"),
            ("kind", "\u{212A}ind"),
            ("body", "Body"),
            ("filename", "FileName"),
            ("x-national-id", "x_national_id"),
            ("card_number", "card.number"),
            ("card_number", "card number"),
            ("card_number", "CARD-NUMBER"),
            ("email", "email[]"),
            ("email", "email[0]"),
            ("email", "email\0x"),
            ("email", " email "),
            ("email", "ＥＭＡＩＬ"),
            ("strasse", "STRAẞE"),
            ("email", "\u{435}mail"),
        ] {
            assert!(equivalent(a, b), "{a:?} {b:?}");
        }
        for (a, b) in [
            ("email", "emails"),
            ("email", "mail"),
            ("id", "ids"),
            ("a", "b"),
        ] {
            assert!(!equivalent(a, b), "{a:?} {b:?}");
        }
    }

    /// Every code point, alone: whenever the crates give an ASCII skeleton, the table gives
    /// the same; otherwise the table's skeleton is not ASCII either (so it never equals the
    /// skeleton of an ASCII name by accident).
    #[test]
    fn the_table_agrees_with_the_crates_on_every_code_point() {
        let mut ascii = 0;
        for c in ('\0'..=char::MAX).filter(|c| !matches!(*c as u32, 0xE000..=0xF8FF | 0xF0000..)) {
            let s = c.to_string();
            let want = reference(&s);
            let got = skeleton(&s);
            if want.is_ascii() {
                ascii += 1;
                assert_eq!(got, want, "U+{:04X}", c as u32);
            } else {
                assert!(!got.is_ascii(), "U+{:04X}", c as u32);
            }
        }
        assert!(ascii > 1000, "only {ascii} code points fold to ASCII");
    }

    #[test]
    fn skeletons_are_stable() {
        for name in [
            "email",
            "pa\u{17F}\u{17F}word",
            "Card.Number",
            "ǅ",
            "ﬃ",
            "①",
        ] {
            let s = skeleton(name);
            assert_eq!(skeleton(&s), s, "{name:?}");
        }
    }

    fn chars() -> impl Strategy<Value = char> {
        prop_oneof![
            prop::char::range('a', 'z'),
            prop::char::range('A', 'Z'),
            prop::sample::select(vec![
                '-',
                '_',
                '.',
                ' ',
                '\t',
                '0',
                '1',
                'I',
                'l',
                'm',
                '\u{17F}',
                '\u{212A}',
                '\u{130}',
                '\u{131}',
                'ß',
                'ẞ',
                'é',
                '\u{301}',
                '\u{435}',
                '\u{3A3}',
                'ς',
                'Ｅ',
                'ﬁ',
                '①',
                '\u{2126}',
                '\u{1D41E}',
                '\u{2160}',
                '\u{AD}',
                '\u{200B}',
            ]),
            any::<char>(),
        ]
    }

    proptest! {
        /// Whole strings: when the crates' skeleton is ASCII, the table's is the same.
        #[test]
        fn whole_names_agree_with_the_crates(name in prop::collection::vec(chars(), 0..12)) {
            let name: String = name.into_iter().collect();
            let want = reference(&name);
            if want.is_ascii() {
                prop_assert_eq!(skeleton(&name), want);
            }
        }

        /// The streaming comparison says what comparing the skeletons says.
        #[test]
        fn skeleton_is_compares_skeletons(
            a in prop::collection::vec(chars(), 0..8),
            b in "[a-zA-Z_.\\[-]{0,8}",
        ) {
            let a: String = a.into_iter().collect();
            prop_assert_eq!(skeleton_is(&a, &skeleton(&b)), skeleton(&a) == skeleton(&b));
            prop_assert_eq!(skeleton_is(&b, &skeleton(&a)), skeleton(&a) == skeleton(&b));
            prop_assert!(skeleton_is(&a, &skeleton(&a)));
        }

        /// An ASCII name and any spelling: equivalent exactly when the crates say so.
        #[test]
        fn equivalence_with_ascii_names_is_exact(
            a in "[a-zA-Z_.-]{1,8}",
            b in prop::collection::vec(chars(), 0..10),
        ) {
            let b: String = b.into_iter().collect();
            prop_assert_eq!(equivalent(&a, &b), reference(&a) == reference(&b));
        }
    }
}
