//! Field-name context: what the name of the field a value is in says about it, in the
//! languages of the EU/EEA (English, German, French, Spanish, Italian, Dutch, Swedish, Danish,
//! Norwegian, Finnish, Polish, Croatian, Czech, Portuguese), after Presidio's context words
//! (`presidio_analyzer` recognizers' `context` lists) extended with the local terms used by the
//! national forms themselves. Names are compared after folding: lower case, separators
//! (`_ - . space`) and common diacritics removed, so `firstName`, `first_name` and `FIRST-NAME`
//! all read `firstname`.
//!
//! A context type is only reported when its field name says so: a bare `1985-02-17` in
//! `createdAt` is not a birth date, `Erika` in `productName` not a person. What this cannot see
//! (a name in a field called `value`, a birth date in free text) is listed in `docs/scan.md`.

use std::cell::OnceCell;
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

/// A list of context words, searched for all at once (Aho-Corasick, built on first use).
pub struct Words {
    words: &'static [&'static str],
    matcher: OnceLock<Option<AhoCorasick>>,
}

impl Words {
    /// A word list.
    pub const fn new(words: &'static [&'static str]) -> Self {
        Words {
            words,
            matcher: OnceLock::new(),
        }
    }

    /// Whether `text` contains one of the words.
    pub fn in_text(&self, text: &str) -> bool {
        match self
            .matcher
            .get_or_init(|| AhoCorasick::new(self.words).ok())
        {
            Some(ac) => ac.is_match(text),
            None => self.words.iter().any(|w| text.contains(w)),
        }
    }
}

/// The field a value is in: its folded name, the words of its name, and its folded parents'
/// names (nearest first).
#[derive(Debug, Clone)]
pub struct Field {
    name: String,
    /// The name as written, for its words (split lazily: most values never need them).
    raw: String,
    tokens: OnceCell<Vec<String>>,
    parents: Vec<String>,
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
    fn says(&self, words: &Words) -> bool {
        words.in_text(&self.name)
    }

    /// Whether the name or the nearest parent's contains one of `words`.
    fn near(&self, words: &Words) -> bool {
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
fn tokens(name: &str) -> Vec<String> {
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

/// Birth date, folded: en, de, fr, es, it, nl, sv/da/no, fi, pl, hr, cs, pt.
static BIRTH: Words = Words::new(&[
    "birth",
    "dob",
    "bday",
    "geburt",
    "naissance",
    "nacimiento",
    "nascita",
    "geboorte",
    "fodelse",
    "fodsel",
    "fodt",
    "syntyma",
    "urodzen",
    "rodenj",
    "narozen",
    "nascimento",
    "datanasc",
    "fechanac",
    "born",
    "geboren",
    "nacido",
    "nacida",
    "nascido",
    "urodzon",
    "syntynyt",
    "rodjen",
    "fodd",
    "naiss",
]);

/// Birth words too short to search inside names, matched as whole words: `nato`, `nata` (it),
/// `ne`/`nee` (fr `né`), `geb` (de, abbreviation), `gebdat`, `fdato` (da/no `fødselsdato`
/// abbreviated), `dn` (es/it `data/fecha de nacimiento` abbreviated).
const BIRTH_TOKENS: &[&str] = &["nato", "nata", "ne", "nee", "geb", "gebdat", "fdato", "dn"];

/// Person-name words, folded.
static PERSON_NAME: Words = Words::new(&[
    "firstname",
    "lastname",
    "fullname",
    "givenname",
    "familyname",
    "surname",
    "middlename",
    "forename",
    "maidenname",
    "holdername",
    "cardholder",
    "accountholder",
    "displayname",
    "contactname",
    "personname",
    "customername",
    "patientname",
    "recipientname",
    "vorname",
    "nachname",
    "familienname",
    "rufname",
    "geburtsname",
    "prenom",
    "nomdefamille",
    "nomfamille",
    "apellido",
    "nombrecompleto",
    "cognome",
    "nomecompleto",
    "voornaam",
    "achternaam",
    "volledigenaam",
    "fornamn",
    "efternamn",
    "fornavn",
    "efternavn",
    "etternavn",
    "etunimi",
    "sukunimi",
    "imie",
    "nazwisko",
    "prezime",
    "jmeno",
    "prijmeni",
    "sobrenome",
    "primeironome",
    "apelido",
]);

/// Bare "name" words, a person's only inside a person object.
static BARE_NAME: Words = Words::new(&[
    "name", "nom", "nombre", "nome", "naam", "namn", "navn", "nimi", "ime",
]);

/// Objects that are people.
static PERSON_OBJECT: Words = Words::new(&[
    "user",
    "customer",
    "person",
    "contact",
    "patient",
    "holder",
    "owner",
    "account",
    "profile",
    "member",
    "recipient",
    "sender",
    "billing",
    "shipping",
    "guest",
    "traveller",
    "traveler",
    "passenger",
    "employee",
    "applicant",
    "kunde",
    "benutzer",
    "client",
    "cliente",
    "klant",
    "kund",
    "asiakas",
    "klient",
    "author",
    "buyer",
    "payer",
    "beneficiary",
]);

/// Fields and objects whose names are never people's.
static NOT_PERSON: Words = Words::new(&[
    "product", "item", "article", "artikel", "produit", "producto", "prodotto", "company", "firma",
    "organi", "merchant", "shop", "store", "category", "file", "host", "domain", "brand", "city",
    "street", "country", "event", "campaign", "plan", "role", "team", "project", "group",
    "service", "app", "device", "browser", "bank",
]);

/// Name fields that hold identifiers, not names.
static NOT_NAME_FIELD: Words = Words::new(&[
    "username",
    "nickname",
    "loginname",
    "screenname",
    "namespace",
    "nameid",
]);

/// Phone words, folded.
static PHONE: Words = Words::new(&[
    "phone",
    "mobile",
    "cellular",
    "fax",
    "msisdn",
    "handy",
    "telefon",
    "rufnummer",
    "portable",
    "movil",
    "telefono",
    "cellulare",
    "gsm",
    "mobiel",
    "puhelin",
    "komorka",
    "numerotel",
    "contactnumber",
    "whatsapp",
    "telefoon",
    "mobil",
    "cellphone",
    "matkapuhelin",
    "mobilni",
    "telemovel",
    "telephone",
    "tilefono",
]);

/// Phone words too short to search inside names, matched as whole words.
const PHONE_TOKENS: &[&str] = &[
    "ph", "tel", "tlf", "tfn", "mob", "cell", "fon", "tel1", "tel2", "ph1", "ph2", "fono",
];

/// Words for "number" alone (en, de, nl, fr, es, it, pt, pl, hr, cs, sv, fi): a weak phone
/// context, and an identifier context.
const NUMBER_TOKENS: &[&str] = &[
    "numero", "nr", "no", "num", "number", "nummer", "numer", "broj", "cislo", "nro", "nb", "nbr",
    "numro",
];

/// Identifier words, searched inside names (folded): a bare number that passes a scheme's check
/// digits is reported in such a field even when the field names no scheme.
static IDENTIFIER: Words = Words::new(&[
    "ssn",
    "socialsecurity",
    "nationalid",
    "nationalnumber",
    "natid",
    "idnumber",
    "idno",
    "idnr",
    "identity",
    "identification",
    "identif",
    "idcard",
    "personalid",
    "personalnumber",
    "personid",
    "citizenid",
    "taxid",
    "taxnumber",
    "taxno",
    "fiscal",
    "insurancenumber",
    "ausweis",
    "identiteit",
    "henkilotunnus",
    "identyfikator",
    "governmentid",
    "document",
    "dokument",
    "documento",
    "codice",
    "codigo",
    "registr",
    "burger",
    "passport",
    "reisepass",
    "passeport",
    "pasaporte",
    "passaporto",
    "paspoort",
    "steuer",
    "versicherung",
    "secu",
    "persnr",
    "personnr",
    "licence",
    "license",
    "fuhrerschein",
]);

/// Identifier words too short to search inside names, matched as whole words; with the
/// [`NUMBER_TOKENS`].
const ID_TOKENS: &[&str] = &[
    "ident",
    "doc",
    "docno",
    "docnr",
    "codice",
    "cod",
    "nin",
    "pin",
    "tin",
    "nif",
    "nie",
    "cf",
    "nr",
    "no",
    "num",
    "numero",
    "number",
    "nummer",
    "numer",
    "broj",
    "cislo",
    "nro",
    "nb",
    "nbr",
    "ausweisnr",
    "pass",
];

/// Identifier-word look-alikes that are not identifiers of a person.
static NOT_IDENTIFIER: Words = Words::new(&[
    "documenttype",
    "documentation",
    "documenturl",
    "documentname",
    "registrationdate",
    "registered",
    "licensetype",
    "licensekey",
    "licenseurl",
    "codigopostal",
]);

/// Postal-address words, folded: en, de, fr, es, it, nl, sv/da/no, fi, pl, hr, cs, pt.
static ADDRESS: Words = Words::new(&[
    "address",
    "street",
    "postcode",
    "postalcode",
    "zipcode",
    "adresse",
    "anschrift",
    "strasse",
    "postleitzahl",
    "direccion",
    "domicilio",
    "codigopostal",
    "indirizzo",
    "adres",
    "straat",
    "adress",
    "gatuadress",
    "osoite",
    "katuosoite",
    "ulica",
    "kodpocztowy",
    "adresa",
    "ulice",
    "morada",
    "endereco",
    "calle",
]);

/// Address words too short to search inside names, matched as whole words.
const ADDRESS_TOKENS: &[&str] = &["zip", "plz", "cap", "cp", "rue", "via", "npa"];

/// Reference words (order, invoice, tracking, ... in the EU languages), folded.
static REFERENCE: Words = Words::new(&[
    "order",
    "invoice",
    "tracking",
    "reference",
    "shipment",
    "parcel",
    "ticket",
    "booking",
    "transaction",
    "barcode",
    "bestell",
    "rechnung",
    "sendung",
    "commande",
    "facture",
    "pedido",
    "factura",
    "ordine",
    "fattura",
    "bestelling",
    "factuur",
    "zamowien",
    "faktur",
    "tilaus",
    "narudzb",
    "objednav",
    "encomenda",
    "serial",
    "product",
    "article",
    "artikel",
    "coupon",
    "voucher",
    "receipt",
    "confirmation",
    "session",
    "request",
    "trace",
    "correlation",
]);

/// Quantity, time and technical-number words, folded.
static QUANTITY: Words = Words::new(&[
    "amount",
    "price",
    "cents",
    "total",
    "balance",
    "quantity",
    "size",
    "length",
    "bytes",
    "time",
    "date",
    "epoch",
    "duration",
    "millis",
    "seconds",
    "version",
    "port",
    "betrag",
    "preis",
    "montant",
    "prix",
    "importe",
    "precio",
    "importo",
    "prezzo",
    "bedrag",
    "prijs",
    "kwota",
    "cena",
    "weight",
    "height",
    "width",
    "latitude",
    "longitude",
    "score",
    "rank",
    "limit",
    "offset",
    "page",
]);

/// E-mail words, folded.
static EMAIL: Words = Words::new(&[
    "email",
    "mail",
    "courriel",
    "correo",
    "postaelettronica",
    "sahkoposti",
    "epost",
    "eposta",
]);

/// Bank-account words, folded.
static BANK_ACCOUNT: Words = Words::new(&[
    "iban",
    "bankaccount",
    "accountnumber",
    "kontonummer",
    "bankverbindung",
    "comptebancaire",
    "rib",
    "cuentabancaria",
    "contocorrente",
    "rekeningnummer",
    "bankrekening",
    "kontonumer",
    "numerkonta",
    "tilinumero",
    "bankkonto",
]);

/// Payment-card words, folded.
static CARD: Words = Words::new(&[
    "card",
    "karte",
    "carte",
    "tarjeta",
    "carta",
    "kaart",
    "kort",
    "karta",
    "kartica",
    "cartao",
    "creditcard",
    "kreditkarte",
]);

/// IP-address words, folded.
static IP_ADDRESS: Words = Words::new(&[
    "ipaddress",
    "ipaddr",
    "clientip",
    "remoteaddr",
    "remoteip",
    "forwardedfor",
    "sourceip",
    "userip",
]);

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_names_need_a_person_field() {
        assert!(Field::new("firstName", &["user"]).is_person_name());
        assert!(Field::new("name", &["customer"]).is_person_name());
        assert!(Field::new("name", &[]).is_person_name());
        assert!(!Field::new("name", &["items"]).is_person_name());
        assert!(!Field::new("name", &["settings"]).is_person_name());
        assert!(!Field::new("productName", &["user"]).is_person_name());
        assert!(!Field::new("userName", &[]).is_person_name());
        assert!(Field::new("Nazwisko", &[]).is_person_name());
    }

    #[test]
    fn birth_words_in_several_languages() {
        for name in [
            "dateOfBirth",
            "geburtsdatum",
            "date_de_naissance",
            "fecha_nacimiento",
            "data_di_nascita",
            "geboortedatum",
            "födelsedatum",
            "data_urodzenia",
            "datum_rođenja",
        ] {
            assert!(Field::new(name, &[]).is_birth_date(), "{name}");
        }
        assert!(!Field::new("createdAt", &[]).is_birth_date());
    }
}
