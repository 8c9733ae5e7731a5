"""Shared fixtures: repository paths, the demo keys, and the pii-edge CLI that makes fresh
protected requests (the edge side) for the origin side to open."""

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
KEYS = ROOT / "examples" / "keys"
EVENTS = ROOT / "examples" / "events"


def pii_edge_bin() -> str:
    """The pii-edge CLI: $PII_EDGE_BIN, else the cargo target dir's debug build."""
    if os.environ.get("PII_EDGE_BIN"):
        return os.environ["PII_EDGE_BIN"]
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return str(target / "debug" / "pii-edge")


def apply(event: str, *extra: str) -> dict:
    """`pii-edge apply` of an example event with the example policies: the JSON it prints."""
    out = subprocess.run(
        [pii_edge_bin(), "apply", "--policy", str(ROOT / "policies"), "--event", str(EVENTS / event), *extra],
        check=True,
        capture_output=True,
    )
    return json.loads(out.stdout)


def split_headers(lines):
    """apply prints headers as "Name: value" lines."""
    return [tuple(line.split(": ", 1)) for line in lines]


def original(event: str) -> dict:
    """The request of an example event as the viewer sent it."""
    request = json.loads((EVENTS / event).read_text())["Records"][0]["cf"]["request"]
    body = request.get("body")
    data = b""
    if body:
        data = base64.b64decode(body["data"]) if body.get("encoding") == "base64" else body["data"].encode()
    headers = [(h.get("key", name), h["value"]) for name, values in request["headers"].items() for h in values]
    return {"method": request["method"], "path": request["uri"], "query": request["querystring"], "headers": headers, "body": data}


@pytest.fixture(scope="session")
def keyring():
    import pii_edge

    return pii_edge.PrivateKeyring.from_file(str(KEYS / "private.jwks"))


@pytest.fixture(scope="session")
def policies():
    import pii_edge

    return pii_edge.Policies.from_files([str(ROOT / "policies")])


@pytest.fixture(scope="session")
def receipt_dir(tmp_path_factory):
    """A fresh receipt signing pair made by `pii-edge keygen --receipt`."""
    folder = tmp_path_factory.mktemp("receipt-keys")
    subprocess.run([pii_edge_bin(), "keygen", "--receipt", "--out", str(folder)], check=True, capture_output=True)
    return folder


def through_edge(event: str, receipt_dir: Path, edit=None, policies: Path = ROOT / "policies") -> dict:
    """What the edge handler forwards for an example event (`pii-edge apply --edge`, with a
    receipt), as (method, target, headers, body) the origin receives. `edit` may change the
    event's request first; `policies` is the edge's policy directory."""
    path = EVENTS / event
    if edit is not None:
        doc = json.loads(path.read_text())
        edit(doc["Records"][0]["cf"]["request"])
        path = receipt_dir / ("edited-" + event)
        path.write_text(json.dumps(doc))
    out = subprocess.run(
        [pii_edge_bin(), "apply", "--policy", str(policies), "--event", str(path), "--edge",
         "--receipt-key", str(receipt_dir / "receipt.private.jwk")],
        check=True,
        capture_output=True,
    )
    forwarded = json.loads(out.stdout)
    assert "status" not in forwarded, forwarded
    body = forwarded.get("body")
    data = b""
    if body:
        data = base64.b64decode(body["data"]) if body.get("encoding") == "base64" else body["data"].encode()
    target = forwarded["uri"] + ("?" + forwarded["querystring"] if forwarded.get("querystring") else "")
    headers = [(h.get("key", name), h["value"]) for name, values in forwarded["headers"].items() for h in values]
    return {"method": forwarded["method"], "target": target, "headers": headers, "body": data}
