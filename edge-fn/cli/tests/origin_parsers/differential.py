#!/usr/bin/env python3
"""Differential test of pii-edge against the parsers origins really use (issue 13).

Every request goes through `pii-edge apply --edge` (the CloudFront handler); what the edge would
forward is then sent, over loopback, to real origin frameworks, and each of them is asked what
it reads under every name the policy selects. A plaintext value there is a failure, whatever
the edge's own parser thought. Rejected requests pass (nothing reaches an origin).

Parsers (one view each, named in failures):
  Python  Werkzeug / Flask (request.args, .form, .cookies, .headers, .get_json through a WSGI
          environ), Django (QueryDict on the query and the form, parse_cookie, META HTTP_*),
          http.cookies.SimpleCookie, json.loads
  Node    express 5 (query parser 'extended' = qs, urlencoded extended, json), qs.parse, cookie
  PHP     $_GET, $_POST, $_COOKIE, $_REQUEST, parse_str, $_SERVER HTTP_*, json_decode (php -S)
  Go      net/url ParseQuery (query and form), net/http cookies and headers, encoding/json into
          a struct tagged with the selected member names (Go folds Unicode case there)
  Apollo  @apollo/server 4 with allowBatchedHttpRequests: the variables and document of every
          operation its HTTP layer reads (batches, GET variables)
  Ruby    Rails: ActionDispatch::Request#parameters (query, form and JSON merged, nested
          brackets), the members ParamsWrapper would wrap, Rack 2 parse_nested_query, cookies
  Java    Spring (spring-web 4.3 on an embedded Tomcat 9): the servlet parameter map (query and
          form merged, PUT/PATCH forms through HttpPutFormContentFilter), ServletRequestDataBinder
          on beans and maps shaped by the policy's names (`!` defaults, `_` markers, `a.b`,
          `a[b]`, `a[0].b`), UriComponentsBuilder's query, Tomcat's cookies and headers

A rule names a *parameter* (docs/policy.md, "Parameters"): a query or form rule's name is looked
up in every source those frameworks merge (query, form, JSON body, cookies, Rails params), and a
JSON rule's path in the nested views of the query and the form (qs, Rack, PHP) and in Rails'
merged and wrapped params.

Requests: the handed differential cases (edge-fn/cli/tests/differentials), the example policies'
test cases (policies/*.tests), and generated spellings (a seeded random property test: for
random selected names of the example policies, the spellings the parsers above fold together).

Usage: differential.py PII_EDGE_BINARY WORKDIR   (WORKDIR holds node_modules and the Go binary)
Environment: PII_DIFF_SEED (default 13), PII_DIFF_CASES (generated requests, default 240).
Ends with 'N passed, N failed'; exits 1 when any failed.
"""
import base64
import http.client
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

import yaml
from http.cookies import SimpleCookie

import django
from django.conf import settings

settings.configure(DEFAULT_CHARSET="utf-8", USE_TZ=True)
django.setup()
from django.http import QueryDict  # noqa: E402
from django.http.cookie import parse_cookie  # noqa: E402
from werkzeug.test import EnvironBuilder  # noqa: E402
from werkzeug.wrappers import Request as WerkzeugRequest  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))


# ---- origin servers -------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, name):
    for _ in range(600):  # the JVM takes a few seconds on a loaded machine
        if proc.poll() is not None:
            sys.exit(f"{name} origin exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{name} origin did not start on port {port}")


def start_servers(work):
    servers = {}
    port = free_port()
    env = dict(os.environ, NODE_PATH=os.path.join(work, "node_modules"))
    p = subprocess.Popen(["node", os.path.join(HERE, "server.js"), str(port)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    servers["node"] = (port, p)
    port = free_port()
    p = subprocess.Popen(["php", "-S", f"127.0.0.1:{port}", os.path.join(HERE, "router.php")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    servers["php"] = (port, p)
    port = free_port()
    p = subprocess.Popen(["ruby", os.path.join(HERE, "rails.rb"), str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    servers["rails"] = (port, p)
    port = free_port()
    p = subprocess.Popen(["java", "-cp", open(os.path.join(work, "spring", "classpath")).read().strip(),
                          "SpringOrigin", str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    servers["spring"] = (port, p)
    port = free_port()
    p = subprocess.Popen([os.path.join(work, "goparse"), str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    servers["go"] = (port, p)
    for name, (port, p) in servers.items():
        wait_port(port, p, name)
    return servers


def ask(port, fwd, paths, names):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    target = fwd["uri"] + ("?" + fwd["query"] if fwd["query"] else "")
    # What a client library sends for raw non-ASCII bytes in a URL.
    target = urllib.parse.quote(target, safe="".join(map(chr, range(33, 127))))
    conn.putrequest(fwd["method"], target, skip_host=True, skip_accept_encoding=True)
    for name, value in fwd["headers"]:
        if name.lower() in ("content-length", "transfer-encoding", "connection"):
            continue
        conn.putheader(name, value)
    if not any(name.lower() == "host" for name, _ in fwd["headers"]):
        # CloudFront always sends one (HTTP/1.1 servers such as Tomcat refuse a request
        # without it, which would read nothing).
        conn.putheader("Host", "origin.example")
    conn.putheader("X-Diff-Paths", json.dumps(paths))
    conn.putheader("X-Diff-Names", json.dumps(names))
    conn.putheader("Content-Length", str(len(fwd["body"])))
    conn.endheaders(fwd["body"])
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    try:
        return json.loads(data)
    except ValueError:
        return {}


# ---- the views of every parser ---------------------------------------------------------------

def python_views(fwd):
    builder = EnvironBuilder(method=fwd["method"], path=urllib.parse.unquote(fwd["uri"]),
                             query_string=fwd["query"], data=fwd["body"])
    env = builder.get_environ()
    for name, value in fwd["headers"]:
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
            continue  # CloudFront sends the length of the body it forwards
        if key == "CONTENT_TYPE":
            env[key] = value
        else:
            # What a WSGI server does (PEP 3333): HTTP_ + upper case, `-` -> `_`; the last one
            # of two spellings wins, as in serverless-wsgi.
            env["HTTP_" + key] = value
    req = WerkzeugRequest(env)
    ct = env.get("CONTENT_TYPE", "").lower()
    views = {
        "werkzeug-args": {k: req.args.getlist(k) for k in req.args.keys()},
        "werkzeug-form": {k: req.form.getlist(k) for k in req.form.keys()},
        "werkzeug-cookies": {k: req.cookies.getlist(k) for k in req.cookies.keys()},
        "werkzeug-headers": {k.lower(): v for k, v in req.headers.items()},
        "django-query": {k: QueryDict(fwd["query"]).getlist(k) for k in QueryDict(fwd["query"]).keys()},
        "django-meta": {k: v for k, v in env.items() if k.startswith("HTTP_")},
    }
    if "json" in ct:
        try:
            views["python-json"] = json.loads(fwd["body"])
        except ValueError:
            pass
        views["werkzeug-json"] = req.get_json(silent=True)
    elif fwd["body"]:
        try:
            qd = QueryDict(fwd["body"])
            views["django-form"] = {k: qd.getlist(k) for k in qd.keys()}
        except Exception as e:  # Django refuses some bodies outright: nothing read
            views["django-form"] = {"__error__": [type(e).__name__]}
    cookies_header = [v for n, v in fwd["headers"] if n.lower() == "cookie"]
    simple = {}
    dj = {}
    for h in cookies_header:
        c = SimpleCookie()
        try:
            c.load(h)
        except Exception:
            pass
        simple.update({k: m.value for k, m in c.items()})
        dj.update(parse_cookie(h))
    views["python-simplecookie"] = simple
    views["django-cookies"] = dj
    return views


def all_views(fwd, servers, paths, names):
    views = python_views(fwd)
    for name, (port, _) in servers.items():
        try:
            views.update(ask(port, fwd, paths, names))
        except (OSError, http.client.HTTPException) as e:
            # The server refused the request outright: that origin reads nothing from it.
            views[name + "-refused"] = type(e).__name__
    return views


def param_names(policy):
    """The query and form rules' names, one-segment paths (Spring's binder binds them to bean
    properties of those names)."""
    return [[r["select"].get("form") or r["select"]["query"]] for r in policy["rules"]
            if "form" in r["select"] or "query" in r["select"]]


# ---- what the policy selects ----------------------------------------------------------------

def split_path(text):
    """A JSONPath as a list of ('name', n) / ('any',) / ('desc', n) steps; filters, slices and
    indexes read as 'any' (a superset: every value the rule could select)."""
    steps, i = [], 1
    while i < len(text):
        if text.startswith("..", i):
            m = re.match(r"\.\.(?:\['([^']*)'\]|([\w$]+))", text[i:])
            if not m:
                return None
            steps.append(("desc", m.group(1) or m.group(2)))
            i += m.end()
        elif text[i] == ".":
            m = re.match(r"\.(\*|[\w$]+)", text[i:])
            if not m:
                return None
            steps.append(("any",) if m.group(1) == "*" else ("name", m.group(1)))
            i += m.end()
        elif text[i] == "[":
            depth, j = 0, i
            while j < len(text):
                depth += text[j] == "["
                depth -= text[j] == "]"
                j += 1
                if depth == 0:
                    break
            inner = text[i + 1:j - 1]
            m = re.fullmatch(r"'([^']*)'|\"([^\"]*)\"", inner)
            steps.append(("name", m.group(1) if m.group(1) is not None else m.group(2)) if m else ("any",))
            i = j
        else:
            return None
    return steps


def select(doc, steps):
    cur = [doc]
    for step in steps:
        nxt = []
        for v in cur:
            if step[0] == "name" and isinstance(v, dict) and step[1] in v:
                nxt.append(v[step[1]])
            elif step[0] == "any":
                nxt.extend(v.values() if isinstance(v, dict) else v if isinstance(v, list) else [])
            elif step[0] == "desc":
                stack = [v]
                while stack:
                    x = stack.pop()
                    if isinstance(x, dict):
                        nxt.extend(val for k, val in x.items() if k == step[1])
                        stack.extend(x.values())
                    elif isinstance(x, list):
                        stack.extend(x)
        cur = nxt
    return cur


def go_paths(policy):
    """Member-name paths for Go's tagged struct: `*` for arrays; a `..name` rule becomes a field
    at the top and beside every other path's members."""
    out, desc = [], []
    for rule in policy["rules"]:
        steps = split_path(rule["select"].get("json", "")) if "json" in rule["select"] else None
        if not steps:
            continue
        names = []
        for s in steps:
            if s[0] == "desc":
                desc.append(s[1])
                break
            names.append("*" if s[0] == "any" else s[1])
        else:
            out.append(names)
    for d in desc:
        out.append([d])
        for p in list(out):
            for k in range(len(p)):
                out.append(p[:k] + [d])
    return out


def strings(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for x in v.values():
            yield from strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from strings(x)
    elif v is not None:
        yield json.dumps(v)


def lookup(view, name, fold=False):
    """Values a view holds under `name` (exactly, or ignoring case for header maps)."""
    if not isinstance(view, dict):
        return []
    if fold:
        return [v for k, v in view.items() if k.lower() == name.lower()]
    return [view[name]] if name in view else []


def seen_plaintext(policy, views, secrets):
    """(view, name) pairs where a parser reads a secret under a selected name."""
    found = []

    def check(view, name, values):
        for v in values:
            for s in strings(v):
                for secret in secrets:
                    if secret and (secret in s or secret in urllib.parse.unquote_plus(s)):
                        found.append(f"{view} reads plaintext under {name!r}")
                        return

    query_views = ["werkzeug-args", "django-query", "node-express-query", "node-qs-query",
                   "php-get", "php-parse-str", "php-request", "go-url-query", "rack-query",
                   "spring-params", "spring-uri-query"]
    form_views = ["werkzeug-form", "django-form", "node-express-urlencoded", "php-post",
                  "php-request", "go-url-form", "spring-params"]
    json_views = ["python-json", "werkzeug-json", "node-express-json", "php-json", "go-json-struct"]
    cookie_views = ["werkzeug-cookies", "django-cookies", "python-simplecookie", "node-cookie",
                    "php-cookie", "go-cookies", "rack-cookies", "spring-cookies"]
    merged_views = ["rails-params", "rails-wrapped"]
    bound_views = ["spring-bound", "spring-bound-map"]
    for rule in policy["rules"]:
        sel = rule["select"]
        sources = rule.get("sources") or ["query", "form", "json", "cookie"]
        if "form" in sel or "query" in sel:
            n = sel.get("form") or sel.get("query")
            # A parameter: every source a framework merges (unless the rule narrows them).
            names = merged_views[:1] + bound_views
            names += query_views if "query" in sources and rule.get("alsoQuery", True) else []
            names += form_views if "form" in sources else []
            names += json_views if "json" in sources else []
            names += cookie_views if "cookie" in sources else []
            for v in names:
                check(v, n, lookup(views.get(v), n))
        elif "cookie" in sel:
            n = sel["cookie"]
            for v in ["werkzeug-cookies", "django-cookies", "python-simplecookie", "node-cookie",
                      "php-cookie", "go-cookies", "spring-cookies"]:
                check(v, n, lookup(views.get(v), n))
        elif "header" in sel:
            n = sel["header"]
            check("werkzeug-headers", n, lookup(views.get("werkzeug-headers"), n, fold=True))
            check("django-meta", n, lookup(views.get("django-meta"), "HTTP_" + n.upper().replace("-", "_")))
            check("php-server", n, lookup(views.get("php-server"), "HTTP_" + n.upper().replace("-", "_")))
            check("node-headers", n, lookup(views.get("node-headers"), n, fold=True))
            check("go-headers", n, lookup(views.get("go-headers"), n, fold=True))
            check("spring-headers", n, lookup(views.get("spring-headers"), n, fold=True))
        elif "json" in sel:
            steps = split_path(sel["json"])
            if steps is None:
                continue
            # Apollo: every operation it read (a batch's elements, GET's `variables`), as the
            # JSON body of one request; and a secret in the document text is an argument a
            # resolver receives as a literal.
            for op in views.get("apollo-operations") or [] if isinstance(views.get("apollo-operations"), list) else []:
                check("apollo-operation", sel["json"], select(op, steps))
                check("apollo-document", sel["json"], [op.get("query") or ""])
            nested = json_views + merged_views + bound_views
            nested += query_views if "query" in sources else []
            nested += form_views if "form" in sources else []
            for v in nested:
                if views.get(v) is not None:
                    check(v, sel["json"], select(views[v], steps))
    return found


# ---- running a request through the edge ------------------------------------------------------

class Edge:
    def __init__(self, cli, keys):
        self.cli, self.keys = cli, keys

    def forward(self, policy_file, event):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(event, f)
        try:
            p = subprocess.run([self.cli, "apply", "--policy", policy_file, "--event", f.name,
                                "--keys", os.path.join(self.keys, "public.jwks"),
                                "--tokens", os.path.join(self.keys, "tokens.jwks"), "--edge"],
                               capture_output=True, text=True)
        finally:
            os.unlink(f.name)
        out = json.loads(p.stdout)
        if "status" in out:
            return int(out["status"]), None, p.stderr
        body = b""
        if out.get("body") and out["body"].get("data"):
            b = out["body"]
            body = base64.b64decode(b["data"]) if b.get("encoding") == "base64" else b["data"].encode()
        headers = [(h.get("key") or name, h["value"]) for name, vals in out.get("headers", {}).items()
                   for h in vals]
        return 200, {"method": out["method"], "uri": out["uri"], "query": out.get("querystring", ""),
                     "headers": headers, "body": body}, p.stderr


def event_of(method, uri, query, headers, body):
    hs = {}
    for name, value in headers:
        hs.setdefault(name.lower(), []).append({"key": name, "value": value})
    req = {"clientIp": "203.0.113.9", "method": method, "uri": uri, "querystring": query, "headers": hs}
    if body is not None:
        req["body"] = {"inputTruncated": False, "action": "read-only", "encoding": "base64",
                       "data": base64.b64encode(body).decode()}
    return {"Records": [{"cf": {"config": {"distributionId": "EDIFF", "eventType": "viewer-request",
                                           "requestId": "diff"}, "request": req}}]}


# ---- request sources --------------------------------------------------------------------------

def handed_cases():
    base = os.path.join(ROOT, "edge-fn", "cli", "tests", "differentials")
    for case in sorted(os.listdir(base)):
        d = os.path.join(base, case)
        if not os.path.isfile(os.path.join(d, "case.json")):
            continue
        meta = json.load(open(os.path.join(d, "case.json")))
        for ev in meta["events"]:
            policy = (meta.get("policy") or {}).get(ev, "policy.yaml")
            yield (f"handed {case}/{ev}", os.path.join(d, policy),
                   json.load(open(os.path.join(d, ev))), meta["secrets"].get(ev, []))


def example_cases():
    pol = os.path.join(ROOT, "policies")
    for f in sorted(os.listdir(pol)):
        if not f.endswith(".tests"):
            continue
        policy_file = os.path.join(pol, f[:-len(".tests")] + ".yaml")
        for t in sorted(os.listdir(os.path.join(pol, f))):
            spec = yaml.safe_load(open(os.path.join(pol, f, t)))
            secrets = [s for s in (spec.get("expect") or {}).get("absent", []) if not s.endswith("=")]
            if "event" in spec:
                event = json.load(open(os.path.join(pol, f, spec["event"])))
            else:
                r = spec["request"]
                hs = r.get("headers") or {}
                headers = [tuple(h) for h in hs] if isinstance(hs, list) else [
                    (k, x) for k, v in hs.items() for x in (v if isinstance(v, list) else [v])]
                body = r.get("body")
                if isinstance(body, (dict, list)):
                    body = json.dumps(body)
                query = r.get("query", "")
                path = r.get("path", "/")
                if "?" in path:
                    path, query = path.split("?", 1)
                event = event_of(r.get("method", "GET"), path, query, headers,
                                 None if body is None else body.encode())
            yield (f"example {f}/{t}", policy_file, event, secrets)


# Spellings the parsers above fold together (each one is read as the name by at least one).
def name_spellings(name, rng):
    out = {name.upper(), name.title().replace("_", ""), name + "[]", name + "[0]", " " + name,
           name + "%00x", "".join("%%%02X" % ord(c) if rng.random() < 0.3 and c.isalpha() else c for c in name)}
    # Nested and mangled (issue 21): qs / Rack 2 leading and stray brackets, Spring's `!`.
    out |= {f"%5B{name}%5D", f"{name}%5D", f"%5D{name}", f"%5B%5D{name}", f"!{name}",
            f"{name}%5Bx%5D"}
    if "_" in name:
        out |= {name.replace("_", "."), name.replace("_", "+"), name.replace("_", "%20"), name.replace("_", "-"),
                name.replace("_", "%5B", 1)}
    if "-" in name:
        out |= {name.replace("-", "_"), name.upper().replace("-", "_")}
    if "s" in name:
        out.add(name.replace("s", "\u017f", 1))
    if "k" in name:
        out.add(name.replace("k", "\u212a", 1))
    i = rng.randrange(len(name))
    if name[i].isalpha():
        out.add(name[:i] + "%%u%04X" % ord(name[i]) + name[i + 1:])
        out.add(name[:i] + chr(ord(name[i].lower()) - ord("a") + 0xFF41) + name[i + 1:]
                if name[i].isascii() and name[i].islower() else name)
    return sorted(out)


def json_spellings(name, rng):
    out = {name.upper(), name[0].upper() + name[1:]}
    if "s" in name:
        out.add(name.replace("s", "\u017f"))
    if "k" in name:
        out.add(name.replace("k", "\u212a"))
    return sorted(s for s in out if s != name)


def generated_cases(rng, count):
    pol = os.path.join(ROOT, "policies")
    policies = []
    for f in sorted(os.listdir(pol)):
        if f.endswith(".yaml"):
            spec = yaml.safe_load(open(os.path.join(pol, f)))
            policies.append((os.path.join(pol, f), spec))
    for n in range(count):
        policy_file, spec = rng.choice(policies)
        rule = rng.choice(spec["rules"])
        sel = rule["select"]
        m = spec.get("match", {})
        method = (m.get("methods") or ["POST"])[0]
        uri = (m.get("paths") or ["/"])[0].replace("/**", "").replace("/*", "/42")
        secret = f"PLAIN{n:04d}x{rng.randrange(10**6)}"
        query, headers, body = "", [], None
        kind = next(iter(sel))
        value = urllib.parse.quote(secret)
        if kind in ("form", "query"):
            spelled = rng.choice(name_spellings(sel[kind], rng))
            piece = f"{spelled}={value}"
            where = rng.choice(["query", "body", "json", "cookie"])
            if where == "query":
                query = rng.choice([piece, f"a=1&{piece}", f"a=1;{piece}"])
            elif where == "body":
                body = piece.encode()
                headers.append(("Content-Type", "application/x-www-form-urlencoded"))
            elif where == "json":
                body = json.dumps({sel[kind]: secret}).encode()
                headers.append(("Content-Type", "application/json"))
            else:
                headers.append(("Cookie", f"a=1; {piece}"))
        elif kind == "header":
            # Header names are tokens (RFC 9110): CloudFront refuses anything else.
            tokens = [n for n in name_spellings(sel[kind], rng)
                      if re.fullmatch(r"[!#$&'*+.^_`|~0-9A-Za-z-]+", n)]
            headers.append((rng.choice(tokens), secret))
        elif kind == "cookie":
            name = sel[kind]
            spelled = rng.choice([name, name.upper(), name.replace("_", "."), name.replace("_", "%5F")])
            headers.append(("Cookie", rng.choice([
                f"$Version=1; session=abc, {spelled}={value}",
                f"session=abc {spelled}={value}",
                f"session=abc;{spelled}={value}",
                f"{spelled} = {value}"])))
        else:
            steps = split_path(sel["json"])
            # A path ending in a filter selects elements by their content, which a plain
            # spelled document does not model; its names are spelled through the other rules.
            ends_in_filter = re.search(r"\[\?[^\]]*\]$", sel["json"]) is not None
            if not steps or ends_in_filter or not any(s[0] in ("name", "desc") for s in steps):
                continue
            names = [s[1] for s in steps if s[0] != "any"]
            if (rng.random() < 0.3 and steps[0][0] == "name"
                    and all(s[0] in ("name", "any") for s in steps)):
                # The path as a bracketed or dotted name in the query (Rails, PHP, qs merge it;
                # Spring's binder reads `a.b`, `a[b]` and `a[0].b` property paths).
                spring = names[0] + "".join("[0]" if s[0] == "any" else "." + s[1] for s in steps[1:])
                options = [spring]
                if all(s[0] == "name" for s in steps):
                    options += [names[0] + "".join(f"[{k}]" for k in names[1:]),
                                ".".join(names), "[" + "][".join(names) + "]"]
                spelled = rng.choice(options)
                query = urllib.parse.quote(spelled, safe="") + "=" + value
                event = event_of(method, uri, query, headers, None)
                yield (f"generated #{n} (json {sel['json']!r} as query {spelled!r})", policy_file,
                       event, [secret])
                continue
            doc = secret
            for s in reversed(steps):
                if s[0] == "any":
                    doc = [doc]
                else:
                    k = s[1]
                    if rng.random() < 0.7:
                        k = rng.choice(json_spellings(k, rng) or [k])
                    doc = {k: doc}
            body = json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode()
            headers.append(("Content-Type", "application/json"))
        if body is not None:
            headers.append(("Content-Length", str(len(body))))
        event = event_of(method, uri, query, headers, body)
        yield (f"generated #{n} ({kind} {sel[kind]!r})", policy_file, event, [secret])


def main():
    cli, work = sys.argv[1], sys.argv[2]
    seed = int(os.environ.get("PII_DIFF_SEED", "13"))
    count = int(os.environ.get("PII_DIFF_CASES", "240"))
    rng = random.Random(seed)
    servers = start_servers(work)
    ok = bad = rejected = 0
    try:
        with tempfile.TemporaryDirectory() as keys:
            subprocess.run([cli, "keygen", "--zone", "eu-central", "--region", "eu-central-1",
                            "--out", keys], check=True, capture_output=True)
            subprocess.run([cli, "keygen", "--token-domain", "email", "--token-domain", "patient",
                            "--out", keys], check=True, capture_output=True)
            edge = Edge(cli, keys)
            sources = list(handed_cases()) + list(example_cases()) + list(generated_cases(rng, count))
            for label, policy_file, event, secrets in sources:
                policy = yaml.safe_load(open(policy_file))
                status, fwd, log = edge.forward(policy_file, event)
                # Word boundaries: the log's own field names ("Microseconds") are not a leak.
                problems = [f"log line holds plaintext {s!r}" for s in secrets
                            if s and re.search(r"(?<![A-Za-z])" + re.escape(s) + r"(?![A-Za-z])", log)]
                if fwd is None:
                    rejected += 1
                else:
                    views = all_views(fwd, servers, go_paths(policy), param_names(policy))
                    problems += seen_plaintext(policy, views, secrets)
                if problems:
                    bad += 1
                    print(f"FAIL {label}: " + "; ".join(sorted(set(problems))))
                else:
                    ok += 1
    finally:
        for _, p in servers.values():
            p.terminate()
    print(f"seed {seed}: {len(sources)} requests, {rejected} rejected by the edge, "
          f"{len(sources) - rejected} forwarded and read by every parser")
    print(f"{ok} passed, {bad} failed")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
