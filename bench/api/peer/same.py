"""Check that ruth-api and the peer answer the same: same.py TOKEN URL_A URL_B PATH...

Each PATH is fetched from both bases with the bearer TOKEN; the bodies must
be equal as JSON (same fields, nesting, values and types; ruth-api writes
PostgreSQL's json_build_object spacing and the peer compact JSON, so bytes
differ). Prints each path's result and the first differences; exits 1 when
any differs."""
import json
import sys
import urllib.request


def get(url, token):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, r.read()


def diff(a, b, path, out):
    if type(a) is not type(b):
        out.append(f"{path}: {a!r} vs {b!r}")
    elif isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: only in {'ruth-api' if k in a else 'peer'}")
            else:
                diff(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} vs {len(b)} items")
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(f"{path}: {a!r} vs {b!r}")


def main():
    token, ours, peer, paths = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    bad = 0
    for p in paths:
        sa, ba = get(ours + p, token)
        sb, bb = get(peer + p, token)
        out = []
        if sa != sb:
            out.append(f"status {sa} vs {sb}")
        diff(json.loads(ba), json.loads(bb), "$", out)
        print(f"same body: {p}: " + ("yes" if not out else "NO"), file=sys.stderr)
        for line in out[:10]:
            print("   " + line, file=sys.stderr)
        bad += bool(out)
    sys.exit(1 if bad else 0)


main()
