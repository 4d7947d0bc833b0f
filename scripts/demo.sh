#!/usr/bin/env bash
# The README's run command: sets up a local Prometheus with 31 days of demo history for the web API
# of slo.yaml, then runs slowburn against it. Everything lives in ./.demo; nothing else is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${SLOWBURN_DEMO_PORT:-19090}"
DEMO="$PWD/.demo"
scripts/install-test-deps.sh
echo ">> building slowburn (release)"
cargo build --release --quiet --bin slowburn --example demo_history
rm -rf "$DEMO" && mkdir -p "$DEMO"
echo ">> generating 31 days of demo traffic for service=\"api\" (with three incidents)"
END=$(target/release/examples/demo_history "$DEMO/history.om" 31)
promtool tsdb create-blocks-from openmetrics -q --max-block-duration=744h "$DEMO/history.om" "$DEMO/prometheus-data" >/dev/null
rm -f "$DEMO/history.om"
printf 'global: {scrape_interval: 15s}\nscrape_configs: []\n' > "$DEMO/prometheus.yml"
prometheus --config.file="$DEMO/prometheus.yml" --storage.tsdb.path="$DEMO/prometheus-data" \
  --storage.tsdb.retention.time=400d --web.listen-address="127.0.0.1:$PORT" > "$DEMO/prometheus.log" 2>&1 &
PROM_PID=$!
trap 'kill $PROM_PID 2>/dev/null || true' EXIT
until curl -fsS "http://127.0.0.1:$PORT/-/ready" >/dev/null 2>&1; do sleep 0.2; done
echo ">> Prometheus with demo history is up at http://127.0.0.1:$PORT"
export SLOWBURN_PROMETHEUS_URL="http://127.0.0.1:$PORT"
target/release/slowburn validate --config slo.yaml
echo ">> slowburn report --at $END (the end of the demo history)"
target/release/slowburn report --config slo.yaml --at "$END"
echo
echo ">> the same as JSON: target/release/slowburn report --config slo.yaml --at $END --format json"
target/release/slowburn report --config slo.yaml --at "$END" --format json | head -40
