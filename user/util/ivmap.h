/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Ordered map of address ranges [start, start + len) to u64 values, keyed
 * by start (a treap): exact lookups, and the range that starts last before
 * an address, which finds what a new range overlaps when the ranges kept
 * are disjoint (live heap objects never overlap).
 */
#ifndef LT_IVMAP_H
#define LT_IVMAP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ivnode {
	uint64_t start, len, val;
	uint32_t prio, l, r;	/* children: node indexes, 0 none */
};

struct ivmap {
	struct ivnode *n;	/* n[0] unused */
	uint32_t root, cap, used, free;	/* free: a list through .l */
	size_t count;
	uint32_t seed;
};

void ivmap_init(struct ivmap *m);
void ivmap_free(struct ivmap *m);
/* Adds or replaces the range starting at start. 0 or -ENOMEM. */
int ivmap_put(struct ivmap *m, uint64_t start, uint64_t len, uint64_t val);
bool ivmap_get(const struct ivmap *m, uint64_t start, uint64_t *val);
bool ivmap_del(struct ivmap *m, uint64_t start);
/* The range with the greatest start below end: false if none. */
bool ivmap_last_before(const struct ivmap *m, uint64_t end, uint64_t *start,
		       uint64_t *len, uint64_t *val);
static inline size_t ivmap_size(const struct ivmap *m) { return m->count; }
#endif
