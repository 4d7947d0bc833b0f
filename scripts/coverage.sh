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
echo ">> cargo llvm-cov: building every test, instrumented"
# (cargo llvm-cov's --no-run means "report only"; listing the tests builds them and runs none.)
cargo llvm-cov --no-report "$@" -- --list >/dev/null
# The tests that wait out live incidents in real time (.ci/slow-tests) run in a second process,
# all at once and started first: libtest starts tests in name order, which put the longest
# (receivers::…, 5 minutes) last. Both processes write their own profiles; the report merges them.
mapfile -t slow < <(grep -v '^#' .ci/slow-tests | sed '/^[[:space:]]*$/d')
skip=()
for t in "${slow[@]}"; do skip+=(--skip "$t"); done
slow_log="$(mktemp)"
trap 'rm -f "$slow_log"' EXIT
echo ">> cargo llvm-cov: ${#slow[@]} slow tests (.ci/slow-tests) beside every other test"
cargo llvm-cov --no-report "$@" --test it -- --exact --test-threads="${#slow[@]}" "${slow[@]}" \
  >"$slow_log" 2>&1 &
slow_pid=$!
rest=0
cargo llvm-cov --no-report --no-fail-fast "$@" -- --exact "${skip[@]}" || rest=$?
slow_rc=0
wait "$slow_pid" || slow_rc=$?
echo ">> the slow tests (.ci/slow-tests)"
cat "$slow_log"
if [ "$rest" -ne 0 ] || [ "$slow_rc" -ne 0 ]; then
  echo "tests failed (every other test: exit $rest; the slow ones: exit $slow_rc)" >&2
  exit 1
fi
echo ">> line coverage (floor ${min}%)"
cargo llvm-cov report --summary-only | tail -n 1
cargo llvm-cov report --summary-only --fail-under-lines "$min" >/dev/null \
  || { echo "line coverage is below the floor of ${min}% (.ci/coverage-min)" >&2; exit 1; }
