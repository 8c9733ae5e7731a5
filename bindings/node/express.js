'use strict';
// Express (and plain node:http) middleware that refuses requests without a valid, fresh edge
// receipt with 403 and an RFC 9457 problem+json body. See index.d.ts / README.md.

const { ReceiptError, verifyReceipt } = require('./index.js');

const DEFAULT_MAX_BODY = 10 * 1024 * 1024;

function sendProblem(res, status, type, title, detail) {
  const body = JSON.stringify({ type: `https://pii-edge.dev/problems/${type}`, title, status, detail });
  res.statusCode = status;
  res.setHeader('content-type', 'application/problem+json');
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}

/**
 * receiptMiddleware({ keys, maxAge = 300, exemptPaths = [], maxBody = 10 MiB, parseBody = true })
 *
 * Mount it before any body parser: it reads the raw body (the receipt binds it), keeps it as
 * `req.rawBody`, and on success sets `req.piiEdgeReceipt`. With `parseBody` it also parses a
 * JSON or form body into `req.body` (and marks it parsed so express.json() skips it).
 */
function receiptMiddleware(options) {
  const { keys, maxAge = 300, exemptPaths = [], maxBody = DEFAULT_MAX_BODY, parseBody = true } = options || {};
  if (!keys) throw new TypeError('receiptMiddleware needs { keys }');
  const exempt = new Set(exemptPaths);
  return function piiEdgeReceipt(req, res, next) {
    const target = req.originalUrl || req.url;
    if (exempt.has(target.split('?')[0])) return next();
    const chunks = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBody) {
        done = true;
        sendProblem(res, 413, 'body-too-large', 'Request body too large',
          `the body is larger than the ${maxBody} bytes the receipt check reads`);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (err) => { if (!done) { done = true; next(err); } });
    req.on('end', () => {
      if (done) return;
      done = true;
      const body = Buffer.concat(chunks);
      let receipt;
      try {
        receipt = verifyReceipt(req.method, target, req.rawHeaders, body, keys, maxAge);
      } catch (err) {
        if (err instanceof ReceiptError) {
          return sendProblem(res, 403, `receipt-${err.code}`, 'The request did not come through the edge', err.message);
        }
        return next(err);
      }
      req.rawBody = body;
      req.piiEdgeReceipt = receipt;
      if (parseBody) {
        const type = String(req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
        try {
          if (type === 'application/json' || type.endsWith('+json')) {
            req.body = body.length ? JSON.parse(body.toString('utf8')) : undefined;
          } else if (type === 'application/x-www-form-urlencoded') {
            req.body = Object.fromEntries(new URLSearchParams(body.toString('utf8')));
          } else {
            req.body = body;
          }
        } catch (_) {
          return sendProblem(res, 400, 'malformed-body', 'Malformed body', 'the body is not valid for its content type');
        }
        req._body = true; // body-parser's "already parsed" flag
      }
      next();
    });
  };
}

module.exports = { receiptMiddleware };
