#!/usr/bin/env bash
# Installs the e2e peers and clients, pinned:
#   - the npm packages in package-lock.json (npm ci): the PLC directory and the official JS clients;
#   - the Python SDK in python/requirements.txt, into a virtualenv at e2e/.venv (or $E2E_VENV).
# Each install runs only when it is missing or its pin file changed since the last install.
# Idempotent; safe to run before every test run.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "e2e/setup.sh: node and npm are required (Node 20 or newer)" >&2
  exit 1
fi
stamp=node_modules/.lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if ! { [ -d node_modules ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; }; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
  node -e "import('@did-plc/server').then(() => console.log('e2e: @did-plc/server ok on node ' + process.version))"
fi

# The Python SDK for e2e/python/ (used by e2e/run.sh, not by the PLC directory).
venv=${E2E_VENV:-$PWD/.venv}
pystamp=$venv/.requirements-sha256
pywant=$(sha256sum python/requirements.txt | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ -f "$pystamp" ] && [ "$(cat "$pystamp")" = "$pywant" ]; then
  exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "e2e/setup.sh: python3 (3.9 or newer, with venv) is required for e2e/python" >&2
  exit 1
fi
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r python/requirements.txt
echo "$pywant" >"$pystamp"
"$venv/bin/python" -c "import atproto, pytest; from importlib.metadata import version; print('e2e: atproto ' + version('atproto') + ', pytest ' + pytest.__version__ + ' in $venv')"
