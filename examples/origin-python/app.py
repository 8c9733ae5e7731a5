"""A regional origin in Python: FastAPI on uvicorn, behind the pii-edge CloudFront function.

What it shows:

- Every request must carry a valid, fresh receipt of the edge (``ReceiptMiddleware``): a
  request sent straight to this service, around the edge, is refused with 403 before any
  handler runs, as is a replayed receipt older than ``PII_EDGE_MAX_AGE`` or a body changed
  after the edge.
- ``POST /api/users`` (the ``signup`` policy's route) stores the record **as the edge forwarded
  it**: the envelopes, not the plaintext. It checks, without decrypting anything, that the
  edge applied the ``signup`` policy to exactly this body (the receipt binds the body's digest).
- **Strict opening** (``keyring=`` and ``strict=`` of the middleware, with the policies the edge
  runs): a request in which a location those policies encrypt holds plaintext is refused with
  422 before any handler runs, whatever the receipt says (a stale edge, a forged receipt).
- **Erasure that reaches every copy** (docs/erasure.md): on insert every envelope of the record
  is rewrapped to a key of its data subject (``user-<id>``, ``pr1.``), kept wrapped in a key
  store (``SUBJECT_KEYS_DB``: a SQLite file or a PostgreSQL conninfo). The ``user.created``
  message on the queue carries the same ``pr1.`` e-mail. ``DELETE /api/users/{id}`` forgets the
  subject: its key is destroyed, so the row, every dump taken before and every queued message
  of that user fail to open with ``Erased``; the answer carries a signed erasure receipt.
- The e-mail address is opened in :func:`send_welcome_mail`, which needs it to send mail, and
  by the second service (``reader.py``) that reads the queue; the plaintext lives only in
  their locals and the SMTP session. Nothing is logged or echoed.

Configuration (environment variables):

===========================  ====================================================================
``PII_EDGE_KEYS_FILE``       this region's private JWKS (from its secret store; never in the package)
``PII_EDGE_RECEIPT_KEYS``    the edge's public receipt key(s) (``receipt.jwks``)
``PII_EDGE_ZONE``            the residency zone this region serves (``eu-central``)
``PII_EDGE_MAX_AGE``         oldest receipt accepted, seconds (default 300)
``PII_EDGE_POLICIES``        the edge's policy directory, for strict opening (default: the repository's ``policies/``)
``ORIGIN_DB``                SQLite database file
``ORIGIN_QUEUE``             file the ``user.created`` messages are appended to (JSON lines)
``SUBJECT_KEYS_DB``          the subject key store: SQLite file (default beside ``ORIGIN_DB``) or ``host=… dbname=…``
``ERASURE_SIGNING_KEY``      this origin's Ed25519 private JWK that signs erasure receipts
``MAIL_HOST``/``MAIL_PORT``  SMTP server for the welcome mail
===========================  ====================================================================

Run: ``uvicorn app:app --host 127.0.0.1 --port 8000`` (see README.md).
"""

from __future__ import annotations

import json
import os
import smtplib
import sqlite3
from email.message import EmailMessage

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

import pii_edge
from pii_edge.erasure import SubjectKeys
from pii_edge.middleware import ReceiptMiddleware

from subjects import rewrap_all, subject_keys

POLICY = "signup"
EMAIL = pii_edge.Location("json:$['user']['email']")
POLICIES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "policies")

# The sign-up body, described for the OpenAPI document FastAPI generates (``openapi.json`` beside
# this file, checked by tests/test_openapi.py): the handler reads the raw body, because the
# fields the edge encrypts arrive as envelopes, not as the e-mail addresses and dates a
# validating model would expect. ``pii-edge draft --openapi openapi.json`` drafts the policy
# from it (docs/draft.md).
SIGNUP_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["user"],
                "properties": {
                    "user": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "email": {"type": "string", "format": "email"},
                            "phone": {"type": "string"},
                            "birthDate": {"type": "string", "format": "date"},
                            "address": {
                                "type": "object",
                                "properties": {
                                    "street": {"type": "string"},
                                    "city": {"type": "string"},
                                    "country": {"type": "string"},
                                },
                            },
                        },
                    },
                    "marketingOptIn": {"type": "boolean"},
                    "amount": {"type": "integer"},
                },
            },
            "example": {
                "user": {
                    "name": "Erika Mustermann",
                    "email": "erika@example.de",
                    "phone": "+49 30 1234567",
                    "birthDate": "1990-04-01",
                    "address": {"street": "Hauptstr. 1", "city": "Berlin", "country": "DE"},
                },
                "marketingOptIn": True,
                "amount": 1234,
            },
        }
    },
}


def connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(
        "CREATE TABLE IF NOT EXISTS users ("
        " id INTEGER PRIMARY KEY,"
        " request_id TEXT UNIQUE,"  # the receipt's request id: a replayed request is stored once
        " zone TEXT NOT NULL,"
        " record TEXT NOT NULL,"  # the JSON body as the edge forwarded it: envelopes, masked name
        " mail_sent INTEGER NOT NULL DEFAULT 0)"
    )
    return db


def value_at(document, location: pii_edge.Location):
    for step in location.path:
        if isinstance(document, dict) and isinstance(step, str):
            document = document.get(step)
        elif isinstance(document, list) and isinstance(step, int) and step < len(document):
            document = document[step]
        else:
            return None
    return document


def problem(status: int, kind: str, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": f"https://example.invalid/problems/{kind}", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )


def send_welcome_mail(keys: SubjectKeys, zone: str, db: sqlite3.Connection, user_id: int) -> None:
    """Opens the e-mail address to send mail: the field at rest, under the user's key."""
    row = db.execute("SELECT record FROM users WHERE id = ?", (user_id,)).fetchone()
    opened = keys.open(value_at(json.loads(row[0]), EMAIL))
    # Refuses a value sealed elsewhere (another field, policy or zone), as open_expecting does.
    at = opened.binding
    if (at.policy, at.zone, at.location) != (POLICY, zone, EMAIL):
        raise pii_edge.WrongLocation(f"the e-mail field was sealed for {at!r}")
    address = opened.value
    message = EmailMessage()
    message["From"] = "welcome@shop.example"
    message["To"] = address
    message["Subject"] = "Welcome"
    message.set_content("Your account is ready.")
    with smtplib.SMTP(os.environ.get("MAIL_HOST", "127.0.0.1"), int(os.environ.get("MAIL_PORT", "25"))) as smtp:
        smtp.send_message(message)
    db.execute("UPDATE users SET mail_sent = 1 WHERE id = ?", (user_id,))


def create_app() -> FastAPI:
    keyring = pii_edge.PrivateKeyring.from_file(os.environ["PII_EDGE_KEYS_FILE"])
    receipt_keys = pii_edge.ReceiptKeys.from_file(os.environ["PII_EDGE_RECEIPT_KEYS"])
    zone = os.environ.get("PII_EDGE_ZONE", "eu-central")
    db = connect(os.environ["ORIGIN_DB"])
    keys = subject_keys(keyring, zone)
    queue = os.environ.get("ORIGIN_QUEUE")

    app = FastAPI()
    app.add_middleware(
        ReceiptMiddleware,
        keys=receipt_keys,
        max_age=int(os.environ.get("PII_EDGE_MAX_AGE", "300")),
        exempt_paths=["/healthz"],
        keyring=keyring,
        strict=pii_edge.Policies.from_files([os.environ.get("PII_EDGE_POLICIES", POLICIES)]),
    )

    @app.get("/healthz")
    async def health():
        return {"ok": True}

    @app.post("/api/users", status_code=201, openapi_extra={"requestBody": SIGNUP_BODY})
    async def signup(request: Request):
        receipt: pii_edge.Receipt = request.state.pii_edge_receipt
        # The receipt binds this exact body: the edge applied `signup` to it.
        if receipt.policy != POLICY or receipt.zone != zone:
            return problem(403, "wrong-policy", "Not protected for this service",
                           f"the edge applied {receipt.policy!r} for zone {receipt.zone!r}")
        try:
            record = json.loads(await request.body())
        except ValueError:
            raise HTTPException(400, "the body is not JSON")
        # The row and its fields at rest in one transaction: no committed row ever holds an
        # envelope of the region's key.
        db.execute("BEGIN")
        cursor = db.execute(
            "INSERT OR IGNORE INTO users (request_id, zone, record) VALUES (?, ?, '{}')",
            (receipt.request_id, zone),
        )
        if cursor.rowcount == 0:
            db.execute("ROLLBACK")
            return problem(409, "replayed", "Already processed", "this request id was stored before")
        user_id = cursor.lastrowid
        try:
            stored = rewrap_all(record, keys, f"user-{user_id}")
            db.execute("UPDATE users SET record = ? WHERE id = ?", (json.dumps(stored), user_id))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if queue:
            with open(queue, "a", encoding="utf-8") as q:
                message = {"type": "user.created", "id": user_id, "email": value_at(stored, EMAIL)}
                q.write(json.dumps(message) + "\n")
        send_welcome_mail(keys, zone, db, user_id)
        return {"id": user_id}

    @app.delete("/api/users/{user_id}")
    async def erase(user_id: int, request: Request):
        receipt: pii_edge.Receipt = request.state.pii_edge_receipt
        forgotten = keys.forget(f"user-{user_id}", by=f"DELETE /api/users/{user_id} request {receipt.request_id}")
        deleted = db.execute("DELETE FROM users WHERE id = ?", (user_id,)).rowcount
        if forgotten is None and not deleted:
            return problem(404, "no-such-user", "No such user", f"user {user_id} has no data here")
        return {
            "id": user_id,
            "erased_key_id": forgotten.key_id if forgotten else None,
            "receipt": forgotten.receipt if forgotten else None,
        }

    return app


if os.environ.get("PII_EDGE_KEYS_FILE"):
    app = create_app()
