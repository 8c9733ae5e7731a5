//! Identity-token verification (`pii_core::jwt`, issue 22) on arbitrary tokens, against a key
//! set of one Ed25519 key (RFC 8032 §7.1 TEST 1; never use it) and an RSA key, at a fixed time.
//!
//! Input: the token (lossy UTF-8). Seeds: [`VALID`] and variants of it (fuzz/seed.sh).
//!
//! Checks: `Verifier::verify` never panics, whatever the token; it accepts a token only if it
//! is [`VALID`] byte for byte: nobody without the signing key makes a token that verifies, and
//! no re-encoding of the real one (padding, other base64 letters, another header) does.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pii_core::jwt::{Issuer, Verifier};

/// The one valid token: `{"alg":"EdDSA","kid":"fuzz"}`, claims iss/aud/sub/exp (2100)/zone.
const VALID: &str = "eyJhbGciOiJFZERTQSIsImtpZCI6ImZ1enoifQ.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIiwiYXVkIjoiYXBwIiwic3ViIjoidXNlci0xIiwiZXhwIjo0MTAyNDQ0ODAwLCJjdXN0b206cmVzaWRlbmN5IjoiZXUtY2VudHJhbCJ9.yoRFarjDpTm7LCDDBLFE-dddizEblN3h-EbWDEBcsLab7rVt_sbSMqk1BZAyk7bz4uNKLA1d3PXe6syN2oY7Cw";

const JWKS: &str = r#"{"keys":[
 {"kty":"OKP","crv":"Ed25519","kid":"fuzz","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
 {"kty":"RSA","kid":"rsa","e":"AQAB","n":"nqeThGmZpwbpXkOLr7T9gSrvzoQuO7pscxgqMZyru_SvmWdySoVaseMSDSMFi50UfDvkmphRID5sFJ86h1VRerEqL2YY-aqgsRVmZaX3_nWZFBIIyco-SUD-KbtYAIamL01Cyc_fYrrayM35t7QMLw7aGy1wYrPbXyKtirT6XjdH1U833q2-CLtG4dLdLlXipNDCs8ivPAILrgGdvASdtZJcMPwx60zDGmhBELmiLP4vyXkM8mPmt9uamlF9ECIpZaGwg29_t_8dmPctzIdUw0v-BSEilVg_oEElauv9E-ziao84JX6Iq0CyCi0-EPqUHBBEEGAJk9-hi9glkTMRaw"}
]}"#;

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let issuer = Issuer::from_jwks("https://idp.example", vec!["app".into()], JWKS)
            .expect("the fuzz key set loads");
        Verifier::new(vec![issuer], 60)
    })
}

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    if let Ok(verified) = verifier().verify(&token, 1_767_225_600) {
        assert_eq!(token, VALID, "a token other than the signed one verified");
        assert_eq!(verified.claim_str("sub"), Some("user-1"));
    }
});
