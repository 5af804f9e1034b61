#!/usr/bin/env bash
# Installs the Python tools the wallet's tests use (crates/wallet/tests/python_tools.rs), pinned in
# requirements.txt, into a virtualenv at e2e/.venv-wallet (or $WALLET_PY_VENV): schemathesis (the
# /v1 API against its OpenAPI document) and mnemonic (Trezor's BIP-39 reference implementation).
# Runs pip only when the venv is missing or the pin changed. Idempotent. Prints the venv path.
set -euo pipefail
cd "$(dirname "$0")"
venv=${WALLET_PY_VENV:-$(cd .. && pwd)/.venv-wallet}
stamp=$venv/.requirements-sha256
# Tests run in parallel processes and may all call this at once: one installs, the others wait.
exec 9>"$venv.lock"
flock 9
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if ! { [ -x "$venv/bin/st" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; }; then
  if ! command -v python3 >/dev/null 2>&1; then
    echo "e2e/wallet-python/setup.sh: python3 (with venv) is required" >&2
    exit 1
  fi
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r requirements.txt >&2
  echo "$want" >"$stamp"
fi
echo "$venv"
