'use strict';
// The package's handler (index.js, which passes the body's data to the addon apart from the
// event: addon.handleSplit) against the whole-event path (addon.handle of the event's JSON)
// on the same events, in one process: the answers must be the same text.
//
//   node split.js TASK_ROOT OUT_FILE EVENT_FILE...
//
// The bundle in TASK_ROOT must answer deterministically (no `encrypt` rule: sealing is
// randomized). Besides the given events, it runs made-up ones: a large body, a body that is
// not base64, odd bodies that take the whole-event path. Writes {"checked", "split", "whole"}
// to OUT_FILE (stdout is the function's log).

const fs = require('fs');
const path = require('path');

const [taskRoot, outFile, ...eventFiles] = process.argv.slice(2).map((a) => path.resolve(a));
process.chdir(taskRoot);
// The module index.js loads (node caches it by path): count which path each event takes.
const addon = require(path.join(taskRoot, 'pii_edge.node'));
const calls = { split: 0, whole: 0 };
const handleSplit = addon.handleSplit;
const handle = addon.handle;
addon.handleSplit = (...args) => { calls.split += 1; return handleSplit(...args); };
addon.handle = (...args) => { calls.whole += 1; return handle(...args); };
const { handler } = require(path.join(taskRoot, 'index.js'));

function signup(data) {
  return JSON.stringify({ Records: [{ cf: {
    config: { distributionId: 'E1', eventType: 'viewer-request', requestId: 'r-1' },
    request: { clientIp: '203.0.113.1', method: 'POST', uri: '/api/users', querystring: '',
      headers: { 'content-type': [{ key: 'Content-Type', value: 'application/json' }] },
      body: { inputTruncated: false, action: 'read-only', encoding: 'base64', data } } } }] });
}
const b64 = (text) => Buffer.from(text, 'utf8').toString('base64');
const big = JSON.stringify({ user: { email: 'erika@example.de', name: 'Erika Mustermann', notes: 'x'.repeat(30000) } });
const events = eventFiles.map((f) => [path.basename(f), fs.readFileSync(f, 'utf8'), true]);
events.push(['large body', signup(b64(big)), true]);
events.push(['body not base64', signup('not base64!'), true]);
// Odd bodies go the whole-event way, and are answered 400 there.
const odd = JSON.parse(signup(b64(big)));
odd.Records[0].cf.request.body.data = 12345;
events.push(['data not a string', JSON.stringify(odd), false]);
events.push(['empty data', signup(''), false]);
const twice = JSON.parse(signup(b64(big)));
twice.Records.push(twice.Records[0]);
events.push(['two records', JSON.stringify(twice), false]);
events.push(['no records', '{}', false]);

(async () => {
  let checked = 0;
  for (const [name, text, hasBody] of events) {
    const expected = handle(JSON.stringify(JSON.parse(text)));
    const before = { ...calls };
    const event = JSON.parse(text);
    const answer = JSON.stringify(await handler(event, {}));
    if (answer !== expected) {
      throw new Error(`${name}: answers differ\n split: ${answer.slice(0, 400)}\n whole: ${expected.slice(0, 400)}`);
    }
    if (JSON.stringify(event) !== JSON.stringify(JSON.parse(text))) {
      throw new Error(`${name}: the handler left the event changed`);
    }
    const took = calls.split > before.split ? 'split' : 'whole';
    const body = JSON.parse(text).Records?.[0]?.cf?.request?.body;
    const shouldSplit = hasBody && body !== undefined;
    if ((took === 'split') !== shouldSplit || calls.split + calls.whole !== before.split + before.whole + 1) {
      throw new Error(`${name}: took the ${took} path`);
    }
    checked += 1;
  }
  fs.writeFileSync(outFile, JSON.stringify({ checked, ...calls }));
  process.exit(0);
})().catch((err) => {
  console.error('split check failed:', err && err.message);
  process.exit(1);
});
