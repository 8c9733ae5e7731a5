#!/usr/bin/env python3
# Install: pip install "cryptography>=42"
"""Verify every receipt test vector (docs/vectors/receipts/*.json) from docs/receipt.md alone.

The "other language" verifier of docs/receipt.md: it shares no code with the Rust crate and
uses only pyca/cryptography's Ed25519 and hashlib's SHA-256. Every vector must give the outcome
named in its `expect` (`valid`, or the error code of the verification step that refuses it).

Usage: python3 docs/interop/verify_receipts.py [VECTOR_DIR]
Prints "N passed, M failed" and exits non-zero when anything failed.
"""

import base64
import hashlib
import json
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

HEADER = "x-pii-edge-receipt"


class Refused(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


def b64url_decode(text):
    if not isinstance(text, str) or "=" in text:
        raise ValueError("not base64url without padding")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def digest(data):
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def thumbprint(x):
    return digest(json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":")).encode())


def header_block(names, headers):
    block = b""
    for name in names:
        values = [v.strip(" \t") for n, v in headers if n.lower() == name]
        if values:
            sep = "; " if name == "cookie" else ", "
            block += (name + ":" + sep.join(values) + "\n").encode()
    return block


def verify(method, target, headers, body, keys, max_age, now):
    values = [v for n, v in headers if n.lower() == HEADER]
    if not values:
        raise Refused("missing")
    if len(values) > 1:
        raise Refused("repeated")
    value = values[0].strip(" \t")
    if len(value.encode()) > 8192:
        raise Refused("malformed")
    parts = value.split(".")
    if len(parts) != 3:
        raise Refused("malformed")
    try:
        jws = json.loads(b64url_decode(parts[0]))
    except ValueError:
        raise Refused("malformed")
    if not isinstance(jws, dict) or set(jws) != {"alg", "kid"} or jws["alg"] != "EdDSA":
        raise Refused("malformed")
    key = next((k for k in keys if thumbprint(k["x"]) == jws["kid"]), None)
    if key is None:
        raise Refused("unknown-key")
    try:
        signature = b64url_decode(parts[2])
        Ed25519PublicKey.from_public_bytes(b64url_decode(key["x"])).verify(
            signature, (parts[0] + "." + parts[1]).encode("ascii")
        )
    except (ValueError, InvalidSignature):
        raise Refused("bad-signature")
    try:
        claims = json.loads(b64url_decode(parts[1]))
    except ValueError:
        raise Refused("malformed")
    if claims.get("v") != 1:
        raise Refused("unsupported-version")
    for member, kind in [("iat", int), ("m", str), ("t", str), ("hn", list), ("h", str), ("loc", list)]:
        if not isinstance(claims.get(member), kind):
            raise Refused("malformed")
    if claims["iat"] > now + 60:
        raise Refused("from-the-future")
    if now - claims["iat"] > max_age:
        raise Refused("expired")
    if claims["m"] != method:
        raise Refused("method")
    if claims["t"] != digest(target.encode()):
        raise Refused("target")
    if "b" in claims:
        if claims["b"] != digest(body):
            raise Refused("body")
    elif body:
        raise Refused("body")
    names = claims["hn"]
    if names != sorted(set(n.lower() for n in names)):
        raise Refused("malformed")
    if claims["h"] != digest(header_block(names, headers)):
        raise Refused("headers")
    sub_id = claims.get("sub_id")
    if sub_id is not None and (
        not isinstance(sub_id, dict)
        or set(sub_id) != {"format", "iss", "sub"}
        or sub_id["format"] != "iss_sub"
        or not all(isinstance(sub_id[m], str) for m in ("iss", "sub"))
    ):
        raise Refused("malformed")
    return claims


def main():
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent.parent / "vectors" / "receipts"
    passed = failed = 0
    for path in sorted(folder.glob("*.json")):
        v = json.loads(path.read_text())
        r = v["request"]
        try:
            claims = verify(r["method"], r["target"], [tuple(h) for h in r["headers"]],
                            base64.b64decode(r["body"]), v["keys"]["keys"], v["maxAge"], v["now"])
            got = "valid"
            sub_id = claims.get("sub_id")
            subject = {"iss": sub_id["iss"], "sub": sub_id["sub"]} if sub_id else None
            if subject != v.get("subject"):
                got = f"valid, but the subject is {subject}"
        except Refused as e:
            got = e.code
        if got == v["expect"]:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {path.name}: expected {v['expect']}, got {got}")
    print(f"receipts: {passed} passed, {failed} failed")
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
