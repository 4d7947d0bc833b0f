#!/usr/bin/env python3
"""Prometheus's own CPU for one tick of the 10,000-SLO bench (issue 25), by the shape of the
requests: the 20,000 selectors tagged with label_replace and joined 64 to a request with `or`,
against the same selectors merged where they differ in one label (`route=~"/r0|/r100|..."`, one
request each), over 5 one-minute steps. Prometheus's CPU is read from its own
process_cpu_seconds_total before and after; 8 requests in flight, as the daemon sends them.

Run against the Prometheus of `scripts/bench-daemon.sh 10000 N distinct` while it is up, or one
loaded from `scripts/bench-fleet-history.py` output.
Usage: scripts/bench-merge.py [N_SLOS] [URL] [END_TIMESTAMP]"""
import collections
import concurrent.futures
import sys
import time
import urllib.parse
import urllib.request

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
URL = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:19290"
END = int(sys.argv[3]) if len(sys.argv) > 3 else int(time.time()) // 60 * 60 - 1200
STEPS = 5


def svc(i):  # as scripts/bench-fleet-history.py names them
    return f"svc{i % 100:03d}"


# (metric, [matchers but route], route) of every selector the fleet's SLOs ask.
parts = []
for i in range(N):
    base = [f'service="{svc(i)}"']
    if i % 2 == 0:
        parts += [("http_requests_total", base + ['code="500"'], f"/r{i}"),
                  ("http_requests_total", base, f"/r{i}")]
    else:
        parts += [("http_request_duration_seconds_bucket", base + ['le="0.2"'], f"/r{i}"),
                  ("http_request_duration_seconds_count", base, f"/r{i}")]
def selector(metric, matchers):
    return metric + "{" + ",".join(matchers) + "}"


plain = [selector(m, rest + ['route="' + r + '"']) for m, rest, r in parts]
groups = collections.defaultdict(list)
for m, rest, r in parts:
    groups[(m, tuple(rest))].append(r)
merged = [selector(m, list(rest) + ['route=~"' + "|".join(rs) + '"']) for (m, rest), rs in groups.items()]


def tree(xs):
    if len(xs) == 1:
        return xs[0]
    half = len(xs) // 2
    return f"({tree(xs[:half])} or {tree(xs[half:])})"


def tagged(sels):
    return tree([f'label_replace({s}, "__slowburn_q", "{k}", "", "")' for k, s in enumerate(sels)])


def prometheus_cpu():
    for line in urllib.request.urlopen(URL + "/metrics").read().decode().splitlines():
        if line.startswith("process_cpu_seconds_total"):
            return float(line.split()[1])
    return float("nan")


def ask(query):
    body = urllib.parse.urlencode({"query": query, "start": END - (STEPS - 1) * 60, "end": END,
                                   "step": 60, "stats": "all"}).encode()
    return len(urllib.request.urlopen(URL + "/api/v1/query_range", body).read())


def run(name, queries):
    c0, t0 = prometheus_cpu(), time.time()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        size = sum(pool.map(ask, queries))
    print(f"{name}: {len(queries)} requests, wall {time.time() - t0:.2f} s, "
          f"Prometheus CPU {prometheus_cpu() - c0:.2f} s, {size / 1e6:.1f} MB")


for _ in range(2):
    run("tagged, 64 a request joined with `or`",
        [tagged(plain[g:g + 64]) for g in range(0, len(plain), 64)])
    run("merged by route, one request each", merged)
