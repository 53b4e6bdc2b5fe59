# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Damaged copies of an ELF64 LE file: section headers gone or misplaced,
section names unreadable, the file cut inside a section."""
import struct
from pathlib import Path


def sections(data: bytes) -> dict:
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    hdrs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
            for i in range(shnum)]
    stroff = hdrs[shstrndx][4]
    out = {}
    for h in hdrs:
        name = data[stroff + h[0]:data.index(b"\0", stroff + h[0])].decode()
        out[name] = (h[4], h[5])  # offset, size
    return out


def damage(src: Path, dst: Path, kind: str) -> None:
    """kind: shoff0, shoff1, shstrndx0 or cut:SECTION (cut mid-section)."""
    d = bytearray(src.read_bytes())
    if kind == "shoff0":
        struct.pack_into("<Q", d, 0x28, 0)
    elif kind == "shoff1":
        struct.pack_into("<Q", d, 0x28, 1)
    elif kind == "shstrndx0":
        struct.pack_into("<H", d, 0x3E, 0)
    elif kind.startswith("cut:"):
        off, size = sections(bytes(d))[kind[4:]]
        d = d[:off + size // 2]
    else:
        raise ValueError(kind)
    dst.write_bytes(bytes(d))
    dst.chmod(0o755)
