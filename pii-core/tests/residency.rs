//! Residency: the EU/EEA example loads, every EU/EEA country has a zone, zones resolve in the
//! configured order, sealing binds the zone, and routing never leaves the zone.
#![cfg(all(feature = "yaml", feature = "open"))]

use pii_core::{
    keys::PrivateKey, reveal, Engine, Outcome, Policy, PrivateKeyring, Request, Residency,
    TokenKeys,
};

const EU_EEA: [&str; 30] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

fn example() -> Residency {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/residency/residency.yaml"
    );
    let text = std::fs::read_to_string(path).expect("example exists");
    Residency::from_yaml("residency.yaml", &text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_eu_eea_country_has_a_zone_with_two_regions() {
    let r = example();
    for c in EU_EEA {
        let zone = r
            .spec()
            .countries
            .get(c)
            .unwrap_or_else(|| panic!("{c} has no zone"));
        let regions = r.regions(zone).expect("zone defined");
        assert!(regions.len() >= 2, "{zone} cannot survive losing a region");
        for region in regions {
            assert!(
                r.spec().origins.contains_key(region),
                "{region} has no origin"
            );
        }
    }
}

#[test]
fn resolution_order_account_then_path_then_host_then_country() {
    let r = example();
    let req = Request::new("POST", "/es/orders")
        .with_header("host", "fr.example.com")
        .with_header("cloudfront-viewer-country", "SE")
        .with_header("x-account-country", "DE");
    assert_eq!(r.resolve(&req), Some("eu-central"), "the account wins");
    let req = Request::new("POST", "/es/orders")
        .with_header("host", "fr.example.com")
        .with_header("cloudfront-viewer-country", "SE");
    assert_eq!(r.resolve(&req), Some("eu-south"));
    let req = Request::new("POST", "/orders")
        .with_header("Host", "fr.example.com:443")
        .with_header("cloudfront-viewer-country", "SE");
    assert_eq!(r.resolve(&req), Some("eu-west"));
    let req = Request::new("POST", "/orders").with_header("cloudfront-viewer-country", "se");
    assert_eq!(r.resolve(&req), Some("eu-north"));
    assert_eq!(r.resolve(&Request::new("POST", "/orders")), None);
    // Ambiguous account header: no answer from it.
    let req = Request::new("POST", "/orders")
        .with_header("x-account-country", "DE")
        .with_header("x-account-country", "FR");
    assert_eq!(r.resolve(&req), None);
    // A country outside the table does not resolve.
    let req = Request::new("POST", "/orders").with_header("cloudfront-viewer-country", "US");
    assert_eq!(r.resolve(&req), None);
}

#[test]
fn routing_fails_over_inside_the_zone_only() {
    let r = example();
    let route = r.route("eu-central", |_| false).expect("route");
    assert_eq!((route.region, route.failover), ("eu-central-1", false));
    let route = r
        .route("eu-central", |g| g == "eu-central-1")
        .expect("route");
    assert_eq!((route.region, route.failover), ("eu-central-2", true));
    assert!(r
        .route("eu-central", |g| g.starts_with("eu-central"))
        .is_err());
    for zone in r.spec().zones.keys() {
        for down in r.regions(zone).expect("zone") {
            if let Ok(route) = r.route(zone, |g| g == down) {
                assert!(r
                    .regions(zone)
                    .expect("zone")
                    .iter()
                    .any(|g| g == route.region));
            }
        }
    }
}

#[test]
fn residency_errors_are_located() {
    let err = Residency::from_yaml(
        "r.yaml",
        "apiVersion: pii-edge/v1\nkind: Residency\nzones:\n  eu: { regions: [] }\nresolve: []\ncountries: { de: nowhere }\n",
    )
    .expect_err("bad");
    let text = err.to_string();
    assert!(text.contains("r.yaml:"), "{text}");
    assert!(text.contains("no regions"), "{text}");
    assert!(text.contains("unknown zone"), "{text}");
}

#[test]
fn fields_are_sealed_to_the_resolved_zone_and_refused_elsewhere() {
    let r = example();
    // One key per region of every zone; each region's opener holds only its own key.
    let mut all = PrivateKeyring::new();
    let mut by_region = Vec::new();
    for (zone, spec) in &r.spec().zones {
        for region in &spec.regions {
            let jwk = PrivateKey::generate(zone, region, 1)
                .expect("keygen")
                .to_jwk();
            all = PrivateKeyring::from_jwks(&format!(
                "{{\"keys\":[{}{}]}}",
                by_region
                    .iter()
                    .map(|(_, _, j): &(String, String, String)| format!("{j},"))
                    .collect::<String>(),
                jwk
            ))
            .expect("ring");
            by_region.push((zone.clone(), region.clone(), jwk));
        }
    }
    let policy = Policy::from_yaml(
        "p.yaml",
        "apiVersion: pii-edge/v1\nname: orders\nmatch: {}\nrules:\n  - select: { json: $.email }\n    action: encrypt\n",
    )
    .expect("policy");
    let engine = Engine::with_residency(vec![policy], all.public(), TokenKeys::default(), r)
        .expect("engine");
    let req = Request::new("POST", "/orders")
        .with_header("content-type", "application/json")
        .with_header("x-account-country", "FR")
        .with_body(br#"{"email":"marie@example.fr"}"#.to_vec());
    let Outcome::Protected(p) = engine.apply(&req) else {
        panic!("not protected")
    };
    assert_eq!(p.zone.as_deref(), Some("eu-west"));
    for (zone, region, jwk) in &by_region {
        let own = PrivateKeyring::from_jwks(&format!("{{\"keys\":[{jwk}]}}")).expect("one key");
        // The region opens with its own zone only; a region of another zone cannot, even when
        // it claims the right zone name.
        let opened = reveal(
            &own,
            &p.request,
            pii_core::reveal::Expect {
                policy: Some("orders"),
                zone: Some(zone),
            },
        );
        let also = reveal(
            &own,
            &p.request,
            pii_core::reveal::Expect {
                policy: Some("orders"),
                zone: Some("eu-west"),
            },
        );
        if zone == "eu-west" {
            assert!(opened.is_ok(), "{region} must open");
        } else {
            assert!(opened.is_err(), "{region} of {zone} must not open");
            assert!(
                also.is_err(),
                "{region} of {zone} must not open with a forged zone"
            );
        }
    }
    let Outcome::Rejected(rej) = engine.apply(
        &Request::new("POST", "/orders")
            .with_header("content-type", "application/json")
            .with_body(br#"{"email":"x@example.org"}"#.to_vec()),
    ) else {
        panic!("must reject")
    };
    assert_eq!((rej.status, rej.reason.code()), (422, "no-zone"));
}
