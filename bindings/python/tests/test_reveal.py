"""Revealing whole requests the way `pii-edge reveal` does, on fresh `pii-edge apply` output of
every location kind (JSON body, form body, query, header, cookie), and strict opening."""

import json
from urllib.parse import parse_qsl

import pytest

import pii_edge
import subprocess

from conftest import ROOT, apply, original, pii_edge_bin, split_headers

CASES = [
    ("signup-json.json", {"json"}),
    ("form-post.json", {"form"}),
    ("search-query.json", {"query"}),
    ("headers-cookie.json", {"header"}),
]

# No example policy encrypts a cookie: this one encrypts one of each named kind.
EVERY_KIND = """apiVersion: pii-edge/v1
name: every-kind
zone: eu-central
match: { paths: [/every] }
rules:
  - { select: { json: "$..email" }, action: encrypt }
  - { select: { query: ssn }, action: encrypt }
  - { select: { header: x-national-id }, action: encrypt }
  - { select: { cookie: session }, action: encrypt }
"""


def sealed_locations(out):
    return {f["location"] for f in out["fields"] if f["action"] == "encrypt"}


@pytest.mark.parametrize("event,parts", CASES, ids=[c[0] for c in CASES])
def test_example_events_reveal_to_the_original(keyring, policies, event, parts):
    out = apply(event)
    assert out["outcome"] == "protected"
    r = out["request"]
    sent = original(event)
    revealed = keyring.reveal(
        r["method"], r["path"], split_headers(r["headers"]), r["body"], query=r["query"], strict=policies
    )
    sealed = sealed_locations(out)
    assert {str(f.binding.location) for f in revealed.fields} == sealed
    assert {f.binding.location.part for f in revealed.fields} == parts
    assert all(f.binding.policy == out["policy"] for f in revealed.fields)
    # Only encryption is reversible: compare the values that were encrypted.
    for field in revealed.fields:
        loc = field.binding.location
        if loc.part == "json":
            got, want = revealed.json(), json.loads(sent["body"])
            for step in loc.path:
                got, want = got[step], want[step]
        elif loc.part == "form":
            got = [v for k, v in parse_qsl(revealed.body.decode()) if k.lower() == loc.name][loc.index]
            want = [v for k, v in parse_qsl(sent["body"].decode()) if k.lower() == loc.name][loc.index]
        elif loc.part == "query":
            got = [v for k, v in parse_qsl(revealed.query) if k.lower() == loc.name][loc.index]
            want = [v for k, v in parse_qsl(sent["query"]) if k.lower() == loc.name][loc.index]
        else:
            got = [v for k, v in revealed.headers if k.lower() == loc.name][loc.index]
            want = [v for k, v in sent["headers"] if k.lower() == loc.name][loc.index]
        assert got == want, str(loc)


def test_every_location_kind(keyring, tmp_path):
    (tmp_path / "every-kind.yaml").write_text(EVERY_KIND)
    body = json.dumps({"items": [{"email": "a@example.de"}, {"email": 42}], "email": {"home": True}})
    out = subprocess.run(
        [pii_edge_bin(), "apply", "--policy", str(tmp_path), "--method", "POST", "--path", "/every",
         "--query", "ssn=123-45&ssn=999&q=x", "-H", "content-type: application/json",
         "-H", "X-National-Id: DE-1", "-H", "cookie: theme=dark; session=s%3D1", "--body", body],
        check=True, capture_output=True,
    )
    out = json.loads(out.stdout)
    r = out["request"]
    assert "a@example.de" not in r["body"] and "DE-1" not in " ".join(r["headers"])
    strict = pii_edge.Policies.from_files([str(tmp_path)])
    revealed = keyring.reveal(r["method"], r["path"], split_headers(r["headers"]), r["body"], query=r["query"], strict=strict)
    assert {f.binding.location.part for f in revealed.fields} == {"json", "query", "header", "cookie"}
    assert {str(f.binding.location) for f in revealed.fields} == sealed_locations(out)
    assert {f.kind for f in revealed.fields} >= {"string", "number", "object", "text"}
    assert revealed.json() == json.loads(body)
    assert parse_qsl(revealed.query) == [("ssn", "123-45"), ("ssn", "999"), ("q", "x")]
    headers = {k.lower(): v for k, v in revealed.headers}
    assert headers["x-national-id"] == "DE-1"
    assert "session=s%3D1" in headers["cookie"] or "session=s=1" in headers["cookie"]


def test_strict_refuses_a_request_sent_around_the_edge(keyring, policies):
    sent = original("signup-json.json")
    # Without strict, a plaintext request reveals to itself with nothing opened...
    lax = keyring.reveal(sent["method"], sent["path"], sent["headers"], sent["body"])
    assert lax.opened == 0
    # ...strict refuses it, naming the location, not the value.
    with pytest.raises(pii_edge.PlaintextFound) as err:
        keyring.reveal(sent["method"], sent["path"], sent["headers"], sent["body"], strict=policies)
    assert err.value.location.startswith("json:$['user']")
    assert "erika" not in str(err.value)


def test_strict_refuses_one_value_put_back_in_clear(keyring, policies):
    out = apply("headers-cookie.json")
    r = out["request"]
    headers = [(k, "DE-123456789" if k.lower() == "x-national-id" else v) for k, v in split_headers(r["headers"])]
    with pytest.raises(pii_edge.PlaintextFound) as err:
        keyring.reveal(r["method"], r["path"], headers, r["body"], query=r["query"], strict=policies)
    assert err.value.location == "header:x-national-id"


def test_strict_refuses_an_uninspectable_body(keyring, policies):
    out = apply("signup-json.json")
    r = out["request"]
    with pytest.raises(pii_edge.Uninspectable):
        keyring.reveal(r["method"], r["path"], split_headers(r["headers"]), r["body"][:40], strict=policies)


def test_a_value_moved_to_another_field_does_not_open(keyring):
    out = apply("signup-json.json")
    r = out["request"]
    body = json.loads(r["body"])
    body["user"]["phone"] = body["user"]["email"]
    with pytest.raises(pii_edge.WrongLocation) as err:
        keyring.reveal(r["method"], r["path"], split_headers(r["headers"]), json.dumps(body))
    assert err.value.location == "json:$['user']['phone']"


def test_reveal_body_and_expected_policy(keyring):
    out = apply("signup-json.json")
    revealed = keyring.reveal_body(out["request"]["body"], policy="signup", zone="eu-central")
    assert revealed.json()["user"]["email"] == "erika@example.de"
    with pytest.raises(pii_edge.WrongPolicy):
        keyring.reveal_body(out["request"]["body"], policy="payments")
    assert "erika" not in repr(revealed)


def test_policy_directories_follow_the_one_loaders_rules(tmp_path):
    # The same rules as the command-line tool and serve (pii_core::load): `*.yml` counts, an
    # empty directory and a missing path are errors, two policies of one name are refused.
    policy = (ROOT / "policies" / "search.yaml").read_text()
    (tmp_path / "search.yml").write_text(policy)
    assert pii_edge.Policies.from_files([str(tmp_path)]).names == ["search"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(pii_edge.PolicyError, match="no policy files"):
        pii_edge.Policies.from_files([str(empty)])
    with pytest.raises(FileNotFoundError):
        pii_edge.Policies.from_files([str(tmp_path / "nope.yaml")])
    (tmp_path / "again.yaml").write_text(policy)
    with pytest.raises(pii_edge.PolicyError, match="already used"):
        pii_edge.Policies.from_files([str(tmp_path)])
