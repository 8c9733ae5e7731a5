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

test('there are envelope vectors', () => assert.ok(vectors.length >= 10));

// docs/vectors/README.md: `expected_binding` -> openExpecting, else open; `expect` is
// `success` or the error; `binding`/`kind`/`plaintext` what opening must give.
for (const file of vectors) {
  test(`envelope vector ${file}`, () => {
    const v = JSON.parse(fs.readFileSync(path.join(vectorDir, file)));
    const run = (ring) => {
      const e = v.expected_binding;
      return e ? ring.openExpecting(v.envelope, e.policy, e.zone, e.location) : ring.open(v.envelope);
    };
    const ring = pii.PrivateKeyring.fromJwks(JSON.stringify(v.private_jwks));
    if (v.expect !== 'success') {
      assert.ok(file.startsWith('fail_'));
      assert.ok(pii[v.expect], `no error class ${v.expect}`);
      assert.throws(() => run(ring), pii[v.expect]);
      if (v.binding) assert.equal(String(ring.open(v.envelope).binding.location), v.binding.location);
      return;
    }
    for (const jwk of v.private_jwks.keys) {
      if (!v.recipients.includes(jwk.kid)) continue;
      const opened = run(pii.PrivateKeyring.fromJwks(JSON.stringify({ keys: [jwk] })));
      assert.equal(opened.kind, v.kind);
      // JSON.parse loses integers beyond 2^53: compare numbers as parsed the same way.
      if (v.plaintext !== undefined) assert.deepEqual(opened.value, v.kind === 'text' ? v.plaintext : JSON.parse(v.plaintext));
      assert.equal(opened.binding.policy, v.binding.policy);
      assert.equal(opened.binding.zone, v.binding.zone);
      assert.equal(String(opened.binding.location), v.binding.location);
      assert.ok(opened.binding.location.equals(new pii.Location(v.binding.location)));
    }
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
  // NoKey says what the envelope needs (zone, key id prefixes) beside what the keyring has.
  assert.throws(() => stranger.open(body.user.email), (err) => err instanceof pii.NoKey
    && err.message.includes('zone `eu-central`') && err.message.includes('eu-central-9')
    && !err.message.includes('erika'));
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
  // As fs reports it: an Error with code ENOENT, naming the path.
  assert.throws(() => pii.PrivateKeyring.fromFile('/nonexistent/private.jwks'), (err) => err.code === 'ENOENT' && err.message.includes('/nonexistent/private.jwks'));
  assert.throws(() => pii.ReceiptKeys.fromFile('/'), (err) => err.code === 'EISDIR');

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
