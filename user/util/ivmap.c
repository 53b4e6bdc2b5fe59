// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "util/ivmap.h"

void ivmap_init(struct ivmap *m)
{
	memset(m, 0, sizeof(*m));
	m->seed = 0x9e3779b9;
}

void ivmap_free(struct ivmap *m)
{
	free(m->n);
	ivmap_init(m);
}

static uint32_t next_prio(struct ivmap *m)
{
	/* xorshift32: priorities need only look random to the keys */
	m->seed ^= m->seed << 13;
	m->seed ^= m->seed >> 17;
	m->seed ^= m->seed << 5;
	return m->seed;
}

/* Splits t into keys < key (*lo) and keys >= key (*hi). */
static void split(struct ivnode *n, uint32_t t, uint64_t key, uint32_t *lo, uint32_t *hi)
{
	if (!t) {
		*lo = *hi = 0;
	} else if (n[t].start < key) {
		split(n, n[t].r, key, &n[t].r, hi);
		*lo = t;
	} else {
		split(n, n[t].l, key, lo, &n[t].l);
		*hi = t;
	}
}

/* Every key of a below every key of b. */
static uint32_t merge(struct ivnode *n, uint32_t a, uint32_t b)
{
	if (!a || !b)
		return a ? a : b;
	if (n[a].prio > n[b].prio) {
		n[a].r = merge(n, n[a].r, b);
		return a;
	}
	n[b].l = merge(n, a, n[b].l);
	return b;
}

static uint32_t find(const struct ivmap *m, uint64_t start)
{
	uint32_t t = m->root;

	while (t && m->n[t].start != start)
		t = start < m->n[t].start ? m->n[t].l : m->n[t].r;
	return t;
}

static uint32_t node_new(struct ivmap *m)
{
	uint32_t i;

	if (m->free) {
		i = m->free;
		m->free = m->n[i].l;
		return i;
	}
	if (m->used + 1 >= m->cap) {
		uint32_t cap = m->cap ? m->cap * 2 : 1024;
		struct ivnode *v;

		if (cap <= m->cap || !(v = realloc(m->n, (size_t)cap * sizeof(*v))))
			return 0;
		m->n = v;
		m->cap = cap;
		if (!m->used)
			m->used = 1;	/* index 0 is "none" */
	}
	return m->used++;
}

int ivmap_put(struct ivmap *m, uint64_t start, uint64_t len, uint64_t val)
{
	uint32_t t = find(m, start), lo, hi;

	if (t) {
		m->n[t].len = len;
		m->n[t].val = val;
		return 0;
	}
	t = node_new(m);
	if (!t)
		return -ENOMEM;
	m->n[t] = (struct ivnode){ .start = start, .len = len, .val = val,
				   .prio = next_prio(m) };
	split(m->n, m->root, start, &lo, &hi);
	m->root = merge(m->n, merge(m->n, lo, t), hi);
	m->count++;
	return 0;
}

bool ivmap_get(const struct ivmap *m, uint64_t start, uint64_t *val)
{
	uint32_t t = find(m, start);

	if (t && val)
		*val = m->n[t].val;
	return t != 0;
}

bool ivmap_del(struct ivmap *m, uint64_t start)
{
	uint32_t *link = &m->root, t;

	while ((t = *link) && m->n[t].start != start)
		link = start < m->n[t].start ? &m->n[t].l : &m->n[t].r;
	if (!t)
		return false;
	*link = merge(m->n, m->n[t].l, m->n[t].r);
	m->n[t].l = m->free;
	m->free = t;
	m->count--;
	return true;
}

bool ivmap_last_before(const struct ivmap *m, uint64_t end, uint64_t *start,
		       uint64_t *len, uint64_t *val)
{
	uint32_t t = m->root, best = 0;

	while (t) {
		if (m->n[t].start < end) {
			best = t;
			t = m->n[t].r;
		} else {
			t = m->n[t].l;
		}
	}
	if (!best)
		return false;
	*start = m->n[best].start;
	*len = m->n[best].len;
	*val = m->n[best].val;
	return true;
}
