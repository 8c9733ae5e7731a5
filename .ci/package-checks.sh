#!/usr/bin/env bash
# Lambda@Edge package checks (issue 4):
#   1. build the release Node-API addon (opt-level z, LTO, strip: the workspace release profile);
#   2. build the package zip with `pii-edge package` (index.js + pii_edge.node + bundle.json,
#      the bundle made from policies/ and the demo public and token keys in examples/keys/);
#   3. FAIL when the zip is over 700,000 bytes: the viewer-request limit is 1 MB compressed, and
#      the package keeps 300,000 bytes of it free for what the edge must still learn
#      (docs/decisions/0007-edge-package-size.md: it was 991,605 bytes before that record);
#   4. FAIL when the addon needs a glibc symbol version newer than 2.34 (Amazon Linux 2023,
#      the nodejs20.x / nodejs22.x runtimes);
#   5. load the zip with node the way the Lambda Node.js runtime does and check the protected
#      results of every example event (edge-fn/node/tests/package.rs with PII_EDGE_ZIP).
# The zip is left at target/edge-package/edge.zip.
set -euo pipefail
cd "$(dirname "$0")/.."

# The ceiling this project holds itself to (decision 0007), below Lambda@Edge's 1,000,000.
LIMIT_BYTES=700000
VIEWER_LIMIT_BYTES=1000000
GLIBC_MAX=2.34
out=target/edge-package
zip_path=$out/edge.zip

need() { # need COMMAND DEBIAN-PACKAGE
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "package-checks: $1 not found, installing $2" >&2
    if [ -z "${apt_updated:-}" ]; then apt-get update -qq >&2; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2
  fi
}
need objdump binutils
need node nodejs
need python3 python3
# ring's C is compiled by clang (.cargo/config.toml).
bash scripts/install-clang.sh

echo "== build: cargo build --release -p pii-edge-node --lib"
cargo build --release -p pii-edge-node --lib --quiet
addon="${CARGO_TARGET_DIR:-target}/release/libpii_edge_node.so"

echo "== package: pii-edge package -> $zip_path"
rm -rf "$out"
mkdir -p "$out/files"
# The operators' path: the CLI validates the policies and keys, writes bundle.json and the zip.
cargo run --quiet -p pii-edge-cli -- package \
  --policies policies/ --keys examples/keys/public.jwks --tokens examples/keys/tokens.jwks --allow-demo-keys \
  --addon "$addon" --index-js edge-fn/node/index.js --out "$zip_path"
python3 -m zipfile -e "$zip_path" "$out/files"

size=$(stat -c %s "$zip_path")
addon_size=$(stat -c %s "$out/files/pii_edge.node")
headroom=$((LIMIT_BYTES - size))
echo "   addon pii_edge.node: $addon_size bytes unzipped"
echo "   package: $size bytes zipped, ceiling $LIMIT_BYTES, headroom $headroom bytes; Lambda@Edge viewer limit $VIEWER_LIMIT_BYTES"
if [ "$size" -gt "$LIMIT_BYTES" ]; then
  echo "package-checks: FAILED: the package is $size bytes, over the project's $LIMIT_BYTES-byte ceiling (the viewer-request limit is $VIEWER_LIMIT_BYTES; docs/decisions/0007-edge-package-size.md says how it was measured and what it is made of)" >&2
  exit 1
fi

echo "== glibc: symbol versions required by pii_edge.node (max allowed $GLIBC_MAX)"
versions=$(objdump -T "$out/files/pii_edge.node" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/^GLIBC_//' | sort -Vu)
newest=$(printf '%s\n' "$versions" | tail -n 1)
echo "   required: $(printf '%s ' $versions)"
if [ -z "$newest" ]; then
  echo "package-checks: FAILED: no GLIBC_ symbol versions found (is objdump reading the right file?)" >&2
  exit 1
fi
if [ "$(printf '%s\n%s\n' "$newest" "$GLIBC_MAX" | sort -V | tail -n 1)" != "$GLIBC_MAX" ]; then
  echo "package-checks: FAILED: pii_edge.node needs GLIBC_$newest, newer than $GLIBC_MAX (Amazon Linux 2023)" >&2
  objdump -T "$out/files/pii_edge.node" | grep "GLIBC_$newest" >&2 || true
  exit 1
fi
echo "   newest: GLIBC_$newest <= $GLIBC_MAX"

echo "== load with node like the Lambda runtime: every example event"
PII_EDGE_ZIP="$PWD/$zip_path" PII_EDGE_REQUIRE_NODE=1 \
  cargo test --quiet -p pii-edge-node --test package

echo "package-checks: OK ($size bytes, headroom $headroom; GLIBC_$newest)"
