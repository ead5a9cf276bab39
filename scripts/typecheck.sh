#!/usr/bin/env bash
# mypy against an installed (non-editable) copy: checks/ and reports/ only exist as readiness.checks and
# readiness.reports once installed, so checking the source tree directly would miss or misname them.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
.venv/bin/python -m pip install -q --no-deps --disable-pip-version-check --target "$tmp/site" .
cd "$tmp" && MYPYPATH="$tmp/site" "$OLDPWD/.venv/bin/mypy" --ignore-missing-imports --no-error-summary -p readiness "$@"
