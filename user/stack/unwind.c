// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* CFI unwinder over a copied stack slice. Per frame: the module at pc
 * (pc - 1 for return addresses, which may sit just past a call that ends
 * its function), its CFI row for that address (libdw's
 * dwarf_cfi_addrframe, .eh_frame first, then .debug_frame), the CFA from
 * the row's rule, every register the row saves read back from the copy,
 * the caller's SP = CFA and its pc = the return address column. Where a
 * module has no CFI (JIT code, Go binaries without .debug_frame) a frame
 * pointer chain is followed instead.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include "sym/elfsym.h"
#include "sym/symbolize.h"
#include "stack/unwind.h"

#if defined(__aarch64__)
#define NREGS 32
#define REG_FP 29
#define REG_LR 30
#define REG_SP 31
#define REG_RA 30
#else	/* x86_64 */
#define NREGS 17
#define REG_FP 6
#define REG_SP 7
#define REG_RA 16
#define REG_LR (-1)
#endif

#define EVAL_STACK 16

struct ustate {
	uint64_t r[NREGS];
	uint64_t known;		/* bit per register */
	uint64_t pc;
};

struct ucopy {
	const uint8_t *data;
	uint64_t sp;
	size_t len;
	size_t *used;		/* bytes up to the highest word read */
};

static bool read_word(const struct ucopy *c, uint64_t addr, uint64_t *v)
{
	if (addr < c->sp || c->len < 8 || addr - c->sp > c->len - 8)
		return false;
	memcpy(v, c->data + (addr - c->sp), 8);
	if (addr - c->sp + 8 > *c->used)
		*c->used = addr - c->sp + 8;
	return true;
}

static bool reg_get(const struct ustate *st, uint64_t reg, uint64_t *v)
{
	if (reg >= NREGS || !(st->known & (1ULL << reg)))
		return false;
	*v = st->r[reg];
	return true;
}

static void reg_set(struct ustate *st, int reg, uint64_t v)
{
	st->r[reg] = v;
	st->known |= 1ULL << reg;
}

/* Evaluates a CFI DWARF expression: -EFAULT when it reads outside the
 * copy, -ENOTSUP for what CFI does not need or unknown registers. */
static int eval(const Dwarf_Op *ops, size_t n, const struct ustate *st,
		const struct ucopy *c, const uint64_t *cfa, uint64_t *out,
		bool *is_value)
{
	uint64_t stack[EVAL_STACK], a, b;
	int top = 0;

	*is_value = false;
#define PUSH(x)                             \
	do {                                \
		uint64_t v_ = (x);          \
		if (top >= EVAL_STACK)      \
			return -ENOTSUP;    \
		stack[top++] = v_;          \
	} while (0)
#define NEED(k)                      \
	do {                         \
		if (top < (k))       \
			return -ENOTSUP; \
	} while (0)
	for (size_t i = 0; i < n; i++) {
		uint8_t op = ops[i].atom;

		if (op >= DW_OP_lit0 && op <= DW_OP_lit31) {
			PUSH(op - DW_OP_lit0);
			continue;
		}
		if (op >= DW_OP_breg0 && op <= DW_OP_breg31) {
			if (!reg_get(st, op - DW_OP_breg0, &a))
				return -ENOTSUP;
			PUSH(a + (int64_t)ops[i].number);
			continue;
		}
		switch (op) {
		case DW_OP_bregx:
			if (!reg_get(st, ops[i].number, &a))
				return -ENOTSUP;
			PUSH(a + (int64_t)ops[i].number2);
			break;
		case DW_OP_call_frame_cfa:
			if (!cfa)
				return -ENOTSUP;
			PUSH(*cfa);
			break;
		case DW_OP_const1u: case DW_OP_const2u: case DW_OP_const4u:
		case DW_OP_const8u: case DW_OP_constu:
			PUSH(ops[i].number);
			break;
		case DW_OP_const1s: case DW_OP_const2s: case DW_OP_const4s:
		case DW_OP_const8s: case DW_OP_consts:
			PUSH((uint64_t)(int64_t)ops[i].number);
			break;
		case DW_OP_plus_uconst:
			NEED(1);
			stack[top - 1] += ops[i].number;
			break;
		case DW_OP_deref:
			NEED(1);
			if (!read_word(c, stack[top - 1], &stack[top - 1]))
				return -EFAULT;
			break;
		case DW_OP_dup:
			NEED(1);
			PUSH(stack[top - 1]);
			break;
		case DW_OP_drop:
			NEED(1);
			top--;
			break;
		case DW_OP_over:
			NEED(2);
			PUSH(stack[top - 2]);
			break;
		case DW_OP_swap:
			NEED(2);
			a = stack[top - 1];
			stack[top - 1] = stack[top - 2];
			stack[top - 2] = a;
			break;
		case DW_OP_neg:
			NEED(1);
			stack[top - 1] = -stack[top - 1];
			break;
		case DW_OP_not:
			NEED(1);
			stack[top - 1] = ~stack[top - 1];
			break;
		case DW_OP_plus: case DW_OP_minus: case DW_OP_and: case DW_OP_or:
		case DW_OP_xor: case DW_OP_mul: case DW_OP_shl: case DW_OP_shr:
		case DW_OP_shra: case DW_OP_ge: case DW_OP_gt: case DW_OP_le:
		case DW_OP_lt: case DW_OP_eq: case DW_OP_ne:
			NEED(2);
			b = stack[--top];
			a = stack[top - 1];
			switch (op) {
			case DW_OP_plus: a += b; break;
			case DW_OP_minus: a -= b; break;
			case DW_OP_and: a &= b; break;
			case DW_OP_or: a |= b; break;
			case DW_OP_xor: a ^= b; break;
			case DW_OP_mul: a *= b; break;
			case DW_OP_shl: a = b < 64 ? a << b : 0; break;
			case DW_OP_shr: a = b < 64 ? a >> b : 0; break;
			case DW_OP_shra: a = (uint64_t)((int64_t)a >> (b < 63 ? b : 63)); break;
			case DW_OP_ge: a = (int64_t)a >= (int64_t)b; break;
			case DW_OP_gt: a = (int64_t)a > (int64_t)b; break;
			case DW_OP_le: a = (int64_t)a <= (int64_t)b; break;
			case DW_OP_lt: a = (int64_t)a < (int64_t)b; break;
			case DW_OP_eq: a = a == b; break;
			default: a = a != b; break;
			}
			stack[top - 1] = a;
			break;
		case DW_OP_stack_value:
			*is_value = true;
			break;
		case DW_OP_nop:
			break;
		default:
			return -ENOTSUP;
		}
	}
#undef PUSH
#undef NEED
	if (!top)
		return -ENOTSUP;
	*out = stack[top - 1];
	return 0;
}

/* One step through a frame-pointer frame (no CFI here): the saved frame
 * pointer and return address sit at fp, fp + 8 on both x86_64 and arm64. */
static int fp_step(const struct ustate *st, const struct ucopy *c,
		   struct ustate *nx)
{
	uint64_t fp, saved_fp, ra;

	if (!reg_get(st, REG_FP, &fp) || fp < st->r[REG_SP] ||
	    !read_word(c, fp, &saved_fp) || !read_word(c, fp + 8, &ra))
		return -EFAULT;
	memset(nx, 0, sizeof(*nx));
	reg_set(nx, REG_FP, saved_fp);
	reg_set(nx, REG_SP, fp + 16);
	nx->pc = ra;
	return 0;
}

/* The innermost frame without CFI (glibc's clone3 covers its syscall with
 * no FDE): taken as a leaf that has pushed nothing, when the return
 * address it implies follows a call. */
static int leaf_step(struct symbolizer *sym, const struct ustate *st,
		     const struct ucopy *c, struct ustate *nx)
{
	uint64_t ra;

#if defined(__aarch64__)
	if (!reg_get(st, REG_LR, &ra))
		return -ENOENT;
	*nx = *st;
	nx->known &= ~(1ULL << REG_LR);
#else
	if (!read_word(c, st->r[REG_SP], &ra))
		return -EFAULT;
	*nx = *st;
	nx->r[REG_SP] += 8;
#endif
	if (!symbolizer_is_return_addr(sym, ra))
		return -ENOENT;
	nx->pc = ra;
	return 0;
}

/* One step with the CFI row fr. */
static enum unw_end cfi_step(Dwarf_Frame *fr, const struct ustate *st,
			     const struct ucopy *c, struct ustate *nx)
{
	Dwarf_Op mem[3], *ops;
	size_t nops;
	uint64_t cfa, v;
	bool is_value;
	int ra, err;

	ra = dwarf_frame_info(fr, NULL, NULL, NULL);
	if (ra < 0 || ra >= NREGS)
		return UNW_END_BAD_CFI;
	if (dwarf_frame_cfa(fr, &ops, &nops) || !nops)
		return UNW_END_BAD_CFI;
	err = eval(ops, nops, st, c, NULL, &cfa, &is_value);
	if (err)
		return err == -EFAULT ? UNW_END_COPY : UNW_END_BAD_CFI;
	memset(nx, 0, sizeof(*nx));
	for (int reg = 0; reg < NREGS; reg++) {
		if (reg == REG_SP)
			continue;
		if (dwarf_frame_register(fr, reg, mem, &ops, &nops))
			continue;
		if (!nops) {
			if (!ops && reg_get(st, reg, &v))	/* same value */
				reg_set(nx, reg, v);
			continue;				/* undefined */
		}
		err = eval(ops, nops, st, c, &cfa, &v, &is_value);
		if (!err && !is_value && !read_word(c, v, &v))
			err = -EFAULT;
		if (err) {
			if (reg == ra)
				return err == -EFAULT ? UNW_END_COPY
						      : UNW_END_BAD_CFI;
			continue;	/* a register we may never need */
		}
		reg_set(nx, reg, v);
	}
	if (!reg_get(nx, ra, &nx->pc))
		return UNW_END_OUTERMOST;	/* RA undefined: _start, clone */
	reg_set(nx, REG_SP, cfa);
	return UNW_END_MAX;		/* went on */
}

int unwind_stack(struct symbolizer *sym, const struct unw_regs *regs,
		 const uint8_t *data, size_t len, uint64_t *pcs, int max,
		 enum unw_end *end, int *fp_frames, size_t *used)
{
	size_t used_here = 0;
	struct ucopy c = { .data = data, .sp = regs->sp, .len = len,
			   .used = used ? used : &used_here };
	struct ustate st = {}, nx;
	bool exact = true;	/* pc is not a return address */
	int n = 0;

	*fp_frames = 0;
	*c.used = 0;
	reg_set(&st, REG_SP, regs->sp);
	reg_set(&st, REG_FP, regs->fp);
#if REG_LR >= 0
	reg_set(&st, REG_LR, regs->lr);
#endif
	st.pc = regs->ip;
	*end = UNW_END_MAX_FRAMES;
	while (n < max) {
		uint64_t look, bias;
		struct elfmod *mod;
		Dwarf_Frame *fr = NULL;
		Dwarf_CFI *cfi;
		enum unw_end e = UNW_END_NO_MODULE;
		bool signal = false, leaf = false;

		pcs[n++] = st.pc;
		if (n == max)
			break;
		if (!st.pc) {
			n--;
			*end = UNW_END_OUTERMOST;
			break;
		}
#if REG_RA != REG_LR
		/* x86_64: DWARF names rip as the return address column. */
		reg_set(&st, REG_RA, st.pc);
#endif
		look = exact ? st.pc : st.pc - 1;
		if (!symbolizer_module(sym, look, &mod, &bias)) {
			e = UNW_END_NO_CFI;
			cfi = elfmod_cfi(mod, true);
			if (!cfi || dwarf_cfi_addrframe(cfi, look - bias, &fr)) {
				fr = NULL;
				cfi = elfmod_cfi(mod, false);
				if (cfi && dwarf_cfi_addrframe(cfi, look - bias, &fr))
					fr = NULL;
			}
		}
		if (fr) {
			dwarf_frame_info(fr, NULL, NULL, &signal);
			e = cfi_step(fr, &st, &c, &nx);
			free(fr);
			if (e != UNW_END_MAX) {
				*end = e;
				break;
			}
		} else if (n == 1 && !leaf_step(sym, &st, &c, &nx)) {
			leaf = true;	/* arm64: sp unchanged */
		} else if (fp_step(&st, &c, &nx)) {
			*end = e;
			break;
		} else {
			(*fp_frames)++;
		}
		/* The stack grows down: each caller's frame is above. */
		if (nx.r[REG_SP] <= st.r[REG_SP] && !signal &&
		    !(leaf && nx.r[REG_SP] == st.r[REG_SP])) {
			*end = UNW_END_NO_PROGRESS;
			break;
		}
		exact = signal;
		st = nx;
	}
	return n;
}

const char *unwind_end_name(enum unw_end end)
{
	static const char *const names[UNW_END_MAX] = {
		[UNW_END_OUTERMOST] = "outermost",
		[UNW_END_COPY] = "stack_copy_too_short",
		[UNW_END_NO_MODULE] = "no_module",
		[UNW_END_NO_CFI] = "no_cfi",
		[UNW_END_BAD_CFI] = "bad_cfi",
		[UNW_END_NO_PROGRESS] = "no_progress",
		[UNW_END_MAX_FRAMES] = "max_frames",
	};

	return end < UNW_END_MAX ? names[end] : "unknown";
}
