#!/usr/bin/env bash
# Makes $VENV (default .venv) a working virtual environment of $PYTHON (default python3), with pip in it.
# A half-made or broken one (no bin/python, a python that does not start, no pip; left behind by a `python3 -m venv`
# that failed, e.g. without Debian's python3-venv) is removed and made again; so is one of another interpreter when
# PYTHON is given explicitly (CI asks for Debian's /usr/bin/python3).  Used by scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
want="${PYTHON:-python3}"

works() {
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' 2>/dev/null \
    && "$VENV/bin/python" -m pip --version >/dev/null 2>&1
}
same_python() {
  [ -z "${PYTHON:-}" ] && return 0
  local here there
  here=$("$VENV/bin/python" -c 'import sys; print(sys.base_prefix, sys.version)') || return 1
  there=$("$want" -c 'import sys; print(sys.base_prefix, sys.version)') || return 1
  [ "$here" = "$there" ]
}

if [ -e "$VENV" ] && works && same_python; then
  exit 0
fi
if [ -e "$VENV" ]; then
  echo "venv: $VENV is broken or made by another interpreter than $want: making it again" >&2
  rm -rf "$VENV"
fi
if ! "$want" -m venv "$VENV"; then
  rm -rf "$VENV"  # never leave a half-made one for the next try
  echo "venv: '$want -m venv' failed; on Debian/Ubuntu install python3-venv (scripts/setup.sh does)" >&2
  exit 1
fi
if ! works; then
  rm -rf "$VENV"
  echo "venv: $VENV was made but has no working pip; on Debian/Ubuntu install python3-venv" >&2
  exit 1
fi
