/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Options and the run's context, passed to every stage (no global state). */
#ifndef LT_CTX_H
#define LT_CTX_H
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include "model/model.h"
#include "proc/procstat.h"
#include "stack/stacks.h"
#include "proc/target.h"
#include "trace/loader.h"
#include "export/export.h"

enum lt_format { FMT_TEXT, FMT_JSON, FMT_FOLDED, FMT_PPROF };

struct lt_opts {
	pid_t pid;
	double duration_s;	/* 0: until Ctrl-C or the target exits */
	double interval_s;
	bool interval_set;
	enum lt_format format;
	const char *output;	/* NULL: stdout */
	const char *base;	/* --base: earlier JSON report to compare with */
	char **cmd;		/* -- CMD ARGS */
	uint32_t max_stacks;
	uint32_t max_pages;
	uint32_t max_fault_stacks;
	uint32_t ringbuf_mb;
	uint32_t max_goroutines;
	uint32_t stack_copy_kb;	/* user stack copied per low-rate event, 0 off */
	uint32_t fault_sample;	/* unwind 1 in N first touches, 0 off */
	bool no_threads;
	bool no_go;
	bool go_parks;		/* gopark entry/RET probes (costly) */
	double go_budget_pct;	/* Go creation probe: % of a core, 0 never */
	bool no_malloc;		/* no allocator probes (malloc sites) */
	double malloc_budget_pct;	/* allocator probes: % of a core */
	struct export_opts metrics;	/* --metrics-* */
};

struct mem;
struct threads;
struct go_state;
struct goheap;
struct malloc_state;
struct ring_buffer;
struct lt_base;
struct capture;
struct lt_export;

struct lt_ctx {
	struct lt_opts opts;
	struct target target;
	struct model model;
	struct symbolizer *sym;
	struct lt_maps maps;		/* BPF maps every object shares */
	struct stacks stacks;
	struct mem *mem;
	struct threads *threads;
	struct go_state *go;
	struct goheap *heap;		/* Go heap profile (trace/goheap.h) */
	struct malloc_state *malloc;	/* allocator probes (trace/malloc.h) */
	double malloc_open_s;		/* >0: find the allocator then (after
					 * an exec: once the loader mapped it) */
	struct ring_buffer *rb;
	struct proc_totals first, last;
	bool have_totals;
	uint32_t threads_start, threads_end;
	struct timespec t0;		/* CLOCK_MONOTONIC at attach */
	time_t started_at;		/* wall clock at attach */
	double now_s;			/* seconds since attach */
	double attach_ms;		/* start to probes live */
	uint64_t wakeup_bytes;		/* ring buffer fill that wakes us */
	double drain_until;		/* stop draining at (s since attach), 0 never */
	uint64_t drained;		/* records handled */
	uint64_t drops[16];		/* summed over BPF objects at exit */
	uint64_t lost_samples;
	struct lt_base *base;		/* loaded --base report, or NULL */
	struct capture *capture;	/* leaktrace capture, or NULL */
	struct lt_export *export;	/* --metrics-addr endpoint, or NULL */
	const char *ended_by;		/* "duration", "target exited", "SIGINT"... */
	/* execs of the target while traced (the first LT_MAX_EXECS kept) */
#define LT_MAX_EXECS 8
	struct lt_exec {
		double at_s;		/* seconds since attach */
		char exe[256];		/* the new executable */
	} execs[LT_MAX_EXECS];
	uint32_t nexecs;
	bool spawn_exec_pending;	/* -- CMD: its own first exec not yet seen */
};

/* Seconds since attach. */
double lt_elapsed(const struct lt_ctx *ctx);
#endif
