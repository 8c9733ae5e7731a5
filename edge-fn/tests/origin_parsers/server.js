// Node.js origin parsers for the differential test (scripts/test-differential.sh): express's
// urlencoded (qs, extended) and JSON body parsers, express's and qs's query parsers, and the
// `cookie` package. Answers every request with what each of them read, as JSON.
'use strict';
const express = require('express');
const qs = require('qs');
const cookie = require('cookie');

const app = express();
app.set('query parser', 'extended'); // qs, as Express 4 did by default
app.use(express.urlencoded({ extended: true, type: () => false }));
app.use(express.json({ type: () => false }));
app.all(/.*/, (req, res, next) => {
  // Read the body with the parser the declared type calls for, whatever the route.
  const ct = String(req.headers['content-type'] || '').toLowerCase();
  const parser = ct.includes('json')
    ? express.json({ type: () => true, strict: false })
    : express.urlencoded({ extended: true, type: () => true });
  parser(req, res, (err) => {
    if (err) { res.json({ error: String(err.type || err.message) }); return; }
    next();
  });
});
app.all(/.*/, (req, res) => {
  const raw = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
  const cookies = {};
  for (const h of [].concat(req.headers.cookie || [])) {
    Object.assign(cookies, cookie.parse(h));
  }
  const ct = String(req.headers['content-type'] || '').toLowerCase();
  res.json({
    'node-express-query': req.query,
    'node-qs-query': qs.parse(raw),
    'node-express-urlencoded': ct.includes('json') ? {} : req.body,
    'node-express-json': ct.includes('json') ? req.body : null,
    'node-cookie': cookies,
    'node-headers': req.headers,
    'node-path': req.path,
  });
});
const server = app.listen(Number(process.argv[2]), '127.0.0.1');
server.on('listening', () => console.log('node ready'));
