#!/usr/bin/env bash
# Installs what the tests and the demo need, from nothing: Debian's server packages and the Python environment.
# Idempotent: installs only what is missing.  Used by scripts/test.sh, scripts/demo.sh and CI.
set -euo pipefail
cd "$(dirname "$0")/.."

# python3-venv: Debian's python3 has no ensurepip without it; ca-certificates: pip's HTTPS to the package index.
APT_PACKAGES=(python3-venv ca-certificates
              redis-server redis-sentinel postgresql pgbouncer nginx zookeeper clickhouse-server chromium
              prometheus-pushgateway  # audit --pushgateway against the real one: tests/test_pushgateway.py
              memcached)  # memcached: the plugin-backend example (examples/readiness-memcached)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
  # policy-rc.d keeps the packages from starting system-wide services: the tests start their own.
  echo 'exit 101' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod +x /usr/sbin/policy-rc.d
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
  $SUDO rm -f /usr/sbin/policy-rc.d
fi

VENV="${VENV:-.venv}"
VENV="$VENV" bash scripts/venv.sh  # makes it, or makes again a half-made or broken one
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[test]'
