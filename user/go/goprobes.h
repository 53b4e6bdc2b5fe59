/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where to put the Go runtime uprobes: entry and every RET, as file
 * offsets for uprobe attach. Never a uretprobe on Go code: Go moves stacks
 * and walks return addresses, so a patched one crashes the target.
 */
#ifndef LT_GOPROBES_H
#define LT_GOPROBES_H
#include <stdbool.h>
#include <stdint.h>
#include <gelf.h>
#include "go/disasm.h"

struct go_runtime;
struct gopcln;
struct cs_insn;

struct go_probe_func {
	bool found;
	const char *name;	/* static string, e.g. "runtime.newproc1" */
	uint64_t entry, end;	/* [entry, end), link-time addresses */
	uint64_t entry_offset;	/* file offset of entry */
	int nrets;		/* 0 unless RETs were asked for */
	uint64_t *ret_vaddrs;	/* link-time address of each RET */
	uint64_t *ret_offsets;	/* file offset of each RET */
	int undecoded;		/* bytes capstone could not decode (skipped) */
};

/* One probe at a call site: the CALL, or the 5-byte NOP Go pads it with
 * (kernels >= 6.18 turn a uprobe on that NOP into a call into a
 * trampoline: no trap at all). A CALL is emulated by the kernel (one
 * trap); a RET or most function entries are single-stepped (two). */
struct go_call_probe {
	bool found;
	bool nop5;		/* on the NOP before the CALL */
	uint64_t vaddr;		/* link-time address */
	uint64_t offset;	/* file offset */
};

struct go_probe_plan {
	struct go_probe_func newproc1;	/* RETs: RAX = the new g */
	struct go_call_probe newg;	/* newproc.func1's runqput(pp, newg)
					 * after newproc1: RBX = the new g;
					 * used instead of the RETs if found */
	struct go_call_probe gexit_call;	/* goexit0's call of gdestroy:
						 * RAX = g; instead of its entry */
	struct go_probe_func gopark;	/* entry: park (R14 = g, CL = reason);
					 * RETs: wake-up */
	struct go_probe_func gexit;	/* gdestroy (Go >= 1.22) or goexit0 */
	struct go_probe_func mprof_malloc;	/* may be missing */
	struct go_probe_func free_special;	/* may be missing */
};

/* Plans every probe. Returns 0, or -ENOENT when newproc1, gopark or the
 * exit hook is missing (the others are optional), or -errno. Free with
 * go_probes_free(). */
int go_probes_plan(const struct go_runtime *rt, struct go_probe_plan *plan);
void go_probes_free(struct go_probe_plan *plan);

/* Finds in function caller the first CALL of callee that follows a CALL of
 * after (when not NULL) with no other CALL between. 0, -ENOENT, -errno. */
int go_call_probe_find(Elf *elf, const struct gopcln *t, const char *caller,
		       const char *after, const char *callee,
		       struct go_call_probe *out);

/* The probe for one go statement: gopc is the runtime's g.gopc (link-time
 * address), the return address of the statement's CALL runtime.newproc.
 * Found only when a clean linear disassembly of the enclosing function
 * from its entry has an instruction boundary at that CALL (the NOP before
 * it when Go padded it). 0, -ENOENT, -errno. */
int go_stmt_probe_find(Elf *elf, const struct gopcln *t, uint64_t gopc,
		       struct go_call_probe *out);

/* Resolves one function by name (non-wrapper, via .gopclntab when t is not
 * NULL, else .symtab), with its RETs when want_rets. 0, -ENOENT, -errno. */
int go_probe_func_resolve(Elf *elf, const struct gopcln *t, const char *name,
			  bool want_rets, struct go_probe_func *out);
void go_probe_func_free(struct go_probe_func *f);

#endif
