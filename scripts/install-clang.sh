#!/usr/bin/env bash
# Every build of this workspace compiles ring's C with clang (.cargo/config.toml: ring's X25519
# is markedly faster built by clang than by gcc, benches/README.md). Installs clang when it is
# missing; idempotent and quiet. Run by scripts/test.sh, scripts/bench.sh and
# .ci/package-checks.sh before their first cargo command.
set -euo pipefail
if ! command -v clang >/dev/null 2>&1; then
  echo "install-clang: clang not found, installing it (ring's C is compiled by clang, see .cargo/config.toml)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq clang >&2
fi
