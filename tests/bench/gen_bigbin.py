#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Writes a Go program large enough to stand for a big production binary
(>= 100 MB with DWARF): many distinct functions with real bodies, so that
.gopclntab, .symtab and DWARF are as large as the size suggests. The
program parks a few goroutines and sleeps, so it can be attached to.
Usage: gen_bigbin.py OUTDIR [NFUNCS]"""
import os
import sys

TEMPLATE = """
//go:noinline
func f{i}(x []int64, k int64) int64 {{
	var s int64
	for j := range x {{
		switch (int64(j) + k + {i}) % 7 {{
		case 0:
			s += x[j] * {a}
		case 1:
			s ^= x[j] + {b}
		case 2:
			s -= x[j] >> 3
		case 3:
			s += int64(len(x)) * {c}
		case 4:
			s = s*31 + x[j]
		case 5:
			s |= x[j] & {a}
		default:
			s += {b}
		}}
	}}
{call}	return s
}}
"""
# Every fifth function calls the next one (which calls nothing): no cycles.
CALL = """	if s%{d} == 0 {{
		return s + f{n}(x[:len(x)/2], k+1)
	}}
"""


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 60000
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "main.go"), "w") as f:
        f.write("package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\t\"time\"\n)\n")
        for i in range(n):
            call = CALL.format(d=(i % 97) + 3, n=i + 1) if i % 5 == 0 and i + 1 < n else ""
            f.write(TEMPLATE.format(i=i, a=i * 3 + 1, b=i * 7 + 2, c=i % 13 + 1, call=call))
        f.write("\nvar table = []func([]int64, int64) int64{\n")
        for i in range(n):
            f.write(f"\tf{i},\n")
        f.write("}\n\nfunc main() {\n\tx := []int64{1, 2, 3}\n\tvar s int64\n"
                "\tfor _, fn := range table[:100] {\n\t\ts += fn(x, 1)\n\t}\n"
                "\tblock := make(chan int)\n\tfor i := 0; i < 8; i++ {\n"
                "\t\tgo func() { <-block }()\n\t}\n"
                "\tfmt.Printf(\"ready pid=%d sum=%d\\n\", os.Getpid(), s)\n"
                "\tfor {\n\t\ttime.Sleep(time.Hour)\n\t}\n}\n")


if __name__ == "__main__":
    main()
