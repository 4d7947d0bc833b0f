# Throwaway Python prototype of src/export/rules (same expressions), to validate shapes with promtool.
import json, sys

BURN = [300, 1800, 3600, 7200, 21600, 86400, 259200]

def dur(secs):
    # Dur Display: shortest exact form, units d h m s
    if secs == 0: return "0s"
    out = ""
    for u, n in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if secs >= n:
            out += f"{secs // n}{u}"; secs %= n
    return out

def pdur(ms):
    for u, n in (("d", 86400000), ("h", 3600000), ("m", 60000), ("s", 1000), ("ms", 1)):
        if ms % n == 0: return f"{ms // n}{u}"

def q(s): return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

def sel(name, ident, extra=""):
    m = f'service={q(ident[0])},slo={q(ident[1])}'
    if extra: m += "," + extra
    return f"{name}{{{m}}}"

def edge(x, b):
    return f"sum((({x} - {x} offset {b}) >= 0) or ({x} and {x} offset {b}))"

def tiles(spec, b):
    g, bad, t = spec.get("good"), spec.get("bad"), spec.get("total")
    if t and g and not bad:
        return edge(t, b), f"clamp_min(\n  {edge(t, b)}\n  - ({edge(g, b)} or vector(0)),\n  0\n)"
    if t and bad and not g:
        return edge(t, b), f"(\n  ({edge(bad, b)} or vector(0))\n  <= {edge(t, b)}\n)\nor {edge(t, b)}"
    if g and bad and not t:
        return (f"({edge(g, b)} + ({edge(bad, b)} or vector(0)))\nor {edge(bad, b)}",
                f"{edge(bad, b)}\nor (0 * {edge(g, b)})")

T = "slowburn:slo_events_total"
B = "slowburn:slo_events_bad"
K = "slowburn:slo_buckets_known"
H = "slowburn:slo_alert_holding:burn_rate"

def regex(ws): 
    names = [dur(w) for w in ws]
    return f'window={q(names[0])}' if len(names) == 1 else f'window=~{q("|".join(names))}'

def view(name, ident, ws, long, stale):
    fast = [w for w in ws if w not in long]
    lng = [w for w in ws if w in long]
    parts = []
    if fast: parts.append(sel(name, ident, regex(fast)))
    if lng: parts.append(f"last_over_time({sel(name, ident, regex(lng))}[{stale}])")
    return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"

def rng(w, aligned):
    return f"[{pdur(w*1000 - (1000 if aligned else 1))}]"

def rec(name, expr, labels):
    return {"record": name, "expr": expr, "labels": labels}

def render(slo, bucket=60, period_interval=300, full=False):
    ident = (slo["service"], slo["name"])
    idl = {"service": ident[0], "slo": ident[1]}
    b = pdur(bucket * 1000)
    bd = dur(bucket)
    obj = slo["objective"]
    budget = f"(1 - {obj})"
    periods = slo["periods"]
    policy = slo["policy"]
    exported = BURN + [p for p in periods if p not in BURN]
    pol_w = []
    for r in policy["rules"]:
        pol_w += [r["long"], r["short"]]
    if policy.get("no_data"): pol_w.append(policy["no_data"])
    fast = []
    for w in BURN + pol_w:
        if w not in fast: fast.append(w)
    split = period_interval != bucket
    long_ = [p for p in periods if p not in fast] if split else []
    allw = fast + [w for w in exported if w not in fast and w not in long_] + long_
    # ordering: sums in group A for every window not long
    a_w = [w for w in allw if w not in long_]
    shown = [w for w in exported if full or w in periods]
    counted = [w for w in exported if full or w == exported[0]]
    stale = pdur(2 * period_interval * 1000)
    tt, tb = f"{T}:increase{bd}", f"{B}:increase{bd}"
    tot, bad = tiles(slo["spec"], b)
    A, Bg = [], []
    A.append(rec(tt, tot, idl))
    A.append(rec(tb, bad, idl))
    def sums(name, tile, ws, aligned, fn="sum_over_time"):
        return " or\n".join(f'label_replace({fn}({sel(tile, ident)}{rng(w, aligned)}), "window", {q(dur(w))}, "", "")' for w in ws)
    A.append(rec(f"{T}:sum", sums(T, tt, a_w, True), idl))
    A.append(rec(f"{B}:sum", sums(B, tb, a_w, True), idl))
    a_k = [w for w in shown if w not in long_]
    if a_k: A.append(rec(f"{K}:count", sums(K, tt, a_k, True, "count_over_time"), idl))
    if long_:
        for w in long_:
            wl = {**idl, "window": dur(w)}
            Bg.append(rec(f"{T}:sum", f"sum_over_time({sel(tt, ident)}{rng(w, False)})", wl))
            Bg.append(rec(f"{B}:sum", f"sum_over_time({sel(tb, ident)}{rng(w, False)})", wl))
            Bg.append(rec(f"{K}:count", f"count_over_time({sel(tt, ident)}{rng(w, False)})", wl))
    V = lambda name, ws: view(name, ident, ws, long_, stale)
    zeros = lambda ws: " or ".join(f'label_replace(vector(0), "window", {q(dur(w))}, "", "")' for w in ws)
    # events
    A.append(rec("slo_events", f"{V(T+':sum', counted)}\nor on(window) ({zeros(counted)})", {**idl, "kind": "total"}))
    A.append(rec("slo_events", f"({V(T+':sum', counted)} - {V(B+':sum', counted)})\nor on(window) ({zeros(counted)})", {**idl, "kind": "good"}))
    A.append(rec("slo_burn_rate", f"{V(B+':sum', exported)}\n/ ({V(T+':sum', exported)} > 0)\n/ {budget}", idl))
    A.append(rec("slo_sli_ratio", f"({V(T+':sum', shown)} - {V(B+':sum', shown)})\n/ ({V(T+':sum', shown)} > 0)", idl))
    cov = " or\n".join(f'label_replace({V(K+":count", [w])} / {w // bucket} or on() vector(0), "window", {q(dur(w))}, "", "")' for w in shown)
    A.append(rec("slo_coverage_ratio", cov, idl))
    Tp, Bp = V(T+':sum', periods), V(B+':sum', periods)
    rem = f'label_replace(\n  label_replace(\n    (1 - {Bp} / ({budget} * ({Tp} > 0)))\n    or (({Tp} == 0) + 1),\n    "period", "$1", "window", "(.*)"\n  ),\n  "window", "", "", ""\n)'
    A.append(rec("slo_error_budget_remaining_ratio", rem, idl))
    R = sel("slo_error_budget_remaining_ratio", ident)
    ex = " or\n".join([f'(({sel("slo_error_budget_remaining_ratio", ident, "period=" + q(dur(p)))} > 0) * {p} / on(service, slo) group_left() ({sel("slo_burn_rate", ident, "window=" + q("1h"))} > 0))' for p in periods] + [f"clamp_min({R} <= 0, 0)"])
    A.append(rec("slo_budget_exhaustion_seconds", ex, idl))
    A.append(rec("slo_objective_ratio", f"vector({obj})", idl))
    A.append(rec("slo_info", "vector(1)", {**idl, **slo["info"]}))
    # holding
    def burn1(w): return f"{V(B+':sum', [w])} / ({V(T+':sum', [w])} > 0) / {budget}"
    def remain1(p): 
        return f"1 - {V(B+':sum', [p])} / ({budget} * ({V(T+':sum', [p])} > 0))"
    def lr(cond, name): return f'label_replace(\n  {cond},\n  "rule", {q(name)}, "", ""\n)'
    conds = {"page": [], "ticket": []}
    for r in policy["rules"]:
        c = f'max without(window) ({burn1(r["long"])} >= {r["factor"]})\n  and max without(window) ({burn1(r["short"])} >= {r["factor"]})'
        if policy["min_events"] > 0:
            c += f'\n  and max without(window) ({V(T+":sum", [r["long"]])} >= {policy["min_events"]})'
        conds[r["severity"]].append(lr(c, f'{dur(r["long"])}/{dur(r["short"])}'))
    for p in periods:
        if policy.get("exhausted"):
            c = f'max without(window) ({burn1(p)})\n  and max without(window) ({remain1(p)} <= 0)'
            conds[policy["exhausted"]].append(lr(c, f"budget {dur(p)} spent"))
        if policy.get("below"):
            lo = f"(({remain1(p)}) > 0) < {policy['below']}" if policy.get("exhausted") else f"({remain1(p)}) < {policy['below']}"
            c = f'max without(window) ({burn1(p)})\n  and max without(window) ({lo})'
            conds["ticket"].append(lr(c, f"budget {dur(p)} < {round(policy['below']*100)}%"))
    if policy.get("no_data"):
        d = policy["no_data"]
        conds["ticket"].append(lr(f"absent_over_time({sel(tt, ident)}{rng(d, True)}) * 0", f"no data {dur(d)}"))
    for sev in ("page", "ticket"):
        if conds[sev]:
            A.append(rec(H, "\nor ".join(conds[sev]), {**idl, "severity": sev}))
    hp, ht = sel(H, ident, 'severity="page"'), sel(H, ident, 'severity="ticket"')
    firing = (f'label_replace((count({hp}) > bool 0) or on() vector(0), "severity", "page", "", "")\n'
              f'or label_replace(((count({ht}) > bool 0) unless on() count({hp})) or on() vector(0), "severity", "ticket", "", "")')
    A.append(rec("slo_alert_firing", firing, idl))
    sid = f"{ident[0]}/{ident[1]}"
    for sev, name in (("page", "SLOErrorBudgetBurnPage"), ("ticket", "SLOErrorBudgetBurnTicket")):
        if not conds[sev]: continue
        expr = f"max without(rule) ({sel(H, ident, 'severity=' + q(sev))})"
        if sev == "ticket": expr += f"\nunless on() {hp}"
        labels = {**slo["own"], "service": ident[0], "slo": sid, "severity": sev, "source": "slowburn"}
        rule_q = f"topk(1, {sel(H, ident, 'severity=' + q(sev))})"
        rem_q = f"100 * {R}"
        ann = {
            "summary": (f"[{sev}] {sid} is burning its error budget: "
                        f"{{{{ range query `{rule_q}` }}}}{{{{ .Labels.rule }}}}{{{{ end }}}} at {{{{ printf \"%.1f\" $value }}}}x; "
                        f"{{{{ range $i, $s := query `{rem_q}` | sortByLabel \"period\" }}}}{{{{ if $i }}}}, {{{{ end }}}}{{{{ $s.Labels.period }}}} budget {{{{ printf \"%.1f\" $s.Value }}}}% left{{{{ end }}}}"),
            "rule": f"{{{{ range query `{rule_q}` }}}}{{{{ .Labels.rule }}}}{{{{ end }}}}",
            "burn_rate": '{{ $value }}{{ if eq (printf "%v" $value) (printf "%.0f" $value) }}.0{{ end }}',
        }
        if slo.get("description"): ann["description"] = slo["description"]
        if slo.get("dashboard"): ann["dashboard"] = slo["dashboard"]
        A.append({"alert": name, "expr": expr, "labels": labels, "annotations": ann})
    gname = f"slowburn-{ident[0]}-{ident[1]}"
    groups = [{"name": gname, "interval": b, "rules": A}]
    if Bg: groups.append({"name": gname + ":periods", "interval": pdur(period_interval*1000), "rules": Bg})
    return groups

def yaml_str(s, ind):
    if "\n" in s or len(s) > 60 or any(c in s for c in ':{}[]"#\'`$%|>&*!,?') or s.strip() != s or s in ("", "true", "false") or s.replace('.', '', 1).isdigit():
        pad = " " * ind
        return "|-\n" + "\n".join(pad + l for l in s.split("\n"))
    return s

def dump(groups):
    out = ["groups:"]
    for g in groups:
        out.append(f"  - name: {g['name']}")
        out.append(f"    interval: {g['interval']}")
        out.append("    rules:")
        for r in g["rules"]:
            k = "record" if "record" in r else "alert"
            out.append(f"      - {k}: {r[k]}")
            out.append(f"        expr: {yaml_str(r['expr'], 10)}")
            for sec in ("labels", "annotations"):
                if r.get(sec):
                    out.append(f"        {sec}:")
                    for lk, lv in sorted(r[sec].items()):
                        out.append(f"          {lk}: {yaml_str(lv, 12) if not isinstance(lv, str) or True else lv}")
    return "\n".join(out) + "\n"

POL30 = {"rules": [
    {"severity": "page", "long": 3600, "short": 300, "factor": 14.4},
    {"severity": "page", "long": 21600, "short": 1800, "factor": 6},
    {"severity": "ticket", "long": 86400, "short": 7200, "factor": 3},
    {"severity": "ticket", "long": 259200, "short": 21600, "factor": 1}],
    "min_events": 0, "below": 0.25, "exhausted": "ticket", "no_data": 1800}

RATIO = {"service": "api", "name": "availability", "objective": 0.999, "periods": [2592000, 604800],
         "spec": {"bad": 'http_requests_total{service="api",code=~"5.."}', "total": 'http_requests_total{service="api"}'},
         "policy": POL30, "own": {"team": "web"}, "description": "Successful HTTP responses",
         "dashboard": "http://grafana/d/slowburn-slo?var-service=api&var-slo=availability",
         "info": {"description": "Successful HTTP responses", "sli": "ratio", "source": "prometheus",
                  "queries": 'http_requests_total{service="api",code=~"5.."} ; http_requests_total{service="api"}', "team": "web"}}
DASH = "http://grafana/d/slowburn-slo?var-service=api&var-slo="
LAT_POL = {"rules": [{"severity": "page", "long": 3600, "short": 300, "factor": 14.4},
                     {"severity": "ticket", "long": 7200, "short": 1800, "factor": 2}],
           "min_events": 100, "below": None, "exhausted": None, "no_data": 1800}
LAT = {"service": "api", "name": "latency", "objective": 0.95, "periods": [604800],
       "spec": {"good": 'http_request_duration_seconds_bucket{service="api",le="0.2"}', "total": 'http_request_duration_seconds_count{service="api"}'},
       "policy": LAT_POL, "own": {}, "dashboard": DASH + "latency", 
       "info": {"sli": "latency", "source": "prometheus",
                "queries": 'http_request_duration_seconds_bucket{service="api",le="0.2"} ; http_request_duration_seconds_count{service="api"}'}}

if __name__ == "__main__":
    pi = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    groups = render(RATIO, period_interval=pi) + render(LAT, period_interval=pi)
    sys.stdout.write(dump(groups))
