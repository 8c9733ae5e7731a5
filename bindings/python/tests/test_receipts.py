"""Receipts: every vector of docs/vectors/receipts/, real receipts from the edge handler, and
the ASGI (FastAPI) and WSGI (Flask) middleware answering 403 problem+json."""

import base64
import json
import time

import pytest

import pii_edge
from conftest import ROOT, through_edge
from pii_edge.middleware import ReceiptMiddleware, WsgiReceiptMiddleware

VECTORS = sorted((ROOT / "docs" / "vectors" / "receipts").glob("*.json"))


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_receipt_vector(path):
    v = json.loads(path.read_text())
    keys = pii_edge.ReceiptKeys.from_jwks(json.dumps(v["keys"]))
    r = v["request"]
    body = base64.b64decode(r["body"])
    if v["expect"] == "valid":
        receipt = pii_edge.verify_receipt(r["method"], r["target"], r["headers"], body, keys, v["maxAge"], now=v["now"])
        assert receipt.kid == keys.kids[0]
    else:
        with pytest.raises(pii_edge.ReceiptError) as err:
            pii_edge.verify_receipt(r["method"], r["target"], r["headers"], body, keys, v["maxAge"], now=v["now"])
        assert err.value.code == v["expect"]


def test_receipt_vectors_exist():
    assert len(VECTORS) >= 10


def test_receipts_from_the_edge_handler(receipt_dir):
    keys = pii_edge.ReceiptKeys.from_file(str(receipt_dir / "receipt.jwks"))
    for event in ["signup-json.json", "form-post.json", "search-query.json", "headers-cookie.json", "viewer-request-aws-doc.json"]:
        req = through_edge(event, receipt_dir)
        receipt = pii_edge.verify_receipt(req["method"], req["target"], req["headers"], req["body"], keys)
        assert abs(receipt.issued_at - time.time()) < 120
        if event.startswith("viewer"):
            assert receipt.policy is None
        else:
            assert receipt.policy is not None and receipt.locations
    # Headers as a mapping and as bytes pairs (what ASGI gives) work alike.
    req = through_edge("headers-cookie.json", receipt_dir)
    as_bytes = [(k.lower().encode(), v.encode("latin-1")) for k, v in req["headers"]]
    pii_edge.verify_receipt(req["method"], req["target"], as_bytes, req["body"], keys)
    pii_edge.verify_receipt(req["method"], req["target"], dict(req["headers"]), req["body"], keys)
    with pytest.raises(pii_edge.ReceiptError) as err:
        pii_edge.verify_receipt(req["method"], req["target"], req["headers"], req["body"], keys, now=int(time.time()) + 301)
    assert err.value.code == "expired"
    with pytest.raises(TypeError):
        pii_edge.verify_receipt("GET", "/", [("only-one",)], b"", keys)


def fastapi_app(keys):
    from fastapi import FastAPI, Request

    app = FastAPI()
    app.add_middleware(ReceiptMiddleware, keys=keys, max_age=300, exempt_paths=["/healthz"])

    @app.post("/api/users")
    async def users(request: Request):
        body = await request.json()
        return {"policy": request.state.pii_edge_receipt.policy, "keys": sorted(body)}

    @app.get("/healthz")
    async def health():
        return {"ok": True}

    return app


def test_asgi_middleware(receipt_dir):
    from fastapi.testclient import TestClient

    keys = pii_edge.ReceiptKeys.from_file(str(receipt_dir / "receipt.jwks"))
    client = TestClient(fastapi_app(keys))
    req = through_edge("signup-json.json", receipt_dir)
    headers = [(k, v) for k, v in req["headers"] if k.lower() not in ("host", "content-length")]
    ok = client.post(req["target"], content=req["body"], headers=headers)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"policy": "signup", "keys": ["amount", "marketingOptIn", "user"]}
    # Sent around the edge: no receipt.
    plain = [(k, v) for k, v in headers if k.lower() != "x-pii-edge-receipt"]
    refused = client.post(req["target"], content=req["body"], headers=plain)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "https://pii-edge.dev/problems/receipt-missing"
    # A body changed after the edge.
    tampered = client.post(req["target"], content=req["body"].replace(b"pe2.", b"pe2.A", 1), headers=headers)
    assert tampered.status_code == 403 and tampered.json()["type"].endswith("receipt-body")
    assert client.get("/healthz").status_code == 200


def test_wsgi_middleware(receipt_dir):
    from flask import Flask, request

    keys = pii_edge.ReceiptKeys.from_file(str(receipt_dir / "receipt.jwks"))
    app = Flask(__name__)

    @app.post("/api/users")
    def users():
        return {"policy": request.environ["pii_edge.receipt"].policy, "keys": sorted(request.get_json())}

    app.wsgi_app = WsgiReceiptMiddleware(app.wsgi_app, keys=keys)
    client = app.test_client()
    req = through_edge("signup-json.json", receipt_dir)
    headers = [(k, v) for k, v in req["headers"] if k.lower() not in ("host", "content-length")]
    ok = client.post(req["target"], data=req["body"], headers=headers)
    assert ok.status_code == 200, ok.get_data(as_text=True)
    assert ok.get_json()["policy"] == "signup"
    refused = client.post(req["target"], data=req["body"], headers=[h for h in headers if h[0].lower() != "x-pii-edge-receipt"])
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["type"].endswith("receipt-missing")
    moved = client.post("/api/users?x=1", data=req["body"], headers=headers)
    assert moved.status_code == 403 and moved.get_json()["type"].endswith("receipt-target")
