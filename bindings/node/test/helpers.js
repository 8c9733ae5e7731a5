'use strict';
// Shared by the tests: repository paths and the pii-edge CLI that makes fresh protected
// requests (the edge side) for the origin side to open.
const { execFileSync } = require('node:child_process');
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

module.exports = { ROOT, EVENTS, KEYS, piiEdgeBin, run, apply, splitHeaders, original, receiptKeys, throughEdge };
