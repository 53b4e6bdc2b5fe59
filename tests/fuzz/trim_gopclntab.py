#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Cuts a real .gopclntab (Go 1.20+ layout, magic 0xfffffff1) down to its
first N functions, as a small real seed for fuzz_gopclntab: the header,
cutab and filetab are kept whole; funcnametab and pctab are kept up to the
last byte a kept function uses; the function table keeps its first N + 1
entries' region and the kept _func records (offsets stay valid: each
region keeps its prefix, the header's offsets and nfunc are rewritten).

Usage: trim_gopclntab.py IN OUT N"""
import struct
import sys


def uvarint(d, i):
    v = s = 0
    while True:
        b = d[i]
        i += 1
        v |= (b & 0x7f) << s
        s += 7
        if b < 0x80:
            return v, i


def pctab_end(d, off):
    """End (exclusive) of the pc-value table at off: pairs of value delta
    and pc delta, ended by a 0 value delta after the first pair."""
    i, first = off, True
    while True:
        if d[i] == 0 and not first:
            return i + 1
        _, i = uvarint(d, i)
        _, i = uvarint(d, i)
        first = False


def main():
    src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    d = open(src, "rb").read()
    magic, = struct.unpack_from("<I", d, 0)
    assert magic == 0xfffffff1 and d[7] == 8, "Go 1.20+ 64-bit tables only"
    nfunc, nfiles, text, fname, cu, ftab, pct, pcln = struct.unpack_from("<8Q", d, 8)
    n = min(n, nfunc)
    name_end = pc_end = rec_end = 0
    for k in range(n):
        _, funcoff = struct.unpack_from("<II", d, pcln + 8 * k)
        r = pcln + funcoff
        (_, name, _, _, pcsp, pcfile, pcln_off, npcdata, _, _) = \
            struct.unpack_from("<IiiIIIIIIi", d, r)
        nfuncdata = d[r + 43]
        name_end = max(name_end, d.index(b"\0", fname + name) + 1 - fname)
        tabs = [pcsp, pcfile, pcln_off] + \
            list(struct.unpack_from(f"<{npcdata}I", d, r + 44))
        for t in tabs:
            if t:
                pc_end = max(pc_end, pctab_end(d, pct + t) - pct)
        rec_end = max(rec_end, funcoff + 44 + 4 * (npcdata + nfuncdata))
    # The table's entry n (end of the last kept function) stays where it is.
    rec_end = max(rec_end, 8 * (n + 1))
    body = [d[fname:fname + name_end], d[cu:ftab], d[ftab:pct],
            d[pct:pct + pc_end], d[pcln:pcln + rec_end]]
    offs, at = [], 8 + 8 * 8
    for b in body:
        offs.append(at)
        at += len(b)
    hdr = d[:8] + struct.pack("<8Q", n, nfiles, text, offs[0], offs[1], offs[2],
                              offs[3], offs[4])
    open(dst, "wb").write(hdr + b"".join(body))


if __name__ == "__main__":
    main()
