#!/usr/bin/env bash
# Installs schemathesis (pinned in requirements.txt) into a virtualenv at e2e/.venv-schemathesis
# (or $SCHEMATHESIS_VENV), for the /v1 API's schema test (crates/wallet/tests/schemathesis.rs).
# Runs pip only when the venv is missing or the pin changed. Idempotent. Prints the venv path.
set -euo pipefail
cd "$(dirname "$0")"
venv=${SCHEMATHESIS_VENV:-$(cd .. && pwd)/.venv-schemathesis}
stamp=$venv/.requirements-sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if ! { [ -x "$venv/bin/st" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; }; then
  if ! command -v python3 >/dev/null 2>&1; then
    echo "e2e/schemathesis/setup.sh: python3 (with venv) is required" >&2
    exit 1
  fi
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r requirements.txt >&2
  echo "$want" >"$stamp"
fi
echo "$venv"
