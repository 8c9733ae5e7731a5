//! The only module of the crate that calls cryptographic libraries (`ring`, and `x25519-dalek`
//! for the opener). Everything here composes audited primitives; nothing is a cipher or a KDF
//! of its own.
//!
//! * RFC 9180 HPKE, base mode, single shot, suite DHKEM(X25519, HKDF-SHA256) (0x0020) /
//!   HKDF-SHA256 (0x0001) / AES-256-GCM (0x0002). `LabeledExtract` is HMAC-SHA256
//!   (`ring::hmac`), `LabeledExpand` is HKDF-Expand (`ring::hkdf::Prk::new_less_safe`), the
//!   AEAD is `ring::aead::AES_256_GCM`. The sealing side draws its ephemeral X25519 key from
//!   `ring::agreement`; the opening side (feature `open`) does the static X25519 with
//!   `x25519-dalek` and then runs the very same key schedule code.
//! * AES-256-GCM for the fields under the per-request data key.
//! * SHA-256 (thumbprints, `hash`) and HMAC-SHA256 (`tokenize`).
//! * Ed25519 (RFC 8032, `ring::signature`) for receipts: the edge signs, origins verify.
//!
//! The key schedule is checked against the official CFRG/RFC 9180 test vector for exactly this
//! suite in the unit tests at the bottom of this file.

use ring::rand::SecureRandom as _;
use ring::{aead, agreement, digest, hkdf, hmac, rand, signature};
use zeroize::Zeroizing;

/// Length of an X25519 public key, private key, and of an HPKE `enc` for DHKEM(X25519).
pub(crate) const X25519_LEN: usize = 32;
/// Length of an AES-256-GCM key (HPKE `Nk`) and of the data key.
pub(crate) const KEY_LEN: usize = 32;
/// Length of an AES-GCM nonce (HPKE `Nn`).
pub(crate) const NONCE_LEN: usize = 12;
/// Length of an AES-GCM tag (HPKE `Nt`).
pub(crate) const TAG_LEN: usize = 16;
/// Output length of SHA-256 / HMAC-SHA256 (HPKE `Nh`, `Nsecret`).
pub(crate) const HASH_LEN: usize = 32;

/// `suite_id` of the HPKE key schedule: "HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) ||
/// I2OSP(aead_id, 2) (RFC 9180 §5.1).
const HPKE_SUITE_ID: [u8; 10] = *b"HPKE\x00\x20\x00\x01\x00\x02";
/// `suite_id` of the KEM: "KEM" || I2OSP(kem_id, 2) (RFC 9180 §4.1).
const KEM_SUITE_ID: [u8; 5] = *b"KEM\x00\x20";
/// Version label of RFC 9180 §4.
const HPKE_V1: &[u8] = b"HPKE-v1";
/// `mode_base` (RFC 9180 §5).
const MODE_BASE: u8 = 0x00;

/// What went wrong in a primitive. Deliberately coarse: callers map it onto their own errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CryptoError {
    /// The system random number generator failed.
    Random,
    /// X25519 failed: a public key of small order (all-zero shared secret).
    KeyAgreement,
    /// AEAD authentication failed (or an input length was impossible).
    Authentication,
}

impl From<ring::error::Unspecified> for CryptoError {
    fn from(_: ring::error::Unspecified) -> Self {
        CryptoError::Authentication
    }
}

/// A fresh random 32-byte key from the operating system, in memory that is wiped on drop.
pub(crate) fn random_key() -> Result<Zeroizing<[u8; KEY_LEN]>, CryptoError> {
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    rand::SystemRandom::new()
        .fill(out.as_mut_slice())
        .map_err(|_| CryptoError::Random)?;
    Ok(out)
}

/// `N` random bytes from the operating system (nonces, key ids).
#[cfg(feature = "open")]
pub(crate) fn random_array<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    rand::SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| CryptoError::Random)?;
    Ok(out)
}

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; HASH_LEN] {
    let mut out = [0u8; HASH_LEN];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

/// HMAC-SHA256 of `data` under `key` (RFC 2104).
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; HASH_LEN] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut out = [0u8; HASH_LEN];
    out.copy_from_slice(hmac::sign(&key, data).as_ref());
    out
}

/// A token subkey: HKDF-Expand(PRK = the token key, info, 32) (RFC 5869 §2.3; the token key is
/// at least 32 uniformly random bytes, so it serves as the PRK without an extract step, as
/// §3.3 allows). Used to give each normalization of a token domain its own HMAC key.
pub(crate) fn token_subkey(
    key: &[u8],
    info: &[u8],
) -> Result<Zeroizing<[u8; HASH_LEN]>, CryptoError> {
    let prk = hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, key);
    let mut out = Zeroizing::new([0u8; HASH_LEN]);
    let parts: [&[u8]; 1] = [info];
    prk.expand(&parts, OutLen(HASH_LEN))?
        .fill(out.as_mut_slice())?;
    Ok(out)
}

/// HKDF-SHA256 (RFC 5869): Extract(`salt`, `ikm`) then Expand(`info`, 32). The per-subject
/// token key of docs/at-rest.md §7.
#[cfg(feature = "open")]
pub(crate) fn hkdf_sha256(
    salt: &[u8],
    ikm: &[u8],
    info: &[u8],
) -> Result<Zeroizing<[u8; HASH_LEN]>, CryptoError> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    let mut out = Zeroizing::new([0u8; HASH_LEN]);
    let parts: [&[u8]; 1] = [info];
    prk.expand(&parts, OutLen(HASH_LEN))?
        .fill(out.as_mut_slice())?;
    Ok(out)
}

/// RFC 9180 `LabeledExtract(salt, label, ikm)` = HKDF-Extract(salt, "HPKE-v1" || suite_id ||
/// label || ikm), where HKDF-Extract(salt, ikm) = HMAC-SHA256(key = salt, ikm) (RFC 5869; an
/// empty salt is the same HMAC key as `Nh` zero bytes).
fn labeled_extract(
    suite_id: &[u8],
    salt: &[u8],
    label: &[u8],
    ikm: &[u8],
) -> Zeroizing<[u8; HASH_LEN]> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, salt);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(HPKE_V1);
    ctx.update(suite_id);
    ctx.update(label);
    ctx.update(ikm);
    let mut out = Zeroizing::new([0u8; HASH_LEN]);
    out.copy_from_slice(ctx.sign().as_ref());
    out
}

/// Output length for `ring::hkdf::Prk::expand`.
struct OutLen(usize);

impl hkdf::KeyType for OutLen {
    fn len(&self) -> usize {
        self.0
    }
}

/// RFC 9180 `LabeledExpand(prk, label, info, L)` = HKDF-Expand(prk, I2OSP(L, 2) || "HPKE-v1" ||
/// suite_id || label || info, L), written into `out` (L = `out.len()`).
fn labeled_expand(
    suite_id: &[u8],
    prk: &[u8; HASH_LEN],
    label: &[u8],
    info: &[u8],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    let len = u16::try_from(out.len())
        .map_err(|_| CryptoError::Authentication)?
        .to_be_bytes();
    let prk = hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, prk);
    let parts: [&[u8]; 5] = [&len, HPKE_V1, suite_id, label, info];
    prk.expand(&parts, OutLen(out.len()))?.fill(out)?;
    Ok(())
}

/// DHKEM `ExtractAndExpand(dh, kem_context)` (RFC 9180 §4.1): the KEM shared secret.
fn extract_and_expand(
    dh: &[u8],
    enc: &[u8; X25519_LEN],
    pk_r: &[u8; X25519_LEN],
) -> Result<Zeroizing<[u8; HASH_LEN]>, CryptoError> {
    let eae_prk = labeled_extract(&KEM_SUITE_ID, b"", b"eae_prk", dh);
    let mut kem_context = [0u8; 2 * X25519_LEN];
    kem_context[..X25519_LEN].copy_from_slice(enc);
    kem_context[X25519_LEN..].copy_from_slice(pk_r);
    let mut shared_secret = Zeroizing::new([0u8; HASH_LEN]);
    labeled_expand(
        &KEM_SUITE_ID,
        &eae_prk,
        b"shared_secret",
        &kem_context,
        shared_secret.as_mut_slice(),
    )?;
    Ok(shared_secret)
}

/// The AEAD key and base nonce of an HPKE context.
struct Context {
    key: Zeroizing<[u8; KEY_LEN]>,
    base_nonce: [u8; NONCE_LEN],
}

/// RFC 9180 §5.1 `KeySchedule(mode_base, shared_secret, info, psk = "", psk_id = "")`, keeping
/// the AEAD key and base nonce (the exporter secret is not used).
fn key_schedule(shared_secret: &[u8; HASH_LEN], info: &[u8]) -> Result<Context, CryptoError> {
    let psk_id_hash = labeled_extract(&HPKE_SUITE_ID, b"", b"psk_id_hash", b"");
    let info_hash = labeled_extract(&HPKE_SUITE_ID, b"", b"info_hash", info);
    let mut ks_context = [0u8; 1 + 2 * HASH_LEN];
    ks_context[0] = MODE_BASE;
    ks_context[1..=HASH_LEN].copy_from_slice(psk_id_hash.as_slice());
    ks_context[1 + HASH_LEN..].copy_from_slice(info_hash.as_slice());
    let secret = labeled_extract(&HPKE_SUITE_ID, shared_secret, b"secret", b"");
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    labeled_expand(
        &HPKE_SUITE_ID,
        &secret,
        b"key",
        &ks_context,
        key.as_mut_slice(),
    )?;
    let mut base_nonce = [0u8; NONCE_LEN];
    labeled_expand(
        &HPKE_SUITE_ID,
        &secret,
        b"base_nonce",
        &ks_context,
        &mut base_nonce,
    )?;
    Ok(Context { key, base_nonce })
}

/// Everything of a single-shot HPKE `SealBase` after the Diffie-Hellman: the sequence number is
/// 0, so the nonce is `base_nonce` itself.
fn seal_after_dh(
    dh: &[u8],
    enc: &[u8; X25519_LEN],
    pk_r: &[u8; X25519_LEN],
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let shared_secret = extract_and_expand(dh, enc, pk_r)?;
    let ctx = key_schedule(&shared_secret, info)?;
    aes256gcm_seal(&ctx.key, ctx.base_nonce, aad, plaintext)
}

/// RFC 9180 single-shot `SealBase(pkR, info, aad, pt)`: a fresh ephemeral X25519 key (ring),
/// one agreement with `pk_r`, the key schedule, AES-256-GCM. Returns `(enc, ct)` where `ct`
/// is `plaintext.len() + 16` bytes.
pub(crate) fn hpke_seal(
    pk_r: &[u8; X25519_LEN],
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<([u8; X25519_LEN], Vec<u8>), CryptoError> {
    let rng = rand::SystemRandom::new();
    let sk_e = agreement::EphemeralPrivateKey::generate(&agreement::X25519, &rng)
        .map_err(|_| CryptoError::Random)?;
    let pk_e = sk_e.compute_public_key().map_err(|_| CryptoError::Random)?;
    let enc: [u8; X25519_LEN] = pk_e
        .as_ref()
        .try_into()
        .map_err(|_| CryptoError::KeyAgreement)?;
    let peer = agreement::UnparsedPublicKey::new(&agreement::X25519, pk_r);
    // ring refuses an all-zero shared secret (small-order public key), as RFC 9180 §7.1.4
    // requires.
    let ct = agreement::agree_ephemeral(sk_e, &peer, |dh| {
        seal_after_dh(dh, &enc, pk_r, info, aad, plaintext)
    })
    .map_err(|_| CryptoError::KeyAgreement)??;
    Ok((enc, ct))
}

/// RFC 9180 single-shot `OpenBase(enc, skR, info, aad, ct)`. `pk_r` is the public key of
/// `sk_r` (part of the KEM context). The X25519 is done by `x25519-dalek`; the rest is the same
/// code as [`hpke_seal`].
#[cfg(feature = "open")]
pub(crate) fn hpke_open(
    sk_r: &[u8; X25519_LEN],
    pk_r: &[u8; X25519_LEN],
    enc: &[u8; X25519_LEN],
    info: &[u8],
    aad: &[u8],
    ct: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let secret = x25519_dalek::StaticSecret::from(*sk_r);
    let dh = secret.diffie_hellman(&x25519_dalek::PublicKey::from(*enc));
    if !dh.was_contributory() {
        return Err(CryptoError::KeyAgreement);
    }
    let shared_secret = extract_and_expand(dh.as_bytes(), enc, pk_r)?;
    let ctx = key_schedule(&shared_secret, info)?;
    aes256gcm_open(&ctx.key, ctx.base_nonce, aad, ct)
}

/// The X25519 public key of a private key (RFC 7748 `X25519(d, 9)`).
#[cfg(feature = "open")]
pub(crate) fn x25519_public(sk: &[u8; X25519_LEN]) -> [u8; X25519_LEN] {
    let secret = x25519_dalek::StaticSecret::from(*sk);
    x25519_dalek::PublicKey::from(&secret).to_bytes()
}

/// AES-256-GCM encryption; returns ciphertext || 16-byte tag.
pub(crate) fn aes256gcm_seal(
    key: &[u8; KEY_LEN],
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    SealingKey::new(key)?.seal(nonce, aad, plaintext)
}

/// An AES-256-GCM key expanded once, for sealing many fields under one data key (the key
/// schedule is about a tenth of a small field's sealing cost).
pub(crate) struct SealingKey(aead::LessSafeKey);

impl SealingKey {
    pub(crate) fn new(key: &[u8; KEY_LEN]) -> Result<Self, CryptoError> {
        Ok(SealingKey(aead::LessSafeKey::new(aead::UnboundKey::new(
            &aead::AES_256_GCM,
            key,
        )?)))
    }

    /// AES-256-GCM encryption; returns ciphertext || tag.
    pub(crate) fn seal(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let mut buf = Vec::with_capacity(plaintext.len() + TAG_LEN);
        buf.extend_from_slice(plaintext);
        self.seal_in_place(nonce, aad, &mut buf, 0)?;
        Ok(buf)
    }

    /// AES-256-GCM encryption of `buf[from..]` in place, the tag appended to `buf`: lets a
    /// caller encrypt straight into a buffer that already holds a header, with no copy of the
    /// ciphertext. Reserve `TAG_LEN` spare capacity first if the plaintext must not be left
    /// behind in a reallocated-away block. On error `buf` is unchanged.
    pub(crate) fn seal_in_place(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut Vec<u8>,
        from: usize,
    ) -> Result<(), CryptoError> {
        let in_out = buf.get_mut(from..).ok_or(CryptoError::Authentication)?;
        let tag = self.0.seal_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(aad),
            in_out,
        )?;
        buf.extend_from_slice(tag.as_ref());
        Ok(())
    }
}

/// Length of an Ed25519 private key (the RFC 8032 seed) and of a public key.
pub(crate) const ED25519_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub(crate) const ED25519_SIG_LEN: usize = 64;

/// An Ed25519 key pair (RFC 8032) made from its 32-byte seed. ring keeps the expanded key;
/// the caller keeps the seed (wiped on drop) if it must write the key out again.
pub(crate) struct SigningKey(signature::Ed25519KeyPair);

impl SigningKey {
    /// The key pair of `seed`; with `public`, refuses a seed that is not its private half.
    pub(crate) fn from_seed(
        seed: &[u8; ED25519_LEN],
        public: Option<&[u8; ED25519_LEN]>,
    ) -> Result<Self, CryptoError> {
        let pair = match public {
            Some(public) => signature::Ed25519KeyPair::from_seed_and_public_key(seed, public),
            None => signature::Ed25519KeyPair::from_seed_unchecked(seed),
        };
        pair.map(SigningKey)
            .map_err(|_| CryptoError::Authentication)
    }

    /// The public key (RFC 8032 `A`).
    pub(crate) fn public(&self) -> [u8; ED25519_LEN] {
        use signature::KeyPair as _;
        let mut out = [0u8; ED25519_LEN];
        out.copy_from_slice(self.0.public_key().as_ref());
        out
    }

    /// The Ed25519 signature of `message` (deterministic, RFC 8032 §5.1.6).
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; ED25519_SIG_LEN] {
        let mut out = [0u8; ED25519_SIG_LEN];
        out.copy_from_slice(self.0.sign(message).as_ref());
        out
    }
}

/// Whether `sig` is a valid Ed25519 signature of `message` under `public` (RFC 8032 §5.1.7).
#[cfg(any(test, feature = "open"))]
pub(crate) fn ed25519_verify(public: &[u8; ED25519_LEN], message: &[u8], sig: &[u8]) -> bool {
    signature::UnparsedPublicKey::new(&signature::ED25519, public)
        .verify(message, sig)
        .is_ok()
}

/// A public key that verifies JWS signatures (RFC 7518 §3), with the one algorithm it is for:
/// the algorithm comes from the key, never from the token (see `jwt`).
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum JwsKey {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (`RS256`): the modulus and exponent, big-endian.
    Rs256 { n: Vec<u8>, e: Vec<u8> },
    /// RSASSA-PSS with SHA-256 and MGF1-SHA-256, salt of 32 bytes (`PS256`).
    Ps256 { n: Vec<u8>, e: Vec<u8> },
    /// ECDSA on P-256 with SHA-256, the signature as `R || S` (`ES256`): the uncompressed
    /// point `04 || x || y`. Feature `es256`.
    #[cfg(feature = "es256")]
    Es256(Vec<u8>),
    /// Ed25519 (`EdDSA`, RFC 8037; `Ed25519` in RFC 9864).
    Ed25519([u8; ED25519_LEN]),
}

impl JwsKey {
    /// Whether `sig` is a valid signature of `message` under this key and its algorithm.
    /// RSA moduli of 2048 to 8192 bits only (ring's bounds).
    pub(crate) fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match self {
            JwsKey::Rs256 { n, e } => signature::RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
                .is_ok(),
            JwsKey::Ps256 { n, e } => signature::RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PSS_2048_8192_SHA256, message, sig)
                .is_ok(),
            #[cfg(feature = "es256")]
            JwsKey::Es256(point) => {
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, sig)
                    .is_ok()
            }
            JwsKey::Ed25519(public) => {
                signature::UnparsedPublicKey::new(&signature::ED25519, public)
                    .verify(message, sig)
                    .is_ok()
            }
        }
    }
}

/// AES-256-GCM decryption of ciphertext || tag; the plaintext lives in memory wiped on drop.
#[cfg(any(test, feature = "open"))]
pub(crate) fn aes256gcm_open(
    key: &[u8; KEY_LEN],
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    ct: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let key = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, key)?);
    let mut buf = Zeroizing::new(ct.to_vec());
    let len = key
        .open_in_place(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(aad),
            buf.as_mut_slice(),
        )?
        .len();
    buf.truncate(len);
    Ok(buf)
}

#[cfg(test)]
#[cfg_attr(not(feature = "open"), allow(dead_code))]
mod tests {
    //! Known-answer tests: the CFRG HPKE test vectors (the set RFC 9180 Appendix A is drawn
    //! from), entry mode_base / kem 0x0020 / kdf 0x0001 / aead 0x0002, first encryption
    //! (sequence number 0 is what a single-shot seal uses).
    use super::*;

    const INFO: &str = "4f6465206f6e2061204772656369616e2055726e";
    const SK_EM: &str = "179d4b53b6365c45b600c4163b61d95cbc2f4d9e36f1695558dce265ab8bab11";
    const PK_EM: &str = "6c93e09869df3402d7bf231bf540fadd35cd56be14f97178f0954db94b7fc256";
    const SK_RM: &str = "497b4502664cfea5d5af0b39934dac72242a74f8480451e1aee7d6a53320333d";
    const PK_RM: &str = "430f4b9859665145a6b1ba274024487bd66f03a2dd577d7753c68d7d7d00c00c";
    const SHARED_SECRET: &str = "3101c54c3a4f87439eaac080699ed9bbcc726ffe44e860c0424ccb7e3e2ead7b";
    const KEY: &str = "f50b0609186798729ed0564b36ef2ef8044f1f9d05636874d1f46c819c7a669f";
    const BASE_NONCE: &str = "151d9929e2449747889bc923";
    const AAD: &str = "436f756e742d30";
    const PT: &str = "4265617574792069732074727574682c20747275746820626561757479";
    const CT: &str = "e5d84cd531cfb583096e7cfa9641bd3079cf3a91cda813c52deb5f512be9931980a41de125a925cdad859d5b7a";

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn hex32(s: &str) -> [u8; 32] {
        hex(s).try_into().expect("32 bytes")
    }

    #[test]
    fn key_schedule_matches_rfc9180_vector() {
        let ctx = key_schedule(&hex32(SHARED_SECRET), &hex(INFO)).expect("key schedule");
        assert_eq!(ctx.key.as_slice(), hex(KEY).as_slice());
        assert_eq!(ctx.base_nonce.as_slice(), hex(BASE_NONCE).as_slice());
    }

    #[test]
    fn aead_matches_rfc9180_vector() {
        let nonce: [u8; 12] = hex(BASE_NONCE).try_into().expect("12 bytes");
        let ct = aes256gcm_seal(&hex32(KEY), nonce, &hex(AAD), &hex(PT)).expect("seal");
        assert_eq!(ct, hex(CT));
        let pt = aes256gcm_open(&hex32(KEY), nonce, &hex(AAD), &ct).expect("open");
        assert_eq!(pt.as_slice(), hex(PT).as_slice());
    }

    #[test]
    fn seal_in_place_after_a_header() {
        let key = SealingKey::new(&hex32(KEY)).expect("key");
        let nonce: [u8; 12] = hex(BASE_NONCE).try_into().expect("12 bytes");
        let mut buf = b"head".to_vec();
        buf.extend_from_slice(&hex(PT));
        key.seal_in_place(nonce, &hex(AAD), &mut buf, 4)
            .expect("seal");
        assert_eq!(&buf[..4], b"head");
        assert_eq!(&buf[4..], hex(CT).as_slice());
        assert!(key.seal_in_place(nonce, b"", &mut buf, 1000).is_err());
    }

    #[test]
    fn tampered_aead_fails() {
        let nonce = [0u8; 12];
        let mut ct = aes256gcm_seal(&[7; 32], nonce, b"aad", b"hello").expect("seal");
        ct[0] ^= 1;
        assert_eq!(
            aes256gcm_open(&[7; 32], nonce, b"aad", &ct),
            Err(CryptoError::Authentication)
        );
        assert!(aes256gcm_open(&[7; 32], nonce, b"aad", &ct[..3]).is_err());
    }

    #[cfg(feature = "open")]
    #[test]
    fn dhkem_matches_rfc9180_vector() {
        let sk_e = x25519_dalek::StaticSecret::from(hex32(SK_EM));
        assert_eq!(x25519_public(&hex32(SK_EM)), hex32(PK_EM));
        assert_eq!(x25519_public(&hex32(SK_RM)), hex32(PK_RM));
        let dh = sk_e.diffie_hellman(&x25519_dalek::PublicKey::from(hex32(PK_RM)));
        let ss = extract_and_expand(dh.as_bytes(), &hex32(PK_EM), &hex32(PK_RM)).expect("kem");
        assert_eq!(ss.as_slice(), hex(SHARED_SECRET).as_slice());
        // The sealing path after the DH (shared with hpke_seal) gives the vector's ciphertext.
        let ct = seal_after_dh(
            dh.as_bytes(),
            &hex32(PK_EM),
            &hex32(PK_RM),
            &hex(INFO),
            &hex(AAD),
            &hex(PT),
        )
        .expect("seal");
        assert_eq!(ct, hex(CT));
    }

    #[cfg(feature = "open")]
    #[test]
    fn open_matches_rfc9180_vector() {
        let pt = hpke_open(
            &hex32(SK_RM),
            &hex32(PK_RM),
            &hex32(PK_EM),
            &hex(INFO),
            &hex(AAD),
            &hex(CT),
        )
        .expect("open");
        assert_eq!(pt.as_slice(), hex(PT).as_slice());
    }

    #[cfg(feature = "open")]
    #[test]
    fn seal_then_open() {
        let sk = [42u8; 32];
        let pk = x25519_public(&sk);
        let (enc, ct) = hpke_seal(&pk, b"info", b"aad", b"data key").expect("seal");
        assert_eq!(ct.len(), 8 + TAG_LEN);
        let pt = hpke_open(&sk, &pk, &enc, b"info", b"aad", &ct).expect("open");
        assert_eq!(pt.as_slice(), b"data key");
        assert!(hpke_open(&sk, &pk, &enc, b"other", b"aad", &ct).is_err());
        assert!(hpke_open(&sk, &pk, &enc, b"info", b"other", &ct).is_err());
        // A small-order point (all zeros) is refused on both sides.
        assert_eq!(
            hpke_seal(&[0; 32], b"", b"", b"").err(),
            Some(CryptoError::KeyAgreement)
        );
        assert_eq!(
            hpke_open(&sk, &pk, &[0; 32], b"info", b"aad", &ct).err(),
            Some(CryptoError::KeyAgreement)
        );
    }

    #[test]
    fn ed25519_matches_rfc8032_test_1() {
        // RFC 8032 §7.1, TEST 1 (empty message).
        let seed = hex32("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        let public = hex32("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        let key = SigningKey::from_seed(&seed, Some(&public)).expect("key");
        assert_eq!(key.public(), public);
        let sig = key.sign(b"");
        assert_eq!(
            sig.to_vec(),
            hex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
        );
        assert!(ed25519_verify(&public, b"", &sig));
        assert!(!ed25519_verify(&public, b"x", &sig));
        assert!(!ed25519_verify(&public, b"", &sig[..63]));
        // A seed that is not the private half of `public` is refused.
        assert!(SigningKey::from_seed(&[1; 32], Some(&public)).is_err());
    }

    #[test]
    #[cfg(feature = "open")]
    fn hkdf_rfc5869_test_case_1() {
        // RFC 5869 A.1 (the first 32 of its 42 output bytes).
        let ikm = [0x0b; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let okm = hkdf_sha256(&salt, &ikm, &info).expect("hkdf");
        assert_eq!(
            okm.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
        );
    }

    #[test]
    fn sha256_and_hmac() {
        assert_eq!(
            sha256(b"abc").to_vec(),
            hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        // RFC 4231 test case 2.
        assert_eq!(
            hmac_sha256(b"Jefe", b"what do ya want for nothing?").to_vec(),
            hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
    }
}
