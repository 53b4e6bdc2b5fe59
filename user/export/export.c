// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include "ctx.h"
#include "leaktrace.h"
#include "export/export.h"
#include "export/httpd.h"
#include "export/metrics.h"
#include "proc/identity.h"
#include "proc/procstat.h"
#include "report/report.h"
#include "trace/go.h"
#include "trace/mem.h"
#include "trace/task.h"
#include "util/log.h"

/* /healthz turns 503 when no sample came for this long (or for five
 * intervals, if longer): the loop is stuck. */
#define STALE_MIN_S 30.0

/* One traced process as the exporter sees it. With several targets this
 * becomes one per target, built from each target's context. */
struct export_target {
	struct proc_identity id;	/* last read while it lived */
	bool have_id;
	struct metrics_site *sites;	/* top_n groups */
};

struct lt_export {
	struct httpd *httpd;
	double btime;			/* boot time, Unix s */
	long clk_tck;
	struct export_target t;		/* today: the one target */
};

static double boot_time(void)
{
	char line[256];
	double bt = 0;
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %lf", &bt) == 1)
			break;
	fclose(f);
	return bt;
}

int export_open(struct lt_ctx *ctx)
{
	const struct export_opts *o = &ctx->opts.metrics;
	double stale = 5 * ctx->opts.interval_s;
	struct lt_export *e;
	bool usage;

	if (!o->addr)
		return 0;
	e = calloc(1, sizeof(*e));
	if (e)
		e->t.sites = calloc(o->top_n, sizeof(*e->t.sites));
	if (!e || !e->t.sites) {
		free(e);
		lt_err("out of memory\n");
		return 1;
	}
	e->httpd = httpd_start(o->addr, o->listen_any,
			       stale > STALE_MIN_S ? stale : STALE_MIN_S, &usage);
	if (!e->httpd) {
		free(e->t.sites);
		free(e);
		return usage ? 2 : 1;
	}
	e->btime = boot_time();
	e->clk_tck = sysconf(_SC_CLK_TCK);
	ctx->export = e;
	lt_info("metrics on http://%s/metrics\n", o->addr);
	return 0;
}

static void self_usage(struct metrics_self *self)
{
	struct rusage ru;
	struct proc_totals t;

	if (!getrusage(RUSAGE_SELF, &ru))
		self->cpu_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			      ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	if (!procstat_sample(getpid(), &t))
		self->rss = t.rss;
}

void export_publish(struct lt_ctx *ctx)
{
	struct lt_export *e = ctx->export;
	const struct export_opts *o = &ctx->opts.metrics;
	const char *names[LT_DROP_MAX + 1];
	uint64_t drops[LT_DROP_MAX + 1] = { 0 };
	struct metrics_limits lim = { o->top_n, o->max_sites };
	struct metrics_target mt = { .goroutines = -1 };
	struct metrics_self self = { .drops = drops, .drop_names = names,
				     .ndrops = LT_DROP_MAX + 1 };
	struct proc_identity id;
	double rise = NAN;
	char *text;
	size_t len;

	if (!e)
		return;
	/* Identity re-read each time (exec, cgroup moves); the last one
	 * read stays once the process is gone. */
	if (!identity_read("", ctx->target.pid, &id)) {
		e->t.id = id;
		e->t.have_id = true;
	}
	if (!e->t.have_id) {
		memset(&e->t.id, 0, sizeof(e->t.id));
		e->t.id.pid = ctx->target.pid;
		snprintf(e->t.id.comm, sizeof(e->t.id.comm), "%.15s", ctx->target.comm);
	}
	if (ctx->have_totals)
		rise = (double)ctx->last.rss - (double)ctx->first.rss;
	model_rank(&ctx->model, rise);

	mt.id = &e->t.id;
	if (e->t.id.start_ticks && e->clk_tck > 0 && e->btime > 0)
		mt.start_time_s = e->btime + (double)e->t.id.start_ticks / e->clk_tck;
	mt.have_totals = ctx->have_totals;
	mt.rss = ctx->last.rss;
	mt.threads = ctx->last.threads;
	if (go_enabled(ctx))
		mt.goroutines = go_count_end(ctx);
	mt.sites = e->t.sites;
	mt.nsites = metrics_group_sites(ctx->model.ranked, ctx->model.n, e->t.sites,
					o->top_n, &mt.nmore);

	mem_drops(ctx, drops);
	task_drops(ctx, drops);
	go_drops(ctx, drops);
	for (int i = 0; i < LT_DROP_MAX; i++)
		names[i] = report_drop_name(i);
	names[LT_DROP_MAX] = "stack_gone_before_read";
	drops[LT_DROP_MAX] = ctx->stacks.missing;
	self_usage(&self);
	self.collected_at = ctx->started_at + ctx->now_s;

	if (metrics_build(&mt, 1, &self, &lim, &text, &len)) {
		lt_warn("metrics: out of memory; /metrics keeps the previous sample\n");
		return;
	}
	httpd_publish(e->httpd, text, len);
}

void export_close(struct lt_ctx *ctx)
{
	struct lt_export *e = ctx->export;

	if (!e)
		return;
	httpd_stop(e->httpd);
	free(e->t.sites);
	free(e);
	ctx->export = NULL;
}
