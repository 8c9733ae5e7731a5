#!/usr/bin/env python3
# Install: pip install "pyhpke==0.6.5" "cryptography>=42"
"""Open every pii-edge test vector (docs/vectors/*.json) from the written spec alone.

This is the "other language" opener of docs/envelope.md. It shares no code with the Rust
crate. Each success vector is opened twice, and both must give the recorded kind and plaintext:

  1. the data key is unwrapped with pyhpke (an independent RFC 9180 implementation);
  2. the data key is unwrapped with a from-the-spec RFC 9180 key schedule written below on
     pyca/cryptography's X25519, HMAC, HKDF-Expand and AES-GCM.

The field itself is opened with cryptography's AESGCM. Every `fail_*` vector must fail with
the error named in the file (the checks follow the order of docs/envelope.md, "Opening").

Usage: python3 docs/interop/open_vectors.py [VECTOR_DIR]
Prints "N passed, M failed" and exits non-zero when anything failed.
"""

import base64
import hashlib
import hmac
import json
import re
import struct
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

try:
    from pyhpke import AEADId, CipherSuite, KDFId, KEMId

    PYHPKE = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES256_GCM)
except ImportError:  # reported as a failure below: the CI installs it
    PYHPKE = None

VERSION = 1
MAX_RECIPIENTS = 16
MAX_PLAINTEXT = 1 << 20
INFO_PREFIX = b"pii-edge/v1 zone="
ZONE_RE = re.compile(r"^[a-z0-9-]{1,64}$")
KINDS = ["text", "string", "number", "bool", "null", "object", "array"]


class OpenError(Exception):
    """Carries one of: Malformed, UnsupportedVersion, WrongZone, NoKey, Authentication."""


def b64url_decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    # Canonical only: re-encoding must give the same text (no stray trailing bits).
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != text:
        raise ValueError("non-canonical base64url")
    return raw


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(x: str) -> bytes:
    """SHA-256 of the RFC 7638 canonical JWK of an X25519 key."""
    return hashlib.sha256(('{"crv":"X25519","kty":"OKP","x":"%s"}' % x).encode()).digest()


# --- RFC 9180, base mode, single shot, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM --

KEM_SUITE_ID = b"KEM" + struct.pack(">H", 0x0020)
HPKE_SUITE_ID = b"HPKE" + struct.pack(">HHH", 0x0020, 0x0001, 0x0002)


def labeled_extract(suite_id: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or b"\0" * 32, b"HPKE-v1" + suite_id + label + ikm, hashlib.sha256).digest()


def labeled_expand(suite_id: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    labeled_info = struct.pack(">H", length) + b"HPKE-v1" + suite_id + label + info
    return HKDFExpand(algorithm=SHA256(), length=length, info=labeled_info).derive(prk)


def spec_open_base(sk_r: bytes, enc: bytes, info: bytes, aad: bytes, ct: bytes) -> bytes:
    sk = X25519PrivateKey.from_private_bytes(sk_r)
    pk_r = sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    dh = sk.exchange(X25519PublicKey.from_public_bytes(enc))  # raises on an all-zero result
    eae_prk = labeled_extract(KEM_SUITE_ID, b"", b"eae_prk", dh)
    shared_secret = labeled_expand(KEM_SUITE_ID, eae_prk, b"shared_secret", enc + pk_r, 32)
    psk_id_hash = labeled_extract(HPKE_SUITE_ID, b"", b"psk_id_hash", b"")
    info_hash = labeled_extract(HPKE_SUITE_ID, b"", b"info_hash", info)
    context = b"\x00" + psk_id_hash + info_hash
    secret = labeled_extract(HPKE_SUITE_ID, shared_secret, b"secret", b"")
    key = labeled_expand(HPKE_SUITE_ID, secret, b"key", context, 32)
    base_nonce = labeled_expand(HPKE_SUITE_ID, secret, b"base_nonce", context, 12)
    return AESGCM(key).decrypt(base_nonce, ct, aad)  # sequence number 0: nonce = base_nonce


def pyhpke_open_base(sk_r: bytes, enc: bytes, info: bytes, aad: bytes, ct: bytes) -> bytes:
    if PYHPKE is None:
        raise RuntimeError("pyhpke is not installed")
    skr = PYHPKE.kem.deserialize_private_key(sk_r)
    # pyhpke 0.6 has no single-shot open: a recipient context opens sequence number 0.
    return PYHPKE.create_recipient_context(enc, skr, info=info).open(ct, aad=aad)


# --- The envelope (docs/envelope.md) ---------------------------------------------------------


def u16_prefixed(data: bytes) -> bytes:
    return struct.pack(">H", len(data)) + data


def parse(text: str):
    m = re.fullmatch(r"pe([1-9][0-9]{0,2})\.(.+)", text, re.S)
    if not m:
        raise OpenError("Malformed")
    if m.group(1) != str(VERSION):
        raise OpenError("UnsupportedVersion")
    try:
        b = b64url_decode(m.group(2))
    except ValueError:
        raise OpenError("Malformed")
    try:
        if b[0] != VERSION or b[1] >= len(KINDS):
            raise OpenError("Malformed")
        kind, zlen = b[1], b[2]
        zone = b[3 : 3 + zlen]
        if len(zone) != zlen or not ZONE_RE.match(zone.decode("ascii", "replace")):
            raise OpenError("Malformed")
        at = 3 + zlen
        n = b[at]
        at += 1
        if not 1 <= n <= MAX_RECIPIENTS:
            raise OpenError("Malformed")
        recipients = []
        for _ in range(n):
            hint, enc, wrapped = b[at : at + 8], b[at + 8 : at + 40], b[at + 40 : at + 88]
            if len(wrapped) != 48:
                raise OpenError("Malformed")
            recipients.append((hint, enc, wrapped))
            at += 88
        if len(b) < at + 8 + 16:
            raise OpenError("Malformed")
        (counter,) = struct.unpack(">Q", b[at : at + 8])
        ct = b[at + 8 :]
        if counter >= 1 << 32 or len(ct) > MAX_PLAINTEXT + 16:
            raise OpenError("Malformed")
    except IndexError:
        raise OpenError("Malformed")
    return kind, zone, recipients, counter, ct


def open_envelope(text: str, binding: dict, private_jwks: list, unwrap) -> tuple:
    kind, zone, recipients, counter, ct = parse(text)
    if zone != binding["zone"].encode():
        raise OpenError("WrongZone")
    aad = (
        bytes([VERSION])
        + u16_prefixed(binding["policy"].encode())
        + u16_prefixed(binding["location"].encode())
        + u16_prefixed(zone)
        + bytes([kind, len(recipients)])
        + b"".join(h for h, _, _ in recipients)
    )
    info = INFO_PREFIX + zone
    found = False
    for hint, enc, wrapped in recipients:
        for jwk in private_jwks:
            if jwk["zone"].encode() != zone or thumbprint(jwk["x"])[:8] != hint:
                continue
            found = True
            kid = b64url(thumbprint(jwk["x"]))
            try:
                dk = unwrap(b64url_decode(jwk["d"]), enc, info, kid.encode(), wrapped)
                nonce = b"\0\0\0\0" + struct.pack(">Q", counter)
                return KINDS[kind], AESGCM(dk).decrypt(nonce, ct, aad)
            except OpenError:
                raise
            except Exception:  # authentication failure of the wrap or the field
                continue
    raise OpenError("Authentication" if found else "NoKey")


# The CFRG/RFC 9180 test vector for exactly this suite (mode_base, kem 0x0020, kdf 0x0001,
# aead 0x0002), first encryption: checks both unwrap paths before any envelope.
KAT = {
    "info": "4f6465206f6e2061204772656369616e2055726e",
    "skRm": "497b4502664cfea5d5af0b39934dac72242a74f8480451e1aee7d6a53320333d",
    "enc": "6c93e09869df3402d7bf231bf540fadd35cd56be14f97178f0954db94b7fc256",
    "aad": "436f756e742d30",
    "ct": "e5d84cd531cfb583096e7cfa9641bd3079cf3a91cda813c52deb5f512be9931980a41de125a925cdad859d5b7a",
    "pt": "4265617574792069732074727574682c20747275746820626561757479",
}


def check_kat() -> list:
    k = {name: bytes.fromhex(value) for name, value in KAT.items()}
    problems = []
    for name, unwrap in (("pyhpke", pyhpke_open_base), ("spec", spec_open_base)):
        try:
            if unwrap(k["skRm"], k["enc"], k["info"], k["aad"], k["ct"]) != k["pt"]:
                problems.append(f"{name}: wrong plaintext")
        except Exception as e:  # noqa: BLE001
            problems.append(f"{name}: {type(e).__name__} {e}")
    return problems


def check(path: Path) -> list:
    """Returns a list of problems (empty when the vector passes)."""
    v = json.loads(path.read_text(encoding="utf-8"))
    problems = []
    keys = v["private_jwks"]["keys"]
    for jwk in keys:
        if jwk.get("kid") not in (None, b64url(thumbprint(jwk["x"]))):
            problems.append(f"kid of {jwk['kid']} is not its RFC 7638 thumbprint")
    for name, unwrap in (("pyhpke", pyhpke_open_base), ("spec", spec_open_base)):
        if "expect_error" in v:
            try:
                open_envelope(v["envelope"], v["binding"], keys, unwrap)
                problems.append(f"{name}: opened, expected {v['expect_error']}")
            except OpenError as e:
                if str(e) != v["expect_error"]:
                    problems.append(f"{name}: {e}, expected {v['expect_error']}")
            continue
        # Each recipient key alone must open it.
        for jwk in keys:
            if jwk["kid"] not in v["recipients"]:
                continue
            try:
                kind, pt = open_envelope(v["envelope"], v["binding"], [jwk], unwrap)
            except Exception as e:  # noqa: BLE001 - report any failure
                problems.append(f"{name} with {jwk['kid']}: {type(e).__name__} {e}")
                continue
            if kind != v["kind"] or pt != v["plaintext"].encode("utf-8"):
                problems.append(f"{name} with {jwk['kid']}: got {kind} {pt!r}")
    return problems


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "vectors"
    files = sorted(root.glob("*.json"))
    passed = failed = 0
    kat = check_kat()
    for p in kat:
        print(f"FAIL rfc9180-kat: {p}")
    if kat:
        failed += 1
    else:
        passed += 1
        print("ok   rfc9180-kat (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM)")
    if not files:
        print(f"no vectors in {root}")
        failed += 1
    for path in files:
        try:
            problems = check(path)
        except Exception as e:  # noqa: BLE001 - a broken vector is a failure
            problems = [f"{type(e).__name__}: {e}"]
        if problems:
            failed += 1
            for p in problems:
                print(f"FAIL {path.name}: {p}")
        else:
            passed += 1
            print(f"ok   {path.name}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
