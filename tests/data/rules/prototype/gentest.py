import sys, json, os
from model import *
import gen

N = 201  # minutes 0..200
INPUT = {
    'http_requests_total{service="api",code="200"}': "0+90x99 0+90x100",
    'http_requests_total{service="api",code="500"}': "_x61 10+10x139",
    'http_request_duration_seconds_bucket{service="api",le="0.2"}': "0+99x100 9970+70x99",
    'http_request_duration_seconds_count{service="api"}': "0+100x200",
    'ghost_requests_total{result="bad"}': "_x150 1+1x49",
    'ghost_requests_total{result="good"}': "_x170 0+1000x29",
}
vals = {k: expand(v, N) for k, v in INPUT.items()}
n = N - 1
def inc(keys): return increases([vals[k] for k in keys], n)

avail = combine(None, inc(['http_requests_total{service="api",code="500"}']),
                inc(['http_requests_total{service="api",code="200"}', 'http_requests_total{service="api",code="500"}']), n)
lat = combine(inc(['http_request_duration_seconds_bucket{service="api",le="0.2"}']), None,
              inc(['http_request_duration_seconds_count{service="api"}']), n)
ghost = combine(inc(['ghost_requests_total{result="good"}']), inc(['ghost_requests_total{result="bad"}']), None, n)

M = 60
GHOST = {"service": "api", "name": "ghost", "objective": 0.99, "periods": [2592000],
         "spec": {"good": 'ghost_requests_total{result="good"}', "bad": 'ghost_requests_total{result="bad"}'},
         "policy": gen.POL30, "own": {}, "dashboard": gen.DASH + "ghost", "info": {"sli": "ratio", "source": "prometheus",
         "queries": 'ghost_requests_total{result="good"} ; ghost_requests_total{result="bad"}'}}
SLOS = [(gen.RATIO, avail), (gen.LAT, lat), (GHOST, ghost)]

def f(v): return float(v)

def fmt_labels(name, d):
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(d.items())) + "}"

def tests(split):
    pi = 300 if split else 60
    groups = []
    for slo, _ in SLOS: groups += gen.render(slo, period_interval=pi)
    rules = gen.dump(groups)
    order = []
    for slo, _ in SLOS:
        base = f"slowburn-{slo['service']}-{slo['name']}"
        order.append(base)
        if any(g["name"] == base + ":periods" for g in groups): order.append(base + ":periods")
    exprs = []
    alerts = []
    def add(expr, t, samples):
        exprs.append({"expr": expr, "eval_time": f"{t}m", "exp_samples": [{"labels": l, "value": v} for l, v in samples]})
    for slo, b in SLOS:
        ident = {"service": slo["service"], "slo": slo["name"]}
        obj = slo["objective"]
        periods = [p // 60 for p in slo["periods"]]
        exported = [w // 60 for w in gen.BURN] + [p for p in periods if p * 60 not in gen.BURN]
        fast = set(w // 60 for w in gen.BURN)
        for r in slo["policy"]["rules"]: fast |= {r["long"] // 60, r["short"] // 60}
        long_ = [p for p in periods if p not in fast] if split else []
        t = 200
        at = lambda w: t - 1 if w in long_ else t
        W = lambda w: Window(b, at(w), w)
        sel = lambda name, extra="": name + "{" + ",".join(f'{k}="{v}"' for k, v in ident.items()) + ("," + extra if extra else "") + "}"
        # tiles at t
        last = b[t - 1]
        if last is not None:
            add(sel("slowburn:slo_events_total:increase1m"), t, [(fmt_labels("slowburn:slo_events_total:increase1m", ident), f(last[1]))])
            add(sel("slowburn:slo_events_bad:increase1m"), t, [(fmt_labels("slowburn:slo_events_bad:increase1m", ident), f(last[1] - last[0]))])
        # 1h holds exactly 60 tiles
        add(f'count_over_time({sel("slowburn:slo_events_total:increase1m")}[3599s])', t,
            [(fmt_labels("", ident)[0:], f(W(60).known))])
        burns = []
        for w in exported:
            v = W(w).burn(obj)
            if v is not None: burns.append((fmt_labels("slo_burn_rate", {**ident, "window": gen.dur(w * 60)}), f(v)))
        add(sel("slo_burn_rate"), t, burns)
        ev = W(5)
        add(sel("slo_events"), t, [(fmt_labels("slo_events", {**ident, "window": "5m", "kind": "good"}), f(ev.total - ev.bad_sum)),
                                   (fmt_labels("slo_events", {**ident, "window": "5m", "kind": "total"}), f(ev.total))])
        add(sel("slo_sli_ratio"), t, [(fmt_labels("slo_sli_ratio", {**ident, "window": gen.dur(p * 60)}), f(W(p).sli())) for p in periods if W(p).sli() is not None])
        add(sel("slo_coverage_ratio"), t, [(fmt_labels("slo_coverage_ratio", {**ident, "window": gen.dur(p * 60)}), f(W(p).coverage())) for p in periods])
        rem = {p: W(p).remaining(obj) for p in periods}
        add(sel("slo_error_budget_remaining_ratio"), t, [(fmt_labels("slo_error_budget_remaining_ratio", {**ident, "period": gen.dur(p * 60)}), f(r)) for p, r in rem.items() if r is not None])
        b1h = W(60).burn(obj)
        exh = []
        for p, r in rem.items():
            if r is None or b1h is None: continue
            v = 0.0 if r <= 0 else (r * (p * 60) / b1h if b1h > 0 else None)
            if v is not None: exh.append((fmt_labels("slo_budget_exhaustion_seconds", {**ident, "period": gen.dur(p * 60)}), f(v)))
        add(sel("slo_budget_exhaustion_seconds"), t, exh)
        add(sel("slo_objective_ratio"), t, [(fmt_labels("slo_objective_ratio", ident), f(obj))])
    sid = lambda s: s["service"] + "/" + s["name"]
    def budgets(slo, b, t):
        parts = []
        for p in sorted(slo["periods"], key=lambda p: gen.dur(p)):
            pm = p // 60
            fastp = not split or pm * 60 in gen.BURN or any(pm * 60 in (r["long"], r["short"]) for r in slo["policy"]["rules"])
            r = Window(b, t if fastp else t - 1, pm).remaining(slo["objective"])
            if r is not None: parts.append(f"{gen.dur(p)} budget {'%.1f' % (100 * r)}% left")
        return ", ".join(parts)
    def alert(slo, b, t, sev, rule, value):
        labels = {**slo["own"], "service": slo["service"], "slo": sid(slo), "severity": sev, "source": "slowburn"}
        v = repr(value) if value != int(value) else ("%d.0" % value)
        ann = {"summary": f"[{sev}] {sid(slo)} is burning its error budget: {rule} at {'%.1f' % value}x; {budgets(slo, b, t)}",
               "rule": rule, "burn_rate": v}
        if slo.get("description"): ann["description"] = slo["description"]
        if slo.get("dashboard"): ann["dashboard"] = slo["dashboard"]
        return {"exp_labels": labels, "exp_annotations": ann}
    (ra, rb), (la, lb), (ga, gb) = SLOS
    alerts = [
        {"eval_time": "200m", "alertname": "SLOErrorBudgetBurnPage", "exp_alerts": [alert(ra, rb, 200, "page", "1h/5m", Window(rb, 200, 60).burn(ra["objective"]))]},
        {"eval_time": "200m", "alertname": "SLOErrorBudgetBurnTicket", "exp_alerts": [alert(la, lb, 200, "ticket", "2h/30m", Window(lb, 200, 120).burn(la["objective"]))]},
        {"eval_time": "30m", "alertname": "SLOErrorBudgetBurnTicket", "exp_alerts": [alert(ga, gb, 30, "ticket", "no data 30m", 0.0)]},
        {"eval_time": "30m", "alertname": "SLOErrorBudgetBurnPage", "exp_alerts": []},
    ]
    # the ghost's tiles: no good series before 171, then both
    gsel = 'slowburn:slo_events_total:increase1m{service="api",slo="ghost"}'
    add(gsel, 160, [(gsel, 1.0)])
    add(gsel, 172, [(gsel, 1001.0)])
    add('slo_alert_firing{slo="availability"}', 200, [('slo_alert_firing{service="api",slo="availability",severity="page"}', 1.0), ('slo_alert_firing{service="api",slo="availability",severity="ticket"}', 0.0)])
    add('slo_alert_firing{slo="ghost"}', 30, [('slo_alert_firing{service="api",slo="ghost",severity="page"}', 0.0), ('slo_alert_firing{service="api",slo="ghost",severity="ticket"}', 1.0)])
    add('slo_coverage_ratio{slo="ghost"}', 30, [('slo_coverage_ratio{service="api",slo="ghost",window="30d"}', 0.0)])
    add('slo_events{slo="ghost"}', 30, [('slo_events{service="api",slo="ghost",window="5m",kind="good"}', 0.0), ('slo_events{service="api",slo="ghost",window="5m",kind="total"}', 0.0)])
    # a counter reset (code 200 drops to 0 at 100m) counts the new value, as counts.rs does
    asel = 'slowburn:slo_events_total:increase1m{service="api",slo="availability"}'
    add(asel, 100, [(asel, float(rb[99][1]))])
    return rules, order, exprs, alerts

def dump_test(rules_file, order, exprs, alerts):
    out = {"rule_files": [rules_file], "evaluation_interval": "1m", "group_eval_order": order,
           "tests": [{"interval": "1m", "input_series": [{"series": k, "values": v} for k, v in INPUT.items()],
                      "promql_expr_test": exprs, "alert_rule_test": alerts}]}
    return json.dumps(out, indent=1)

def pack(parts, mx):
    out = []
    for name, rules in parts:
        for i in range(0, max(len(rules), 1), mx):
            piece = rules[i:i + mx]
            pname = name if i == 0 else f"{name}:{i // mx + 1}"
            if out and len(out[-1][1]) + len(piece) <= mx:
                out[-1][1].extend(piece)
            else:
                out.append((pname, list(piece)))
    return out

def mimir(split):
    pi = 300 if split else 60
    fast, slow = [], []
    for slo, _ in SLOS:
        gs = gen.render(slo, period_interval=pi)
        fast.append((gs[0]["name"], gs[0]["rules"]))
        if len(gs) > 1: slow.append((gs[1]["name"], gs[1]["rules"]))
    groups = [{"name": n, "interval": "1m", "rules": r} for n, r in pack(fast, 20)] + \
             [{"name": n, "interval": "5m", "rules": r} for n, r in pack(slow, 20)]
    return groups

def yq(v):
    return json.dumps(v) if isinstance(v, str) else repr(v)

def dump_test_yaml(rules_file, order, exprs, alerts, comment):
    o = [comment, f"rule_files: [{rules_file}]", "evaluation_interval: 1m", "group_eval_order:"]
    o += [f"  - {yq(g)}" for g in order]
    o += ["tests:", "  - interval: 1m", "    input_series:"]
    for k, v in INPUT.items():
        o += [f"      - series: {yq(k)}", f"        values: {yq(v)}"]
    o += ["    promql_expr_test:"]
    for e in exprs:
        o += [f"      - expr: {yq(e['expr'])}", f"        eval_time: {e['eval_time']}", "        exp_samples:" + (" []" if not e["exp_samples"] else "")]
        for s in e["exp_samples"]:
            o += [f"          - labels: {yq(s['labels'])}", f"            value: {yq(s['value'])}"]
    o += ["    alert_rule_test:"]
    for a in alerts:
        o += [f"      - eval_time: {a['eval_time']}", f"        alertname: {a['alertname']}", "        exp_alerts:" + (" []" if not a["exp_alerts"] else "")]
        for x in a["exp_alerts"]:
            o += ["          - exp_labels:"] + [f"              {k}: {yq(v)}" for k, v in x["exp_labels"].items()]
            o += ["            exp_annotations:"] + [f"              {k}: {yq(v)}" for k, v in x["exp_annotations"].items()]
    return "\n".join(o) + "\n"


if __name__ == "__main__":
    # Writes ../ratio_burn{,_single}.{rules,test}.yaml beside slo.yaml.
    D = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..") + "/"
    for split, stem in ((True, "ratio_burn"), (False, "ratio_burn_single")):
        rules, order, exprs, alerts = tests(split)
        head = ("# What `slowburn rules --target prometheus -c slo.yaml" + ("" if split else " --period-interval 1m") +
                "` writes for slo.yaml (header comments aside;\n# shape, not bytes: the YAML writer may quote or fold differently). promtool check rules passes.\n")
        open(D + stem + ".rules.yaml", "w").write(head + rules)
        comment = ("# promtool test rules " + stem + ".test.yaml: 200 minutes of counters scraped every minute (a reset at 100m,\n"
                   "# an error series that appears at 61m, a latency histogram turning slow at 100m, an SLO with no data\n"
                   "# until 151m). Every expected value is the daemon's arithmetic (src/source/counts.rs, src/budget.rs) on\n"
                   "# the same samples, computed exactly (IEEE doubles, the same operations in the same order)" +
                   (";\n# the period sums come from the 5m group, so at 200m they hold the tiles up to 199m." if split else "."))
        open(D + stem + ".test.yaml", "w").write(dump_test_yaml(stem + ".rules.yaml", order, exprs, alerts, comment))
