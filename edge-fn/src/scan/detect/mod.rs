//! The detectors: each recognises one kind of personal data and validates it (check digits,
//! registries, libphonenumber metadata) rather than matching a pattern alone. Values whose
//! meaning only their field name tells (names, birth dates, bare national numbers) need a
//! context word in that name ([`context`]). Sources: `docs/scan.md`.

use std::fmt;

pub mod card;
pub mod context;
pub mod email;
pub mod iban;
pub mod ip;
pub mod jwt;
pub mod national;
pub mod phone;

pub use national::IdScheme;

use context::Field;

/// What a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Detector {
    /// An e-mail address (WHATWG HTML "valid e-mail address", with a dotted domain).
    Email,
    /// A phone number valid by libphonenumber's metadata (E.164, or a national format).
    Phone,
    /// An IBAN with valid ISO 7064 check digits and its country's length and format.
    Iban,
    /// A payment card number: Luhn check digit, a known issuer range and its length.
    Card,
    /// A national identifier with its check digits (see [`IdScheme`]).
    NationalId(IdScheme),
    /// An IPv4 or IPv6 address (not loopback or unspecified).
    IpAddress,
    /// A date in a field whose name says birth date.
    DateOfBirth,
    /// A person's name in a field whose name says so.
    Name,
    /// A personal claim in the payload of a JSON Web Token (not verified).
    JwtClaim,
}

impl Detector {
    /// The detector's name in output and in the labelled corpus: `email`, `phone`, `iban`,
    /// `card`, `national-id`, `ip-address`, `date-of-birth`, `name`, `jwt-claim`.
    pub fn as_str(self) -> &'static str {
        match self {
            Detector::Email => "email",
            Detector::Phone => "phone",
            Detector::Iban => "iban",
            Detector::Card => "card",
            Detector::NationalId(_) => "national-id",
            Detector::IpAddress => "ip-address",
            Detector::DateOfBirth => "date-of-birth",
            Detector::Name => "name",
            Detector::JwtClaim => "jwt-claim",
        }
    }
}

impl fmt::Display for Detector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Detector::NationalId(scheme) => write!(f, "national-id:{}", scheme.as_str()),
            other => f.write_str(other.as_str()),
        }
    }
}

/// One detector hit in a value: what, and the recognised text (a part of the value for free
/// text, the value otherwise).
#[derive(Clone, PartialEq, Eq)]
pub struct Hit {
    /// What was found.
    pub detector: Detector,
    /// The found text.
    pub text: String,
    /// For [`Detector::JwtClaim`]: the claim's name.
    pub claim: Option<String>,
}

impl fmt::Debug for Hit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hit")
            .field("detector", &self.detector)
            .field(
                "text",
                &format_args!("<{} characters>", self.text.chars().count()),
            )
            .field("claim", &self.claim)
            .finish()
    }
}

impl Hit {
    fn new(detector: Detector, text: &str) -> Self {
        Hit {
            detector,
            text: text.to_string(),
            claim: None,
        }
    }
}

/// Longest value run through the value detectors whole; longer text is only searched for
/// e-mail addresses, IBANs, international phone numbers, IP addresses and JWTs, word by word.
const WHOLE_VALUE_MAX: usize = 256;

/// Every hit in one value (a JSON string or number, a parameter, a header, a cookie), given
/// the name of the field it is in.
///
/// ```
/// use edge_fn::scan::detect::{detect, context::Field, Detector};
/// let hits = detect("1985-02-17", &Field::new("geburtsdatum", &[]));
/// assert_eq!(hits[0].detector, Detector::DateOfBirth);
/// assert!(detect("1985-02-17", &Field::new("createdAt", &[])).is_empty());
/// ```
pub fn detect(value: &str, field: &Field) -> Vec<Hit> {
    let mut hits = Vec::new();
    let value = value.trim();
    if value.is_empty() {
        return hits;
    }
    if value.len() <= WHOLE_VALUE_MAX {
        if let Some(hit) = whole(value, field, &mut hits) {
            hits.push(hit);
        }
        if !hits.is_empty() || !value.contains(char::is_whitespace) {
            return hits;
        }
    }
    free_text(value, &mut hits);
    hits
}

/// The detectors that look at a value as a whole, most specific first; the first that
/// recognises it wins (a JWT's claims are pushed into `hits`).
fn whole(value: &str, field: &Field, hits: &mut Vec<Hit>) -> Option<Hit> {
    let first = value.as_bytes()[0];
    if first == b'e' && value.len() > 20 {
        let claims = jwt::claims(value);
        if !claims.is_empty() {
            hits.extend(claims);
            return None;
        }
    }
    if value.contains('@') {
        return email::is_email(value).then(|| Hit::new(Detector::Email, value));
    }
    if first.is_ascii_alphabetic() && iban::is_iban(value) {
        return Some(Hit::new(Detector::Iban, value));
    }
    if let Some(scheme) = national::detect(value, field) {
        return Some(Hit::new(Detector::NationalId(scheme), value));
    }
    if card::is_card(value, field) {
        return Some(Hit::new(Detector::Card, value));
    }
    if ip::is_ip(value, field) {
        return Some(Hit::new(Detector::IpAddress, value));
    }
    if context::is_birth_date(value) && field.is_birth_date() {
        return Some(Hit::new(Detector::DateOfBirth, value));
    }
    if phone::is_phone(value, field) {
        return Some(Hit::new(Detector::Phone, value));
    }
    if context::is_name(value) && field.is_person_name() {
        return Some(Hit::new(Detector::Name, value));
    }
    None
}

/// Words of free text that are e-mail addresses, IBANs written without spaces, international
/// phone numbers written without spaces, IP addresses or JWTs.
fn free_text(text: &str, hits: &mut Vec<Hit>) {
    let none = Field::new("", &[]);
    for word in text.split(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                ',' | ';' | '<' | '>' | '(' | ')' | '"' | '\'' | '[' | ']'
            )
    }) {
        let word = word.trim_end_matches(['.', ':', '!', '?']);
        if word.len() < 7 {
            continue;
        }
        if word.starts_with("eyJ") {
            hits.extend(jwt::claims(word));
        } else if word.contains('@') {
            if email::is_email(word) {
                hits.push(Hit::new(Detector::Email, word));
            }
        } else if word.as_bytes()[0].is_ascii_alphabetic() && iban::is_iban(word) {
            hits.push(Hit::new(Detector::Iban, word));
        } else if word.starts_with('+') && phone::is_phone(word, &none) {
            hits.push(Hit::new(Detector::Phone, word));
        } else if ip::is_ip(word, &none) {
            hits.push(Hit::new(Detector::IpAddress, word));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(value: &str, name: &str) -> Vec<String> {
        detect(value, &Field::new(name, &[]))
            .iter()
            .map(|h| h.detector.to_string())
            .collect()
    }

    #[test]
    fn whole_values() {
        assert_eq!(kinds("erika@example.de", "x"), ["email"]);
        assert_eq!(kinds("DE89 3704 0044 0532 0130 00", "x"), ["iban"]);
        assert_eq!(kinds("4111 1111 1111 1111", "x"), ["card"]);
        assert_eq!(kinds("+33 6 12 34 56 78", "x"), ["phone"]);
        assert_eq!(kinds("203.0.113.7", "x"), ["ip-address"]);
        assert_eq!(kinds("Erika Mustermann", "nachname"), ["name"]);
        assert_eq!(
            kinds("Erika Mustermann", "productName"),
            Vec::<String>::new()
        );
        assert_eq!(kinds("12345678Z", "x"), ["national-id:es-dni"]);
    }

    #[test]
    fn free_text_words() {
        let text = "Hallo, bitte an erika@example.de oder +4915112345678 schreiben. IBAN DE89370400440532013000.";
        assert_eq!(kinds(text, "message"), ["email", "phone", "iban"]);
    }

    #[test]
    fn debug_never_shows_the_value() {
        let hit = &detect("erika@example.de", &Field::new("x", &[]))[0];
        assert!(!format!("{hit:?}").contains("erika@example"));
    }
}
