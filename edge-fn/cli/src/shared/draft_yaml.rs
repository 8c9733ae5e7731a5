//! Writing drafted policies and their test cases: what a rule selects ([`Selector`]), YAML
//! scalars, a test case for a protected request and fake values of each detector's kind. Used by
//! `scan --suggest` (a policy for what no rule covers) and `draft` (policies from OpenAPI).

use std::fmt::Write as _;

use edge_fn::scan::{Detector, IdScheme};
use pii_core::engine::FieldReport;
use pii_core::Request;

/// What a rule selects (also what `pii-edge draft` writes).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Selector {
    Json(String),
    Field(&'static str, String),
}

impl Selector {
    /// The selector of a scan finding's shape (`json:$.a.b`, `query:name`, ...).
    pub(crate) fn from_shape(shape: &str) -> Option<Selector> {
        if let Some(path) = shape.strip_prefix("json:") {
            return Some(Selector::Json(path.to_string()));
        }
        let (part, name) = shape.split_once(':')?;
        let part = part.parse::<pii_core::location::Part>().ok()?.as_str();
        let decoded =
            String::from_utf8_lossy(&pii_core::params::percent_decode(name.as_bytes(), false))
                .into_owned();
        Some(Selector::Field(part, decoded))
    }

    pub(crate) fn yaml(&self) -> String {
        match self {
            Selector::Json(path) => format!("{{ json: {} }}", quote(path)),
            Selector::Field(part, name) => format!("{{ {part}: {} }}", quote(name)),
        }
    }

    pub(crate) fn rule_name(&self) -> String {
        let raw = match self {
            Selector::Json(path) => path
                .split(['[', ']', '\''])
                .filter(|s| !s.is_empty() && *s != "$" && *s != "*")
                .collect::<Vec<_>>()
                .join("-"),
            Selector::Field(part, name) => format!("{part}-{name}"),
        };
        let name: String = raw
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        if name.is_empty() {
            "value".into()
        } else {
            name
        }
    }
}

/// A YAML double-quoted scalar (JSON string syntax, which YAML 1.2 reads the same).
pub(crate) fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

/// A test case: `req` is protected, the engine's `fields` encrypted, the `absent` texts gone.
pub(crate) fn case_yaml(
    description: &str,
    req: &Request,
    fields: &[FieldReport],
    absent: &[String],
) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "description: {}", quote(description));
    let _ = writeln!(t, "request:");
    let _ = writeln!(t, "  method: {}", quote(&req.method));
    let _ = writeln!(t, "  path: {}", quote(&req.path));
    if !req.query.is_empty() {
        let _ = writeln!(t, "  query: {}", quote(&req.query));
    }
    if !req.headers.is_empty() {
        let _ = writeln!(t, "  headers:");
        for (n, v) in &req.headers {
            let _ = writeln!(t, "    - [{}, {}]", quote(n), quote(v));
        }
    }
    if !req.body.is_empty() {
        let _ = writeln!(t, "  body: {}", quote(&String::from_utf8_lossy(&req.body)));
    }
    let _ = writeln!(t, "expect:");
    let _ = writeln!(t, "  outcome: protected");
    let _ = writeln!(t, "  fields:");
    for f in fields {
        let _ = writeln!(t, "    {}: encrypted", quote(&f.location.to_string()));
    }
    if !absent.is_empty() {
        let list: Vec<String> = absent.iter().map(|a| quote(a)).collect();
        let _ = writeln!(t, "  absent: [{}]", list.join(", "));
    }
    t
}

/// A fake value of the kind `detector` found: reserved, specimen or test values only.
pub(crate) fn fake(detector: Detector) -> &'static str {
    match detector {
        Detector::Email => "erika.fake@example.com",
        // Ofcom's range reserved for drama (never assigned).
        Detector::Phone => "+44 20 7946 0958",
        // The IBAN of the ECBS/SWIFT documentation examples.
        Detector::Iban => "DE89370400440532013000",
        // Visa's published test card number.
        Detector::Card => "4111111111111111",
        Detector::IpAddress => "192.0.2.10",
        Detector::DateOfBirth => "1970-01-01",
        Detector::Name => "Alex Beispiel",
        Detector::NationalId(scheme) => match scheme {
            IdScheme::DeTaxId => "36574261809",
            IdScheme::FrNir => "295109912611193",
            IdScheme::EsDni => "12345678Z",
            IdScheme::EsNie => "X2482300W",
            IdScheme::ItCodiceFiscale => "RCCMNL83S18D969H",
            IdScheme::NlBsn => "111222333",
            IdScheme::SePersonnummer => "880320-0016",
            IdScheme::PlPesel => "44051401359",
            IdScheme::HrOib => "33392005961",
            IdScheme::BeNationalNumber => "85073003328",
            IdScheme::AtSvnr => "1237010180",
            // DVV's and the Estonian standard's documented examples; a CNP computed by its rule.
            IdScheme::FiHetu => "131052-308T",
            IdScheme::RoCnp => "1800101221144",
            IdScheme::EeIsikukood => "37605030299",
            _ => "000000000",
        },
        Detector::JwtClaim | _ => "fake",
    }
}
