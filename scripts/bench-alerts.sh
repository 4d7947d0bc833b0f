#!/usr/bin/env bash
# Alert delivery benchmark (issue 4, item 9): N SLOs (default 1000) page at once on live scraped
# traffic; prints evaluation-to-acceptance latency, time to deliver every page, the most PagerDuty
# events in any 60 s (limit 120), Slack spacing (limit 1/s), 429s received and peak RSS as JSON.
# Usage: scripts/bench-alerts.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000}"
scripts/install-test-deps.sh >/dev/null
cargo build --release --quiet --bin slowburn --example bench_alerts
target/release/examples/bench_alerts target/release/slowburn "$N" target/bench-alerts
