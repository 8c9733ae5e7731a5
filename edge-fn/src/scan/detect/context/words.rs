//! The context word lists, per kind of personal data, in the languages of the EU/EEA.

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

/// Birth date, folded: en, de, fr, es, it, nl, sv/da/no, fi, pl, hr, cs, pt.
pub(super) static BIRTH: Words = Words::new(&[
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
pub(super) const BIRTH_TOKENS: &[&str] =
    &["nato", "nata", "ne", "nee", "geb", "gebdat", "fdato", "dn"];

/// Person-name words, folded.
pub(super) static PERSON_NAME: Words = Words::new(&[
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
pub(super) static BARE_NAME: Words = Words::new(&[
    "name", "nom", "nombre", "nome", "naam", "namn", "navn", "nimi", "ime",
]);

/// Objects that are people.
pub(super) static PERSON_OBJECT: Words = Words::new(&[
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
pub(super) static NOT_PERSON: Words = Words::new(&[
    "product", "item", "article", "artikel", "produit", "producto", "prodotto", "company", "firma",
    "organi", "merchant", "shop", "store", "category", "file", "host", "domain", "brand", "city",
    "street", "country", "event", "campaign", "plan", "role", "team", "project", "group",
    "service", "app", "device", "browser", "bank",
]);

/// Name fields that hold identifiers, not names.
pub(super) static NOT_NAME_FIELD: Words = Words::new(&[
    "username",
    "nickname",
    "loginname",
    "screenname",
    "namespace",
    "nameid",
]);

/// Phone words, folded.
pub(super) static PHONE: Words = Words::new(&[
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
pub(super) const PHONE_TOKENS: &[&str] = &[
    "ph", "tel", "tlf", "tfn", "mob", "cell", "fon", "tel1", "tel2", "ph1", "ph2", "fono",
];

/// Words for "number" alone (en, de, nl, fr, es, it, pt, pl, hr, cs, sv, fi): a weak phone
/// context, and an identifier context.
pub(super) const NUMBER_TOKENS: &[&str] = &[
    "numero", "nr", "no", "num", "number", "nummer", "numer", "broj", "cislo", "nro", "nb", "nbr",
    "numro",
];

/// Identifier words, searched inside names (folded): a bare number that passes a scheme's check
/// digits is reported in such a field even when the field names no scheme.
pub(super) static IDENTIFIER: Words = Words::new(&[
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
pub(super) const ID_TOKENS: &[&str] = &[
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
pub(super) static NOT_IDENTIFIER: Words = Words::new(&[
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
pub(super) static ADDRESS: Words = Words::new(&[
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
pub(super) const ADDRESS_TOKENS: &[&str] = &["zip", "plz", "cap", "cp", "rue", "via", "npa"];

/// Reference words (order, invoice, tracking, ... in the EU languages), folded.
pub(super) static REFERENCE: Words = Words::new(&[
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
pub(super) static QUANTITY: Words = Words::new(&[
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
pub(super) static EMAIL: Words = Words::new(&[
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
pub(super) static BANK_ACCOUNT: Words = Words::new(&[
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
pub(super) static CARD: Words = Words::new(&[
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
pub(super) static IP_ADDRESS: Words = Words::new(&[
    "ipaddress",
    "ipaddr",
    "clientip",
    "remoteaddr",
    "remoteip",
    "forwardedfor",
    "sourceip",
    "userip",
]);

/// Words for a secret: what the user knows (password, passphrase, PIN, a one-time code), in
/// en, de, fr, es, ca, nl, sv, da, no, fi, hr, hu, lt, and what stands in for it (API keys,
/// access, refresh and session tokens), folded. Short or ambiguous ones are
/// [`CREDENTIAL_TOKENS`].
pub(super) static CREDENTIAL: Words = Words::new(&[
    "password",
    "secret",
    "apikey",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "authtoken",
    "bearertoken",
    "sessiontoken",
    "sessionid",
    "sessionkey",
    "privatekey",
    "mfacode",
    "otpcode",
    "verificationcode",
    "passwort",
    "passphrase",
    "passcode",
    "kennwort",
    "motdepasse",
    "contrasena",
    "contrasenya",
    "wachtwoord",
    "losenord",
    "adgangskode",
    "passord",
    "salasana",
    "lozinka",
    "jelszo",
    "slaptazodis",
]);

/// Credential words matched as whole words: `pwd`, `passwd`, `pass`, `pin`, and the words
/// that would be found inside other names (`haslo` in `hasLocation`, `heslo` in `theSlot`):
/// pl `hasło`, cs/sk `heslo`, pt `senha`, sl `geslo`, lv `parole`, et `parool`.
pub(super) const CREDENTIAL_TOKENS: &[&str] = &[
    "pwd", "passwd", "pass", "pin", "otp", "totp", "haslo", "heslo", "senha", "geslo", "parole",
    "parool",
];

/// What a credential field's name also says when it holds no secret: its rules, dates, counts.
pub(super) static NOT_CREDENTIAL: Words = Words::new(&[
    "secretary",
    "secretariat",
    "policy",
    "expir",
    "changed",
    "updated",
    "created",
    "length",
    "strength",
    "rule",
    "attempt",
    "hint",
    "reset",
    "required",
    "enabled",
]);

/// Words for the name of a user's account, an online identifier (GDPR Recital 30), folded: en,
/// de, fr, es, it, nl, sv, da, no, fi, pl, hr, cs, pt. An exact `login` is one too.
pub(super) static ACCOUNT_NAME: Words = Words::new(&[
    "username",
    "loginname",
    "userlogin",
    "screenname",
    "nickname",
    "benutzername",
    "nomutilisateur",
    "nombredeusuario",
    "nombreusuario",
    "nomeutente",
    "gebruikersnaam",
    "anvandarnamn",
    "brugernavn",
    "brukernavn",
    "kayttajatunnus",
    "kayttajanimi",
    "nazwauzytkownika",
    "korisnickoime",
    "uzivatelskejmeno",
    "nomedeusuario",
    "nomedeutilizador",
]);

/// Words for a device's identifier (an online identifier, GDPR Recital 30), folded: the
/// device's own id, advertising ids (IDFA, IDFV, GAID), IMEI and IMSI, push tokens.
pub(super) static DEVICE_ID: Words = Words::new(&[
    "deviceid",
    "deviceuuid",
    "deviceidentifier",
    "advertisingid",
    "idfa",
    "idfv",
    "gaid",
    "imei",
    "imsi",
    "udid",
    "pushtoken",
    "devicetoken",
    "fcmtoken",
    "apnstoken",
    "installationid",
]);

/// Words for a geographic position (location data, GDPR Art. 4(1)), folded. `lat`, `lng`,
/// `lon`, `gps` are [`GEOLOCATION_TOKENS`].
pub(super) static GEOLOCATION: Words = Words::new(&[
    "latitude",
    "longitude",
    "geolocation",
    "geoposition",
    "geocoordinates",
    "gpscoordinates",
    "geopoint",
    "breitengrad",
    "langengrad",
    "latitud",
    "longitud",
    "latitudine",
    "longitudine",
]);

/// Geolocation words matched as whole words.
pub(super) const GEOLOCATION_TOKENS: &[&str] = &["lat", "lng", "lon", "gps"];

/// A list of context words, searched for all at once (Aho-Corasick, built on first use).
pub struct Words {
    pub(super) words: &'static [&'static str],
    pub(super) matcher: OnceLock<Option<AhoCorasick>>,
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
