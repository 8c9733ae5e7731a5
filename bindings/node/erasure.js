'use strict';
// Erasure for Node.js origins (docs/erasure.md): subject keys, rewrap to the at-rest format
// (`pr1.`, docs/at-rest.md), opening it, per-subject tokens, signed erasure receipts, and the
// key store around them: `SubjectKeys` over a store of the four operations of
// docs/erasure.md §4 (`SqliteKeyStore` on a better-sqlite3 or node:sqlite database,
// `PostgresKeyStore` on a node-postgres pool, or the application's own). index.js installs it; the cryptography is pii-core's.

module.exports = function install({ native, call, classes, Opened, PrivateKeyring, ReceiptKeys }) {
  /** The data subject was erased: the key of this field is destroyed, for good. */
  class Erased extends classes.OpenError {}
  /** The field at rest names another subject key than the one given. */
  class WrongKey extends classes.OpenError {}
  /** A subject id must be 1 to 255 bytes of UTF-8 without control characters. */
  class InvalidSubject extends classes.PiiEdgeError {}
  /** A token domain must be 1 to 64 bytes of a-z, 0-9 and -, parts joined by single dots. */
  class InvalidDomain extends classes.PiiEdgeError {}
  /** The value cannot be normalized with the steps given (not text, no digit, not an e-mail). */
  class Untokenizable extends classes.PiiEdgeError {}
  Object.assign(classes, { Erased, WrongKey, InvalidSubject, InvalidDomain, Untokenizable });

  const steps = (normalize) => {
    if (normalize === undefined || normalize === null) return [];
    if (!Array.isArray(normalize)) throw new TypeError('normalize must be an array of step names');
    return normalize.map(String);
  };
  const text = (value) => (Buffer.isBuffer(value) || value instanceof Uint8Array
    ? Buffer.from(value).toString('utf8') : String(value));

  const keyring = (k) => {
    if (!(k instanceof PrivateKeyring)) throw new TypeError('keyring must be a PrivateKeyring');
    return k._inner;
  };

  /** One data subject's 256-bit key, unwrapped in memory. */
  class SubjectKey {
    constructor(inner) { this._inner = inner; }
    /** A new random key for `subject` (created now, or at `created` unix seconds). */
    static generate(subject, created) {
      return new SubjectKey(call(() => native.SubjectKey.generate(String(subject), created)));
    }
    /** Unwraps a key store's `psk1.` record with the region's private keys. */
    static unwrap(keys, wrapped) {
      return new SubjectKey(call(() => native.SubjectKey.unwrap(keyring(keys), String(wrapped))));
    }
    /** The `psk1.` text a key store holds: the key HPKE-sealed to the newest key of `zone`. */
    wrap(keys, zone) { return call(() => this._inner.wrap(keyring(keys), String(zone))); }
    /** The per-subject token `ts1.<domain>.…` of `value` after `normalize` (docs/at-rest.md §7). */
    token(domain, value, normalize) {
      return call(() => this._inner.token(String(domain), text(value), steps(normalize)));
    }
    get subject() { return this._inner.subject; }
    get keyId() { return this._inner.keyId; }
    get created() { return this._inner.created; }
    [Symbol.for('nodejs.util.inspect.custom')]() { return `SubjectKey(subject=${this.subject}, keyId=${this.keyId})`; }
  }

  const subjectKey = (k) => {
    if (!(k instanceof SubjectKey)) throw new TypeError('key must be a SubjectKey');
    return k._inner;
  };

  /** Signs erasure receipts (docs/erasure.md §5) with an Ed25519 private JWK. */
  class ErasureSigner {
    constructor(inner) { this._inner = inner; }
    static fromJwk(text) { return new ErasureSigner(call(() => native.ErasureSigner.fromJwk(String(text)))); }
    get publicJwk() { return this._inner.publicJwk; }
    /** The receipt stating that `by` erased `subject`'s key `keyId` at `erasedAt` (default now). */
    sign(by, subject, keyId, erasedAt) {
      return this._inner.sign(String(by), String(subject), String(keyId), erasedAt);
    }
  }

  const rewrap = (keys, envelope, key) => call(() => native.rewrap(keyring(keys), String(envelope), subjectKey(key)));
  const rewrapWithToken = (keys, envelope, key, domain, normalize) => call(
    () => native.rewrapWithToken(keyring(keys), String(envelope), subjectKey(key), String(domain), steps(normalize)),
  );
  const openAtRest = (key, value) => new Opened(call(() => native.openAtRest(subjectKey(key), String(value))));
  const atRestHeader = (value) => call(() => native.atRestHeader(String(value)));
  const isAtRest = (value) => typeof value === 'string' && native.isAtRest(value);

  const TABLE = 'pii_edge_subject_keys';
  /** The key store's table (docs/erasure.md §4), the same as Python's `pii_edge.erasure.SCHEMA`. */
  const SCHEMA = [
    `CREATE TABLE IF NOT EXISTS ${TABLE} (key_id TEXT PRIMARY KEY, subject TEXT NOT NULL,`
      + ' created BIGINT NOT NULL, wrapped TEXT, erased_at BIGINT,'
      + ' CHECK ((wrapped IS NULL) = (erased_at IS NOT NULL)))',
    `CREATE UNIQUE INDEX IF NOT EXISTS ${TABLE}_live ON ${TABLE} (subject) WHERE erased_at IS NULL`,
  ];
  const COLUMNS = 'key_id, subject, created, wrapped, erased_at';
  const record = (row) => (row ? {
    keyId: row.key_id, subject: row.subject, created: Number(row.created),
    wrapped: row.wrapped ?? null, erasedAt: row.erased_at === null || row.erased_at === undefined ? null : Number(row.erased_at),
  } : null);

  /**
   * Subject keys in a SQLite database: `db` is a better-sqlite3 `Database` or a node:sqlite
   * `DatabaseSync` (Node 22.5+), both synchronous, opened by the application
   * (docs/decisions/0009). `secure_delete` is turned on, so a destroyed key's bytes are
   * overwritten in the file; backups made before still hold it (docs/erasure.md §3).
   */
  class SqliteKeyStore {
    constructor(db) {
      if (!db || typeof db.prepare !== 'function' || typeof db.exec !== 'function') {
        throw new TypeError('db must be a better-sqlite3 Database or a node:sqlite DatabaseSync');
      }
      this.db = db;
      db.exec('PRAGMA secure_delete = ON');
      for (const statement of SCHEMA) db.exec(statement);
      this._live = db.prepare(`SELECT ${COLUMNS} FROM ${TABLE} WHERE subject = ? AND erased_at IS NULL`);
      this._get = db.prepare(`SELECT ${COLUMNS} FROM ${TABLE} WHERE key_id = ?`);
      this._create = db.prepare(`INSERT INTO ${TABLE} (${COLUMNS}) VALUES (?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING`);
      this._destroy = db.prepare(`UPDATE ${TABLE} SET wrapped = NULL, erased_at = ? WHERE subject = ? AND erased_at IS NULL RETURNING ${COLUMNS}`);
    }
    /** The subject's live key record, or null. */
    live(subject) { return record(this._live.get(String(subject))); }
    /** The record of `keyId` (live or erased), or null. */
    get(keyId) { return record(this._get.get(String(keyId))); }
    /** Stores a new live key; when the subject already has one, keeps that one and returns it. */
    create(r) {
      this._create.run(r.keyId, r.subject, r.created, r.wrapped);
      // No live key: another process's destroy came after the insert (as in PostgresKeyStore).
      return this.live(r.subject) ?? this.get(r.keyId) ?? this.create(r);
    }
    /** Erases the subject's live key (drops `wrapped`, sets `erasedAt`); the erased record or null. */
    destroy(subject, erasedAt) { return record(this._destroy.get(erasedAt, String(subject))); }
  }

  // PostgreSQL's SQLSTATEs of two sessions creating the same table at once: the loser's
  // CREATE ... IF NOT EXISTS fails on a catalog's unique index (23505), or on the table's row
  // type (42710) or the relation (42P07) made after its check. Running the statement again
  // then finds it in place.
  const CREATE_RACE = new Set(['23505', '42710', '42P07']);

  /**
   * Subject keys in PostgreSQL: `pool` is a node-postgres (`pg`) `Pool` or `Client` the
   * application opened and owns (docs/decisions/0009); the table and SQL are Python's
   * `PostgresKeyStore`'s, so services in both languages share one key store. Each operation is
   * one statement in autocommit (the pool's connection). Every method returns a promise; the
   * table is created on first use, and `ready` settles once it exists (await it to fail at
   * startup rather than on the first request). PostgreSQL keeps an erased key's old row
   * version until VACUUM: call `vacuum()` after erasures (docs/erasure.md §3).
   */
  class PostgresKeyStore {
    constructor(pool) {
      if (!pool || typeof pool.query !== 'function') {
        throw new TypeError('pool must be a node-postgres (pg) Pool or Client');
      }
      this.pool = pool;
      this.ready = (async () => {
        for (const statement of SCHEMA) {
          await pool.query(statement).catch((e) => {
            if (!CREATE_RACE.has(e && e.code)) throw e;
            return pool.query(statement);
          });
        }
      })();
      this.ready.catch(() => {}); // reported by every operation (and by `await store.ready`), not as unhandled
    }
    async _row(sql, args) {
      await this.ready;
      return record((await this.pool.query(sql, args)).rows[0]);
    }
    /** The subject's live key record, or null. */
    live(subject) {
      return this._row(`SELECT ${COLUMNS} FROM ${TABLE} WHERE subject = $1 AND erased_at IS NULL`, [String(subject)]);
    }
    /** The record of `keyId` (live or erased), or null. */
    get(keyId) { return this._row(`SELECT ${COLUMNS} FROM ${TABLE} WHERE key_id = $1`, [String(keyId)]); }
    /** Stores a new live key; when the subject already has one (a concurrent create), keeps that one and returns it. */
    async create(r) {
      for (;;) {
        await this._row(
          `INSERT INTO ${TABLE} (${COLUMNS}) VALUES ($1, $2, $3, $4, NULL) ON CONFLICT DO NOTHING`,
          [String(r.keyId), String(r.subject), r.created, r.wrapped],
        );
        const live = await this.live(r.subject);
        if (live) return live;
        // No live key: a concurrent destroy came after the insert. When it erased this very
        // key, that is the answer (create, then forget); when it erased another service's key
        // that had won the insert, this one was never stored: insert it again.
        const mine = await this.get(r.keyId);
        if (mine) return mine;
      }
    }
    /** Erases the subject's live key (drops `wrapped`, sets `erasedAt`); the erased record or null. */
    destroy(subject, erasedAt) {
      return this._row(
        `UPDATE ${TABLE} SET wrapped = NULL, erased_at = $1 WHERE subject = $2 AND erased_at IS NULL RETURNING ${COLUMNS}`,
        [erasedAt, String(subject)],
      );
    }
    /** Reclaims the old row versions that still hold erased keys (wrapped). */
    async vacuum() {
      await this.ready;
      await this.pool.query(`VACUUM ${TABLE}`);
    }
  }

  /**
   * Rewrap, open, tokenize and forget with subject keys kept in `store` (SqliteKeyStore, PostgresKeyStore, or any
   * object with `live`, `get`, `create`, `destroy`, synchronous or returning promises), wrapped
   * to the newest key of `zone` in `keys`. Every method returns a promise. Unwrapped keys are
   * cached (`cacheSize` keys, each at most `cacheSeconds`); `forget` evicts at once.
   */
  class SubjectKeys {
    constructor(store, keys, zone, { signer = null, cacheSize = 1024, cacheSeconds = 60 } = {}) {
      for (const op of ['live', 'get', 'create', 'destroy']) {
        if (!store || typeof store[op] !== 'function') throw new TypeError(`store must have a ${op}() method (docs/erasure.md §4)`);
      }
      keyring(keys);
      Object.assign(this, { store, keys, zone: String(zone), signer });
      this._cache = new Map();
      this._cacheSize = cacheSize;
      this._cacheMs = cacheSeconds * 1000;
    }

    _cached(keyId) {
      const hit = this._cache.get(keyId);
      if (!hit) return null;
      // `>=`: with cacheSeconds 0 a key is never reused, even within the same millisecond.
      if (Date.now() - hit.at >= this._cacheMs) { this._cache.delete(keyId); return null; }
      this._cache.delete(keyId);
      this._cache.set(keyId, hit);
      return hit.key;
    }

    _remember(key) {
      if (this._cacheSize > 0 && this._cacheMs > 0) {
        this._cache.delete(key.keyId);
        this._cache.set(key.keyId, { key, at: Date.now() });
        while (this._cache.size > this._cacheSize) this._cache.delete(this._cache.keys().next().value);
      }
      return key;
    }

    _unwrap(r) { return this._cached(r.keyId) ?? this._remember(SubjectKey.unwrap(this.keys, r.wrapped)); }

    /** The subject's live key, created (and stored wrapped) when it has none. */
    async keyFor(subject) {
      let r = await this.store.live(subject);
      if (!r) {
        const key = SubjectKey.generate(subject);
        r = await this.store.create({ keyId: key.keyId, subject: key.subject, created: key.created, wrapped: key.wrap(this.keys, this.zone), erasedAt: null });
        if (r.keyId === key.keyId) return this._remember(key);
      }
      return this._unwrap(r);
    }

    /** The edge's envelope sealed under `subject`'s key (`pr1.`); a field already at rest under it is returned as is. */
    async rewrap(subject, envelope) {
      const key = await this.keyFor(subject);
      if (isAtRest(envelope)) {
        const [s, keyId] = atRestHeader(envelope);
        if (s === key.subject && keyId === key.keyId) return envelope;
      }
      return rewrap(this.keys, envelope, key);
    }

    /** `rewrap`, and the per-subject token of the same value: `[field, token]`. */
    async rewrapWithToken(subject, envelope, domain, normalize) {
      return rewrapWithToken(this.keys, envelope, await this.keyFor(subject), domain, normalize);
    }

    /** The per-subject token of `value` for a lookup; null when the subject has no live key (never stored, or forgotten). Never creates a key. */
    async token(subject, domain, value, normalize) {
      const r = await this.store.live(subject);
      return r ? this._unwrap(r).token(domain, value, normalize) : null;
    }

    /** The subject key a field at rest names; throws Erased when the store says it was destroyed, NoKey when it has no record. */
    async keyOf(value) {
      const [subject, keyId] = atRestHeader(value);
      return this.keyById(subject, keyId);
    }

    /** The key `keyId` of `subject` (what a field's header names): what `revealAtRest` asks for each field at rest. Throws as `keyOf`. */
    async keyById(subject, keyId) {
      const hit = this._cached(keyId);
      if (hit && hit.subject === subject) return hit;
      const r = await this.store.get(keyId);
      if (!r || r.subject !== subject) throw new classes.NoKey(`no subject key ${keyId} in the key store`);
      if (r.wrapped === null) throw new Erased(`the data subject was erased at ${r.erasedAt} (key ${keyId})`);
      return this._unwrap(r);
    }

    /** Opens a field in either format: at rest (`pr1.`) with its subject key, or the edge's (`pe2.`). */
    async open(value) {
      if (isAtRest(value)) return openAtRest(await this.keyOf(value), value);
      return this.keys.open(value);
    }

    /** Destroys `subject`'s key; `{subject, keyId, erasedAt, receipt}` or null when it had none. */
    async forget(subject, by, now) {
      const erasedAt = now ?? Math.floor(Date.now() / 1000);
      const r = await this.store.destroy(subject, erasedAt);
      // No key of the subject lives now: evict every cached one, also a key that another
      // service's forget destroyed before this one found nothing left to destroy.
      for (const [keyId, hit] of this._cache) if (hit.key.subject === String(subject)) this._cache.delete(keyId);
      if (!r) return null;
      const receipt = this.signer ? this.signer.sign(String(by), subject, r.keyId, erasedAt) : null;
      return { subject, keyId: r.keyId, erasedAt, receipt };
    }
  }

  return {
    Erased,
    WrongKey,
    InvalidSubject,
    InvalidDomain,
    Untokenizable,
    SubjectKey,
    ErasureSigner,
    SqliteKeyStore,
    PostgresKeyStore,
    SubjectKeys,
    SCHEMA,
    /** The edge's envelope (`pe2.`) sealed under the subject key (`pr1.`). */
    rewrap,
    /** `rewrap` and the per-subject token of the same value: `[field, token]`. */
    rewrapWithToken,
    /** Opens a field at rest with its subject key: `{value, kind, binding}`. */
    openAtRest,
    /** `[subject, keyId]` from a field's clear header (authenticates nothing). */
    atRestHeader,
    /** Whether `text` has the form of a field at rest (syntax only). */
    isAtRest,
    /** Verifies an erasure receipt with public keys only: `{by, subject, keyId, erasedAt, signedBy}`. */
    verifyErasure: (receipt, keys) => {
      if (!(keys instanceof ReceiptKeys)) throw new TypeError('keys must be a ReceiptKeys');
      return call(() => native.verifyErasure(String(receipt), keys._inner));
    },
  };
};
