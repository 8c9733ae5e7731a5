#!/usr/bin/env bash
# Measures both Node.js <-> Rust bridges on this machine (decision 0002): builds the release
# addon and the release child-process binary, lays both out like the package, and runs
# bench.js. Results (one JSON object per line) on stdout.
#   bash edge-fn/node/bench/run.sh [N_WARM] [K_COLD]
set -euo pipefail
cd "$(dirname "$0")/../../.."
n=${1:-20000}
k=${2:-20}
cargo build --release -p pii-edge-node --quiet
dir=target/bridge-bench
rm -rf "$dir" && mkdir -p "$dir"
cp target/release/libpii_edge_node.so "$dir/pii_edge.node"
cp target/release/pii-edge-ndjson "$dir/pii-edge-ndjson"
cp edge-fn/node/index.js edge-fn/node/bench/child-index.js examples/bundle/bundle.json "$dir/"
bench=edge-fn/node/bench/bench.js
for ev in examples/events/viewer-request-aws-doc.json examples/events/signup-json.json; do
  for module in index.js child-index.js; do
    node "$bench" warm "$dir" "$module" "$ev" "$n" 3>&1 >/dev/null 2>/dev/null
  done
done
for module in index.js child-index.js; do
  node "$bench" cold "$dir" "$module" examples/events/signup-json.json "$k" 3>&1 >/dev/null 2>/dev/null
done
ls -l "$dir/pii_edge.node" "$dir/pii-edge-ndjson" | awk '{print "{\"file\":\"" $9 "\",\"bytes\":" $5 "}"}'
