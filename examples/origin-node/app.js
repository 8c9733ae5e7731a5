'use strict';
// A regional origin on Express behind the pii-edge CloudFront function (README.md).
//
// - Only requests that came through the edge get in: `receiptMiddleware` verifies the edge's
//   signed receipt, and with `strict` opens the request against the same policies the edge runs,
//   refusing one in which a location they encrypt holds plaintext (a stale edge, a forged
//   receipt): 422 problem+json.
// - Erasure that reaches every copy (docs/erasure.md): on insert every envelope of the record is
//   rewrapped to a key of its data subject (`user-<id>`, `pr1.`), kept wrapped in a SQLite key
//   store beside the rows, with a per-subject token of the e-mail for lookups.
//   `DELETE /api/users/:id` deletes the row and forgets the subject: every copy of its fields
//   made before (dumps, backups, messages) then fails with Erased; the answer carries a signed
//   erasure receipt.
// - It opens a value in one place, where it is used (`welcome`), and checks that the value was
//   sealed for the e-mail field of the signup policy in this zone.

const Database = require('better-sqlite3');
const express = require('express');
const pii = require('pii-edge');
const { receiptMiddleware } = require('pii-edge/express');

/**
 * The one place that opens the e-mail (a real service would send the welcome mail here): the
 * address lives in this function's locals only. Returns what may be shown: the mail domain.
 */
async function welcome(subjects, zone, record) {
  const opened = await subjects.open(record.user.email);
  const { policy, zone: sealedFor, location } = opened.binding;
  if (policy !== 'signup' || sealedFor !== zone || String(location) !== EMAIL) {
    throw new pii.WrongLocation('the e-mail was sealed for another field, policy or zone');
  }
  return `mail sent to an address at ${String(opened.value).split('@')[1]}`;
}

const EMAIL = "json:$['user']['email']";
const TOKEN_STEPS = ['trim', 'casefold'];

/** `value` with every envelope in it rewrapped to `subject`'s key (`pr1.`). */
async function rewrapAll(subjects, subject, value) {
  if (pii.isEnvelope(value)) return subjects.rewrap(subject, value);
  if (Array.isArray(value)) return Promise.all(value.map((v) => rewrapAll(subjects, subject, v)));
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = await rewrapAll(subjects, subject, v);
    return out;
  }
  return value;
}

/**
 * createApp({ keyring, receiptKeys, policies, signer, db = ':memory:', zone = 'eu-central', maxAge = 300 })
 * keyring: this region's PrivateKeyring; receiptKeys: the edge's ReceiptKeys; policies: the
 * edge's policies (Policies.fromFiles('policies/')) for strict opening; signer: this origin's
 * ErasureSigner; db: the SQLite file of the rows and the key store.
 */
function createApp({ keyring, receiptKeys, policies, signer, db = ':memory:', zone = 'eu-central', maxAge = 300 }) {
  const database = new Database(db);
  database.exec('CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, record TEXT NOT NULL, email_token TEXT)');
  const subjects = new pii.SubjectKeys(new pii.SqliteKeyStore(database), keyring, zone, { signer });
  const app = express();
  app.use(receiptMiddleware({
    keys: receiptKeys, maxAge, exemptPaths: ['/healthz'], strict: { keyring, policies },
  }));

  app.get('/healthz', (req, res) => res.json({ ok: true }));

  app.post('/api/users', async (req, res) => {
    const receipt = req.piiEdgeReceipt;
    if (receipt.policy !== 'signup' || receipt.zone !== zone) {
      return res.status(403).type('application/problem+json').json({
        type: 'https://pii-edge.dev/problems/wrong-policy', title: 'Not protected for this service', status: 403,
      });
    }
    if (!pii.isEnvelope(req.body?.user?.email)) {
      return res.status(422).type('application/problem+json').json({
        type: 'https://pii-edge.dev/problems/no-email', title: 'A sign-up needs an e-mail', status: 422,
      });
    }
    const { id } = database.prepare('INSERT INTO users (record) VALUES (?) RETURNING id').get('{}');
    const subject = `user-${id}`;
    try {
      // Rewrap before the row is written: no `pe2.` field (the region key alone opens it) is
      // stored. The e-mail also gets a per-subject token, for lookups that stop after forget.
      const [email, token] = await subjects.rewrapWithToken(subject, req.body.user.email, 'email', TOKEN_STEPS);
      const record = await rewrapAll(subjects, subject, { ...req.body, user: { ...req.body.user, email } });
      database.prepare('UPDATE users SET record = ?, email_token = ? WHERE id = ?').run(JSON.stringify(record), token, id);
      res.status(201).json({ id, welcome: await welcome(subjects, zone, record) });
    } catch (err) {
      database.prepare('DELETE FROM users WHERE id = ?').run(id);
      throw err;
    }
  });

  app.delete('/api/users/:id', async (req, res) => {
    const id = Number(req.params.id);
    database.prepare('DELETE FROM users WHERE id = ?').run(id);
    const done = await subjects.forget(`user-${id}`, `DELETE /api/users/${id} request ${req.piiEdgeReceipt.requestId}`);
    if (!done) return res.status(404).type('application/problem+json').json({ type: 'about:blank', title: 'No such user', status: 404 });
    res.json({ erased: done.subject, keyId: done.keyId, erasedAt: done.erasedAt, receipt: done.receipt });
  });

  app.locals.database = database;
  app.locals.subjects = subjects;

  return app;
}

module.exports = { createApp, EMAIL, TOKEN_STEPS };

if (require.main === module) {
  const app = createApp({
    keyring: pii.PrivateKeyring.fromFile(process.env.PII_EDGE_KEYS_FILE),
    receiptKeys: pii.ReceiptKeys.fromFile(process.env.PII_EDGE_RECEIPT_KEYS),
    policies: pii.Policies.fromFiles(process.env.PII_EDGE_POLICIES || 'policies'),
    zone: process.env.PII_EDGE_ZONE || 'eu-central',
    signer: pii.ErasureSigner.fromJwk(require('node:fs').readFileSync(process.env.ERASURE_SIGNING_KEY, 'utf8')),
    db: process.env.ORIGIN_DB || 'origin.sqlite',
  });
  const port = Number(process.env.PORT || 3000);
  app.listen(port, '127.0.0.1', () => console.log(`origin on http://127.0.0.1:${port}`));
}
