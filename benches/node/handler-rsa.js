'use strict';
// The usual hand-written Lambda@Edge handler: JSONPath with jsonpath-plus and one RSA-OAEP
// public-key encryption per selected field (node:crypto, 2048-bit key, OAEP with SHA-256,
// already better than the SHA-1 / 1024-bit proofs of concept). A value longer than the RSA
// limit (190 bytes of plaintext) throws, as it does in those handlers.
//
// `create(policy, pem)` passes the PEM text to publicEncrypt on every call, as those handlers
// do with their hard-coded key (node parses the PEM each time); `create(policy, pem, true)`
// parses it once into a KeyObject (the careful way to write the same handler).

const crypto = require('crypto');
const { makeHandler } = require('./handler-common');

function create(policy, rsaPublicKeyPem, parseOnce = false) {
  const key = parseOnce ? crypto.createPublicKey(rsaPublicKeyPem) : rsaPublicKeyPem;
  const sealer = {
    begin: () => (value) =>
      crypto
        .publicEncrypt(
          { key, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
          Buffer.from(JSON.stringify(value), 'utf8'),
        )
        .toString('base64'),
  };
  return makeHandler(policy, sealer);
}

module.exports = { create };
