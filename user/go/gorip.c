// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* RIP-relative operands of a runtime function (see gorip.h). */
#include <errno.h>
#include <elf.h>
#include <capstone/capstone.h>
#include "go/gopclntab.h"
#include "go/goprobes.h"
#include "go/goruntime.h"
#include "go/gorip.h"

struct rip_refs {
	uint64_t *addr;
	int n, max, size;
	bool loads_only;
};

static int collect_rip(const struct cs_insn *insn, void *ctx)
{
	struct rip_refs *r = ctx;
	const cs_x86 *x = &insn->detail->x86;

	if (r->loads_only && insn->id != X86_INS_MOV)
		return 0;
	for (int i = 0; i < x->op_count; i++) {
		const cs_x86_op *op = &x->operands[i];

		if (op->type != X86_OP_MEM || op->mem.base != X86_REG_RIP ||
		    op->mem.index != X86_REG_INVALID || op->size != r->size)
			continue;
		/* A load: memory is the source (second) operand. */
		if (r->loads_only && (i != 1 || x->operands[0].type != X86_OP_REG))
			continue;
		if (r->n < r->max)
			r->addr[r->n++] = insn->address + insn->size +
					  op->mem.disp;
	}
	return 0;
}

bool go_is_data_addr(Elf *elf, uint64_t a)
{
	size_t n;

	if (elf_getphdrnum(elf, &n) != 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (a >= ph.p_vaddr && a < ph.p_vaddr + ph.p_memsz)
			return (ph.p_flags & PF_W) && !(ph.p_flags & PF_X);
	}
	return false;
}

static int func_range(Elf *elf, const struct gopcln *t, const char *name,
		      uint64_t *entry, uint64_t *end)
{
	struct gopcln_func f;
	uint64_t size;

	if (t && gopcln_find_func(t, name, true, &f) == 0) {
		*entry = f.entry;
		*end = f.end;
		return 0;
	}
	if (go_elf_symbol(elf, name, entry, &size) == 0 && size) {
		*end = *entry + size;
		return 0;
	}
	return -ENOENT;
}

int go_rip_refs(Elf *elf, const struct gopcln *t, const char *func,
		int size, bool loads_only, uint64_t *addrs, int max)
{
	struct rip_refs r = { .addr = addrs, .max = max, .size = size,
			      .loads_only = loads_only };
	uint64_t entry, end;
	int err;

	err = func_range(elf, t, func, &entry, &end);
	if (err)
		return err;
	err = go_disasm(elf, entry, end, true, collect_rip, &r, NULL);
	return err ? err : r.n;
}

int go_rip_single_load(Elf *elf, const struct gopcln *t, const char *func,
		       int size, uint64_t *addr)
{
	uint64_t a[64], found = 0;
	int n = go_rip_refs(elf, t, func, size, true, a, 64);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		if (!go_is_data_addr(elf, a[i]))
			continue;
		if (found && found != a[i])
			return -ENOENT;
		found = a[i];
	}
	if (!found)
		return -ENOENT;
	*addr = found;
	return 0;
}
