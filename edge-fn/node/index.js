'use strict';
// pii-edge Lambda@Edge handler (Node.js 20.x / 22.x, viewer-request or origin-request with
// "include body").
//
// The Rust engine runs in process as a Node-API addon (pii_edge.node). The policies and public
// keys are in bundle.json next to this file: Lambda@Edge has no environment variables. They are
// validated once, at module load (cold start); a bundle that does not validate makes every
// request a 503 "policy-unavailable" response, never an unprotected forward.
//
// One JSON log line per request goes to stdout (CloudWatch Embedded Metric Format, no values).

const fs = require('fs');
const path = require('path');
const addon = require('./pii_edge.node');

let bundle = '';
try {
  bundle = fs.readFileSync(path.join(__dirname, 'bundle.json'), 'utf8');
} catch (err) {
  // The addon logs the refusal; this says why the text is empty.
  console.error(JSON.stringify({ level: 'error', event: 'init', error: 'bundle.json could not be read: ' + err.code }));
}
addon.init(bundle);

exports.handler = async (event) => JSON.parse(addon.handle(JSON.stringify(event)));
