/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The options of a run (filled by cli.c and export/options.c), read by
 * every stage: plain data, includes no leaktrace header. */
#ifndef LT_OPTS_H
#define LT_OPTS_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum lt_format { FMT_TEXT, FMT_JSON, FMT_FOLDED, FMT_PPROF };

/* --metrics-*: the endpoint of export/ (its argp child fills them). */
struct export_opts {
	const char *addr;	/* --metrics-addr; NULL: no endpoint */
	bool listen_any;	/* --metrics-listen-any */
	unsigned int top_n;	/* --metrics-top */
	unsigned int max_sites;	/* --metrics-max-sites */
};

#define LT_MAX_PIDS 1024	/* -p PID,PID,... */

struct lt_opts {
	pid_t pid;		/* the first of pids */
	pid_t *pids;		/* -p, in order given */
	uint32_t npids;
	bool all;		/* --all: every user process of the host */
	const char *cgroup;	/* --cgroup PATH: those of one cgroup subtree */
	double window_s;	/* --window: growth over the last S s; 0 whole run,
				 * <0 unset (--all/--cgroup: 3600) */
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
	uint32_t max_procs;	/* processes traced at once (--max-processes) */
	uint32_t stack_copy_kb;	/* user stack copied per low-rate event, 0 off */
	uint32_t fault_sample;	/* unwind 1 in N first touches, 0 off */
	bool no_threads;
	bool no_go;
	bool go_parks;		/* gopark entry/RET probes (costly) */
	double go_budget_pct;	/* Go creation probe: % of a core, 0 never */
	bool no_malloc;		/* no allocator probes (malloc sites) */
	bool mem_tracepoints;	/* --mem-probes=tracepoints: never the C
				 * library's syscall sites */
	double malloc_budget_pct;	/* allocator probes: % of a core */
	struct export_opts metrics;	/* --metrics-* */
};
#endif
