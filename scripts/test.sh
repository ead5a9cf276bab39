#!/usr/bin/env bash
# The test command: installs everything the tests need (scripts/setup.sh), then runs pytest.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k redis -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p artifacts
# pytest, not `python -m pytest`: the repo root must not shadow the installed readiness.checks/readiness.reports.
exec "${VENV:-.venv}/bin/pytest" "$@"
