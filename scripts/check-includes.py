#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Include cycles in user/: between files, and between folders (folder A
depends on B when a file in A includes one in B). Prints them; exit 1 when
there is any. Usage: scripts/check-includes.py [user]"""
import os
import re
import sys


def graph(root):
    g = {}
    for d, _, files in os.walk(root):
        for f in files:
            if not f.endswith(('.c', '.h')):
                continue
            p = os.path.relpath(os.path.join(d, f), root)
            inc = []
            with open(os.path.join(d, f), errors='replace') as fh:
                for line in fh:
                    m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                    if not m:
                        continue
                    for c in (os.path.normpath(os.path.join(os.path.dirname(p), m.group(1))),
                              m.group(1)):
                        if os.path.exists(os.path.join(root, c)):
                            inc.append(c)
                            break
            g[p] = inc
    return g


def cycles(g):
    found, done = set(), set()

    def dfs(n, stack, on):
        for m in g.get(n, ()):
            if m in on:
                c = stack[stack.index(m):]
                k = min(range(len(c)), key=lambda i: c[i])
                found.add(tuple(c[k:] + c[:k]))
            elif m not in done:
                dfs(m, stack + [m], on | {m})
        done.add(n)

    for n in sorted(g):
        if n not in done:
            dfs(n, [n], {n})
    return sorted(found)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else 'user'
    g = graph(root)
    folder = lambda p: os.path.dirname(p) or '.'
    fg = {}
    for p, inc in g.items():
        for i in inc:
            if folder(p) != folder(i):
                fg.setdefault(folder(p), set()).add(folder(i))
    bad = 0
    for what, c in (('file', cycles(g)), ('folder', cycles({k: sorted(v) for k, v in fg.items()}))):
        for cyc in c:
            print('%s cycle: %s' % (what, ' -> '.join(cyc + (cyc[0],))))
            bad += 1
    print('%d files, %d folders, %d cycles' % (len(g), len(fg), bad))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
