#!/usr/bin/env bash
# A short, bounded run of every fuzz target: proof that each builds and survives a few seconds of
# hostile input. Real fuzzing is the same command with a larger FUZZ_SECONDS.
# cargo-fuzz needs nightly flags (-Z sanitizer); RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
set -euo pipefail
cd "$(dirname "$0")"
../scripts/ensure-tool cargo-fuzz cargo-fuzz 0.13.2
export RUSTC_BOOTSTRAP=1
seconds=${FUZZ_SECONDS:-10}
targets=$(cargo fuzz list)
for t in $targets; do
  mkdir -p "corpus/$t"
  echo "fuzz $t for ${seconds}s"
  cargo fuzz run "$t" --sanitizer none -- -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 2>&1 | tail -n 3
done
echo "fuzz smoke: $(echo "$targets" | wc -w) targets ran without a crash"
