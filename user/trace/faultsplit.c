// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include "trace/faultsplit.h"

void faultsplit_init(struct fault_splits *fs)
{
	memset(fs, 0, sizeof(*fs));
	u64map_init(&fs->index);
}

void faultsplit_free(struct fault_splits *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		free(fs->v[i].t);
	free(fs->v);
	u64map_free(&fs->index);
	memset(fs, 0, sizeof(*fs));
}

const struct fault_split *faultsplit_get(const struct fault_splits *fs,
					 uint64_t fp_id)
{
	uint64_t idx;

	return u64map_get(&fs->index, fp_id, &idx) ? &fs->v[idx - 1] : NULL;
}

bool faultsplit_known(const struct fault_splits *fs, uint64_t fp_id)
{
	return faultsplit_get(fs, fp_id) != NULL;
}

static struct fault_split *split_new(struct fault_splits *fs, uint64_t fp_id,
				     bool heap)
{
	struct fault_split *v;

	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? fs->cap * 2 : 64;

		v = realloc(fs->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		fs->v = v;
		fs->cap = cap;
	}
	v = &fs->v[fs->n];
	memset(v, 0, sizeof(*v));
	v->fp_id = fp_id;
	v->heap = heap;
	if (u64map_put(&fs->index, fp_id, fs->n + 1))
		return NULL;
	fs->n++;
	return v;
}

void faultsplit_add(struct fault_splits *fs, uint64_t fp_id, uint64_t id,
		    bool heap)
{
	struct fault_split *sp = (struct fault_split *)faultsplit_get(fs, fp_id);
	size_t i;

	fs->samples++;
	if (!sp)
		sp = split_new(fs, fp_id, heap);
	if (!sp)
		return;
	for (i = 0; i < sp->n && sp->t[i].id != id; i++)
		;
	if (i == sp->n) {
		if (sp->n == sp->cap) {
			size_t cap = sp->cap ? sp->cap * 2 : 4;
			struct split_target *t = realloc(sp->t, cap * sizeof(*t));

			if (!t)
				return;
			sp->t = t;
			sp->cap = cap;
		}
		sp->t[sp->n++] = (struct split_target){ .id = id };
	}
	sp->t[i].samples++;
	sp->total++;
}

/* Counts the votes of allocator fault stacks per caller (group) into
 * votes, and the first stack of each caller into first: samples are walked
 * in the order they first arrived (arrays only grow by appending). */
static void heap_votes(const struct fault_splits *fs, faultsplit_group_fn group,
		       void *arg, struct u64map *votes, struct u64map *first)
{
	for (size_t i = 0; i < fs->n; i++) {
		const struct fault_split *sp = &fs->v[i];

		for (size_t k = 0; sp->heap && k < sp->n; k++) {
			uint64_t id = sp->t[k].id, g, *v;

			if (id == sp->fp_id)
				continue;
			g = group ? group(arg, id) : id;
			if (!(v = u64map_ref(votes, g)))
				continue;
			*v += sp->t[k].samples;
			if (!u64map_get(first, g, NULL))
				u64map_put(first, g, id);
		}
	}
}

uint64_t faultsplit_heap_top(struct fault_splits *fs, faultsplit_group_fn group,
			     void *arg)
{
	struct u64map votes, first;
	uint64_t best = 0, best_n = 0, cur = 0, cur_n = 0, top = 0, g, n;
	size_t it = 0;

	u64map_init(&votes);
	u64map_init(&first);
	heap_votes(fs, group, arg, &votes, &first);
	/* Equal votes: the smaller key, whatever the hash map's order. */
	while (u64map_next(&votes, &it, &g, &n))
		if (n > best_n || (n == best_n && g < best)) {
			best_n = n;
			best = g;
		}
	if (fs->heap_top) {
		cur = group ? group(arg, fs->heap_top) : fs->heap_top;
		u64map_get(&votes, cur, &cur_n);
	}
	if (!best_n)
		top = 0;
	else if (cur_n && (cur == best || best_n * 4 <= cur_n * 5))
		top = fs->heap_top;	/* its caller leads, or not by a quarter */
	else
		u64map_get(&first, best, &top);
	fs->heap_top = top;
	u64map_free(&first);
	u64map_free(&votes);
	return top;
}

uint64_t faultsplit_split_ids(const struct fault_splits *fs)
{
	uint64_t n = 0;

	for (size_t i = 0; i < fs->n; i++)
		n += fs->v[i].n > 1 ||
		     (fs->v[i].n == 1 && fs->v[i].t[0].id != fs->v[i].fp_id);
	return n;
}
