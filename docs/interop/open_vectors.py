#!/usr/bin/env python3
# Install: pip install -r scripts/requirements.txt  (pyhpke==0.6.5, cryptography>=42)
"""Open every pii-edge test vector (docs/vectors/*.json) from the written spec alone.

This is the "other language" opener of docs/envelope.md (envelope format version 2). It shares
no code with the Rust crate. Each vector is opened twice, and both must give the outcome the
file records (`expect`), and, when the file has a `binding`, the kind, plaintext and binding
(policy, zone, location) that `open` must return:

  1. the data key is unwrapped with pyhpke (an independent RFC 9180 implementation);
  2. the data key is unwrapped with a from-the-spec RFC 9180 key schedule written below on
     pyca/cryptography's X25519, HMAC, HKDF-Expand and AES-GCM.

The field itself is opened with cryptography's AESGCM. The location is parsed from its binary
form (§3.3) and printed in the grammar of §3.2. Checks follow the order of §6 ("Opening").

docs/interop/open_cli_output.py imports the opener from this file.

Usage: python3 docs/interop/open_vectors.py [VECTOR_DIR]
Prints one line per vector (with its binding) and "N passed, M failed"; exits non-zero when
anything failed.
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

VERSION = 2
MAX_RECIPIENTS = 16
MAX_PLAINTEXT = 1 << 20
INFO_PREFIX = b"pii-edge/v2 zone="
ZONE_RE = re.compile(rb"[a-z0-9-]{1,64}")
POLICY_RE = re.compile(rb"[A-Za-z0-9._-]{1,64}")
KINDS = ["text", "string", "number", "bool", "null", "object", "array"]
PARTS = {1: "header", 2: "query", 3: "form", 4: "cookie"}
# §4.4: what looks like an envelope.
IS_ENVELOPE = re.compile(r"pe[0-9]{1,3}\.")


class OpenError(Exception):
    """One of the error names of docs/envelope.md §6: Malformed, UnsupportedVersion, WrongZone,
    NoKey, Tampered, WrongPolicy, WrongLocation."""


def is_envelope(s: str) -> bool:
    return IS_ENVELOPE.match(s) is not None


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
    """SHA-256 of the RFC 7638 canonical JWK of an X25519 key (§2.2)."""
    return hashlib.sha256(('{"crv":"X25519","kty":"OKP","x":"%s"}' % x).encode()).digest()


# --- Locations: the grammar of §3.2 ----------------------------------------------------------

SHORT_ESCAPES = {"'": "\\'", "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
NAME_CHARS = set(b"abcdefghijklmnopqrstuvwxyz0123456789-._~")


def json_location(path) -> str:
    """`json:` + the RFC 9535 §2.7 normalized path of a list of names (str) and indexes (int)."""
    out = ["json:$"]
    for element in path:
        if isinstance(element, int):
            out.append("[%d]" % element)
            continue
        name = []
        for c in element:
            if c in SHORT_ESCAPES:
                name.append(SHORT_ESCAPES[c])
            elif ord(c) < 0x20:
                name.append("\\u%04x" % ord(c))
            else:
                name.append(c)
        out.append("['" + "".join(name) + "']")
    return "".join(out)


def field_location(part: str, name: bytes, index: int) -> str:
    """`part:name[#index]`: the decoded name, ASCII lower-cased, with every byte outside
    a-z 0-9 - . _ ~ written %HH (upper-case hex); the index omitted when 0."""
    if isinstance(name, str):
        name = name.encode("utf-8")
    name = name.lower()  # bytes.lower() lower-cases ASCII only, as the spec says
    text = "".join(chr(b) if b in NAME_CHARS else "%%%02X" % b for b in name)
    return "%s:%s%s" % (part, text, "#%d" % index if index else "")


def location_from_binary(b: bytes) -> str:
    """Parse the binary form of §3.3 and print it in the text form of §3.2."""
    if not b:
        raise OpenError("Malformed")
    code, rest = b[0], b[1:]
    if code == 0:
        path, at = [], 0
        while at < len(rest):
            tag = rest[at]
            if tag == 0:
                if at + 3 > len(rest):
                    raise OpenError("Malformed")
                (n,) = struct.unpack(">H", rest[at + 1 : at + 3])
                raw = rest[at + 3 : at + 3 + n]
                if len(raw) != n:
                    raise OpenError("Malformed")
                try:
                    path.append(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    raise OpenError("Malformed")
                at += 3 + n
            elif tag == 1:
                if at + 5 > len(rest):
                    raise OpenError("Malformed")
                path.append(struct.unpack(">I", rest[at + 1 : at + 5])[0])
                at += 5
            else:
                raise OpenError("Malformed")
        return json_location(path)
    if code not in PARTS or len(rest) < 5:
        raise OpenError("Malformed")
    (index,) = struct.unpack(">I", rest[:4])
    name = rest[4:]
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        raise OpenError("Malformed")
    if any(0x41 <= c <= 0x5A for c in name):
        raise OpenError("Malformed")
    return field_location(PARTS[code], name, index)


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


UNWRAPS = (("pyhpke", pyhpke_open_base), ("spec", spec_open_base))

# --- The envelope (docs/envelope.md §4, §6) --------------------------------------------------


def parse(text: str) -> dict:
    """Steps 1 and 2 of §6: the text, then the binary layout of §4.2."""
    m = re.fullmatch(r"pe([1-9][0-9]{0,2})\.([A-Za-z0-9_-]+)", text)
    if not m or len(m.group(2)) % 4 == 1:
        raise OpenError("Malformed")
    if m.group(1) != str(VERSION):
        raise OpenError("UnsupportedVersion")
    try:
        b = b64url_decode(m.group(2))
    except ValueError:  # non-zero trailing bits
        raise OpenError("Malformed")
    at = 0

    def take(n: int) -> bytes:
        nonlocal at
        if at + n > len(b):
            raise OpenError("Malformed")
        at += n
        return b[at - n : at]

    if take(1)[0] != VERSION:
        raise OpenError("Malformed")
    kind = take(1)[0]
    if kind >= len(KINDS):
        raise OpenError("Malformed")
    zone = take(take(1)[0])
    if not ZONE_RE.fullmatch(zone):
        raise OpenError("Malformed")
    n = take(1)[0]
    if not 1 <= n <= MAX_RECIPIENTS:
        raise OpenError("Malformed")
    recipients = [(take(8), take(32), take(48)) for _ in range(n)]
    (counter,) = struct.unpack(">I", take(4))
    policy = take(take(1)[0])
    if not POLICY_RE.fullmatch(policy):
        raise OpenError("Malformed")
    (l,) = struct.unpack(">H", take(2))
    location_binary = take(l)
    location = location_from_binary(location_binary)
    ct = b[at:]
    if not 16 <= len(ct) <= MAX_PLAINTEXT + 16:
        raise OpenError("Malformed")
    return {
        "kind": kind,
        "zone": zone.decode(),
        "recipients": recipients,
        "counter": counter,
        "policy": policy.decode(),
        "location": location,
        "location_binary": location_binary,
        "aad": b[:at],
        "ct": ct,
    }


def open_envelope(text: str, private_jwks: list, unwrap=spec_open_base, expected: dict = None):
    """`open` (expected None) or `open_expecting` of §6. Returns (kind name, plaintext bytes,
    binding dict with policy, zone, location); raises OpenError."""
    env = parse(text)
    if expected is not None and expected["zone"] != env["zone"]:
        raise OpenError("WrongZone")
    info = INFO_PREFIX + env["zone"].encode()
    nonce = b"\0" * 8 + struct.pack(">I", env["counter"])
    found = False
    plaintext = None
    for hint, enc, wrapped in env["recipients"]:
        for jwk in private_jwks:
            if jwk.get("zone") != env["zone"] or thumbprint(jwk["x"])[:8] != hint:
                continue
            found = True
            kid = b64url(thumbprint(jwk["x"]))
            try:
                dk = unwrap(b64url_decode(jwk["d"]), enc, info, kid.encode(), wrapped)
                plaintext = AESGCM(dk).decrypt(nonce, env["ct"], env["aad"])
                break
            except Exception:  # authentication failure of the wrap or the field
                continue
        if plaintext is not None:
            break
    if plaintext is None:
        raise OpenError("Tampered" if found else "NoKey")
    binding = {"policy": env["policy"], "zone": env["zone"], "location": env["location"]}
    if expected is not None:
        if expected["policy"] != binding["policy"]:
            raise OpenError("WrongPolicy")
        if expected["location"] != binding["location"]:
            raise OpenError("WrongLocation")
    return KINDS[env["kind"]], plaintext, binding


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
    for name, unwrap in UNWRAPS:
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
    expect = v["expect"]
    if path.name.startswith("fail_") != (expect != "success"):
        problems.append(f"expect {expect} but the file name says otherwise")
    if not is_envelope(v["envelope"]):
        problems.append("is_envelope is false")
    for jwk in keys:
        if jwk.get("kid") not in (None, b64url(thumbprint(jwk["x"]))):
            problems.append(f"kid of {jwk['kid']} is not its RFC 7638 thumbprint")
    for name, unwrap in UNWRAPS:
        # What `open` gives, when the file says the envelope authenticates.
        if "binding" in v:
            want = {k: v["binding"][k] for k in ("policy", "zone", "location")}
            for jwk in keys:
                alone = [jwk]
                try:
                    kind, pt, binding = open_envelope(v["envelope"], alone, unwrap)
                except OpenError as e:
                    if jwk["kid"] in v["recipients"] or str(e) != "NoKey":
                        problems.append(f"{name} with {jwk['kid']}: {e}")
                    continue
                if jwk["kid"] not in v["recipients"]:
                    problems.append(f"{name} with {jwk['kid']}: opened, not a recipient")
                if kind != v["kind"] or pt != bytes.fromhex(v["plaintext_hex"]):
                    problems.append(f"{name} with {jwk['kid']}: got {kind} {pt!r}")
                if "plaintext" in v and pt != v["plaintext"].encode("utf-8"):
                    problems.append(f"{name}: plaintext and plaintext_hex disagree")
                if binding != want:
                    problems.append(f"{name}: binding {binding}, expected {want}")
            if parse(v["envelope"])["location_binary"].hex() != v["binding"]["location_binary_hex"]:
                problems.append("location_binary_hex differs from the envelope's location")
        # The file's outcome.
        try:
            open_envelope(v["envelope"], keys, unwrap, v.get("expected_binding"))
            got = "success"
        except OpenError as e:
            got = str(e)
        if got != expect:
            problems.append(f"{name}: {got}, expected {expect}")
    return problems


def describe(path: Path) -> str:
    """The vector's binding in the grammar of §3.2, as this opener reads it."""
    v = json.loads(path.read_text(encoding="utf-8"))
    try:
        kind, _, b = open_envelope(v["envelope"], v["private_jwks"]["keys"])
        return f"{kind} {b['policy']} {b['zone']} {b['location']}"
    except OpenError as e:
        return str(e)


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
            print(f"ok   {path.name}: {describe(path)}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
