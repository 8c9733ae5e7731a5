// Node.js origin parsers for the differential test (scripts/test-differential.sh): express's
// urlencoded (qs, extended) and JSON body parsers, express's and qs's query parsers, the
// `cookie` package, and Apollo Server 4 (`allowBatchedHttpRequests`: an array body is a batch;
// GET carries `variables` as JSON in the query). Answers every request with what each of them
// read, as JSON. Apollo's view is what its HTTP layer hands an operation (its variables and
// document text), recorded by a plugin before validation, so no schema of the application is
// needed.
'use strict';
const express = require('express');
const qs = require('qs');
const cookie = require('cookie');
const { ApolloServer, HeaderMap } = require('@apollo/server');

const operations = [];
const apollo = new ApolloServer({
  typeDefs: 'type Query { ok: Boolean }',
  allowBatchedHttpRequests: true,
  csrfPrevention: false,
  plugins: [{
    async requestDidStart(ctx) {
      operations.push({ variables: ctx.request.variables || null, query: ctx.request.query || '' });
    },
  }],
});
const apolloReady = apollo.start();

async function apolloView(req) {
  await apolloReady;
  operations.length = 0;
  const headers = new HeaderMap();
  for (const [k, v] of Object.entries(req.headers)) headers.set(k, Array.isArray(v) ? v.join(', ') : String(v));
  const search = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
  try {
    await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method.toUpperCase(), headers, search, body: req.body },
      context: async () => ({}),
    });
  } catch (e) {
    return { error: String(e && e.message) };
  }
  return operations.slice();
}

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
app.all(/.*/, async (req, res) => {
  const raw = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
  const cookies = {};
  for (const h of [].concat(req.headers.cookie || [])) {
    Object.assign(cookies, cookie.parse(h));
  }
  const ct = String(req.headers['content-type'] || '').toLowerCase();
  const apolloOps = await apolloView(req);
  res.json({
    'apollo-operations': apolloOps,
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
