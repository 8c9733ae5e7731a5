//! A field's name read for context: folding, tokens, and what kind of value the name says.

use std::cell::OnceCell;

use super::words::{
    Words, ACCOUNT_NAME, ADDRESS, ADDRESS_TOKENS, BANK_ACCOUNT, BARE_NAME, BIRTH, BIRTH_TOKENS,
    CARD, CREDENTIAL, CREDENTIAL_TOKENS, DEVICE_ID, EMAIL, GEOLOCATION, GEOLOCATION_TOKENS,
    IDENTIFIER, ID_TOKENS, IP_ADDRESS, NOT_CREDENTIAL, NOT_IDENTIFIER, NOT_NAME_FIELD, NOT_PERSON,
    NUMBER_TOKENS, PERSON_NAME, PERSON_OBJECT, PHONE, PHONE_TOKENS, QUANTITY, REFERENCE,
};

/// The field a value is in: its folded name, the words of its name, and its folded parents'
/// names (nearest first).
#[derive(Debug, Clone)]
pub struct Field {
    pub(super) name: String,
    /// The name as written, for its words (split lazily: most values never need them).
    pub(super) raw: String,
    pub(super) tokens: OnceCell<Vec<String>>,
    pub(super) parents: Vec<String>,
}

/// How strongly a field name says phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneContext {
    /// A phone word (`phone`, `telefon`, `ph`, `tel`, `móvil`, ...): national numbers count.
    Phone,
    /// Only a word for "number" (`numero`, `nr`, `nummer`): national numbers count when they
    /// are written as phone numbers are (digit groups, a trunk prefix).
    Number,
}

impl Field {
    /// A field named `name` inside objects named `parents` (nearest first). An array index is
    /// not a name: pass the object names only.
    pub fn new(name: &str, parents: &[&str]) -> Self {
        Field {
            name: fold(name),
            raw: name.to_string(),
            tokens: OnceCell::new(),
            parents: parents.iter().map(|p| fold(p)).collect(),
        }
    }

    /// Whether one of the name's words (split at separators and lower-to-upper case changes,
    /// folded) is one of `words`: how short words (`ph`, `nr`, `no`) are matched, since as
    /// substrings they would be everywhere.
    pub fn has_token(&self, words: &[&str]) -> bool {
        self.tokens
            .get_or_init(|| tokens(&self.raw))
            .iter()
            .any(|t| words.contains(&t.as_str()))
    }

    /// The folded field name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the name contains one of `words` (folded).
    pub fn has(&self, words: &[&str]) -> bool {
        words.iter().any(|w| self.name.contains(w))
    }

    /// Whether the name contains one of `words`.
    pub(super) fn says(&self, words: &Words) -> bool {
        words.in_text(&self.name)
    }

    /// Whether the name or the nearest parent's contains one of `words`.
    pub(super) fn near(&self, words: &Words) -> bool {
        self.says(words) || self.parents.first().is_some_and(|p| words.in_text(p))
    }

    /// The name says birth date.
    pub fn is_birth_date(&self) -> bool {
        self.says(&BIRTH) || self.has_token(BIRTH_TOKENS)
    }

    /// The name says reference (order, invoice, tracking, booking, ... number): numbers in it
    /// are not cards or national ids unless the name also says so.
    pub fn is_reference(&self) -> bool {
        self.says(&REFERENCE)
            || self.has_token(&["ref", "sku", "ean", "gtin", "isbn", "txn"])
            // `nr` inside an `order` object is the order's number.
            || (self.has_token(NUMBER_TOKENS)
                && self.parents.first().is_some_and(|p| REFERENCE.in_text(p)))
    }

    /// The name says a quantity, a time or a technical number (`amount`, `priceCents`,
    /// `timestamp`, `port`): a number in it is not an identifier.
    pub fn is_quantity(&self) -> bool {
        self.says(&QUANTITY) || self.has_token(&["ts", "ms", "qty", "count"])
    }

    /// The name says identifier without naming a scheme (`nationalId`, `taxNumber`, `ident`,
    /// `doc_no`, `nr`, `codice`, `numero`), and is no reference or phone field.
    pub fn is_identifier(&self) -> bool {
        (self.says(&IDENTIFIER) || self.has_token(ID_TOKENS))
            && !self.is_reference()
            && !self.is_card()
            && !self.is_bank_account()
            && self.phone_context() != Some(PhoneContext::Phone)
    }

    /// The name says identifier by a word that means nothing else (`nationalId`, `ssn`,
    /// `taxNumber`, `passport`, `ident`): what `pii-edge draft` protects by name alone, where a
    /// bare `nr` or `number` would be a house or page number as often.
    pub fn names_identifier(&self) -> bool {
        (self.says(&IDENTIFIER) && !self.says(&NOT_IDENTIFIER)
            || self.has_token(&["ident", "nin", "tin", "nif", "nie"]))
            && !self.is_reference()
    }

    /// The name says postal address (street, postal code, city of a person).
    pub fn is_address(&self) -> bool {
        (self.says(&ADDRESS) || self.has_token(ADDRESS_TOKENS))
            && !self.is_email()
            && !self.is_ip_address()
            && !self.has(&["macaddress", "walletaddress", "url"])
    }

    /// The name says a secret: a password, passphrase, PIN or one-time code (`password`,
    /// `user_pwd`, `Kennwort`, `contraseña`, `otp`), or what stands in for one (`client_secret`,
    /// `apiKey`, `refresh_token`, `sessionId`); not its rules or dates (`passwordPolicy`,
    /// `passwordChangedAt`). Not something the scanner detects in values: what `draft` reads
    /// in API descriptions.
    pub fn is_credential(&self) -> bool {
        (self.says(&CREDENTIAL) || self.has_token(CREDENTIAL_TOKENS)) && !self.says(&NOT_CREDENTIAL)
    }

    /// The name says the name of a user's account (`username`, `login`, `Benutzername`,
    /// `nickname`): an online identifier (GDPR Recital 30).
    pub fn is_account_name(&self) -> bool {
        self.says(&ACCOUNT_NAME) || self.name == "login"
    }

    /// The name says a device's identifier (`deviceId`, `idfa`, `imei`, `pushToken`).
    pub fn is_device_id(&self) -> bool {
        self.says(&DEVICE_ID)
    }

    /// The name says a geographic position (`latitude`, `lng`, `geolocation`, `Breitengrad`).
    pub fn is_geolocation(&self) -> bool {
        self.says(&GEOLOCATION) || self.has_token(GEOLOCATION_TOKENS)
    }

    /// The name says e-mail address.
    pub fn is_email(&self) -> bool {
        self.says(&EMAIL) || self.has_token(&["mail", "email", "eml"])
    }

    /// The name says bank account (IBAN).
    pub fn is_bank_account(&self) -> bool {
        self.says(&BANK_ACCOUNT)
    }

    /// The name says payment card.
    pub fn is_card(&self) -> bool {
        self.says(&CARD) || self.has_token(&["cc", "pan", "ccnum", "ccn"])
    }

    /// The name says IP address.
    pub fn is_ip_address(&self) -> bool {
        self.says(&IP_ADDRESS) || self.has_token(&["ip", "ipv4", "ipv6", "xff"])
    }

    /// The name (or, for a bare `name`/`first`/`last`, its parent) says a person's name.
    pub fn is_person_name(&self) -> bool {
        if self.near(&NOT_PERSON) || self.says(&NOT_NAME_FIELD) {
            return false;
        }
        if self.says(&PERSON_NAME) {
            return true;
        }
        // `name`, `nom`, `nombre`, `naam` alone: a person's only when the object is one.
        self.says(&BARE_NAME) && (self.parents.is_empty() || self.near(&PERSON_OBJECT))
    }

    /// The name says phone.
    pub fn is_phone(&self) -> bool {
        self.phone_context() == Some(PhoneContext::Phone)
    }

    /// What the name says about phone numbers, if anything.
    pub fn phone_context(&self) -> Option<PhoneContext> {
        if self.has(&["phoneverified", "phonecountry", "countrycode"]) {
            return None;
        }
        // `tel` alone or as a prefix (`telNr`), not inside `hotel` or `telemetry`.
        let tel =
            self.name == "tel" || (self.name.starts_with("tel") && !self.name.starts_with("tele"));
        if tel || self.says(&PHONE) || self.has_token(PHONE_TOKENS) {
            Some(PhoneContext::Phone)
        } else if self.has_token(NUMBER_TOKENS)
            && !(self.is_reference()
                || self.is_card()
                || self.is_bank_account()
                || self.says(&IDENTIFIER))
        {
            Some(PhoneContext::Number)
        } else {
            None
        }
    }
}

/// The words of a field name: split at anything not a letter or digit and where a lower-case
/// letter or digit is followed by an upper-case one (`docNo` → `doc`, `no`), then folded.
pub(super) fn tokens(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                out.push(fold(&current));
                current.clear();
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !current.is_empty() {
            out.push(fold(&current));
            current.clear();
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        current.push(c);
    }
    if !current.is_empty() {
        out.push(fold(&current));
    }
    out
}

/// Fold a field name: ASCII lower case, separators removed, common Latin diacritics stripped.
pub fn fold(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = match c {
            '_' | '-' | '.' | ' ' | '$' | '@' => continue,
            'à' | 'á' | 'â' | 'ä' | 'å' | 'ã' | 'À' | 'Á' | 'Â' | 'Ä' | 'Å' => 'a',
            'è' | 'é' | 'ê' | 'ë' | 'ę' | 'ě' | 'É' | 'È' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' | 'ø' | 'õ' | 'Ö' | 'Ø' | 'Ó' => 'o',
            'ù' | 'ú' | 'û' | 'ü' | 'ů' | 'Ü' => 'u',
            'ç' | 'ć' | 'č' => 'c',
            'ł' | 'Ł' => 'l',
            'ñ' | 'ń' => 'n',
            'ś' | 'š' | 'ß' => 's',
            'ž' | 'ź' | 'ż' => 'z',
            'đ' => 'd',
            'ř' => 'r',
            'ý' => 'y',
            c => c.to_ascii_lowercase(),
        };
        out.push(c);
    }
    out
}
