"""Erasure (docs/erasure.md): rewrap to subject keys, open both formats, forget, receipts; on
SQLite and on a throwaway PostgreSQL cluster."""

import json
import sqlite3
import sys
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

import pii_edge
from pii_edge.erasure import KeyRecord, PostgresKeyStore, SqliteKeyStore, SubjectKeys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
from throwaway_postgres import throwaway_postgres  # noqa: E402

VECTOR = json.loads((ROOT / "docs/vectors/string_email.json").read_text())
KEYS = pii_edge.PrivateKeyring.from_jwks(json.dumps(VECTOR["private_jwks"]))
ENVELOPE = VECTOR["envelope"]
SIGNER_JWK = '{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}'


@pytest.fixture(scope="module")
def postgres():
    with throwaway_postgres() as conninfo:
        yield conninfo


@pytest.fixture(params=["sqlite", "postgres"])
def make_store(request, tmp_path):
    """A function that opens the test's key store (again, as another service would)."""
    if request.param == "sqlite":
        path = str(tmp_path / "keys.db")
        return lambda: SqliteKeyStore(path)
    conninfo = request.getfixturevalue("postgres")
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as db:
        db.execute("DROP TABLE IF EXISTS pii_edge_subject_keys")
    return lambda: PostgresKeyStore(conninfo)


def subjects(store, **kw):
    return SubjectKeys(store, KEYS, "eu-central", signer=pii_edge.ErasureSigner.from_jwk(SIGNER_JWK), **kw)


def test_rewrap_open_forget(make_store):
    writer = subjects(make_store())
    reader = subjects(make_store(), cache_seconds=0)  # a second service, no cache
    alice = writer.rewrap("user-1", ENVELOPE)
    bob = writer.rewrap("user-2", ENVELOPE)
    assert pii_edge.is_at_rest(alice) and not pii_edge.is_envelope(alice)
    assert pii_edge.at_rest_header(alice)[0] == "user-1"
    assert alice != bob
    # Rewrapping a field already at rest under the live key changes nothing.
    assert writer.rewrap("user-1", alice) == alice
    for service in (writer, reader):
        opened = service.open(alice)
        assert opened.value == "alice@example.com"
        assert opened.kind == "string"
        assert str(opened.binding.location) == "json:$['email']"
        assert service.open(ENVELOPE).value == "alice@example.com"  # the edge's format too

    forgotten = writer.forget("user-1", by="dpo@example.com")
    assert forgotten.subject == "user-1"
    # The receipt verifies with the public key alone.
    audit = pii_edge.verify_erasure(
        forgotten.receipt, pii_edge.ReceiptKeys.from_jwks(pii_edge.ErasureSigner.from_jwk(SIGNER_JWK).public_jwk)
    )
    assert audit["subject"] == "user-1" and audit["key_id"] == forgotten.key_id
    assert audit["by"] == "dpo@example.com" and audit["erased_at"] == forgotten.erased_at

    for service in (writer, reader):
        with pytest.raises(pii_edge.Erased):
            service.open(alice)
        assert service.open(bob).value == "alice@example.com"  # another subject: intact
    assert writer.forget("user-1", by="dpo") is None  # nothing left to erase

    # The subject signs up again: a new key; the old field stays erased.
    again = writer.rewrap("user-1", ENVELOPE)
    assert pii_edge.at_rest_header(again)[1] != forgotten.key_id
    assert reader.open(again).value == "alice@example.com"
    with pytest.raises(pii_edge.Erased):
        reader.open(alice)


def test_erased_record_keeps_no_key(make_store):
    store = make_store()
    keys = subjects(store)
    keys.rewrap("user-9", ENVELOPE)
    erased = keys.forget("user-9", by="ops", now=1_800_000_000)
    record = store.get(erased.key_id)
    assert record.wrapped is None and record.erased_at == 1_800_000_000
    assert store.live("user-9") is None


def test_unknown_key_is_no_key_and_wrong_key_is_refused(make_store):
    keys = subjects(make_store())
    other = pii_edge.SubjectKey.generate("user-1")
    field = pii_edge.rewrap(KEYS, ENVELOPE, other)  # its key was never stored
    with pytest.raises(pii_edge.NoKey):
        keys.open(field)
    with pytest.raises(pii_edge.WrongKey):
        pii_edge.open_at_rest(pii_edge.SubjectKey.generate("user-1"), field)
    assert "secret" not in repr(other) and other.key_id in repr(other)


def test_create_overtaken_by_a_forget_returns_its_own_erased_record(make_store):
    store, other = make_store(), make_store()
    key = pii_edge.SubjectKey.generate("user-1")
    record = KeyRecord(key.key_id, "user-1", key.created, key.wrap(KEYS, "eu-central"), None)
    live = store.live

    def overtaken(subject):  # another service's forget runs between the insert and the read
        other.destroy(subject, 1800000000)
        store.live = live
        return live(subject)

    store.live = overtaken
    assert store.create(record) == record._replace(wrapped=None, erased_at=1800000000)


def test_forget_that_finds_nothing_still_evicts_the_cached_key(make_store):
    a, b = subjects(make_store()), subjects(make_store())  # two services, both caching
    field = a.rewrap("user-1", ENVELOPE)
    assert b.open(field).value == "alice@example.com"
    assert b.forget("user-1", by="dpo").key_id == pii_edge.at_rest_header(field)[1]
    assert a.forget("user-1", by="dpo") is None  # another service erased it already
    for service in (a, b):
        with pytest.raises(pii_edge.Erased):
            service.open(field)


def test_concurrent_creates_keep_one_key_and_first_use_races_create_one_table(postgres):
    with psycopg.connect(postgres, autocommit=True) as db:
        db.execute("DROP TABLE IF EXISTS pii_edge_subject_keys")
    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _: PostgresKeyStore(postgres), range(4)))  # all create the table at once
        keys = [pii_edge.SubjectKey.generate("user-9") for _ in range(8)]
        records = [KeyRecord(k.key_id, "user-9", k.created, k.wrap(KEYS, "eu-central"), None) for k in keys]
        won = list(pool.map(lambda i: stores[i % 4].create(records[i]), range(8)))
    assert len({r.key_id for r in won}) == 1 and won[0] in records
    for store in stores:
        store.close()


def test_sqlite_overwrites_destroyed_keys(tmp_path):
    path = tmp_path / "keys.db"
    keys = subjects(SqliteKeyStore(str(path)))
    keys.rewrap("user-5", ENVELOPE)
    wrapped = keys.store.live("user-5").wrapped
    keys.forget("user-5", by="ops")
    keys.store.close()
    assert wrapped.encode() not in path.read_bytes()
    assert sqlite3.connect(str(path)).execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_at_rest_vectors_open_through_the_binding():
    for path in sorted((ROOT / "docs/vectors/at_rest").glob("*.json")):
        v = json.loads(path.read_text())
        if v["expect"] != "success":
            continue
        keys = pii_edge.PrivateKeyring.from_jwks(json.dumps(v["private_jwks"]))
        key = pii_edge.SubjectKey.unwrap(keys, v["subject_key"]["wrapped"])
        assert key.key_id == v["subject_key"]["key_id"]
        opened = pii_edge.open_at_rest(key, v["at_rest"])
        assert json.dumps(opened.value) == v["plaintext"] or opened.value == v["plaintext"]
        assert str(opened.binding.location) == v["header"]["location"]


def test_rewrap_reports_the_envelopes_error():
    with pytest.raises(pii_edge.Malformed):
        pii_edge.rewrap(KEYS, "pe2.AAAA", pii_edge.SubjectKey.generate("u"))
    with pytest.raises(pii_edge.InvalidSubject):
        pii_edge.SubjectKey.generate("a\nb")


def test_per_subject_token_stops_matching_after_forget(make_store):
    writer = subjects(make_store())
    reader = subjects(make_store(), cache_seconds=0)
    steps = ["trim", "casefold"]
    field, token = writer.rewrap_with_token("user-1", ENVELOPE, "email", steps)
    _, bob_token = writer.rewrap_with_token("user-2", ENVELOPE, "email", steps)
    assert token.startswith("ts1.email.") and len(token) == len("ts1.email.") + 43
    assert reader.open(field).value == "alice@example.com"
    # A lookup by the value matches the stored token, for this subject only.
    assert reader.token("user-1", "email", " Alice@Example.com", steps) == token
    assert token != bob_token  # the same value of another subject: unrelated
    assert reader.token("user-3", "email", "alice@example.com", steps) is None  # no key, no token
    assert reader.store.live("user-3") is None  # the lookup created none

    writer.forget("user-1", by="dpo")
    assert reader.token("user-1", "email", "alice@example.com", steps) is None
    # A new sign-up gets a new key: its tokens never equal the stored ones.
    _, again = writer.rewrap_with_token("user-1", ENVELOPE, "email", steps)
    assert again != token
    assert reader.token("user-1", "email", "alice@example.com", steps) == again
    assert reader.token("user-2", "email", "alice@example.com", steps) == bob_token  # intact


def test_per_subject_token_vectors_and_refusals():
    cases = json.loads((ROOT / "docs/vectors/erasure/subject_tokens.json").read_text())["cases"]
    assert len(cases) >= 8
    key = pii_edge.SubjectKey.generate("user-1")
    for case in cases:
        # The binding cannot build a key from raw bytes (keys are random); it must agree with
        # the vectors' errors, and a token's shape.
        if case["name"].startswith("fail_"):
            error = getattr(pii_edge, case["expect"])
            with pytest.raises(error):
                key.token(case["domain"], case["value"], case["normalize"])
        else:
            token = key.token(case["domain"], case["value"], case["normalize"])
            assert token.startswith(f"ts1.{case['domain']}.") and token != case["expect"]
    assert key.token("email", b"alice@example.com") == key.token("email", "alice@example.com")
    with pytest.raises(ValueError, match="unknown normalization step"):
        key.token("email", "x", ["nfc"])
    with pytest.raises(pii_edge.Untokenizable) as refused:
        pii_edge.rewrap_with_token(KEYS, ENVELOPE, key, "phone", ["digits"])
    assert "alice" not in str(refused.value)


def test_reveal_opens_fields_at_rest_and_fails_erased_after_forget(tmp_path):
    """The packages' reveal accepts both formats when given a subject key source: a service
    forwards stored fields (pr1.) in a request; after forget it gets Erased, never garbage."""
    import asyncio
    import io

    from pii_edge.middleware import reveal_starlette, reveal_wsgi

    subjects_ = subjects(SqliteKeyStore(str(tmp_path / "keys.db")))
    stored = subjects_.rewrap("user-1", ENVELOPE)  # sealed at json:$['email']
    other = subjects_.rewrap("user-2", ENVELOPE)
    body = json.dumps({"email": stored}).encode()
    headers = [("content-type", "application/json")]

    # Without a subject key source, a pr1. field is left as it is (it is not an envelope).
    assert KEYS.reveal("POST", "/x", headers, body).opened == 0
    revealed = KEYS.reveal("POST", "/x", headers, body, subject_keys=subjects_)
    assert revealed.json() == {"email": "alice@example.com"} and revealed.opened == 1
    assert str(revealed.fields[0].binding.location) == "json:$['email']"
    # The edge's envelope and a field at rest in one request.
    both = json.dumps({"email": stored, "also": ENVELOPE}).encode()
    with pytest.raises(pii_edge.WrongLocation):  # the envelope was sealed for json:$['email']
        KEYS.reveal("POST", "/x", headers, both, subject_keys=subjects_)
    # Moved to another place: refused like an envelope.
    moved = json.dumps({"mail": stored}).encode()
    with pytest.raises(pii_edge.WrongLocation):
        KEYS.reveal("POST", "/x", headers, moved, subject_keys=subjects_)

    class Scope:  # a Starlette Request as far as reveal_starlette reads it
        def __init__(self, body):
            self.scope = {"type": "http", "method": "POST", "path": "/x", "raw_path": b"/x",
                          "query_string": b"", "headers": [(b"content-type", b"application/json")]}
            self._body = body

        async def body(self):
            return self._body

    def environ(body):
        return {"REQUEST_METHOD": "POST", "PATH_INFO": "/x", "CONTENT_TYPE": "application/json",
                "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}

    assert asyncio.run(reveal_starlette(KEYS, Scope(body), subject_keys=subjects_)).json()["email"] == "alice@example.com"
    assert reveal_wsgi(KEYS, environ(body), subject_keys=subjects_).json()["email"] == "alice@example.com"

    subjects_.forget("user-1", by="dpo")
    for reveal in (
        lambda: KEYS.reveal("POST", "/x", headers, body, subject_keys=subjects_),
        lambda: asyncio.run(reveal_starlette(KEYS, Scope(body), subject_keys=subjects_)),
        lambda: reveal_wsgi(KEYS, environ(body), subject_keys=subjects_),
    ):
        with pytest.raises(pii_edge.Erased) as erased:
            reveal()
        assert erased.value.location == "json:$['email']"
    # Another subject's field still opens; an unknown key is NoKey, with where.
    assert KEYS.reveal("POST", "/x", headers, json.dumps({"email": other}).encode(),
                       subject_keys=subjects_).json()["email"] == "alice@example.com"
    stranger = pii_edge.rewrap(KEYS, ENVELOPE, pii_edge.SubjectKey.generate("user-1"))
    with pytest.raises(pii_edge.NoKey):
        KEYS.reveal("POST", "/x", headers, json.dumps({"email": stranger}).encode(), subject_keys=subjects_)
    # The source's own exceptions (a store that is down) propagate.
    class Broken:
        def key_by_id(self, subject, key_id):
            raise ConnectionError("store down")

    with pytest.raises(ConnectionError):
        KEYS.reveal("POST", "/x", headers, json.dumps({"email": other}).encode(), subject_keys=Broken())


def test_classify_and_audit_count_fields_at_rest_apart_from_plaintext(tmp_path):
    """A rewrapped table is not a table of values in clear: `pr1.` fields are `at-rest`,
    per-subject tokens are tokens, and the audit names no subject."""
    key = pii_edge.SubjectKey.generate("user-42")
    field = pii_edge.rewrap(KEYS, ENVELOPE, key)
    token = key.token("email", b"alice@example.com", ["trim", "casefold"])
    # Cut inside the header: always malformed (a cut in the ciphertext may still decode).
    column = [field, token, field[:20], "alice@example.com"]
    assert pii_edge.classify(column) == ["at-rest", "token", "malformed", "plaintext"]
    counts = {row[:5]: row[5] for row in pii_edge.audit(column, "email")}
    assert counts[("at-rest", VECTOR["binding"]["zone"], VECTOR["binding"]["policy"], None, None)] == 1
    assert counts[("plaintext", None, None, None, "email")] == 1
    assert "user-42" not in repr(pii_edge.audit(column, "email"))
    # The rewrapper leaves fields at rest as they are: their key is the subject's.
    private = tmp_path / "private.jwks"
    public = tmp_path / "public.jwks"
    private.write_text(json.dumps(VECTOR["private_jwks"]))
    public.write_text(json.dumps(VECTOR["public_jwks"]))
    rewrapper = pii_edge.Rewrapper.from_files(str(private), str(public))
    assert rewrapper.rewrap([field]) == ([field], ["at-rest"])
