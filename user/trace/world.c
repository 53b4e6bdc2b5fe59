// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The run's targets and the dispatch of ring-buffer records to them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "leaktrace.h"
#include "trace/go.h"
#include "trace/mem.h"
#include "trace/task.h"
#include "trace/world.h"

static double since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
}

double lt_elapsed(const struct lt_ctx *ctx)
{
	return since(&ctx->t0);
}

double lt_target_elapsed(const struct lt_target *tg)
{
	return since(&tg->t0);
}

struct lt_target *lt_target_of(const struct lt_ctx *ctx, uint32_t tgid)
{
	uint64_t v;

	if (ctx->ntargets == 1) {	/* the usual case: no lookup */
		struct lt_target *tg = ctx->targets[0];

		return tg->indexed && tg->tgid == tgid ? tg : NULL;
	}
	if (!u64map_get(&ctx->by_tgid, tgid, &v))
		return NULL;
	return (struct lt_target *)(uintptr_t)v;
}

int lt_target_index(struct lt_ctx *ctx, struct lt_target *tg)
{
	tg->tgid = target_host_pid(&tg->target);
	if (u64map_put(&ctx->by_tgid, tg->tgid, (uintptr_t)tg))
		return -ENOMEM;
	tg->indexed = true;
	return 0;
}

void lt_target_remove(struct lt_ctx *ctx, struct lt_target *tg)
{
	for (size_t i = 0; i < ctx->ntargets; i++) {
		if (ctx->targets[i] != tg)
			continue;
		memmove(&ctx->targets[i], &ctx->targets[i + 1],
			(ctx->ntargets - i - 1) * sizeof(ctx->targets[0]));
		ctx->ntargets--;
		break;
	}
	if (tg->indexed)
		u64map_del(&ctx->by_tgid, tg->tgid);
	tg->indexed = false;
}

struct lt_target *lt_target_add(struct lt_ctx *ctx)
{
	struct lt_target **v, *tg;

	v = realloc(ctx->targets, (ctx->ntargets + 1) * sizeof(*v));
	if (!v)
		return NULL;
	ctx->targets = v;
	if (!ctx->by_tgid_init) {
		u64map_init(&ctx->by_tgid);
		ctx->by_tgid_init = true;
	}
	tg = calloc(1, sizeof(*tg));
	if (!tg)
		return NULL;
	tg->opts = &ctx->opts;
	tg->wakeup_bytes = ctx->wakeup_bytes;
	tg->target.release_fd = -1;
	tg->target.exec_err_fd = -1;
	v[ctx->ntargets++] = tg;
	return tg;
}

/* Each record's tgid names its target; a record of no traced process (one
 * whose state was already released) is counted, not handled. */
int lt_dispatch(void *c, void *data, size_t size)
{
	struct lt_ctx *ctx = c;
	struct lt_target *tg;
	__u32 type, tgid;
	int ret = 0;

	if (size < sizeof(type))
		return 0;
	type = *(__u32 *)data;
	/* A target that writes faster than we read must not keep us here
	 * past the tick: stop (this record is consumed) at the deadline. */
	if (ctx->drain_until && !(++ctx->drained & 255) &&
	    lt_elapsed(ctx) > ctx->drain_until)
		ret = -EAGAIN;
	if (((type >= LT_EV_MMAP && type <= LT_EV_MADVISE) ||
	     type == LT_EV_EXEC) && size >= sizeof(struct lt_mem_event))
		tgid = ((struct lt_mem_event *)data)->tgid;
	else if ((type == LT_EV_THREAD_NEW || type == LT_EV_THREAD_EXIT) &&
		 size >= sizeof(struct lt_task_event))
		tgid = ((struct lt_task_event *)data)->tgid;
	else if (((type >= LT_EV_GO_NEW && type <= LT_EV_GO_EXIT) ||
		  type == LT_EV_GO_STMT) && size >= sizeof(struct lt_go_event))
		tgid = ((struct lt_go_event *)data)->tgid;
	else if (type == LT_EV_FAULT_SAMPLE &&
		 size >= sizeof(struct lt_fault_sample))
		tgid = ((struct lt_fault_sample *)data)->tgid;
	else
		return ret;
	tg = lt_target_of(ctx, tgid);
	if (!tg) {
		ctx->unrouted++;
		return ret;
	}
	if (type <= LT_EV_MADVISE || type == LT_EV_EXEC)
		mem_handle(tg, data);
	else if (type == LT_EV_THREAD_NEW || type == LT_EV_THREAD_EXIT) {
		if (tg->threads)
			task_handle(tg, data);
	} else if (type == LT_EV_FAULT_SAMPLE)
		mem_fault_sample(tg, data);
	else
		go_handle(tg, data);
	return ret;
}
