"""The subject keys of the example services (app.py, reader.py): where the key store is, and
how a stored record's envelopes are rewrapped to its data subject (docs/erasure.md)."""

import os

import pii_edge
from pii_edge.erasure import PostgresKeyStore, SqliteKeyStore, SubjectKeys


def subject_keys(keyring: pii_edge.PrivateKeyring, zone: str) -> SubjectKeys:
    """The subject key store of ``SUBJECT_KEYS_DB``: PostgreSQL for a conninfo, else a SQLite
    file (default ``subject-keys.sqlite`` beside ``ORIGIN_DB``; in production keep it apart
    from the data and its backups, docs/erasure.md §3)."""
    beside = os.path.dirname(os.path.abspath(os.environ.get("ORIGIN_DB", "origin.sqlite")))
    where = os.environ.get("SUBJECT_KEYS_DB", os.path.join(beside, "subject-keys.sqlite"))
    store = PostgresKeyStore(where) if "=" in where or where.startswith("postgres") else SqliteKeyStore(where)
    signer = os.environ.get("ERASURE_SIGNING_KEY")
    return SubjectKeys(store, keyring, zone, signer=pii_edge.ErasureSigner.from_file(signer) if signer else None)


def rewrap_all(document, keys: SubjectKeys, subject: str):
    """The document with every envelope the edge sealed rewrapped to ``subject``'s key."""
    if isinstance(document, dict):
        return {name: rewrap_all(value, keys, subject) for name, value in document.items()}
    if isinstance(document, list):
        return [rewrap_all(value, keys, subject) for value in document]
    if isinstance(document, str) and pii_edge.is_envelope(document):
        return keys.rewrap(subject, document)
    return document
