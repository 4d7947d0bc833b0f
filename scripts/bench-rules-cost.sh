#!/usr/bin/env bash
# The Prometheus cost of one SLO three ways, measured with stats=all on one Prometheus holding 31
# days of history (issue 24, item 6): the daemon's per-minute queries, the rules
# `slowburn rules` writes, and a Sloth-style rule set. The exported rules read their own recorded
# series, so those are backfilled first, layer by layer (`promtool tsdb create-blocks-from rules`
# cannot backfill rules that read other rules in one pass): the tiles over all 31 days (the 30d
# sums read them), the later layers over the last few minutes (their rules read instant values).
# Then every rule's expression is run once at the end with stats=all; a rule's samples per minute
# are its samples per evaluation times its group's evaluations per minute.
# Usage: scripts/bench-rules-cost.sh   (prints the figures that go into BENCHMARKS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${BENCH_PORT:-19191}"
W="$PWD/target/bench-rules-cost"
scripts/install-test-deps.sh >/dev/null
cargo build --release --quiet --bin slowburn --example bench_history
rm -rf "$W" && mkdir -p "$W"
END=$(target/release/examples/bench_history "$W/h.om" 1 60 31)
END=$((END / 60 * 60))
promtool tsdb create-blocks-from openmetrics -q --max-block-duration=744h "$W/h.om" "$W/data" >/dev/null
rm -f "$W/h.om"
printf 'global: {scrape_interval: 15s}\nscrape_configs: []\n' > "$W/p.yml"
URL="http://127.0.0.1:$PORT"
PROM=""
start_prometheus() {
  prometheus --config.file="$W/p.yml" --storage.tsdb.path="$W/data" --storage.tsdb.retention.time=400d \
    --web.listen-address="127.0.0.1:$PORT" >> "$W/prom.log" 2>&1 &
  PROM=$!
  until curl -fsS "$URL/-/ready" >/dev/null 2>&1; do sleep 0.2; done
}
stop_prometheus() { kill "$PROM" 2>/dev/null || true; wait "$PROM" 2>/dev/null || true; }
trap stop_prometheus EXIT
start_prometheus

S=svc000
cat > "$W/slo.yaml" <<EOF
prometheus: {url: "$URL"}
slos:
  - service: $S
    name: availability
    objective: 99.9
    sli:
      ratio:
        errors: 'http_requests_total{service="$S",code=~"5.."}'
        total: 'http_requests_total{service="$S"}'
EOF
target/release/slowburn rules -c "$W/slo.yaml" --out "$W/rules.yaml"

# Layers: a recording rule's layer is one more than the deepest rule it reads.
python3 - "$W" <<'PY'
import sys, yaml, re
w = sys.argv[1]
doc = yaml.safe_load(open(f"{w}/rules.yaml"))
recs = {}
for g in doc["groups"]:
    for r in g["rules"]:
        if "record" in r:
            recs.setdefault(r["record"], []).append((g, r))
def reads(expr):
    return {n for n in recs if re.search(r"(?<![\w:])" + re.escape(n) + r"(?![\w:])", expr)}
layer = {}
def depth(name, seen=()):
    if name in layer:
        return layer[name]
    d = 0
    for g, r in recs[name]:
        for dep in reads(r["expr"]) - {name}:
            if dep not in seen:
                d = max(d, depth(dep, seen + (name,)) + 1)
    layer[name] = d
    return d
for n in recs:
    depth(n)
top = max(layer.values())
for k in range(top + 1):
    out = {"groups": []}
    for g in doc["groups"]:
        rules = [r for r in g["rules"] if "record" in r and layer[r["record"]] == k]
        if rules:
            out["groups"].append({"name": g["name"], "interval": g.get("interval", "1m"), "rules": rules})
    yaml.safe_dump(out, open(f"{w}/layer{k}.yaml", "w"), sort_keys=False)
print(top + 1, file=open(f"{w}/layers", "w"))
PY
LAYERS=$(cat "$W/layers")
for k in $(seq 0 $((LAYERS - 1))); do
  if [ "$k" -eq 0 ]; then FROM=$((END - 31 * 86400 + 600)); else FROM=$((END - 600)); fi
  rm -rf "$W/out"
  promtool tsdb create-blocks-from rules -q --url="$URL" --start="$FROM" --end="$END" \
    --output-dir="$W/out" "$W/layer$k.yaml" >/dev/null
  stop_prometheus
  cp -r "$W"/out/* "$W/data/"
  start_prometheus
  echo "backfilled layer $k of $LAYERS"
done

isamples() { # query time -> totalQueryableSamples of an instant query
  curl -fsS "$URL/api/v1/query" --data-urlencode "query=$1" -d "time=$2" -d stats=all |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["stats"]["samples"]["totalQueryableSamples"])'
}
samples() { # query start end step -> totalQueryableSamples
  curl -fsS "$URL/api/v1/query_range" --data-urlencode "query=$1" -d "start=$2" -d "end=$3" -d "step=$4" -d stats=all |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["stats"]["samples"]["totalQueryableSamples"])'
}

echo "== exported rules (slowburn rules --target prometheus), one availability SLO, at the end"
python3 - "$W" > "$W/exprs.tsv" <<'PY'
import sys, yaml
w = sys.argv[1]
doc = yaml.safe_load(open(f"{w}/rules.yaml"))
def minutes(d):
    n, u = int(d[:-1]), d[-1]
    return n * {"s": 1 / 60, "m": 1, "h": 60}[u]
for g in doc["groups"]:
    per_min = 1 / minutes(g.get("interval", "1m"))
    for r in g["rules"]:
        name = r.get("record") or ("alert:" + r["alert"])
        print(f'{per_min}\t{name}\t{" ".join(r["expr"].split())}')
PY
TOTAL=0
RULES=0
while IFS=$'\t' read -r per_min name expr; do
  n=$(isamples "$expr" "$END")
  m=$(python3 -c "print(round($n * $per_min, 1))")
  printf '%-48s %8s per evaluation, %10s per minute\n' "$name" "$n" "$m"
  TOTAL=$(python3 -c "print($TOTAL + $n * $per_min)")
  RULES=$((RULES + 1))
done < "$W/exprs.tsv"
python3 -c "print('exported rules: $RULES rules, %.0f samples per minute' % $TOTAL)"

ERR="http_requests_total{service=\"$S\",code=~\"5..\"}"
TOT="http_requests_total{service=\"$S\"}"
a=$(samples "$ERR" $((END - 180)) "$END" 60); b=$(samples "$TOT" $((END - 180)) "$END" 60)
echo "daemon per minute (re-query the last 3 buckets): $((a + b))"
sum=0
for w in 5m 30m 1h 2h 6h 1d 3d 30d; do
  n=$(isamples "sum(rate(${ERR}[$w])) / sum(rate(${TOT}[$w]))" "$END")
  sum=$((sum + n))
done
echo "sloth-style rules per minute (one ratio rule per window, every minute): $sum"
