#!/usr/bin/env bash
# Fuzz smoke run (CI): builds the cargo-fuzz targets of fuzz/ with the nightly toolchain,
# replays the saved regression inputs (fuzz/regressions/<target>/), then runs each target for
# FUZZ_SECONDS (default 20) on its seed corpus (fuzz/seed.sh). Any crash fails the run and
# leaves the input in fuzz/artifacts/<target>/.
#
# Installs what is missing: the nightly toolchain (rustup) and cargo-fuzz (crates.io, --locked;
# about a minute on a 2-core machine). The first build of the targets takes about 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-20}"
targets=(policy_load jsonpath engine_apply cloudfront_event envelope_open json_span names receipt_verify addon_elf scan_input jwt_verify at_rest_open params shapes)

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "installing the nightly toolchain (cargo-fuzz needs -Zsanitizer flags)"
  if ! rustup toolchain install nightly --profile minimal; then
    # Toolchains come from outside the package registries; a machine that cannot fetch one
    # cannot fuzz. Say so loudly rather than fail the whole suite for the machine's reason.
    echo "FUZZ SMOKE RUN SKIPPED: no nightly toolchain on this machine and none can be installed" >&2
    exit 0
  fi
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

bash fuzz/seed.sh
cargo +nightly fuzz build

for target in "${targets[@]}"; do
  if [ -d "fuzz/regressions/$target" ]; then
    echo "==> $target: replaying fuzz/regressions/$target"
    # -runs=0: execute every input of the directory once, then stop.
    cargo +nightly fuzz run "$target" "fuzz/regressions/$target" -- -runs=0
  fi
  echo "==> $target: ${seconds}s on fuzz/corpus/$target"
  log="$(mktemp)"
  if ! cargo +nightly fuzz run "$target" "fuzz/corpus/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz target $target crashed; the input is in fuzz/artifacts/$target/" >&2
    exit 1
  fi
  grep -E '^#[0-9]+ +DONE|stat::number_of_executed_units' "$log" || true
  rm -f "$log"
done
echo "fuzz smoke run passed"
