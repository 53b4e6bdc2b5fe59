/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Fault-sample splitting: a frame-pointer stack id of page faults may stop
 * early (code without frame pointers) and so stand for several real
 * stacks. Sampled faults carry a stack copy, unwound with CFI; what the
 * samples of one fault stack id unwound to splits its pages between those
 * stacks in proportion (the id itself when an unwind got no further). */
#ifndef LT_FAULTSPLIT_H
#define LT_FAULTSPLIT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/hashmap.h"

struct split_target {
	uint64_t id, samples;
};

struct fault_split {
	uint64_t fp_id;
	bool heap;		/* the fault stack starts inside the allocator */
	uint64_t total;		/* samples */
	size_t n, cap;
	struct split_target *t;
};

struct fault_splits {
	struct fault_split *v;	/* one per sampled fault stack id */
	size_t n, cap;
	struct u64map index;	/* fault stack id -> index + 1 */
	uint64_t samples;	/* sampled faults received with a copy */
	uint64_t heap_top;	/* the stack heap pages went to last time */
};

/* The caller a stack stands for once the allocator's own frames are left
 * out (several allocator paths, one caller); the stack id itself when no
 * grouping is wanted. */
typedef uint64_t (*faultsplit_group_fn)(void *arg, uint64_t id);

void faultsplit_init(struct fault_splits *fs);
void faultsplit_free(struct fault_splits *fs);
/* One sample of fault stack fp_id unwound to stack id; heap: fp_id starts
 * in the allocator (asked the first time fp_id is seen). */
void faultsplit_add(struct fault_splits *fs, uint64_t fp_id, uint64_t id,
		    bool heap);
const struct fault_split *faultsplit_get(const struct fault_splits *fs,
					 uint64_t fp_id);
/* True once fp_id has a split (so the allocator question is asked once). */
bool faultsplit_known(const struct fault_splits *fs, uint64_t fp_id);
/* The caller whose sampled faults inside the allocator are most numerous
 * (0: none): heap pages first touched in the allocator are credited to it,
 * the brk rule for resident pages. Votes are counted per caller (group may
 * be NULL: per stack id), and the answer is sticky, since all heap pages
 * move with it: the stack chosen before stays while its caller leads, and
 * another caller takes over only with a quarter more votes. */
uint64_t faultsplit_heap_top(struct fault_splits *fs, faultsplit_group_fn group,
			     void *arg);
/* Fault stack ids split between other stacks by their samples. */
uint64_t faultsplit_split_ids(const struct fault_splits *fs);
#endif
