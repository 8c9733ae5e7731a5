#!/usr/bin/env bash
# The origin-package benchmark (benches/README.md, "Origin packages"): revealing a 1 KB body
# with 5 encrypted fields from Python (the wheel) and from Node.js (the addon), against the
# Rust API and the pure-Python opener of docs/interop/ (pyhpke), in one run, on one machine.
# Everything is built with the `bindings` profile (opt-level 3), the one the packages ship.
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
export CARGO_TARGET_DIR="$target"
out="$target/bench-bindings"
mkdir -p "$out"

cargo build --quiet -p pii-edge-cli
cargo build --quiet -p pii-bench --bin pii-reveal-bench --profile bindings
venv="$target/bindings-venv"
if [ ! -x "$venv/bin/maturin" ]; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "maturin>=1.5,<2"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
(cd bindings/python && "$venv/bin/maturin" build --quiet --profile bindings --interpreter "$venv/bin/python" --out "$out/wheels")
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$out"/wheels/pii_edge-*.whl
node bindings/node/build.js --profile bindings

"$target/debug/pii-edge" apply --policy benches/bindings/policy.yaml --method POST --path /bench \
  -H 'content-type: application/json' --body "$(cat benches/bindings/body.json)" > "$out/request.json"
keys=examples/keys/private.jwks
# Three passes, the implementations interleaved, so that load from elsewhere on the machine
# falls on all of them alike; the summary takes each one's median over the passes.
: > "$out/results.jsonl"
for pass in 1 2 3; do
  "$target/bindings/pii-reveal-bench" "$out/request.json" "$keys"
  "$venv/bin/python" benches/bindings/bench_reveal.py "$out/request.json" "$keys"
  node benches/bindings/bench_reveal.js "$out/request.json" "$keys"
done | tee -a "$out/results.jsonl"
python3 - "$out/results.jsonl" "$out/wheels" <<'PY'
import json, sys, pathlib
import statistics
runs = {}
for r in map(json.loads, open(sys.argv[1])):
    runs.setdefault(r["impl"], []).append(r)
rows = {}
for name, rs in runs.items():
    timed = [r["median_us"] for r in rs if "median_us" in r]
    rows[name] = {"median_us": statistics.median(timed)} if timed else rs[0]
rust = rows["rust"]["median_us"]
print(f"\n{'implementation':<14}{'µs / reveal':>12}{'vs Rust':>10}")
for name in ["rust", "python", "node", "pure-python"]:
    r = rows.get(name, {})
    if "median_us" in r:
        print(f"{name:<14}{r['median_us']:>12.1f}{r['median_us'] / rust:>9.2f}x")
    else:
        print(f"{name:<14}{'n/a':>12}  {r.get('error', '')}")
if "median_us" in rows.get("pure-python", {}):
    for name in ["python", "node"]:
        print(f"pure-python / {name}: {rows['pure-python']['median_us'] / rows[name]['median_us']:.1f}x")
for wheel in pathlib.Path(sys.argv[2]).glob("*.whl"):
    print(f"wheel {wheel.name}: {wheel.stat().st_size:,} bytes")
PY
