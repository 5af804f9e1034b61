#!/usr/bin/env bash
# Cross-check of our repo engine against the reference implementation (@atproto/repo 0.10.14,
# @atproto/crypto 0.5.5), both ways:
#   1a  the reference writes MST-root vectors (random, mined same-layer, insert-then-delete)
#   1b  the reference writes full-repo CARs (P-256, K-256) with manifests
#   2   our engine replays every MST vector and verifies every reference CAR, then writes its own
#       CARs and signed commits (crosscheck binary)
#   1c  the reference verifies what our engine wrote
# Prints one line per check group and finally `cross-check: N passed, M failed`; exits non-zero on
# any failure. Idempotent: `npm ci` runs only when node_modules is missing or older than the lock.
#
#   vectors/reference/run.sh                  output in a temporary folder, removed afterwards
#   CROSSCHECK_OUT=/tmp/xc vectors/reference/run.sh    keep the output there
#   CROSSCHECK_SEED=123 vectors/reference/run.sh       other random key sets (default: fixed seed)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seed=${CROSSCHECK_SEED:-20261125}

if [ -n "${CROSSCHECK_OUT:-}" ]; then
  out=$CROSSCHECK_OUT
  rm -rf "$out/ref-cars" "$out/rust-cars"
  mkdir -p "$out"
else
  out=$(mktemp -d "${TMPDIR:-/tmp}/crosscheck.XXXXXX")
  trap 'rm -rf "$out"' EXIT
fi
log="$out/run.log"
: >"$log"

# --- install the reference stack (pinned by package-lock.json) only when needed
"$here/install.sh" || { echo "FAIL cross-check: installing the reference packages"; echo "cross-check: 0 passed, 1 failed"; exit 1; }
node="$here/node_modules/.bin/node"

steps_failed=0
# Runs one step, showing its output and keeping it for the totals. A step that exits non-zero
# without printing a FAIL group line still counts as one failure.
step() {
  local name=$1
  shift
  local start=$SECONDS
  "$@" 2>&1 | tee -a "$log" | tee "$out/step.log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$out/step.log"; then
    echo "FAIL $name: exited with status $rc" | tee -a "$log"
    steps_failed=$((steps_failed + 1))
  fi
  echo "     ($name: $((SECONDS - start)) s)"
}

step "reference mst vectors" "$node" "$here/gen-mst.mjs" "$out" "$seed"
step "reference cars" "$node" "$here/gen-cars.mjs" "$out" "$seed"
# build quietly (other crates' warnings belong to clippy's step), then run the binary itself
if ! (cd "$root" && cargo build --quiet --locked -p vectors --bin crosscheck) >"$out/build.log" 2>&1; then
  tail -n 40 "$out/build.log"
  echo "FAIL rust engine: the crosscheck binary does not build" | tee -a "$log"
  steps_failed=$((steps_failed + 1))
else
  target=$(cd "$root" && cargo metadata --format-version 1 --no-deps --locked |
    "$node" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
  step "rust engine" "$target/debug/crosscheck" "$out" all
fi
step "reference verifies ours" "$node" "$here/verify-cars.mjs" "$out/rust-cars" "reference verifies ours"

# totals: the group lines are `ok   <label>: N passed, M failed` or `FAIL <label>: ...`
read -r passed failed < <(awk '
  /^(ok  |FAIL) .*: [0-9]+ passed, [0-9]+ failed$/ { p += $(NF-3); f += $(NF-1) }
  END { print p+0, f+0 }' "$log")
failed=$((failed + steps_failed))
echo "cross-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
