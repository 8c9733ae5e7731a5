#!/usr/bin/env node
// Builds the addon with cargo alone (no napi CLI) and copies it next to index.js as
// pii_edge_origin.node. `node build.js` builds the release profile; `--debug` the dev profile.
// Honors CARGO_TARGET_DIR.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const debug = process.argv.includes('--debug');
const root = path.resolve(__dirname, '..', '..');
const args = ['build', '-p', 'pii-edge-origin-node'];
if (!debug) args.push('--release');
execFileSync('cargo', args, { cwd: root, stdio: 'inherit' });
const target = process.env.CARGO_TARGET_DIR
  ? path.resolve(root, process.env.CARGO_TARGET_DIR)
  : path.join(root, 'target');
const lib = path.join(target, debug ? 'debug' : 'release', 'libpii_edge_origin_node.so');
const out = path.join(__dirname, 'pii_edge_origin.node');
fs.copyFileSync(lib, out);
console.log(`built ${path.relative(process.cwd(), out)} (${fs.statSync(out).size} bytes)`);
