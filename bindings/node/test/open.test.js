'use strict';
// Opening single values: every envelope vector of docs/vectors/, JSON types restored,
// bindings, Location's text form, errors without key material.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const pii = require('..');
const { ROOT, KEYS, apply, run } = require('./helpers');

const vectorDir = path.join(ROOT, 'docs', 'vectors');
const vectors = fs.readdirSync(vectorDir).filter((f) => f.endsWith('.json')).sort();

const locationText = (t) => (t.startsWith('$') ? `json:${t}` : t);

test('there are envelope vectors', () => assert.ok(vectors.length >= 10));

for (const file of vectors) {
  test(`envelope vector ${file}`, () => {
    const v = JSON.parse(fs.readFileSync(path.join(vectorDir, file)));
    const ring = pii.PrivateKeyring.fromJwks(JSON.stringify(v.private_jwks));
    const b = v.binding;
    if (String(v.format || '').startsWith('pii-edge envelope v1')) {
      // A version-1 vector (before envelope v2): refused, never opened.
      assert.throws(() => ring.open(v.envelope), v.envelope.startsWith('pe1.') ? pii.UnsupportedVersion : pii.OpenError);
      return;
    }
    const location = new pii.Location(locationText(b.location));
    if (file.startsWith('fail_')) {
      assert.ok(pii[v.expect_error], `no error class ${v.expect_error}`);
      assert.throws(() => ring.openExpecting(v.envelope, b.policy, b.zone, location), pii[v.expect_error]);
      return;
    }
    const opened = ring.openExpecting(v.envelope, b.policy, b.zone, location);
    assert.equal(opened.kind, v.kind);
    assert.deepEqual(opened.value, v.kind === 'text' ? v.plaintext : JSON.parse(v.plaintext));
    const plain = ring.open(v.envelope);
    assert.equal(plain.binding.policy, b.policy);
    assert.equal(plain.binding.zone, b.zone);
    assert.ok(plain.binding.location.equals(location));
  });
}

test('open restores JSON types and refuses moved values', () => {
  const ring = pii.PrivateKeyring.fromFile(path.join(KEYS, 'private.jwks'));
  const body = JSON.parse(apply('signup-json.json').request.body);
  const email = ring.open(body.user.email);
  assert.equal(email.value, 'erika@example.de');
  assert.equal(String(email.binding.location), "json:$['user']['email']");
  assert.deepEqual(email.binding.location.path, ['user', 'email']);
  assert.equal(typeof ring.open(body.user.address).value, 'object');
  assert.throws(() => ring.openExpecting(body.user.email, 'signup', 'eu-central', "json:$['user']['phone']"), pii.WrongLocation);
  assert.throws(() => ring.openExpecting(body.user.email, 'payments', 'eu-central', email.binding.location), pii.WrongPolicy);
  assert.throws(() => ring.openExpecting(body.user.email, 'signup', 'eu-west', email.binding.location), pii.WrongZone);
  assert.throws(() => ring.open('pe2.!!'), pii.Malformed);
  assert.throws(() => ring.open('pe9.AAAA'), pii.UnsupportedVersion);
  const e = body.user.email;
  const flipped = e.slice(0, -5) + (e.at(-5) === 'A' ? 'B' : 'A') + e.slice(-4);
  assert.throws(() => ring.open(flipped), (err) => err instanceof pii.Tampered || err instanceof pii.Malformed);
  assert.ok(pii.Tampered.prototype instanceof pii.OpenError);
  assert.ok(!require('node:util').inspect(email).includes('erika'));
});

test('a key of another region of the zone opens alone; a stranger has NoKey', () => {
  const fsDir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'pii-edge-keys-'));
  run(['keygen', '--zone', 'eu-central', '--region', 'eu-central-9', '--out', fsDir]);
  const stranger = pii.PrivateKeyring.fromFile(path.join(fsDir, 'private.jwks'));
  const body = JSON.parse(apply('signup-json.json').request.body);
  assert.throws(() => stranger.open(body.user.email), pii.NoKey);
  const both = JSON.parse(fs.readFileSync(path.join(KEYS, 'private.jwks')));
  const one = pii.PrivateKeyring.fromJwks(JSON.stringify({ keys: [both.keys[1]] }));
  assert.equal(one.open(body.user.email).value, 'erika@example.de');
});

test('key errors never print key material', () => {
  const priv = JSON.parse(fs.readFileSync(path.join(KEYS, 'private.jwks')));
  const d = priv.keys[0].d;
  const broken = JSON.parse(JSON.stringify(priv));
  broken.keys[0].x = priv.keys[1].x;
  assert.throws(() => pii.PrivateKeyring.fromJwks(JSON.stringify(broken)), (err) => err instanceof pii.InvalidKeys && !err.message.includes(d));
  assert.throws(() => pii.PrivateKeyring.fromJwks(`{oops ${d}`), (err) => err instanceof pii.InvalidKeys && !err.message.includes(d));
  assert.throws(() => pii.ReceiptKeys.fromJwks(JSON.stringify(priv)), pii.InvalidKeys);
  assert.throws(() => pii.PrivateKeyring.fromFile('/nonexistent/private.jwks'), (err) => err instanceof pii.PiiEdgeError && err.message.includes('/nonexistent/private.jwks'));
  const ring = pii.PrivateKeyring.fromJwks(JSON.stringify(priv));
  assert.ok(!require('node:util').inspect(ring).includes(d));
});

test('Location text form round trips and refuses other spellings', () => {
  for (const t of ["json:$['user']['email']", "json:$['items'][0]", 'json:$', 'header:x-national-id', 'query:email#1', 'form:card_number', 'cookie:session', 'query:e%20mail#2']) {
    const l = new pii.Location(t);
    assert.equal(String(l), t);
    assert.ok(pii.Location.parse(String(l)).equals(l));
  }
  for (const t of ['query:email#0', 'Header:x', 'json:$.a', 'header:X-Id', '']) {
    assert.throws(() => new pii.Location(t), pii.LocationError, t);
  }
  assert.equal(String(pii.Location.json(['items', 0, 'email'])), "json:$['items'][0]['email']");
  const l = pii.Location.field('header', 'X-National-Id');
  assert.deepEqual([l.part, l.name, l.index, l.path], ['header', 'x-national-id', 0, undefined]);
  assert.throws(() => pii.Location.field('body', 'x'), pii.LocationError);
});
