/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The allocator tracker's state, shared by its files: malloc.c (probes,
 * budget, windows), mallocest.c (sampled objects and the estimate),
 * mallocreport.c (JSON, text, what the malloc sites explain). */
#ifndef LT_TRACE_MALLOC_INT_H
#define LT_TRACE_MALLOC_INT_H
#include <stdbool.h>
#include <stdint.h>
#include "sym/allocsyms.h"
#include "trace/probe_budget.h"
#include "util/ivmap.h"

struct malloc_bpf;
struct bpf_link;

/* What a hit costs inside a target against what leaktrace measures on its
 * own code (the mechanism in a tight loop plus the programs' BPF time):
 * tests/bench/mallocloop.c, malloc+free pairs with the probes on
 * throughout, lost 14.8-16.2 us a pair on this VM where the measured sum
 * was 3.0 us (alloc 0.95 + free 0.59 mechanism, ~0.7 us BPF each). */
#define IN_TARGET_FACTOR 5.0
#define MALLOC_RINGBUF (8U << 20)

struct mobj {
	uint64_t size;
	uint32_t site;
	uint32_t win;	/* the window it was seen in */
};

/* A site's sampled objects of one window not yet verified: no later
 * window has run through them, so nobody knows yet whether they outlived
 * the pause after their window (a pool's buffers die in it unseen). */
struct mwin {
	uint32_t win;
	uint64_t bytes, objs;	/* still live */
	uint64_t objs0;		/* live when the window verifying them began */
};

struct msite {
	double est_bytes, est_objs;	/* the estimate (published) */
	/* objects of verified windows, weighed: sum of size * wt, of wt */
	double vbytes, vobjs;
	struct mwin u[2];		/* the two windows not yet verified */
	/* of the objects live when a window began, the share it did not
	 * see die (decayed sums): how far the site's objects outlive a
	 * pause; -1 den: not measured yet */
	double surv_num, surv_den;
	uint64_t live_objs, live_bytes;	/* sampled, not known freed */
	uint64_t calls;			/* sampled allocation calls */
	uint64_t freed_seen, freed_reuse;	/* how their objects died */
};

struct lt_maps;

struct malloc_state {
	struct malloc_bpf *skel;
	struct alloc_found found;
	struct bpf_link *entry_links[ALLOC_MAX_PROBES];
	struct bpf_link *ret_links[ALLOC_MAX_PROBES];
	int nentry, nret;
	bool multi;			/* uprobe_multi links */
	int events_fd;			/* its own ring buffer */
	const struct lt_maps *maps;	/* the run's shared maps */
	bool rb_added;			/* polled with ctx->rb */
	bool attached;
	struct probe_budget pb;
	double mech_alloc_s, mech_free_s;	/* measured mechanism */
	double cost_alloc_s, cost_free_s;	/* in the target */
	bool cost_measured;
	/* Windows: wt[w] is what an object seen in window w counts for,
	 * (on + off) / on of that window's cycle; until the next window
	 * begins the planned 1/duty. */
	float *wt;
	uint32_t win, nwt;
	uint32_t verified;		/* windows below this one are verified */
	double on_at, off_at;		/* the last window's start and end */
	double sampled_at;		/* the last sample's time (s) */
	uint32_t sampled_win;		/* and win then */
	double prev_on_at;		/* the window's before it: its objects
					 * are verified as the next one begins */
	double attach_s;		/* the current window's attach took */
	double overrun_max_s;		/* longest attach + detach of a window */
	double capped_at;		/* the window was cut by the cap then (-1) */
	double cap_since;		/* pb.since the cap counts from */
	uint64_t cap_from;		/* alloc + free hits then */
	uint32_t capped_windows;	/* windows the programs' cap ended */
	uint32_t wd_detaches;		/* windows the watchdog detached */
	double wd_detach_s;		/* its detach time not yet charged */
	uint64_t wd_off_ns;		/* it detached the current window then */
	int64_t io_on, io_off;		/* the target's I/O calls then */
	uint32_t io_windows;		/* windows weighed by I/O calls */
	uint32_t io_capped;		/* of which at MAX_IO_SLOWDOWN x wall */
	/* The estimates summed over the sites may not exceed the process's
	 * private writable memory (VmData): scale <= 1 fits them in. */
	double scale;
	uint64_t vm_data;		/* at the last sample (0: unknown) */
	uint32_t scaled_samples;	/* samples at which scale < 1 */
	int pid;
	struct ivmap live;		/* [addr, addr + size) -> slot + 1 */
	struct mobj *objs;
	size_t nobjs, cap;
	uint32_t *spare;		/* free slots */
	size_t nspare, spare_cap;
	struct msite *sites;		/* by site id */
	size_t nsites;
	uint64_t allocs, frees, frees_unknown, freed_seen, freed_reuse;
	uint64_t late_frees;		/* frees sent past a window's end */
	uint64_t attach_errors;
};

/* mallocest.c */
int64_t malloc_io_calls(int pid);
/* A window begins at now (s, since attach), planned weight 1/duty. */
void malloc_window_begin(struct lt_target *ctx, struct malloc_state *ms, double now,
			 double planned);
void malloc_window_replan(struct lt_target *ctx, struct malloc_state *ms, double planned);
/* The scale that fits the sites' estimates (est, summed) into vm_data
 * bytes: 1 when they fit or vm_data is unknown (0). */
double malloc_fit_scale(double est, uint64_t vm_data);
#endif
