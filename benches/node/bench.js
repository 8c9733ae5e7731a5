'use strict';
// Times the Node.js handlers per request, inside Node, on the events written by
// `pii-bench fixtures DIR` (the same policy and events as the Rust benchmarks).
//
//   node bench.js FIXTURES_DIR [--quick] [--package DIR] [--extra-package NAME=DIR] [--out FILE]
//                [--cases ID,ID] [--variants NAME,NAME] [--rounds N]
//
// --cases keeps only those cases (`1KB/5`, `40KB/10`, ...), --variants only those hand-written
// variants (names below; the packages given are always run), --rounds sets the number of
// interleaved rounds: for A/B comparisons of two builds of the package, more rounds of fewer
// cases.
//
// Variants:
//   node-rsa     jsonpath-plus + RSA-OAEP-SHA256 (2048-bit) per field, key as PEM text passed
//                to publicEncrypt (as typically hard-coded)                   (handler-rsa.js)
//   node-rsa-keyobject  the same with the key parsed once into a KeyObject
//   node-x25519  jsonpath-plus + one X25519 per request + AES-256-GCM/field (handler-x25519.js)
//   node-runtime-floor  a handler that returns the request as it came: what the Lambda runtime's
//                JSON.parse + JSON.stringify of the event cost every variant
//   node-dom-floor      decode the body, JSON.parse, JSON.stringify, encode, nothing selected
//   pii-edge     the pii-edge Lambda@Edge package (index.js + Rust addon), when --package DIR
//                holds it (index.js, pii_edge.node, bundle.json)
//   NAME         another build of that package (--extra-package NAME=DIR, repeatable)
//
// One request = what the Lambda runtime does around a handler: JSON.parse of the event text,
// the handler, JSON.stringify of its result (the Rust `event` benchmark includes the same).
// Rounds interleave variants and cases so that load changes hit them alike. Prints one JSON
// document (on stdout, or into FILE with --out: the package's addon writes its per-request log
// line to stdout, so send stdout to /dev/null then): per variant and case, median, p10, p90 in
// microseconds.

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const args = process.argv.slice(2);
const valued = ['--package', '--out', '--extra-package', '--cases', '--variants', '--rounds'];
const dir = args.find((a, i) => !a.startsWith('--') && !valued.includes(args[i - 1]));
const optList = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1].split(',') : null;
};
const onlyCases = optList('--cases');
const onlyVariants = optList('--variants');
const roundsOpt = optList('--rounds');
const extra = args.flatMap((a, i) => (a === '--extra-package' ? [args[i + 1].split('=')] : []));
const quick = args.includes('--quick');
const pkgIdx = args.indexOf('--package');
const pkgDir = pkgIdx >= 0 ? args[pkgIdx + 1] : null;
const outIdx = args.indexOf('--out');
const outFile = outIdx >= 0 ? args[outIdx + 1] : null;
if (!dir) {
  console.error('usage: node bench.js FIXTURES_DIR [--quick] [--package DIR]');
  process.exit(2);
}

const policy = JSON.parse(fs.readFileSync(path.join(dir, 'policy.json'), 'utf8'));
const jwks = JSON.parse(fs.readFileSync(path.join(dir, 'public.jwks'), 'utf8'));
const cases = JSON.parse(fs.readFileSync(path.join(dir, 'cases.json'), 'utf8')).filter((c) => !onlyCases || onlyCases.includes(c.id)).map((c) => ({
  ...c,
  text: fs.readFileSync(path.join(dir, c.event), 'utf8'),
}));

// The RSA key the hand-written handler would carry (generated here, outside the timing).
const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' });
const x25519Jwk = jwks.keys.find((k) => k.crv === 'X25519' && k.zone === policy.zone);

const allVariants = [
  { name: 'node-runtime-floor', nocheck: true, handler: async (event) => event.Records[0].cf.request },
  {
    name: 'node-dom-floor', nocheck: true, handler: async (event) => {
      const request = event.Records[0].cf.request;
      const doc = JSON.parse(Buffer.from(request.body.data, 'base64').toString('utf8'));
      request.body.action = 'replace';
      request.body.data = Buffer.from(JSON.stringify(doc), 'utf8').toString('base64');
      return request;
    },
  },
  { name: 'node-rsa', handler: require('./handler-rsa').create(policy, rsaPem) },
  { name: 'node-rsa-keyobject', handler: require('./handler-rsa').create(policy, rsaPem, true) },
  { name: 'node-x25519', handler: require('./handler-x25519').create(policy, { kty: 'OKP', crv: 'X25519', x: x25519Jwk.x }) },
];
const variants = allVariants.filter((v) => !onlyVariants || onlyVariants.includes(v.name));
if (pkgDir) {
  // Its addon writes one log line per request to stdout (fd 1): that write is part of its cost.
  const pkg = require(path.resolve(pkgDir, 'index.js'));
  variants.push({ name: 'pii-edge', handler: pkg.handler });
}
for (const [name, d] of extra) {
  variants.push({ name, handler: require(path.resolve(d, 'index.js')).handler });
}

// Every selected value must leave sealed: check each variant's output once per case.
function check(variant, c, out) {
  const body = out.body;
  if (!body || body.action !== 'replace') throw new Error(`${variant.name} ${c.id}: body not replaced (${JSON.stringify(out).slice(0, 200)})`);
  const inDoc = JSON.parse(Buffer.from(JSON.parse(c.text).Records[0].cf.request.body.data, 'base64').toString('utf8'));
  const outText = Buffer.from(body.data, body.encoding === 'base64' ? 'base64' : 'utf8').toString('utf8');
  for (const v of inDoc.pii) {
    if (outText.includes(JSON.stringify(v))) throw new Error(`${variant.name} ${c.id}: ${v} left in clear`);
  }
}

async function once(variant, text) {
  const t0 = process.hrtime.bigint();
  const out = await variant.handler(JSON.parse(text));
  const s = JSON.stringify(out);
  const t1 = process.hrtime.bigint();
  return [Number(t1 - t0) / 1000, s];
}

function quantile(sorted, q) {
  return sorted[Math.round((sorted.length - 1) * q)];
}

async function main() {
  const rounds = roundsOpt ? Number(roundsOpt[0]) : quick ? 2 : 7;
  const budgetMs = quick ? 25 : 150;
  const warm = quick ? 20 : 200;
  const samples = new Map();
  for (const v of variants) {
    for (const c of cases) {
      const [, s] = await once(v, c.text);
      if (!v.nocheck) check(v, c, JSON.parse(s));
      for (let i = 0; i < warm; i++) await once(v, c.text);
      samples.set(`${v.name} ${c.id}`, []);
    }
  }
  for (let r = 0; r < rounds; r++) {
    for (const c of cases) {
      for (const v of variants) {
        const list = samples.get(`${v.name} ${c.id}`);
        const end = process.hrtime.bigint() + BigInt(budgetMs * 1e6);
        do {
          list.push((await once(v, c.text))[0]);
        } while (process.hrtime.bigint() < end);
      }
    }
  }
  const results = [];
  for (const v of variants) {
    for (const c of cases) {
      const s = samples.get(`${v.name} ${c.id}`).sort((a, b) => a - b);
      results.push({
        variant: v.name, id: c.id, size: c.size, fields: c.fields, n: s.length,
        median_us: quantile(s, 0.5), p10_us: quantile(s, 0.1), p90_us: quantile(s, 0.9),
      });
    }
  }
  const doc = JSON.stringify({ node: process.version, jsonpathPlus: require('jsonpath-plus/package.json').version, results }, null, 1);
  if (outFile) fs.writeFileSync(outFile, doc + '\n');
  else console.log(doc);
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
