'use strict';
// pii-edge for Node.js origins. Every operation runs in pii-core (Rust) through the addon
// pii_edge_origin.node; this file gives its errors their classes and normalizes arguments.
// Types and documentation: index.d.ts and README.md.

const native = require('./pii_edge_origin.node');

/** Base class of every pii-edge error. */
class PiiEdgeError extends Error {
  constructor(message, code) {
    super(message);
    this.name = new.target.name;
    if (code !== undefined) this.code = code;
  }
}
class InvalidKeys extends PiiEdgeError {}
class OpenError extends PiiEdgeError {}
class Malformed extends OpenError {}
class UnsupportedVersion extends OpenError {}
class WrongZone extends OpenError {}
class WrongPolicy extends OpenError {}
class WrongLocation extends OpenError {}
class NoKey extends OpenError {}
class Tampered extends OpenError {}
class PlaintextFound extends PiiEdgeError {}
class LocationError extends PiiEdgeError {}
class PolicyError extends PiiEdgeError {}
/** A request without a valid, fresh receipt; `code` names the failed check. */
class ReceiptError extends PiiEdgeError {}

const classes = {
  PiiEdgeError, InvalidKeys, OpenError, Malformed, UnsupportedVersion, WrongZone, WrongPolicy,
  WrongLocation, NoKey, Tampered, PlaintextFound, LocationError, PolicyError, ReceiptError,
};

/** The typed error for an addon error (its `code` is the Rust error kind). */
function typed(err) {
  if (!err || typeof err.code !== 'string') return err;
  const [kind, code] = err.code.split(':');
  if (kind === 'TypeError') return new TypeError(err.message);
  const Class = classes[kind];
  if (!Class) return err;
  return new Class(err.message, code);
}

function call(fn) {
  try {
    return fn();
  } catch (err) {
    throw typed(err);
  }
}

/**
 * Header pairs from a Node.js headers object (`req.headers`: values string or string[]),
 * `req.rawHeaders` (flat [name, value, ...]), a Headers/Map, or [name, value] pairs.
 */
function headerPairs(headers) {
  if (headers == null) return [];
  if (Array.isArray(headers)) {
    if (headers.length > 0 && !Array.isArray(headers[0])) {
      const pairs = [];
      for (let i = 0; i + 1 < headers.length; i += 2) pairs.push([String(headers[i]), String(headers[i + 1])]);
      return pairs;
    }
    return headers.map(([n, v]) => [String(n), String(v)]);
  }
  const entries = typeof headers.entries === 'function' && !(headers.constructor === Object)
    ? Array.from(headers.entries())
    : Object.entries(headers);
  const pairs = [];
  for (const [name, value] of entries) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) pairs.push([name, String(v)]);
    else pairs.push([name, String(value)]);
  }
  return pairs;
}

function toBuffer(body) {
  if (body == null) return Buffer.alloc(0);
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('body must be a Buffer, Uint8Array or string');
}

class ReceiptKeys {
  constructor(inner) { this._inner = inner; }
  /** A public Ed25519 JWK or JWK Set (a private key is refused). */
  static fromJwks(text) { return new ReceiptKeys(call(() => native.ReceiptKeys.fromJwks(String(text)))); }
  /** `fromJwks` of a file. */
  static fromFile(path) { return new ReceiptKeys(call(() => native.ReceiptKeys.fromFile(String(path)))); }
  get kids() { return this._inner.kids; }
  toString() { return `ReceiptKeys(${this.kids.join(', ')})`; }
  [Symbol.for('nodejs.util.inspect.custom')]() { return this.toString(); }
}

/**
 * Verifies the edge's receipt on a request as the origin received it (docs/receipt.md).
 * Returns the receipt; throws ReceiptError (with `code`) otherwise.
 */
function verifyReceipt(method, path, headers, body, keys, maxAge = 300, options = {}) {
  if (!(keys instanceof ReceiptKeys)) throw new TypeError('keys must be a ReceiptKeys');
  return call(() => native.verifyReceipt(
    String(method), String(path), headerPairs(headers), toBuffer(body), keys._inner, maxAge,
    options.now === undefined ? undefined : options.now,
  ));
}

class PrivateKeyring {
  constructor(inner) { this._inner = inner; }
  /** A private X25519 JWK Set (what `pii-edge keygen` writes as private.jwks). */
  static fromJwks(text) { return new PrivateKeyring(call(() => native.PrivateKeyring.fromJwks(String(text)))); }
  /** `fromJwks` of a file. */
  static fromFile(path) { return new PrivateKeyring(call(() => native.PrivateKeyring.fromFile(String(path)))); }
  get zones() { return this._inner.zones; }
  toString() { return `PrivateKeyring(zones: ${this.zones.join(', ')})`; }
  [Symbol.for('nodejs.util.inspect.custom')]() { return this.toString(); }
}

module.exports = {
  ...classes,
  RECEIPT_HEADER: 'x-pii-edge-receipt',
  PrivateKeyring,
  ReceiptKeys,
  verifyReceipt,
  headerPairs,
};
