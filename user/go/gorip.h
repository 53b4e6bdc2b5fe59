/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Runtime variables of stripped Go binaries, found from the code that uses
 * them: the RIP-relative memory operands of one runtime function (found
 * through .gopclntab, or .symtab when present). Shared by goallgs.c
 * (runtime.allgs) and goheap.c (runtime.mbuckets and friends).
 */
#ifndef LT_GORIP_H
#define LT_GORIP_H
#include <stdbool.h>
#include <stdint.h>
#include <gelf.h>

struct gopcln;

/* Link-time addresses of the RIP-relative memory operands of size bytes
 * in func's code, in code order (repeats kept), written to addrs[max].
 * loads_only: only `mov reg, [rip+X]`. Returns how many were found (more
 * than max are dropped), -ENOENT when func is absent, or -errno. */
int go_rip_refs(Elf *elf, const struct gopcln *t, const char *func,
		int size, bool loads_only, uint64_t *addrs, int max);
/* In a writable, non-executable PT_LOAD (data or bss)? */
bool go_is_data_addr(Elf *elf, uint64_t addr);
/* The one distinct data address func loads with size-byte moves: 0, or
 * -ENOENT when there is none or more than one. */
int go_rip_single_load(Elf *elf, const struct gopcln *t, const char *func,
		       int size, uint64_t *addr);
#endif
