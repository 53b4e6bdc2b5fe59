/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The user processes of the host, or of one cgroup subtree, as a set keyed
 * by pid + start time, and what changed between two scans: the building
 * blocks of tracing many processes (--all, --cgroup; issue 16). Kernel
 * threads, zombies and leaktrace itself are never in a set.
 */
#ifndef LT_SCAN_H
#define LT_SCAN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct proc_key {
	int pid;
	uint64_t start_ticks;	/* a reused pid has another start time */
};

struct proc_set {
	struct proc_key *keys;	/* sorted by pid */
	size_t n, cap;
};

enum cg_hier {
	CG_V2,		/* the unified hierarchy: "0::" lines */
	CG_V1_MEMORY,	/* the v1 memory controller (hybrid and v1 hosts) */
};

struct scan_filter {
	/* cgroup subtree, as /proc/PID/cgroup writes paths ("/system.slice/
	 * x.service"); NULL: every process */
	const char *cgroup;
	enum cg_hier hier;	/* which line of /proc/PID/cgroup it is in */
	int self;		/* pid skipped (leaktrace); 0: none */
};

/* Fills out (emptied first) with the processes under root ("" live;
 * a fixture directory in tests) that pass f. Processes that vanish while
 * read are skipped. 0 or -errno (/proc unreadable, ENOMEM). */
int proc_scan(const char *root, const struct scan_filter *f,
	      struct proc_set *out);
/* What differs from a (before) to b (after): added in b, gone from a. A
 * pid reused between the scans is in both. Either out may be NULL.
 * 0 or -ENOMEM. */
int proc_set_diff(const struct proc_set *a, const struct proc_set *b,
		  struct proc_set *added, struct proc_set *gone);
bool proc_set_has(const struct proc_set *s, struct proc_key k);
int proc_set_add(struct proc_set *s, struct proc_key k);	/* keeps order */
void proc_set_free(struct proc_set *s);

/* True when path is subtree or below it, on a component boundary
 * ("/a/b" is within "/a", "/ab" is not; everything is within "/"). */
bool cgroup_within(const char *path, const char *subtree);
/* --cgroup ARG: a directory of a mounted cgroup hierarchy under cgroot
 * ("/sys/fs/cgroup"; the host's tree elsewhere in a container), either
 * as a full path ("/sys/fs/cgroup/unified/system.slice",
 * "/sys/fs/cgroup/memory/docker/ID") or relative to the hierarchy
 * ("/system.slice/x.service", looked up in the v2 hierarchy first, then
 * the v1 memory one). Fills rel (the path as /proc/PID/cgroup writes it)
 * and hier. 0, -ENOENT (no such cgroup), -EACCES (unreadable), -EINVAL
 * (not a cgroup directory). */
int cgroup_resolve(const char *cgroot, const char *arg, char *rel,
		   size_t len, enum cg_hier *hier);
#endif
