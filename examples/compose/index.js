'use strict';
// A team's own viewer-request handler with pii-edge inside it (examples/compose/README.md).
//
// CloudFront runs one function per trigger of a cache behavior. A team that already
// authenticates or routes at the edge keeps its handler and calls pii-edge's `protect(event)`
// from it. The order matters:
//   1. refusals that never look at the body or forward anything (here: a missing API key);
//   2. changes to what the origin will see (here: the path) BEFORE `protect`, because the
//      policies match on the request as `protect` sees it: a path rewritten afterwards could
//      reach a route whose policy never ran;
//   3. `protect(event)`, before anything that reads, copies or logs values: it returns the
//      protected request, or a response (`status`) that must be sent as it is;
//   4. additions that carry no personal data (here: a header) on the *protected* request.
// Never return `event.Records[0].cf.request` after calling `protect`: only the value it returns
// is protected.

const piiEdge = require('./pii-edge.js');

exports.handler = async (event) => {
  const request = event.Records[0].cf.request;

  // 1. The team's own check: an API key header on every API request.
  const api = request.uri.startsWith('/api/') || request.uri.startsWith('/v1/');
  if (api && !request.headers['x-api-key']) {
    return {
      status: '401',
      statusDescription: 'Unauthorized',
      headers: { 'content-type': [{ key: 'Content-Type', value: 'text/plain' }] },
      body: 'missing x-api-key',
    };
  }

  // 2. The team's routing: old clients call /v1/..., the API serves /api/...
  if (request.uri.startsWith('/v1/')) request.uri = '/api/' + request.uri.slice('/v1/'.length);

  // 3. pii-edge: the protected request, or its rejection to send back.
  const result = piiEdge.protect(event);
  if (piiEdge.isResponse(result)) return result;

  // 4. A header for the origin's logs (no personal data).
  result.headers['x-team-route'] = [{ key: 'X-Team-Route', value: 'checkout' }];
  return result;
};
