/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Names of JIT-compiled code from the target's /tmp/perf-PID.map. */
#ifndef LT_PERFMAP_H
#define LT_PERFMAP_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct perfmap;
struct lt_strmap;

/* The perf map of host pid pid (not read until the first lookup), or NULL
 * when out of memory. */
struct perfmap *perfmap_new(int pid);
void perfmap_free(struct perfmap *pm);

/* Name of the JIT code containing addr (interned in strs), or NULL. Reads
 * the file again when it changed, at most once a second. */
const char *perfmap_find(struct perfmap *pm, uint64_t addr,
			 struct lt_strmap *strs);
/* Whether the target had a perf map at the last look. */
bool perfmap_seen(const struct perfmap *pm);

/* Replaces pm's entries by the lines of f (for tests). 0 or -ENOMEM. */
int perfmap_parse(struct perfmap *pm, FILE *f, struct lt_strmap *strs);
#endif
