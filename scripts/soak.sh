#!/usr/bin/env bash
# The kill and outage soak (issue 11, item 19). CI runs the same tests shortened (8 kills, a
# 2-hour source outage, a 1-hour receiver outage on a synthetic clock); this script runs them at
# length and prints the figures BENCHMARKS.md records.
#   KILLS (default 100): kill -9s of a daemon against a real Prometheus, at random moments during
#     backfill and steady state; its store is then compared bucket for bucket to a clean run's.
#   OUTAGE_HOURS (default 2): a source outage of 1-minute buckets on the engine's paused clock,
#     then every bucket healed to the truth (more than the 64 buckets held in memory).
#   RECEIVER_OUTAGE_S (default 3600): a webhook down while 40 SLOs fire and resolve; then each
#     notification arrives exactly once, trigger before resolve.
# Needs what the test suite needs (scripts/install-test-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
KILLS="${KILLS:-100}"
OUTAGE_HOURS="${OUTAGE_HOURS:-2}"
RECEIVER_OUTAGE_S="${RECEIVER_OUTAGE_S:-3600}"
bash scripts/install-test-deps.sh >/dev/null
export CI=true
t0=$(date +%s)
SLOWBURN_SOAK_KILLS="$KILLS" cargo test --release --test it crash:: -- --nocapture 2>&1 \
  | grep -E "kill -9s|test result|panicked"
SLOWBURN_SOAK_OUTAGE_HOURS="$OUTAGE_HOURS" cargo test --release --test it engine::a_long_outage -- --nocapture 2>&1 \
  | grep -E "test result|panicked"
SLOWBURN_SOAK_RECEIVER_OUTAGE_S="$RECEIVER_OUTAGE_S" cargo test --release --test it delivery_limits::a_one_hour -- --nocapture 2>&1 \
  | grep -E "receiver down|test result|panicked"
echo "soak done in $(( $(date +%s) - t0 )) s"
