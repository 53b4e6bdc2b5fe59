# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Patch a Go binary's .gopclntab (Go 1.18+ layout, little-endian ELF64):
move one function's entry in the function table, as a corrupt or hostile
file on disk would."""
import struct
from pathlib import Path


def _sections(data: bytes) -> dict:
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "not ELF64 LE"
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    hdrs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    stroff = hdrs[shstrndx][4]
    out = {}
    for h in hdrs:
        name = data[stroff + h[0]:data.index(b"\0", stroff + h[0])].decode()
        out[name] = (h[4], h[5], h[3])  # offset, size, addr
    return out


def _pclntab_offset(data: bytes) -> int:
    try:
        return _sections(data)[".gopclntab"][0]
    except KeyError:
        pass
    # Stripped of the section name? Go keeps section headers under -s -w;
    # fall back to the magic.
    for magic in (b"\xf1\xff\xff\xff\x00\x00", b"\xf0\xff\xff\xff\x00\x00"):
        i = data.find(magic)
        if i >= 0:
            return i
    raise ValueError("no .gopclntab")


def func_table(data: bytes):
    """[(index, entryoff, name, ftab_entry_file_offset)] of every function."""
    base = _pclntab_offset(data)
    magic, = struct.unpack_from("<I", data, base)
    assert magic in (0xFFFFFFF0, 0xFFFFFFF1), hex(magic)
    ptr = data[base + 7]
    assert ptr == 8
    nfunc, _nfiles, _text, nameoff, _cu, _file, _pctab, pcln = struct.unpack_from(
        "<8Q", data, base + 8)
    ftab = base + pcln
    out = []
    for i in range(nfunc):
        entry, funcoff = struct.unpack_from("<II", data, ftab + 8 * i)
        _fentry, name_off = struct.unpack_from("<Ii", data, base + pcln + funcoff)
        s = base + nameoff + name_off
        name = data[s:data.index(b"\0", s)].decode(errors="replace")
        out.append((i, entry, name, ftab + 8 * i))
    return out


def shift_entry(src: Path, dst: Path, func: str, delta: int) -> int:
    """Copy src to dst with func's .gopclntab entry moved by delta bytes
    (the function table's; the previous function's end moves with it).
    Returns the number of functions patched."""
    data = bytearray(src.read_bytes())
    n = 0
    for _i, entry, name, off in func_table(bytes(data)):
        if name == func:
            struct.pack_into("<I", data, off, entry + delta)
            n += 1
    assert n, f"{func} not in {src}"
    dst.write_bytes(bytes(data))
    dst.chmod(0o755)
    return n
