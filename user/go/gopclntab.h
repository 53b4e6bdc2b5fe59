/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Go symbol tables: .gopclntab (functions, file:line, inlined frames) and
 * .go.buildinfo (Go version). Works on stripped (-s -w) binaries, Go 1.16+.
 */
#ifndef LT_GOPCLNTAB_H
#define LT_GOPCLNTAB_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <gelf.h>

struct gopcln;

struct gopcln_frame {
	const char *func;	/* "net/http.(*conn).serve"; owned by the table */
	const char *file;	/* NULL if unknown */
	int line;		/* 0 if unknown */
	uint64_t entry;		/* entry PC of func (link-time address) */
};

struct gopcln_func {
	const char *name;
	uint64_t entry, end;	/* [entry, end), link-time addresses */
	uint8_t funcid;		/* Go's abi.FuncID */
	bool wrapper;		/* funcID == FuncIDWrapper (ABI0 wrappers etc.) */
};

/* Opens the .gopclntab of an ELF (section, or found via the segment when the
 * section header is stripped). Returns 0, -ENOENT when not a Go binary, or
 * another -errno. The Elf must outlive the table.
 */
int gopcln_open(Elf *elf, struct gopcln **out);
void gopcln_close(struct gopcln *t);
/* Go version from .go.buildinfo ("go1.22.12"), 0 or -ENOENT. */
int go_buildinfo_version(Elf *elf, char *buf, size_t len);

/* Frames for a link-time pc, innermost first (inlined frames first, the
 * physical function last). Returns the number written (0: pc not in Go
 * code). Pass pc - 1 for return addresses.
 */
int gopcln_lookup(const struct gopcln *t, uint64_t pc,
		  struct gopcln_frame *out, int max);
/* Finds a function by exact name. With skip_wrappers, a wrapper of the same
 * name is passed over (runtime.newproc and runtime.goexit1 appear twice).
 * 0 or -ENOENT.
 */
int gopcln_find_func(const struct gopcln *t, const char *name,
		     bool skip_wrappers, struct gopcln_func *out);
/* Number of functions and the i-th one (in pc order). */
size_t gopcln_func_count(const struct gopcln *t);
int gopcln_func_at(const struct gopcln *t, size_t i, struct gopcln_func *out);
/* Text start the pc values are relative to (handles Go 1.26's zeroed
 * header textStart). */
uint64_t gopcln_text_start(const struct gopcln *t);

/* Additions. */
/* The function containing a link-time pc: 0 or -ENOENT. */
int gopcln_func_for_pc(const struct gopcln *t, uint64_t pc,
		       struct gopcln_func *out);
/* The entry stored in the _func record of the function containing pc (a
 * second copy of the function table's): 0 or -ENOENT. */
int gopcln_func_own_entry(const struct gopcln *t, uint64_t pc, uint64_t *entry);
/* FuncID that marks wrappers in this binary (it moves between Go
 * releases: 21 in 1.19-1.21, 22 in 1.22-1.24, 23 from 1.25). */
uint8_t gopcln_wrapper_funcid(const struct gopcln *t);
/* Copies len file bytes at a link-time address (any PT_LOAD segment) into
 * buf: 0, -ENOENT if not backed by the file, or another -errno. */
int go_elf_read(Elf *elf, uint64_t addr, void *buf, size_t len);
/* Section header by name: 0 or -ENOENT (also without section headers). */
int go_elf_section(Elf *elf, const char *name, GElf_Shdr *out);
/* runtime.firstmoduledata, found in the writable segments as the words
 * {pcheader, funcnametab, ...} (link-time addresses of the pclntab and
 * its name table): copies its first n pointer-sized words. 0, -ENOENT. */
int go_moduledata(Elf *elf, uint64_t pcheader, uint64_t funcnametab,
		  unsigned int ptrsize, bool big_endian, uint64_t *words,
		  size_t n);
/* Notes: inlined frames returned by gopcln_lookup (all but the last one)
 * have entry 0, they have no entry of their own at that pc.
 * go_buildinfo_version returns -ENOSPC if buf is too small.
 * gopcln_find_func is a linear scan (for probe planning, not hot paths);
 * gopcln_lookup is a binary search plus the function's own pc tables.
 * A table is read-only after gopcln_open: lookups may run concurrently. */
/* An n-byte unsigned integer (n <= 8) in the given byte order. */
uint64_t go_read_uint(const uint8_t *p, unsigned int n, bool be);
#endif
