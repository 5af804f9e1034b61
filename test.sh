#!/usr/bin/env bash
# The whole test suite, in one command. Installs what it needs (idempotently) and runs every check.
#   ./test.sh            everything
#   FAST=1 ./test.sh     skip the slow extras (audit install, fuzz smoke, reference cross-check)
set -euo pipefail
cd "$(dirname "$0")"
root=$PWD
export ATPROTO_SHARED="${ATPROTO_SHARED:-$(cd "$root/.." && pwd)/shared}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
step() { printf '\n==> %s\n' "$*"; }

if [ ! -d "$ATPROTO_SHARED/atproto-interop-tests" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "error: the official vectors are missing at $ATPROTO_SHARED (set ATPROTO_SHARED)" >&2
    exit 1
  fi
  echo "warning: no vectors at $ATPROTO_SHARED; the conformance tests will say so loudly" >&2
fi

step "formatting"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

if [ -z "${FAST:-}" ]; then
  step "cargo audit (offline, ../shared/advisory-db)"
  scripts/ensure-tool cargo-audit cargo-audit 0.22.2
  cargo audit --db "$ATPROTO_SHARED/advisory-db" --no-fetch --stale
fi

step "PLC directory for the relay's tests (e2e/, real @did-plc/server in memory)"
e2e/setup.sh
plc_log=$(mktemp)
node e2e/plc-server.mjs --port 0 >"$plc_log" 2>&1 &
plc_pid=$!
trap 'kill "$plc_pid" 2>/dev/null || true; rm -f "$plc_log"' EXIT
for _ in $(seq 1 300); do
  grep -q '^PLC_URL=' "$plc_log" && break
  kill -0 "$plc_pid" 2>/dev/null || { cat "$plc_log" >&2; echo "error: the PLC directory did not start" >&2; exit 1; }
  sleep 0.1
done
RELAY_TEST_PLC_URL=$(sed -n 's/^PLC_URL=//p' "$plc_log" | head -n1)
[ -n "$RELAY_TEST_PLC_URL" ] || { cat "$plc_log" >&2; echo "error: the PLC directory did not start" >&2; exit 1; }
export RELAY_TEST_PLC_URL
echo "PLC directory at $RELAY_TEST_PLC_URL"

step "unit, property and integration tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
cargo test --workspace --locked --doc

if [ -z "${FAST:-}" ]; then
  step "cross-check against the reference implementation (@atproto/repo, @atproto/crypto)"
  vectors/reference/run.sh

  step "fuzz smoke (bounded)"
  fuzz/smoke.sh
fi

step "end-to-end: the official clients (@atproto/api, @atproto/repo, Python atproto) against the relay"
e2e/run.sh

step "end-to-end: OAuth (@atproto/oauth-client-node, Debian chromium on the relay's own pages, raw-HTTP MUSTs)"
e2e/oauth/run.sh

step "end-to-end: account migration, the reference PDS to the relay and back (@atproto/api, one PLC directory)"
e2e/migration/run.sh

step "L2 oracle: the relay and the reference PDS on the same scenarios (fast subset; nightly: oracle/run --full)"
python3 oracle/check_compose.py
oracle/run

step "L1 conformance: the official vectors"
cargo run --quiet --locked -p vectors --bin l1
