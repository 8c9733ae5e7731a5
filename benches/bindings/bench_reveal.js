'use strict';
// The Node.js figure of the origin-package benchmark (run.sh): PrivateKeyring.reveal of the
// pii-edge Node package on a protected request. Same timing method as the Rust and Python
// figures: median over 15 rounds of at least 20 ms, microseconds per reveal. One JSON line.
// Usage: node bench_reveal.js REQUEST_JSON PRIVATE_JWKS
const fs = require('node:fs');
const path = require('node:path');
const pii = require(path.resolve(__dirname, '..', '..', 'bindings', 'node'));

const doc = JSON.parse(fs.readFileSync(process.argv[2]));
const ring = pii.PrivateKeyring.fromJwks(fs.readFileSync(process.argv[3], 'utf8'));
const r = doc.request;
const headers = r.headers.map((l) => { const i = l.indexOf(': '); return [l.slice(0, i), l.slice(i + 2)]; });
const body = Buffer.from(r.body);
const once = () => ring.reveal({ method: r.method, path: r.path, query: r.query, headers, body });

const opened = once().opened;
const rounds = [];
for (let i = 0; i < 15; i++) {
  const start = process.hrtime.bigint();
  let n = 0;
  while (process.hrtime.bigint() - start < 20_000_000n) { once(); n++; }
  rounds.push(Number(process.hrtime.bigint() - start) / 1000 / n);
}
rounds.sort((a, b) => a - b);
console.log(JSON.stringify({ impl: 'node', opened, median_us: Math.round(rounds[7] * 100) / 100 }));
