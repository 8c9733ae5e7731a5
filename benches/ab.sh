#!/usr/bin/env bash
# A/B of builds on a loaded machine (issue 18): each BUILD_DIR holds a `pii-bench` binary and
# the Node-API addon `libpii_edge_node.so` of one build; every figure below compares them in one
# command, builds interleaved (ABAB...), so that load changes hit them alike.
#
#   bash benches/ab.sh cpu ROUNDS N WHAT NAME=BUILD_DIR...
#       CPU time of `pii-bench count WHAT N` minus `... WHAT 0`, per WHAT, from `perf stat -e
#       task-clock` (time on a CPU, not time waiting for one: a machine with 20 runnable
#       processes per 2 cores barely moves it); median of ROUNDS rounds, µs per operation.
#   bash benches/ab.sh callgrind N WHAT NAME=BUILD_DIR...
#       instructions per WHAT under `valgrind --tool=callgrind` ((Ir with N - Ir with 0) / N):
#       exact and repeatable under any load, but blind to how fast the instructions run, and
#       valgrind hides ADX/BMI2, so ring's X25519 takes its portable C path there.
#   bash benches/ab.sh node FIXTURES ROUNDS CASES NAME=BUILD_DIR...
#       the Lambda@Edge package (edge-fn/node/index.js + each build's addon + FIXTURES'
#       bundle.json) per request inside Node, with the hand-written RSA and X25519 handlers,
#       in one process (benches/node/bench.js --cases CASES --rounds ROUNDS).
#
# WHAT is what `pii-bench count` takes (benches/src/bin/pii-bench.rs): x25519-seal,
# x25519-keygen, x25519-dalek-seal, event-1KB-f5, split-40KB-f5, reuse-split-40KB-f10, ...
# FIXTURES: `pii-bench fixtures DIR`. Needs perf (linux-perf), valgrind and node.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=$1; shift
case "$mode" in
cpu)
  rounds=$1 n=$2 what=$3; shift 3
  out=$(mktemp)
  tc() { perf stat -x, -e task-clock "$1" count "$2" "$3" 2>&1 >/dev/null | awk -F, '/task-clock/ {print $1}'; }
  for _ in $(seq 1 "$rounds"); do
    for nb in "$@"; do
      echo "${nb%%=*} $n $(tc "${nb#*=}/pii-bench" "$what" "$n")" >> "$out"
      echo "${nb%%=*} 0 $(tc "${nb#*=}/pii-bench" "$what" 0)" >> "$out"
    done
  done
  python3 - "$out" "$n" "$what" "$@" <<'PY'
import sys, statistics, collections
rows = [l.split() for l in open(sys.argv[1])]
n, what, names = int(sys.argv[2]), sys.argv[3], [a.split('=')[0] for a in sys.argv[4:]]
d = collections.defaultdict(list)
for name, k, ms in rows: d[(name, int(k))].append(float(ms))
base = None
for name in names:
    zero = statistics.median(d[(name, 0)])
    per = sorted((x - zero) * 1000 / n for x in d[(name, n)])
    m = statistics.median(per)
    base = base or m
    print(f"cpu {what} {name}: {m:.2f} µs (rounds {len(per)}: {per[0]:.2f}-{per[-1]:.2f})" + ("" if m is base else f", {m / base:.3f}x {names[0]}"))
PY
  rm -f "$out" ;;
callgrind)
  n=$1 what=$2; shift 2
  ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" count "$2" "$3" 2>&1 | sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'; }
  base=""
  for nb in "$@"; do
    a=$(ir "${nb#*=}/pii-bench" "$what" 0); b=$(ir "${nb#*=}/pii-bench" "$what" "$n")
    per=$(( (b - a) / n )); base=${base:-$per}
    echo "callgrind $what ${nb%%=*}: $per instructions ($(python3 -c "print(f'{$per/$base:.3f}')")x ${1%%=*})"
  done ;;
node)
  fixtures=$1 rounds=$2 cases=$3; shift 3
  tmp=$(mktemp -d); args=()
  for nb in "$@"; do
    mkdir -p "$tmp/${nb%%=*}"
    cp edge-fn/node/index.js "$fixtures/bundle.json" "$tmp/${nb%%=*}/"
    cp "${nb#*=}/libpii_edge_node.so" "$tmp/${nb%%=*}/pii_edge.node"
    args+=(--extra-package "${nb%%=*}=$tmp/${nb%%=*}")
  done
  node benches/node/bench.js "$fixtures" --cases "$cases" --variants node-rsa,node-x25519 \
    --rounds "$rounds" "${args[@]}" --out "$tmp/node.json" > /dev/null
  python3 - "$tmp/node.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))['results']:
    print(f"node {r['id']} {r['variant']}: {r['median_us']:.1f} µs (p10 {r['p10_us']:.1f}, p90 {r['p90_us']:.1f}, n {r['n']})")
PY
  rm -rf "$tmp" ;;
*) echo "usage: see the top of $0" >&2; exit 2 ;;
esac
