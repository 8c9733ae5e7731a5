'use strict';
// Erasure for Node.js origins (docs/erasure.md): subject keys, rewrap to the at-rest format
// (`pr1.`, docs/at-rest.md), opening it, signed erasure receipts. index.js installs it; the
// cryptography is pii-core's. A key store is the application's (docs/erasure.md §4).

module.exports = function install({ native, call, classes, Opened, PrivateKeyring, ReceiptKeys }) {
  /** The data subject was erased: the key of this field is destroyed, for good. */
  class Erased extends classes.OpenError {}
  /** The field at rest names another subject key than the one given. */
  class WrongKey extends classes.OpenError {}
  /** A subject id must be 1 to 255 bytes of UTF-8 without control characters. */
  class InvalidSubject extends classes.PiiEdgeError {}
  Object.assign(classes, { Erased, WrongKey, InvalidSubject });

  const keyring = (k) => {
    if (!(k instanceof PrivateKeyring)) throw new TypeError('keyring must be a PrivateKeyring');
    return k._inner;
  };

  /** One data subject's 256-bit key, unwrapped in memory. */
  class SubjectKey {
    constructor(inner) { this._inner = inner; }
    /** A new random key for `subject` (created now, or at `created` unix seconds). */
    static generate(subject, created) {
      return new SubjectKey(call(() => native.SubjectKey.generate(String(subject), created)));
    }
    /** Unwraps a key store's `psk1.` record with the region's private keys. */
    static unwrap(keys, wrapped) {
      return new SubjectKey(call(() => native.SubjectKey.unwrap(keyring(keys), String(wrapped))));
    }
    /** The `psk1.` text a key store holds: the key HPKE-sealed to the newest key of `zone`. */
    wrap(keys, zone) { return call(() => this._inner.wrap(keyring(keys), String(zone))); }
    get subject() { return this._inner.subject; }
    get keyId() { return this._inner.keyId; }
    get created() { return this._inner.created; }
    [Symbol.for('nodejs.util.inspect.custom')]() { return `SubjectKey(subject=${this.subject}, keyId=${this.keyId})`; }
  }

  const subjectKey = (k) => {
    if (!(k instanceof SubjectKey)) throw new TypeError('key must be a SubjectKey');
    return k._inner;
  };

  /** Signs erasure receipts (docs/erasure.md §5) with an Ed25519 private JWK. */
  class ErasureSigner {
    constructor(inner) { this._inner = inner; }
    static fromJwk(text) { return new ErasureSigner(call(() => native.ErasureSigner.fromJwk(String(text)))); }
    get publicJwk() { return this._inner.publicJwk; }
    /** The receipt stating that `by` erased `subject`'s key `keyId` at `erasedAt` (default now). */
    sign(by, subject, keyId, erasedAt) {
      return this._inner.sign(String(by), String(subject), String(keyId), erasedAt);
    }
  }

  return {
    Erased,
    WrongKey,
    InvalidSubject,
    SubjectKey,
    ErasureSigner,
    /** The edge's envelope (`pe2.`) sealed under the subject key (`pr1.`). */
    rewrap: (keys, envelope, key) => call(() => native.rewrap(keyring(keys), String(envelope), subjectKey(key))),
    /** Opens a field at rest with its subject key: `{value, kind, binding}`. */
    openAtRest: (key, text) => new Opened(call(() => native.openAtRest(subjectKey(key), String(text)))),
    /** `[subject, keyId]` from a field's clear header (authenticates nothing). */
    atRestHeader: (text) => call(() => native.atRestHeader(String(text))),
    /** Whether `text` has the form of a field at rest (syntax only). */
    isAtRest: (value) => typeof value === 'string' && native.isAtRest(value),
    /** Verifies an erasure receipt with public keys only: `{by, subject, keyId, erasedAt, signedBy}`. */
    verifyErasure: (receipt, keys) => {
      if (!(keys instanceof ReceiptKeys)) throw new TypeError('keys must be a ReceiptKeys');
      return call(() => native.verifyErasure(String(receipt), keys._inner));
    },
  };
};
