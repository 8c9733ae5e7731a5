#!/usr/bin/env bash
# The whole performance comparison of issue 7, end to end, in one command:
#
#   bash scripts/bench.sh            # full run (about 10 minutes on 2 cores)
#   bash scripts/bench.sh --quick    # smoke run (about a minute once built): every step, few samples
#
# 1. fixtures: bodies of 1/10/40 KB with 1/5/10/100 protected fields, the policy, keys, events
#    (pii-bench fixtures), and a check that the edge handler seals every field (pii-bench check);
# 2. Rust, criterion: engine alone, full CloudFront event path, physical floor, DOM floor,
#    X25519 operation, mask-only engine, two recipients (cargo bench -p pii-bench);
# 3. Node.js, same policy and events, timed inside Node: jsonpath-plus + RSA-OAEP per field
#    (PEM text, and KeyObject), jsonpath-plus + one X25519 + AES-GCM per field, and the pii-edge
#    Lambda@Edge package itself (index.js + Rust addon) (benches/node/bench.js);
# 4. cold start and peak RSS: `bootstrap` through a Runtime API emulator, the pii-edge package
#    and the hand-written handler loaded by `node` (benches/coldstart.py);
# 5. package size: the Lambda@Edge zip (pii-edge package), headroom under 1 MB;
# 6. the report: target/pii-bench/report.md (tables, ratios, targets) and results.json.
#
# Rust is measured with the workspace's release profile (opt-level "z", LTO), the one the
# package ships with. PII_BENCH_RING_O3=1 adds a criterion run with ring at opt-level 3 (the
# X25519 code of ring is C; -Os makes it about 1.8x slower). Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
QUICK=""
[ "${1:-}" = "--quick" ] && QUICK="--quick"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="$TARGET/pii-bench"
mkdir -p "$OUT"
export CRITERION_HOME="$OUT/criterion"

step() { printf '\n==> %s\n' "$*"; }

step "machine"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
{
  echo "{\"nproc\": $(nproc), \"cpu\": \"$cpu\", \"loadStart\": \"$(cut -d' ' -f1-3 /proc/loadavg)\","
  echo " \"rustc\": \"$(rustc --version)\", \"node\": \"$(node --version 2>/dev/null || echo none)\","
  echo " \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\", \"quick\": $([ -n "$QUICK" ] && echo true || echo false)}"
} > "$OUT/machine.json"
cat "$OUT/machine.json"

if [ ! -x /usr/bin/time ]; then
  step "installing GNU time (peak RSS)"
  (apt-get update -qq && apt-get install -y -qq time) >/dev/null 2>&1 || echo "could not install time; RSS of node runs will be missing"
fi

step "build: pii-bench tool, bootstrap, Node-API addon"
cargo build --quiet --release -p pii-bench --bin pii-bench
cargo build --quiet --release -p edge-fn --bin bootstrap
HAVE_ADDON=""
if cargo metadata --no-deps --format-version 1 | grep -q '"name":"pii-edge-node"'; then
  cargo build --quiet --release -p pii-edge-node --lib && HAVE_ADDON=1
fi

step "fixtures and a correctness check of the edge handler on every case"
rm -rf "$OUT/fixtures"
"$TARGET/release/pii-bench" fixtures "$OUT/fixtures"
"$TARGET/release/pii-bench" check "$OUT/fixtures" > "$OUT/check.json"
echo "every case forwarded with every field sealed; body growth in $OUT/check.json"

# The Lambda@Edge package directories: the bench bundle (per-request timing) and the example
# bundle (cold start with the example event).
PKG="$OUT/pkg-bench"; PKGEX="$OUT/pkg-example"; HANDPKG="$OUT/pkg-handwritten"
rm -rf "$PKG" "$PKGEX" "$HANDPKG"
if [ -n "$HAVE_ADDON" ]; then
  for d in "$PKG" "$PKGEX"; do
    mkdir -p "$d"
    cp edge-fn/node/index.js "$d/"
    cp "$TARGET/release/libpii_edge_node.so" "$d/pii_edge.node"
  done
  cp "$OUT/fixtures/bundle.json" "$PKG/"
  cp examples/bundle/bundle.json "$PKGEX/"
fi

step "Node.js handlers: npm dependencies"
if [ ! -d benches/node/node_modules/jsonpath-plus ]; then
  (cd benches/node && npm ci --no-audit --no-fund --silent)
fi
mkdir -p "$HANDPKG"
cp -r benches/node/node_modules benches/node/*.js "$HANDPKG/"
python3 -c "import json; b=json.load(open('examples/bundle/bundle.json')); print(json.dumps([p for p in b['policies'] if p['name']=='signup'][0]))" > "$HANDPKG/policy.json"
node -e "const c=require('crypto'); process.stdout.write(c.generateKeyPairSync('rsa',{modulusLength:2048}).publicKey.export({type:'spki',format:'pem'}))" > "$HANDPKG/rsa-public.pem"

step "Rust: criterion (engine, event path, floors) $QUICK"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
cargo bench --quiet -p pii-bench --bench request -- $QUICK --noplot 2>&1 | grep -E '^[A-Za-z0-9]|time:' | paste -sd' \n' - | sed 's/ \+/ /g' | grep -E 'time:' | cut -c1-100 || true
if [ "${PII_BENCH_RING_O3:-}" = "1" ]; then
  step "Rust: criterion again with ring at opt-level 3"
  CRITERION_HOME="$OUT/criterion-ring-o3" cargo bench --quiet -p pii-bench --bench request \
    --config 'profile.bench.package.ring.opt-level=3' -- $QUICK --noplot >/dev/null 2>&1
fi

step "Node.js: the same policy and events, timed per request inside Node $QUICK"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
node_pkg_args=()
[ -n "$HAVE_ADDON" ] && node_pkg_args=(--package "$PKG")
node benches/node/bench.js "$OUT/fixtures" $QUICK "${node_pkg_args[@]}" --out "$OUT/node.json" > /dev/null
echo "results in $OUT/node.json"

step "cold start and peak RSS"
runs=30; [ -n "$QUICK" ] && runs=5
cold_args=(--bootstrap "$TARGET/release/bootstrap")
[ -n "$HAVE_ADDON" ] && cold_args+=(--node-package "pii-edge package=$PKGEX")
cold_args+=(--node-package "hand-written RSA handler=$HANDPKG")
python3 benches/coldstart.py --event examples/events/signup-json.json --runs "$runs" \
  "${cold_args[@]}" --out "$OUT/coldstart.json" > /dev/null
cat "$OUT/coldstart.json"

step "package size (Lambda@Edge zip)"
rm -f "$OUT/edge.zip"
if [ -n "$HAVE_ADDON" ]; then
  if cargo run --quiet --release -p edge-fn --bin pii-edge -- package --policies policies/ \
      --keys examples/keys/public.jwks --tokens examples/keys/tokens.jwks \
      --addon "$TARGET/release/libpii_edge_node.so" --out "$OUT/edge.zip" > "$OUT/package.log" 2>&1; then
    echo "pii-edge package: $(stat -c %s "$OUT/edge.zip") bytes"
  else
    echo "pii-edge package failed (see $OUT/package.log); zipping the example package directory instead"
    (cd "$PKGEX" && python3 -c "import zipfile,sys; z=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED,compresslevel=9); [z.write(f) for f in ('index.js','pii_edge.node','bundle.json')]" "$OUT/edge.zip")
  fi
fi

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$OUT" <<'PY'
import json, sys
p = sys.argv[1] + "/machine.json"
m = json.load(open(p))
m["loadEnd"] = open("/proc/loadavg").read().split()[:3]
json.dump(m, open(p, "w"))
PY

step "report"
python3 benches/report.py "$OUT"
echo
echo "report: $OUT/report.md"
