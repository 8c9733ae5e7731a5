#!/usr/bin/env bash
# Builds the seed corpora of the fuzz targets into fuzz/corpus/<target>/ (git-ignored) from the
# repository's examples: policies/*.yaml and the bundle's JSON policies (policy_load), the
# CloudFront events of examples/events/ as events (cloudfront_event) and as HTTP/1.1 requests
# (engine_apply), the envelopes of docs/vectors/ (envelope_open), the receipts of
# docs/vectors/receipts/ (receipt_verify), the fields and wrapped keys of docs/vectors/at_rest/
# (at_rest_open), the RFC 9535 compliance suite's queries and documents (jsonpath) and
# /bin/true (addon_elf). Safe to re-run: it only adds files (libFuzzer adds its own finds next to them).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY'
import base64, glob, hashlib, json, os

root = "fuzz/corpus"

def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    os.makedirs(f"{root}/{target}", exist_ok=True)
    name = "seed-" + hashlib.sha1(data).hexdigest()[:16]
    with open(f"{root}/{target}/{name}", "wb") as f:
        f.write(data)

# policy_load: YAML policies, their JSON forms, and broken fixtures.
for path in sorted(glob.glob("policies/*.yaml") + glob.glob("edge-fn/cli/tests/fixtures/**/*.yaml", recursive=True)):
    put("policy_load", open(path, "rb").read())
for path in sorted(glob.glob("examples/bundle/policies/*.json")):
    put("policy_load", open(path, "rb").read())
bundle = json.load(open("examples/bundle/bundle.json"))
for policy in bundle["policies"]:
    put("policy_load", json.dumps(policy, indent=2))

# cloudfront_event: every example event as it is.
events = sorted(glob.glob("examples/events/*.json") + glob.glob("examples/events/responses/*.json"))
for path in events:
    put("cloudfront_event", open(path, "rb").read())
# ... and one CloudFront never sends: a header entry whose `key` names another header.
mismatched = json.load(open("examples/events/headers-cookie.json"))
mismatched["Records"][0]["cf"]["request"]["headers"]["x-trace"] = [{"key": "X-National-ID", "value": "DE-1"}]
put("cloudfront_event", json.dumps(mismatched, indent=1))

# engine_apply: the same requests as HTTP/1.1 text, plus hostile variants.
def http(method, uri, query, headers, body=b""):
    target = uri + ("?" + query if query else "")
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    return head.encode() + b"\r\n" + body

for path in sorted(glob.glob("examples/events/*.json")):
    request = json.load(open(path))["Records"][0]["cf"]["request"]
    headers = [(h.get("key", name), h["value"]) for name, hs in request.get("headers", {}).items() for h in hs]
    body = b""
    if "body" in request:
        b = request["body"]
        body = base64.b64decode(b["data"]) if b.get("encoding") == "base64" else b["data"].encode()
        if b.get("inputTruncated"):
            headers.append(("X-Fuzz-Truncated", "1"))
    put("engine_apply", http(request["method"], request["uri"], request.get("querystring", ""), headers, body))

ct_json = [("Content-Type", "application/json")]
hostile = [
    http("POST", "/api/users", "", ct_json, b'{"user":{"email":"a@x.de","em\\u0061il":"b@x.de"}}'),
    http("POST", "/api/users", "", ct_json, b'{"items":[{"iban":"DE89"}],"user":{"ssn":"123","phone":4930}}'),
    http("POST", "/api/users", "", ct_json, b'{"n":1e400,"card":"4111"}'),
    http("POST", "/api/users", "", ct_json, b'{"big":123456789012345678901234567890,"password":"pw"}'),
    http("POST", "/api/users", "", ct_json, b"\xef\xbb\xbf{}"),
    http("POST", "/api/users", "", ct_json, b'{"s":"\\ud800"}'),
    http("POST", "/api/users", "", [("Content-Type", "Application/JSON; charset=UTF-8")], b'{"email":"x"}'),
    http("POST", "/api/users", "", [("Content-Type", "application/x-www-form-urlencoded")], b'{"email":"x"}'),
    http("POST", "/api/users", "", [("Content-Type", "application/json")], b"email=x&card=4111"),
    http("POST", "/api/users", "", ct_json + [("Content-Encoding", "gzip")], b'{"email":"x"}'),
    http("GET", "/api/search", "%65mail=a%40b.de&EMAIL=c&e%6Dail=d&token=t&q=1", []),
    http("GET", "/api/profile", "", [("X-National-ID", "DE-1"), ("x-national-id", "DE-2"), ("Cookie", "a=1; session_email=x; SESSION_EMAIL=y")]),
    http("POST", "/api/users", "", ct_json, b"[" * 200 + b"]" * 200),
    http("POST", "/checkout", "", [("Content-Type", "application/x-www-form-urlencoded")], b"email=a%40b.de&card=4111111111111111&EMAIL=c&x=1"),
]
for h in hostile:
    put("engine_apply", h)

# json_span: the JSON bodies of the example events, and odd documents.
for path in sorted(glob.glob("examples/events/*.json")):
    request = json.load(open(path))["Records"][0]["cf"]["request"]
    b = request.get("body")
    if b and b.get("data"):
        put("json_span", base64.b64decode(b["data"]) if b.get("encoding") == "base64" else b["data"].encode())
for doc in [b' {"a": [1, {"b\\u0063": null}], "e": "\\ud83d\\ude00"} ', b"[]", b'"x"', b"1e5",
            b'{"a":1,"a":2}', b"\xef\xbb\xbf{}", b"[" * 140 + b"]" * 140, b'{"k": [true, false, -0.0]}']:
    put("json_span", doc)

# jsonpath: each query of the RFC 9535 compliance suite, a newline, its document.
for case in json.load(open("pii-core/tests/jsonpath-cts/cts.json"))["tests"]:
    put("jsonpath", case["selector"] + "\n" + json.dumps(case.get("document", None)))

# envelope_open: <vector index byte> + envelope, index in the target's (sorted) order; and
# the locations of the vectors (and of the envelope spec's examples) for the location parser.
for i, path in enumerate(sorted(glob.glob("docs/vectors/*.json"))):
    v = json.load(open(path))
    put("envelope_open", bytes([i]) + v["envelope"].encode())
    put("envelope_open", bytes([i]) + json.dumps({"email": v["envelope"]}).encode())
    for b in (v.get("binding"), v.get("expected_binding")):
        if b:
            put("envelope_open", bytes([i]) + b["location"].encode())
# at_rest_open: <index byte among the success vectors of docs/vectors/at_rest/> + a field or a
# wrapped subject key; the failure vectors' fields too.
success = 0
for path in sorted(glob.glob("docs/vectors/at_rest/*.json")):
    v = json.load(open(path))
    if v["expect"] == "success":
        put("at_rest_open", bytes([success]) + v["at_rest"].encode())
        put("at_rest_open", bytes([success]) + v["subject_key"]["wrapped"].encode())
        success += 1
    else:
        put("at_rest_open", b"\0" + v["at_rest"].encode())
for loc in ["json:$", "json:$['items'][0]['card']", "json:$['a\\b\\u001f\\t']", "query:email#12",
            "form:card%20number", "cookie:sessi%C3%B3n", "header:x-national-id#1", "query:%25"]:
    put("envelope_open", b"\0" + loc.encode())

# names: <place byte> + a name, for each place; the spellings of the differential cases.
for name in ["password", "pa\u017f\u017fword", "PASSWORD", "body", "Body", "FileName", "card_number",
             "card.number", "card number", "Card.Number", "card_number[]", "x-national-id",
             "X_National_ID", "tracking_email", "tracking%5Femail", "\uff45mail", "\u0435mail"]:
    for place in range(7):
        put("names", bytes([place]) + name.encode())

# shapes: <selector byte> + a body or query; the example policies' shaped requests.
for i, text in enumerate([
        '[{"user": {"email": "a", "tags": ["x"]}}, {"q": 1}]',
        '[{"op": "replace", "path": "/user/email", "value": "a"}, {"op": "remove", "path": "/user/tags/0"}]',
        '[{"op": "add", "path": "/user", "value": {"email": "a", "tags": ["b"]}}]',
        '{"email": "a", "tags": ["b"], "n": 1}',
        'user=%7B%22email%22%3A%22a%22%7D&query=%7Bme%7D']):
    for sel in (i, i + 4, i + 8):
        put("shapes", bytes([sel]) + text.encode())
# params: <place byte> + a name or path; the nested, mangled and path spellings of issue 21.
for text in ["user[email]", "user.email", "$.user.email", "[email]", "email]", "]email", "[]email",
             "card[number", "!email", "_email", "[user][email]", "user[][email]", "email[0]",
             "a=1&email=x;email=y", "api/users/42%2Fx", "a/x%2Fb", "a/%2e%2e/b", "a\\x/b", "a/./b"]:
    for place in range(4):
        put("params", bytes([place]) + text.encode())

# receipt_verify: <vector index byte> + every vector's receipt, under each vector's request.
receipts = sorted(glob.glob("docs/vectors/receipts/*.json"))
values = []
for path in receipts:
    v = json.load(open(path))
    values += [h[1] for h in v["request"]["headers"] if h[0].lower() == "x-pii-edge-receipt"]
for i in range(len(receipts)):
    for value in values:
        put("receipt_verify", bytes([i]) + value.encode())

# addon_elf: a real x86_64 ELF with glibc version needs, and its first kilobytes.
for path in ["/bin/true", "/usr/bin/true"]:
    if os.path.exists(path):
        elf = open(path, "rb").read()
        put("addon_elf", elf)
        put("addon_elf", elf[:4096])
        break
put("addon_elf", b"\x7fELF\x02\x01\x01")
# scan_input: the HAR, the events, NDJSON lines of them, and broken documents.
for path in sorted(glob.glob("examples/har/*.har")) + events:
    put("scan_input", open(path, "rb").read())
ndjson = "".join(json.dumps(json.load(open(p))) + "\n" for p in events)
put("scan_input", ndjson)
put("scan_input", '{"method":"POST","url":"https://x/a?email=a%40b.de","headers":[["Cookie","e=a%40b.de"],"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJlbWFpbCI6ImFAYi5kZSJ9.c2ln"],"body":{"iban":"DE89370400440532013000","pesel":"44051401359"}}\n')
put("scan_input", '{\n"log": {"entries": [{"request": {"method": "GET", "url": "/", "postData": {"mimeType": "a", "text": "aGk=", "encoding": "base64"}}}]}}')
put("scan_input", "[\n" + "[" * 300 + "]" * 300 + "]")

for t in sorted(os.listdir(root)):
    print(f"{t}: {len(os.listdir(f'{root}/{t}'))} files")
# jwt_verify: the one valid token of the target and variants of it (other alg, no signature,
# padding, five parts, a JSON header with crit).
valid = open("fuzz/fuzz_targets/jwt_verify.rs").read().split('const VALID: &str = "')[1].split('"')[0]
head, payload, sig = valid.split(".")
b64 = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
for token in [valid, f"{head}.{payload}.", f"{head}={payload}.{sig}", valid + ".x.y",
              b64(b'{"alg":"none"}') + f".{payload}.",
              b64(b'{"alg":"RS256","kid":"rsa"}') + f".{payload}.{sig}",
              b64(b'{"alg":"EdDSA","kid":"fuzz","crit":["b64"],"b64":false}') + f".{payload}.{sig}"]:
    put("jwt_verify", token)

PY
