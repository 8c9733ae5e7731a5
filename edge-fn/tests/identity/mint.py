#!/usr/bin/env python3
"""Identity tokens for edge-fn/tests/identity.rs, minted by PyJWT (with `cryptography`), not by
pii-edge: fresh test keys of every algorithm the edge verifies, the issuers' public JWK Sets,
good tokens and the classic attacks. Prints one JSON document:

  {"issuers": {"<iss>": {"audience": "...", "jwks": {"keys": [...]}}},
   "cases": [{"name": "...", "token": "..." | null, "path": "/...", "country": null | "..",
              "expect": {"status": 200 | 401 | 403, "code": "..." , "zone": "..."}}]}

Run by the Rust test (`python3 edge-fn/tests/identity/mint.py`); install PyJWT with
`pip install -r scripts/requirements.txt`.
"""
import base64
import hashlib
import hmac
import json
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

A = "https://idp-a.example/pool-1"
B = "https://idp-b.example/"
AUD_A, AUD_B = "app-a", "app-b"
NOW = int(time.time())


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(algorithm, key, kid, alg=None):
    jwk = json.loads(algorithm.to_jwk(key.public_key()))
    jwk["kid"] = kid
    jwk["use"] = "sig"
    if alg:
        jwk["alg"] = alg
    return jwk


rsa_a = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pss_a = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ec_a = ec.generate_private_key(ec.SECP256R1())
ed_a = ed25519.Ed25519PrivateKey.generate()
rotated_a = ec.generate_private_key(ec.SECP256R1())  # the issuer's next key, not packaged
rsa_b = rsa.generate_private_key(public_exponent=65537, key_size=3072)

issuers = {
    A: {"audience": AUD_A, "jwks": {"keys": [
        public_jwk(RSAAlgorithm, rsa_a, "a-rsa"),
        public_jwk(RSAAlgorithm, pss_a, "a-pss", "PS256"),
        public_jwk(ECAlgorithm, ec_a, "a-ec", "ES256"),
        public_jwk(OKPAlgorithm, ed_a, "a-ed"),
    ]}},
    B: {"audience": AUD_B, "jwks": {"keys": [public_jwk(RSAAlgorithm, rsa_b, "b-rsa", "RS256")]}},
}


def claims(**over):
    c = {"iss": A, "aud": AUD_A, "sub": "user-1", "iat": NOW - 10, "exp": NOW + 600,
         "custom:residency": "eu-central"}
    for k, v in over.items():
        if v is None:
            c.pop(k.replace("_", ":"), None)
        else:
            c[k.replace("_", ":")] = v
    return c


def sign(key, alg, kid, payload=None, headers=None):
    h = {"kid": kid}
    h.update(headers or {})
    return jwt.encode(payload if payload is not None else claims(), key, algorithm=alg, headers=h)


def raw(header_json, payload_json, sign_with):
    """A token from the exact JSON texts (PyJWT writes dicts, which cannot repeat a member)."""
    signing_input = b64(header_json.encode()) + "." + b64(payload_json.encode())
    return signing_input + "." + b64(sign_with(signing_input.encode()))


def ok(zone):
    return {"status": 200, "code": None, "zone": zone}


def refused(status, code, detail=None):
    """A refusal: the status, the problem type's code and a piece of its detail (the reason)."""
    return {"status": status, "code": code, "zone": None, "detail": detail}


PATH = "/api/profile"
cases = []


def case(name, token, expect, path=PATH, country=None):
    cases.append({"name": name, "token": token, "expect": expect, "path": path, "country": country})


# Every algorithm, from the issuer's own library.
case("rs256", sign(rsa_a, "RS256", "a-rsa"), ok("eu-central"))
case("ps256", sign(pss_a, "PS256", "a-pss", claims(custom_residency="IE")), ok("eu-west"))
case("es256", sign(ec_a, "ES256", "a-ec", claims(custom_residency="eu-west")), ok("eu-west"))
case("eddsa", sign(ed_a, "EdDSA", "a-ed"), ok("eu-central"))
case("second_issuer", sign(rsa_b, "RS256", "b-rsa", claims(iss=B, aud=[AUD_B, "other"])), ok("eu-central"))
case("token_beats_viewer_header", sign(rsa_a, "RS256", "a-rsa"), ok("eu-central"), country="IE")
case("within_leeway", sign(ed_a, "EdDSA", "a-ed", claims(exp=NOW - 30)), ok("eu-central"))

# Missing and unusable tokens on a route that requires one: never the viewer's header.
case("missing", None, refused(401, "token-missing", "requires a verified identity token"), country="IE")
case("no_zone_claim", sign(ed_a, "EdDSA", "a-ed", claims(custom_residency=None)),
     refused(403, "token-no-zone", "names no residency zone"), country="IE")
case("unknown_zone", sign(ed_a, "EdDSA", "a-ed", claims(custom_residency="us-east")),
     refused(403, "token-no-zone", "names no residency zone"))

# The classic attacks.
case("alg_none", jwt.encode(claims(), None, algorithm="none"), refused(401, "token-invalid", "unsigned"))
case("alg_none_with_kid", raw('{"alg":"none","kid":"a-rsa"}', json.dumps(claims()), lambda m: b""),
     refused(401, "token-invalid", "unsigned"))
pem = rsa_a.public_key().public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo)
case("hs256_keyed_with_rsa_public_key",
     raw('{"alg":"HS256","kid":"a-rsa"}', json.dumps(claims()),
         lambda m: hmac.new(pem, m, hashlib.sha256).digest()),
     refused(401, "token-invalid", "algorithm of its issuer"))
case("hs256_keyed_with_jwk_n",
     raw('{"alg":"HS256","kid":"a-rsa"}', json.dumps(claims()),
         lambda m: hmac.new(issuers[A]["jwks"]["keys"][0]["n"].encode(), m, hashlib.sha256).digest()),
     refused(401, "token-invalid", "algorithm of its issuer"))
case("rs256_key_as_ps256", sign(rsa_a, "PS256", "a-rsa"), refused(401, "token-invalid", "algorithm of its issuer"))
case("ps256_key_as_rs256", sign(pss_a, "RS256", "a-pss"), refused(401, "token-invalid", "algorithm of its issuer"))
case("es256_key_as_eddsa_alg", sign(ed_a, "EdDSA", "a-ec"), refused(401, "token-invalid", "algorithm of its issuer"))
case("kid_path", sign(rsa_a, "RS256", "../../../../dev/null"), refused(401, "token-key-unknown", "stale"))
case("kid_url", sign(rsa_a, "RS256", "https://attacker.example/jwks.json"), refused(401, "token-key-unknown", "stale"))
case("kid_sql", sign(rsa_a, "RS256", "a-rsa' OR '1'='1"), refused(401, "token-key-unknown", "stale"))
case("jku", sign(rsa_a, "RS256", "a-rsa", headers={"jku": "https://attacker.example/jwks.json"}),
     refused(401, "token-invalid", "`jku`"))
case("x5u", sign(rsa_a, "RS256", "a-rsa", headers={"x5u": "https://attacker.example/cert.pem"}),
     refused(401, "token-invalid", "`x5u`"))
case("embedded_jwk", sign(ed_a, "EdDSA", "a-ed",
                          headers={"jwk": json.loads(OKPAlgorithm.to_jwk(ed_a.public_key()))}),
     refused(401, "token-invalid", "`jwk`"))
case("crit", sign(ed_a, "EdDSA", "a-ed", headers={"crit": ["exp"]}), refused(401, "token-invalid", "`crit`"))
ed_sign = ed_a.sign
case("duplicate_claim",
     raw('{"alg":"EdDSA","kid":"a-ed"}',
         json.dumps(claims())[:-1] + ', "custom:residency": "eu-west"}', ed_sign),
     refused(401, "token-invalid", "repeats a member"))
case("duplicate_header_member",
     raw('{"alg":"EdDSA","kid":"a-ed","kid":"a-ed"}', json.dumps(claims()), ed_sign),
     refused(401, "token-invalid", "repeats a member"))
case("oversized_header", sign(ed_a, "EdDSA", "a-ed", headers={"x-pad": "a" * 2000}),
     refused(401, "token-invalid", "over 8192"))
case("oversized_token", sign(ed_a, "EdDSA", "a-ed", claims(pad="a" * 9000)),
     refused(401, "token-invalid", "over 8192"))
case("expired", sign(ed_a, "EdDSA", "a-ed", claims(exp=NOW - 3600)), refused(401, "token-expired", "expired"))
case("no_exp", sign(ed_a, "EdDSA", "a-ed", claims(exp=None)), refused(401, "token-invalid", "no numeric exp"))
case("not_yet_valid", sign(ed_a, "EdDSA", "a-ed", claims(nbf=NOW + 3600)), refused(401, "token-invalid", "not valid yet"))
case("issued_in_future", sign(ed_a, "EdDSA", "a-ed", claims(iat=NOW + 3600)), refused(401, "token-invalid", "issued in the future"))
case("wrong_aud", sign(ed_a, "EdDSA", "a-ed", claims(aud="app-other")), refused(401, "token-invalid", "(aud)"))
case("wrong_iss", sign(ed_a, "EdDSA", "a-ed", claims(iss="https://idp-c.example/")),
     refused(401, "token-invalid", "issuer (iss)"))
case("other_issuers_key_by_kid", sign(rsa_b, "RS256", "b-rsa"), refused(401, "token-key-unknown", "stale"))
case("other_issuers_key_own_kid", sign(rsa_b, "RS256", "a-rsa"), refused(401, "token-invalid", "signature does not verify"))
case("tampered_payload",
     sign(ed_a, "EdDSA", "a-ed").split(".")[0] + "."
     + b64(json.dumps(claims(custom_residency="eu-west")).encode()) + "."
     + sign(ed_a, "EdDSA", "a-ed").split(".")[2],
     refused(401, "token-invalid", "signature does not verify"))
case("rotated_key_not_packaged", sign(rotated_a, "ES256", "a-ec-2026-q1"),
     refused(401, "token-key-unknown", "stale"))
case("jwe_five_parts", "a.b.c.d.e", refused(401, "token-invalid", "not three"))
case("garbage", "not a token", refused(401, "token-invalid", "not three"))

# A route that does not require a token: the viewer's header without one, the token with one,
# and a bad token is still refused (never silently ignored).
case("open_route_no_token", None, ok("eu-west"), path="/api/search", country="IE")
case("open_route_token", sign(ed_a, "EdDSA", "a-ed"), ok("eu-central"), path="/api/search", country="IE")
case("open_route_expired_token", sign(ed_a, "EdDSA", "a-ed", claims(exp=NOW - 3600)),
     refused(401, "token-expired", "expired"), path="/api/search", country="IE")

print(json.dumps({"now": NOW, "issuers": issuers, "cases": cases}))
