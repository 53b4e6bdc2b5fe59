/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Open-addressing hash map from u64 keys to u64 values. */
#ifndef LT_HASHMAP_H
#define LT_HASHMAP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct u64map {
	uint64_t *keys;
	uint64_t *vals;
	uint8_t *state;		/* 0 empty, 1 used, 2 deleted */
	size_t cap, used, tombs;
};

void u64map_init(struct u64map *m);
void u64map_free(struct u64map *m);
/* 0 or -ENOMEM. */
int u64map_put(struct u64map *m, uint64_t key, uint64_t val);
bool u64map_get(const struct u64map *m, uint64_t key, uint64_t *val);
/* Pointer to the value, inserting 0 when absent; NULL on ENOMEM. */
uint64_t *u64map_ref(struct u64map *m, uint64_t key);
bool u64map_del(struct u64map *m, uint64_t key);
/* Iteration: for (i = 0; u64map_next(m, &i, &k, &v);) */
bool u64map_next(const struct u64map *m, size_t *i, uint64_t *key,
		 uint64_t *val);
/* FNV-1a over 64-bit words (keys built from addresses or counts). */
#define LT_HASH_INIT 0xcbf29ce484222325ULL
static inline uint64_t lt_hash_u64(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ULL;
}
static inline size_t u64map_size(const struct u64map *m) { return m->used; }
#endif
