#!/usr/bin/env python3
"""lint.format: every C file of the tree is formatted as .clang-format says.

Runs `clang-format --dry-run -Werror --style=file:<root>/.clang-format` on each
.c/.h file git knows about (tracked, or untracked and not ignored; a plain
walk outside a git checkout), tests/lint/fixtures/ left out. Lists the files
that differ, with how many places in each. A missing clang-format is a
failure, not a skip: scripts/bootstrap installs it. Set CLANG_FORMAT to use
another binary.

clang-format's output differs a little between major versions; the tree is
formatted with Debian bookworm's (14), which is what bootstrap installs.

Usage: format.py [--root DIR] [--style-file FILE]
Exit status 0 if every file is formatted, 1 otherwise.
Fix: clang-format -i <the files listed>
"""

import argparse
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csource  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("--style-file", help="default: <root>/.clang-format")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    style = os.path.abspath(args.style_file or os.path.join(root, ".clang-format"))

    exe = os.environ.get("CLANG_FORMAT") or shutil.which("clang-format")
    if not exe or not shutil.which(exe):
        print("format: FAILED: clang-format not found (run scripts/bootstrap, which installs "
              "the clang-format package, or set CLANG_FORMAT)")
        return 1
    if not os.path.isfile(style):
        print("format: FAILED: no style file %s" % style)
        return 1
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()

    files = csource.source_files(root)
    differ = []
    for rel in files:
        r = subprocess.run([exe, "--dry-run", "-Werror", "--style=file:" + style, rel],
                           cwd=root, capture_output=True, text=True)
        if r.returncode != 0:
            places = r.stderr.count("code should be clang-formatted")
            differ.append((rel, places, r.stderr.strip()))

    shown = os.path.relpath(style, root) if style.startswith(root + os.sep) else style
    summary = "format: %d files against %s (%s)" % (len(files), shown, version)
    if not differ:
        print(summary + ", all formatted")
        return 0
    print(summary + ": %d differ" % len(differ))
    for rel, places, err in differ:
        if places:
            print("  %s (%d place%s)" % (rel, places, "" if places == 1 else "s"))
        else:  # not a formatting difference: clang-format itself failed
            print("  %s: clang-format failed: %s" % (rel, err.splitlines()[0] if err else "?"))
    print("fix: clang-format -i " + " ".join(rel for rel, _, _ in differ))
    return 1


if __name__ == "__main__":
    sys.exit(main())
