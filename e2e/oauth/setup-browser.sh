#!/usr/bin/env bash
# Installs the browser the OAuth suite drives: Debian's chromium (/usr/bin/chromium), with apt-get,
# only when it is missing. playwright-core (e2e/package.json) drives it; no browser is ever
# downloaded by npm. Idempotent. Needs root (as CI runs) for the install itself.
set -euo pipefail
chromium=${E2E_CHROMIUM:-/usr/bin/chromium}
if [ -x "$chromium" ] && "$chromium" --version >/dev/null 2>&1; then
  "$chromium" --version
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "e2e/oauth/setup-browser.sh: no Chromium at $chromium, and no apt-get as root to install Debian's chromium" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists may be absent on a fresh machine: refresh them only when chromium is unknown.
if ! apt-cache show chromium >/dev/null 2>&1; then
  apt-get update -q
fi
# fonts-dejavu-core: the pages' text must render in the screenshots.
apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
"$chromium" --version
