// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "util/hashmap.h"

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

void u64map_init(struct u64map *m)
{
	memset(m, 0, sizeof(*m));
}

void u64map_free(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	free(m->state);
	u64map_init(m);
}

static int grow(struct u64map *m)
{
	struct u64map n;
	size_t i;

	u64map_init(&n);
	n.cap = m->cap ? m->cap * 2 : 64;
	if (m->used * 4 < m->cap)	/* mostly tombstones: rehash same size */
		n.cap = m->cap;
	n.keys = malloc(n.cap * sizeof(*n.keys));
	n.vals = malloc(n.cap * sizeof(*n.vals));
	n.state = calloc(n.cap, 1);
	if (!n.keys || !n.vals || !n.state) {
		u64map_free(&n);
		return -ENOMEM;
	}
	for (i = 0; i < m->cap; i++) {
		size_t j;

		if (m->state[i] != 1)
			continue;
		j = mix(m->keys[i]) & (n.cap - 1);
		while (n.state[j])
			j = (j + 1) & (n.cap - 1);
		n.state[j] = 1;
		n.keys[j] = m->keys[i];
		n.vals[j] = m->vals[i];
		n.used++;
	}
	u64map_free(m);
	*m = n;
	return 0;
}

static size_t find(const struct u64map *m, uint64_t key, bool *found)
{
	size_t j = mix(key) & (m->cap - 1), tomb = (size_t)-1;

	while (m->state[j]) {
		if (m->state[j] == 1 && m->keys[j] == key) {
			*found = true;
			return j;
		}
		if (m->state[j] == 2 && tomb == (size_t)-1)
			tomb = j;
		j = (j + 1) & (m->cap - 1);
	}
	*found = false;
	return tomb != (size_t)-1 ? tomb : j;
}

uint64_t *u64map_ref(struct u64map *m, uint64_t key)
{
	bool found;
	size_t j;

	if ((m->used + m->tombs + 1) * 4 > m->cap * 3 && grow(m))
		return NULL;
	j = find(m, key, &found);
	if (!found) {
		if (m->state[j] == 2)
			m->tombs--;
		m->state[j] = 1;
		m->keys[j] = key;
		m->vals[j] = 0;
		m->used++;
	}
	return &m->vals[j];
}

int u64map_put(struct u64map *m, uint64_t key, uint64_t val)
{
	uint64_t *v = u64map_ref(m, key);

	if (!v)
		return -ENOMEM;
	*v = val;
	return 0;
}

bool u64map_get(const struct u64map *m, uint64_t key, uint64_t *val)
{
	bool found;
	size_t j;

	if (!m->cap)
		return false;
	j = find(m, key, &found);
	if (found && val)
		*val = m->vals[j];
	return found;
}

bool u64map_del(struct u64map *m, uint64_t key)
{
	bool found;
	size_t j;

	if (!m->cap)
		return false;
	j = find(m, key, &found);
	if (!found)
		return false;
	m->state[j] = 2;
	m->used--;
	m->tombs++;
	return true;
}

bool u64map_next(const struct u64map *m, size_t *i, uint64_t *key,
		 uint64_t *val)
{
	for (; *i < m->cap; (*i)++) {
		if (m->state[*i] != 1)
			continue;
		if (key)
			*key = m->keys[*i];
		if (val)
			*val = m->vals[*i];
		(*i)++;
		return true;
	}
	return false;
}
