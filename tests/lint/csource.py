"""Shared helpers for the lint checks: which files to look at, and a small
C reader that knows about comments, string literals and Linux-style
function definitions. Standard library only.

The reader is not a C parser. It relies on the tree's .clang-format
(BreakBeforeBraces: Linux): a function body opens with `{` alone at column 0
on the line after its signature and closes with the matching `}` at column 0.
Struct, enum and array initialisers keep their `{` at the end of a line, so
they are never taken for functions.
"""

import os
import re
import subprocess
from dataclasses import dataclass

# Deliberately bad code for lint.selftest; never part of the real tree's checks.
FIXTURES = "tests/lint/fixtures/"


def source_files(root, exts=(".c", ".h")):
    """Paths (relative to root, '/'-separated, sorted) of the C files to check.

    In a git checkout: tracked files plus untracked ones that .gitignore does
    not hide (so a new file is checked before `git add`), minus files deleted
    from the working tree. Elsewhere (a fixture tree, an unpacked tarball):
    every file under root except build*/ folders. tests/lint/fixtures/ is
    always left out.
    """
    files = None
    if os.path.exists(os.path.join(root, ".git")):
        try:
            out = subprocess.run(
                ["git", "-C", root, "ls-files", "-z", "--cached", "--others",
                 "--exclude-standard"],
                check=True, capture_output=True, text=True).stdout
            files = [f for f in out.split("\0") if f]
        except (OSError, subprocess.CalledProcessError):
            files = None
    if files is None:
        files = []
        for d, dirs, names in os.walk(root):
            dirs[:] = sorted(x for x in dirs
                             if not x.startswith(".") and not x.startswith("build"))
            rel = os.path.relpath(d, root)
            for n in names:
                files.append(n if rel == "." else os.path.join(rel, n).replace(os.sep, "/"))
    return sorted(set(
        f for f in files
        if f.endswith(exts) and not f.startswith(FIXTURES)
        and os.path.isfile(os.path.join(root, f))))


def read(root, rel):
    with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as fh:
        return fh.read()


@dataclass
class Comment:
    first: int  # 1-based line numbers, inclusive
    last: int
    text: str


def strip(text):
    """Return (code, comments): code is text with every comment, string and
    character literal blanked to spaces (newlines kept, so line numbers stay
    right); comments are the comments in order, a run of `//` lines on
    consecutive lines merged into one."""
    out = []
    comments = []
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        two = text[i:i + 2]
        if two == "/*":
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            body = text[i:end]
            comments.append(Comment(line, line + body.count("\n"), body))
            out.append(re.sub(r"[^\n]", " ", body))
            line += body.count("\n")
            i = end
        elif two == "//":
            end = text.find("\n", i)
            end = n if end < 0 else end
            body = text[i:end]
            prev = comments[-1] if comments else None
            if prev and prev.text.startswith("//") and prev.last == line - 1:
                prev.last, prev.text = line, prev.text + "\n" + body
            else:
                comments.append(Comment(line, line, body))
            out.append(" " * len(body))
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c)
            line += text[i:j].count("\n")
            i = j
        else:
            out.append(c)
            if c == "\n":
                line += 1
            i += 1
    return "".join(out), comments


WHY = re.compile(r"why:", re.IGNORECASE)


def has_why(comments, first, last):
    """True if a comment touching lines first..last (1-based) says `why:`."""
    return any(c.last >= first and c.first <= last and WHY.search(c.text)
               for c in comments)


@dataclass
class Function:
    name: str
    static: bool
    signature: int  # line of the signature's first line
    open: int       # line of the `{` at column 0
    close: int      # line of the matching `}`

    @property
    def length(self):
        return self.close - self.open + 1


NOT_NAMES = {"if", "while", "for", "switch", "return", "sizeof", "__attribute__"}


def functions(code):
    """Function definitions in stripped code (see strip())."""
    lines = code.split("\n")
    # Offset of the start of each line, to brace-match on the flat text.
    starts, pos = [], 0
    for ln in lines:
        starts.append(pos)
        pos += len(ln) + 1
    found = []
    for idx, ln in enumerate(lines):
        if not ln.startswith("{"):
            continue
        # The signature: the non-blank lines right above, back to the end of
        # the previous declaration, definition or preprocessor line.
        first = idx
        while first > 0:
            above = lines[first - 1].strip()
            if not above or above.endswith((";", "}", "{")) or above.startswith("#"):
                break
            first -= 1
        if first == idx:
            continue
        sig = re.sub(r"__attribute__\s*\(\(.*?\)\)", " ", " ".join(lines[first:idx]))
        names = [m for m in re.findall(r"([A-Za-z_]\w*)\s*\(", sig) if m not in NOT_NAMES]
        if not names:
            continue
        depth, j = 0, starts[idx]
        close = len(lines) - 1
        while j < len(code):
            if code[j] == "{":
                depth += 1
            elif code[j] == "}":
                depth -= 1
                if depth == 0:
                    close = code.count("\n", 0, j)
                    break
            j += 1
        found.append(Function(names[0], bool(re.search(r"\bstatic\b", sig)),
                              first + 1, idx + 1, close + 1))
    return found
