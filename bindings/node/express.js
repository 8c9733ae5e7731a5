'use strict';
// Express (and plain node:http) middleware that refuses requests without a valid, fresh edge
// receipt with 403 and an RFC 9457 problem+json body. See index.d.ts / README.md.

const {
  ReceiptError, verifyReceipt, PlaintextFound, Uninspectable, Policies, PrivateKeyring,
} = require('./index.js');

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
 * revealRequest(keyring, req, { policy?, zone?, strict? })
 *
 * Opens every envelope of an Express (or node:http) request as `PrivateKeyring.reveal` does,
 * from the request as it arrived: `req.method`, `req.originalUrl` (path and query, still
 * percent-encoded), `req.rawHeaders` and the raw body kept by `receiptMiddleware` as
 * `req.rawBody` (or a Buffer `req.body` from `express.raw()`). Throws a TypeError when the raw
 * body is not there: a parsed `req.body` is not what the edge sealed.
 */
function revealRequest(keyring, req, options = {}) {
  return keyring.reveal(requestOf(keyring, req), options);
}

/**
 * revealRequestAtRest(keyring, req, { subjectKeys, policy?, zone?, strict? }) -> Promise
 *
 * `revealRequest`, and the fields at rest (`pr1.`) of the request too, each opened with its
 * subject key from `subjectKeys` (a `SubjectKeys`): `PrivateKeyring.revealAtRest`. Rejects with
 * Erased for a field of an erased subject.
 */
function revealRequestAtRest(keyring, req, options = {}) {
  return keyring.revealAtRest(requestOf(keyring, req), options);
}

/** The request as it arrived, for `reveal`. */
function requestOf(keyring, req) {
  if (!(keyring instanceof PrivateKeyring)) throw new TypeError('keyring must be a PrivateKeyring');
  let body = req.rawBody;
  if (body === undefined && Buffer.isBuffer(req.body)) body = req.body;
  if (body === undefined && req.method !== 'GET' && req.method !== 'HEAD' && req.headers['content-length'] !== undefined
      && req.headers['content-length'] !== '0') {
    throw new TypeError('revealRequest needs the raw body: mount receiptMiddleware (or express.raw()) first');
  }
  return {
    method: req.method,
    path: req.originalUrl || req.url,
    headers: req.rawHeaders,
    body: body || Buffer.alloc(0),
  };
}

/**
 * receiptMiddleware({ keys, maxAge = 300, exemptPaths = [], maxBody = 10 MiB, parseBody = true,
 *                     strict?: { keyring, policies } })
 *
 * Mount it before any body parser: it reads the raw body (the receipt binds it), keeps it as
 * `req.rawBody`, and on success sets `req.piiEdgeReceipt`. With `parseBody` it also parses a
 * JSON or form body into `req.body` (and marks it parsed so express.json() skips it).
 *
 * With `strict` (a PrivateKeyring and Policies, e.g. `Policies.fromFiles('policies/')`) it also
 * opens the request as `revealRequest` does, refusing one in which a location the policies
 * encrypt holds plaintext (422 `plaintext-found`) or that cannot be inspected as the edge would
 * (400 `uninspectable`); the opened request is `req.piiEdgeRevealed`. `req.body` stays the
 * body as received (envelopes): open values where they are used.
 */
function receiptMiddleware(options) {
  const {
    keys, maxAge = 300, exemptPaths = [], maxBody = DEFAULT_MAX_BODY, parseBody = true, strict,
  } = options || {};
  if (!keys) throw new TypeError('receiptMiddleware needs { keys }');
  if (strict !== undefined) {
    if (!strict || !(strict.keyring instanceof PrivateKeyring) || !(strict.policies instanceof Policies)) {
      throw new TypeError('strict must be { keyring: PrivateKeyring, policies: Policies }');
    }
  }
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
      if (strict !== undefined) {
        try {
          req.piiEdgeRevealed = revealRequest(strict.keyring, req, { strict: strict.policies });
        } catch (err) {
          if (err instanceof PlaintextFound) {
            return sendProblem(res, 422, 'plaintext-found', 'Plaintext where an envelope belongs',
              `${err.location || 'a protected location'} holds plaintext`);
          }
          if (err instanceof Uninspectable) {
            return sendProblem(res, 400, 'uninspectable', 'Request cannot be inspected', err.message);
          }
          return next(err);
        }
      }
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

module.exports = { receiptMiddleware, revealRequest, revealRequestAtRest };
