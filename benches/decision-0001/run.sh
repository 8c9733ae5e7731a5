#!/usr/bin/env bash
# Decision 0001 measurements (docs/decisions/0001-jsonpath-and-yaml.md):
#   1. JSONPath evaluate time on a ~40 KB document, jsonpath-rust 1.x vs serde_json_path 0.7,
#      interleaved in one process, as ratios to serde_json parsing the same document;
#   2. both crates against the RFC 9535 compliance suite;
#   3. serde-saphyr's errors for a duplicate key and a type error;
#   4. release size (opt-level z, LTO, strip, zipped) of the same handler with each crate, under
#      lambda_runtime and as a plain stdin/stdout core, against the 1 MB viewer-request limit.
# Usage: bash benches/decision-0001/run.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(cd ../.. && pwd)/target/decision-0001}"
QUICK="${1:-}"

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== 1-3. evaluate time, compliance suite, YAML errors"
cargo build --quiet --profile speed --bin measure
"$CARGO_TARGET_DIR/speed/measure" $QUICK --cts ../../pii-core/tests/jsonpath-cts/cts.json

[ "$QUICK" = "--quick" ] && exit 0

echo
echo "== 4. release size, zipped (deflate -9), 1 MB = 1048576 bytes"
out="$CARGO_TARGET_DIR/sizes"
mkdir -p "$out"
probes="size_base size_jsonpath_rust size_serde_json_path size_serde_json_path_yaml"
build() { # label, cargo feature args
  local label="$1"; shift
  cargo build --quiet --release "$@" $(for p in $probes; do printf -- '--bin %s ' "$p"; done)
  for p in $probes; do cp "$CARGO_TARGET_DIR/release/$p" "$out/$label-$p"; done
}
build lambda                                                   # lambda_runtime + serde_json_path with regex
build core --no-default-features --features sjp-functions      # stdin core, serde_json_path with regex
build core-noregex --no-default-features                       # stdin core, serde_json_path without functions/regex
python3 - "$out" <<'PY'
import io, os, sys, zipfile
out = sys.argv[1]
def zipped(path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.write(path, "bootstrap")
    return len(buf.getvalue())
rows = {}
for f in sorted(os.listdir(out)):
    if "-size_" not in f:
        continue
    label, probe = f.split("-size_", 1)
    rows[(label, probe)] = (os.path.getsize(os.path.join(out, f)), zipped(os.path.join(out, f)))
print(f"{'build':<13} {'probe':<22} {'binary':>10} {'zipped':>10} {'zip delta':>10} {'headroom':>10}")
for label in ["lambda", "core", "core-noregex"]:
    base = rows.get((label, "base"))
    for probe in ["base", "jsonpath_rust", "serde_json_path", "serde_json_path_yaml"]:
        if (label, probe) not in rows:
            continue
        b, z = rows[(label, probe)]
        if label == "core-noregex" and probe in ("jsonpath_rust", "serde_json_path_yaml"):
            continue  # jsonpath-rust always links regex; the yaml probe is shown with regex
        print(f"{label:<13} {probe:<22} {b:>10} {z:>10} {z - base[1]:>+10} {1048576 - z:>10}")
PY
