#!/usr/bin/env python3
"""History and config for a fleet of SLOs whose selectors are all distinct (issue 25, item 1).

Usage: bench-fleet-history.py OUT_OM OUT_SLO_YAML N_SLOS HOURS PROM_URL

Every SLO reads series of its own: even SLOs are availability ratios on
http_requests_total{service, route, code}, odd ones latency SLIs on the histogram
http_request_duration_seconds{service, route}; every fourth SLO carries labels. Samples every
60 s for HOURS hours, ending at the current minute (the store holds the 35 days before).
Prints the end timestamp.
"""
import sys, time

out_om, out_cfg, n, hours, prom = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
end = int(time.time()) // 60 * 60
steps = hours * 60
ts = [end - (steps - k) * 60 for k in range(steps + 1)]

def svc(i):
    return f"svc{i % 100:03d}"

with open(out_om, "w", buffering=1 << 22) as f:
    f.write("# TYPE http_requests counter\n")
    for i in range(0, n, 2):
        rps = 1 + i % 50
        for code, share in (("200", 0.999), ("500", 0.001)):
            lab = f'service="{svc(i)}",route="/r{i}",code="{code}"'
            for k, t in enumerate(ts):
                f.write(f"http_requests_total{{{lab}}} {int(k * 60 * rps * share)} {t}\n")
    f.write("# TYPE http_request_duration_seconds histogram\n")
    for i in range(1, n, 2):
        rps = 1 + i % 50
        lab = f'service="{svc(i)}",route="/r{i}"'
        for le, share in (("0.2", 0.97), ("+Inf", 1.0)):
            for k, t in enumerate(ts):
                f.write(f'http_request_duration_seconds_bucket{{{lab},le="{le}"}} {int(k * 60 * rps * share)} {t}\n')
        for k, t in enumerate(ts):
            f.write(f"http_request_duration_seconds_count{{{lab}}} {int(k * 60 * rps)} {t}\n")
    f.write("# EOF\n")

with open(out_cfg, "w") as c:
    c.write(f'prometheus: {{url: "{prom}", max_concurrency: 8}}\nengine: {{delay: 5s}}\nslos:\n')
    for i in range(n):
        labels = f", labels: {{team: t{i % 7}, tier: '{i % 3}'}}" if i % 4 == 0 else ""
        if i % 2 == 0:
            sel = f'{{service="{svc(i)}",route="/r{i}"'
            c.write(f"  - {{service: {svc(i)}, name: slo{i}, objective: 99.9{labels}, sli: {{ratio: "
                    f"{{errors: 'http_requests_total{sel},code=\"500\"}}', total: 'http_requests_total{sel}}}'}}}}}}\n")
        else:
            c.write(f"  - {{service: {svc(i)}, name: slo{i}, objective: 99{labels}, sli: {{latency: "
                    f"{{histogram: 'http_request_duration_seconds{{service=\"{svc(i)}\",route=\"/r{i}\"}}', threshold: 200ms}}}}}}\n")
print(end)
