"""Opening single values: every envelope vector of docs/vectors/, JSON types restored,
bindings, Location's text form, and errors that never carry key material or values."""

import json

import pytest

import pii_edge
import subprocess

from conftest import KEYS, ROOT, apply, pii_edge_bin

VECTORS = sorted((ROOT / "docs" / "vectors").glob("*.json"))


def location_text(text):
    # Vector files name JSON locations by their normalized path alone or in the text form.
    return "json:" + text if text.startswith("$") else text


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_envelope_vector(path):
    v = json.loads(path.read_text())
    ring = pii_edge.PrivateKeyring.from_jwks(json.dumps(v["private_jwks"]))
    b = v["binding"]
    if v.get("format", "").startswith("pii-edge envelope v1"):
        # A version-1 vector (before envelope v2): this library opens version 2 only and must
        # refuse it (as UnsupportedVersion; the version-1 vector of an unknown version, as
        # Malformed), never open it.
        expected = pii_edge.UnsupportedVersion if v["envelope"].startswith("pe1.") else pii_edge.OpenError
        with pytest.raises(expected):
            ring.open(v["envelope"])
        return
    location = pii_edge.Location(location_text(b["location"]))
    if path.stem.startswith("fail_"):
        error = getattr(pii_edge, v["expect_error"])
        with pytest.raises(error):
            ring.open_expecting(v["envelope"], b["policy"], b["zone"], location)
        return
    opened = ring.open_expecting(v["envelope"], b["policy"], b["zone"], location)
    assert opened.kind == v["kind"]
    expected = v["plaintext"] if v["kind"] == "text" else json.loads(v["plaintext"])
    assert opened.value == expected
    assert type(opened.value) is type(expected)
    # open() needs only the keys and hands the binding back.
    plain = ring.open(v["envelope"])
    assert plain.binding.policy == b["policy"]
    assert plain.binding.zone == b["zone"]
    assert plain.binding.location == location
    assert str(plain.binding.location) == str(location)


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
    with pytest.raises(pii_edge.PiiEdgeError) as err:
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
