"""End to end: example events through the real edge handler (`pii-edge apply --edge`, with a
receipt), then over HTTP on 127.0.0.1 to the FastAPI origin on uvicorn, with a real SQLite file
and a real SMTP server (aiosmtpd).

Checks: the stored record holds no plaintext; the welcome mail reached the user's address (the
one code path that opens it); a request sent around the edge, a replayed receipt past max_age,
a tampered body and a receipt moved to another request are refused with 403 problem+json."""

import base64
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

HERE = Path(__file__).resolve().parents[1]
ROOT = HERE.parents[1]
EVENTS = ROOT / "examples" / "events"
PLAINTEXT = ["erika@example.de", "+49 30 1234567", "1990-04-01", "Hauptstr", "Erika Mustermann", "Mustermann"]
MAX_AGE = 3


def pii_edge_bin():
    if os.environ.get("PII_EDGE_BIN"):
        return os.environ["PII_EDGE_BIN"]
    return str(Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "pii-edge")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Outbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf8", "replace")))
        return "250 OK"


@pytest.fixture(scope="module")
def origin(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("origin")
    subprocess.run([pii_edge_bin(), "keygen", "--receipt", "--out", str(tmp)], check=True, capture_output=True)
    outbox = Outbox()
    mail = Controller(outbox, hostname="127.0.0.1", port=free_port())
    mail.start()
    port = free_port()
    env = dict(
        os.environ,
        PII_EDGE_KEYS_FILE=str(ROOT / "examples" / "keys" / "private.jwks"),
        PII_EDGE_RECEIPT_KEYS=str(tmp / "receipt.jwks"),
        PII_EDGE_ZONE="eu-central",
        PII_EDGE_MAX_AGE=str(MAX_AGE),
        ORIGIN_DB=str(tmp / "origin.sqlite"),
        MAIL_HOST="127.0.0.1",
        MAIL_PORT=str(mail.port),
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=HERE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(100):
            try:
                if request(port, "GET", "/healthz", [], b"")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            server.kill()
            pytest.fail("uvicorn did not start: " + server.stdout.read().decode())
        yield {"port": port, "tmp": tmp, "db": tmp / "origin.sqlite", "outbox": outbox}
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0].decode()
        mail.stop()
        for value in PLAINTEXT:
            assert value not in output, f"the origin logged {value!r}"


def request(port, method, target, headers, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", "origin.eu-central-1.example")
    for name, value in headers:
        if name.lower() not in ("host", "content-length"):
            conn.putheader(name, value)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, response.getheader("content-type"), data


def through_edge(tmp, event, policies=ROOT / "policies"):
    out = subprocess.run(
        [pii_edge_bin(), "apply", "--policy", str(policies), "--event", str(EVENTS / event), "--edge",
         "--receipt-key", str(tmp / "receipt.private.jwk")],
        check=True,
        capture_output=True,
    )
    forwarded = json.loads(out.stdout)
    assert "status" not in forwarded, forwarded
    body = forwarded.get("body") or {}
    data = base64.b64decode(body["data"]) if body.get("encoding") == "base64" else body.get("data", "").encode()
    target = forwarded["uri"] + ("?" + forwarded["querystring"] if forwarded.get("querystring") else "")
    headers = [(h.get("key", name), h["value"]) for name, values in forwarded["headers"].items() for h in values]
    return forwarded["method"], target, headers, data


def around_edge(event):
    r = json.loads((EVENTS / event).read_text())["Records"][0]["cf"]["request"]
    body = base64.b64decode(r["body"]["data"])
    headers = [(h.get("key", name), h["value"]) for name, values in r["headers"].items() for h in values]
    return r["method"], r["uri"], headers, body


def rows(db):
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT request_id, zone, record, mail_sent FROM users").fetchall()


def assert_problem(response, status, kind):
    code, content_type, body = response
    assert code == status, body
    assert content_type == "application/problem+json"
    assert json.loads(body)["type"].endswith(kind), body
    for value in PLAINTEXT:
        assert value.encode() not in body


def test_through_the_edge_stored_sealed_and_mailed(origin):
    method, target, headers, body = through_edge(origin["tmp"], "signup-json.json")
    status, _, answer = request(origin["port"], method, target, headers, body)
    assert status == 201, answer
    for value in PLAINTEXT:
        assert value.encode() not in answer
    [(request_id, zone, record, mail_sent)] = rows(origin["db"])
    assert zone == "eu-central" and mail_sent == 1 and request_id
    assert json.loads(record)["user"]["email"].startswith("pe2.")
    # No plaintext anywhere in the database file (pages, journal, free space).
    raw = b"".join(p.read_bytes() for p in origin["tmp"].glob("origin.sqlite*"))
    for value in PLAINTEXT:
        assert value.encode() not in raw, f"{value!r} in the database"
    # The one code path that opens the e-mail sent the welcome mail to it.
    [(recipients, message)] = origin["outbox"].messages
    assert recipients == ["erika@example.de"]
    assert "Your account is ready." in message
    # The same request again (a replay within max_age) is stored once.
    status, _, answer = request(origin["port"], method, target, headers, body)
    assert status == 409, answer
    assert len(rows(origin["db"])) == 1


def test_around_the_edge_refused(origin):
    before = len(rows(origin["db"]))
    assert_problem(request(origin["port"], *around_edge("signup-json.json")), 403, "receipt-missing")
    assert len(rows(origin["db"])) == before


def test_tampered_body_refused(origin):
    method, target, headers, body = through_edge(origin["tmp"], "signup-json.json")
    document = json.loads(body)
    document["user"]["email"] = "erika@example.de"
    tampered = json.dumps(document).encode()
    assert_problem(request(origin["port"], method, target, headers, tampered), 403, "receipt-body")


def test_receipt_moved_to_another_request_refused(origin):
    method, target, headers, body = through_edge(origin["tmp"], "signup-json.json")
    assert_problem(request(origin["port"], "PUT", target, headers, body), 403, "receipt-method")
    assert_problem(request(origin["port"], method, target + "?admin=1", headers, body), 403, "receipt-target")


def test_replayed_receipt_past_max_age_refused(origin):
    method, target, headers, body = through_edge(origin["tmp"], "signup-json.json")
    time.sleep(MAX_AGE + 1.5)
    before = len(rows(origin["db"]))
    assert_problem(request(origin["port"], method, target, headers, body), 403, "receipt-expired")
    assert len(rows(origin["db"])) == before


def test_plaintext_forwarded_by_a_stale_edge_refused(origin):
    # An edge whose bundle lacks the signup policy forwards the sign-up in clear, with a valid
    # receipt: the middleware's strict opening refuses it before the handler stores anything.
    stale = origin["tmp"] / "stale-policies"
    stale.mkdir(exist_ok=True)
    (stale / "search.yaml").write_text((ROOT / "policies" / "search.yaml").read_text())
    method, target, headers, body = through_edge(origin["tmp"], "signup-json.json", policies=stale)
    assert b"erika@example.de" in body
    before = len(rows(origin["db"]))
    assert_problem(request(origin["port"], method, target, headers, body), 422, "plaintext-found")
    assert len(rows(origin["db"])) == before
