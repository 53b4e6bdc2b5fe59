// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "trace/brk.h"

void brk_init(struct brk_state *b, uint64_t cur)
{
	memset(b, 0, sizeof(*b));
	b->cur = cur;
	u64map_init(&b->by_stack);
}

void brk_free(struct brk_state *b)
{
	u64map_free(&b->by_stack);
}

void brk_event(struct brk_state *b, uint64_t brk, bool query,
	       uint64_t stack_id, struct brk_step *out)
{
	uint64_t *v;

	memset(out, 0, sizeof(*out));
	if (query || !b->cur) {		/* a query, or first sight: sync */
		b->cur = brk;
		return;
	}
	if (brk > b->cur) {
		v = u64map_ref(&b->by_stack, stack_id);
		if (v) {
			out->first_growth = !*v;
			*v += brk - b->cur;
			if (*v > b->top_bytes || !b->top_id) {
				b->top_bytes = *v;
				b->top_id = stack_id;
			}
		}
		out->change = BRK_GROW;
		out->from = b->cur;
		out->to = brk;
		out->charge_id = b->top_id ? b->top_id : stack_id;
	} else if (brk < b->cur) {
		out->change = BRK_SHRINK;
		out->from = brk;
		out->to = b->cur;
	}
	b->cur = brk;
}
