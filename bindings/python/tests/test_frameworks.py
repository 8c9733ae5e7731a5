"""Framework helpers and errors a Python developer meets: `reveal_starlette` and `reveal_wsgi`
straight from the framework's request, strict opening as a middleware option, exceptions that
pickle (process pools, Celery), `OSError` for key files, and a `NoKey` that says what it needs."""

import pickle
import shutil

import pytest

import pii_edge
from pii_edge.middleware import ReceiptMiddleware, WsgiReceiptMiddleware, reveal_starlette, reveal_wsgi

from conftest import KEYS, ROOT, apply, through_edge

PLAINTEXT = ["erika@example.de", "Mustermann"]


def strip(headers):
    return [(k, v) for k, v in headers if k.lower() not in ("host", "content-length")]


@pytest.fixture(scope="module")
def stale_edge(tmp_path_factory):
    """An edge whose bundle lacks the signup policy: it forwards a sign-up in clear, with a receipt."""
    folder = tmp_path_factory.mktemp("stale-edge")
    shutil.copy(ROOT / "policies" / "search.yaml", folder / "search.yaml")
    return folder


def starlette_app(keyring, receipt_keys, policies):
    from fastapi import FastAPI, Request

    app = FastAPI()
    app.add_middleware(ReceiptMiddleware, keys=receipt_keys, keyring=keyring, strict=policies)

    @app.post("/api/users")
    async def users(request: Request):
        revealed = await reveal_starlette(keyring, request, policy="signup")
        from_middleware = request.state.pii_edge_revealed
        return {"email_domain": revealed.json()["user"]["email"].split("@")[1],
                "same": from_middleware.body == revealed.body}

    return app


def test_reveal_starlette_and_strict_middleware(keyring, policies, receipt_dir, stale_edge):
    from fastapi.testclient import TestClient

    receipt_keys = pii_edge.ReceiptKeys.from_file(str(receipt_dir / "receipt.jwks"))
    client = TestClient(starlette_app(keyring, receipt_keys, policies))
    req = through_edge("signup-json.json", receipt_dir)
    ok = client.post(req["target"], content=req["body"], headers=strip(req["headers"]))
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"email_domain": "example.de", "same": True}
    # Forwarded in clear by an edge without the policy, with a valid receipt: strict says no.
    stale = through_edge("signup-json.json", receipt_dir, policies=stale_edge)
    assert b"erika@example.de" in stale["body"]
    refused = client.post(stale["target"], content=stale["body"], headers=strip(stale["headers"]))
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("plaintext-found")
    for value in PLAINTEXT:
        assert value not in refused.text


def test_reveal_wsgi_and_strict_middleware(keyring, policies, receipt_dir, stale_edge):
    from flask import Flask, request

    receipt_keys = pii_edge.ReceiptKeys.from_file(str(receipt_dir / "receipt.jwks"))
    app = Flask(__name__)

    @app.post("/api/users")
    def users():
        revealed = reveal_wsgi(keyring, request.environ, policy="signup")
        # The body is still there for the application.
        assert request.get_json()["user"]["email"].startswith("pe2.")
        return {"email": revealed.json()["user"]["email"] == "erika@example.de"}

    app.wsgi_app = WsgiReceiptMiddleware(app.wsgi_app, keys=receipt_keys, keyring=keyring, strict=policies)
    client = app.test_client()
    req = through_edge("signup-json.json", receipt_dir)
    ok = client.post(req["target"], data=req["body"], headers=strip(req["headers"]))
    assert ok.status_code == 200, ok.get_data(as_text=True)
    assert ok.get_json() == {"email": True}
    stale = through_edge("signup-json.json", receipt_dir, policies=stale_edge)
    refused = client.post(stale["target"], data=stale["body"], headers=strip(stale["headers"]))
    assert refused.status_code == 422
    assert refused.get_json()["type"].endswith("plaintext-found")


def test_helpers_refuse_misuse(keyring, policies):
    receipt_keys = pii_edge.ReceiptKeys.from_jwks(
        '{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}')
    with pytest.raises(TypeError, match="keyring"):
        ReceiptMiddleware(lambda *a: None, keys=receipt_keys, strict=policies)
    with pytest.raises(TypeError, match="Policies"):
        WsgiReceiptMiddleware(lambda *a: None, keys=receipt_keys, keyring=keyring, strict="policies/")
    import asyncio

    with pytest.raises(TypeError, match="Request"):
        asyncio.run(reveal_starlette(keyring, object()))


def test_exceptions_pickle_with_their_class():
    for cls in [pii_edge.NoKey, pii_edge.Malformed, pii_edge.ReceiptError, pii_edge.PlaintextFound]:
        assert cls.__module__ == "pii_edge"
        copy = pickle.loads(pickle.dumps(cls("a message")))
        assert type(copy) is cls and str(copy) == "a message"
    with pytest.raises(pii_edge.Malformed) as err:
        pii_edge.PrivateKeyring.from_file(str(KEYS / "private.jwks")).open("pe2.!!")
    assert type(pickle.loads(pickle.dumps(err.value))) is pii_edge.Malformed


def test_missing_key_files_raise_oserror(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.jwks"):
        pii_edge.PrivateKeyring.from_file(str(tmp_path / "nope.jwks"))
    with pytest.raises(FileNotFoundError):
        pii_edge.ReceiptKeys.from_file(str(tmp_path / "nope.jwks"))
    with pytest.raises(OSError):
        pii_edge.PrivateKeyring.from_file(str(tmp_path))  # a directory
    with pytest.raises(FileNotFoundError):
        pii_edge.Policies.from_files([str(tmp_path / "no-policies")])


def test_no_key_names_the_zone_and_key_ids(tmp_path):
    import json
    import subprocess

    from conftest import pii_edge_bin

    envelope = json.loads(apply("signup-json.json")["request"]["body"])["user"]["email"]
    subprocess.run([pii_edge_bin(), "keygen", "--zone", "eu-north", "--region", "eu-north-1", "--out", str(tmp_path)],
                   check=True, capture_output=True)
    other = pii_edge.PrivateKeyring.from_file(str(tmp_path / "private.jwks"))
    with pytest.raises(pii_edge.NoKey) as err:
        other.open(envelope)
    message = str(err.value)
    assert "zone `eu-central`" in message and "eu-north-1" in message, message
    # The key ids the envelope needs are the demo keys' (their first 10 characters).
    demo = pii_edge.PrivateKeyring.from_file(str(KEYS / "private.jwks"))
    assert demo.open(envelope).value == "erika@example.de"
    assert "erika" not in message
