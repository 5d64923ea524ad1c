#!/usr/bin/env python3
"""Metric names the shipped dashboard and alert rules use.

    metric_names.py used             every ruth_* name (and `up`) in the PromQL of
                                     compose/observability's dashboard and rules
    metric_names.py check NAMES.json fail naming each used metric that is not in
                                     NAMES.json (Prometheus's /api/v1/label/__name__/values)

A renamed metric in the code thus fails tests/deploy/prometheus, which
scrapes the real processes. Standard library only (the rules file is read
line by line: its `expr:` blocks are the only PromQL in it)."""
import json
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OBS = os.path.join(ROOT, "compose", "observability")
NAME = re.compile(r"\b(ruth_[a-z0-9_]+|up)\b(?!\s*\()")


def dashboard_exprs():
    with open(os.path.join(OBS, "grafana", "dashboards", "ruth-pipeline.json")) as f:
        dash = json.load(f)
    for p in dash["panels"]:
        for t in p.get("targets", []):
            yield "dashboard panel %r" % p["title"], t["expr"]


def rule_exprs():
    """The `expr:` of every rule: a one-line value or a `|` block."""
    lines = open(os.path.join(OBS, "alerts.yml")).read().splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)expr:\s*(.*)$", lines[i])
        if not m:
            i += 1
            continue
        indent, rest = len(m.group(1)), m.group(2)
        if rest.strip() != "|":
            yield "rule at line %d" % (i + 1), rest
            i += 1
            continue
        block = []
        i += 1
        while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
            block.append(lines[i])
            i += 1
        yield "rule block before line %d" % (i + 1), "\n".join(block)


def used():
    names = {}
    for where, expr in list(dashboard_exprs()) + list(rule_exprs()):
        # Label values and names inside {...} are not metric names.
        for n in NAME.findall(re.sub(r'"[^"]*"', '""', expr)):
            names.setdefault(n, where)
    return names


def main():
    names = used()
    if len(sys.argv) == 2 and sys.argv[1] == "used":
        for n in sorted(names):
            print(n)
        return 0
    if len(sys.argv) != 3 or sys.argv[1] != "check":
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[2]) as f:
        scraped = set(json.load(f)["data"])
    if len(names) < 20:
        print("only %d metric names found in the dashboard and rules: parser broken?" % len(names))
        return 1
    missing = sorted(n for n in names if n not in scraped)
    for n in missing:
        print("%s (used by %s) is not exported by any scraped process" % (n, names[n]))
    print("%d metric names used, %d scraped, %d missing" % (len(names), len(scraped), len(missing)))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
