#!/usr/bin/env bash
# Re-pin the lexicon JSON in this folder from the npm package @atproto/api.
#
#   lexicons/pin.sh            # re-dump the version named in lexicons.lock.json
#   lexicons/pin.sh 0.20.42    # pin another version
#
# The package is installed into a throw-away directory (no node_modules here);
# pin.mjs then writes one JSON file per NSID and lexicons.lock.json.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
package="@atproto/api"
version="${1:-$(node -p 'require(process.argv[1]).version' "$here/lexicons.lock.json")}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "installing $package@$version into $tmp" >&2
npm install --prefix "$tmp" --ignore-scripts --no-audit --no-fund --loglevel=error \
  "$package@$version" >&2
npm view "$package@$version" dist --json >"$tmp/dist.json"

node "$here/pin.mjs" "$tmp" "$package" "$version" "$tmp/dist.json" "$here"
