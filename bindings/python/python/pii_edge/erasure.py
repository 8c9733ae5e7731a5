"""Right to erasure that reaches every copy (docs/erasure.md): per-subject keys at the origin.

At storage time a field the edge sealed to the region (``pe2.``) is rewrapped to a random key
of its data subject (``pr1.``, docs/at-rest.md). ``forget(subject)`` destroys that key: every
copy of the subject's fields, in rows, queues, dumps and backups, then fails to open with
:class:`pii_edge.Erased`. The cryptography is pii-core's (``pii_edge._native``); this module is
the key store around it.

A key store holds one record per subject key: ``key_id`` (primary key), ``subject``,
``created``, ``wrapped`` (the ``psk1.`` text: the key HPKE-sealed to the region's key, never
the key itself) and ``erased_at``. Erasing clears ``wrapped`` and sets ``erased_at``: the
record stays, so that a field naming an erased key says ``Erased`` rather than ``NoKey``.
Two backends: :class:`SqliteKeyStore` (embedded default) and :class:`PostgresKeyStore`;
another store implements the four methods of :class:`KeyStore` (docs/erasure.md §4).

    store = SqliteKeyStore("subject-keys.db")
    subjects = SubjectKeys(store, PrivateKeyring.from_file("private.jwks"), "eu-central",
                           signer=ErasureSigner.from_file("erasure-keys/receipt.private.jwk"))
    row_email = subjects.rewrap("user-42", body["email"])      # "pr1.…", store it
    subjects.open(row_email).value                             # "alice@example.com"
    subjects.forget("user-42", by="dpo@example.com").receipt   # then: Erased, everywhere
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import OrderedDict
from typing import Any, NamedTuple, Optional, Protocol, Sequence, Tuple

from ._native import (
    Erased,
    ErasureSigner,
    NoKey,
    Opened,
    PrivateKeyring,
    SubjectKey,
    at_rest_header,
    is_at_rest,
    open_at_rest,
    rewrap,
    rewrap_with_token,
)

__all__ = [
    "KeyRecord",
    "KeyStore",
    "SqliteKeyStore",
    "PostgresKeyStore",
    "SubjectKeys",
    "Forgotten",
    "SCHEMA",
]

TABLE = "pii_edge_subject_keys"

#: The table of a SQL key store (SQLite and PostgreSQL alike). The partial unique index keeps
#: one live key per subject; erased records stay (without their key) to answer ``Erased``.
SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    " key_id TEXT PRIMARY KEY,"
    " subject TEXT NOT NULL,"
    " created BIGINT NOT NULL,"
    " wrapped TEXT,"
    " erased_at BIGINT,"
    " CHECK ((wrapped IS NULL) = (erased_at IS NOT NULL)))",
    f"CREATE UNIQUE INDEX IF NOT EXISTS {TABLE}_live ON {TABLE} (subject) WHERE erased_at IS NULL",
)


class KeyRecord(NamedTuple):
    """One subject key as a store holds it."""

    key_id: str
    subject: str
    created: int
    #: ``psk1.`` text; ``None`` once erased.
    wrapped: Optional[str]
    #: Unix seconds of the erasure; ``None`` while the key lives.
    erased_at: Optional[int]


class KeyStore(Protocol):
    """What a key store does; every method is one statement (or one item operation)."""

    def live(self, subject: str) -> Optional[KeyRecord]:
        """The subject's live key, if any."""

    def get(self, key_id: str) -> Optional[KeyRecord]:
        """The record of ``key_id`` (live or erased), if any."""

    def create(self, record: KeyRecord) -> KeyRecord:
        """Store a new live key; when the subject already has one (a concurrent create),
        keep that one and return it."""

    def destroy(self, subject: str, erased_at: int) -> Optional[KeyRecord]:
        """Erase the subject's live key (drop ``wrapped``, set ``erased_at``) and return the
        erased record; ``None`` when the subject has no live key."""


_COLUMNS = "key_id, subject, created, wrapped, erased_at"


class _SqlKeyStore:
    """The SQL both backends share; ``_p`` is the driver's parameter marker."""

    _p = "?"

    # Set by each backend's __init__: a DB-API connection and the lock that serializes it.
    _db: Any
    _lock: threading.Lock

    def _run(self, sql: str, args: tuple = (), fetch: bool = True):
        with self._lock:
            cursor = self._db.execute(sql, args)
            return cursor.fetchone() if fetch else None

    def close(self):
        self._db.close()

    def live(self, subject):
        row = self._run(
            f"SELECT {_COLUMNS} FROM {TABLE} WHERE subject = {self._p} AND erased_at IS NULL",
            (subject,),
        )
        return KeyRecord(*row) if row else None

    def get(self, key_id):
        row = self._run(f"SELECT {_COLUMNS} FROM {TABLE} WHERE key_id = {self._p}", (key_id,))
        return KeyRecord(*row) if row else None

    def create(self, record):
        p = self._p
        self._run(
            f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES ({p}, {p}, {p}, {p}, NULL)"
            " ON CONFLICT DO NOTHING",
            (record.key_id, record.subject, record.created, record.wrapped),
            fetch=False,
        )
        live = self.live(record.subject)
        if live is None:
            # A concurrent destroy came after the insert. When it erased this very key, that is
            # the answer (create, then forget); when it erased another's key that had won the
            # insert, this one was never stored: insert it again.
            return self.get(record.key_id) or self.create(record)
        return live

    def destroy(self, subject, erased_at):
        p = self._p
        row = self._run(
            f"UPDATE {TABLE} SET wrapped = NULL, erased_at = {p}"
            f" WHERE subject = {p} AND erased_at IS NULL RETURNING {_COLUMNS}",
            (erased_at, subject),
        )
        return KeyRecord(*row) if row else None


class SqliteKeyStore(_SqlKeyStore):
    """Subject keys in a SQLite database file (the embedded default).

    ``secure_delete`` is on, so SQLite overwrites a destroyed key's bytes in the file instead
    of leaving them in a free page; copies of the file made before (backups, replicas) still
    hold it wrapped: see docs/erasure.md §3.
    """

    def __init__(self, path: str):
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA secure_delete = ON")
        for statement in SCHEMA:
            self._db.execute(statement)


class PostgresKeyStore(_SqlKeyStore):
    """Subject keys in PostgreSQL (psycopg 3), one autocommit connection.

    PostgreSQL keeps an updated row's old version until VACUUM reclaims it: run
    ``VACUUM pii_edge_subject_keys`` after erasures (docs/erasure.md §3).
    """

    _p = "%s"

    def __init__(self, conninfo: str):
        import psycopg  # only this backend needs it
        from psycopg import errors

        self._db = psycopg.connect(conninfo, autocommit=True)
        self._lock = threading.Lock()
        for statement in SCHEMA:
            try:
                self._db.execute(statement)
            except (errors.UniqueViolation, errors.DuplicateObject, errors.DuplicateTable):
                # Services starting at once on an empty database race on CREATE ... IF NOT
                # EXISTS; the loser fails on the catalog, and running it again finds the table.
                self._db.execute(statement)

    def vacuum(self):
        """Reclaim the old row versions that still hold erased keys (wrapped)."""
        with self._lock:
            self._db.execute(f"VACUUM {TABLE}")


class Forgotten(NamedTuple):
    """What :meth:`SubjectKeys.forget` did."""

    subject: str
    key_id: str
    erased_at: int
    #: The signed erasure receipt (docs/erasure.md §5), when the ``SubjectKeys`` has a signer.
    receipt: Optional[str]


class SubjectKeys:
    """Rewrap, open and forget with subject keys kept in ``store``, wrapped to the newest key
    of ``zone`` in ``keys`` (the region's private keyring).

    Unwrapped keys are cached (``cache_size`` keys, each at most ``cache_seconds``): a key
    lookup unwraps with one X25519 operation, a cached key costs nothing. ``forget`` evicts
    the key from this object's cache at once; other processes that cached it stop using it
    within ``cache_seconds`` (docs/erasure.md §3).
    """

    def __init__(
        self,
        store: KeyStore,
        keys: PrivateKeyring,
        zone: str,
        signer: Optional[ErasureSigner] = None,
        cache_size: int = 1024,
        cache_seconds: float = 60.0,
    ):
        self.store, self.keys, self.zone, self.signer = store, keys, zone, signer
        self._cache: OrderedDict = OrderedDict()
        self._cache_size, self._cache_seconds = cache_size, cache_seconds
        self._lock = threading.Lock()

    def _cached(self, key_id: str) -> Optional[SubjectKey]:
        with self._lock:
            hit = self._cache.get(key_id)
            if hit is None:
                return None
            key, at = hit
            if time.monotonic() - at >= self._cache_seconds:
                del self._cache[key_id]
                return None
            self._cache.move_to_end(key_id)
            return key

    def _remember(self, key: SubjectKey) -> SubjectKey:
        if self._cache_size > 0 and self._cache_seconds > 0:
            with self._lock:
                self._cache[key.key_id] = (key, time.monotonic())
                self._cache.move_to_end(key.key_id)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return key

    def key_for(self, subject: str) -> SubjectKey:
        """The subject's live key, created (and stored wrapped) when it has none."""
        record = self.store.live(subject)
        if record is None:
            key = SubjectKey.generate(subject)
            record = self.store.create(
                KeyRecord(key.key_id, subject, key.created, key.wrap(self.keys, self.zone), None)
            )
            if record.key_id == key.key_id:
                return self._remember(key)
        return self._cached(record.key_id) or self._remember(
            SubjectKey.unwrap(self.keys, record.wrapped)
        )

    def rewrap(self, subject: str, envelope: str) -> str:
        """The edge's envelope ``envelope`` (``pe2.``) sealed under ``subject``'s key
        (``pr1.``). A value that is already at rest under that subject's live key is returned
        unchanged. Raises the envelope's open error (``NoKey``, ``Tampered``, ...)."""
        key = self.key_for(subject)
        if is_at_rest(envelope) and at_rest_header(envelope) == (subject, key.key_id):
            return envelope
        return rewrap(self.keys, envelope, key)

    def rewrap_with_token(
        self, subject: str, envelope: str, domain: str, normalize: Sequence[str] = ()
    ) -> Tuple[str, str]:
        """:meth:`rewrap`, and the per-subject token (``ts1.``, docs/at-rest.md §7) of the same
        value in ``domain`` after ``normalize``, from one opening: ``(field, token)``. Store the
        token beside the field to find the row again with :meth:`token`; after :meth:`forget`
        nothing computes it any more. Raises what ``rewrap`` raises, ``InvalidDomain`` and
        ``Untokenizable``."""
        key = self.key_for(subject)
        return rewrap_with_token(self.keys, envelope, key, domain, list(normalize))

    def token(
        self, subject: str, domain: str, value: Any, normalize: Sequence[str] = ()
    ) -> Optional[str]:
        """The per-subject token of ``value`` (str or bytes) for a lookup
        (``WHERE email_token = ?``), under ``subject``'s live key. ``None`` when the subject has
        no live key (never stored, or forgotten): then no stored token can match. Never creates
        a key."""
        record = self.store.live(subject)
        if record is None:
            return None
        key = self._cached(record.key_id) or self._remember(
            SubjectKey.unwrap(self.keys, record.wrapped)
        )
        return key.token(domain, value, list(normalize))

    def key_of(self, text: str) -> SubjectKey:
        """The subject key a field at rest names. Raises ``Erased`` when the store says it was
        destroyed, ``NoKey`` when the store has no record of it."""
        return self.key_by_id(*at_rest_header(text))

    def key_by_id(self, subject: str, key_id: str) -> SubjectKey:
        """The subject key ``key_id`` of ``subject`` (what a field's clear header names): what
        ``PrivateKeyring.reveal(..., subject_keys=self)`` asks for each field at rest of a
        request. Raises ``Erased`` or ``NoKey`` as :meth:`key_of` does."""
        key = self._cached(key_id)
        if key is not None and key.subject == subject:
            return key
        record = self.store.get(key_id)
        if record is None or record.subject != subject:
            raise NoKey(f"no subject key {key_id} in the key store")
        if record.wrapped is None:
            raise Erased(f"the data subject was erased at {record.erased_at} (key {key_id})")
        return self._remember(SubjectKey.unwrap(self.keys, record.wrapped))

    def open(self, text: str) -> Opened:
        """Opens a field in either format: at rest (``pr1.``) with its subject key, or as the
        edge sealed it (``pe2.``) with the region's keys."""
        if is_at_rest(text):
            return open_at_rest(self.key_of(text), text)
        return self.keys.open(text)

    def forget(self, subject: str, by: str, now: Optional[int] = None) -> Optional[Forgotten]:
        """Destroys ``subject``'s key: every field sealed under it, wherever it was copied,
        fails to open with ``Erased`` from now on. ``by`` says who erased (for the receipt).
        Returns what was erased, with a signed receipt when this object has a signer; ``None``
        when the subject had no live key."""
        erased_at = int(time.time()) if now is None else now
        record = self.store.destroy(subject, erased_at)
        # No key of the subject lives now: evict every cached one, also a key that another
        # service's forget destroyed before this one found nothing left to destroy.
        with self._lock:
            for key_id in [k for k, (key, _) in self._cache.items() if key.subject == subject]:
                del self._cache[key_id]
        if record is None:
            return None
        receipt = (
            self.signer.sign(by, subject, record.key_id, erased_at) if self.signer else None
        )
        return Forgotten(subject, record.key_id, erased_at, receipt)
