/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The memory limit a process runs under, and how much is left of it:
 * its memory cgroup's limit (v1 memory.limit_in_bytes where the memory
 * controller is on a v1 hierarchy, as on hybrid hosts; else v2
 * memory.max), the lowest along the path to the root; else RLIMIT_AS;
 * else the machine's physical memory.
 */
#ifndef LT_MEMLIMIT_H
#define LT_MEMLIMIT_H
#include <stdint.h>

enum memlimit_source {
	MEMLIMIT_NONE,
	MEMLIMIT_CGROUP_V1,	/* memory.limit_in_bytes */
	MEMLIMIT_CGROUP_V2,	/* memory.max */
	MEMLIMIT_RLIMIT_AS,	/* compared with VmSize */
	MEMLIMIT_PHYSICAL,	/* MemTotal; MemAvailable left */
};

struct memlimit {
	enum memlimit_source source;
	uint64_t limit;		/* bytes */
	uint64_t left;		/* bytes before the limit is reached */
	char cgroup[256];	/* the cgroup whose limit it is, or "" */
};

/* Fills out for pid. root prefixes every /proc and /sys path ("" on a
 * live system; a fixture directory in tests). 0, or -errno when even
 * /proc/meminfo cannot be read. */
int memlimit_read(const char *root, int pid, struct memlimit *out);
/* "cgroup v1", "cgroup v2", "RLIMIT_AS", "physical memory", "none". */
const char *memlimit_source_name(enum memlimit_source s);
/* Minutes until `left` is used up at rate bytes/min; INFINITY when the
 * rate is not positive. */
double memlimit_minutes(const struct memlimit *l, double rate_per_min);
#endif
