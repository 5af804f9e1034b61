#!/usr/bin/env bash
# Benchmark: the reference (@atproto/repo on Node 22) against our engine (release build), on the
# same workload, in one run. Prints a table: operation, reference (ms), ours (ms), ratio.
# Not a test: nothing here fails on a slow number. See README.md.
#
#   vectors/reference/bench.sh            full sizes (100k-key tree, 10k inserts, 10k-record repo)
#   vectors/reference/bench.sh --quick    a tenth of the sizes, for a smoke run
#   BENCH_OUT=/tmp/bench vectors/reference/bench.sh    keep the inputs and results there
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
quick=${1:-}

if [ -n "${BENCH_OUT:-}" ]; then
  out=$BENCH_OUT
  mkdir -p "$out"
else
  out=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX")
  trap 'rm -rf "$out"' EXIT
fi

"$here/install.sh"
node="$here/node_modules/.bin/node"
echo "building the Rust side (release)"
if ! (cd "$root" && cargo build --quiet --locked --release -p vectors --bin bench) >"$out/build.log" 2>&1; then
  cat "$out/build.log"
  exit 1
fi
target=$(cd "$root" && cargo metadata --format-version 1 --no-deps --locked |
  "$node" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')

echo "reference (@atproto/repo 0.10.14, node $("$node" --version)):"
"$node" "$here/bench.mjs" "$out" $quick
echo "ours (release build):"
"$target/release/bench" "$out"
