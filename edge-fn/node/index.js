'use strict';
// pii-edge Lambda@Edge handler (nodejs22.x or nodejs24.x, viewer-request or origin-request with
// "include body").
//
// The Rust engine runs in process as a Node-API addon (pii_edge.node). The policies and public
// keys are in bundle.json next to this file: Lambda@Edge has no environment variables. They are
// validated once, at module load (cold start); a bundle that does not validate makes every
// request a 503 "policy-unavailable" response, never an unprotected forward.
//
// One JSON log line per request goes to stdout (CloudWatch Embedded Metric Format, no values).
//
// Two exports:
// - `handler(event)`: the whole function (what `pii-edge package` deploys as index.handler);
// - `protect(event)`: the same protection for a team's own viewer-request handler. It returns
//   what CloudFront must get: the protected request to forward, or a generated response (an
//   object with `status`) to send instead. `isResponse(result)` tells them apart. See
//   examples/compose/ for a handler that authenticates, protects, then routes.

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

// The request body of a well-formed event, when it has data to pass apart; otherwise null.
function bodyOf(event) {
  const records = event !== null && typeof event === 'object' ? event.Records : undefined;
  if (!Array.isArray(records) || records.length !== 1) return null;
  const record = records[0];
  const cf = record !== null && typeof record === 'object' ? record.cf : undefined;
  const request = cf !== null && typeof cf === 'object' ? cf.request : undefined;
  const body = request !== null && typeof request === 'object' ? request.body : undefined;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
  return typeof body.data === 'string' && body.data.length > 0 ? body : null;
}

// The whole event through JSON: any event, however odd (the addon answers what is not a
// request event with a generated 4xx/5xx response).
function handleWhole(event) {
  return JSON.parse(addon.handle(JSON.stringify(event)));
}

// Protect one CloudFront event (viewer-request or origin-request). Synchronous; never throws
// for any event (a failure is a generated 4xx/5xx response, never the unprotected request).
function protect(event) {
  const body = bodyOf(event);
  if (body === null) return handleWhole(event);
  // The body's data (base64, up to 1.33 MB) goes to the addon as its own string and the new
  // data comes back as one: V8 never stringifies or parses it as part of a JSON text.
  const data = body.data;
  let eventJson;
  body.data = '';
  try {
    eventJson = JSON.stringify(event);
  } finally {
    body.data = data;
  }
  const answer = addon.handleSplit(eventJson, data);
  const out = JSON.parse(answer.json);
  const newData = answer.bodyData;
  if (typeof newData === 'string') {
    // A forwarded request with a body, its `data` left "" in the JSON.
    if (out === null || typeof out.body !== 'object' || out.body === null || out.body.data !== '') {
      // Cannot happen (edge_fn::handle_parts); never forward something half-built.
      return handleWhole(event);
    }
    out.body.data = newData;
  } else if (out !== null && typeof out.body === 'object' && out.body !== null) {
    // A forwarded body must come back with its data; cannot happen either.
    return handleWhole(event);
  }
  return out;
}

// Whether a result of `protect` is a generated response (send it) rather than the request to
// forward. CloudFront tells them apart the same way: a response has a `status`.
function isResponse(result) {
  return result !== null && typeof result === 'object' && Object.prototype.hasOwnProperty.call(result, 'status');
}

exports.protect = protect;
exports.isResponse = isResponse;
exports.handler = async (event) => protect(event);
