'use strict';
// Revealing whole requests on fresh `pii-edge apply` output of every location kind, and
// strict opening.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const pii = require('..');
const { ROOT, KEYS, apply, splitHeaders, original } = require('./helpers');

const ring = pii.PrivateKeyring.fromFile(path.join(KEYS, 'private.jwks'));
const policies = pii.Policies.fromFiles([path.join(ROOT, 'policies')]);

const sealed = (out) => new Set(out.fields.filter((f) => f.action === 'encrypt').map((f) => f.location));
const revealOf = (out, options) => {
  const r = out.request;
  return ring.reveal({ method: r.method, path: r.path, query: r.query, headers: splitHeaders(r.headers), body: r.body }, options);
};

for (const [event, parts] of [['signup-json.json', ['json']], ['form-post.json', ['form']], ['search-query.json', ['query']], ['headers-cookie.json', ['header']]]) {
  test(`${event} reveals to the original`, () => {
    const out = apply(event);
    const revealed = revealOf(out, { strict: policies });
    assert.deepEqual(new Set(revealed.fields.map((f) => String(f.binding.location))), sealed(out));
    assert.deepEqual([...new Set(revealed.fields.map((f) => f.binding.location.part))], parts);
    const sent = original(event);
    for (const f of revealed.fields) {
      const loc = f.binding.location;
      let got; let want;
      if (loc.part === 'json') {
        got = revealed.json(); want = JSON.parse(sent.body);
        for (const step of loc.path) { got = got[step]; want = want[step]; }
      } else if (loc.part === 'form' || loc.part === 'query') {
        const of = (text) => [...new URLSearchParams(text)].filter(([k]) => k.toLowerCase() === loc.name).map(([, v]) => v)[loc.index];
        got = of(loc.part === 'form' ? revealed.body.toString() : revealed.query);
        want = of(loc.part === 'form' ? sent.body.toString() : sent.query);
      } else {
        const of = (hs) => hs.filter(([k]) => k.toLowerCase() === loc.name).map(([, v]) => v)[loc.index];
        got = of(revealed.headers); want = of(sent.headers);
      }
      assert.deepEqual(got, want, String(loc));
    }
  });
}

test('every location kind, cookie included', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pii-edge-policy-'));
  fs.writeFileSync(path.join(dir, 'every-kind.yaml'), `apiVersion: pii-edge/v1
name: every-kind
zone: eu-central
match: { paths: [/every] }
rules:
  - { select: { json: "$..email" }, action: encrypt }
  - { select: { query: ssn }, action: encrypt }
  - { select: { header: x-national-id }, action: encrypt }
  - { select: { cookie: session }, action: encrypt }
`);
  const body = JSON.stringify({ items: [{ email: 'a@example.de' }, { email: 42 }], email: { home: true } });
  const out = apply(null, dir, ['--method', 'POST', '--path', '/every', '--query', 'ssn=123-45&ssn=999&q=x',
    '-H', 'content-type: application/json', '-H', 'X-National-Id: DE-1', '-H', 'cookie: theme=dark; session=s1', '--body', body]);
  assert.ok(!out.request.body.includes('a@example.de'));
  const revealed = revealOf(out, { strict: pii.Policies.fromFiles(dir) });
  assert.deepEqual(new Set(revealed.fields.map((f) => f.binding.location.part)), new Set(['json', 'query', 'header', 'cookie']));
  assert.deepEqual(new Set(revealed.fields.map((f) => String(f.binding.location))), sealed(out));
  assert.deepEqual(revealed.json(), JSON.parse(body));
  assert.deepEqual([...new URLSearchParams(revealed.query)], [['ssn', '123-45'], ['ssn', '999'], ['q', 'x']]);
  const headers = Object.fromEntries(revealed.headers.map(([k, v]) => [k.toLowerCase(), v]));
  assert.equal(headers['x-national-id'], 'DE-1');
  assert.match(headers.cookie, /session=s1/);
});

test('strict refuses a request sent around the edge, naming the location only', () => {
  const sent = original('signup-json.json');
  assert.equal(ring.reveal(sent).opened, 0);
  assert.throws(() => ring.reveal(sent, { strict: policies }), (err) => err instanceof pii.PlaintextFound
    && err.location.startsWith("json:$['user']") && !err.message.includes('erika'));
});

test('strict refuses one value put back in clear, and an uninspectable body', () => {
  const out = apply('headers-cookie.json');
  out.request.headers = out.request.headers.map((l) => (l.toLowerCase().startsWith('x-national-id:') ? 'X-National-ID: DE-123456789' : l));
  assert.throws(() => revealOf(out, { strict: policies }), (err) => err instanceof pii.PlaintextFound && err.location === 'header:x-national-id');
  const signup = apply('signup-json.json');
  signup.request.body = signup.request.body.slice(0, 40);
  assert.throws(() => revealOf(signup, { strict: policies }), pii.Uninspectable);
});

test('a value moved to another field does not open', () => {
  const out = apply('signup-json.json');
  const body = JSON.parse(out.request.body);
  body.user.phone = body.user.email;
  out.request.body = JSON.stringify(body);
  assert.throws(() => revealOf(out), (err) => err instanceof pii.WrongLocation && err.location === "json:$['user']['phone']");
  const r = ring.revealBody(apply('signup-json.json').request.body, { policy: 'signup', zone: 'eu-central' });
  assert.equal(r.json().user.email, 'erika@example.de');
  assert.throws(() => ring.revealBody(apply('signup-json.json').request.body, { policy: 'payments' }), pii.WrongPolicy);
});

test('policy directories follow the one loader\'s rules (as the CLI and serve)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pii-load-'));
  const policy = fs.readFileSync(path.join(ROOT, 'policies', 'search.yaml'), 'utf8');
  fs.writeFileSync(path.join(dir, 'search.yml'), policy);
  assert.deepEqual(pii.Policies.fromFiles([dir]).names, ['search']);
  const empty = path.join(dir, 'empty');
  fs.mkdirSync(empty);
  assert.throws(() => pii.Policies.fromFiles([empty]), (err) => err instanceof pii.PolicyError && /no policy files/.test(err.message));
  assert.throws(() => pii.Policies.fromFiles([path.join(dir, 'nope.yaml')]), (err) => err instanceof pii.PolicyError && /no such file/.test(err.message));
  fs.writeFileSync(path.join(dir, 'again.yaml'), policy);
  assert.throws(() => pii.Policies.fromFiles([dir]), (err) => err instanceof pii.PolicyError && /already used/.test(err.message));
});
