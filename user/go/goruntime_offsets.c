/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* runtime.g / runtime.m field offsets: from DWARF when the binary has it,
 * else from tables measured on amd64 binaries of each Go version.
 *
 * The tables were measured from the DWARF of binaries built with Go 1.19,
 * 1.21 .. 1.27 (tests/unit/test_goruntime.c re-checks every installed
 * version). Go 1.17, 1.18 and 1.20 values come from DESIGN.md's
 * measurements; their g.m and m.procid follow from the layout shared with
 * 1.19 and 1.21 (gobuf of 7 words until 1.24, 6 words from 1.25).
 */
#include <errno.h>
#include <string.h>
#include <elfutils/libdw.h>
#include <dwarf.h>
#include "go/goruntime.h"

struct go_table_row {
	int min_minor, max_minor;
	int atomicstatus, goid, waitsince, waitreason, parent_goid;
	int gopc, startpc, sched_bp, m_procid, m_curg;
};

/* Common to every row: stack.lo 0, stack.hi 8, g.m 48, g.sched 56,
 * gobuf.sp 0, gobuf.pc 8. */
static const struct go_table_row go_table[] = {
	{ 17, 20, 144, 152, 168, 176,  -1, 296, 312, 56 + 48, 72, 192 },
	{ 21, 22, 144, 152, 168, 176, 272, 280, 296, 56 + 48, 72, 192 },
	{ 23, 24, 152, 160, 176, 184, 280, 288, 304, 56 + 48, 72, 192 },
	{ 25, 25, 144, 152, 168, 176, 272, 280, 296, 56 + 40, 64, 184 },
	{ 26, 27, 144, 152, 168, 176, 280, 288, 304, 56 + 40, 64, 184 },
};

static void go_offsets_finish(struct go_offsets *o)
{
	int fields[] = { o->stack_hi, o->atomicstatus, o->goid, o->waitsince,
			 o->waitreason, o->parent_goid, o->gopc, o->startpc,
			 o->sched_sp, o->sched_pc, o->sched_bp, o->m };
	int max = 0;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i] > max)
			max = fields[i];
	o->g_size = max + 8;
}

int go_offsets_from_table(int minor, struct go_offsets *o)
{
	for (size_t i = 0; i < sizeof(go_table) / sizeof(go_table[0]); i++) {
		const struct go_table_row *r = &go_table[i];

		if (minor < r->min_minor || minor > r->max_minor)
			continue;
		memset(o, 0, sizeof(*o));
		o->stack_lo = 0;
		o->stack_hi = 8;
		o->atomicstatus = r->atomicstatus;
		o->goid = r->goid;
		o->waitsince = r->waitsince;
		o->waitreason = r->waitreason;
		o->parent_goid = r->parent_goid;
		o->gopc = r->gopc;
		o->startpc = r->startpc;
		o->sched_sp = 56;
		o->sched_pc = 56 + 8;
		o->sched_bp = r->sched_bp;
		o->m = 48;
		o->m_procid = r->m_procid;
		o->m_curg = r->m_curg;
		o->version_minor = minor;
		o->from_dwarf = false;
		go_offsets_finish(o);
		return 0;
	}
	return -ENOTSUP;
}

/* DWARF */

struct dw_want {
	const char *name;
	Dwarf_Die die;
	bool found;
};

static int dw_member_offset(Dwarf_Die *st, const char *member)
{
	Dwarf_Die child;
	Dwarf_Attribute attr;
	Dwarf_Word off;

	if (dwarf_child(st, &child) != 0)
		return -ENOENT;
	do {
		const char *name;

		if (dwarf_tag(&child) != DW_TAG_member)
			continue;
		name = dwarf_diename(&child);
		if (!name || strcmp(name, member) != 0)
			continue;
		if (!dwarf_attr(&child, DW_AT_data_member_location, &attr))
			return -ENOENT;
		if (dwarf_formudata(&attr, &off) != 0)
			return -ENOENT;
		return off > 1 << 20 ? -ERANGE : (int)off;
	} while (dwarf_siblingof(&child, &child) == 0);
	return -ENOENT;
}

/* Finds top-level structure types by name in every CU; stops once all
 * are found. */
static void dw_find_structs(Dwarf *dw, struct dw_want *want, int n)
{
	Dwarf_Off off = 0, next;
	size_t hsize;
	int left = n;

	while (left && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL,
				    NULL) == 0) {
		Dwarf_Die cu, die;

		if (!dwarf_offdie(dw, off + hsize, &cu) ||
		    dwarf_child(&cu, &die) != 0) {
			off = next;
			continue;
		}
		do {
			const char *name;

			if (dwarf_tag(&die) != DW_TAG_structure_type)
				continue;
			name = dwarf_diename(&die);
			if (!name || strncmp(name, "runtime.", 8) != 0)
				continue;
			for (int i = 0; i < n; i++) {
				if (want[i].found ||
				    strcmp(name, want[i].name) != 0)
					continue;
				want[i].die = die;
				want[i].found = true;
				left--;
			}
		} while (left && dwarf_siblingof(&die, &die) == 0);
		off = next;
	}
}

int go_offsets_from_dwarf(Elf *elf, struct go_offsets *o)
{
	struct dw_want want[] = {
		{ .name = "runtime.g" },
		{ .name = "runtime.gobuf" },
		{ .name = "runtime.m" },
		{ .name = "runtime.stack" },
	};
	Dwarf_Die *g = &want[0].die, *gobuf = &want[1].die, *m = &want[2].die;
	Dwarf_Die *stack = &want[3].die;
	struct go_offsets r = { 0 };
	int sched, stk, err = 0;
	Dwarf *dw;

	dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	if (!dw)
		return -ENOENT;
	dw_find_structs(dw, want, 4);
	for (int i = 0; i < 4; i++)
		if (!want[i].found) {
			err = -ENOENT;
			goto out;
		}

#define DW_FIELD(dst, die, name)                                               \
	do {                                                                   \
		int _v = dw_member_offset(die, name);                          \
		if (_v < 0) {                                                  \
			err = _v;                                              \
			goto out;                                              \
		}                                                              \
		dst = _v;                                                      \
	} while (0)

	DW_FIELD(stk, g, "stack");
	DW_FIELD(r.stack_lo, stack, "lo");
	DW_FIELD(r.stack_hi, stack, "hi");
	r.stack_lo += stk;
	r.stack_hi += stk;
	DW_FIELD(r.atomicstatus, g, "atomicstatus");
	DW_FIELD(r.goid, g, "goid");
	DW_FIELD(r.waitsince, g, "waitsince");
	DW_FIELD(r.waitreason, g, "waitreason");
	DW_FIELD(r.gopc, g, "gopc");
	DW_FIELD(r.startpc, g, "startpc");
	DW_FIELD(r.m, g, "m");
	DW_FIELD(sched, g, "sched");
	DW_FIELD(r.sched_sp, gobuf, "sp");
	DW_FIELD(r.sched_pc, gobuf, "pc");
	DW_FIELD(r.sched_bp, gobuf, "bp");
	r.sched_sp += sched;
	r.sched_pc += sched;
	r.sched_bp += sched;
	DW_FIELD(r.m_procid, m, "procid");
	DW_FIELD(r.m_curg, m, "curg");
#undef DW_FIELD
	r.parent_goid = dw_member_offset(g, "parentGoid");
	if (r.parent_goid < 0)
		r.parent_goid = -1;
	r.from_dwarf = true;
	go_offsets_finish(&r);
	*o = r;
out:
	dwarf_end(dw);
	return err;
}
