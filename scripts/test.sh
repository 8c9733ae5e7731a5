#!/usr/bin/env bash
# The whole test suite: Rust tests (unit, integration, property, doc, JSONPath compliance),
# the example policies' test cases, the differential test against real origin parsers, the
# envelope vectors and the CLI's envelopes opened by an independent Python implementation, the
# receipt vectors, `pii-edge serve` (real upstreams, load, Chromium), the origin packages
# (Python wheel, Node.js addon, the FastAPI origin), bulk operations on a local Apache Spark
# (PySpark, a JRE), the deployment template lint, the
# Lambda@Edge package checks, the release artifacts and a fuzz smoke run.
# Installs what it needs (PyPI, npm, Debian's packages) on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "clang (compiles ring's C, .cargo/config.toml)"
bash scripts/install-clang.sh

step "Python tools (interop opener, cfn-lint, scan corpus generator)"
python3 -m pip install --quiet --disable-pip-version-check -r scripts/requirements.txt

step "module import cycles: the checker's own tests, then the crates (the CLI's commands share code only through shared/)"
python3 scripts/check-module-cycles.py --self-test
python3 scripts/check-module-cycles.py pii-core edge-fn edge-fn/cli=shared

step "line budget: no Rust source file over 800 lines outside its unit tests (issue 26)"
python3 scripts/check-file-sizes.py --self-test
python3 scripts/check-file-sizes.py

step "pii-edge serve: Chromium for the inspector test, no HTTP stack in the Lambda@Edge package"
bash scripts/test-serve.sh

step "cargo test --workspace --all-features"
cargo test --workspace --all-features

step "pii-core and the Node-API addon as the edge builds them (no YAML parser, no opener): no warnings, tests"
cargo clippy --quiet -p pii-core --no-default-features -- -D warnings
cargo clippy --quiet -p pii-edge-node -- -D warnings
cargo test -p pii-core --no-default-features

step "example policies: pii-edge test policies/"
cargo run --quiet -p pii-edge-cli -- test policies/

step "differential test against real origin parsers (Python, Node.js, PHP, Go, Ruby, Java)"
bash scripts/test-differential.sh

step "pii-edge scan: the example events and the recorded browser session against policies/"
cargo run --quiet -p pii-edge-cli -- scan --policies policies/ examples/events examples/har

if [ -f docs/interop/open_vectors.py ]; then
  step "envelope vectors opened by an independent implementation (Python)"
  python3 docs/interop/open_vectors.py
fi

step "pii-edge apply output opened from the spec alone, at the locations the spec computes (Python)"
cargo build --quiet -p pii-edge-cli
python3 docs/interop/open_cli_output.py --pii-edge "${CARGO_TARGET_DIR:-target}/debug/pii-edge"

step "at-rest vectors and erasure receipts opened by an independent implementation (Python)"
python3 docs/interop/open_at_rest.py

if [ -f docs/interop/verify_receipts.py ]; then
  step "receipt vectors verified by an independent implementation (Python)"
  python3 docs/interop/verify_receipts.py
fi

step "origin packages: Python wheel and Node.js addon, their tests, the Python example origin"
bash scripts/test-bindings.sh

step "bulk operations on a real Spark: the rotation runbook of docs/bulk.md (after the wheel: needs it)"
bash scripts/test-spark.sh

if [ -f .ci/cfn-lint.sh ]; then
  step "deployment template: cfn-lint"
  bash .ci/cfn-lint.sh
  # Debian's own Python is externally managed (PEP 668): the script must still work with it.
  if compgen -G "/usr/lib/python3*/EXTERNALLY-MANAGED" >/dev/null && [ -x /usr/bin/python3 ]; then
    PYTHON=/usr/bin/python3 bash .ci/cfn-lint.sh
  fi
fi

if [ -f .ci/package-checks.sh ]; then
  step "Lambda@Edge package: build, size limit, glibc symbols, load with node"
  bash .ci/package-checks.sh
fi

step "the deployment guide's commands, short of AWS (examples/deploy/tests; after the package checks: needs the release addon)"
"${CARGO_TARGET_DIR:-target}/bindings-venv/bin/python" -m pytest -q -p no:cacheprovider examples/deploy/tests

step "release artifacts built without Docker (Zig): Lambda@Edge addon, manylinux2014 wheels x86_64/aarch64 and sdist, npm package; each checked"
bash scripts/build-artifacts.sh

step "pii-edge demo: the README's first command, every example request protected"
cargo run --quiet -p pii-edge-cli -- demo --listen 127.0.0.1:0 --no-wait

if [ -f .ci/fuzz-smoke.sh ]; then
  step "fuzz smoke run"
  bash .ci/fuzz-smoke.sh
fi
echo
echo "all test steps passed"
