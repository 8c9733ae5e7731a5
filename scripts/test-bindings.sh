#!/usr/bin/env bash
# The origin packages (issue 14): builds the Python wheel with maturin into a fresh virtual
# environment and the Node.js addon with cargo, then runs both test suites (every envelope and
# receipt vector, fresh `pii-edge apply` output of every location kind, strict opening, the
# ASGI/WSGI/Express middleware) and the Python example origin's end-to-end test (uvicorn,
# SQLite, SMTP). Installs what it needs (PyPI, npm) on a fresh machine. `npm ci` in bindings/node
# and examples/origin-node compiles better-sqlite3's SQLite from source (its prebuilt download is
# not reachable; about 1.5 CPU-minutes each): the Node key store's tests (decision 0009); `pg`
# (node-postgres, plain JavaScript) for PostgresKeyStore's.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# BINDINGS_PROFILE=dev reuses the debug build (faster locally); CI builds the optimized one.
profile="${BINDINGS_PROFILE:-bindings}"
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
export CARGO_TARGET_DIR="$target"

step "PostgreSQL server programs (the erasure tests start a throwaway cluster on 127.0.0.1)"
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi

step "pii-edge CLI (the edge side the tests drive)"
cargo build --quiet -p pii-edge-cli
export PII_EDGE_BIN="$target/debug/pii-edge"

step "Python: wheel with maturin (profile $profile) into a fresh venv"
venv="$target/bindings-venv"
python3 -m venv --clear "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "maturin>=1.5,<2"
rm -rf "$target/wheels"
(cd bindings/python && "$venv/bin/maturin" build --quiet --profile "$profile" --interpreter "$venv/bin/python" --out "$target/wheels")
wheel=$(ls "$target"/wheels/pii_edge-*-abi3-*.whl)
echo "wheel: $(basename "$wheel") ($(stat -c %s "$wheel") bytes)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel" -r bindings/python/requirements-test.txt

step "Python: tests (bindings/python/tests)"
# From the tests' directory: the installed wheel is imported, not the source tree.
"$venv/bin/python" -m pytest -q -p no:cacheprovider bindings/python/tests

step "Python: the example origin end to end (examples/origin-python)"
"$venv/bin/python" -m pytest -q -p no:cacheprovider examples/origin-python/tests

step "Node.js: addon with cargo (profile $profile), node:test suite"
node bindings/node/build.js --profile "$profile"
# PostgresKeyStore's tests start a throwaway cluster (scripts/throwaway_postgres.py, the
# PostgreSQL installed above) and share one key store with the Python package of this venv.
(cd bindings/node && npm ci --no-audit --no-fund --silent && PII_EDGE_PYTHON="$venv/bin/python" node --test test/*.test.js)

step "Node.js: the Express example origin end to end (examples/origin-node)"
(cd examples/origin-node && npm ci --no-audit --no-fund --silent && node --test test/*.test.js)
