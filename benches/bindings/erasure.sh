#!/usr/bin/env bash
# The erasure benchmark (benches/README.md, "Erasure"): rewrap and open per field, with the
# subject key cached and with a key-store lookup, in Rust (pii-erasure-bench) and Python (the
# wheel), three passes interleaved on one machine, built with the `bindings` profile.
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
export CARGO_TARGET_DIR="$target"
out="$target/bench-erasure"
mkdir -p "$out"
venv="${BENCH_VENV:-$target/bindings-venv}"

cargo build --quiet -p pii-bench --bin pii-erasure-bench --profile bindings
if [ ! -x "$venv/bin/maturin" ]; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "maturin>=1.5,<2"
fi
(cd bindings/python && "$venv/bin/maturin" build --quiet --profile bindings --interpreter "$venv/bin/python" --out "$out/wheels")
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$out"/wheels/pii_edge-*.whl

vector=docs/vectors/at_rest/string_email.json
for pass in 1 2 3; do
  "$target/bindings/pii-erasure-bench" "$vector"
  "$venv/bin/python" benches/bindings/bench_erasure.py "$vector"
done | tee "$out/results.jsonl"
