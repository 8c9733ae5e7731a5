'use strict';
// The careful hand-written handler: one X25519 agreement per request (fresh ephemeral key,
// ECDH with the region's public key, HKDF-SHA256 to an AES-256-GCM key), then AES-256-GCM per
// field with a counter nonce and the field's JSONPath location as associated data. The same
// shape of work as pii-edge's envelope (one public-key operation per request), in node:crypto.

const crypto = require('crypto');
const { makeHandler } = require('./handler-common');

function create(policy, jwk) {
  const recipient = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  const zone = Buffer.from('pii-edge/v1 zone=' + (policy.zone || ''));
  const sealer = {
    begin: () => {
      const eph = crypto.generateKeyPairSync('x25519');
      const enc = eph.publicKey.export({ format: 'jwk' }).x;
      const shared = crypto.diffieHellman({ privateKey: eph.privateKey, publicKey: recipient });
      const key = Buffer.from(crypto.hkdfSync('sha256', shared, Buffer.from(enc), zone, 32));
      let counter = 0;
      return (value, location) => {
        const nonce = Buffer.alloc(12);
        nonce.writeUInt32BE(++counter, 8);
        const cipher = crypto.createCipheriv('aes-256-gcm', key, nonce);
        cipher.setAAD(Buffer.from(location, 'utf8'));
        const ct = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
        return 'x1.' + enc + '.' + Buffer.concat([nonce, ct, cipher.getAuthTag()]).toString('base64url');
      };
    },
  };
  return makeHandler(policy, sealer);
}

module.exports = { create };
