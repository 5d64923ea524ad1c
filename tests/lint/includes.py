#!/usr/bin/env python3
"""lint.includes: the tree's own modules must not depend on each other in a
cycle.

A module is x.c + x.h in the same folder (either may be missing: main
programs have no header). Module A depends on module B when a file of A
`#include "..."`s a file of B, so a module-level cycle is caught even when no
header includes another (a.c includes b.h, b.c includes a.h).

Files sharing a module's m_internal.h (m_x.c including m_internal.h) are
that module, split over several files: their mutual use is not a cycle.

A header without a .c of the same name (api/api.h, common/codec_internal.h,
consumers/worker/worker.h) is a shared header, not a module: it declares the
functions of several .c files. Including it counts as
  - including what it includes, and
  - depending on each module whose function, declared in that header, the
    including file actually names.
So `api_http.c -> api_params.c` is seen when api_http.c calls a function of
api_params.c declared in api.h.

Quoted includes resolve like the build does: the including file's folder
first, then a header of that name anywhere in the tree (common/ wins a tie).
Includes that resolve to nothing in the tree (system, generated) are ignored.

On a cycle, prints each group of modules that reach each other, one shortest
cycle through it, and every dependency inside the group with its evidence.

Usage: includes.py [--root DIR]
Exit status 0 if there is no cycle, 1 otherwise.
"""

import argparse
import collections
import os
import re
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csource  # noqa: E402

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.MULTILINE)
IDENT = re.compile(r"[A-Za-z_]\w*")


# Files that belong to a module split over several files: {path: (folder, m)}
# for m_internal.h and every m_*.c / m_*.h that includes it.
FAMILY = {}


def find_families(files, text):
    FAMILY.clear()
    internal = {f for f in files if f.endswith("_internal.h")}
    for h in internal:
        d, name = os.path.split(h)
        m = name[: -len("_internal.h")]
        FAMILY[h] = (d, m)
        for f in files:
            fd, fname = os.path.split(f)
            if fd == d and fname.startswith(m + "_") and re.search(
                    r'#\s*include\s*"%s"' % re.escape(name), text[f]):
                FAMILY[f] = (d, m)


def module_of(rel):
    """(folder, stem) of a file: the module it belongs to if paired. A
    module may be split over files that share its m_internal.h (codec.c,
    codec_resolve.c, ... with codec_internal.h): they are one module."""
    if rel in FAMILY:
        return FAMILY[rel]
    d, name = os.path.split(rel)
    return (d, os.path.splitext(name)[0])


class Tree:
    def __init__(self, root):
        self.files = csource.source_files(root)
        self.text = {f: csource.read(root, f) for f in self.files}
        self.code = {f: csource.strip(t)[0] for f, t in self.text.items()}
        find_families(self.files, self.text)
        present = set(self.files)
        # Modules: every .c, and every .h with a .c of the same name beside it.
        self.modules = sorted(set(module_of(f) for f in self.files if f.endswith(".c")))
        paired = set(self.modules)
        self.shared = set(f for f in self.files
                          if f.endswith(".h") and module_of(f) not in paired)
        self.by_name = collections.defaultdict(list)
        for f in self.files:
            self.by_name[os.path.basename(f)].append(f)
        self.includes = {f: [r for r in (self.resolve(f, inc) for inc in
                                         INCLUDE.findall(self.text[f])) if r in present]
                         for f in self.files}
        # Where each non-static function is defined.
        self.defined_in = collections.defaultdict(set)
        for f in self.files:
            if f.endswith(".c"):
                for fn in csource.functions(self.code[f]):
                    if not fn.static:
                        self.defined_in[fn.name].add(module_of(f))
        self.idents = {f: set(IDENT.findall(c)) for f, c in self.code.items()}

    def resolve(self, frm, inc):
        here = os.path.normpath(os.path.join(os.path.dirname(frm), inc)).replace(os.sep, "/")
        if here in self.text:
            return here
        if inc in self.text:
            return inc
        cands = [f for f in self.by_name.get(os.path.basename(inc), []) if f.endswith(inc)]
        if len(cands) > 1:
            cands = [f for f in cands if f.startswith("common/")] or cands
        return cands[0] if len(cands) == 1 else None

    def edges(self):
        """{(A, B): [evidence, ...]} for every dependency of module A on module B."""
        deps = collections.defaultdict(list)
        for f in self.files:
            if f in self.shared:
                continue  # a shared header's includes count where it is included
            a = module_of(f)
            seen = set()
            todo = [(h, h) for h in self.includes[f]]
            while todo:
                h, via = todo.pop()
                if h in seen:
                    continue
                seen.add(h)
                how = "includes %s" % h if via == h else "includes %s (through %s)" % (h, via)
                if h not in self.shared:
                    b = module_of(h)
                    if b != a:
                        deps[(a, b)].append("%s %s" % (f, how))
                    continue
                # A shared header: its includes, and the owners of what f uses from it.
                todo.extend((x, via) for x in self.includes[h])
                for name in sorted(self.idents[h] & self.idents[f]):
                    owners = self.defined_in.get(name, ())
                    if a in owners:
                        continue  # an interface each program implements (tests/fuzz)
                    for b in sorted(owners):
                        if b != a:
                            deps[(a, b)].append("%s uses %s(), declared in %s" % (f, name, h))
        return deps


def sccs(nodes, graph):
    """Strongly connected components (Tarjan), iteratively."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    out.append(sorted(comp))
    return out


def shortest_cycle(start, graph, members):
    """Shortest path start -> ... -> start inside members (BFS)."""
    prev, queue = {start: None}, collections.deque([start])
    while queue:
        v = queue.popleft()
        for w in sorted(graph[v]):
            if w not in members:
                continue
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return [start]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    args = ap.parse_args()
    tree = Tree(os.path.abspath(args.root))
    deps = tree.edges()
    graph = collections.defaultdict(set)
    for a, b in deps:
        graph[a].add(b)
    stems = collections.Counter(stem for _, stem in tree.modules)

    def name(m):
        return m[1] if stems[m[1]] == 1 else "%s/%s" % m

    nodes = sorted(set(tree.modules) | set(graph))
    cycles = [c for c in sccs(nodes, graph) if len(c) > 1]
    summary = "includes: %d files, %d modules, %d dependencies" % (
        len(tree.files), len(tree.modules), len(deps))
    if not cycles:
        print(summary + ", no cycle")
        return 0
    print(summary + ": %d cycle%s" % (len(cycles), "" if len(cycles) == 1 else "s"))
    for comp in sorted(cycles, key=lambda c: [name(m) for m in c]):
        members = set(comp)
        cyc = shortest_cycle(comp[0], graph, members)
        print("cycle: " + " -> ".join(name(m) for m in cyc))
        if len(comp) > len(cyc) - 1:
            print("  the modules that reach each other: " + ", ".join(name(m) for m in comp))
        print("  dependencies inside it (break one per loop):")
        for a in comp:
            for b in sorted(graph[a] & members):
                ev = deps[(a, b)]
                more = " (+%d more)" % (len(ev) - 3) if len(ev) > 3 else ""
                print("    %s -> %s: %s%s" % (name(a), name(b), "; ".join(ev[:3]), more))
    return 1


if __name__ == "__main__":
    sys.exit(main())
