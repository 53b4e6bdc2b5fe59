/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One frame of a symbolized stack: what the symbolizer returns for an
 * address and what sites keep (model/), the reports print (report/). */
#ifndef LT_FRAME_H
#define LT_FRAME_H
#include <stdbool.h>
#include <stdint.h>

struct frame {
	uint64_t addr;		/* runtime address asked about */
	const char *module;	/* path as the target sees it; NULL if unknown */
	const char *function;	/* NULL if unknown; C++ demangled */
	const char *file;	/* NULL if unknown */
	int line;		/* 0 if unknown */
	bool inlined;		/* an inlined frame inside the next one */
	/* Where the frame is in its module's file when no name is known:
	 * the file offset of the instruction (of the call, for a return
	 * address: addr - 1), valid when has_offset; the same instruction's
	 * link-time address (what addr2line -e module takes; equal to the
	 * offset in PIE executables and libraries linked by GNU ld, not in
	 * non-PIE executables), valid when has_elf_addr; the module's GNU
	 * build id in hex or NULL. */
	bool has_offset, has_elf_addr;
	bool in_exe;		/* in the main executable's file */
	uint64_t offset;
	uint64_t elf_addr;
	const char *build_id;
};
#endif
