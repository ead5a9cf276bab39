#!/usr/bin/env bash
# The main job: a real audit with its reports, written to ./out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
set +e
.venv/bin/readiness audit --json out/report.json
code=$?
set -e
echo "exit code $code (0 ready, 1 blocked); report in out/report.json"
