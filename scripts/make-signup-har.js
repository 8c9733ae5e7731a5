#!/usr/bin/env node
// Records examples/har/signup.har: a browser session of a small sign-up form, with fake data.
//
// Serves a sign-up page on 127.0.0.1, drives Debian's headless Chromium through the DevTools
// protocol (--remote-debugging-port) to fill and submit the form, records every request from
// the Network domain (requestWillBeSent, requestWillBeSentExtraInfo for the headers actually
// sent, responseReceived) and writes them as HAR 1.2, as DevTools' "Export HAR" does.
//
// Usage: node --experimental-websocket scripts/make-signup-har.js OUT.har
// Needs: chromium (apt-get install chromium), Node.js 20.10 or later.
'use strict';

const http = require('node:http');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const out = process.argv[2] || 'examples/har/signup.har';

// Fake person: made-up or documentation values only: a tax id made up to pass its check
// digits, the ECBS example IBAN, example.com addresses, a Berlin number of valid shape.
const FAKE = {
  name: 'Jana Fiktiv',
  email: 'jana.fiktiv@example.com',
  phone: '+49 30 23125000',
  birthDate: '1988-07-14',
  iban: 'DE89 3704 0044 0532 0130 00',
  taxId: '39170342364',
  street: 'Musterstraße 12',
  city: '10115 Berlin',
};

const b64url = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
const ID_TOKEN = `${b64url({ alg: 'RS256', typ: 'JWT', kid: 'demo' })}.${b64url({
  iss: 'https://id.example.com', sub: '248289761001', aud: 'signup-demo', iat: 1764460800,
  email: FAKE.email, name: FAKE.name, given_name: 'Jana', family_name: 'Fiktiv',
})}.ZmFrZS1zaWduYXR1cmUtbm90LXZlcmlmaWVk`;

const PAGE = `<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>Konto anlegen</title></head>
<body>
<h1>Konto anlegen</h1>
<form id="signup">
  <label>Name <input name="name" id="name"></label>
  <label>E-Mail <input name="email" id="email" type="email"></label>
  <label>Telefon <input name="phone" id="phone" type="tel"></label>
  <label>Geburtsdatum <input name="birthDate" id="birthDate" type="date"></label>
  <label>Straße <input name="street" id="street"></label>
  <label>Ort <input name="city" id="city"></label>
  <label>IBAN <input name="iban" id="iban"></label>
  <label>Steuer-ID <input name="steuerId" id="steuerId"></label>
  <label><input type="checkbox" id="optin" checked> Newsletter</label>
  <button id="submit" type="submit">Registrieren</button>
</form>
<form id="newsletter" method="post" action="/newsletter">
  <input name="email" id="nl-email"><input name="vorname" id="nl-vorname">
  <button id="nl-submit" type="submit">Abonnieren</button>
</form>
<p id="status"></p>
<script>
const v = (id) => document.getElementById(id).value;
document.getElementById('email').addEventListener('change', () =>
  fetch('/api/users/check?email=' + encodeURIComponent(v('email'))));
document.getElementById('signup').addEventListener('submit', async (e) => {
  e.preventDefault();
  const body = {
    user: {
      name: v('name'), email: v('email'), phone: v('phone'), birthDate: v('birthDate'),
      address: { street: v('street'), city: v('city') },
      payment: { iban: v('iban') }, steuerId: v('steuerId'),
    },
    marketingOptIn: document.getElementById('optin').checked,
  };
  const r = await fetch('/api/users', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Authorization': 'Bearer ' + window.idToken },
    body: JSON.stringify(body),
  });
  document.getElementById('status').textContent = r.status === 201 ? 'ok' : 'error';
});
</script>
</body></html>`;

function serve() {
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        if (req.method === 'GET' && req.url === '/signup') {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end(PAGE);
        } else if (req.url.startsWith('/api/users/check')) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"available":true}');
        } else if (req.method === 'POST' && req.url === '/api/users') {
          res.writeHead(201, { 'content-type': 'application/json', 'set-cookie': 'session=s3ss10n; Path=/; HttpOnly' });
          res.end('{"id":"u_1001"}');
        } else if (req.method === 'POST' && req.url === '/newsletter') {
          res.writeHead(303, { location: '/signup?subscribed=1' });
          res.end();
        } else {
          res.writeHead(404);
          res.end();
        }
      });
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function devtoolsPort(profile) {
  const file = path.join(profile, 'DevToolsActivePort');
  for (let i = 0; i < 200; i++) {
    if (fs.existsSync(file)) {
      const [port] = fs.readFileSync(file, 'utf8').split('\n');
      if (port) return Number(port);
    }
    await sleep(100);
  }
  throw new Error('Chromium did not open its DevTools port');
}

function cdp(url) {
  const ws = new WebSocket(url);
  let id = 0;
  const pending = new Map();
  const listeners = [];
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(msg.error.message)); else resolve(msg.result);
    } else if (msg.method) {
      for (const l of listeners) l(msg);
    }
  };
  return new Promise((resolve) => {
    ws.onopen = () => resolve({
      send: (method, params = {}, sessionId) => new Promise((res, rej) => {
        const msgId = ++id;
        pending.set(msgId, { resolve: res, reject: rej });
        ws.send(JSON.stringify({ id: msgId, method, params, sessionId }));
      }),
      on: (l) => listeners.push(l),
      close: () => ws.close(),
    });
  });
}

async function main() {
  const server = await serve();
  const origin = `http://127.0.0.1:${server.address().port}`;
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'pii-edge-har-'));
  const chromium = spawn('chromium', [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--remote-debugging-port=0',
    `--user-data-dir=${profile}`, 'about:blank',
  ], { stdio: 'ignore' });
  try {
    const port = await devtoolsPort(profile);
    const version = await (await fetch(`http://127.0.0.1:${port}/json/version`)).json();
    const browser = await cdp(version.webSocketDebuggerUrl);
    const { targetId } = await browser.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await browser.send('Target.attachToTarget', { targetId, flatten: true });
    const send = (m, p) => browser.send(m, p, sessionId);

    const entries = new Map();
    browser.on((msg) => {
      if (msg.sessionId !== sessionId) return;
      const p = msg.params;
      if (msg.method === 'Network.requestWillBeSent') {
        if (p.redirectResponse && entries.has(p.requestId)) {
          // The redirected request keeps its place; the redirect target follows it.
          const prev = entries.get(p.requestId);
          prev.response = p.redirectResponse;
          entries.delete(p.requestId);
          entries.set(`${p.requestId}:before-redirect`, prev);
        }
        entries.set(p.requestId, { sent: p, extra: null, response: null });
      } else if (msg.method === 'Network.requestWillBeSentExtraInfo') {
        const e = entries.get(p.requestId);
        if (e) e.extra = p; else entries.set(p.requestId, { sent: null, extra: p, response: null });
      } else if (msg.method === 'Network.responseReceived') {
        const e = entries.get(p.requestId);
        if (e) e.response = p.response;
      }
    });
    await send('Network.enable', {});
    await send('Page.enable', {});
    await send('Page.navigate', { url: `${origin}/signup` });
    await sleep(1500);
    const fill = Object.entries({
      name: FAKE.name, email: FAKE.email, phone: FAKE.phone, birthDate: FAKE.birthDate,
      street: FAKE.street, city: FAKE.city, iban: FAKE.iban, steuerId: FAKE.taxId,
    }).map(([id, value]) => `document.getElementById(${JSON.stringify(id)}).value = ${JSON.stringify(value)};`).join('\n');
    await send('Runtime.evaluate', {
      expression: `window.idToken = ${JSON.stringify(ID_TOKEN)};
        document.cookie = 'consent=analytics%3Dno; path=/';
        ${fill}
        document.getElementById('email').dispatchEvent(new Event('change'));
        document.getElementById('submit').click();`,
    });
    await sleep(1500);
    await send('Runtime.evaluate', {
      expression: `document.getElementById('nl-email').value = ${JSON.stringify(FAKE.email)};
        document.getElementById('nl-vorname').value = 'Jana';
        document.getElementById('nl-submit').click();`,
    });
    await sleep(2000);
    browser.close();

    const har = {
      log: {
        version: '1.2',
        creator: { name: 'pii-edge scripts/make-signup-har.js (Chromium DevTools protocol)', version: '1' },
        browser: { name: 'Chromium', version: version.Browser.replace(/^[^/]*\//, '') },
        pages: [{ startedDateTime: new Date().toISOString(), id: 'page_1', title: `${origin}/signup`, pageTimings: {} }],
        entries: [...entries.values()].filter((e) => e.sent && e.sent.request.url.startsWith('http')).map((e) => {
          const req = e.sent.request;
          const headers = e.extra ? e.extra.headers : req.headers;
          const url = new URL(req.url);
          const cookieHeader = Object.entries(headers).find(([k]) => k.toLowerCase() === 'cookie');
          const entry = {
            pageref: 'page_1',
            startedDateTime: new Date(e.sent.wallTime * 1000).toISOString(),
            time: 0,
            request: {
              method: req.method,
              url: req.url,
              httpVersion: 'HTTP/1.1',
              cookies: cookieHeader ? cookieHeader[1].split(/;\s*/).map((c) => {
                const i = c.indexOf('=');
                return { name: c.slice(0, i), value: c.slice(i + 1) };
              }) : [],
              headers: Object.entries(headers).map(([name, value]) => ({ name, value })),
              queryString: [...url.searchParams].map(([name, value]) => ({ name, value })),
              headersSize: -1,
              bodySize: req.postData ? Buffer.byteLength(req.postData) : 0,
            },
            response: {
              status: e.response ? e.response.status : 0,
              statusText: e.response ? e.response.statusText : '',
              httpVersion: 'HTTP/1.1',
              cookies: [],
              headers: e.response ? Object.entries(e.response.headers).map(([name, value]) => ({ name, value })) : [],
              content: { size: 0, mimeType: e.response ? e.response.mimeType : 'x-unknown' },
              redirectURL: '',
              headersSize: -1,
              bodySize: -1,
            },
            cache: {},
            timings: { send: 0, wait: 0, receive: 0 },
          };
          if (req.postData !== undefined) {
            const mimeType = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type');
            entry.request.postData = { mimeType: mimeType ? mimeType[1] : '', text: req.postData };
            if (entry.request.postData.mimeType.startsWith('application/x-www-form-urlencoded')) {
              entry.request.postData.params = [...new URLSearchParams(req.postData)].map(([name, value]) => ({ name, value }));
            }
          }
          return entry;
        }),
      },
    };
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(har, null, 2) + '\n');
    console.log(`wrote ${out}: ${har.log.entries.length} entries (${version.Browser})`);
  } finally {
    const exited = new Promise((r) => chromium.once('exit', r));
    chromium.kill();
    await exited;
    server.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
