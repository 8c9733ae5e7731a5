"""The deployment guide (examples/deploy/README.md), run short of AWS.

Every command below is checked to appear in the guide word for word (whitespace and `\\`
line continuations aside), then run in a scratch directory laid out like a clone: per-region
keys, the edge's key set, token and receipt keys, check, test, package, a token lookup, the
debugging commands, a key rotation. Secrets Manager is a directory here. Then the FastAPI
example origin is started with the guide's keys behind `pii-edge serve` with the guide's files
(the Lambda@Edge handler on loopback), and answers the guide's example request through the
edge, refuses the same request sent around it, and opens what was sealed before the rotation.

Needs: PII_EDGE_BIN (the CLI), the `pii-edge` wheel with fastapi, uvicorn and aiosmtpd (the venv
of scripts/test-bindings.sh), the release Node-API addon (built by .ci/package-checks.sh).
"""

import base64
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

HERE = Path(__file__).resolve().parents[1]
ROOT = HERE.parents[1]
GUIDE = (HERE / "README.md").read_text()
ORIGIN = ROOT / "examples" / "origin-python"
# Section 6's protected write.
REQUEST_BODY = b'{"user":{"name":"Erika Mustermann","email":"erika@example.de"}}'
PLAINTEXT = [b"erika@example.de", b"Mustermann"]


def normalized(text):
    return re.sub(r"\s+", " ", text.replace("\\\n", " "))


def in_guide(command):
    """`command` as one line, after checking that the guide says it (lines joined)."""
    one_line = normalized(command).strip()
    assert one_line in normalized(GUIDE), f"the guide no longer says: {command}"
    return one_line


def pii_edge_bin():
    if os.environ.get("PII_EDGE_BIN"):
        return os.environ["PII_EDGE_BIN"]
    return str(Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "pii-edge")


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A scratch directory laid out like a clone, with `pii-edge` on PATH."""
    work = tmp_path_factory.mktemp("clone")
    for name in ["policies", "examples", "edge-fn"]:
        (work / name).symlink_to(ROOT / name)
    bin_dir = tmp_path_factory.mktemp("bin")
    (bin_dir / "pii-edge").symlink_to(Path(pii_edge_bin()).resolve())
    (work / "secrets").mkdir()  # stands in for Secrets Manager
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    env["CARGO_TARGET_DIR"] = str(Path(target).resolve())
    return {"dir": work, "env": env}


def sh(clone, script, stdin=None):
    """Runs a shell script in the clone; returns stdout. Fails the test with stderr."""
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=clone["dir"],
        env=clone["env"],
        input=stdin,
        capture_output=True,
    )
    assert done.returncode == 0, f"{script}\n{done.stderr.decode()}{done.stdout.decode()}"
    return done.stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_guide_end_to_end(clone):
    work = clone["dir"]
    # What you need: your policies in a directory of their own, from one example.
    sh(clone, in_guide("mkdir my-policies && cp -r policies/signup.yaml policies/signup.tests my-policies/"))

    # 0. Keys, one keygen per region; the public halves joined into the edge's key set.
    keygen = in_guide("pii-edge keygen --zone eu-central --region eu-central-1 --out keys-eu-central-1/")
    sh(clone, keygen)
    in_guide("likewise eu-central-2 with --region eu-central-2")
    sh(clone, keygen.replace("eu-central-1", "eu-central-2"))
    sh(clone, in_guide(
        "pii-edge keys assemble keys-eu-central-1/*.public.jwk keys-eu-central-2/*.public.jwk > public.jwks"))
    assert len(json.loads((work / "public.jwks").read_text())["keys"]) == 2
    sh(clone, in_guide("pii-edge keygen --token-domain email --token-domain patient --out keys/"))
    sh(clone, in_guide("pii-edge keygen --receipt --out keys/"))
    assert (work / "keys" / "receipt.private.jwk").stat().st_mode & 0o077 == 0

    # 1. Check, test, package.
    sh(clone, in_guide("pii-edge check my-policies/ --keys public.jwks --tokens keys/tokens.jwks"))
    sh(clone, in_guide("pii-edge test my-policies/"))
    sh(clone, in_guide(
        "pii-edge package --policies my-policies/ --keys public.jwks --tokens keys/tokens.jwks \\\n"
        "  --receipt-key keys/receipt.private.jwk --out edge.zip"))
    listing = subprocess.run([sys.executable, "-m", "zipfile", "-l", str(work / "edge.zip")],
                             capture_output=True, check=True).stdout.decode()
    for name in ["index.js", "pii_edge.node", "bundle.json"]:
        assert name in listing, listing
    # 1.3 With your own viewer-request function: the handler the guide names exists.
    sh(clone, in_guide(
        "pii-edge package --compose examples/compose/index.js --policies my-policies/ --keys public.jwks \\\n"
        "  --tokens keys/tokens.jwks --receipt-key keys/receipt.private.jwk --out edge.zip"))

    # 2. Each region's private key set goes to its secret store, then the files are shredded.
    for region in ["eu-central-1", "eu-central-2"]:
        sh(clone, f"cp keys-{region}/private.jwks secrets/{region}.jwks")
    sh(clone, in_guide("shred -u keys-eu-central-1/*.private.jwk keys-eu-central-1/private.jwks"))
    assert not list((work / "keys-eu-central-1").glob("*.private.jwk"))

    # Debugging: a forwarded event, opened with the key set on standard input.
    sh(clone, in_guide(
        "pii-edge apply --edge --policy my-policies/signup.yaml --keys\npublic.jwks --event "
        "examples/events/signup-json.json > forwarded-event.json"))
    forwarded = json.loads((work / "forwarded-event.json").read_text())
    body = base64.b64decode(forwarded["body"]["data"]).decode()
    assert "pe2." in body and "erika@example.de" not in body
    revealed = sh(clone, "pii-edge reveal --keys - --event forwarded-event.json",
                  stdin=(work / "secrets" / "eu-central-1.jwks").read_bytes())
    in_guide("pii-edge reveal --keys - --event forwarded-event.json")
    assert b"erika@example.de" in revealed

    # Token lookups at the origin: with a policy of yours that tokenizes in `email`.
    sh(clone, "cp -r policies/checkout-form.yaml policies/checkout-form.tests my-policies/")
    tokens = sh(clone, in_guide(
        "pii-edge token --domain email --tokens keys/tokens.jwks --policy my-policies/ 'ann@example.com'"))
    assert b"tk1." in tokens or len(tokens.split()) >= 2, tokens
    sh(clone, "rm -r my-policies/checkout-form.yaml my-policies/checkout-form.tests")

    # Rotate eu-central-1's key: the guide's commands, with the secret store as a directory.
    rotation = [
        in_guide("umask 077"),
        in_guide("ROT=keys-eu-central-1-$(date +%Y%m%d%H%M)"),
        in_guide('mkdir "$ROT"'),
        'cp secrets/eu-central-1.jwks "$ROT/private.jwks"',  # aws secretsmanager get-secret-value
        in_guide('pii-edge keygen --zone eu-central --region eu-central-1 --out "$ROT/"'),
        'cp "$ROT/private.jwks" secrets/eu-central-1.jwks',  # aws secretsmanager put-secret-value
        in_guide('pii-edge keys assemble public.jwks "$ROT"/*.public.jwk > public.next.jwks'),
        in_guide("mv public.next.jwks public.jwks"),
        in_guide('shred -u "$ROT"/*.private.jwk "$ROT/private.jwks"'),
    ]
    old_secret = (work / "secrets" / "eu-central-1.jwks").read_bytes()
    sh(clone, "\n".join(rotation))
    assert len(json.loads((work / "public.jwks").read_text())["keys"]) == 3
    assert len(json.loads((work / "secrets" / "eu-central-1.jwks").read_text())["keys"]) == 2
    # What was sealed before the rotation still opens with the rotated secret...
    revealed = sh(clone, "pii-edge reveal --keys - --event forwarded-event.json",
                  stdin=(work / "secrets" / "eu-central-1.jwks").read_bytes())
    assert b"erika@example.de" in revealed
    # ...and the edge now seals to the new key: the old key alone no longer opens.
    sh(clone, "pii-edge apply --edge --policy my-policies/signup.yaml --keys public.jwks "
              "--event examples/events/signup-json.json > forwarded-new.json")
    old_only = subprocess.run([pii_edge_bin(), "reveal", "--keys", "-", "--event", "forwarded-new.json"],
                              cwd=work, input=old_secret, capture_output=True)
    assert old_only.returncode != 0 and b"erika@example.de" not in old_only.stdout

    # The origin with the guide's keys, behind the edge with the guide's files.
    run_origin_behind_edge(clone)


class Outbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.rcpt_tos)
        return "250 OK"


def http_request(port, method, target, headers, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.request(method, target, body=body, headers=dict(headers))
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def wait_for(port, what, process):
    for _ in range(200):
        if process.poll() is not None:
            pytest.fail(f"{what} exited: {process.stdout.read().decode()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"{what} did not start")


def run_origin_behind_edge(clone):
    work = clone["dir"]
    outbox = Outbox()
    mail = Controller(outbox, hostname="127.0.0.1", port=free_port())
    mail.start()
    origin_port, edge_port = free_port(), free_port()
    origin_env = dict(
        clone["env"],
        PII_EDGE_KEYS_FILE=str(work / "secrets" / "eu-central-1.jwks"),
        PII_EDGE_RECEIPT_KEYS=str(work / "keys" / "receipt.jwks"),
        PII_EDGE_ZONE="eu-central",
        ORIGIN_DB=str(work / "origin.sqlite"),
        MAIL_HOST="127.0.0.1",
        MAIL_PORT=str(mail.port),
    )
    origin = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(origin_port),
         "--log-level", "warning"],
        cwd=ORIGIN, env=origin_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    edge = subprocess.Popen(
        [pii_edge_bin(), "serve", "--policies", "my-policies/", "--keys", "public.jwks",
         "--tokens", "keys/tokens.jwks", "--receipt-key", "keys/receipt.private.jwk",
         "--upstream", f"http://127.0.0.1:{origin_port}", "--listen", f"127.0.0.1:{edge_port}",
         "--no-inspector"],
        cwd=work, env=clone["env"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(origin_port, "the origin", origin)
        wait_for(edge_port, "pii-edge serve", edge)
        headers = [("content-type", "application/json")]
        # Section 6's protected write, through the edge: stored sealed, mail sent.
        status, answer = http_request(edge_port, "POST", "/api/users", headers, REQUEST_BODY)
        assert status == 201, answer
        assert outbox.messages == [["erika@example.de"]]
        raw = b"".join(p.read_bytes() for p in work.glob("origin.sqlite*"))
        for value in PLAINTEXT:
            assert value not in raw
        # The same request sent around the edge: no receipt, refused.
        status, answer = http_request(origin_port, "POST", "/api/users", headers, REQUEST_BODY)
        assert status == 403, answer
        assert json.loads(answer)["type"].endswith("receipt-missing"), answer
    finally:
        for process in (edge, origin):
            process.terminate()
        outputs = [p.communicate(timeout=10)[0] for p in (edge, origin)]
        mail.stop()
        for output in outputs:
            for value in PLAINTEXT:
                assert value not in output, "plaintext in a log"
