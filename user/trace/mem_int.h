/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Between the memory tracker's two halves: the run's object (memobj.c)
 * and each target's state (mem.c). */
#ifndef LT_MEM_INT_H
#define LT_MEM_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "leaktrace.h"
#include "trace/loader.h"
#include "trace/memsites.h"

struct bpf_link;

/* The memory BPF object: one for all targets of the run. */
struct mem_obj {
	struct mem_bpf *skel;
	int release_fd, move_fd;	/* the page-map programs, or -1 */
	int sweep_fd;			/* lt_sweep, or -1 */
	/* "fault_stats" read once per collect for every target, by tgid */
	struct fault_entry *snap;
	size_t nsnap, snap_cap;
	/* released processes whose kernel entries the next sweep deletes */
	uint32_t *gone;
	size_t ngone, gone_cap;
	/* How memory calls are seen: uprobes at the one target's syscall
	 * sites (memsites.h), or the syscall tracepoints. */
	bool via_uprobes;
	bool sys_attached;		/* the syscall tracepoints */
	struct bpf_link *ulinks[MEMSITES_MAX];
	int nulinks, nsites, nfiles;
	char why_tp[256];		/* why the tracepoints ("" uprobes) */
	double switched_at;		/* s into the run the uprobes gave
					 * way to the tracepoints, or -1 */
	double sites_from;		/* s into the run the sites took
					 * over (0: from attach), or -1 */
	bool bpf_release;		/* the *_rel programs are loaded */
	uint64_t hits_last;		/* site_hits at hits_t */
	double hits_t;			/* s into the run, 0 not yet */
	double hit_cost;		/* s a site hit costs the target, 0
					 * not measured yet */
	/* links being destroyed off the main loop (each kind once at most:
	 * the sites never come back after the tracepoints took over) */
	struct lt_links_later sys_later, sites_later;
};

struct mem_bpf;
/* Chooses the programs that release pages in BPF (bpf_release: kernels
 * with bpf_loop, 5.17+) or those that leave it to user space: the syscall
 * exits and sites of mmap (MAP_FIXED), munmap and madvise, and exec. */
void mem_progs_release(struct mem_bpf *s, bool bpf_release);

struct fault_entry {
	struct lt_fault_key k;
	struct lt_fault_stat v;
};

/* Queues a released target's kernel entries for the next sweep. */
void mem_obj_forget(struct mem_obj *o, uint32_t tgid);
/* The target's entries of the last snapshot (sorted by tgid). */
const struct fault_entry *mem_obj_faults(const struct mem_obj *o, uint32_t tgid,
					 size_t *n);
#endif
