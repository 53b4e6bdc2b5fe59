/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* BPF stack ids -> cleaned, symbolized frames -> sites. */
#ifndef LT_STACKS_H
#define LT_STACKS_H
#include <stdbool.h>
#include <stdint.h>
#include "hashmap.h"
#include "model.h"

struct symbolizer;

struct resolved_stack {
	struct frame *frames;
	int n;
	bool truncated;
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
};

/* Symbolizes addr (a return address when is_return) into out[max] as
 * model frames, innermost (inlined) first. Returns the count. */
int stacks_symbolize(struct symbolizer *sym, uint64_t addr, bool is_return,
		     struct frame *out, int max);

void stacks_init(struct stacks *s, int map_fd, struct symbolizer *sym);
void stacks_free(struct stacks *s);
/* Frames of a stack id (0: unknown stack, no frames). Never NULL. */
const struct resolved_stack *stacks_resolve(struct stacks *s, uint64_t id);
/* The site of kind for stack id; NULL only on ENOMEM. */
struct site *stacks_site(struct stacks *s, struct model *m,
			 enum site_kind kind, uint64_t id);
#endif
