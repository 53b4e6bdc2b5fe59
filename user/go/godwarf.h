/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* DWARF lookups shared by the Go runtime readers (goruntime_offsets.c,
 * goheap.c): top-level runtime.* structure types and their members. */
#ifndef LT_GODWARF_H
#define LT_GODWARF_H
#include <stdbool.h>
#include <elfutils/libdw.h>

struct go_dw_want {
	const char *name;	/* "runtime.g" */
	Dwarf_Die die;
	bool found;
};

/* Finds top-level structure types by name in every CU; stops once all
 * are found. */
void go_dw_find_structs(Dwarf *dw, struct go_dw_want *want, int n);
/* Byte offset of member in a structure DIE: >= 0, or -ENOENT/-ERANGE. */
int go_dw_member_offset(Dwarf_Die *st, const char *member);
#endif
