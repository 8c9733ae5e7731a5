'use strict';
// Lambda@Edge entry point of the hand-written handler, as it would be packaged (used by the
// cold-start run of scripts/bench.sh): the policy (`policy.json`) and the RSA public key
// (`rsa-public.pem`) sit next to this file, like the hard-coded key of the usual handler.

const fs = require('fs');
const path = require('path');

const policy = JSON.parse(fs.readFileSync(path.join(__dirname, 'policy.json'), 'utf8'));
const pem = fs.readFileSync(path.join(__dirname, 'rsa-public.pem'), 'utf8');

exports.handler = require('./handler-rsa').create(policy, pem);
