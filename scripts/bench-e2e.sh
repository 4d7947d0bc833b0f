#!/usr/bin/env bash
# End-to-end benchmark: `report` for 100 SLOs over 30 days against a local Prometheus, and the
# Prometheus cost (samples read, from stats=all) of slowburn's per-minute queries vs a Sloth-style
# rule set for the same SLO. Prints the figures that go into BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${BENCH_PORT:-19190}"
W="$PWD/target/bench-e2e"
SERVICES=10
INTERVAL="${BENCH_INTERVAL:-60}"
scripts/install-test-deps.sh >/dev/null
cargo build --release --quiet --bin slowburn --example bench_history
rm -rf "$W" && mkdir -p "$W"
END=$(target/release/examples/bench_history "$W/h.om" "$SERVICES" "$INTERVAL" 31)
promtool tsdb create-blocks-from openmetrics -q --max-block-duration=744h "$W/h.om" "$W/data" >/dev/null
rm -f "$W/h.om"
printf 'global: {scrape_interval: 15s}\nscrape_configs: []\n' > "$W/p.yml"
prometheus --config.file="$W/p.yml" --storage.tsdb.path="$W/data" --storage.tsdb.retention.time=400d \
  --web.listen-address="127.0.0.1:$PORT" > "$W/prom.log" 2>&1 &
PROM=$!
trap 'kill $PROM 2>/dev/null || true' EXIT
until curl -fsS "http://127.0.0.1:$PORT/-/ready" >/dev/null 2>&1; do sleep 0.2; done
URL="http://127.0.0.1:$PORT"

# 100 SLOs: per service five availability objectives and five latency thresholds.
{
  echo "prometheus: {url: \"$URL\"}"
  echo "slos:"
  for i in $(seq 0 $((SERVICES - 1))); do
    s=$(printf 'svc%03d' "$i")
    for o in 99 99.5 99.9 99.95 99.99; do
      echo "  - {service: $s, name: avail-$o, objective: $o, sli: {ratio: {errors: 'http_requests_total{service=\"$s\",code=~\"5..\"}', total: 'http_requests_total{service=\"$s\"}'}}}"
    done
    for t in 0.05 0.1 0.2 0.5 1; do
      echo "  - {service: $s, name: lat-$t, objective: 95, sli: {latency: {histogram: 'http_request_duration_seconds{service=\"$s\"}', threshold: '$t'}}}"
    done
  done
} > "$W/slo.yaml"
target/release/slowburn validate -c "$W/slo.yaml"

echo "== report, 100 SLOs, 30d of 1m buckets, scrape interval ${INTERVAL}s (3 runs)"
for run in 1 2 3; do
  /usr/bin/time -f "slowburn_cpu_s=%U+%S max_rss_kb=%M" target/release/slowburn report -c "$W/slo.yaml" \
    --at "$END" --format json --stats > "$W/report.json" 2> "$W/stderr.txt"
  grep -E "^stats:|slowburn_cpu" "$W/stderr.txt" | tr '\n' ' '; echo
done

samples() { # query start end step -> totalQueryableSamples
  curl -fsS "$URL/api/v1/query_range" --data-urlencode "query=$1" -d "start=$2" -d "end=$3" -d "step=$4" -d stats=all |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["stats"]["samples"]["totalQueryableSamples"])'
}
isamples() { # query time -> totalQueryableSamples of an instant query
  curl -fsS "$URL/api/v1/query" --data-urlencode "query=$1" -d "time=$2" -d stats=all |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["stats"]["samples"]["totalQueryableSamples"])'
}
S=svc000
ERR="http_requests_total{service=\"$S\",code=~\"5..\"}"
TOT="http_requests_total{service=\"$S\"}"
echo "== Prometheus samples read per evaluation minute, one availability SLO ($S)"
# slowburn, steady state: each minute re-reads the last 3 buckets (4 edges) of errors and total.
a=$(samples "$ERR" $((END - 180)) "$END" 60); b=$(samples "$TOT" $((END - 180)) "$END" 60)
echo "slowburn per minute (re-query last 3 buckets): errors=$a total=$b sum=$((a + b))"
# Sloth style: one ratio rule per window, every minute.
sum=0
for w in 5m 30m 1h 2h 6h 1d 3d 30d; do
  n=$(isamples "sum(rate(${ERR}[$w])) / sum(rate(${TOT}[$w]))" "$END")
  echo "sloth-style ratio rule [$w]: $n"
  sum=$((sum + n))
done
echo "sloth-style total per evaluation: $sum"
python3 -c "print('ratio slowburn/sloth = 1/%.0f' % ($sum / ($a + $b)))"
