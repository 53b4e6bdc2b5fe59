/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* x86-64 disassembly of Go code, and the proof every uprobe placement
 * needs: a uprobe inside an instruction corrupts it and crashes the target,
 * so an offset is probed only when a clean linear disassembly shows it is
 * an instruction boundary of a function whose bounds the binary's tables
 * agree on. The file on disk may lie (corrupt, patched, mis-parsed).
 */
#ifndef LT_GO_DISASM_H
#define LT_GO_DISASM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <gelf.h>

struct gopcln;
struct cs_insn;

/* Linear disassembly of [start, end) (link-time addresses, bytes from the
 * file) calling fn for every instruction; capstone details are on when
 * detail is set. fn returns non-zero to stop (returned as is). Bytes that
 * do not decode are skipped one at a time and counted in *undecoded (may
 * be NULL). Returns 0, fn's value, or -errno. */
int go_disasm(Elf *elf, uint64_t start, uint64_t end, bool detail,
	      int (*fn)(const struct cs_insn *insn, void *ctx), void *ctx,
	      int *undecoded);

/* Go aligns the functions it compiles (32 bytes on amd64); asking for 16
 * keeps hand-written assembly in. */
#define GO_FUNC_ALIGN 16

/* Proves the bounds [entry, end) of function name: aligned entry; the
 * .gopclntab entry of the function containing entry is entry and that of
 * the previous one ends there (t may be NULL); .symtab's symbol of that
 * name, when there is one, starts at entry and fits before end; the code
 * decodes with no undecoded byte from entry to end, entry is not padding,
 * and the disassembly of the previous function lands exactly on entry.
 * 0, or -EDOM with the reason in why (may be NULL), or -errno. */
int go_func_bounds_check(Elf *elf, const struct gopcln *t, const char *name,
			 uint64_t entry, uint64_t end, char *why, size_t len);

/* pc is the start of an instruction of the clean linear disassembly of
 * [entry, end). 0, -EDOM with why, or -errno. Call go_func_bounds_check
 * for the function first. */
int go_insn_boundary(Elf *elf, uint64_t entry, uint64_t end, uint64_t pc,
		     char *why, size_t len);

/* Both checks for a probe at pc of function name; on doubt prints one
 * line ("not probing NAME at 0x...: why") and returns -EDOM. */
int go_probe_site_proven(Elf *elf, const struct gopcln *t, const char *name,
			 uint64_t entry, uint64_t end, uint64_t pc);
#endif
