/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* stack/: from a BPF stack id (and a copied user stack) to symbolized frames
 * and the site of a kind: frame-pointer stacks checked, CFI unwinding
 * (unwind.h). */
/* BPF stack ids -> cleaned, symbolized frames -> sites. */
#ifndef LT_STACKS_H
#define LT_STACKS_H
#include <stdbool.h>
#include <stdint.h>
#include "util/hashmap.h"
#include "model/model.h"
#include "stack/unwind.h"

struct symbolizer;

struct resolved_stack {
	struct frame *frames;
	int n;
	bool truncated;
};

/* Stack copies (--stack-copy-kb) and what CFI unwinding made of them. */
struct unwind_stats {
	uint64_t copies;	/* events that came with a stack copy */
	uint64_t fp_complete;	/* ... whose frame-pointer stack was complete */
	uint64_t unwound;	/* ... given the longer CFI-unwound stack */
	uint64_t not_longer;	/* ... unwound no further than frame pointers */
	uint64_t bad_copy;	/* malformed copy records */
	uint64_t end[UNW_END_MAX];	/* why unwinds stopped */
	uint64_t frames;	/* frames unwound */
	uint64_t fp_frames;	/* ... through frame pointers (no CFI) */
	uint64_t unwind_ns;	/* time spent unwinding */
	uint64_t max_unwind_ns;
	uint64_t copy_bytes;	/* stack bytes received in copies */
	uint64_t copy_grown;	/* copies cut short by a learned size: grown */
};

struct stacks {
	int map_fd;			/* BPF "stacks" map */
	struct symbolizer *sym;
	struct u64map index;		/* stack id -> resolved index + 1 */
	struct resolved_stack *res;
	size_t nres, cap;
	struct u64map sites;		/* stack id ^ kind -> site id + 1 */
	uint64_t missing;		/* ids the map no longer had */
	uint64_t truncated;		/* native stacks that ended early */
	struct unwind_stats uw;
	struct u64map need;		/* stack id -> bytes copy_need says */
	uint32_t copy_max;		/* --stack-copy-kb in bytes */
};

/* Symbolizes addr (a return address when is_return) into out[max] as
 * model frames, innermost (inlined) first. Returns the count. */
int stacks_symbolize(struct symbolizer *sym, uint64_t addr, bool is_return,
		     struct frame *out, int max);

void stacks_init(struct stacks *s, int map_fd, struct symbolizer *sym);
void stacks_free(struct stacks *s);
/* Frames of a stack id (0: unknown stack, no frames). Never NULL. */
const struct resolved_stack *stacks_resolve(struct stacks *s, uint64_t id);
/* The stack id an event should use. With a stack copy (copy_bytes bytes
 * at copy: struct lt_ucopy + stack) and a frame-pointer stack that stops
 * early, the copy is unwound with CFI and the id of that longer stack is
 * returned. The BPF map need_fd (>= 0) learns how much to copy next time
 * for this frame-pointer stack: nothing once it is complete, else what the
 * unwinds read plus slack (grown again when a copy falls short). */
uint64_t stacks_event_id(struct stacks *s, int need_fd, uint64_t stack_id,
			 const void *copy, uint32_t copy_bytes);
/* Names frames in JIT code (module SYM_JIT_MODULE) that had no name when
 * resolved, from what the target's perf map says now. */
void stacks_name_jit(struct stacks *s, struct model *m);
/* The site of kind for stack id; NULL only on ENOMEM. */
struct site *stacks_site(struct stacks *s, struct model *m,
			 enum site_kind kind, uint64_t id);
#endif
