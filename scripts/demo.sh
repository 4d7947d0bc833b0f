#!/usr/bin/env bash
# The README's run command: the real daemon against a real Prometheus, on this machine.
#  1. installs Prometheus (Debian package) if missing and builds slowburn;
#  2. backfills 31 days of demo history for service="api" (three past incidents) into a local
#     Prometheus, which also scrapes live demo traffic (a small generator with an incident switch);
#  3. runs `slowburn run` with the repository's slo.yaml until Ctrl-C.
# Everything lives in ./.demo. Ports: Prometheus 19090, demo traffic 19100, slowburn 9464.
set -euo pipefail
cd "$(dirname "$0")/.."
PROM_PORT="${SLOWBURN_DEMO_PORT:-19090}"
TRAFFIC="127.0.0.1:${SLOWBURN_DEMO_TRAFFIC_PORT:-19100}"
LISTEN="${SLOWBURN_LISTEN:-127.0.0.1:9464}"
DEMO="$PWD/.demo"
scripts/install-test-deps.sh
echo ">> building slowburn (release; the first build takes a few minutes)"
cargo build --release --quiet --bin slowburn --example demo_history --example demo_traffic
rm -rf "$DEMO" && mkdir -p "$DEMO"
echo ">> generating 31 days of demo history for service=\"api\""
END=$(target/release/examples/demo_history "$DEMO/history.om" 31)
promtool tsdb create-blocks-from openmetrics -q --max-block-duration=744h "$DEMO/history.om" "$DEMO/prometheus-data" >/dev/null
rm -f "$DEMO/history.om"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
target/release/examples/demo_traffic "$TRAFFIC" > "$DEMO/traffic.log" 2>&1 &
PIDS+=($!)
cat > "$DEMO/prometheus.yml" <<YAML
global: {scrape_interval: 15s}
scrape_configs:
  - job_name: demo-traffic
    static_configs: [{targets: ["$TRAFFIC"]}]
  - job_name: slowburn
    static_configs: [{targets: ["$LISTEN"]}]
YAML
prometheus --config.file="$DEMO/prometheus.yml" --storage.tsdb.path="$DEMO/prometheus-data" \
  --storage.tsdb.retention.time=400d --web.listen-address="127.0.0.1:$PROM_PORT" > "$DEMO/prometheus.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null || { echo "Prometheus did not start; see $DEMO/prometheus.log"; exit 1; }
cat <<MSG
>> Prometheus (demo history up to $(date -u -d "@$END" +%FT%TZ), plus live traffic) at http://127.0.0.1:$PROM_PORT
>> starting slowburn run with slo.yaml; once ready:
     metrics:  curl http://$LISTEN/metrics
     API:      curl http://$LISTEN/api/v1/slos
     one SLO:  curl http://$LISTEN/api/v1/slos/api/availability
     gate:     target/release/slowburn gate --slo api/availability --server http://$LISTEN
     incident: curl -X POST http://$TRAFFIC/incident/on   (and /incident/off)
   Ctrl-C stops everything.
MSG
SLOWBURN_PROMETHEUS_URL="http://127.0.0.1:$PROM_PORT" target/release/slowburn --log-format text run \
  --config slo.yaml --data-dir "$DEMO/data" --listen "$LISTEN"
