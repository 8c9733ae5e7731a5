'use strict';
// pii-edge for Node.js origins. Every operation runs in pii-core (Rust) through the addon
// pii_edge_origin.node; this file gives its errors their classes and normalizes arguments.
// Types and documentation: index.d.ts and README.md.

const native = loadAddon();

/**
 * The addon for this platform: `pii_edge_origin.<platform>-<arch>-gnu.node` in a published
 * package (scripts/build-artifacts.sh), `pii_edge_origin.node` in a local build (build.js).
 * glibc Linux only: on musl (Alpine) npm refuses the package by its `libc` field; if it was
 * installed anyway, say so instead of failing with a loader message.
 */
function loadAddon() {
  const fs = require('node:fs');
  const path = require('node:path');
  const local = path.join(__dirname, 'pii_edge_origin.node');
  const published = path.join(__dirname, `pii_edge_origin.${process.platform}-${process.arch}-gnu.node`);
  const candidate = [local, published].find((file) => fs.existsSync(file));
  // A diagnostic report (the glibc check) only when loading fails: it is not free at start-up.
  const noGlibc = () => {
    if (process.platform !== 'linux' || !process.report || typeof process.report.getReport !== 'function') return false;
    const report = process.report.getReport();
    return Boolean(report && report.header && !report.header.glibcVersionRuntime);
  };
  const muslMessage = 'pii-edge: this Linux has no glibc (musl, e.g. Alpine); the origin package supports glibc Linux (x64, arm64) only';
  if (candidate === undefined) {
    if (noGlibc()) throw new Error(muslMessage);
    throw new Error(`pii-edge: no addon for ${process.platform}-${process.arch} (looked for ${path.basename(published)}); supported: linux-x64-gnu, linux-arm64-gnu`);
  }
  try {
    return require(candidate);
  } catch (err) {
    if (noGlibc()) throw new Error(muslMessage);
    throw err;
  }
}

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
class Uninspectable extends PiiEdgeError {}
class LocationError extends PiiEdgeError {}
class PolicyError extends PiiEdgeError {}
/** A request without a valid, fresh receipt; `code` names the failed check. */
class ReceiptError extends PiiEdgeError {}

const classes = {
  PiiEdgeError, InvalidKeys, OpenError, Malformed, UnsupportedVersion, WrongZone, WrongPolicy,
  WrongLocation, NoKey, Tampered, PlaintextFound, Uninspectable, LocationError, PolicyError,
  ReceiptError,
};

/** The typed error for an addon error (its `code` is the Rust error kind). */
function typed(err) {
  if (!err || typeof err.code !== 'string') return err;
  const [kind, code] = err.code.split(':');
  if (kind === 'TypeError') return new TypeError(err.message);
  if (kind === 'SystemError') {
    // As fs reports it: `code` ENOENT, EACCES, ... (the message names the path).
    const sysErr = new Error(err.message);
    sysErr.code = code;
    return sysErr;
  }
  const Class = classes[kind];
  if (!Class) return err;
  // A value of a request: the message ends with U+001F and the location's text form.
  const [message, location] = String(err.message).split('\u001f');
  const typedErr = new Class(location === undefined ? message : `${message}`, code);
  if (location !== undefined) typedErr.location = location;
  return typedErr;
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

/** `value` when it is a string; a TypeError naming the argument otherwise (never its value). */
function text(name, value) {
  if (typeof value !== 'string') {
    throw new TypeError(`${name} must be a string, not ${value === null ? 'null' : typeof value}`);
  }
  return value;
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

/** Where a value is in a request, in its one text form (`String(location)`). */
class Location {
  constructor(text) {
    const parts = call(() => native.parseLocation(String(text)));
    Location._init(this, parts);
  }
  static _init(self, parts) {
    self.part = parts.part;
    self.name = parts.name === null ? undefined : parts.name;
    self.index = parts.index === null ? undefined : parts.index;
    self.path = parts.path === null ? undefined : parts.path;
    Object.defineProperty(self, '_text', { value: parts.text });
    Object.freeze(self);
  }
  static _of(parts) {
    const self = Object.create(Location.prototype);
    Location._init(self, parts);
    return self;
  }
  /** Parses the text form; throws LocationError for any other spelling. */
  static parse(text) { return new Location(text); }
  /** A JSON body location from member names and array indexes. */
  static json(path) { return Location._of(call(() => native.jsonLocation(path))); }
  /** A header, query, form or cookie location (name lower-cased). */
  static field(part, name, index = 0) { return Location._of(call(() => native.fieldLocation(part, name, index))); }
  equals(other) { return other instanceof Location && other._text === this._text; }
  toString() { return this._text; }
  toJSON() { return this._text; }
  [Symbol.for('nodejs.util.inspect.custom')]() { return `Location(${this._text})`; }
}

function bindingOf(b) {
  // The Location object is made when asked for: a reveal reports every value, few read them.
  let location;
  return Object.freeze({
    policy: b.policy,
    zone: b.zone,
    get location() {
      if (location === undefined) location = new Location(b.location);
      return location;
    },
  });
}

/** An opened value; `value` has its JSON type restored (string for text). */
class Opened {
  constructor(raw) {
    this.kind = raw.kind;
    this.binding = bindingOf(raw.binding);
    Object.defineProperty(this, 'value', {
      value: raw.kind === 'text' ? raw.plaintext : JSON.parse(raw.plaintext),
      enumerable: false,
    });
  }
  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `Opened(kind=${this.kind}, location=${this.binding.location}, value=<hidden>)`;
  }
}

/** A request's parts for the addon: `path` may carry the query when `query` is absent. */
function requestOf(request) {
  let { method = 'POST', path = '/', query, headers = [], body } = request;
  if (query === undefined) {
    const at = path.indexOf('?');
    query = at < 0 ? '' : path.slice(at + 1);
    if (at >= 0) path = path.slice(0, at);
  }
  return { method: String(method), path: String(path), query: String(query), headers: headerPairs(headers), body: toBuffer(body) };
}

/** Policies compiled for strict opening. */
class Policies {
  constructor(inner) { this._inner = inner; }
  /** Policies from YAML files or directories of them (first match wins). */
  static fromFiles(paths) { return new Policies(call(() => native.Policies.fromFiles([].concat(paths).map(String)))); }
  get names() { return this._inner.names; }
}

class PrivateKeyring {
  constructor(inner) { this._inner = inner; }
  /** A private X25519 JWK Set (what `pii-edge keygen` writes as private.jwks). */
  static fromJwks(text) { return new PrivateKeyring(call(() => native.PrivateKeyring.fromJwks(String(text)))); }
  /** `fromJwks` of a file. */
  static fromFile(path) { return new PrivateKeyring(call(() => native.PrivateKeyring.fromFile(String(path)))); }
  get zones() { return this._inner.zones; }
  /** Opens one envelope: `{value, kind, binding}`. */
  open(envelope) { return new Opened(call(() => this._inner.open(text('envelope', envelope)))); }
  /** Opens one envelope only if sealed by `policy`, for `zone`, at `location`. */
  openExpecting(envelope, policy, zone, location) {
    return new Opened(call(() => this._inner.openExpecting(
      text('envelope', envelope), text('policy', policy), text('zone', zone), String(location))));
  }
  /**
   * Opens every envelope of a request, as `pii-edge reveal` does.
   * reveal({method, path, query?, headers?, body?}, {policy?, zone?, strict?})
   * `path` may carry the query when `query` is absent.
   */
  reveal(request, options = {}) {
    return this._reveal(request, options);
  }
  /**
   * `reveal`, and the fields at rest (`pr1.`, docs/at-rest.md) of the request too, each with
   * its subject key from `options.subjectKeys` (a `SubjectKeys`, or any object with
   * `keyById(subject, keyId)`, synchronous or async). Returns a promise; rejects with Erased
   * (and the `location`) for a field of an erased subject, NoKey for a key the store lacks.
   * revealAtRest({method, path, query?, headers?, body?}, {subjectKeys, policy?, zone?, strict?})
   */
  async revealAtRest(request, options = {}) {
    const { subjectKeys, ...rest } = options;
    if (!subjectKeys || typeof subjectKeys.keyById !== 'function') {
      throw new TypeError('subjectKeys must have a keyById(subject, keyId) method (a SubjectKeys)');
    }
    const r = requestOf(request);
    const wanted = call(() => native.atRestKeys(r.method, r.path, r.query, r.headers, r.body));
    const keys = [];
    const erased = [];
    for (const [subject, keyId] of wanted) {
      try {
        const key = await subjectKeys.keyById(subject, keyId);
        if (!key || !key._inner) throw new TypeError('subjectKeys.keyById must return a SubjectKey');
        keys.push(key._inner);
      } catch (err) {
        if (err instanceof classes.Erased) erased.push(keyId);
        else if (!(err instanceof NoKey)) throw err;
      }
    }
    return this._reveal(request, rest, keys, erased);
  }
  _reveal(request, options, subjectKeys, erased) {
    const r = requestOf(request);
    const strict = options.strict;
    if (strict !== undefined && !(strict instanceof Policies)) throw new TypeError('strict must be a Policies');
    const out = call(() => this._inner.reveal(
      r.method, r.path, r.query, r.headers, r.body,
      options.policy, options.zone, strict === undefined ? undefined : strict._inner, subjectKeys, erased,
    ));
    return {
      method: out.method,
      path: out.path,
      query: out.query,
      headers: out.headers,
      body: out.body,
      fields: out.fields.map((f) => Object.freeze({ kind: f.kind, binding: bindingOf(f.binding) })),
      get opened() { return this.fields.length; },
      json() { return JSON.parse(this.body.toString('utf8')); },
    };
  }
  /** Opens every envelope of a JSON (or form) body. */
  revealBody(body, options = {}) {
    const { contentType = 'application/json', ...rest } = options;
    return this.reveal({ method: 'POST', path: '/', query: '', headers: [['content-type', contentType]], body }, rest);
  }
  toString() { return `PrivateKeyring(zones: ${this.zones.join(', ')})`; }
  [Symbol.for('nodejs.util.inspect.custom')]() { return this.toString(); }
}

module.exports = {
  ...classes,
  RECEIPT_HEADER: 'x-pii-edge-receipt',
  Location,
  Opened,
  Policies,
  PrivateKeyring,
  ReceiptKeys,
  verifyReceipt,
  headerPairs,
  /** Whether `text` has the form of an envelope (syntax only; opens nothing). */
  isEnvelope: (value) => typeof value === 'string' && native.isEnvelope(value),
};
Object.assign(module.exports, require('./erasure.js')({ native, call, classes, Opened, PrivateKeyring, ReceiptKeys }));
