//! The request body's base64 (`Body::decode`, `Body::replace_with_bytes`) is written and read
//! with base64-simd for speed; it must accept, refuse and produce exactly what the base64
//! crate's `STANDARD` engine (RFC 4648 §4, padded, no whitespace, no stray bits) does, at every
//! length (the SIMD kernels take over from the scalar code on longer inputs) and on every kind
//! of damage.
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use edge_fn::cloudfront::{Body, BodyAction, BodyDecodeError, BodyEncoding};

fn body(data: String) -> Body {
    Body {
        input_truncated: false,
        action: BodyAction::ReadOnly,
        encoding: BodyEncoding::Base64,
        data,
        extra: Default::default(),
    }
}

/// The reference: what the base64 crate says, as `Body::decode` reports it.
fn reference(data: &str) -> Result<Vec<u8>, BodyDecodeError> {
    STANDARD
        .decode(data)
        .map_err(|e| BodyDecodeError::InvalidBase64 {
            offset: match e {
                base64::DecodeError::InvalidByte(o, _)
                | base64::DecodeError::InvalidLastSymbol(o, _) => Some(o),
                _ => None,
            },
        })
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn every_short_string_decodes_like_the_base64_crate() {
    // Padding, stray bits (`Q` vs `R` before `==`), the URL-safe alphabet, whitespace, non-ASCII.
    let alphabet = [
        "A", "Q", "R", "g", "+", "/", "=", "-", "_", " ", "\n", "\u{e9}",
    ];
    let mut strings = vec![String::new()];
    for _ in 0..4 {
        let longer: Vec<String> = strings
            .iter()
            .filter(|s| s.chars().count() == strings.last().map_or(0, |l| l.chars().count()))
            .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
            .collect();
        strings.extend(longer);
    }
    assert!(strings.len() > 20_000);
    for s in strings {
        assert_eq!(body(s.clone()).decode(), reference(&s), "{s:?}");
    }
}

#[test]
fn long_bodies_round_trip_and_damage_is_refused_like_the_base64_crate() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let damage = [b'=', b' ', b'\n', b'-', b'_', b'.', 0x80, b'A'];
    for len in (0..300).chain([1_000, 4_095, 4_096, 4_097, 40_000, 40_001, 40_002]) {
        let bytes = rng.bytes(len);
        // Encoding: the same text as the base64 crate, into a body that had other data.
        let mut b = body("eyJvbGQiOnRydWV9".to_owned());
        b.replace_with_bytes(&bytes);
        let expected = STANDARD.encode(&bytes);
        assert_eq!(b.data, expected, "encoding {len} bytes");
        assert_eq!(
            (b.action, b.encoding),
            (BodyAction::Replace, BodyEncoding::Base64)
        );
        assert_eq!(
            b.decode().as_deref(),
            Ok(&bytes[..]),
            "round trip of {len} bytes"
        );
        // Decoding damaged text: one byte changed at a few places (first, last, padding, random).
        if expected.is_empty() {
            continue;
        }
        let n = expected.len();
        let mut places = vec![0, n - 1, n.saturating_sub(2), n / 2];
        places.extend((0..4).map(|_| (rng.next() as usize) % n));
        for at in places {
            for &d in &damage {
                let mut text = expected.clone().into_bytes();
                text[at] = d;
                let Ok(text) = String::from_utf8(text) else {
                    continue;
                };
                assert_eq!(
                    body(text.clone()).decode(),
                    reference(&text),
                    "{len} bytes, {d:#x} at {at}"
                );
            }
        }
        // Truncated and extended.
        for text in [
            &expected[..n - 1],
            &format!("{expected}="),
            &format!("{expected}AAAA"),
        ] {
            assert_eq!(
                body(text.to_owned()).decode(),
                reference(text),
                "{len} bytes, {:?}",
                &text[n.saturating_sub(4)..]
            );
        }
    }
}
