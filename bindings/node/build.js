#!/usr/bin/env node
// Builds the addon with cargo alone (no napi CLI) and copies it next to index.js as
// pii_edge_origin.node. `node build.js` builds the `bindings` profile (speed-tuned, for
// origins; `release` is the size-tuned edge profile), `--debug` the dev profile, `--profile NAME`
// another. Honors CARGO_TARGET_DIR.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const at = process.argv.indexOf('--profile');
const profile = at > 0 ? process.argv[at + 1] : process.argv.includes('--debug') ? 'dev' : 'bindings';
const root = path.resolve(__dirname, '..', '..');
const args = ['build', '--quiet', '-p', 'pii-edge-origin-node', '--profile', profile];
execFileSync('cargo', args, { cwd: root, stdio: 'inherit' });
const target = process.env.CARGO_TARGET_DIR
  ? path.resolve(root, process.env.CARGO_TARGET_DIR)
  : path.join(root, 'target');
const lib = path.join(target, profile === 'dev' ? 'debug' : profile, 'libpii_edge_origin_node.so');
const out = path.join(__dirname, 'pii_edge_origin.node');
fs.copyFileSync(lib, out);
console.log(`built ${path.relative(process.cwd(), out)} (${fs.statSync(out).size} bytes)`);
