"""Opening single values: every envelope vector of docs/vectors/, JSON types restored,
bindings, Location's text form, and errors that never carry key material or values."""

import json

import pytest

import pii_edge
import subprocess

from conftest import KEYS, ROOT, apply, pii_edge_bin

VECTORS = sorted((ROOT / "docs" / "vectors").glob("*.json"))


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_envelope_vector(path):
    """docs/vectors/README.md: `expected_binding` -> open_expecting, else open; `expect` is
    `success` or the error; `binding`/`kind`/`plaintext` what opening must give."""
    v = json.loads(path.read_text())
    ring = pii_edge.PrivateKeyring.from_jwks(json.dumps(v["private_jwks"]))

    def run(keyring):
        e = v.get("expected_binding")
        if e:
            return keyring.open_expecting(v["envelope"], e["policy"], e["zone"], pii_edge.Location(e["location"]))
        return keyring.open(v["envelope"])

    if v["expect"] != "success":
        assert path.stem.startswith("fail_")
        with pytest.raises(getattr(pii_edge, v["expect"])):
            run(ring)
        if "binding" in v:
            # Authentic under the file's keys: open() alone gives the recorded binding.
            assert str(ring.open(v["envelope"]).binding.location) == v["binding"]["location"]
        return
    # Every key listed in `recipients` opens it alone.
    for jwk in v["private_jwks"]["keys"]:
        if jwk.get("kid") not in v["recipients"]:
            continue
        one = pii_edge.PrivateKeyring.from_jwks(json.dumps({"keys": [jwk]}))
        opened = run(one)
        assert opened.kind == v["kind"]
        if "plaintext" in v:
            expected = v["plaintext"] if v["kind"] == "text" else json.loads(v["plaintext"])
            assert opened.value == expected
            assert type(opened.value) is type(expected)
        b = v["binding"]
        assert (opened.binding.policy, opened.binding.zone) == (b["policy"], b["zone"])
        assert opened.binding.location == pii_edge.Location(b["location"])
        assert str(opened.binding.location) == b["location"]


def test_vectors_exist():
    assert len(VECTORS) >= 10


def test_open_restores_json_types_and_refuses_moved_values(keyring):
    out = apply("signup-json.json")
    body = json.loads(out["request"]["body"])
    email = keyring.open(body["user"]["email"])
    assert email.value == "erika@example.de" and email.kind == "string"
    assert str(email.binding.location) == "json:$['user']['email']"
    assert email.binding.location.path == ["user", "email"]
    assert email.binding.policy == "signup" and email.binding.zone == "eu-central"
    address = keyring.open(body["user"]["address"])
    assert isinstance(address.value, dict) and address.kind == "object"
    with pytest.raises(pii_edge.WrongLocation):
        keyring.open_expecting(body["user"]["email"], "signup", "eu-central", "json:$['user']['phone']")
    with pytest.raises(pii_edge.WrongPolicy):
        keyring.open_expecting(body["user"]["email"], "payments", "eu-central", email.binding.location)
    with pytest.raises(pii_edge.WrongZone):
        keyring.open_expecting(body["user"]["email"], "signup", "eu-west", email.binding.location)
    # A changed character: Tampered (or Malformed when it breaks the encoding).
    envelope = body["user"]["email"]
    flipped = envelope[:-5] + ("A" if envelope[-5] != "A" else "B") + envelope[-4:]
    with pytest.raises((pii_edge.Tampered, pii_edge.Malformed)):
        keyring.open(flipped)
    with pytest.raises(pii_edge.Malformed):
        keyring.open("pe2.!!")
    with pytest.raises(pii_edge.UnsupportedVersion):
        keyring.open("pe9.AAAA")
    # The error classes form one hierarchy.
    assert issubclass(pii_edge.Tampered, pii_edge.OpenError)
    assert issubclass(pii_edge.OpenError, pii_edge.PiiEdgeError)
    assert "erika" not in repr(email)


def test_no_key_for_another_region(tmp_path):
    other = pii_edge.PrivateKeyring.from_jwks(
        json.dumps({"keys": [json.loads(KEYS.joinpath("private.jwks").read_text())["keys"][0]]})
    )
    out = apply("signup-json.json")
    body = json.loads(out["request"]["body"])
    # Sealed to both regions of the zone: each region's key opens it alone.
    assert other.open(body["user"]["email"]).value == "erika@example.de"
    subprocess.run([pii_edge_bin(), "keygen", "--zone", "eu-central", "--region", "eu-central-9",
                    "--out", str(tmp_path)], check=True, capture_output=True)
    stranger = pii_edge.PrivateKeyring.from_file(str(tmp_path / "private.jwks"))
    with pytest.raises(pii_edge.NoKey):
        stranger.open(body["user"]["email"])


def test_key_errors_never_print_key_material():
    private = json.loads(KEYS.joinpath("private.jwks").read_text())
    d = private["keys"][0]["d"]
    broken = json.loads(json.dumps(private))
    broken["keys"][0]["x"] = private["keys"][1]["x"]
    with pytest.raises(pii_edge.InvalidKeys) as err:
        pii_edge.PrivateKeyring.from_jwks(json.dumps(broken))
    assert d not in str(err.value) and d not in repr(err.value)
    with pytest.raises(pii_edge.InvalidKeys) as err:
        pii_edge.PrivateKeyring.from_jwks("{not json " + d)
    assert d not in str(err.value)
    ring = pii_edge.PrivateKeyring.from_jwks(json.dumps(private))
    assert d not in repr(ring) and ring.zones == ["eu-central"]
    with pytest.raises(FileNotFoundError) as err:  # an OSError, as open() would raise
        pii_edge.PrivateKeyring.from_file("/nonexistent/private.jwks")
    assert "/nonexistent/private.jwks" in str(err.value)
    # A private key where a public receipt key is expected is refused.
    with pytest.raises(pii_edge.InvalidKeys):
        pii_edge.ReceiptKeys.from_jwks(json.dumps(private))


@pytest.mark.parametrize(
    "text",
    ["json:$['user']['email']", "json:$['items'][0]", "json:$", "header:x-national-id", "query:email#1",
     "form:card_number", "cookie:session", "query:e%20mail#2", "json:$['it\\'s']"],
)
def test_location_round_trip(text):
    location = pii_edge.Location(text)
    assert str(location) == text
    assert pii_edge.Location.parse(str(location)) == location
    assert hash(location) == hash(pii_edge.Location(text))


@pytest.mark.parametrize("text", ["query:email#0", "Header:x", "json:$.a", "header:X-Id", "", "json:$['a']['b'"])
def test_location_refuses_other_spellings(text):
    with pytest.raises(pii_edge.LocationError):
        pii_edge.Location(text)


def test_location_constructors():
    assert str(pii_edge.Location.json(["items", 0, "email"])) == "json:$['items'][0]['email']"
    loc = pii_edge.Location.field("header", "X-National-Id")
    assert (loc.part, loc.name, loc.index, loc.path) == ("header", "x-national-id", 0, None)
    assert str(pii_edge.Location.field("query", "email", 1)) == "query:email#1"
    with pytest.raises(pii_edge.LocationError):
        pii_edge.Location.field("body", "x")
