//! Data residency: which zone a request's personal data belongs to, and which region may serve
//! it. A zone is a set of regions allowed to read a class of data; fields are sealed to every
//! region of the request's zone, so any of them can serve after a failover and no region outside
//! the zone ever can. See `docs/residency.md`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::identity::{Identified, Identity, IdentityError, IdentitySpec};
use crate::request::Request;
use crate::spec::{SpecPart, SpecPath, SpecProblem};

/// A residency configuration as written (`kind: Residency`), shared by all policies.
///
/// ```
/// let r = pii_core::Residency::from_json(r#"{
///   "apiVersion": "pii-edge/v1", "kind": "Residency",
///   "zones": {"eu-central": {"regions": ["eu-central-1", "eu-central-2"]}},
///   "resolve": [{"header": {"name": "x-user-country"}}],
///   "countries": {"DE": "eu-central"},
///   "default": null
/// }"#).unwrap();
/// let req = pii_core::Request::new("GET", "/").with_header("X-User-Country", "de");
/// assert_eq!(r.resolve(&req), Some("eu-central"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct ResidencySpec {
    /// Must be `pii-edge/v1`.
    pub api_version: String,
    /// Must be `Residency`.
    pub kind: String,
    /// Zones by name.
    pub zones: BTreeMap<String, ZoneSpec>,
    /// How a request's zone is found, tried in order; the first step that gives a zone wins.
    pub resolve: Vec<ResolveStep>,
    /// Country (ISO 3166-1 alpha-2, upper case) to zone.
    #[serde(default)]
    pub countries: BTreeMap<String, String>,
    /// Zone used when no step resolves; `null` or absent: such requests are rejected.
    #[serde(default)]
    pub default: Option<String>,
    /// Origin domain name of each region, for routing in an origin-request trigger.
    #[serde(default)]
    pub origins: BTreeMap<String, String>,
    /// Regions marked unavailable by the operator (planned failover, see
    /// `docs/decisions/0003-region-health-signal.md`); routing skips them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<String>,
    /// Verified identity tokens: the zone and the data subject from a JWT the edge verifies
    /// against issuer key sets packaged with it (see [`IdentitySpec`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentitySpec>,
}

/// One zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct ZoneSpec {
    /// The zone's regions in order of preference: the first available one serves.
    pub regions: Vec<String>,
}

/// A way to find a request's zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum ResolveStep {
    /// A header set by the application (for example from the account's verified claim): its
    /// value is a zone name or a country code.
    Header {
        /// Header name (case-insensitive).
        name: String,
    },
    /// The first path segment (`/de/...`) as a key of `map` (segment -> zone).
    PathPrefix {
        /// Path prefix (without slashes) to zone.
        map: BTreeMap<String, String>,
    },
    /// The `Host` header as a key of `map` (host -> zone).
    Host {
        /// Host name to zone.
        map: BTreeMap<String, String>,
    },
    /// The viewer's country from a CloudFront geolocation header (only present in
    /// origin-request triggers), mapped through `countries`.
    Country {
        /// Header name; default `cloudfront-viewer-country`.
        #[serde(default = "country_header")]
        header: String,
    },
}

fn country_header() -> String {
    "cloudfront-viewer-country".to_string()
}

/// A compiled residency configuration.
#[derive(Debug, Clone)]
pub struct Residency {
    spec: ResidencySpec,
    identity: Option<Identity>,
}

impl Residency {
    /// Load from JSON (see [`ResidencySpec`]).
    pub fn from_json(text: &str) -> Result<Residency, crate::error::PolicyError> {
        let spec: ResidencySpec = serde_json::from_str(text).map_err(|e| {
            crate::error::PolicyError::single(
                "<residency>",
                e.line(),
                e.column(),
                e.to_string(),
                text.lines().nth(e.line().saturating_sub(1)).unwrap_or(""),
            )
        })?;
        Residency::compile(spec).map_err(|p| crate::error::PolicyError::unlocated("<residency>", p))
    }

    /// Load from YAML with file, line and column on every problem.
    #[cfg(feature = "yaml")]
    pub fn from_yaml(source: &str, text: &str) -> Result<Residency, crate::error::PolicyError> {
        crate::yaml::load(source, text, Residency::compile)
    }

    /// [`Residency::from_yaml`], completing the configuration before it is checked: how
    /// `pii-edge package --issuer-jwks` puts the issuers' key sets in. An error of `complete`
    /// is reported at `identity`.
    #[cfg(feature = "yaml")]
    pub fn from_yaml_completed(
        source: &str,
        text: &str,
        complete: impl FnOnce(&mut ResidencySpec) -> Result<(), String>,
    ) -> Result<Residency, crate::error::PolicyError> {
        crate::yaml::load(source, text, |mut spec: ResidencySpec| {
            complete(&mut spec).map_err(|message| {
                vec![SpecProblem {
                    path: SpecPath {
                        parts: vec![SpecPart::Key("identity")],
                        offset: None,
                    },
                    message,
                }]
            })?;
            Residency::compile(spec)
        })
    }

    /// Check a parsed configuration.
    pub fn compile(spec: ResidencySpec) -> Result<Residency, Vec<SpecProblem>> {
        use SpecPart::Key;
        let mut problems = Vec::new();
        let mut add = |parts: Vec<SpecPart>, message: String| {
            problems.push(SpecProblem {
                path: SpecPath {
                    parts,
                    offset: None,
                },
                message,
            })
        };
        if spec.api_version != crate::spec::API_VERSION {
            add(
                vec![Key("apiVersion")],
                format!("apiVersion must be `{}`", crate::spec::API_VERSION),
            );
        }
        if spec.kind != "Residency" {
            add(vec![Key("kind")], "kind must be `Residency`".into());
        }
        if spec.zones.is_empty() {
            add(vec![Key("zones")], "define at least one zone".into());
        }
        for (name, zone) in &spec.zones {
            if zone.regions.is_empty() {
                add(vec![Key("zones")], format!("zone `{name}` has no regions"));
            }
        }
        let known = |z: &String| spec.zones.contains_key(z);
        for (country, zone) in &spec.countries {
            if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
                add(
                    vec![Key("countries")],
                    format!("`{country}` is not an ISO 3166-1 alpha-2 code in upper case"),
                );
            }
            if !known(zone) {
                add(
                    vec![Key("countries")],
                    format!("country {country} maps to unknown zone `{zone}`"),
                );
            }
        }
        for step in &spec.resolve {
            if let ResolveStep::PathPrefix { map } | ResolveStep::Host { map } = step {
                for zone in map.values().filter(|z| !known(z)) {
                    add(vec![Key("resolve")], format!("unknown zone `{zone}`"));
                }
            }
        }
        for region in &spec.unavailable {
            if !spec.zones.values().any(|z| z.regions.contains(region)) {
                add(
                    vec![Key("unavailable")],
                    format!("`{region}` is not a region of any zone"),
                );
            }
        }
        if let Some(d) = spec.default.as_ref().filter(|d| !known(d)) {
            add(
                vec![Key("default")],
                format!("default zone `{d}` is not defined in zones"),
            );
        }
        if spec.resolve.is_empty() && spec.default.is_none() {
            add(
                vec![Key("resolve")],
                "give at least one resolve step or a default zone".into(),
            );
        }
        let identity = match &spec.identity {
            None => None,
            Some(identity) => match Identity::compile(identity) {
                Ok(identity) => Some(identity),
                Err(messages) => {
                    for message in messages {
                        add(vec![Key("identity")], message);
                    }
                    None
                }
            },
        };
        if problems.is_empty() {
            Ok(Residency { spec, identity })
        } else {
            Err(problems)
        }
    }

    /// The verified-identity configuration, when the residency file has `identity`.
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    /// Checks the identity token of a request at `now` (unix seconds), when the configuration
    /// has `identity` (see [`IdentitySpec`]): `Ok(None)` without `identity`, or without a token
    /// on a route that does not require one; the verified issuer, subject and zone otherwise.
    pub fn identify(&self, req: &Request, now: u64) -> Result<Option<Identified>, IdentityError> {
        match &self.identity {
            None => Ok(None),
            Some(identity) => identity.check(req, now, |v| self.zone_or_country(v)),
        }
    }

    /// A zone name, or a country code mapped through `countries`, as the zone it names.
    fn zone_or_country(&self, v: &str) -> Option<&str> {
        let v = v.trim();
        if let Some((k, _)) = self.spec.zones.get_key_value(v) {
            return Some(k.as_str());
        }
        self.spec
            .countries
            .get(&v.to_ascii_uppercase())
            .map(String::as_str)
    }

    /// The configuration as written.
    pub fn spec(&self) -> &ResidencySpec {
        &self.spec
    }

    /// The regions of a zone, in order of preference.
    pub fn regions(&self, zone: &str) -> Option<&[String]> {
        self.spec.zones.get(zone).map(|z| z.regions.as_slice())
    }

    /// The zone of a request, or `None` when no step resolves and there is no default.
    pub fn resolve(&self, req: &Request) -> Option<&str> {
        let zone_or_country = |v: &str| self.zone_or_country(v);
        for step in &self.spec.resolve {
            let found = match step {
                ResolveStep::Header { name } => {
                    // Several different values would make the zone ambiguous: no answer.
                    let mut values = req.header_values(name);
                    match (values.next(), values.next()) {
                        (Some(v), None) => zone_or_country(v),
                        _ => None,
                    }
                }
                ResolveStep::PathPrefix { map } => {
                    let segs = crate::select::normalize_path(&req.path);
                    segs.first()
                        .and_then(|s| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(s)))
                        .map(|(_, z)| z.as_str())
                }
                ResolveStep::Host { map } => req
                    .header("host")
                    .map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase())
                    .and_then(|h| map.get(&h))
                    .map(String::as_str),
                ResolveStep::Country { header } => req.header(header).and_then(|c| {
                    self.spec
                        .countries
                        .get(&c.trim().to_ascii_uppercase())
                        .map(String::as_str)
                }),
            };
            if found.is_some() {
                return found;
            }
        }
        self.spec.default.as_deref()
    }

    /// The region that serves a zone: the first region of the zone, in preference order, that
    /// is not unavailable and has an origin. Never a region outside the zone.
    ///
    /// ```
    /// let r = pii_core::Residency::from_json(r#"{"apiVersion":"pii-edge/v1","kind":"Residency",
    ///   "zones":{"eu-central":{"regions":["eu-central-1","eu-central-2"]},"eu-west":{"regions":["eu-west-1"]}},
    ///   "resolve":[],"default":"eu-central",
    ///   "origins":{"eu-central-1":"a.example","eu-central-2":"b.example","eu-west-1":"c.example"}}"#).unwrap();
    /// assert_eq!(r.route("eu-central", |_| false).unwrap().region, "eu-central-1");
    /// let down = |region: &str| region == "eu-central-1";
    /// assert_eq!(r.route("eu-central", down).unwrap().origin, "b.example");
    /// assert!(r.route("eu-central", |_| true).is_err());
    /// ```
    pub fn route(
        &self,
        zone: &str,
        unavailable: impl Fn(&str) -> bool,
    ) -> Result<Route<'_>, NoRoute> {
        let regions = self.regions(zone).ok_or(NoRoute::UnknownZone)?;
        regions
            .iter()
            .enumerate()
            .filter(|(_, r)| !self.spec.unavailable.contains(r) && !unavailable(r))
            .find_map(|(i, r)| {
                self.spec.origins.get(r).map(|o| Route {
                    region: r,
                    origin: o,
                    failover: i > 0,
                })
            })
            .ok_or(NoRoute::AllUnavailable)
    }
}

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route<'a> {
    /// The region.
    pub region: &'a str,
    /// Its origin domain name.
    pub origin: &'a str,
    /// Not the zone's preferred region.
    pub failover: bool,
}

/// Why a zone has no region to serve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoRoute {
    /// The zone is not configured.
    UnknownZone,
    /// Every region of the zone is unavailable (or has no origin).
    AllUnavailable,
}

impl fmt::Display for NoRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoRoute::UnknownZone => f.write_str("the zone is not configured"),
            NoRoute::AllUnavailable => {
                f.write_str("no region of the zone is available; the request is not sent elsewhere")
            }
        }
    }
}

impl std::error::Error for NoRoute {}

/// The JSON Schema of residency configurations, as written to `policies/residency.schema.json`.
///
/// ```
/// assert!(pii_core::residency::residency_schema().contains("\"countries\""));
/// ```
#[cfg(feature = "schema")]
pub fn residency_schema() -> String {
    let mut text =
        serde_json::to_string_pretty(&schemars::schema_for!(crate::residency::ResidencySpec))
            .unwrap_or_default();
    text.push('\n');
    text
}
