#!/usr/bin/env bash
# Loki benchmarks (issue 9, item 8) against the FAKE Loki of tests/it/fakes/loki.rs, release build:
# the 30-day backfill of one log SLO, and the daemon's per-tick cost for 100 log SLOs.
# Usage: scripts/bench-loki.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --quiet --test it loki::backfill_30_days_finishes -- --nocapture 2>&1 | grep "30d backfill"
cargo test --release --quiet --test it loki_everywhere::bench_daemon_ticks_100_log_slos -- --ignored --nocapture 2>&1 | grep "^bench:"
