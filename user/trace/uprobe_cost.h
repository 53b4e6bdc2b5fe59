/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What one uprobe hit costs on this kernel, measured on leaktrace's own
 * code: a probe on a 5-byte NOP (kernels >= 6.18 run it without a trap), on
 * a CALL (emulated: one trap) or on a RET (single-stepped: two traps).
 */
#ifndef LT_UPROBE_COST_H
#define LT_UPROBE_COST_H

struct bpf_program;

enum uprobe_insn { UPROBE_ON_NOP5, UPROBE_ON_CALL, UPROBE_ON_RET,
		   UPROBE_RETPROBE_ON_CALL /* a uretprobe: entry + return */ };

/* Attaches prog (which must return at once for this process) to our own
 * instruction of that kind, times calls with and without it, detaches.
 * Returns the cost of one hit in seconds, or a negative errno. */
double uprobe_cost_measure(struct bpf_program *prog, enum uprobe_insn kind);
#endif
