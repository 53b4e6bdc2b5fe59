/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unwinds a copy of a user stack (struct lt_ucopy: registers + the bytes
 * from SP up) with the call frame information (.eh_frame, .debug_frame) of
 * the modules the symbolizer knows: code without frame pointers included.
 * Memory is read from the copy only, never from the target.
 */
#ifndef LT_UNWIND_H
#define LT_UNWIND_H
#include <stddef.h>
#include <stdint.h>

struct symbolizer;

/* Why an unwind stopped. */
enum unw_end {
	UNW_END_OUTERMOST,	/* return address undefined: the stack's root */
	UNW_END_COPY,		/* needed bytes beyond the copied slice */
	UNW_END_NO_MODULE,	/* pc in no module, no frame pointer to follow */
	UNW_END_NO_CFI,		/* module without CFI for pc, no frame pointer */
	UNW_END_BAD_CFI,	/* unsupported expression or unknown register */
	UNW_END_NO_PROGRESS,	/* the stack pointer did not move up */
	UNW_END_MAX_FRAMES,	/* out of room */
	UNW_END_MAX,
};

/* Registers at the event (struct lt_ucopy without its bytes). */
struct unw_regs {
	uint64_t ip, sp, fp, lr;
};

/* Walks the stack in data[0..len) (data[0] is the byte at regs->sp):
 * pcs[0] = regs->ip, then one return address per caller, at most max.
 * Returns the number written (>= 1); *end says why it stopped,
 * *fp_frames how many steps followed the frame pointer for lack of CFI and
 * *used (when not NULL) how many bytes of data the walk read. */
int unwind_stack(struct symbolizer *sym, const struct unw_regs *regs,
		 const uint8_t *data, size_t len, uint64_t *pcs, int max,
		 enum unw_end *end, int *fp_frames, size_t *used);
const char *unwind_end_name(enum unw_end end);
#endif
