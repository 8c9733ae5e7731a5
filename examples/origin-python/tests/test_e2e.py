"""End to end: example events through the real edge handler (`pii-edge apply --edge`, with a
receipt), then over HTTP on 127.0.0.1 to the FastAPI origin on uvicorn, with a real SQLite file
and a real SMTP server (aiosmtpd).

Checks: the stored record holds no plaintext, only fields at rest under the user's own key
(`pr1.`); the welcome mail reached the user's address; a request sent around the edge, a
replayed receipt past max_age, a tampered body and a receipt moved to another request are
refused with 403 problem+json; `DELETE /api/users/{id}` forgets the user: no field of theirs
opens in the database, in a dump taken before, or in a queue message written before, while
every other user's still does. The whole module runs twice: subject keys in SQLite, and in a
throwaway PostgreSQL cluster."""

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

import pii_edge
from pii_edge.erasure import PostgresKeyStore, SqliteKeyStore, SubjectKeys

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


sys.path.insert(0, str(ROOT / "scripts"))
from throwaway_postgres import throwaway_postgres  # noqa: E402

KEYS_FILE = ROOT / "examples" / "keys" / "private.jwks"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def key_store(request, tmp_path_factory):
    """Where the subject keys live: a SQLite file, or a throwaway PostgreSQL cluster."""
    if request.param == "sqlite":
        yield str(tmp_path_factory.mktemp("keys") / "subject-keys.sqlite")
    else:
        with throwaway_postgres() as conninfo:
            yield conninfo


@pytest.fixture(scope="module")
def origin(tmp_path_factory, key_store):
    tmp = tmp_path_factory.mktemp("origin")
    subprocess.run([pii_edge_bin(), "keygen", "--receipt", "--out", str(tmp)], check=True, capture_output=True)
    # The origin's own erasure signing key (not the edge's receipt key).
    erasure_dir = tmp / "erasure"
    subprocess.run([pii_edge_bin(), "keygen", "--receipt", "--out", str(erasure_dir)], check=True, capture_output=True)
    outbox = Outbox()
    mail = Controller(outbox, hostname="127.0.0.1", port=free_port())
    mail.start()
    port = free_port()
    env = dict(
        os.environ,
        PII_EDGE_KEYS_FILE=str(KEYS_FILE),
        PII_EDGE_RECEIPT_KEYS=str(tmp / "receipt.jwks"),
        PII_EDGE_ZONE="eu-central",
        PII_EDGE_MAX_AGE=str(MAX_AGE),
        ORIGIN_DB=str(tmp / "origin.sqlite"),
        MAIL_HOST="127.0.0.1",
        MAIL_PORT=str(mail.port),
        ORIGIN_QUEUE=str(tmp / "queue.jsonl"),
        SUBJECT_KEYS_DB=key_store,
        ERASURE_SIGNING_KEY=str(erasure_dir / "receipt.private.jwk"),
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
        yield {"port": port, "tmp": tmp, "db": tmp / "origin.sqlite", "outbox": outbox, "env": env,
               "queue": tmp / "queue.jsonl", "erasure_keys": erasure_dir / "receipt.jwks"}
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
    # Every sealed field is at rest under the user's own key, none under the region's.
    assert json.loads(record)["user"]["email"].startswith("pr1.")
    assert "pe2." not in record
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


def variant(tmp, name, email, request_id):
    """The sign-up event with another user and CloudFront request id."""
    event = json.loads((EVENTS / "signup-json.json").read_text())
    cf = event["Records"][0]["cf"]
    cf["config"]["requestId"] = request_id
    document = json.loads(base64.b64decode(cf["request"]["body"]["data"]))
    document["user"].update(name=name, email=email)
    data = json.dumps(document).encode()
    cf["request"]["body"]["data"] = base64.b64encode(data).decode()
    cf["request"]["headers"]["content-length"] = [{"key": "Content-Length", "value": str(len(data))}]
    path = tmp / f"signup-{request_id}.json"
    path.write_text(json.dumps(event))
    return path


def delete_event(tmp, user_id):
    """DELETE /api/users/{user_id} as a CloudFront viewer-request event."""
    event = json.loads((EVENTS / "search-query.json").read_text())
    cf = event["Records"][0]["cf"]
    cf["config"]["requestId"] = f"delete-{user_id}-{time.time_ns()}"
    cf["request"].update(method="DELETE", uri=f"/api/users/{user_id}", querystring="")
    path = tmp / f"delete-{user_id}.json"
    path.write_text(json.dumps(event))
    return path


def sign_up(origin, name, email):
    event = variant(origin["tmp"], name, email, f"rq-{time.time_ns()}")
    status, _, answer = request(origin["port"], *through_edge(origin["tmp"], event))
    assert status == 201, answer
    return json.loads(answer)["id"]


def opener(origin):
    """A fresh service of the region: its own key store connection, nothing cached."""
    where = origin["env"]["SUBJECT_KEYS_DB"]
    store = PostgresKeyStore(where) if "=" in where else SqliteKeyStore(where)
    return SubjectKeys(store, pii_edge.PrivateKeyring.from_file(str(KEYS_FILE)), "eu-central", cache_seconds=0)


def fields(db_path):
    """Every (user id, stored text) of sealed fields in a users database file."""
    import sqlite3

    found = []

    def walk(user_id, value):
        if isinstance(value, dict):
            for v in value.values():
                walk(user_id, v)
        elif isinstance(value, list):
            for v in value:
                walk(user_id, v)
        elif isinstance(value, str) and (pii_edge.is_at_rest(value) or pii_edge.is_envelope(value)):
            found.append((user_id, value))

    with sqlite3.connect(db_path) as conn:
        for user_id, record in conn.execute("SELECT id, record FROM users"):
            walk(user_id, json.loads(record))
    return found


def reader(origin):
    out = subprocess.run(
        [sys.executable, "reader.py", str(origin["queue"])],
        cwd=HERE, env=origin["env"], check=True, capture_output=True,
    )
    for value in PLAINTEXT + ["max@example.org", "jo@example.net"]:
        assert value.encode() not in out.stdout + out.stderr
    return {m["id"]: m for m in map(json.loads, out.stdout.decode().splitlines())}


def test_delete_forgets_every_copy(origin):
    import sqlite3

    max_id = sign_up(origin, "Max Muster", "max@example.org")
    jo_id = sign_up(origin, "Jo Beispiel", "jo@example.net")
    # A dump of the database taken before the deletion (the backup nobody can edit).
    dump = origin["tmp"] / f"dump-{max_id}.sqlite"
    with sqlite3.connect(origin["db"]) as live, sqlite3.connect(dump) as copy:
        live.backup(copy)
    # The second service reads both e-mails from the queue.
    before = reader(origin)
    assert before[max_id] == {"id": max_id, "domain": "example.org"}
    assert before[jo_id] == {"id": jo_id, "domain": "example.net"}

    status, _, answer = request(origin["port"], *through_edge(origin["tmp"], delete_event(origin["tmp"], max_id)))
    assert status == 200, answer
    answer = json.loads(answer)
    # The erasure receipt verifies with the origin's public erasure key alone.
    audit = pii_edge.verify_erasure(answer["receipt"], pii_edge.ReceiptKeys.from_file(str(origin["erasure_keys"])))
    assert audit["subject"] == f"user-{max_id}" and audit["key_id"] == answer["erased_key_id"]
    assert audit["by"].startswith(f"DELETE /api/users/{max_id}")

    service = opener(origin)
    # The database: no row of the user is left; every other field still opens.
    live = fields(origin["db"])
    assert live and all(user_id != max_id for user_id, _ in live)
    for _, text in live:
        service.open(text)
    # The dump taken before: each of the user's fields fails with Erased, never garbage;
    # everyone else's opens.
    dumped = fields(dump)
    theirs = [text for user_id, text in dumped if user_id == max_id]
    assert len(theirs) >= 3, "the sign-up seals e-mail, phone and birth date"
    for text in theirs:
        assert pii_edge.at_rest_header(text)[1] == answer["erased_key_id"]
        with pytest.raises(pii_edge.Erased):
            service.open(text)
    others = [(user_id, text) for user_id, text in dumped if user_id != max_id]
    assert {user_id for user_id, _ in others} >= {jo_id}
    for user_id, text in others:
        service.open(text)
    assert service.open(dict(dumped)[jo_id]).value  # opens to a value
    # The queue message written before: Erased for the user, intact for the others.
    after = reader(origin)
    assert after[max_id] == {"id": max_id, "error": "Erased"}
    assert after[jo_id] == {"id": jo_id, "domain": "example.net"}
    # Deleting again finds nothing.
    status, _, answer = request(origin["port"], *through_edge(origin["tmp"], delete_event(origin["tmp"], max_id)))
    assert status == 404, answer
