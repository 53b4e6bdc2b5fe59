/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Go runtime probe planning: functions from .gopclntab (wrappers skipped),
 * RETs by linear disassembly with capstone. A Go function's code is exactly
 * [entry, end) with int3 padding at its tail, so a linear sweep from entry
 * sees every instruction.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <capstone/capstone.h>
#include "go/disasm.h"
#include "go/gopclntab.h"
#include "go/goprobes.h"
#include "go/goruntime.h"

struct ret_ctx {
	uint64_t *v;
	int n, cap;
};

static int collect_ret(const struct cs_insn *insn, void *ctx)
{
	struct ret_ctx *c = ctx;

	if (insn->id != X86_INS_RET)
		return 0;
	if (c->n == c->cap) {
		int cap = c->cap ? c->cap * 2 : 8;
		uint64_t *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = insn->address;
	return 0;
}

static int lookup_func(Elf *elf, const struct gopcln *t, const char *name,
		       uint64_t *entry, uint64_t *end)
{
	struct gopcln_func f;
	uint64_t size;

	if (t) {
		if (gopcln_find_func(t, name, true, &f) == 0) {
			*entry = f.entry;
			*end = f.end;
			return 0;
		}
		return -ENOENT;
	}
	/* No .gopclntab reader: .symtab sizes give the same range. */
	if (go_elf_symbol(elf, name, entry, &size) != 0 || !size)
		return -ENOENT;
	*end = *entry + size;
	return 0;
}

/* The instruction before the one looked at: a CALL padded by Go with a
 * 5-byte NOP is probed on the NOP (no trap on kernels >= 6.18). */
struct prev_insn {
	uint64_t addr;
	uint8_t bytes[16];
	uint16_t size;
};

static const uint8_t nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };

static void prev_note(struct prev_insn *p, const struct cs_insn *insn)
{
	p->addr = insn->address;
	p->size = insn->size;
	memcpy(p->bytes, insn->bytes,
	       insn->size < sizeof(p->bytes) ? insn->size : sizeof(p->bytes));
}

/* The probe for the CALL at insn: on the NOP before it when there is one. */
static void call_probe_at(const struct prev_insn *p, const struct cs_insn *insn,
			  struct go_call_probe *out)
{
	out->found = true;
	out->vaddr = insn->address;
	if (p->size == sizeof(nop5) && p->addr + sizeof(nop5) == insn->address &&
	    !memcmp(p->bytes, nop5, sizeof(nop5))) {
		out->nop5 = true;
		out->vaddr = p->addr;
	}
}

struct call_ctx {
	uint64_t after, callee;	/* entries; after 0: none */
	bool seen_after;
	struct prev_insn prev;
	struct go_call_probe *out;
};

static int find_call(const struct cs_insn *insn, void *ctx)
{
	struct call_ctx *c = ctx;
	const cs_x86 *x = &insn->detail->x86;
	uint64_t target = 0;
	int ret = 0;

	if (insn->id == X86_INS_CALL) {
		if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM)
			target = x->operands[0].imm;
		if (c->after && target == c->after) {
			c->seen_after = true;
		} else if (target == c->callee && (!c->after || c->seen_after)) {
			call_probe_at(&c->prev, insn, c->out);
			ret = 1;
		} else {
			c->seen_after = false;	/* another call between */
		}
	}
	prev_note(&c->prev, insn);
	return ret;
}

int go_call_probe_find(Elf *elf, const struct gopcln *t, const char *caller,
		       const char *after, const char *callee,
		       struct go_call_probe *out)
{
	struct call_ctx c = { .out = out };
	uint64_t start, end, e2;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = lookup_func(elf, t, caller, &start, &end)) ||
	    (err = lookup_func(elf, t, callee, &c.callee, &e2)) ||
	    (after && (err = lookup_func(elf, t, after, &c.after, &e2))))
		return err;
	err = go_disasm(elf, start, end, true, find_call, &c, NULL);
	if (err < 0)
		return err;
	if (!out->found)
		return -ENOENT;
	err = go_probe_site_proven(elf, t, caller, start, end, out->vaddr);
	if (err) {
		memset(out, 0, sizeof(*out));
		return err;
	}
	err = go_elf_vaddr_to_offset(elf, out->vaddr, &out->offset);
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}

struct stmt_ctx {
	uint64_t call_at, newproc;
	struct go_call_probe *out;
	struct prev_insn prev;
};

static int find_stmt_call(const struct cs_insn *insn, void *ctx)
{
	struct stmt_ctx *c = ctx;
	const cs_x86 *x = &insn->detail->x86;

	if (insn->address > c->call_at)	/* the sweep went past it */
		return 1;
	if (insn->address == c->call_at) {
		if (insn->id == X86_INS_CALL && insn->size == 5 &&
		    x->op_count == 1 && x->operands[0].type == X86_OP_IMM &&
		    (uint64_t)x->operands[0].imm == c->newproc)
			call_probe_at(&c->prev, insn, c->out);
		return 1;
	}
	prev_note(&c->prev, insn);
	return 0;
}

int go_stmt_probe_find(Elf *elf, const struct gopcln *t, uint64_t gopc,
		       struct go_call_probe *out)
{
	struct stmt_ctx c = { .call_at = gopc - 5, .out = out };
	struct gopcln_func f;
	uint64_t end;
	int err, bad = 0;

	memset(out, 0, sizeof(*out));
	if (!t || gopc < 5)
		return -ENOENT;
	if ((err = gopcln_func_for_pc(t, gopc - 1, &f)) ||
	    (err = lookup_func(elf, t, "runtime.newproc", &c.newproc, &end)))
		return err < 0 ? err : -ENOENT;
	if (c.call_at < f.entry || gopc > f.end)
		return -ENOENT;
	/* A linear sweep from the entry must land on the CALL itself with
	 * every byte before it decoded: the probe sits on an instruction
	 * boundary, never inside one. */
	err = go_disasm(elf, f.entry, gopc, true, find_stmt_call, &c, &bad);
	if (err < 0)
		return err;
	if (!out->found || bad) {
		memset(out, 0, sizeof(*out));
		return -ENOENT;
	}
	/* And the bounds of the function, as for every other probe. */
	err = go_probe_site_proven(elf, t, f.name, f.entry, f.end, out->vaddr);
	if (err) {
		memset(out, 0, sizeof(*out));
		return err;
	}
	err = go_elf_vaddr_to_offset(elf, out->vaddr, &out->offset);
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}

int go_probe_func_resolve(Elf *elf, const struct gopcln *t, const char *name,
			  bool want_rets, struct go_probe_func *out)
{
	struct ret_ctx rc = { 0 };
	int err;

	memset(out, 0, sizeof(*out));
	out->name = name;
	err = lookup_func(elf, t, name, &out->entry, &out->end);
	if (!err)
		err = go_probe_site_proven(elf, t, name, out->entry, out->end,
					   out->entry);
	if (err)
		return err;
	err = go_elf_vaddr_to_offset(elf, out->entry, &out->entry_offset);
	if (err)
		return err;
	if (want_rets) {
		err = go_disasm(elf, out->entry, out->end, false, collect_ret,
				&rc, &out->undecoded);
		if (err) {
			free(rc.v);
			return err;
		}
		out->ret_vaddrs = rc.v;
		out->nrets = rc.n;
		out->ret_offsets = calloc(rc.n ? rc.n : 1,
					  sizeof(*out->ret_offsets));
		if (!out->ret_offsets) {
			go_probe_func_free(out);
			return -ENOMEM;
		}
		for (int i = 0; i < rc.n; i++) {
			err = go_elf_vaddr_to_offset(elf, rc.v[i],
						     &out->ret_offsets[i]);
			if (err) {
				go_probe_func_free(out);
				return err;
			}
		}
	}
	out->found = true;
	return 0;
}

void go_probe_func_free(struct go_probe_func *f)
{
	free(f->ret_vaddrs);
	free(f->ret_offsets);
	f->ret_vaddrs = f->ret_offsets = NULL;
	f->nrets = 0;
	f->found = false;
}

int go_probes_plan(const struct go_runtime *rt, struct go_probe_plan *plan)
{
	Elf *elf = rt->elf;
	const struct gopcln *t = rt->pcln;
	int err;

	memset(plan, 0, sizeof(*plan));
	err = go_probe_func_resolve(elf, t, "runtime.newproc1", true,
				    &plan->newproc1);
	if (!err)
		err = go_probe_func_resolve(elf, t, "runtime.gopark", true,
					    &plan->gopark);
	if (!err) {
		/* gdestroy was split out of goexit0 in Go 1.22. */
		err = go_probe_func_resolve(elf, t, "runtime.gdestroy", false,
					    &plan->gexit);
		if (err == -ENOENT)
			err = go_probe_func_resolve(elf, t, "runtime.goexit0",
						    false, &plan->gexit);
		else if (!err)
			go_call_probe_find(elf, t, "runtime.goexit0", NULL,
					   "runtime.gdestroy", &plan->gexit_call);
	}
	/* The new g at the runqput that follows newproc1, in newproc's
	 * systemstack closure: one cheap probe instead of a RET. */
	if (!err)
		go_call_probe_find(elf, t, "runtime.newproc.func1",
				   "runtime.newproc1", "runtime.runqput",
				   &plan->newg);
	if (!err && (!plan->newproc1.nrets || !plan->gopark.nrets))
		err = -ENOENT;
	if (err) {
		go_probes_free(plan);
		return err;
	}
	/* Optional: heap sampling hooks. */
	go_probe_func_resolve(elf, t, "runtime.mProf_Malloc", false,
			      &plan->mprof_malloc);
	go_probe_func_resolve(elf, t, "runtime.freeSpecial", false,
			      &plan->free_special);
	return 0;
}

void go_probes_free(struct go_probe_plan *plan)
{
	go_probe_func_free(&plan->newproc1);
	go_probe_func_free(&plan->gopark);
	go_probe_func_free(&plan->gexit);
	go_probe_func_free(&plan->mprof_malloc);
	go_probe_func_free(&plan->free_special);
}
