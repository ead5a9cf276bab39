#!/usr/bin/env bash
# Regenerate deploy/ (and the chart's RBAC source) from charts/readiness: see scripts/render_deploy.py.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${VENV:-.venv}/bin/python" scripts/render_deploy.py "$@"
