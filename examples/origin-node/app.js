'use strict';
// A regional origin on Express behind the pii-edge CloudFront function (README.md).
//
// - Only requests that came through the edge get in: `receiptMiddleware` verifies the edge's
//   signed receipt, and with `strict` opens the request against the same policies the edge runs,
//   refusing one in which a location they encrypt holds plaintext (a stale edge, a forged
//   receipt): 422 problem+json.
// - It stores what the edge forwarded, envelopes and all (here in memory; a database in yours).
// - It opens a value in one place, where it is used (`welcome`): `openExpecting` refuses an
//   envelope copied from another field, policy or zone.

const express = require('express');
const pii = require('pii-edge');
const { receiptMiddleware } = require('pii-edge/express');

/**
 * The one place that opens the e-mail (a real service would send the welcome mail here): the
 * address lives in this function's locals only. Returns what may be shown: the mail domain.
 */
function welcome(keyring, zone, record) {
  const opened = keyring.openExpecting(record.user.email, 'signup', zone, "json:$['user']['email']");
  return `mail sent to an address at ${String(opened.value).split('@')[1]}`;
}

/**
 * createApp({ keyring, receiptKeys, policies, zone = 'eu-central', maxAge = 300 })
 * keyring: this region's PrivateKeyring; receiptKeys: the edge's ReceiptKeys; policies: the
 * edge's policies (Policies.fromFiles('policies/')) for strict opening.
 */
function createApp({ keyring, receiptKeys, policies, zone = 'eu-central', maxAge = 300 }) {
  const users = new Map();
  const app = express();
  app.use(receiptMiddleware({
    keys: receiptKeys, maxAge, exemptPaths: ['/healthz'], strict: { keyring, policies },
  }));

  app.get('/healthz', (req, res) => res.json({ ok: true }));

  app.post('/api/users', (req, res) => {
    const receipt = req.piiEdgeReceipt;
    if (receipt.policy !== 'signup' || receipt.zone !== zone) {
      return res.status(403).type('application/problem+json').json({
        type: 'https://pii-edge.dev/problems/wrong-policy', title: 'Not protected for this service', status: 403,
      });
    }
    const id = users.size + 1;
    users.set(id, req.body); // as forwarded: envelopes, masks, redactions
    res.status(201).json({ id, welcome: welcome(keyring, zone, req.body) });
  });

  return app;
}

module.exports = { createApp };

if (require.main === module) {
  const app = createApp({
    keyring: pii.PrivateKeyring.fromFile(process.env.PII_EDGE_KEYS_FILE),
    receiptKeys: pii.ReceiptKeys.fromFile(process.env.PII_EDGE_RECEIPT_KEYS),
    policies: pii.Policies.fromFiles(process.env.PII_EDGE_POLICIES || 'policies'),
    zone: process.env.PII_EDGE_ZONE || 'eu-central',
  });
  const port = Number(process.env.PORT || 3000);
  app.listen(port, '127.0.0.1', () => console.log(`origin on http://127.0.0.1:${port}`));
}
