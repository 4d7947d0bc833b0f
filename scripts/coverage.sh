#!/usr/bin/env bash
# Runs every test once under LLVM's source-based coverage (cargo-llvm-cov) and fails when line
# coverage falls below the floor in .ci/coverage-min (the figure the suite reached when the gate
# was set; README "Testing" states it). The rustup toolchain here has no llvm-tools component, so
# the llvm-cov and llvm-profdata of Debian's llvm-N package, N being rustc's own LLVM major version,
# read the profiles (scripts/install-test-deps.sh installs both). The tested binary is
# instrumented too: a daemon a test stops with SIGTERM adds its coverage, one killed with -9 does not.
set -euo pipefail
cd "$(dirname "$0")/.."
major="$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')"
export LLVM_COV="${LLVM_COV:-/usr/lib/llvm-${major}/bin/llvm-cov}"
export LLVM_PROFDATA="${LLVM_PROFDATA:-/usr/lib/llvm-${major}/bin/llvm-profdata}"
for tool in "$LLVM_COV" "$LLVM_PROFDATA"; do
  if [ ! -x "$tool" ]; then
    echo "missing $tool: rustc uses LLVM $major; install Debian's llvm-$major (scripts/install-test-deps.sh)" >&2
    exit 1
  fi
done
command -v cargo-llvm-cov >/dev/null || { echo "missing cargo-llvm-cov (scripts/install-test-deps.sh)" >&2; exit 1; }
min="$(tr -d '[:space:]' < .ci/coverage-min)"
cargo llvm-cov clean --workspace
echo ">> cargo llvm-cov (every test, instrumented)"
cargo llvm-cov --no-report --no-fail-fast "$@"
echo ">> line coverage (floor ${min}%)"
cargo llvm-cov report --summary-only | tail -n 1
cargo llvm-cov report --summary-only --fail-under-lines "$min" >/dev/null \
  || { echo "line coverage is below the floor of ${min}% (.ci/coverage-min)" >&2; exit 1; }
