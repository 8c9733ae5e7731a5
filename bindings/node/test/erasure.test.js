'use strict';
// Erasure (docs/erasure.md): the at-rest vectors opened through the addon, rewrap and open,
// a key store of the test's own (a Map: the four operations of docs/erasure.md §4), forget,
// erasure receipts verified with the public key alone.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const pii = require('..');
const { ROOT, erasure, subjectKeysRoundTrip } = require('./helpers');

const atRestDir = path.join(ROOT, 'docs', 'vectors', 'at_rest');
const { email, keys, SIGNER } = erasure();

for (const file of fs.readdirSync(atRestDir).filter((f) => f.endsWith('.json')).sort()) {
  test(`at-rest vector ${file}`, () => {
    const v = JSON.parse(fs.readFileSync(path.join(atRestDir, file)));
    const ring = pii.PrivateKeyring.fromJwks(JSON.stringify(v.private_jwks));
    const record = v.subject_key;
    const open = () => {
      const [, keyId] = pii.atRestHeader(v.at_rest);
      if (record.state === 'erased' && record.key_id === keyId) throw new pii.Erased('erased');
      if (record.state !== 'live') throw new pii.NoKey('no key');
      return pii.openAtRest(pii.SubjectKey.unwrap(ring, record.wrapped), v.at_rest);
    };
    if (v.expect === 'success') {
      const opened = open();
      assert.equal(opened.kind, v.header.kind);
      assert.equal(String(opened.binding.location), v.header.location);
      assert.equal(opened.kind === 'text' ? opened.value : JSON.stringify(opened.value), v.plaintext);
    } else {
      assert.throws(open, (e) => e instanceof pii.OpenError && e.constructor.name === v.expect);
    }
  });
}

test('rewrap, open, forget with a key store of four operations', () => {
  const store = new Map(); // keyId -> {subject, wrapped, erasedAt}
  const live = (subject) => [...store.entries()].find(([, r]) => r.subject === subject && !r.erasedAt);
  const keyFor = (subject) => {
    const found = live(subject);
    if (found) return pii.SubjectKey.unwrap(keys, found[1].wrapped);
    const key = pii.SubjectKey.generate(subject);
    store.set(key.keyId, { subject, wrapped: key.wrap(keys, 'eu-central') });
    return key;
  };
  const open = (text) => {
    const [subject, keyId] = pii.atRestHeader(text);
    const r = store.get(keyId);
    if (!r || r.subject !== subject) throw new pii.NoKey('no key');
    if (r.erasedAt) throw new pii.Erased('erased');
    return pii.openAtRest(pii.SubjectKey.unwrap(keys, r.wrapped), text);
  };
  const alice = pii.rewrap(keys, email.envelope, keyFor('user-1'));
  const bob = pii.rewrap(keys, email.envelope, keyFor('user-2'));
  assert.ok(pii.isAtRest(alice) && !pii.isEnvelope(alice));
  assert.equal(open(alice).value, 'alice@example.com');
  assert.equal(String(open(alice).binding.location), "json:$['email']");

  const [keyId, record] = live('user-1');
  record.wrapped = null;
  record.erasedAt = 1800000000;
  const signer = pii.ErasureSigner.fromJwk(SIGNER);
  const receipt = signer.sign('dpo@example.com', 'user-1', keyId, record.erasedAt);
  const audit = pii.verifyErasure(receipt, pii.ReceiptKeys.fromJwks(signer.publicJwk));
  assert.deepEqual(
    { by: audit.by, subject: audit.subject, keyId: audit.keyId, erasedAt: audit.erasedAt },
    { by: 'dpo@example.com', subject: 'user-1', keyId, erasedAt: 1800000000 },
  );
  assert.throws(() => open(alice), pii.Erased);
  assert.equal(open(bob).value, 'alice@example.com');
  assert.throws(() => pii.verifyErasure(receipt.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), pii.ReceiptKeys.fromJwks(signer.publicJwk)), pii.ReceiptError);
});

test('errors: the envelope\'s, wrong key, invalid subject; no key material shown', () => {
  const key = pii.SubjectKey.generate('user-1');
  assert.throws(() => pii.rewrap(keys, 'pe2.AAAA', key), pii.Malformed);
  const field = pii.rewrap(keys, email.envelope, key);
  assert.throws(() => pii.openAtRest(pii.SubjectKey.generate('user-1'), field), pii.WrongKey);
  assert.throws(() => pii.SubjectKey.generate('a\nb'), pii.InvalidSubject);
  assert.match(require('node:util').inspect(key), /^SubjectKey\(subject=user-1, keyId=/);
});

/** A store of the application's own, asynchronous (as a DynamoDB or pg store would be). */
class MapStore {
  constructor() { this.rows = new Map(); }
  async live(subject) { return [...this.rows.values()].find((r) => r.subject === subject && r.erasedAt === null) ?? null; }
  async get(keyId) { return this.rows.get(keyId) ?? null; }
  async create(r) { return (await this.live(r.subject)) ?? (this.rows.set(r.keyId, { ...r, erasedAt: null }), this.rows.get(r.keyId)); }
  async destroy(subject, erasedAt) {
    const r = await this.live(subject);
    if (!r) return null;
    Object.assign(r, { wrapped: null, erasedAt });
    return r;
  }
}

const stores = {
  sqlite: (file) => new pii.SqliteKeyStore(new (require('better-sqlite3'))(file)),
  'own async store': () => new MapStore(),
};

for (const [name, makeStore] of Object.entries(stores)) {
  test(`SubjectKeys over ${name}: rewrap, open both formats, per-subject tokens, forget`, async (t) => {
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'pii-keys-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const store = makeStore(path.join(dir, 'keys.db'));
    await subjectKeysRoundTrip(store, store);
  });
}

test('SqliteKeyStore: a create that another process\'s forget overtakes returns its own, erased record (never loops)', (t) => {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'pii-keys-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const Database = require('better-sqlite3');
  const file = path.join(dir, 'keys.db');
  const [store, other] = [new pii.SqliteKeyStore(new Database(file)), new pii.SqliteKeyStore(new Database(file))];
  const key = pii.SubjectKey.generate('user-1');
  const record = { keyId: key.keyId, subject: 'user-1', created: key.created, wrapped: key.wrap(keys, 'eu-central'), erasedAt: null };
  const live = store.live.bind(store);
  store.live = (subject) => { // the other process's forget runs between the insert and the read
    other.destroy(subject, 1800000000);
    store.live = live;
    return live(subject);
  };
  assert.deepEqual(store.create(record), { ...record, wrapped: null, erasedAt: 1800000000 });
});

test('SCHEMA is Python\'s pii_edge.erasure.SCHEMA, statement by statement (one table for both languages)', () => {
  // The tuple of string literals in erasure.py, `{TABLE}` filled in; spaces compared loosely.
  const source = fs.readFileSync(path.join(ROOT, 'bindings', 'python', 'python', 'pii_edge', 'erasure.py'), 'utf8');
  const table = source.match(/^TABLE = "(\w+)"$/m)[1];
  const block = source.match(/^SCHEMA = \(\n([\s\S]*?)\n\)$/m)[1];
  const statements = [''];
  for (const line of block.split('\n')) {
    const [, literal, comma] = line.match(/^\s*f?"(.*)"(,?)$/);
    statements[statements.length - 1] += literal.replaceAll('{TABLE}', table);
    if (comma) statements.push('');
  }
  const loose = (sql) => sql.replace(/\s+/g, ' ').replace(/\( /g, '(').trim();
  assert.deepEqual(statements.filter(Boolean).map(loose), pii.SCHEMA.map(loose));
  assert.equal(pii.SCHEMA.length, 2);
});

test('per-subject tokens: the vectors\' errors, steps, no value in messages', () => {
  const cases = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs', 'vectors', 'erasure', 'subject_tokens.json'))).cases;
  const key = pii.SubjectKey.generate('user-1');
  for (const c of cases) {
    if (c.name.startsWith('fail_')) {
      assert.throws(() => key.token(c.domain, c.value, c.normalize), pii[c.expect], c.name);
    } else {
      assert.ok(key.token(c.domain, c.value, c.normalize).startsWith(`ts1.${c.domain}.`), c.name);
    }
  }
  assert.equal(key.token('email', Buffer.from('a@b.c')), key.token('email', 'a@b.c'));
  assert.throws(() => key.token('email', 'x', ['nfc']), TypeError);
  assert.throws(() => pii.rewrapWithToken(keys, email.envelope, key, 'phone', ['digits']), (e) => e instanceof pii.Untokenizable && !e.message.includes('alice'));
  assert.throws(() => new pii.SqliteKeyStore({}), TypeError);
  assert.throws(() => new pii.SubjectKeys({}, keys, 'eu-central'), TypeError);
});

test('revealAtRest and revealRequestAtRest open pr1. fields; Erased (with where) after forget', async () => {
  const { revealRequestAtRest } = require('../express.js');
  const subjects = new pii.SubjectKeys(new MapStore(), keys, 'eu-central');
  const stored = await subjects.rewrap('user-1', email.envelope); // sealed at json:$['email']
  const other = await subjects.rewrap('user-2', email.envelope);
  const req = (value) => ({ method: 'POST', path: '/x', headers: [['content-type', 'application/json']], body: JSON.stringify({ email: value }) });

  assert.equal(keys.reveal(req(stored)).opened, 0); // without a key source: not an envelope, left alone
  const revealed = await keys.revealAtRest(req(stored), { subjectKeys: subjects });
  assert.deepEqual(revealed.json(), { email: 'alice@example.com' });
  assert.equal(String(revealed.fields[0].binding.location), "json:$['email']");
  assert.equal((await keys.revealAtRest(req(email.envelope), { subjectKeys: subjects })).json().email, 'alice@example.com');
  await assert.rejects(keys.revealAtRest({ ...req(stored), body: JSON.stringify({ mail: stored }) }, { subjectKeys: subjects }), pii.WrongLocation);
  // An Express-like request as it arrived.
  const body = Buffer.from(JSON.stringify({ email: stored }));
  const expressReq = { method: 'POST', originalUrl: '/x', rawHeaders: ['content-type', 'application/json'], rawBody: body, headers: {} };
  assert.equal((await revealRequestAtRest(keys, expressReq, { subjectKeys: subjects })).json().email, 'alice@example.com');

  await subjects.forget('user-1', 'dpo');
  await assert.rejects(keys.revealAtRest(req(stored), { subjectKeys: subjects }), (e) => e instanceof pii.Erased && e.location === "json:$['email']");
  await assert.rejects(revealRequestAtRest(keys, expressReq, { subjectKeys: subjects }), pii.Erased);
  assert.equal((await keys.revealAtRest(req(other), { subjectKeys: subjects })).json().email, 'alice@example.com');
  const stranger = pii.rewrap(keys, email.envelope, pii.SubjectKey.generate('user-1'));
  await assert.rejects(keys.revealAtRest(req(stranger), { subjectKeys: subjects }), pii.NoKey);
  // The source's own failures propagate; a source without keyById is refused.
  await assert.rejects(keys.revealAtRest(req(other), { subjectKeys: { keyById: async () => { throw new Error('store down'); } } }), /store down/);
  await assert.rejects(keys.revealAtRest(req(other), { subjectKeys: {} }), TypeError);
});
