#!/usr/bin/env bash
# Daemon benchmarks (issues 3 and 25): start to ready, RSS, CPU per steady tick, Prometheus
# requests and samples read per tick and `/metrics` render time of `slowburn run` with N SLOs and
# 35 days of stored history; then a restart after one minute down, and (COLD=1) a first start on an
# empty store.
# Usage: scripts/bench-daemon.sh [N_SLOS] [TICKS] [MODE]   (defaults 10000, 3, shared)
#   MODE shared:   N availability SLOs over 10 services' 2 days of history (20 distinct selectors)
#   MODE distinct: every SLO reads series of its own (half ratio, half latency, a quarter with
#                  labels; scripts/bench-fleet-history.py), 3 hours in Prometheus
# Environment: PROFILE=release|profiling (cargo profile; `profiling` keeps symbols for perf),
#   SLOWBURN_BIN=path (the daemon to measure, e.g. an older build), NO_BUILD=1, PERF=1 (perf record
#   over the steady ticks; the top symbols go to target/bench-daemon/perf.txt; PERF_G=1 adds call
#   graphs, for a build with frame pointers, PERF_G=dwarf unwinds with DWARF instead: slower to
#   record, but needs no special build), PERF_RESTART=1 (DWARF call graphs of the restart, inclusive,
#   to target/bench-daemon/perf-restart.txt), RESTARTS=n (measure the restart n times), COLD=1,
#   REFS=1 (the memory each steady tick touches: the kernel's referenced bits are cleared before
#   the tick, through /proc/PID/clear_refs, and read after it; clearing them costs the tick some
#   CPU, so compare CPU figures only between runs of the same setting).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-10000}"
TICKS="${2:-3}"
MODE="${3:-shared}"
PROFILE="${PROFILE:-release}"
PORT="${BENCH_PORT:-19290}"
LISTEN="127.0.0.1:${BENCH_LISTEN_PORT:-19464}"
W="$PWD/target/bench-daemon"
T="$PWD/target/$PROFILE"
scripts/install-test-deps.sh >/dev/null
[ -n "${NO_BUILD:-}" ] || cargo build --profile "$PROFILE" --quiet --bin slowburn --example bench_history --example bench_populate
BIN="${SLOWBURN_BIN:-$T/slowburn}"
# The config sits in a directory of its own: the daemon watches its directory, and the log
# written beside it would wake the watcher at every line (7% of a tick's CPU, measured).
rm -rf "$W" && mkdir -p "$W/cfg"
if [ "$MODE" = distinct ]; then
  python3 scripts/bench-fleet-history.py "$W/h.om" "$W/cfg/slo.yaml" "$N" 3 "http://127.0.0.1:$PORT" >/dev/null
else
  "$T/examples/bench_history" "$W/h.om" 10 60 2 >/dev/null
fi
promtool tsdb create-blocks-from openmetrics -q --max-block-duration=744h "$W/h.om" "$W/pdata" >/dev/null
rm -f "$W/h.om"
printf 'global: {scrape_interval: 15s}\nscrape_configs: []\n' > "$W/p.yml"
prometheus --config.file="$W/p.yml" --storage.tsdb.path="$W/pdata" --storage.tsdb.retention.time=400d \
  --web.listen-address="127.0.0.1:$PORT" > "$W/prom.log" 2>&1 &
PROM=$!
SB=""
trap 'kill $PROM 2>/dev/null || true; [ -z "$SB" ] || kill $SB 2>/dev/null || true' EXIT
until curl -fsS "http://127.0.0.1:$PORT/-/ready" >/dev/null 2>&1; do sleep 0.2; done
if [ "$MODE" != distinct ]; then
{
  echo "prometheus: {url: \"http://127.0.0.1:$PORT\", max_concurrency: 8}"
  echo "engine: {delay: 5s}"
  echo "slos:"
  for i in $(seq 0 $((N - 1))); do
    s=$(printf 'svc%03d' $((i % 10)))
    echo "  - {service: $s, name: slo$i, objective: 99.9, sli: {ratio: {errors: 'http_requests_total{service=\"$s\",code=~\"5..\"}', total: 'http_requests_total{service=\"$s\"}'}}}"
  done
} > "$W/cfg/slo.yaml"
fi
"$T/examples/bench_populate" "$W/cfg/slo.yaml" "$W/data" 35
du -sh "$W/data"
HZ=$(getconf CLK_TCK)
rss() { awk '/VmRSS/ {print int($2 / 1024)}' /proc/$SB/status; }
hwm() { awk '/VmHWM/ {print int($2 / 1024)}' /proc/$SB/status; }
cpu() { awk '{print $14 + $15}' /proc/$SB/stat; }   # clock ticks (usually 1/100 s)
pcpu() { awk '{print $14 + $15}' /proc/$PROM/stat; } # Prometheus's own, answering the daemon
secs() { python3 -c "print(round(($2 - $1) / $HZ, 3))"; }
# Prometheus requests and samples the daemon read so far (from its own /metrics, read between
# the CPU windows so that rendering it is not counted as tick CPU).
reads() { curl -fsS "http://$LISTEN/metrics" | awk '
  /^slowburn_source_query_duration_seconds_count\{source="prometheus"/ {r += $NF}
  /^slowburn_source_samples_read_total\{source="prometheus"/ {s += $NF}
  END {printf "%d %d", r, s}'; }
# Starts the daemon on DATA_DIR and waits for /readyz; prints start to ready, CPU, RSS and reads.
start() {
  local t0 t1 p0
  p0=$(pcpu)
  t0=$(date +%s.%N)
  SLOWBURN_LOG="${SLOWBURN_LOG:-info}" "$BIN" run -c "$W/cfg/slo.yaml" --data-dir "$1" --listen "$LISTEN" >> "$W/run.log" 2>&1 &
  SB=$!
  if [ -n "${PERF_RESTART:-}" ] && [ "$2" = "restart after a minute down" ]; then
    perf record -F 999 -e cpu-clock --call-graph dwarf,16384 -p "$SB" -o "$W/perf-restart.data" 2>/dev/null &
  fi
  until curl -fsS "http://$LISTEN/readyz" >/dev/null 2>&1; do sleep 0.05; done
  t1=$(date +%s.%N)
  local c1 p1; c1=$(cpu); p1=$(pcpu)
  read -r r0 s0 <<< "$(reads)"
  echo "$2: start to ready $(python3 -c "print(round($t1 - $t0, 2))") s, CPU $(secs 0 "$c1") s, RSS $(rss) MiB (peak $(hwm)), $r0 Prometheus requests, $s0 samples read, Prometheus CPU $(secs "$p0" "$p1") s"
}
stop() { kill -TERM "$SB"; while kill -0 "$SB" 2>/dev/null; do sleep 0.1; done; SB=""; }
# Poll a small endpoint (not /metrics, whose rendering would count as tick CPU).
at() { curl -fsS "http://$LISTEN/api/v1/slos/svc000/slo0" | python3 -c 'import json,sys; print(json.load(sys.stdin)["at"])'; }

start "$W/data" "first start, $N SLOs, 35 days stored"
last=$(at)
case "${PERF_G:-}" in
  "") CG=() ;;
  dwarf) CG=(-F 299 --call-graph dwarf,16384) ;;   # any build with symbols (the profiling profile)
  *) CG=(-g) ;;                                     # a build with frame pointers
esac
[ -z "${PERF:-}" ] || { perf record -F 999 -e cpu-clock "${CG[@]}" -p "$SB" -o "$W/perf.data" 2>/dev/null & PERFPID=$!; }
for t in $(seq 1 "$TICKS"); do
  [ -z "${REFS:-}" ] || echo 1 > "/proc/$SB/clear_refs"
  c0=$(cpu); p0=$(pcpu)
  while [ "$(at)" = "$last" ]; do sleep 1; done
  c1=$(cpu); p1=$(pcpu)
  last=$(at)
  read -r r1 s1 <<< "$(reads)"
  touched=""
  [ -z "${REFS:-}" ] || touched=", touched $(awk '/^Referenced/ {print int($2 / 1024)}' "/proc/$SB/smaps_rollup") MiB"
  echo "tick $t: CPU $(secs "$c0" "$c1") s, RSS $(rss) MiB$touched, $((r1 - r0)) Prometheus requests, $((s1 - s0)) samples read, Prometheus CPU $(secs "$p0" "$p1") s"
  r0=$r1; s0=$s1
done
[ -z "${PERF:-}" ] || { kill -INT "$PERFPID"; wait "$PERFPID" || true; }
S=$(date +%s.%N); curl -fsS "http://$LISTEN/metrics" -o "$W/metrics.txt"; E=$(date +%s.%N)
echo "/metrics: $(wc -l < "$W/metrics.txt") lines, $(du -h "$W/metrics.txt" | cut -f1), fetched in $(python3 -c "print(round(($E - $S) * 1000))") ms"
echo "peak RSS while running: $(hwm) MiB"
# A restart after one minute down: stopped just after a tick, started again once the next bucket
# boundary has passed, so one minute is missing (RESTARTS=n measures it n times).
for r in $(seq 1 "${RESTARTS:-1}"); do
  if [ "$r" -gt 1 ]; then
    last=$(at); while [ "$(at)" = "$last" ]; do sleep 0.5; done
  fi
  stop
  sleep $(( 65 - $(date +%s) % 60 ))
  start "$W/data" "restart after a minute down"
done
stop
if [ -n "${COLD:-}" ]; then
  start "$W/cold" "first start on an empty store (30 days to backfill)"
  stop
fi
if [ -n "${PERF_RESTART:-}" ]; then
  sleep 1   # perf writes its file once the daemon it followed has exited
  perf report -i "$W/perf-restart.data" --stdio --children --sort symbol --percent-limit 1.5 -g none 2>/dev/null \
    | grep -E '^ +[0-9]' > "$W/perf-restart.txt" || true
  echo "perf: the restart, inclusive (all of $W/perf-restart.txt)"; head -60 "$W/perf-restart.txt"
fi
if [ -n "${PERF:-}" ]; then
  perf report -i "$W/perf.data" --stdio --no-children --sort symbol --percent-limit 0.7 2>/dev/null \
    | grep -E '^ +[0-9]' > "$W/perf.txt" || true
  echo "perf: top symbols over the steady ticks (all of $W/perf.txt)"; head -25 "$W/perf.txt"
  if [ -n "${PERF_G:-}" ]; then # call graphs (a build with frame pointers): time inclusive of callees
    perf report -i "$W/perf.data" --stdio --children --sort symbol --percent-limit 2 -g none 2>/dev/null \
      | grep -E '^ +[0-9]' > "$W/perf-inclusive.txt" || true
    echo "perf: inclusive (all of $W/perf-inclusive.txt)"; grep -E 'slowburn::|redb::|serde|malloc' "$W/perf-inclusive.txt" | head -40
  fi
fi
