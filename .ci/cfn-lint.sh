#!/usr/bin/env bash
# Lint the deployment templates in examples/deploy/ with cfn-lint (offline: cfn-lint ships
# the CloudFormation resource specifications it checks against).
# Exits non-zero when cfn-lint reports an error or a warning.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import cfnlint' >/dev/null 2>&1; then
    echo "cfn-lint: installing with pip" >&2
    python3 -m pip install --quiet cfn-lint
fi

shopt -s nullglob
templates=(examples/deploy/*.yaml)
if [ "${#templates[@]}" -eq 0 ]; then
    echo "cfn-lint: no templates in examples/deploy/" >&2
    exit 1
fi

# Run through the interpreter that has the module, whatever cfn-lint is (or is not) on PATH.
# cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational.
status=0
python3 -c 'import sys; from cfnlint.runner import main; sys.exit(main())' \
    "${templates[@]}" || status=$?
if [ "$status" -ne 0 ]; then
    echo "cfn-lint: FAILED (exit $status) on ${templates[*]}" >&2
    exit "$status"
fi
echo "cfn-lint: ${#templates[@]} template(s) clean: ${templates[*]}"
