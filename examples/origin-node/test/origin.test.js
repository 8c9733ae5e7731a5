'use strict';
// The Express example origin end to end: example events through the real edge handler
// (`pii-edge apply --edge --receipt-key`), then over HTTP on 127.0.0.1 to the app.
// Checks: a sign-up through the edge is stored sealed and its e-mail opens in the one place
// that opens it; a request around the edge is refused (403 receipt-missing); a request the edge
// forwarded unprotected (an edge without the signup policy) is refused by strict opening (422);
// the helpers give a TypeError instead of a wrong answer when misused.
const { test } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const pii = require('pii-edge');
const { revealRequest } = require('pii-edge/express');
const { createApp } = require('../app.js');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const EVENTS = path.join(ROOT, 'examples', 'events');
const BIN = process.env.PII_EDGE_BIN
  || path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'debug', 'pii-edge');
const PLAINTEXT = ['erika@example.de', 'Mustermann'];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pii-edge-origin-node-'));
execFileSync(BIN, ['keygen', '--receipt', '--out', dir]);

function throughEdge(event, policies) {
  const out = execFileSync(BIN, ['apply', '--policy', policies, '--event', path.join(EVENTS, event), '--edge',
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

async function withServer(t) {
  const app = createApp({
    keyring: pii.PrivateKeyring.fromFile(path.join(ROOT, 'examples', 'keys', 'private.jwks')),
    receiptKeys: pii.ReceiptKeys.fromFile(path.join(dir, 'receipt.jwks')),
    policies: pii.Policies.fromFiles(path.join(ROOT, 'policies')),
  });
  const server = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  t.after(() => server.close());
  return `http://127.0.0.1:${server.address().port}`;
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
