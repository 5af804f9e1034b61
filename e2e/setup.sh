#!/usr/bin/env bash
# Installs the e2e peers pinned in package-lock.json (npm ci), only when node_modules is missing
# or the lock changed since the last install. Idempotent; safe to run before every test run.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "e2e/setup.sh: node and npm are required (Node 20 or newer)" >&2
  exit 1
fi
stamp=node_modules/.lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -d node_modules ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$want" >"$stamp"
node -e "import('@did-plc/server').then(() => console.log('e2e: @did-plc/server ok on node ' + process.version))"
