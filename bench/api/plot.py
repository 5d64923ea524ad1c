#!/usr/bin/env python3
"""A text plot for bench/api/run's scale mode: req/s (log) against events (log).

    plot.py TITLE "LABEL=EVENTS:RPS,EVENTS:RPS,..." ...

Each series gets a letter (A, B, ...) at its points, joined by dots, and
`*` marks points of several series in one place; the legend names them. Plain text, so that it lands in a terminal, the
README and the closing note alike, with nothing to install.
"""
import math
import sys

WIDTH, HEIGHT = 64, 16


def main(argv):
    if len(argv) < 3:
        sys.exit("usage: plot.py TITLE LABEL=EVENTS:RPS,... ...")
    title, series = argv[1], []
    for arg in argv[2:]:
        label, _, pts = arg.rpartition("=")
        points = []
        for p in pts.split(","):
            x, _, y = p.partition(":")
            if x and y and float(x) > 0 and float(y) > 0:
                points.append((float(x), float(y)))
        series.append((label, points))
    xs = [x for _, pts in series for x, _ in pts]
    ys = [y for _, pts in series for _, y in pts]
    if not xs:
        print(f"{title}: nothing to plot")
        return
    lx0, lx1 = math.log10(min(xs)), math.log10(max(xs))
    ly0, ly1 = math.log10(min(ys)) - 0.1, math.log10(max(ys)) + 0.1
    if lx1 - lx0 < 1e-9:
        lx0, lx1 = lx0 - 0.5, lx1 + 0.5

    def col(x):
        return round((math.log10(x) - lx0) / (lx1 - lx0) * (WIDTH - 1))

    def row(y):
        return HEIGHT - 1 - round((math.log10(y) - ly0) / (ly1 - ly0) * (HEIGHT - 1))

    grid = [[" "] * WIDTH for _ in range(HEIGHT)]
    for k, (_, pts) in enumerate(series):
        mark = chr(ord("A") + k)
        pts = sorted(pts)
        for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
            c0, c1 = col(x0), col(x1)
            for c in range(c0 + 1, c1):
                t = (c - c0) / (c1 - c0)
                ly = math.log10(y0) + t * (math.log10(y1) - math.log10(y0))
                r = row(10 ** ly)
                if grid[r][c] == " ":
                    grid[r][c] = "."
        for x, y in pts:
            cell = grid[row(y)][col(x)]
            grid[row(y)][col(x)] = "*" if cell.isalpha() and cell != mark else mark
    print(title)
    print()
    for r in range(HEIGHT):
        ly = ly1 - r / (HEIGHT - 1) * (ly1 - ly0)
        axis = f"{10 ** ly:>8.0f} |" if r % 3 == 0 else "         |"
        print(axis + "".join(grid[r]).rstrip())
    print("         +" + "-" * WIDTH)
    ticks = [" "] * (WIDTH + 12)
    for x in sorted(set(xs)):
        text = f"{x / 1e6:g}M" if x >= 1e6 else f"{x / 1e3:g}k"
        c = col(x) + 10 - len(text) // 2
        for i, ch in enumerate(text):
            if 0 <= c + i < len(ticks):
                ticks[c + i] = ch
    print("".join(ticks).rstrip() + "   events")
    print()
    for k, (label, _) in enumerate(series):
        print(f"  {chr(ord('A') + k)}  {label}")
    print("  *  points of several series in one place")


if __name__ == "__main__":
    main(sys.argv)
