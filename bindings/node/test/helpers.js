'use strict';
// Shared by the tests: repository paths and the pii-edge CLI that makes fresh protected
// requests (the edge side) for the origin side to open; the erasure tests' shared fixture,
// round trip and throwaway PostgreSQL cluster.
const assert = require('node:assert/strict');
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const EVENTS = path.join(ROOT, 'examples', 'events');
const KEYS = path.join(ROOT, 'examples', 'keys');

function piiEdgeBin() {
  if (process.env.PII_EDGE_BIN) return process.env.PII_EDGE_BIN;
  const target = process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target');
  return path.join(target, 'debug', 'pii-edge');
}

function run(args) {
  return execFileSync(piiEdgeBin(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `pii-edge apply` of an example event (or of request flags) with the example policies. */
function apply(event, policies = path.join(ROOT, 'policies'), extra = []) {
  const args = ['apply', '--policy', policies];
  if (event) args.push('--event', path.join(EVENTS, event));
  return JSON.parse(run(args.concat(extra)));
}

function splitHeaders(lines) {
  return lines.map((l) => { const i = l.indexOf(': '); return [l.slice(0, i), l.slice(i + 2)]; });
}

function original(event) {
  const request = JSON.parse(fs.readFileSync(path.join(EVENTS, event)))['Records'][0].cf.request;
  let body = Buffer.alloc(0);
  if (request.body) body = request.body.encoding === 'base64' ? Buffer.from(request.body.data, 'base64') : Buffer.from(request.body.data);
  const headers = [];
  for (const [name, values] of Object.entries(request.headers)) for (const h of values) headers.push([h.key || name, h.value]);
  return { method: request.method, path: request.uri, query: request.querystring, headers, body };
}

/** A fresh receipt signing pair (`pii-edge keygen --receipt`) in a temporary directory. */
function receiptKeys() {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'pii-edge-receipt-'));
  run(['keygen', '--receipt', '--out', dir]);
  return dir;
}

/** What the edge handler forwards for an example event, with a receipt. */
function throughEdge(event, dir) {
  const forwarded = JSON.parse(run(['apply', '--policy', path.join(ROOT, 'policies'), '--event',
    path.join(EVENTS, event), '--edge', '--receipt-key', path.join(dir, 'receipt.private.jwk')]));
  if (forwarded.status) throw new Error(`the edge answered ${forwarded.status}`);
  let body = Buffer.alloc(0);
  if (forwarded.body) body = forwarded.body.encoding === 'base64' ? Buffer.from(forwarded.body.data, 'base64') : Buffer.from(forwarded.body.data);
  const target = forwarded.uri + (forwarded.querystring ? `?${forwarded.querystring}` : '');
  const headers = [];
  for (const [name, values] of Object.entries(forwarded.headers)) for (const h of values) headers.push([h.key || name, h.value]);
  return { method: forwarded.method, target, headers, body };
}

/** The erasure tests' fixture: the e-mail vector (its envelope), its keyring, an erasure signer. */
function erasure() {
  const pii = require('..');
  const email = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs', 'vectors', 'string_email.json')));
  return {
    pii,
    email,
    keys: pii.PrivateKeyring.fromJwks(JSON.stringify(email.private_jwks)),
    SIGNER: '{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}',
  };
}

/**
 * SubjectKeys over a key store, end to end: a writer service on `store` and a reader service
 * (no cache) on `readerStore` (the same store, or another handle on the same database). Rewrap,
 * open both formats, per-subject tokens, forget with a receipt, then Erased and no token.
 */
async function subjectKeysRoundTrip(store, readerStore) {
  const { pii, email, keys, SIGNER } = erasure();
  const signer = pii.ErasureSigner.fromJwk(SIGNER);
  const writer = new pii.SubjectKeys(store, keys, 'eu-central', { signer });
  const reader = new pii.SubjectKeys(readerStore, keys, 'eu-central', { cacheSeconds: 0 });
  const steps = ['trim', 'casefold'];

  const [alice, aliceToken] = await writer.rewrapWithToken('user-1', email.envelope, 'email', steps);
  const bob = await writer.rewrap('user-2', email.envelope);
  assert.equal(await writer.rewrap('user-1', alice), alice); // already at rest under the live key
  assert.equal((await reader.open(alice)).value, 'alice@example.com');
  assert.equal((await reader.open(email.envelope)).value, 'alice@example.com'); // pe2. too
  assert.match(aliceToken, /^ts1\.email\.[A-Za-z0-9_-]{43}$/);
  assert.equal(await reader.token('user-1', 'email', ' Alice@Example.COM', steps), aliceToken);
  assert.notEqual(await reader.token('user-2', 'email', 'alice@example.com', steps), aliceToken);
  assert.equal(await reader.token('user-3', 'email', 'alice@example.com', steps), null);
  assert.equal(await store.live('user-3'), null); // a lookup creates no key

  const done = await writer.forget('user-1', 'dpo@example.com');
  const audit = pii.verifyErasure(done.receipt, pii.ReceiptKeys.fromJwks(signer.publicJwk));
  assert.equal(audit.keyId, done.keyId);
  assert.equal((await readerStore.get(done.keyId)).wrapped, null);
  await assert.rejects(reader.open(alice), pii.Erased);
  await assert.rejects(writer.open(alice), pii.Erased); // the writer's cache was evicted
  assert.equal(await reader.token('user-1', 'email', 'alice@example.com', steps), null);
  assert.equal((await reader.open(bob)).value, 'alice@example.com');
  assert.equal(await writer.forget('user-1', 'dpo'), null);

  // Signing up again: a new key, new tokens; the old field stays erased.
  const [again, againToken] = await writer.rewrapWithToken('user-1', email.envelope, 'email', steps);
  assert.notEqual(againToken, aliceToken);
  assert.equal((await reader.open(again)).value, 'alice@example.com');
  await assert.rejects(reader.open(alice), pii.Erased);
  await assert.rejects(reader.open(pii.rewrap(keys, email.envelope, pii.SubjectKey.generate('user-1'))), pii.NoKey);
}

/**
 * A throwaway PostgreSQL cluster on 127.0.0.1: scripts/throwaway_postgres.py as a child
 * process (it removes the cluster when its standard input closes, also when this process
 * dies). Resolves to `{ config, stop }`: `config` is node-postgres's (host, port, user,
 * database); `stop()` resolves once the cluster is gone.
 */
async function throwawayPostgres() {
  const child = spawn('python3', [path.join(ROOT, 'scripts', 'throwaway_postgres.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => child.once('close', resolve));
  const line = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    exited.then((code) => reject(new Error(`scripts/throwaway_postgres.py exited with ${code} before the cluster was up: ${err.trim()}`)));
  });
  const conninfo = Object.fromEntries(line.trim().split(' ').map((kv) => kv.split('=')));
  return {
    config: { host: conninfo.host, port: Number(conninfo.port), user: conninfo.user, database: conninfo.dbname },
    stop: () => { child.stdin.end(); return exited; },
  };
}

module.exports = {
  ROOT, EVENTS, KEYS, piiEdgeBin, run, apply, splitHeaders, original, receiptKeys, throughEdge,
  erasure, subjectKeysRoundTrip, throwawayPostgres,
};
