# Daemon semantics (src/source/counts.rs + src/budget.rs + src/alert/policy.rs) on promtool-style inputs.
import math

def expand(spec, n):
    """promtool series notation subset: tokens 'a+bxk', 'axk', '_xk'. Returns list of values or None per step."""
    out = []
    for tok in spec.split():
        if tok.startswith("_x"):
            out += [None] * (int(tok[2:]))  # promtool: _xN = N missing
            continue
        base, times = tok.split("x")
        k = int(times)
        if "+" in base[1:] or "-" in base[1:]:
            i = max(base.rfind("+"), base.rfind("-"))
            a, b = float(base[:i]), float(base[i:])
        else:
            a, b = float(base), 0.0
        out += [a + b * j for j in range(k + 1)]
    return out[:n] + [None] * max(0, n - len(out))

def edge_value(vals, e, lookback=5):
    for j in range(e, max(-1, e - lookback - 1), -1):
        if 0 <= j < len(vals) and vals[j] is not None and e - j <= lookback:
            return vals[j]
    return None

def increases(series, n):
    """counter_increases: edges 0..n (minutes), returns per-bucket list for buckets ending at 1..n (index i-1)."""
    out = [None] * n
    for vals in series:
        last = None
        for e in range(n + 1):
            cur = edge_value(vals, e)
            if cur is None: continue
            if last is not None and e >= 1:
                inc = cur - last if cur >= last else cur
                out[e - 1] = (out[e - 1] or 0.0) + inc
            last = cur
    return out

def combine(good, bad, total, n):
    res = []
    for i in range(n):
        g = good[i] if good is not None else None
        b = bad[i] if bad is not None else None
        t = total[i] if total is not None else None
        if good is not None and total is not None and bad is None:
            res.append(None if t is None else (min(g or 0.0, t), t))
        elif bad is not None and total is not None and good is None:
            res.append(None if t is None else (max(t - (b or 0.0), 0.0), t))
        else:
            if g is None and b is None: res.append(None)
            else:
                g2, b2 = g or 0.0, b or 0.0
                res.append((g2, g2 + b2))
    return res

class Window:
    def __init__(self, buckets, at, w):  # at, w in minutes; buckets[i] ends at minute i+1
        sel = [buckets[i - 1] for i in range(max(1, at - w + 1), at + 1) if i - 1 < len(buckets)]
        known = [x for x in sel if x is not None]
        self.good = sum(g for g, t in known) if known else 0.0
        self.total = sum(t for g, t in known) if known else 0.0
        # bad as the rules sum it: per-bucket bad tiles summed
        self.bad_sum = sum(t - g for g, t in known) if known else 0.0
        self.known = len(known)
        self.buckets = w
    def sli(self): return None if self.total <= 0 else (self.total - self.bad_sum) / self.total
    def burn(self, obj):
        return None if self.total <= 0 else (self.bad_sum / self.total) / (1 - obj)
    def remaining(self, obj):
        if self.known == 0: return None
        if self.total <= 0: return 1.0
        return 1 - self.bad_sum / ((1 - obj) * self.total)
    def coverage(self): return self.known / self.buckets
