#!/usr/bin/env bash
# Lint the deployment templates in examples/deploy/ with cfn-lint (offline: cfn-lint ships
# the CloudFormation resource specifications it checks against).
# Exits non-zero when cfn-lint reports an error or a warning.
#
# cfn-lint is used from `python3` when it has it; otherwise it is installed with pip, and where
# pip may not install into that interpreter (Debian's and Ubuntu's Python is "externally
# managed", PEP 668) into a virtual environment of its own under
# ${PII_EDGE_TOOLS_VENV:-$HOME/.cache/pii-edge/cfn-lint-venv}. PYTHON picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if ! "$python" -c 'import cfnlint' >/dev/null 2>&1; then
    if "$python" -c 'import sys, sysconfig, os; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) and sys.prefix == sys.base_prefix else 1)'; then
        venv=${PII_EDGE_TOOLS_VENV:-$HOME/.cache/pii-edge/cfn-lint-venv}
        echo "cfn-lint: $python is externally managed (PEP 668); installing into $venv" >&2
        if [ ! -x "$venv/bin/python" ]; then
            "$python" -m venv "$venv" || {
                echo "cfn-lint: cannot create a virtual environment with $python; install python3-venv (apt-get install python3-venv) or cfn-lint itself" >&2
                exit 1
            }
        fi
        python="$venv/bin/python"
    fi
    if ! "$python" -c 'import cfnlint' >/dev/null 2>&1; then
        echo "cfn-lint: installing with pip into $("$python" -c 'import sys; print(sys.prefix)')" >&2
        "$python" -m pip install --quiet --disable-pip-version-check cfn-lint
    fi
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
"$python" -c 'import sys; from cfnlint.runner import main; sys.exit(main())' \
    "${templates[@]}" || status=$?
if [ "$status" -ne 0 ]; then
    echo "cfn-lint: FAILED (exit $status) on ${templates[*]}" >&2
    exit "$status"
fi
echo "cfn-lint: ${#templates[@]} template(s) clean: ${templates[*]}"
