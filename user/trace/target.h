/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One traced process as a value: the process (proc/target.h), its model,
 * symbolizer, the trackers' state for it (mem, threads, go, Go heap), its
 * /proc totals and execs. Many can exist in one run; the BPF objects, the
 * shared maps and the ring buffer are the run's (trace/world.h). The
 * trackers (trace/mem.h, task.h, go.h, goheap.h) take a target, never the
 * run. */
#ifndef LT_TRACE_TARGET_H
#define LT_TRACE_TARGET_H
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include "model/model.h"
#include "proc/identity.h"
#include "proc/procstat.h"
#include "proc/target.h"
#include "stack/stacks.h"
#include "trace/opts.h"

struct mem;
struct threads;
struct go_state;
struct goheap;
struct malloc_state;
struct symbolizer;

struct lt_target {
	const struct lt_opts *opts;	/* the run's options */
	uint64_t wakeup_bytes;		/* ring buffer fill that wakes us */
	struct target target;
	uint32_t tgid;			/* host tgid, once indexed */
	bool indexed;			/* findable by tgid (trace/world.h) */
	bool exited;			/* gone: released after its final sample */
	struct proc_identity id;	/* last read while it lived (export/) */
	bool have_id;
	struct model model;
	struct symbolizer *sym;
	struct stacks stacks;		/* over the run's "stacks" map */
	struct mem *mem;
	struct threads *threads;
	struct go_state *go;
	struct goheap *heap;		/* Go heap profile (trace/goheap.h) */
	struct malloc_state *malloc;	/* allocator probes (trace/malloc.h) */
	double malloc_open_s;		/* >0: find the allocator then (after
					 * an exec: once the loader mapped it) */
	double sites_at_s;		/* its syscall sites probed from then
					 * (s since attach), 0 not */
	double sites_from_s;		/* the rate of memory calls that */
	uint64_t sites_events0;		/* decides it: from then, events */
	struct proc_totals first, last;
	bool have_totals;
	uint64_t sym_vm_size;		/* VmSize when its maps were last read */
	uint64_t madv_free_seen;	/* MADV_FREE calls at the last sample */
	uint32_t threads_start, threads_end;
	struct timespec t0;		/* CLOCK_MONOTONIC at its attach */
	time_t started_at;		/* wall clock at its attach */
	double now_s;			/* seconds since its attach */
	/* execs of the target while traced (the first LT_MAX_EXECS kept) */
#define LT_MAX_EXECS 8
	struct lt_exec {
		double at_s;		/* seconds since attach */
		char exe[256];		/* the new executable */
	} execs[LT_MAX_EXECS];
	uint32_t nexecs;
	bool spawn_exec_pending;	/* -- CMD: its own first exec not yet seen */
};

/* Seconds since the target's attach. */
double lt_target_elapsed(const struct lt_target *tg);
#endif
