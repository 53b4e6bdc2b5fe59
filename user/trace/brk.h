/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The brk heuristic: which stack a growth of the heap's break is charged
 * to. The heap is shared: which malloc crosses its top is chance (a caller
 * that frees everything may be the one that needs the next page), so
 * growth goes to the stack that has grown it most, not to whoever happened
 * to cross the top. Pure bookkeeping: the memory tracker applies the
 * steps to its ranges and pages. */
#ifndef LT_BRK_H
#define LT_BRK_H
#include <stdbool.h>
#include <stdint.h>
#include "util/hashmap.h"

struct brk_state {
	uint64_t cur;			/* page-aligned break, 0 unknown */
	struct u64map by_stack;		/* stack id -> bytes of growth */
	uint64_t top_id, top_bytes;	/* the stack growing it most */
};

enum brk_change {
	BRK_NONE,	/* a query, first sight (synced), or no change */
	BRK_GROW,	/* [from, to) added, charged to charge_id */
	BRK_SHRINK,	/* [from, to) given back */
};

struct brk_step {
	enum brk_change change;
	uint64_t from, to;
	uint64_t charge_id;	/* GROW: stack the new pages go to */
	bool first_growth;	/* GROW: the event's stack grew it first time:
				 * make its site now, so that its series
				 * covers the window once it leads */
};

/* cur: the break already reached (page-aligned), 0 unknown (a spawned
 * target syncs on its first brk). */
void brk_init(struct brk_state *b, uint64_t cur);
void brk_free(struct brk_state *b);
/* A brk that left the break at new_brk (page-aligned); query: brk(0).
 * stack_id: the caller's stack. */
void brk_event(struct brk_state *b, uint64_t new_brk, bool query,
	       uint64_t stack_id, struct brk_step *out);
#endif
