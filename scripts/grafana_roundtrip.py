#!/usr/bin/env python3
"""Round-trips dashboard JSON files through Grafana's own typed models (PyPI
grafana-foundation-sdk, the 11.6 line: protocols.md 5.6) and fails when a field is lost, renamed
or changed on the way. Fields the models add (their defaults) are fine.

Usage: scripts/grafana_roundtrip.py dashboards/*.json
"""

import json
import sys

from grafana_foundation_sdk.cog import plugins
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard


def compare(src, back, path, problems):
    if isinstance(src, dict):
        if not isinstance(back, dict):
            problems.append(f"{path}: became {type(back).__name__}")
            return
        for k, v in src.items():
            if k not in back:
                problems.append(f"{path}.{k}: lost")
            else:
                compare(v, back[k], f"{path}.{k}", problems)
    elif isinstance(src, list):
        if not isinstance(back, list) or len(back) != len(src):
            problems.append(f"{path}: list changed")
            return
        for i, (a, b) in enumerate(zip(src, back)):
            compare(a, b, f"{path}[{i}]", problems)
    elif isinstance(src, (int, float)) and not isinstance(src, bool):
        if not isinstance(back, (int, float)) or float(src) != float(back):
            problems.append(f"{path}: {src!r} became {back!r}")
    elif src != back:
        problems.append(f"{path}: {src!r} became {back!r}")


def main(files):
    plugins.register_default_plugins()
    failed = 0
    for name in files:
        with open(name, encoding="utf-8") as f:
            src = json.load(f)
        back = json.loads(json.dumps(Dashboard.from_json(src), cls=JSONEncoder))
        problems = []
        compare(src, back, name, problems)
        panels = len(src.get("panels", []))
        if problems:
            failed += 1
            print(f"{name}: {len(problems)} field(s) lost or changed", file=sys.stderr)
            for p in problems[:50]:
                print(f"  {p}", file=sys.stderr)
        else:
            print(f"{name}: round-trips through grafana-foundation-sdk ({panels} panels)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
