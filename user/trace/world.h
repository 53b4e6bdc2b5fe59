/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The run: what all traced processes share. Options, the shared BPF maps
 * and ring buffer (trace/loader.h), drops, the outputs' state, and the
 * list of targets (trace/target.h) that ring-buffer records are dispatched
 * to by tgid. Outputs (report/, capture/, export/) take the run and the
 * target they describe. */
#ifndef LT_WORLD_H
#define LT_WORLD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <linux/types.h>
#include "leaktrace.h"
#include "trace/loader.h"
#include "trace/opts.h"
#include "trace/target.h"
#include "util/hashmap.h"

struct ring_buffer;
struct lt_base;
struct capture;
struct lt_export;
struct mem_obj;
struct lt_node;
struct task_obj;

struct lt_ctx {
	struct lt_opts opts;
	struct lt_maps maps;		/* BPF maps every object shares */
	struct ring_buffer *rb;
	struct mem_obj *mem_obj;	/* the BPF objects every target shares */
	struct task_obj *task_obj;
	struct lt_target **targets;	/* traced processes */
	size_t ntargets;
	struct u64map by_tgid;		/* host tgid -> struct lt_target * */
	bool by_tgid_init;
	struct lt_node *node;		/* --all / --cgroup discovery, or NULL */
	struct timespec t0;		/* CLOCK_MONOTONIC at attach */
	time_t started_at;		/* wall clock at attach */
	double attach_ms;		/* start to probes live */
	uint64_t wakeup_bytes;		/* ring buffer fill that wakes us */
	double drain_until;		/* stop draining at (s since attach), 0 never */
	uint64_t drained;		/* records handled */
	uint64_t unrouted;		/* records of no traced process */
	uint64_t drops[LT_DROP_MAX];	/* summed over BPF objects at exit */
	uint64_t lost_samples;
	struct lt_base *base;		/* loaded --base report, or NULL */
	struct capture *capture;	/* leaktrace capture, or NULL */
	struct lt_export *export;	/* --metrics-addr endpoint, or NULL */
	const char *ended_by;		/* "duration", "target exited", "SIGINT"... */
};

/* Seconds since attach. */
double lt_elapsed(const struct lt_ctx *ctx);
/* The traced process whose host tgid is tgid, or NULL. */
struct lt_target *lt_target_of(const struct lt_ctx *ctx, uint32_t tgid);
/* A new, empty target in the run's list (its options and wakeup set), or
 * NULL out of memory. */
struct lt_target *lt_target_add(struct lt_ctx *ctx);
/* Makes tg findable by its host tgid (once opened). 0 or -ENOMEM. */
int lt_target_index(struct lt_ctx *ctx, struct lt_target *tg);
/* Takes tg out of the list and the index (not freed). */
void lt_target_remove(struct lt_ctx *ctx, struct lt_target *tg);
/* The ring buffer's callback (ctx: the run): hands each record to the
 * tracker of its target. */
int lt_dispatch(void *ctx, void *data, size_t size);
#endif
