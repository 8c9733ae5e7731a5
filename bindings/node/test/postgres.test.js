'use strict';
// PostgresKeyStore (docs/erasure.md §4) on a real throwaway PostgreSQL cluster on 127.0.0.1
// (scripts/throwaway_postgres.py; scripts/test-bindings.sh installs PostgreSQL): the erasure
// round trip with two services on one database, concurrent creates and forgets, the table's
// first creation by several services at once, a database that is down, and one key store
// shared with Python's PostgresKeyStore.
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { Client, Pool } = require('pg');
const { ROOT, erasure, subjectKeysRoundTrip, throwawayPostgres } = require('./helpers');

const { pii, email, keys } = erasure();
const TABLE = 'pii_edge_subject_keys';

let cluster;
let admin;
let databases = 0;
const pools = [];

test.before(async () => {
  cluster = await throwawayPostgres();
  admin = new Client(cluster.config);
  await admin.connect();
});

test.after(async () => {
  await Promise.all(pools.map((p) => p.end()));
  if (admin) await admin.end();
  if (cluster) await cluster.stop();
});

/** A fresh, empty database of the cluster (each test its own): its node-postgres config. */
async function freshDatabase() {
  databases += 1;
  const database = `keys_${process.pid}_${databases}`;
  await admin.query(`CREATE DATABASE ${database}`);
  return { ...cluster.config, database };
}

/** A pool of its own, as a separate service would have; ended after the file's tests. */
function pool(config, options = {}) {
  const p = new Pool({ ...config, ...options });
  pools.push(p);
  return p;
}

test('SubjectKeys over PostgresKeyStore, two services on one database: rewrap, open, tokens stop matching after forget', async () => {
  const config = await freshDatabase();
  const writer = new pii.PostgresKeyStore(pool(config));
  const reader = new pii.PostgresKeyStore(pool(config));
  await subjectKeysRoundTrip(writer, reader);

  // What the table holds: no key material of the erased key, its erasure time, one live key each.
  const db = pool(config);
  const rows = (await db.query(`SELECT subject, wrapped, erased_at FROM ${TABLE} ORDER BY subject, erased_at NULLS LAST`)).rows;
  assert.deepEqual(rows.map((r) => [r.subject, r.wrapped === null, r.erased_at !== null]), [
    ['user-1', true, true], ['user-1', false, false], ['user-2', false, false],
  ]);
  assert.ok(rows.filter((r) => r.wrapped !== null).every((r) => r.wrapped.startsWith('psk1.')));
  await writer.vacuum();
  // A second live key for a subject is refused by the table itself (the partial unique index).
  await assert.rejects(
    db.query(`INSERT INTO ${TABLE} (key_id, subject, created, wrapped) VALUES ('x', 'user-2', 1, 'psk1.x')`),
    (e) => e.code === '23505',
  );
});

test('PostgresKeyStore over a single Client works the same; records are numbers, not BIGINT text', async () => {
  const client = new Client(await freshDatabase());
  await client.connect();
  try {
    const store = new pii.PostgresKeyStore(client);
    await store.ready;
    const key = pii.SubjectKey.generate('user-1', 1700000000);
    const record = { keyId: key.keyId, subject: 'user-1', created: key.created, wrapped: key.wrap(keys, 'eu-central'), erasedAt: null };
    assert.deepEqual(await store.create(record), record);
    assert.deepEqual(await store.live('user-1'), record);
    assert.deepEqual(await store.get(key.keyId), record);
    assert.equal(await store.get('no-such-key'), null);
    assert.deepEqual(await store.destroy('user-1', 1800000000), { ...record, wrapped: null, erasedAt: 1800000000 });
    assert.equal(await store.destroy('user-1', 1800000001), null); // idempotent: nothing left
    assert.deepEqual(await store.get(key.keyId), { ...record, wrapped: null, erasedAt: 1800000000 });
    assert.equal(await store.live('user-1'), null);
  } finally {
    await client.end();
  }
});

test('concurrent create for one subject from two services yields one key', async () => {
  const config = await freshDatabase();
  const a = new pii.PostgresKeyStore(pool(config, { max: 4 }));
  const b = new pii.PostgresKeyStore(pool(config, { max: 4 }));
  await Promise.all([a.ready, b.ready]);

  // Through SubjectKeys: every caller ends up with the same key and can open the others' fields.
  const services = [a, b].map((store) => new pii.SubjectKeys(store, keys, 'eu-central'));
  const fields = await Promise.all(Array.from({ length: 12 }, (_, i) => services[i % 2].rewrap('user-9', email.envelope)));
  const keyIds = new Set(fields.map((f) => pii.atRestHeader(f)[1]));
  assert.equal(keyIds.size, 1);
  for (const field of fields) assert.equal((await services[1].open(field)).value, 'alice@example.com');

  // Through the store: distinct records raced for one subject; each create returns the winner.
  const records = Array.from({ length: 8 }, () => {
    const key = pii.SubjectKey.generate('user-10');
    return { keyId: key.keyId, subject: 'user-10', created: key.created, wrapped: key.wrap(keys, 'eu-central'), erasedAt: null };
  });
  const won = await Promise.all(records.map((r, i) => [a, b][i % 2].create(r)));
  assert.equal(new Set(won.map((r) => r.keyId)).size, 1);
  assert.ok(records.some((r) => r.keyId === won[0].keyId));
  const count = await pool(config).query(`SELECT subject, count(*)::int AS n FROM ${TABLE} GROUP BY subject ORDER BY subject`);
  assert.deepEqual(count.rows, [{ subject: 'user-10', n: 1 }, { subject: 'user-9', n: 1 }]);
});

test('concurrent forget from two services: one erasure, one receipt; the other finds nothing', async () => {
  const config = await freshDatabase();
  const signer = pii.ErasureSigner.fromJwk(erasure().SIGNER);
  const [a, b] = [pool(config), pool(config)].map((p) => new pii.SubjectKeys(new pii.PostgresKeyStore(p), keys, 'eu-central', { signer }));
  const field = await a.rewrap('user-1', email.envelope);
  assert.equal((await b.open(field)).value, 'alice@example.com'); // both services have the key cached
  const done = await Promise.all([a.forget('user-1', 'dpo-a'), b.forget('user-1', 'dpo-b'), a.forget('user-1', 'dpo-a')]);
  assert.equal(done.filter(Boolean).length, 1);
  assert.equal(done.find(Boolean).keyId, pii.atRestHeader(field)[1]);
  // Whichever service's forget found nothing left to destroy evicted its cached key all the same.
  await assert.rejects(a.open(field), pii.Erased);
  await assert.rejects(b.open(field), pii.Erased);
});

test('a create that a concurrent forget overtakes returns its own, erased record (never loops)', async () => {
  const config = await freshDatabase();
  const store = new pii.PostgresKeyStore(pool(config));
  const key = pii.SubjectKey.generate('user-1');
  const record = { keyId: key.keyId, subject: 'user-1', created: key.created, wrapped: key.wrap(keys, 'eu-central'), erasedAt: null };
  // The forget runs between create's insert and its read of the live key.
  const live = store.live.bind(store);
  store.live = async (subject) => {
    await store.destroy(subject, 1800000000);
    store.live = live;
    return live(subject);
  };
  assert.deepEqual(await store.create(record), { ...record, wrapped: null, erasedAt: 1800000000 });
});

test('several services creating the table at once on a fresh database all get it', async () => {
  // The losers of the race fail on the catalog (23505, 42710 or 42P07) and run the statement again.
  for (let round = 0; round < 5; round += 1) {
    const config = await freshDatabase();
    const clients = Array.from({ length: 4 }, () => new Client(config));
    await Promise.all(clients.map((c) => c.connect()));
    try {
      const stores = clients.map((c) => new pii.PostgresKeyStore(c));
      await Promise.all(stores.map((s) => s.ready));
      assert.equal(await stores[3].live('user-1'), null);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  }
});

test('a database that is down: every operation rejects with the driver\'s error, nothing opens', async () => {
  // A port nobody listens on (the server's own, once stopped, is not reusable here: use a fresh one).
  const net = require('node:net');
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
  const down = pool({ ...cluster.config, port, connectionTimeoutMillis: 2000 });
  const store = new pii.PostgresKeyStore(down);
  await assert.rejects(store.ready, (e) => e.code === 'ECONNREFUSED');
  await assert.rejects(store.live('user-1'), (e) => e.code === 'ECONNREFUSED');
  const subjects = new pii.SubjectKeys(store, keys, 'eu-central');
  const field = pii.rewrap(keys, email.envelope, pii.SubjectKey.generate('user-1'));
  await assert.rejects(subjects.open(field), (e) => e.code === 'ECONNREFUSED');
  await assert.rejects(subjects.rewrap('user-1', email.envelope), (e) => e.code === 'ECONNREFUSED');
  assert.throws(() => new pii.PostgresKeyStore({}), TypeError);
  assert.throws(() => new pii.PostgresKeyStore(null), TypeError);
});

/**
 * The Python package's interpreter (the venv scripts/test-bindings.sh builds): PII_EDGE_PYTHON,
 * else that venv under CARGO_TARGET_DIR; null when neither can import pii_edge and psycopg.
 */
function pythonBin() {
  const target = process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target');
  const candidate = process.env.PII_EDGE_PYTHON || path.join(target, 'bindings-venv', 'bin', 'python');
  try {
    execFileSync(candidate, ['-c', 'import pii_edge.erasure, psycopg'], { stdio: 'ignore', cwd: __dirname });
    return candidate;
  } catch (e) {
    // Set explicitly (as CI does), it must work: the interoperability test is not skipped there.
    if (process.env.PII_EDGE_PYTHON) throw new Error(`PII_EDGE_PYTHON=${candidate} cannot import pii_edge and psycopg: ${e.message}`);
    return null;
  }
}

// One operation of Python's SubjectKeys over Python's PostgresKeyStore, printed as JSON.
const PYTHON_SERVICE = `
import json, sys
import pii_edge
from pii_edge.erasure import PostgresKeyStore, SubjectKeys
conninfo, vector, action, arg = sys.argv[1:5]
v = json.load(open(vector))
subjects = SubjectKeys(PostgresKeyStore(conninfo), pii_edge.PrivateKeyring.from_jwks(json.dumps(v["private_jwks"])),
                       "eu-central", cache_seconds=0)
steps = ["trim", "casefold"]
if action == "rewrap":
    out = list(subjects.rewrap_with_token(arg, v["envelope"], "email", steps))
elif action == "open":
    try:
        out = subjects.open(arg).value
    except pii_edge.Erased:
        out = "Erased"
elif action == "token":
    out = subjects.token(arg, "email", "alice@example.com", steps)
elif action == "forget":
    out = subjects.forget(arg, by="python").key_id
print(json.dumps(out))
`;

test('one key store for Python and Node.js: each opens, tokenizes and erases what the other wrote', async (t) => {
  const py = pythonBin();
  if (!py) {
    t.skip('the Python package is not built (scripts/test-bindings.sh builds it; or set PII_EDGE_PYTHON)');
    return;
  }
  const config = await freshDatabase();
  const conninfo = `host=${config.host} port=${config.port} user=${config.user} dbname=${config.database}`;
  const vector = path.join(ROOT, 'docs', 'vectors', 'string_email.json');
  const python = (action, arg) => JSON.parse(execFileSync(py, ['-c', PYTHON_SERVICE, conninfo, vector, action, arg], { cwd: __dirname }));
  const steps = ['trim', 'casefold'];

  // Python makes the table and the first key; Node.js uses both.
  const [fromPython, pythonToken] = python('rewrap', 'user-py');
  const node = new pii.SubjectKeys(new pii.PostgresKeyStore(pool(config)), keys, 'eu-central', { cacheSeconds: 0 });
  assert.equal((await node.open(fromPython)).value, 'alice@example.com');
  assert.equal(await node.token('user-py', 'email', 'Alice@Example.com', steps), pythonToken);
  assert.equal(await node.rewrap('user-py', fromPython), fromPython); // Python's key is the live key

  const [fromNode, nodeToken] = await node.rewrapWithToken('user-node', email.envelope, 'email', steps);
  assert.equal(python('open', fromNode), 'alice@example.com');
  assert.equal(python('token', 'user-node'), nodeToken);

  // Erased by one language, erased for the other.
  assert.equal((await node.forget('user-py', 'node')).keyId, pii.atRestHeader(fromPython)[1]);
  assert.equal(python('open', fromPython), 'Erased');
  assert.equal(python('token', 'user-py'), null);
  assert.equal(python('forget', 'user-node'), pii.atRestHeader(fromNode)[1]);
  await assert.rejects(node.open(fromNode), pii.Erased);
  assert.equal(await node.token('user-node', 'email', 'alice@example.com', steps), null);

  // The table Node.js makes on an empty database is the one Python makes: columns, constraint, indexes.
  const other = await freshDatabase();
  await new pii.PostgresKeyStore(pool(other)).ready;
  const shape = async (db) => {
    const p = pool(db);
    const columns = await p.query(`SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, [TABLE]);
    const indexes = await p.query('SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY indexname', [TABLE]);
    const checks = await p.query('SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass ORDER BY 1', [TABLE]);
    return { columns: columns.rows, indexes: indexes.rows, checks: checks.rows };
  };
  const [madeByPython, madeByNode] = [await shape(config), await shape(other)];
  assert.equal(madeByNode.columns.length, 5);
  assert.equal(madeByNode.indexes.length, 2);
  assert.deepEqual(madeByNode, madeByPython);
});
