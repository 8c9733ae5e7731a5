//! Property tests of the at-rest format (docs/at-rest.md): any value the edge seals, under any
//! binding, rewraps to any subject and opens to exactly the same kind, bytes and binding; no
//! single changed byte of a field opens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use pii_core::at_rest::{self, SubjectKey};
use pii_core::envelope::{Binding, TestSealer, ValueKind};
use pii_core::{keys::PrivateKey, location::Part, location::PathElement, Location, PrivateKeyring};
use proptest::prelude::*;

fn keys() -> &'static PrivateKeyring {
    static KEYS: std::sync::OnceLock<PrivateKeyring> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys = PrivateKeyring::new();
        keys.push(PrivateKey::generate("eu-central", "eu-central-1", 1).expect("key"));
        keys
    })
}

fn location() -> impl Strategy<Value = Location> {
    prop_oneof![
        proptest::collection::vec(
            prop_oneof![
                "\\PC{0,12}".prop_map(PathElement::Name),
                (0usize..1000).prop_map(PathElement::Index)
            ],
            0..4
        )
        .prop_map(Location::json),
        ("[a-z0-9-]{1,12}", 0usize..5).prop_map(|(n, i)| Location::field(Part::Query, n, i)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn rewrap_round_trips(
        plaintext in proptest::collection::vec(any::<u8>(), 0..300),
        subject in "[^\\p{Cc}]{1,40}",
        policy in "[A-Za-z0-9._-]{1,64}",
        at in location(),
        kind in 0u8..7,
    ) {
        prop_assume!(subject.len() <= 255);
        let keys = keys();
        let public = keys.public();
        let mut edge = TestSealer::new(&public.recipients("eu-central").expect("r"), "eu-central")
            .expect("sealer");
        let binding = Binding::new(policy, "eu-central", at);
        let kind = ValueKind::from_code(kind).expect("kind");
        let sealed = edge.seal(&binding, kind, &plaintext).expect("seal");
        let key = SubjectKey::generate(&subject, 7).expect("key");
        let stored = at_rest::rewrap(keys, &sealed, &key).expect("rewrap");
        let opened = at_rest::open(&key, &stored).expect("open");
        prop_assert_eq!(opened.plaintext(), plaintext.as_slice());
        prop_assert_eq!(opened.kind(), kind);
        prop_assert_eq!(opened.binding(), &binding);
        prop_assert_eq!(opened.subject(), subject.as_str());
        let head = at_rest::header(&stored).expect("header");
        prop_assert_eq!(&head.binding, &binding);
        prop_assert_eq!(head.key_id, key.key_id());
        // The key survives its store: wrapped, unwrapped, it still opens the field.
        let again = SubjectKey::unwrap(keys, &key.wrap(keys, "eu-central").expect("wrap"))
            .expect("unwrap");
        prop_assert!(at_rest::open(&again, &stored).is_ok());
    }

    #[test]
    fn no_changed_byte_opens(at in 0usize..4096, bit in 0u8..8) {
        let keys = keys();
        let public = keys.public();
        let mut edge = TestSealer::new(&public.recipients("eu-central").expect("r"), "eu-central")
            .expect("sealer");
        let binding = Binding::new("signup", "eu-central", Location::field(Part::Form, "email", 0));
        let sealed = edge.seal(&binding, ValueKind::Text, b"alice@example.com").expect("seal");
        let key = SubjectKey::generate("user-1", 7).expect("key");
        let stored = at_rest::rewrap(keys, &sealed, &key).expect("rewrap");
        let mut binary = URL_SAFE_NO_PAD.decode(&stored[4..]).expect("b64");
        let at = at % binary.len();
        binary[at] ^= 1 << bit;
        let changed = format!("pr1.{}", URL_SAFE_NO_PAD.encode(&binary));
        prop_assert!(at_rest::open(&key, &changed).is_err());
    }
}
