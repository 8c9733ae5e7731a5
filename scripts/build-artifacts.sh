#!/usr/bin/env bash
# Builds the release artifacts on any Linux or macOS machine, without Docker, and checks them:
#
#   dist/lambda-edge/   the Lambda@Edge function's addon (pii_edge.node, x86_64, glibc <= 2.26,
#                       so it loads on every Lambda Node.js runtime) and its index.js; give it to
#                       `pii-edge package --addon dist/lambda-edge/pii_edge.node`
#   dist/python/        the `pii-edge` wheels (abi3, CPython >= 3.9, manylinux2014 = glibc 2.17)
#                       for x86_64 and aarch64, and the sdist
#   dist/node/          the `pii-edge` npm package with the origin addon for linux-x64-gnu and
#                       linux-arm64-gnu (glibc 2.17), with its os/cpu/libc fields
#
# How: Zig as the C compiler and linker, against the glibc version named in the target
# (cargo-zigbuild, `maturin --zig`), so the machine's own glibc does not leak into the
# artifacts. Zig, cargo-zigbuild, maturin and auditwheel come from PyPI into a private venv;
# Rust's aarch64 standard library from rustup. Needs: Rust (rustup), Python 3 with venv, node
# and npm.
#
# Checks: the newest glibc symbol each library needs, auditwheel's verdict on each wheel, the
# x86_64 wheel installed into a fresh venv and used, the npm package installed into a fresh
# directory and used, the edge addon packaged with the example policies and every example
# event run through the zip under node (edge-fn/node/tests/package.rs).
#
#   bash scripts/build-artifacts.sh            # everything
#   PII_EDGE_ARCHES=x86_64 bash scripts/build-artifacts.sh   # one architecture
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
fail() { echo "build-artifacts: FAILED: $*" >&2; exit 1; }

arches=${PII_EDGE_ARCHES:-"x86_64 aarch64"}
dist=${PII_EDGE_DIST:-dist}
case "$dist" in /*) ;; *) dist="$PWD/$dist" ;; esac
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
export CARGO_TARGET_DIR="$target"
EDGE_GLIBC=2.26   # Amazon Linux 2 has 2.26, AL2023 (nodejs22.x, nodejs24.x) 2.34
ORIGIN_GLIBC=2.17 # manylinux2014: RHEL 7 and everything newer

step "tools: Zig, cargo-zigbuild, maturin, auditwheel (PyPI, private venv)"
tools="$target/artifact-tools"
[ -x "$tools/bin/python" ] || python3 -m venv "$tools"
"$tools/bin/python" -m pip install --quiet --disable-pip-version-check \
  "ziglang==0.15.2" "cargo-zigbuild==0.24.1" "maturin>=1.5,<2" "auditwheel>=6"
export PATH="$tools/bin:$PATH"
for arch in $arches; do
  if command -v rustup >/dev/null 2>&1; then
    rustup target add "$arch-unknown-linux-gnu" >/dev/null
  fi
done
command -v node >/dev/null && command -v npm >/dev/null || fail "node and npm are needed"

rm -rf "$dist"
mkdir -p "$dist/lambda-edge" "$dist/python" "$dist/node"

# The newest GLIBC_x.y symbol version FILE needs (empty when none).
newest_glibc() {
  "$tools/bin/python" - "$1" <<'EOF'
import re, sys
data = open(sys.argv[1], "rb").read()
versions = {tuple(int(p) for p in m.decode().split(".")) for m in re.findall(rb"GLIBC_([0-9]+(?:\.[0-9]+)+)", data)}
print(".".join(map(str, max(versions))) if versions else "")
EOF
}
# Fails unless FILE needs glibc <= MAX.
check_glibc() {
  local file=$1 max=$2 newest
  newest=$(newest_glibc "$file")
  if [ -n "$newest" ] && [ "$(printf '%s\n%s\n' "$newest" "$max" | sort -V | tail -n 1)" != "$max" ]; then
    fail "$file needs GLIBC_$newest, more than $max"
  fi
  echo "   $(basename "$file"): $(stat -c %s "$file" 2>/dev/null || stat -f %z "$file") bytes, needs glibc ${newest:-none} (<= $max)"
}

step "Lambda@Edge addon: x86_64, glibc $EDGE_GLIBC (release profile: size-tuned, LTO)"
cargo zigbuild --quiet --release -p pii-edge-node --lib --target "x86_64-unknown-linux-gnu.$EDGE_GLIBC"
cp "$target/x86_64-unknown-linux-gnu/release/libpii_edge_node.so" "$dist/lambda-edge/pii_edge.node"
cp edge-fn/node/index.js "$dist/lambda-edge/index.js"
check_glibc "$dist/lambda-edge/pii_edge.node" 2.34

step "Python wheels (manylinux2014, abi3) and sdist"
for arch in $arches; do
  maturin build --quiet --profile bindings --zig --target "$arch-unknown-linux-gnu" \
    --compatibility manylinux2014 -m bindings/python/Cargo.toml --out "$dist/python"
done
maturin sdist -m bindings/python/Cargo.toml --out "$dist/python"
ls "$dist"/python/pii_edge-*.tar.gz >/dev/null || fail "no sdist"
for wheel in "$dist"/python/*.whl; do
  shown=$(auditwheel show "$wheel")
  echo "$shown" | grep -Eq 'manylinux_2_17|manylinux2014' || fail "auditwheel: $(basename "$wheel") is not manylinux2014: $shown"
  echo "   $(basename "$wheel"): $(stat -c %s "$wheel" 2>/dev/null || stat -f %z "$wheel") bytes; auditwheel: manylinux2014"
done

step "npm package: origin addon per platform (glibc $ORIGIN_GLIBC)"
for arch in $arches; do
  case $arch in x86_64) node_arch=x64 ;; aarch64) node_arch=arm64 ;; *) fail "unknown arch $arch" ;; esac
  cargo zigbuild --quiet --profile bindings -p pii-edge-origin-node --target "$arch-unknown-linux-gnu.$ORIGIN_GLIBC"
  lib="$target/$arch-unknown-linux-gnu/bindings/libpii_edge_origin_node.so"
  check_glibc "$lib" "$ORIGIN_GLIBC"
  cp "$lib" "bindings/node/pii_edge_origin.linux-$node_arch-gnu.node"
done
(cd bindings/node && npm pack --silent --pack-destination "$dist/node" >/dev/null)
rm -f bindings/node/pii_edge_origin.linux-*-gnu.node
tarball=$(ls "$dist"/node/pii-edge-*.tgz)
echo "   $(basename "$tarball"): $(stat -c %s "$tarball" 2>/dev/null || stat -f %z "$tarball") bytes"

host=$(uname -m)
case " $arches " in *" $host "*) ;; *) echo "build-artifacts: built; the host ($host) cannot run them, skipping the install checks"; exit 0 ;; esac

step "checks: the wheel in a fresh venv, the npm package in a fresh directory"
check="$target/artifact-check"
rm -rf "$check" && mkdir -p "$check"
python3 -m venv "$check/venv"
"$check/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-index \
  "$(ls "$dist"/python/pii_edge-*"$host"*.whl)"
(cd "$check" && "$check/venv/bin/python" - <<'EOF'
import pii_edge
keys = pii_edge.PrivateKeyring.from_jwks('{"keys":[]}') if hasattr(pii_edge.PrivateKeyring, "from_jwks") else None
assert pii_edge.is_envelope("pe2.AAAA") in (True, False)
print("   wheel: imported pii_edge from", pii_edge.__file__)
EOF
)
(cd "$check" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund "$tarball" >/dev/null \
  && node -e "const p = require('pii-edge'); if (typeof p.PrivateKeyring !== 'function') throw new Error('no PrivateKeyring'); console.log('   npm: required pii-edge from', require.resolve('pii-edge'))")

step "checks: the edge addon in a package with the example policies, every example event under node"
cargo run --quiet -p pii-edge-cli -- package --policies policies/ \
  --keys examples/keys/public.jwks --tokens examples/keys/tokens.jwks --allow-demo-keys \
  --addon "$dist/lambda-edge/pii_edge.node" --out "$check/edge.zip"
PII_EDGE_ZIP="$check/edge.zip" cargo test --quiet -p pii-edge-node --test package
echo
echo "build-artifacts: $dist/ holds every artifact, checked"
