"""The Python figures of the origin-package benchmark (run.sh): `PrivateKeyring.reveal` of the
pii-edge wheel on a protected request, and the pure-Python opener of docs/interop/ (pyhpke)
opening the same envelopes. Same timing method as the Rust and Node.js figures: median over 15
rounds of at least 20 ms, microseconds per reveal. Prints one JSON line per implementation.

Usage: python bench_reveal.py REQUEST_JSON PRIVATE_JWKS
"""

import json
import sys
import time
from pathlib import Path

import pii_edge


def median_us(fn):
    rounds = []
    for _ in range(15):
        start = time.perf_counter()
        n = 0
        while time.perf_counter() - start < 0.02:
            fn()
            n += 1
        rounds.append((time.perf_counter() - start) * 1e6 / n)
    rounds.sort()
    return rounds[len(rounds) // 2]


def main():
    doc = json.loads(Path(sys.argv[1]).read_text())
    keys_text = Path(sys.argv[2]).read_text()
    r = doc["request"]
    headers = [tuple(line.split(": ", 1)) for line in r["headers"]]
    body = r["body"].encode()
    ring = pii_edge.PrivateKeyring.from_jwks(keys_text)

    def binding():
        return ring.reveal(r["method"], r["path"], headers, body, query=r["query"])

    opened = binding().opened
    print(json.dumps({"impl": "python", "opened": opened, "median_us": round(median_us(binding), 2)}))

    # The pure-Python opener of docs/interop/ (pyhpke for HPKE, cryptography's AES-GCM): the
    # same envelopes, found the same way (every envelope string of the JSON body).
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs" / "interop"))
    try:
        import open_vectors
    except ImportError as e:
        print(json.dumps({"impl": "pure-python", "error": f"cannot import the interop opener: {e}"}))
        return
    private = json.loads(keys_text)["keys"]
    fields = [f for f in doc["fields"] if f["action"] == "encrypt"]
    document = json.loads(body)

    def envelopes():
        found = []
        stack = [json.loads(body)]
        while stack:
            value = stack.pop()
            if isinstance(value, dict):
                stack.extend(value.values())
            elif isinstance(value, list):
                stack.extend(value)
            elif isinstance(value, str) and value.startswith("pe"):
                found.append(value)
        return found

    opener = getattr(open_vectors, "open_text", None)
    if opener is not None:
        def pure():
            return [opener(text, private) for text in envelopes()]

        assert len(pure()) == len(fields) == opened, (len(pure()), len(fields), opened)
        print(json.dumps({"impl": "pure-python", "opened": opened, "median_us": round(median_us(pure), 2)}))
        return
    # The interop opener reads the envelope vectors of docs/vectors/ (version 1 when this
    # benchmark was written): open five of them, with pyhpke, as the pure-Python figure. The
    # work per value is the same as in the request above (one X25519 agreement, the HPKE key
    # schedule, AES-256-GCM of the data key and of the value); finding and rewriting the values
    # in the body is left out, which favours the pure-Python figure.
    vectors_dir = Path(__file__).resolve().parents[2] / "docs" / "vectors"
    picked = []
    for path in sorted(vectors_dir.glob("*.json")):
        v = json.loads(path.read_text())
        if "expect_error" not in v and len(picked) < opened:
            picked.append((v["envelope"], v["binding"], v["private_jwks"]["keys"]))

    def pure():
        return [open_vectors.open_envelope(t, b, k, open_vectors.pyhpke_open_base) for t, b, k in picked]

    try:
        pure()
    except Exception as e:  # noqa: BLE001 - the opener does not read these vectors
        print(json.dumps({"impl": "pure-python", "error": f"the interop opener fails on docs/vectors: {type(e).__name__} {e}"}))
        return
    del document
    print(json.dumps({"impl": "pure-python", "opened": len(picked), "median_us": round(median_us(pure), 2),
                      "note": "5 envelopes of docs/vectors opened with docs/interop/open_vectors.py (pyhpke)"}))


if __name__ == "__main__":
    main()
