'use strict';
// What both hand-written handlers share: the policy they are given (the same JSON policy the
// Rust engine compiles), its match conditions, and JSONPath selection with jsonpath-plus, the
// way Lambda@Edge handlers are commonly written: decode the base64 body, JSON.parse it, let
// jsonpath-plus find and replace the selected values in place, JSON.stringify, re-encode.

const { JSONPath } = require('jsonpath-plus');

function matches(policy, request) {
  const m = policy.match || {};
  if (m.methods && !m.methods.includes(request.method)) return false;
  if (m.paths && !m.paths.includes(request.uri)) return false;
  if (m.contentTypes) {
    const ct = (request.headers['content-type'] || [])[0];
    const type = ct ? ct.value.split(';')[0].trim().toLowerCase() : '';
    if (!m.contentTypes.includes(type)) return false;
  }
  return true;
}

// Returns a Lambda@Edge handler applying `policy` with `sealer`: `sealer.begin()` once per
// request returns `seal(value, location)` for each selected value.
function makeHandler(policy, sealer) {
  const rules = policy.rules.filter((r) => r.select && r.select.json && r.action === 'encrypt');
  return async (event) => {
    const request = event.Records[0].cf.request;
    if (!matches(policy, request)) return request;
    const body = request.body;
    if (!body || body.inputTruncated) {
      return { status: '413', statusDescription: 'Payload Too Large' };
    }
    let doc;
    try {
      doc = JSON.parse(Buffer.from(body.data, body.encoding === 'base64' ? 'base64' : 'utf8').toString('utf8'));
    } catch (e) {
      return { status: '400', statusDescription: 'Bad Request' };
    }
    const seal = sealer.begin();
    for (const rule of rules) {
      JSONPath({
        path: rule.select.json,
        json: doc,
        resultType: 'all',
        callback: (found) => {
          found.parent[found.parentProperty] = seal(found.value, found.path);
        },
      });
    }
    body.action = 'replace';
    body.encoding = 'base64';
    body.data = Buffer.from(JSON.stringify(doc), 'utf8').toString('base64');
    return request;
  };
}

module.exports = { makeHandler, matches };
