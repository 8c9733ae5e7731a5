#!/usr/bin/env python3
# Install: pip install -r scripts/requirements.txt  (cryptography>=42)
"""Open every at-rest test vector (docs/vectors/at_rest/*.json) from docs/at-rest.md alone, and
verify the erasure receipts of docs/vectors/erasure/receipts.json from docs/erasure.md §5.

The "other language" implementation of the at-rest format: it shares no code with the Rust
crate. The wrapped subject key (`psk1.`) is unwrapped with the RFC 9180 key schedule written on
pyca/cryptography in open_vectors.py (the envelope's independent opener, checked there against
the official HPKE test vector); the field (`pr1.`) is opened with cryptography's AESGCM. For a
success case it also performs the rewrap itself: opens the edge envelope (`pe2.`) with
open_vectors.py's opener and seals the value under the subject key with the recorded nonce,
which must give the recorded field byte for byte.

It also computes every per-subject token of docs/vectors/erasure/subject_tokens.json from
docs/at-rest.md §7 (cryptography's HKDF, the standard library's HMAC, the normalization steps
of docs/envelope.md §9 written here).

Usage: python3 docs/interop/open_at_rest.py
Prints one line per vector and "N passed, M failed"; exits non-zero when anything failed.
"""

import hashlib
import hmac
import json
import re
import struct
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

sys.path.insert(0, str(Path(__file__).resolve().parent))
from open_vectors import (  # noqa: E402  (the envelope opener of docs/envelope.md)
    KINDS,
    POLICY_RE,
    ZONE_RE,
    b64url,
    b64url_decode,
    location_from_binary,
    open_envelope,
    spec_open_base,
    thumbprint,
)

ROOT = Path(__file__).resolve().parents[2]
KEY_INFO = b"pii-edge/subject-key v1 zone="


class Refused(Exception):
    """An error name of docs/at-rest.md §5."""


def decode(text: str, stem: str) -> bytes:
    if not text.startswith(stem):
        raise Refused("Malformed")
    version, dot, payload = text[len(stem):].partition(".")
    if not dot or not version.isdigit() or len(version) > 3 or version.startswith("0"):
        raise Refused("Malformed")
    if version != "1":
        raise Refused("UnsupportedVersion")
    try:
        return b64url_decode(payload)
    except Exception:
        raise Refused("Malformed")


class Reader:
    def __init__(self, b: bytes):
        self.b, self.at = b, 0

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.b):
            raise Refused("Malformed")
        out = self.b[self.at:self.at + n]
        self.at += n
        return out

    def short(self) -> bytes:
        return self.take(self.take(1)[0])


def subject_ok(s: bytes) -> str:
    try:
        text = s.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("Malformed")
    if not text or any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text):
        raise Refused("Malformed")
    return text


def unwrap_subject_key(wrapped: str, private_jwks: list) -> dict:
    """§3: the subject key record `psk1.` -> {subject, key_id, created, secret}."""
    b = decode(wrapped, "psk")
    r = Reader(b)
    if r.take(1) != b"\x01":
        raise Refused("Malformed")
    zone = r.short()
    if not ZONE_RE.fullmatch(zone):
        raise Refused("Malformed")
    subject = subject_ok(r.short())
    key_id = r.take(16)
    created = struct.unpack(">Q", r.take(8))[0]
    hint = r.take(8)
    aad = b[:r.at]
    enc = r.take(32)
    ct = r.take(48)
    if r.at != len(b):
        raise Refused("Malformed")
    found = False
    for jwk in private_jwks:
        if jwk.get("zone") != zone.decode() or thumbprint(jwk["x"])[:8] != hint:
            continue
        found = True
        try:
            secret = spec_open_base(b64url_decode(jwk["d"]), enc, KEY_INFO + zone, aad, ct)
        except Exception:
            continue
        return {"subject": subject, "key_id": b64url(key_id), "created": created, "secret": secret}
    raise Refused("Tampered" if found else "NoKey")


def parse_field(text: str) -> dict:
    """§2: the binary form of a `pr1.` field."""
    b = decode(text, "pr")
    r = Reader(b)
    if r.take(1) != b"\x01":
        raise Refused("Malformed")
    kind = r.take(1)[0]
    if kind >= len(KINDS):
        raise Refused("Malformed")
    zone = r.short()
    if not ZONE_RE.fullmatch(zone):
        raise Refused("Malformed")
    subject = subject_ok(r.short())
    key_id = r.take(16)
    nonce = r.take(12)
    policy = r.short()
    if not POLICY_RE.fullmatch(policy):
        raise Refused("Malformed")
    (loc_len,) = struct.unpack(">H", r.take(2))
    try:
        location = location_from_binary(r.take(loc_len))
    except Refused:
        raise
    except Exception:
        raise Refused("Malformed")
    ct = b[r.at:]
    if len(ct) < 16:
        raise Refused("Malformed")
    return {"kind": KINDS[kind], "zone": zone.decode(), "subject": subject,
            "key_id": b64url(key_id), "nonce": nonce, "policy": policy.decode(),
            "location": location, "aad": b[:r.at], "ct": ct}


def open_field(text: str, record: dict, private_jwks: list):
    """§4 with a key store's record of the subject: live, erased or absent."""
    field = parse_field(text)
    state = record.get("state")
    if state == "erased" and record.get("key_id") == field["key_id"]:
        raise Refused("Erased")
    if state != "live":
        raise Refused("NoKey")
    key = unwrap_subject_key(record["wrapped"], private_jwks)
    if key["key_id"] != field["key_id"] or key["subject"] != field["subject"]:
        raise Refused("WrongKey")
    try:
        plaintext = AESGCM(key["secret"]).decrypt(field["nonce"], field["ct"], field["aad"])
    except Exception:
        raise Refused("Tampered")
    return field, key, plaintext


def rewrap(envelope: str, key: dict, nonce: bytes, private_jwks: list) -> str:
    """§4: open the edge's envelope, seal its value under the subject key with `nonce`."""
    kind, plaintext, binding = open_envelope(envelope, private_jwks)
    env_bin = b64url_decode(envelope[4:])
    # The location's binary form, taken from the envelope (docs/envelope.md §4.2): the bytes
    # after the policy, up to the ciphertext.
    zone_len = env_bin[2]
    n = env_bin[3 + zone_len]
    at = 4 + zone_len + 88 * n + 4
    policy = env_bin[at + 1:at + 1 + env_bin[at]]
    at += 1 + len(policy)
    (loc_len,) = struct.unpack(">H", env_bin[at:at + 2])
    location = env_bin[at + 2:at + 2 + loc_len]
    zone = binding["zone"].encode()
    subject = key["subject"].encode()
    header = (b"\x01" + bytes([KINDS.index(kind)]) + bytes([len(zone)]) + zone
              + bytes([len(subject)]) + subject + b64url_decode(key["key_id"]) + nonce
              + bytes([len(policy)]) + policy + struct.pack(">H", loc_len) + location)
    return "pr1." + b64url(header + AESGCM(key["secret"]).encrypt(nonce, plaintext, header))


def check(path: Path) -> list:
    v = json.loads(path.read_text())
    jwks = v["private_jwks"]["keys"]
    problems = []
    try:
        field, key, plaintext = open_field(v["at_rest"], v["subject_key"], jwks)
        got = "success"
    except Refused as e:
        got = str(e)
    if got != v["expect"]:
        return [f"expected {v['expect']}, got {got}"]
    if got == "success":
        h = v["header"]
        if plaintext != v["plaintext"].encode():
            problems.append("plaintext differs")
        for name in ("subject", "key_id", "kind", "policy", "zone", "location"):
            if field[name] != h[name]:
                problems.append(f"{name}: {field[name]!r} != {h[name]!r}")
        if key["secret"].hex() != v["subject_key"]["secret_hex"]:
            problems.append("unwrapped subject key differs")
        again = rewrap(v["envelope"], key, bytes.fromhex(v["nonce_hex"]), jwks)
        if again != v["at_rest"]:
            problems.append("rewrap with the recorded nonce gives another field")
    return problems


def verify_erasure(receipt: str, public_jwks: list) -> dict:
    """docs/erasure.md §5: a JWS signed with Ed25519, payload typ `erasure` version 1."""
    parts = receipt.split(".")
    if len(parts) != 3:
        raise Refused("malformed")
    header = json.loads(b64url_decode(parts[0]))
    if set(header) != {"alg", "kid"} or header["alg"] != "EdDSA":
        raise Refused("malformed")
    keys = {b64url(thumbprint_ed(k["x"])): k for k in public_jwks}
    if header["kid"] not in keys:
        raise Refused("unknown-key")
    public = Ed25519PublicKey.from_public_bytes(b64url_decode(keys[header["kid"]]["x"]))
    try:
        public.verify(b64url_decode(parts[2]), f"{parts[0]}.{parts[1]}".encode())
    except InvalidSignature:
        raise Refused("bad-signature")
    payload = json.loads(b64url_decode(parts[1]))
    if payload.get("v") != 1 or payload.get("typ") != "erasure":
        raise Refused("malformed")
    return {k: payload[k] for k in ("by", "sub", "kid", "iat")}


def thumbprint_ed(x: str) -> bytes:
    import hashlib
    return hashlib.sha256(('{"crv":"Ed25519","kty":"OKP","x":"%s"}' % x).encode()).digest()


DOMAIN_RE = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)*")


def normalize(steps: list, value: str) -> bytes:
    """docs/envelope.md §9 (policy.md "normalize"): the steps, in order."""
    for step in steps:
        if step == "trim":
            value = value.strip()
        elif step == "fullwidth":
            value = "".join(" " if c == "\u3000" else chr(ord(c) - 0xFEE0)
                            if 0xFF01 <= ord(c) <= 0xFF5E else c for c in value)
        elif step == "casefold":
            value = value.casefold()
        elif step == "digits":
            value = "".join(c for c in value if c in "0123456789")
            if not value:
                raise Refused("Untokenizable")
        elif step in ("email-domain", "email-subaddress"):
            local, at, domain = value.rpartition("@")
            if not at:
                raise Refused("Untokenizable")
            if step == "email-domain":
                domain = domain.removesuffix(".").lower()
            else:
                local = local.split("+", 1)[0]
            value = f"{local}@{domain}"
        else:
            raise Refused("Untokenizable")
    return value.encode()


def subject_token(secret: bytes, domain: str, steps: list, value: str) -> str:
    """docs/at-rest.md §7: ts1.<domain>.<b64url(HMAC-SHA256(HKDF(subject key), value'))>."""
    if len(domain) > 64 or not DOMAIN_RE.fullmatch(domain):
        raise Refused("InvalidDomain")
    value_ = normalize(steps, value)
    info = f"{domain}:{','.join(steps)}".encode()
    key = HKDF(algorithm=SHA256(), length=32, salt=b"pii-edge subject token v1",
               info=info).derive(secret)
    return f"ts1.{domain}." + b64url(hmac.new(key, value_, hashlib.sha256).digest())


def main() -> int:
    passed = failed = 0
    for path in sorted((ROOT / "docs/vectors/at_rest").glob("*.json")):
        problems = check(path)
        print(("ok   " if not problems else "FAIL ") + path.name, "; ".join(problems))
        passed, failed = passed + (not problems), failed + bool(problems)
    receipts = json.loads((ROOT / "docs/vectors/erasure/receipts.json").read_text())
    for case in receipts["cases"]:
        try:
            got, facts = "valid", verify_erasure(case["receipt"], receipts["public_jwks"]["keys"])
        except Refused as e:
            got, facts = str(e), None
        ok = got == case["expect"] and (facts is None or facts == case["erasure"])
        print(("ok   " if ok else "FAIL ") + "erasure receipt " + case["name"], got)
        passed, failed = passed + ok, failed + (not ok)
    tokens = json.loads((ROOT / "docs/vectors/erasure/subject_tokens.json").read_text())
    for case in tokens["cases"]:
        try:
            got = subject_token(bytes.fromhex(case["subject_key"]["secret_hex"]), case["domain"],
                                case["normalize"], case["value"])
        except Refused as e:
            got = str(e)
        ok = got == case["expect"]
        print(("ok   " if ok else "FAIL ") + "subject token " + case["name"], got)
        passed, failed = passed + ok, failed + (not ok)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed < 21 else 0


if __name__ == "__main__":
    sys.exit(main())
