// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Linear disassembly of Go code with capstone, and the proof that a probe
 * offset is an instruction boundary. A Go function's code is exactly
 * [entry, end) with int3 padding at its tail, so a linear sweep from entry
 * sees every instruction; Go puts no data in its text.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <capstone/capstone.h>
#include "go/disasm.h"
#include "go/gopclntab.h"
#include "go/goruntime.h"
#include "util/log.h"

/* Longest function we disassemble, and the farthest back we start the
 * sweep of a previous function. */
#define GO_DISASM_MAX (16u << 20)
#define GO_PREV_MAX (1u << 20)

int go_disasm(Elf *elf, uint64_t start, uint64_t end, bool detail,
	      int (*fn)(const struct cs_insn *insn, void *ctx), void *ctx,
	      int *undecoded)
{
	const uint8_t *code, *p;
	uint64_t addr;
	size_t left;
	csh cs;
	cs_insn *insn;
	int ret = 0, bad = 0;

	if (end <= start || end - start > GO_DISASM_MAX)
		return -EINVAL;
	code = go_elf_bytes_at(elf, start, end - start);
	if (!code)
		return -ENOENT;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return -ENOMEM;
	if (detail)
		cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	insn = cs_malloc(cs);
	if (!insn) {
		cs_close(&cs);
		return -ENOMEM;
	}
	p = code;
	left = end - start;
	addr = start;
	while (left) {
		if (!cs_disasm_iter(cs, &p, &left, &addr, insn)) {
			/* Not an instruction: skip a byte and resync. */
			bad++;
			p++;
			left--;
			addr++;
			continue;
		}
		ret = fn(insn, ctx);
		if (ret)
			break;
	}
	cs_free(insn, 1);
	cs_close(&cs);
	if (undecoded)
		*undecoded = bad;
	return ret;
}

struct sweep {
	uint64_t mark;		/* address that must be a boundary */
	bool on_mark;		/* an instruction starts at mark */
	bool straddles;		/* one runs across mark */
	bool mark_is_pad;	/* the one at mark is int3 (padding) */
	unsigned int before;	/* id of the instruction ending at mark */
};

/* What a Go function's code can end with: padding, a return, a jump (the
 * morestack loop back to entry, a tail call), a trap, or the NOP Go puts
 * after a call that does not return (a CALL itself never ends one). */
static bool ends_function(unsigned int id)
{
	return id == X86_INS_INT3 || id == X86_INS_RET || id == X86_INS_JMP ||
	       id == X86_INS_UD2 || id == X86_INS_NOP;
}

static int on_insn(const struct cs_insn *insn, void *ctx)
{
	struct sweep *s = ctx;

	if (insn->address + insn->size == s->mark)
		s->before = insn->id;
	if (insn->address == s->mark) {
		s->on_mark = true;
		s->mark_is_pad = insn->id == X86_INS_INT3;
	} else if (insn->address < s->mark &&
		   insn->address + insn->size > s->mark) {
		s->straddles = true;
	}
	return 0;
}

/* Sweeps [start, end) and reports on mark. */
static int sweep(Elf *elf, uint64_t start, uint64_t end, uint64_t mark,
		 struct sweep *s, int *undecoded)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->mark = mark;
	err = go_disasm(elf, start, end, false, on_insn, s, undecoded);
	return err < 0 ? err : 0;
}

int go_func_bounds_check(Elf *elf, const struct gopcln *t, const char *name,
			 uint64_t entry, uint64_t end, char *why, size_t len)
{
	struct gopcln_func f, prev;
	uint64_t value, size, from = entry;
	struct sweep s;
	int bad = 0, err;

	if (end <= entry || end - entry > GO_DISASM_MAX)
		return lt_doubt(why, len, "bounds [0x%lx, 0x%lx) are not a function",
			     entry, end);
	if (entry % GO_FUNC_ALIGN)
		return lt_doubt(why, len, "entry 0x%lx is not %d-byte aligned as Go aligns functions",
			     entry, GO_FUNC_ALIGN);
	if (t) {
		uint64_t own;

		if (gopcln_func_for_pc(t, entry, &f) || f.entry != entry ||
		    f.end != end)
			return lt_doubt(why, len, ".gopclntab does not give [0x%lx, 0x%lx) for it",
				     entry, end);
		if (!gopcln_func_own_entry(t, entry, &own) && own != entry)
			return lt_doubt(why, len, ".gopclntab's function table says 0x%lx, its "
				     "function record 0x%lx", entry, own);
		if (!gopcln_func_for_pc(t, entry - 1, &prev)) {
			if (prev.end != entry)
				return lt_doubt(why, len, "the function before it ends at 0x%lx, not at its entry 0x%lx",
					     prev.end, entry);
			if (entry - prev.entry <= GO_PREV_MAX)
				from = prev.entry;
		}
	}
	if (name && !go_elf_symbol(elf, name, &value, &size)) {
		if (value != entry)
			return lt_doubt(why, len, ".gopclntab puts its entry at 0x%lx, .symtab at 0x%lx",
				     entry, value);
		if (size > end - entry)
			return lt_doubt(why, len, ".symtab's size %lu runs past .gopclntab's end 0x%lx",
				     size, end);
	}
	/* The function itself: every byte decodes, entry is real code. */
	err = sweep(elf, entry, end, entry, &s, &bad);
	if (err)
		return lt_doubt(why, len, "its code cannot be read (%s)", strerror(-err));
	if (bad)
		return lt_doubt(why, len, "%d bytes of [0x%lx, 0x%lx) do not decode as instructions",
			     bad, entry, end);
	if (s.mark_is_pad)
		return lt_doubt(why, len, "entry 0x%lx is int3 padding, not code", entry);
	/* The function before it: its instructions end exactly at entry. */
	if (from != entry) {
		err = sweep(elf, from, end, entry, &s, NULL);
		if (err)
			return lt_doubt(why, len, "the code before it cannot be read (%s)",
				     strerror(-err));
		if (!s.on_mark || s.straddles)
			return lt_doubt(why, len, "entry 0x%lx falls inside an instruction of the code before it",
				     entry);
		if (!ends_function(s.before))
			return lt_doubt(why, len, "the code before entry 0x%lx does not end a function "
				     "(no padding, return or jump)", entry);
	}
	return 0;
}

int go_insn_boundary(Elf *elf, uint64_t entry, uint64_t end, uint64_t pc,
		     char *why, size_t len)
{
	struct sweep s;
	int bad = 0, err;

	if (pc < entry || pc >= end)
		return lt_doubt(why, len, "0x%lx is outside [0x%lx, 0x%lx)", pc, entry, end);
	err = sweep(elf, entry, end, pc, &s, &bad);
	if (err)
		return lt_doubt(why, len, "its code cannot be read (%s)", strerror(-err));
	if (bad)
		return lt_doubt(why, len, "%d bytes of [0x%lx, 0x%lx) do not decode as instructions",
			     bad, entry, end);
	if (!s.on_mark || s.straddles)
		return lt_doubt(why, len, "0x%lx is not an instruction boundary", pc);
	if (s.mark_is_pad)
		return lt_doubt(why, len, "0x%lx is int3 padding", pc);
	return 0;
}

int go_probe_site_proven(Elf *elf, const struct gopcln *t, const char *name,
			 uint64_t entry, uint64_t end, uint64_t pc)
{
	char why[160];
	int err;

	err = go_func_bounds_check(elf, t, name, entry, end, why, sizeof(why));
	if (!err && pc != entry)
		err = go_insn_boundary(elf, entry, end, pc, why, sizeof(why));
	if (err == -EDOM)
		lt_warn("not probing %s at 0x%lx: %s\n", name ? name : "?", pc, why);
	return err;
}
