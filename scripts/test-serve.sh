#!/usr/bin/env bash
# `pii-edge serve` (issue 16): what its tests need, and a check that it stays out of the
# Lambda@Edge package. Called by scripts/test.sh before `cargo test --workspace`, whose
# edge-fn/cli tests serve*.rs then run it: against a recording upstream, compared with
# `pii-edge apply --edge`, under load and faults on loopback, and in Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's Chromium drives the inspector page test (edge-fn/cli/tests/serve_browser.rs).
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's Chromium (inspector page test)"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium >/dev/null
fi
/usr/bin/chromium --version

# The proxy (hyper, hyper-util, notify) must never reach the Lambda@Edge package: the Node
# addon builds edge-fn without default features.
if cargo tree -p pii-edge-node -e normal --prefix none 2>/dev/null | grep -E '^(hyper|hyper-util|notify) ' ; then
  echo "error: the Lambda@Edge addon (pii-edge-node) depends on serve's HTTP stack" >&2
  exit 1
fi
echo "the Lambda@Edge addon carries no HTTP server or file watcher"
