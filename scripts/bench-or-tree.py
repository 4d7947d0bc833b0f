#!/usr/bin/env python3
"""Prometheus's evaluation time of a batched query (issue 25): N counter selectors, each tagged
with label_replace, joined as a left-deep `a or b or ...` chain and as a balanced tree, over 10
one-minute steps. Run against the Prometheus of `scripts/bench-daemon.sh ... distinct` while it is
up (BENCH_PORT, default 19290).
Usage: scripts/bench-or-tree.py [N] [URL]"""
import json
import sys
import time
import urllib.parse
import urllib.request

N = int(sys.argv[1]) if len(sys.argv) > 1 else 64
URL = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:19290"
tagged = [
    f'label_replace(http_requests_total{{service="svc{i % 1000:03d}",route="/r{i}"}}, "__slowburn_q", "{k}", "", "")'
    for k, i in enumerate(range(0, 2 * N, 2))
]


def tree(xs):
    if len(xs) == 1:
        return xs[0]
    m = len(xs) // 2
    return f"({tree(xs[:m])} or {tree(xs[m:])})"


end = int(time.time()) // 60 * 60 - 1200
for name, expr in [("chain", " or ".join(tagged)), ("tree", tree(tagged))] * 3:
    data = urllib.parse.urlencode(
        {"query": expr, "start": end - 540, "end": end, "step": 60, "stats": "all"}
    ).encode()
    t = time.time()
    answer = json.load(urllib.request.urlopen(f"{URL}/api/v1/query_range", data))
    wall = (time.time() - t) * 1000
    ev = answer["data"].get("stats", {}).get("timings", {}).get("evalTotalTime", 0) * 1000
    print(f"{name}: {len(answer['data']['result'])} series, evaluation {ev:.1f} ms, wall {wall:.1f} ms")
