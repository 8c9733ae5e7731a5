'use strict';
// Receipts: every vector of docs/vectors/receipts/, receipts from the edge handler, and the
// Express middleware on a real HTTP server (127.0.0.1).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const pii = require('..');
const { receiptMiddleware } = require('../express');
const { ROOT, receiptKeys, throughEdge } = require('./helpers');

const dir = path.join(ROOT, 'docs', 'vectors', 'receipts');
const vectors = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

test('there are receipt vectors', () => assert.ok(vectors.length >= 10));

for (const file of vectors) {
  test(`receipt vector ${file}`, () => {
    const v = JSON.parse(fs.readFileSync(path.join(dir, file)));
    const keys = pii.ReceiptKeys.fromJwks(JSON.stringify(v.keys));
    const r = v.request;
    const verify = () => pii.verifyReceipt(r.method, r.target, r.headers, Buffer.from(r.body, 'base64'), keys, v.maxAge, { now: v.now });
    if (v.expect === 'valid') {
      assert.equal(verify().kid, keys.kids[0]);
    } else {
      assert.throws(verify, (err) => err instanceof pii.ReceiptError && err.code === v.expect);
    }
  });
}

const keyDir = receiptKeys();
const keys = pii.ReceiptKeys.fromFile(path.join(keyDir, 'receipt.jwks'));

test('receipts from the edge handler verify, headers in every shape', () => {
  for (const event of ['signup-json.json', 'form-post.json', 'search-query.json', 'headers-cookie.json', 'viewer-request-aws-doc.json']) {
    const req = throughEdge(event, keyDir);
    const receipt = pii.verifyReceipt(req.method, req.target, req.headers, req.body, keys);
    assert.ok(Math.abs(receipt.issuedAt - Date.now() / 1000) < 120);
    assert.equal(receipt.policy === undefined || receipt.policy === null, event.startsWith('viewer'));
  }
  const req = throughEdge('headers-cookie.json', keyDir);
  pii.verifyReceipt(req.method, req.target, req.headers.flat(), req.body, keys); // rawHeaders shape
  pii.verifyReceipt(req.method, req.target, Object.fromEntries(req.headers.map(([k, v]) => [k.toLowerCase(), v])), req.body, keys);
  assert.throws(() => pii.verifyReceipt(req.method, req.target, req.headers, req.body, keys, 300, { now: Date.now() / 1000 + 301 }),
    (err) => err instanceof pii.ReceiptError && err.code === 'expired');
});

test('Express middleware on a real server: 200 through the edge, 403 problem+json otherwise', async (t) => {
  const express = require('express');
  const app = express();
  app.use(receiptMiddleware({ keys, maxAge: 300, exemptPaths: ['/healthz'] }));
  app.use(express.json()); // skipped: the middleware already parsed the body
  app.post('/api/users', (req, res) => res.json({ policy: req.piiEdgeReceipt.policy, keys: Object.keys(req.body).sort() }));
  app.get('/healthz', (req, res) => res.json({ ok: true }));
  const server = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  t.after(() => server.close());
  const base = `http://127.0.0.1:${server.address().port}`;
  const req = throughEdge('signup-json.json', keyDir);
  const headers = req.headers.filter(([k]) => !['host', 'content-length'].includes(k.toLowerCase()));
  const send = (target, body, hs) => fetch(base + target, { method: 'POST', body, headers: hs });

  const ok = await send(req.target, req.body, headers);
  assert.equal(ok.status, 200, await ok.clone().text());
  assert.deepEqual(await ok.json(), { policy: 'signup', keys: ['amount', 'marketingOptIn', 'user'] });

  const around = await send(req.target, req.body, headers.filter(([k]) => k.toLowerCase() !== 'x-pii-edge-receipt'));
  assert.equal(around.status, 403);
  assert.equal(around.headers.get('content-type'), 'application/problem+json');
  assert.equal((await around.json()).type, 'https://pii-edge.dev/problems/receipt-missing');

  const tampered = await send(req.target, Buffer.from(req.body.toString().replace('pe2.', 'pe2.A')), headers);
  assert.equal(tampered.status, 403);
  assert.match((await tampered.json()).type, /receipt-body$/);

  const moved = await send(`${req.target}?x=1`, req.body, headers);
  assert.match((await moved.json()).type, /receipt-target$/);
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
});
