'use strict';
// Loads a Lambda function the way the Lambda Node.js runtime does and invokes it:
// `node invoke.js TASK_ROOT HANDLER OUT_FILE EVENT_FILE...`, HANDLER as in the function's
// configuration (`index.handler`). The runtime requires the module from LAMBDA_TASK_ROOT once
// at init (cold start), then calls `handler(event, context)` per event and awaits its promise.
// The results are written to OUT_FILE as {"initMicros", "results": [...]} (stdout is the
// function's log).

const fs = require('fs');
const path = require('path');

const args = process.argv.slice(2);
const taskRoot = path.resolve(args[0]);
const handlerSpec = args[1];
const outFile = path.resolve(args[2]);
const eventFiles = args.slice(3).map((f) => path.resolve(f));
const dot = handlerSpec.lastIndexOf('.');
const moduleName = handlerSpec.slice(0, dot);
const exportName = handlerSpec.slice(dot + 1);

process.env.LAMBDA_TASK_ROOT = taskRoot;
process.env.AWS_LAMBDA_FUNCTION_NAME = 'us-east-1.pii-edge';
process.chdir(taskRoot);

const started = process.hrtime.bigint();
const mod = require(path.join(taskRoot, moduleName));
const handler = mod[exportName];
if (typeof handler !== 'function') {
  console.error(`${handlerSpec} is not a function`);
  process.exit(2);
}
const initMicros = Number(process.hrtime.bigint() - started) / 1000;

function makeContext(i) {
  const deadline = Date.now() + 5000; // viewer-request timeout
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'us-east-1.pii-edge',
    functionVersion: '1',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:us-east-1.pii-edge:1',
    memoryLimitInMB: '128',
    awsRequestId: `c0ffee00-0000-4000-8000-${String(i).padStart(12, '0')}`,
    logGroupName: '/aws/lambda/us-east-1.pii-edge',
    logStreamName: '2026/01/01/[1]0123456789abcdef',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done() {},
    succeed() {},
    fail() {},
  };
}

(async () => {
  const results = [];
  for (const [i, file] of eventFiles.entries()) {
    const event = JSON.parse(fs.readFileSync(file, 'utf8'));
    const context = makeContext(i);
    results.push(await handler(event, context));
  }
  fs.writeFileSync(outFile, JSON.stringify({ initMicros, results }));
  process.exit(0);
})().catch((err) => {
  console.error('handler failed:', err && err.message);
  process.exit(1);
});
