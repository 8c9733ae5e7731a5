'use strict';
// Measures the two bridges between Node.js and the Rust engine (decision 0002):
//   addon: index.js        (Node-API addon, in process)
//   child: child-index.js  (long-lived child process, newline-delimited JSON over stdio)
//
// node bench.js warm DIR MODULE EVENT N   -> per-request cost (µs, mean and p50/p99), in process
// node bench.js once DIR MODULE EVENT     -> one cold start: prints µs from before require()
//                                             to the first response (the cost the bridge adds
//                                             to Lambda's own Node.js start)
// node bench.js cold DIR MODULE EVENT K   -> K fresh node processes running `once`: median
//                                             wall time from spawn to exit, and median of the
//                                             in-process figure
// Run all of it with bench/run.sh.

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const [mode, dir, moduleName, eventFile, countText] = process.argv.slice(2);
const event = JSON.parse(fs.readFileSync(eventFile, 'utf8'));
const count = Number(countText || 0);
const micros = (start) => Number(process.hrtime.bigint() - start) / 1000;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 5000 };

async function warm() {
  const { handler } = require(path.resolve(dir, moduleName));
  for (let i = 0; i < 300; i++) await handler(event, context);
  const samples = [];
  const all = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const t = process.hrtime.bigint();
    await handler(event, context);
    samples.push(micros(t));
  }
  const total = micros(all);
  const result = { mode, module: moduleName, event: path.basename(eventFile), n: count,
    meanMicros: +(total / count).toFixed(1), p50Micros: +pct(samples, 0.5).toFixed(1),
    p99Micros: +pct(samples, 0.99).toFixed(1) };
  fs.writeSync(3, JSON.stringify(result) + '\n');
  process.exit(0);
}

async function once() {
  const t = process.hrtime.bigint();
  const { handler } = require(path.resolve(dir, moduleName));
  const loaded = micros(t);
  await handler(event, context);
  fs.writeSync(3, JSON.stringify({ loadMicros: loaded, firstResponseMicros: micros(t) }) + '\n');
  process.exit(0);
}

function cold() {
  const walls = [];
  const inside = [];
  for (let i = 0; i < count; i++) {
    const t = process.hrtime.bigint();
    const run = spawnSync(process.execPath, [__filename, 'once', dir, moduleName, eventFile], {
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    });
    walls.push(micros(t));
    if (run.status !== 0) throw new Error('once failed');
    inside.push(JSON.parse(run.output[3].toString()).firstResponseMicros);
  }
  // Node's own start, for reference: an empty script.
  const bare = [];
  for (let i = 0; i < count; i++) {
    const t = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    bare.push(micros(t));
  }
  const result = { mode, module: moduleName, k: count,
    wallMedianMicros: Math.round(median(walls)), requireToFirstResponseMedianMicros: Math.round(median(inside)),
    bareNodeMedianMicros: Math.round(median(bare)) };
  fs.writeSync(3, JSON.stringify(result) + '\n');
}

if (mode === 'warm') warm();
else if (mode === 'once') once();
else if (mode === 'cold') cold();
else { console.error('usage: bench.js warm|once|cold DIR MODULE EVENT [N]'); process.exit(2); }
