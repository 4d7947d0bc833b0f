#!/usr/bin/env bash
# Side-by-side benchmark: `slowburn report` versus Google's slo-generator 2.x (PyPI, Prometheus
# backend) on the same local Prometheus holding 31 days of synthetic history (10 services), for
# 30 SLOs (3 per service) and 100 SLOs (10 per service, as in bench-e2e.sh), each tool run as ONE
# process over all SLOs, 3 runs each, alternating. Prints per run wall time, client CPU (user+sys),
# max RSS, the query requests Prometheus answered and Prometheus's own CPU (process_cpu_seconds_total),
# the ratios of the medians, and both tools' 30d SLI side by side (all SLOs computed, or it fails).
# Usage: scripts/bench-slo-generator.sh     (BENCH_PORT=19390; NO_BUILD=1 skips cargo build;
#   PROFILE=release|profiling picks the cargo profile; SLOWBURN_BIN=path measures another build)
# slo-generator's Prometheus backend ignores --timestamp and queries "now": the history ends at the
# current minute (bench_history), so its 30d window lags slowburn's (`--at END`) by a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
T0=$SECONDS
PORT="${BENCH_PORT:-19390}"
URL="http://127.0.0.1:$PORT"
W="$PWD/target/bench-slogen"
V="$PWD/target/slogen-venv"
SERVICES=10
command -v prometheus >/dev/null && command -v promtool >/dev/null || scripts/install-test-deps.sh >/dev/null
PROFILE="${PROFILE:-release}"
T="target/$PROFILE"
[ "${NO_BUILD:-0}" = 1 ] || cargo build --profile "$PROFILE" --quiet --bin slowburn --example bench_history
SB="${SLOWBURN_BIN:-$T/slowburn}"
if [ ! -x "$V/bin/slo-generator" ]; then # pkg_resources is gone from setuptools >= 81
  python3 -m venv "$V" && "$V/bin/pip" install -q 'slo-generator[prometheus]' 'setuptools<81'
fi
SLOGEN_VERSION=$("$V/bin/slo-generator" -v 2>/dev/null)
rm -rf "$W" && mkdir -p "$W"
END=$("$T/examples/bench_history" "$W/h.om" "$SERVICES" 60 31)
promtool tsdb create-blocks-from openmetrics -q --max-block-duration=744h "$W/h.om" "$W/data" >/dev/null
rm -f "$W/h.om"
printf 'global: {scrape_interval: 15s}\nscrape_configs: []\n' > "$W/p.yml"
if curl -fsS "$URL/-/ready" >/dev/null 2>&1; then echo "port $PORT already in use" >&2; exit 1; fi
prometheus --config.file="$W/p.yml" --storage.tsdb.path="$W/data" --storage.tsdb.retention.time=400d \
  --web.listen-address="127.0.0.1:$PORT" > "$W/prom.log" 2>&1 &
PROM=$!
trap 'kill $PROM 2>/dev/null || true; wait $PROM 2>/dev/null || true' EXIT
for _ in $(seq 300); do curl -fsS "$URL/-/ready" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "$URL/-/ready" >/dev/null || { echo "Prometheus not ready:" >&2; tail "$W/prom.log" >&2; exit 1; }
prom() { # query requests Prometheus has answered so far, and its own CPU seconds
  curl -fsS "$URL/metrics" | awk '/^prometheus_http_requests_total\{.*handler="\/api\/v1\/query(_range)?"/ {q += $2}
    /^process_cpu_seconds_total / {c = $2} END {print q + 0, c}'
}
delta() { awk -v a="$1" -v b="$(prom)" 'BEGIN {split(a, x, " "); split(b, y, " "); print y[1] - x[1], y[2] - x[2]}'; }
# slo-generator's shared config: one backend, one single-step 30d policy, no exporters.
cat > "$W/config.yaml" <<EOF
backends:
  prometheus: {url: "$URL"}
error_budget_policies:
  default:
    steps:
      - {name: 30d, window: 2592000, burn_rate_threshold: 1, alert: false,
         message_alert: Budget overspent, message_ok: Within budget}
EOF
sg() { # FILE NAME SERVICE METHOD GOAL SLI: one slo-generator v2 SLO file
  printf '%s\n' "apiVersion: sre.google.com/v2" "kind: ServiceLevelObjective" \
    "metadata: {name: $2, labels: {service_name: $3, feature_name: http, slo_name: ${2#*-}}}" \
    "spec: {description: $2, backend: prometheus, method: $4, exporters: [], goal: $5," "  service_level_indicator: $6}" > "$1"
}
gen() { # N AVAIL_OBJECTIVES LATENCY_THRESHOLDS: slowburn's slo.yaml and one slo-generator file per SLO
  local d="$W/n$1" s o t
  mkdir -p "$d/slos"
  { echo "prometheus: {url: \"$URL\"}"; echo "defaults: {windows: [30d]}"; echo "slos:"; } > "$d/slo.yaml"
  for i in $(seq 0 $((SERVICES - 1))); do
    s=$(printf 'svc%03d' "$i")
    for o in $2; do
      echo "  - {service: $s, name: avail-$o, objective: $o, sli: {ratio: {errors: 'http_requests_total{service=\"$s\",code=~\"5..\"}', total: 'http_requests_total{service=\"$s\"}'}}}" >> "$d/slo.yaml"
      sg "$d/slos/$s-avail-$o.yaml" "$s-avail-$o" "$s" good_bad_ratio "$(awk "BEGIN {print $o / 100}")" \
        "{filter_good: 'http_requests_total{service=\"$s\",code!~\"5..\"}', filter_valid: 'http_requests_total{service=\"$s\"}'}"
    done
    for t in $3; do
      echo "  - {service: $s, name: lat-$t, objective: 95, sli: {latency: {histogram: 'http_request_duration_seconds{service=\"$s\"}', threshold: '$t'}}}" >> "$d/slo.yaml"
      sg "$d/slos/$s-lat-$t.yaml" "$s-lat-$t" "$s" distribution_cut 0.95 \
        "{expression: 'http_request_duration_seconds_bucket{service=\"$s\"}', threshold_bucket: '$t'}"
    done
  done
  "$SB" validate -c "$d/slo.yaml" >/dev/null
  [ "$(ls "$d/slos" | wc -l)" -eq "$1" ]
}
gen 30 "99.5 99.9" "0.2"
gen 100 "99 99.5 99.9 99.95 99.99" "0.05 0.1 0.2 0.5 1"
echo "== slowburn report vs $SLOGEN_VERSION, history end $END ($(date -u -d "@$END" +%FT%TZ)), Prometheus $URL"
for n in 30 100; do
  d="$W/n$n"
  for run in 1 2 3; do
    p=$(prom)
    /usr/bin/time -o "$d/t" -f "%e %U %S %M" "$SB" report -c "$d/slo.yaml" --at "$END" \
      --format json > "$d/report.json" 2> "$d/sb.err" || { cat "$d/sb.err" >&2; exit 1; }
    echo "slowburn $n $run $(cat "$d/t") $(delta "$p")" >> "$W/times.txt"
    p=$(prom)
    /usr/bin/time -o "$d/t" -f "%e %U %S %M" "$V/bin/slo-generator" compute -f "$d/slos" -c "$W/config.yaml" \
      > "$d/slogen.out" 2> "$d/slogen.err" || { cat "$d/slogen.out" "$d/slogen.err" >&2; exit 1; }
    echo "slo-generator $n $run $(cat "$d/t") $(delta "$p")" >> "$W/times.txt"
    ok=$(grep -c '| SLI: ' "$d/slogen.out" || true)
    if [ "$ok" -ne "$n" ] || grep -qE '^(ERROR|WARNING)' "$d/slogen.out"; then
      echo "slo-generator computed $ok of $n SLOs:" >&2; grep -vF '| SLI: ' "$d/slogen.out" >&2; exit 1
    fi
  done
  python3 - "$d/report.json" "$d/slogen.out" "$n" <<'EOF'
import json, re, sys
sb = {s["id"].replace("/", "-"): s["periods"]["30d"] for s in json.load(open(sys.argv[1]))["slos"]}
sg = {m[1]: (float(m[2]) / 100, int(m[3]), int(m[4])) for m in
      re.finditer(r"INFO - (\S+)\s*\|[^|]*\| SLI: ([\d.]+)\s*%.*Good: (\d+)\s*\| Bad: (\d+)", open(sys.argv[2]).read())}
assert len(sg) == len(sb) == int(sys.argv[3]), (len(sg), len(sb))
print(f"N={sys.argv[3]}: max |SLI slowburn - slo-generator| over all SLOs = {max(abs(sb[k]['sli'] - v[0]) for k, v in sg.items()):.2e}")
for k in ("svc000-avail-99.9", "svc003-lat-0.2"):
    print(f"  {k:18} slowburn 30d sli={sb[k]['sli']:.6f} total={sb[k]['total']:.0f} | "
          f"slo-generator sli={sg[k][0]:.6f} total={sg[k][1] + sg[k][2]}")
EOF
done
python3 - "$W/times.txt" <<'EOF'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
print(f"{'tool':14}{'N':>4}{'run':>4}{'wall s':>8}{'CPU s':>8}{'RSS MiB':>9}{'queries':>9}{'Prom CPU s':>11}")
med = {}
for t, n, r, wall, u, s, rss, q, pc in rows:
    print(f"{t:14}{n:>4}{r:>4}{float(wall):8.2f}{float(u) + float(s):8.2f}{int(rss) / 1024:9.1f}{q:>9}{float(pc):11.2f}")
    med.setdefault((t, n), []).append((float(wall), float(u) + float(s), int(rss) / 1024, float(pc)))
for n in ("30", "100"):
    a, b = med[("slowburn", n)], med[("slo-generator", n)]
    r = [st.median(x[i] for x in a) / st.median(x[i] for x in b) for i in range(4)]
    print(f"N={n:>3} median ratio slowburn/slo-generator: wall {r[0]:.2f}  CPU {r[1]:.2f}  RSS {r[2]:.2f}  Prom CPU {r[3]:.2f}")
EOF
echo "total script time: $((SECONDS - T0)) s"
