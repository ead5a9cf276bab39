#!/usr/bin/env bash
# The main job: start a local demo stack (Redis, PostgreSQL) configured like a typical first deployment, audit it,
# write the reports to ./out/, stop it.  Works from a fresh machine (scripts/setup.sh installs what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
set +e
.venv/bin/readiness demo --out out
code=$?
set -e
case "$code" in
  0) echo "exit code 0: the gate passed (every required item of the demo stack is ready)";;
  1) echo "exit code 1: the gate blocked, as expected: the demo stack has the findings of a typical first deployment";;
  *) echo "exit code $code: the demo did not run"; exit "$code";;
esac
echo "reports in out/: report.json (and report.html, report.xml, report.md where those formats are installed)"
