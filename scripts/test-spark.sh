#!/usr/bin/env bash
# pii_edge.spark on a real Apache Spark (issue 24, docs/bulk.md): PySpark from PyPI on Debian's
# headless JRE, local[2], over a generated table of PII_EDGE_BULK_ROWS rows (two envelope
# columns: 2 x ROWS envelopes; several zones and key ids, a rotated key, values in clear,
# damaged and empty values). The rotation runbook end to end: audit, rewrap, audit again,
# open with the new keys alone; nothing of a value or a key in the event log or the output.
# Then verify_erased: rows of the table stored at rest under subject keys (SQLite), one subject
# forgotten, checked next to the whole table (docs/bulk.md, "Verifying an erasure").
# Needs the wheel scripts/test-bindings.sh built ($CARGO_TARGET_DIR/wheels, or $PII_EDGE_WHEEL). Installs what it
# needs (apt: a JRE; PyPI: pyspark, pyarrow, pytest) on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
rows="${PII_EDGE_BULK_ROWS:-512000}"  # 1,003,520 envelopes (96% of emails, every name)
profile="${BINDINGS_PROFILE:-bindings}"
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
export CARGO_TARGET_DIR="$target"

step "Java for Spark (Debian's headless JRE)"
if ! command -v java >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi
java -version 2>&1 | head -1

step "PySpark, pyarrow and the pii-edge wheel in a fresh venv"
venv="$target/spark-venv"
python3 -m venv --clear "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r bindings/python/requirements-spark.txt
wheel="${PII_EDGE_WHEEL:-$(ls "$target"/wheels/pii_edge-*-abi3-*.whl)}"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel"

step "the bulk table: $rows rows, about $((196 * rows / 100)) envelopes (pii-core example bulk_table)"
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
cargo build --quiet --profile "$profile" -p pii-core --features test-util --example bulk_table
out_dir="$target/$profile"; [ "$profile" = dev ] && out_dir="$target/debug"
start=$SECONDS
"$out_dir/examples/bulk_table" "$data" "$rows"
echo "generated in $((SECONDS - start)) s: $(du -h "$data/table.csv" | cut -f1) of CSV"

step "Spark local[2]: the rotation runbook (bindings/python/tests_spark)"
log="$data/driver-output.log"
PII_EDGE_BULK_DIR="$data" "$venv/bin/python" -m pytest -q -s -p no:cacheprovider bindings/python/tests_spark 2>&1 | tee "$log"
test "${PIPESTATUS[0]}" -eq 0
# No value in clear in anything the driver printed (Spark's own logging included).
if grep -qiE 'sealedcanary|clearcanary' "$log"; then
  echo "a value's marker appears in the driver output" >&2
  exit 1
fi
# Nor any private key.
for d in $(python3 -c 'import json,sys; print(" ".join(k["d"] for k in json.load(open(sys.argv[1]))["keys"]))' "$data/private-all.jwks"); do
  if grep -qF -- "$d" "$log"; then
    echo "a private key appears in the driver output" >&2
    exit 1
  fi
done
echo "driver output: no value marker, no private key"
