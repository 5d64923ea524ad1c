#!/usr/bin/env python3
"""lint.selftest: each lint check fails on fixtures/bad, naming what is wrong,
and passes on fixtures/good. A check that cannot fail checks nothing.

fixtures/bad holds: a module cycle with no header including another
(common/a.c <-> common/b.c), a cycle through one shared header like api/api.h
(http -> auth -> params -> http), a function over 100 lines with no marker and
one whose `why:` comment is too far above it, a file over the (lowered) file
limit, and one unformatted file. fixtures/good has the same shapes done right:
one-way dependencies (also through a shared header), and long code carrying
`why:` comments. The file limits are lowered here (30 lines, 60 under tests/)
so the fixtures stay small; the function limit is the real one.

fixtures/bad/.clang-format disables formatting there, so `clang-format -i` over
the whole tree cannot "fix" the bad fixture; format.py passes the repo's
.clang-format explicitly and still sees it.
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
STYLE = os.path.join(HERE, "..", "..", ".clang-format")
LIMITS = ["--max-file-lines", "30", "--max-test-file-lines", "60"]

# (check, extra arguments, fixture, expected exit status, lines the output must contain
# [, environment overrides])
CASES = [
    ("includes", [], "bad", 1, [
        "2 cycles",
        "cycle: a -> b -> a",
        "a -> b: common/a.c includes common/b.h",
        "cycle: auth -> params -> http -> auth",
        "http -> auth: api/http.c uses auth_check(), declared in api/api.h",
    ]),
    ("includes", [], "good", 0, ["no cycle"]),
    ("structure", LIMITS, "bad", 1, [
        "1 file and 2 functions too long",
        "common/long.c: ",
        "common/long.c:3: unmarked_long: 110 lines",
        "common/long.c:119: far_why: 106 lines",
    ]),
    ("structure", LIMITS, "good", 0, [
        "2 over a limit with a why: comment",  # common/long.c and marked_long()
        "all within limits",
    ]),
    ("format", ["--style-file", STYLE], "bad", 1, ["1 differ", "  common/ugly.c ("]),
    ("format", ["--style-file", STYLE], "good", 0, ["all formatted"]),
    # No clang-format is a failure, not a skip.
    ("format", ["--style-file", STYLE], "good", 1, ["clang-format not found"],
     {"CLANG_FORMAT": "/nonexistent/clang-format"}),
]


def main():
    failed = 0
    for check, extra, fixture, want_rc, want_lines, *env in CASES:
        root = os.path.join(HERE, "fixtures", fixture)
        r = subprocess.run([sys.executable, os.path.join(HERE, check + ".py"), "--root", root]
                           + extra, capture_output=True, text=True,
                           env=dict(os.environ, **(env[0] if env else {})))
        out = r.stdout + r.stderr
        missing = [w for w in want_lines if w not in out]
        if r.returncode == want_rc and not missing:
            print("ok: %s on fixtures/%s exits %d: %s"
                  % (check, fixture, r.returncode, out.splitlines()[0] if out else ""))
            continue
        failed += 1
        print("FAIL: %s on fixtures/%s exited %d (want %d)" % (check, fixture, r.returncode,
                                                               want_rc))
        for w in missing:
            print("  missing from its output: %r" % w)
        print("  its output:\n" + "".join("    " + ln + "\n" for ln in out.splitlines()))
    print("selftest: %d cases, %s" % (len(CASES), "%d failed" % failed if failed else "all ok"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
