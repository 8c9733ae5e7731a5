#!/usr/bin/env python3
# Install: pip install -r scripts/requirements.txt  (pyhpke==0.6.5, cryptography>=42)
"""Open, from the spec alone, every envelope that `pii-edge apply` produces from the examples.

For every example event (examples/events/*.json, and docs/interop/cli/events/*.json) and every
policy (policies/*.yaml, and docs/interop/cli/policies/*.yaml, which encrypts the location
kinds the example policies do not, cookies among them) that matches it, this runs
`pii-edge apply --event E --policy P` and `pii-edge apply --event E --policy P --edge` with the
demo keys (examples/keys/public.jwks, tokens.jwks), then in the output:

  1. finds every envelope (`is_envelope`, docs/envelope.md §4.4) in the JSON body, the query
     string, a form body, the headers and the cookies, and inside the JSON text of a query
     parameter or form field the policy declares (`shape.jsonParams`, §3.1);
  2. computes the location where it was found from the rules of §5.2 and the grammar of §3.2
     (not from the CLI's report);
  3. opens it with examples/keys/private.jwks (the opener of open_vectors.py, with the
     hand-written RFC 9180 key schedule and, for every other envelope, pyhpke), insisting on
     that location, the policy's name and its zone (`open_expecting`, §6);
  4. checks the plaintext against the value at that location in the original event (the
     decoded value for query and form, the raw value for headers and cookies, the JSON value
     for a JSON body), and that it found as many envelopes as the CLI reports encrypted values.

It does the same (without --edge) for the request of every test case of the example policies
(policies/*.tests/*.yaml) that the policy protects.

It prints a count per location kind and fails if anything did not open or check out, or if a
location kind (json, header, query, form, cookie) has no envelope at all.

Usage: python3 docs/interop/open_cli_output.py [--pii-edge PATH]
(default: $PII_EDGE, else $CARGO_TARGET_DIR/debug/pii-edge, else target/debug/pii-edge)
"""

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from open_vectors import (  # noqa: E402  (the spec-only opener)
    OpenError,
    field_location,
    is_envelope,
    json_location,
    open_envelope,
    pyhpke_open_base,
    spec_open_base,
)

ROOT = Path(__file__).resolve().parent.parent.parent
KINDS = ("json", "header", "query", "form", "cookie")


# --- Reading a request: docs/envelope.md §5.2 ------------------------------------------------


def form_decode(text: str) -> bytes:
    """application/x-www-form-urlencoded decoding: + is a space, %HH a byte, any other % kept."""
    raw = text.encode("utf-8")
    out = bytearray()
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == ord("%") and re.fullmatch(rb"[0-9A-Fa-f]{2}", raw[i + 1 : i + 3]):
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 3
            continue
        out.append(ord(" ") if c == ord("+") else c)
        i += 1
    return bytes(out)


def params(part: str, text: str):
    """(location, value bytes) of every piece of a query string or form body."""
    seen = Counter()
    for piece in text.split("&"):
        name, _, value = piece.partition("=")
        name = form_decode(name)
        if not name:
            continue
        lower = name.lower()
        index = seen[lower]
        seen[lower] += 1
        try:
            lower.decode("utf-8")
        except UnicodeDecodeError:
            continue  # not a location: no envelope can be bound here
        yield field_location(part, lower, index), form_decode(value)


def header_values(headers):
    """(location, value bytes) of every header value, and of every cookie."""
    seen = Counter()
    cookies = Counter()
    for name, value in headers:
        lower = name.lower()
        yield field_location("header", lower, seen[lower]), value.encode("utf-8")
        seen[lower] += 1
        if lower != "cookie":
            continue
        for cname, cvalue in cookie_pieces(value):
            cname = cname.lower()
            yield field_location("cookie", cname, cookies[cname]), cvalue.encode("utf-8")
            cookies[cname] += 1


def cookie_pieces(header):
    """(name, raw value) of every cookie of a Cookie header, split as envelope.md §5.2 says:
    at `;` and `,`, then within a segment at the white space after each value."""
    for segment in re.split("[;,]", header):
        rest = segment
        while True:
            rest = rest.lstrip()
            if not rest:
                break
            if "=" not in rest:
                yield rest.rstrip(), ""
                break
            name, after = rest.split("=", 1)
            after = after.lstrip()
            m = re.search(r"\s", after)
            end = m.start() if m else len(after)
            yield name.strip(), after[:end]
            rest = after[end:]


def json_values(doc, path=()):
    """(location, value) of every value of a JSON document, the root included."""
    yield json_location(path), doc
    if isinstance(doc, dict):
        for name, value in doc.items():
            yield from json_values(value, path + (name,))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from json_values(value, path + (i,))


def media_type(headers) -> str:
    for name, value in headers:
        if name.lower() == "content-type":
            return value.split(";")[0].strip().lower()
    return ""


def json_text_values(part: str, text: str, json_params):
    """§3.1 "Values inside JSON text": the values inside the JSON text of a declared JSON
    parameter `N`, located as in the body {"N": V}."""
    for location, value in params(part, text):
        name = location.split(":", 1)[1].split("#", 1)[0]
        declared = next((n for n in json_params if n.lower() == name), None)
        if declared is None:
            continue
        try:
            doc = json.loads(value)
        except ValueError:
            continue
        yield from json_values(doc, (declared,))


def values(req, json_params=()) -> dict:
    """Every value of a request by its location (text form): bytes for fields, the parsed
    JSON value for a JSON body and inside the JSON text of a declared JSON parameter."""
    out = {}
    out.update(params("query", req["query"]))
    out.update(json_text_values("query", req["query"], json_params))
    out.update(header_values(req["headers"]))
    mt = media_type(req["headers"])
    if mt == "application/x-www-form-urlencoded":
        form = req["body"].decode("utf-8", "replace")
        out.update(params("form", form))
        out.update(json_text_values("form", form, json_params))
    elif req["body"].strip() and (mt == "application/json" or mt.endswith("+json")):
        try:
            out.update(json_values(json.loads(req["body"])))
        except ValueError:
            pass
    return out


def from_cloudfront(r: dict) -> dict:
    headers = [(e.get("key") or name, e["value"]) for name, entries in r.get("headers", {}).items() for e in entries]
    body = r.get("body") or {}
    data = body.get("data", "") or ""
    raw = base64.b64decode(data) if body.get("encoding") == "base64" else data.encode("utf-8")
    return {"query": r.get("querystring", ""), "headers": headers, "body": raw}


def from_cli(r: dict) -> dict:
    headers = [tuple(h.split(": ", 1)) for h in r["headers"]]
    if r.get("bodyBase64") is not None or r.get("body_base64") is not None:
        raw = base64.b64decode(r.get("bodyBase64") or r.get("body_base64"))
    else:
        raw = (r.get("body") or "").encode("utf-8")
    return {"query": r["query"], "headers": headers, "body": raw}


def from_case(r: dict) -> dict:
    """A policy test case's `request:` (policies/*.tests/*.yaml): headers a map (one value or a
    list) or a list of [name, value] pairs."""
    h = r.get("headers") or {}
    pairs = []
    if isinstance(h, dict):
        for name, value in h.items():
            for v in value if isinstance(value, list) else [value]:
                pairs.append((str(name), str(v)))
    else:
        pairs = [(str(n), str(v)) for n, v in h]
    if r.get("bodyBase64") is not None:
        raw = base64.b64decode(r["bodyBase64"])
    else:
        raw = (r.get("body") or "").encode("utf-8")
    return {"query": r.get("query", ""), "headers": pairs, "body": raw}


def json_params_of(path: Path):
    """The policy's declared JSON parameters (`shape.jsonParams`, docs/policy.md)."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return tuple((doc.get("shape") or {}).get("jsonParams") or ())


def policy_binding(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    name = re.search(r"^name:\s*(\S+)", text, re.M)
    zone = re.search(r"^zone:\s*(\S+)", text, re.M)
    return {"policy": name.group(1) if name else None, "zone": zone.group(1) if zone else None}


# --- The run -------------------------------------------------------------------------------


def run(pii_edge: str, event: Path, policy: Path, edge: bool, source: str = "--event"):
    keys = ROOT / "examples/keys"
    cmd = [pii_edge, "apply", "--policy", str(policy), source, str(event), "--keys", str(keys / "public.jwks")]
    if (keys / "tokens.jwks").exists():
        cmd += ["--tokens", str(keys / "tokens.jwks")]
    if edge:
        cmd.append("--edge")
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {done.returncode}: {done.stderr.strip()[:300]}")
    return json.loads(done.stdout)


def check_output(req, original, expected, private, use_pyhpke, where, counts, problems, json_params=()) -> int:
    """Open every envelope of `req`; returns how many were found."""
    found = 0
    for location, value in values(req, json_params).items():
        if isinstance(value, bytes):
            text = value.decode("utf-8", "replace")
        elif isinstance(value, str):
            text = value
        else:
            continue
        if not is_envelope(text):
            continue
        found += 1
        kind_of_location = location.split(":", 1)[0]
        unwrap = pyhpke_open_base if use_pyhpke[0] else spec_open_base
        use_pyhpke[0] = not use_pyhpke[0]
        want = dict(expected, location=location)
        if want["zone"] is None:
            want["zone"] = "eu-central"
        try:
            kind, plaintext, binding = open_envelope(text, private, unwrap, want)
        except OpenError as e:
            problems.append(f"{where}: {location}: {e}")
            continue
        if kind == "text":
            value = plaintext
        else:
            try:
                value = json.loads(plaintext)
            except ValueError:
                value = object()  # matches nothing
        ok = original.get(location) == value
        if not ok and kind_of_location == "json":
            # The location is where the value is in the forwarded body (docs/envelope.md §5.2):
            # after an array element removed by another rule, later indexes are one less than
            # in the event. Accept the value from the same names at other indexes.
            shape = re.sub(r"\[[0-9]+\]", "[*]", location)
            ok = any(re.sub(r"\[[0-9]+\]", "[*]", at) == shape and v == value for at, v in original.items())
        if not ok:
            problems.append(f"{where}: {location}: opened to another value than the event held there")
            continue
        counts[kind_of_location] += 1
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    ap.add_argument("--pii-edge", default=os.environ.get("PII_EDGE", str(target / "debug/pii-edge")))
    args = ap.parse_args()

    private = json.loads((ROOT / "examples/keys/private.jwks").read_text())["keys"]
    events = sorted((ROOT / "examples/events").glob("*.json")) + sorted((ROOT / "docs/interop/cli/events").glob("*.json"))
    policies = sorted((ROOT / "policies").glob("*.yaml")) + sorted((ROOT / "docs/interop/cli/policies").glob("*.yaml"))
    counts = Counter()
    problems = []
    runs = 0
    use_pyhpke = [False]
    for event in events:
        original = values(from_cloudfront(json.loads(event.read_text())["Records"][0]["cf"]["request"]))
        for policy in policies:
            expected = policy_binding(policy)
            try:
                out = run(args.pii_edge, event, policy, edge=False)
            except RuntimeError as e:
                problems.append(str(e))
                continue
            if out.get("outcome") != "protected":
                continue
            runs += 1
            where = f"{event.name} + {policy.name}"
            encrypted = sum(1 for f in out.get("fields", []) if f.get("action") == "encrypt" and not f.get("removed"))
            found = check_output(from_cli(out["request"]), original, expected, private, use_pyhpke, where, counts, problems)
            if found != encrypted:
                problems.append(f"{where}: found {found} envelopes, the CLI reports {encrypted} encrypted values")
            try:
                edge_out = run(args.pii_edge, event, policy, edge=True)
            except RuntimeError as e:
                problems.append(str(e))
                continue
            if "status" in edge_out:
                problems.append(f"{where} --edge: answered {edge_out['status']}, apply said protected")
                continue
            found_edge = check_output(from_cloudfront(edge_out), original, expected, private, use_pyhpke, where + " --edge", counts, problems)
            if found_edge != encrypted:
                problems.append(f"{where} --edge: found {found_edge} envelopes, apply reports {encrypted}")
    # The requests of the example policies' test cases, with their policy (no --edge: a test
    # case is a request, not a CloudFront event).
    cases = 0
    for case in sorted((ROOT / "policies").glob("*.tests/*.yaml")):
        doc = yaml.safe_load(case.read_text(encoding="utf-8"))
        policy = case.parent.parent / (case.parent.name[: -len(".tests")] + ".yaml")
        if not isinstance(doc, dict) or "request" not in doc or not policy.exists():
            continue
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(doc["request"], f)
        try:
            out = run(args.pii_edge, Path(f.name), policy, edge=False, source="--request")
        except RuntimeError as e:
            problems.append(str(e))
            continue
        finally:
            os.unlink(f.name)
        if out.get("outcome") != "protected":
            continue
        cases += 1
        where = f"{case.parent.name}/{case.name}"
        before = from_case(doc["request"])
        after = from_cli(out["request"])
        if not media_type(before["headers"]):
            before["headers"] += [h for h in after["headers"] if h[0].lower() == "content-type"]
        encrypted = sum(1 for f in out.get("fields", []) if f.get("action") == "encrypt" and not f.get("removed"))
        declared = json_params_of(policy)
        found = check_output(after, values(before, declared), policy_binding(policy), private, use_pyhpke, where,
                             counts, problems, declared)
        if found != encrypted:
            problems.append(f"{where}: found {found} envelopes, the CLI reports {encrypted} encrypted values")
    for p in problems:
        print(f"FAIL {p}")
    print(f"{runs} protected (event, policy) pairs, each with and without --edge; {cases} protected policy test cases")
    for kind in KINDS:
        print(f"  {kind:7} {counts[kind]:4} envelopes opened at the location computed from the spec")
    missing = [k for k in KINDS if counts[k] == 0]
    if missing:
        print(f"FAIL no envelope opened for: {', '.join(missing)}")
    total = sum(counts.values())
    print(f"{total} opened, {len(problems)} failed")
    return 1 if problems or missing else 0


if __name__ == "__main__":
    sys.exit(main())
