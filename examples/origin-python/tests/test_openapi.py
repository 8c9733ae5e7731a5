"""The committed ``openapi.json`` is the document this app generates (``pii-edge draft`` is
tested on the committed copy: edge-fn/cli/tests/draft.rs). After changing a route, regenerate it:
``PII_EDGE_OPENAPI=write python -m pytest examples/origin-python/tests/test_openapi.py``."""

import json
import os
import subprocess
import sys

from test_e2e import HERE, ROOT, pii_edge_bin


def test_committed_openapi_json_is_what_the_app_generates(tmp_path, monkeypatch):
    subprocess.run([pii_edge_bin(), "keygen", "--receipt", "--out", str(tmp_path)], check=True, capture_output=True)
    monkeypatch.setenv("PII_EDGE_KEYS_FILE", str(ROOT / "examples" / "keys" / "private.jwks"))
    monkeypatch.setenv("PII_EDGE_RECEIPT_KEYS", str(tmp_path / "receipt.jwks"))
    monkeypatch.setenv("ORIGIN_DB", str(tmp_path / "origin.sqlite"))
    monkeypatch.syspath_prepend(str(HERE))
    sys.modules.pop("app", None)
    import app

    generated = app.create_app().openapi()
    committed_file = HERE / "openapi.json"
    if os.environ.get("PII_EDGE_OPENAPI") == "write":
        committed_file.write_text(json.dumps(generated, indent=2) + "\n")
    committed = json.loads(committed_file.read_text())
    # The paths are the app's; the rest (info, FastAPI's version of OpenAPI) follows FastAPI.
    assert generated["paths"] == committed["paths"]
    assert committed["openapi"].startswith("3.1")
