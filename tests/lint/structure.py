#!/usr/bin/env python3
"""lint.structure: no source file over 600 lines, no C function over 100 lines,
unless a comment says why.

What is measured
  - Files: every .c/.h under common/ consumers/ producers/ api/ migrations/
    tools/ (limit 600 lines) and tests/ (limit 1500 lines; see below).
  - Functions: every function definition in those files (limit 100 lines
    everywhere, tests included). A function's length counts from the line
    with its opening `{` at column 0 (the tree's .clang-format uses Linux
    braces, so that `{` sits alone on the line after the signature) to the
    matching `}` at column 0, both included.

The `why:` marker
  A file or function may be longer if a comment says why it has to be, and
  the comment contains the word `why:` (any case):
    - for a file: a comment that touches one of the file's first 3 lines
      (its header comment), e.g.  /* codec_tables.c - ... why: generated ... */
    - for a function: a comment that touches one of the 3 lines above the
      first line of its signature, e.g.
          /* why: one switch over every Avro type; splitting it hides the map. */
          static int avro_read_value(...)
          {
  Say in the comment what would be worse if it were split.

Why tests/ has its own file limit
  A test program is one ctest per module or area (tests/unit/test_<module>.c),
  and its cases are a flat list a reader scrolls rather than a design to
  navigate; splitting test_api.c in two would only split that list. 1500 lines
  still catches a test file growing without bound. Test *functions* keep the
  100-line limit: a long test case is as hard to read as long product code.

Usage: structure.py [--root DIR] [--max-file-lines N] [--max-test-file-lines N]
                    [--max-function-lines N]
Exit status 0 if everything is within its limit or marked, 1 otherwise.
"""

import argparse
import os
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csource  # noqa: E402

PRODUCT_DIRS = ("common/", "consumers/", "producers/", "api/", "migrations/", "tools/")
TEST_DIRS = ("tests/",)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("--max-file-lines", type=int, default=600)
    ap.add_argument("--max-test-file-lines", type=int, default=1500)
    ap.add_argument("--max-function-lines", type=int, default=100)
    args = ap.parse_args()
    root = os.path.abspath(args.root)

    files = [f for f in csource.source_files(root) if f.startswith(PRODUCT_DIRS + TEST_DIRS)]
    long_files, long_funcs = [], []
    nfuncs = marked = 0
    for rel in files:
        text = csource.read(root, rel)
        code, comments = csource.strip(text)
        nlines = len(text.splitlines())
        limit = args.max_test_file_lines if rel.startswith(TEST_DIRS) else args.max_file_lines
        if nlines > limit:
            if csource.has_why(comments, 1, 3):
                marked += 1
            else:
                long_files.append((rel, nlines, limit))
        for fn in csource.functions(code):
            nfuncs += 1
            if fn.length <= args.max_function_lines:
                continue
            if csource.has_why(comments, fn.signature - 3, fn.signature - 1):
                marked += 1
            else:
                long_funcs.append((rel, fn))

    summary = "structure: %d files, %d functions" % (len(files), nfuncs)
    if marked:
        summary += ", %d over a limit with a why: comment" % marked
    if not long_files and not long_funcs:
        print(summary + ", all within limits (files %d lines, tests/ %d, functions %d)"
              % (args.max_file_lines, args.max_test_file_lines, args.max_function_lines))
        return 0
    print(summary + ": %d file%s and %d function%s too long" % (
        len(long_files), "" if len(long_files) == 1 else "s",
        len(long_funcs), "" if len(long_funcs) == 1 else "s"))
    if long_files:
        print("files over their limit (split them, or say why: in a comment on the first 3 lines):")
        for rel, n, limit in sorted(long_files, key=lambda x: -x[1]):
            print("  %s: %d lines (limit %d)" % (rel, n, limit))
    if long_funcs:
        print("functions over %d lines (split them, or say why: in a comment just above):"
              % args.max_function_lines)
        for rel, fn in sorted(long_funcs, key=lambda x: -x[1].length):
            print("  %s:%d: %s: %d lines" % (rel, fn.signature, fn.name, fn.length))
    return 1


if __name__ == "__main__":
    sys.exit(main())
