'use strict';
// The child-process bridge, for measurement only (docs/decisions/0002-edge-bridge.md): the
// same handler, with the Rust engine in a long-lived child process (pii-edge-ndjson) spawned
// once at module load and spoken to in newline-delimited JSON over stdin/stdout.

const { spawn } = require('child_process');
const path = require('path');

const child = spawn(path.join(__dirname, 'pii-edge-ndjson'), [path.join(__dirname, 'bundle.json')], {
  stdio: ['pipe', 'pipe', 'inherit'],
});

const waiting = [];
let buffer = '';
child.stdout.setEncoding('utf8');
child.stdout.on('data', (chunk) => {
  buffer += chunk;
  let end;
  while ((end = buffer.indexOf('\n')) >= 0) {
    const line = buffer.slice(0, end);
    buffer = buffer.slice(end + 1);
    const next = waiting.shift();
    if (next) next.resolve(line);
  }
});
child.on('exit', () => {
  while (waiting.length) waiting.shift().reject(new Error('pii-edge-ndjson exited'));
});

exports.handler = (event) =>
  new Promise((resolve, reject) => {
    waiting.push({ resolve: (line) => resolve(JSON.parse(line)), reject });
    child.stdin.write(JSON.stringify(event) + '\n');
  });
