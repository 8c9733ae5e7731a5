'use strict';
// The Express example origin end to end: example events through the real edge handler
// (`pii-edge apply --edge --receipt-key`), then over HTTP on 127.0.0.1 to the app.
// Checks: a sign-up through the edge is stored sealed and its e-mail opens in the one place
// that opens it; a request around the edge is refused (403 receipt-missing); a request the edge
// forwarded unprotected (an edge without the signup policy) is refused by strict opening (422);
// the helpers give a TypeError instead of a wrong answer when misused; erasure: the sign-up is
// stored rewrapped to its subject's key, and DELETE forgets the subject, after which a copy of
// the row taken before (a backup) fails with Erased while another user's row still opens.
const { test } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const pii = require('pii-edge');
const { revealRequest } = require('pii-edge/express');
const { createApp, TOKEN_STEPS } = require('../app.js');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const EVENTS = path.join(ROOT, 'examples', 'events');
const BIN = process.env.PII_EDGE_BIN
  || path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'debug', 'pii-edge');
const PLAINTEXT = ['erika@example.de', 'Mustermann'];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pii-edge-origin-node-'));
execFileSync(BIN, ['keygen', '--receipt', '--out', dir]);
const erasureKeys = path.join(dir, 'erasure-keys');
execFileSync(BIN, ['keygen', '--receipt', '--out', erasureKeys]);
const signer = pii.ErasureSigner.fromJwk(fs.readFileSync(path.join(erasureKeys, 'receipt.private.jwk'), 'utf8'));

function throughEdge(event, policies) {
  const file = path.isAbsolute(event) ? event : path.join(EVENTS, event);
  const out = execFileSync(BIN, ['apply', '--policy', policies, '--event', file, '--edge',
    '--receipt-key', path.join(dir, 'receipt.private.jwk')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const forwarded = JSON.parse(out);
  assert.equal(forwarded.status, undefined, 'the edge answered itself');
  const body = forwarded.body
    ? Buffer.from(forwarded.body.data, forwarded.body.encoding === 'base64' ? 'base64' : 'utf8')
    : Buffer.alloc(0);
  const target = forwarded.uri + (forwarded.querystring ? `?${forwarded.querystring}` : '');
  const headers = [];
  for (const [name, values] of Object.entries(forwarded.headers)) {
    for (const h of values) {
      if (!['host', 'content-length'].includes(name)) headers.push([h.key || name, h.value]);
    }
  }
  return { method: forwarded.method, target, headers, body };
}

async function withServer(t, options = {}) {
  const app = createApp({
    keyring: pii.PrivateKeyring.fromFile(path.join(ROOT, 'examples', 'keys', 'private.jwks')),
    receiptKeys: pii.ReceiptKeys.fromFile(path.join(dir, 'receipt.jwks')),
    policies: pii.Policies.fromFiles(path.join(ROOT, 'policies')),
    signer,
    ...options,
  });
  const server = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  t.after(() => server.close());
  const base = `http://127.0.0.1:${server.address().port}`;
  return options.withApp ? { base, app } : base;
}

/** The example sign-up event with another method, path and body (a DELETE, a second user). */
function event(method, uri, body) {
  const e = JSON.parse(fs.readFileSync(path.join(EVENTS, 'signup-json.json')));
  const request = e.Records[0].cf.request;
  request.method = method;
  request.uri = uri;
  if (body === undefined) {
    delete request.body;
    delete request.headers['content-type'];
    delete request.headers['content-length'];
  } else {
    const bytes = Buffer.from(JSON.stringify(body));
    request.body.data = bytes.toString('base64');
    request.body.encoding = 'base64';
    request.headers['content-length'] = [{ key: 'Content-Length', value: String(bytes.length) }];
  }
  const file = path.join(dir, `${method}-${uri.replaceAll('/', '_')}-${Date.now()}-${Math.random()}.json`);
  fs.writeFileSync(file, JSON.stringify(e));
  return file;
}

async function send(base, req) {
  const res = await fetch(base + req.target, { method: req.method, headers: req.headers, body: req.method === 'GET' || req.method === 'DELETE' ? undefined : req.body });
  return { status: res.status, body: await res.text() };
}

test('a sign-up through the edge is stored sealed and opened in one place', async (t) => {
  const base = await withServer(t);
  const req = throughEdge('signup-json.json', path.join(ROOT, 'policies'));
  const created = await fetch(base + req.target, { method: req.method, headers: req.headers, body: req.body });
  const answer = await created.text();
  assert.equal(created.status, 201, answer);
  for (const value of PLAINTEXT) assert.ok(!answer.includes(value));
  const { id, welcome } = JSON.parse(answer);
  assert.equal(id, 1);
  assert.equal(welcome, 'mail sent to an address at example.de');
});

test('around the edge: 403 receipt-missing', async (t) => {
  const base = await withServer(t);
  const req = throughEdge('signup-json.json', path.join(ROOT, 'policies'));
  const headers = req.headers.filter(([k]) => k.toLowerCase() !== 'x-pii-edge-receipt');
  const res = await fetch(base + req.target, { method: req.method, headers, body: req.body });
  assert.equal(res.status, 403);
  assert.match((await res.json()).type, /receipt-missing$/);
});

test('forwarded unprotected by a stale edge: strict opening answers 422 plaintext-found', async (t) => {
  const base = await withServer(t);
  // An edge whose bundle lacks the signup policy forwards the sign-up in clear, with a receipt.
  const stale = fs.mkdtempSync(path.join(os.tmpdir(), 'pii-edge-stale-'));
  fs.copyFileSync(path.join(ROOT, 'policies', 'search.yaml'), path.join(stale, 'search.yaml'));
  const req = throughEdge('signup-json.json', stale);
  assert.ok(req.body.includes('erika@example.de'));
  const res = await fetch(base + req.target, { method: req.method, headers: req.headers, body: req.body });
  const body = await res.text();
  assert.equal(res.status, 422, body);
  assert.match(JSON.parse(body).type, /plaintext-found$/);
  for (const value of PLAINTEXT) assert.ok(!body.includes(value), 'the problem echoes plaintext');
});

test('revealRequest opens an Express request; misuse is a TypeError', () => {
  const keyring = pii.PrivateKeyring.fromFile(path.join(ROOT, 'examples', 'keys', 'private.jwks'));
  const req = throughEdge('signup-json.json', path.join(ROOT, 'policies'));
  const revealed = revealRequest(keyring, {
    method: req.method, originalUrl: req.target, rawHeaders: req.headers.flat(), headers: {}, rawBody: req.body,
  });
  assert.equal(revealed.json().user.email, 'erika@example.de');
  assert.throws(() => revealRequest(keyring, {
    method: 'POST', originalUrl: '/api/users', rawHeaders: [], headers: { 'content-length': '10' }, body: { parsed: true },
  }), TypeError);
  assert.throws(() => revealRequest({}, { method: 'GET', url: '/', rawHeaders: [], headers: {} }), TypeError);
  assert.throws(() => keyring.open(undefined), (err) => err instanceof TypeError && /envelope must be a string/.test(err.message));
  assert.equal(pii.isEnvelope(undefined), false);
});

test('erasure: rewrapped on insert, DELETE forgets; a backup taken before fails with Erased', async (t) => {
  const { base, app } = await withServer(t, { withApp: true, db: path.join(dir, `origin-${Date.now()}.sqlite`) });
  const { database, subjects } = app.locals;
  const policies = path.join(ROOT, 'policies');
  const erika = await send(base, throughEdge('signup-json.json', policies));
  assert.equal(erika.status, 201, erika.body);
  const other = await send(base, throughEdge(event('POST', '/api/users', { user: { name: 'Max', email: 'max@example.org' } }), policies));
  assert.equal(other.status, 201, other.body);
  const rows = database.prepare('SELECT id, record, email_token FROM users ORDER BY id').all();
  assert.equal(rows.length, 2);
  const text = JSON.stringify(rows);
  for (const value of PLAINTEXT) assert.ok(!text.includes(value), 'plaintext stored');
  assert.ok(!/"pe2\./.test(text), 'an edge envelope (opened by the region key alone) was stored');
  const backup = rows.map((r) => ({ ...r, record: JSON.parse(r.record) })); // a dump taken before the deletion
  assert.equal((await subjects.open(backup[0].record.user.email)).value, 'erika@example.de');
  assert.equal(await subjects.token('user-1', 'email', ' Erika@Example.de', TOKEN_STEPS), backup[0].email_token);

  const del = await send(base, throughEdge(event('DELETE', '/api/users/1'), policies));
  assert.equal(del.status, 200, del.body);
  const { keyId, receipt } = JSON.parse(del.body);
  const audit = pii.verifyErasure(receipt, pii.ReceiptKeys.fromJwks(signer.publicJwk));
  assert.equal(audit.subject, 'user-1');
  assert.equal(audit.keyId, keyId);
  assert.deepEqual(database.prepare('SELECT id FROM users').all(), [{ id: 2 }]);

  // Every field of the erased user in the backup: Erased, never garbage; the token is gone.
  const sealed = [];
  JSON.stringify(backup[0].record, (k, v) => { if (pii.isAtRest(v)) sealed.push(v); return v; });
  assert.ok(sealed.length >= 2, 'e-mail and more were rewrapped');
  for (const field of sealed) await assert.rejects(subjects.open(field), pii.Erased);
  assert.equal(await subjects.token('user-1', 'email', 'erika@example.de', TOKEN_STEPS), null);
  // The other user's copy still opens.
  assert.equal((await subjects.open(backup[1].record.user.email)).value, 'max@example.org');
  // Nothing left to forget.
  assert.equal((await send(base, throughEdge(event('DELETE', '/api/users/1'), policies))).status, 404);
});
