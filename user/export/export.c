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
#include "trace/world.h"
#include "leaktrace.h"
#include "export/export.h"
#include "export/httpd.h"
#include "export/metrics.h"
#include "proc/identity.h"
#include "proc/procstat.h"
#include "report/report.h"
#include "trace/go.h"
#include "trace/goheap.h"
#include "trace/mem.h"
#include "trace/task.h"
#include "util/log.h"

/* /healthz turns 503 when no sample came for this long (or for five
 * intervals, if longer): the loop is stuck. */
#define STALE_MIN_S 30.0

struct lt_export {
	struct httpd *httpd;
	double btime;			/* boot time, Unix s */
	long clk_tck;
	/* scratch for one exposition, grown with the targets */
	struct metrics_target *mt;
	struct metrics_site *sites;	/* top_n groups per target */
	size_t cap;
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
	if (!e) {
		lt_err("out of memory\n");
		return 1;
	}
	e->httpd = httpd_start(o->addr, o->listen_any,
			       stale > STALE_MIN_S ? stale : STALE_MIN_S, &usage);
	if (!e->httpd) {
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
	if (!procstat_sample(getpid(), &t, false))
		self->rss = t.rss;
}

static int grow(struct lt_export *e, size_t n, unsigned int top_n)
{
	struct metrics_target *mt;
	struct metrics_site *sites;

	if (n <= e->cap)
		return 0;
	mt = realloc(e->mt, n * sizeof(*mt));
	if (!mt)
		return -ENOMEM;
	e->mt = mt;
	sites = realloc(e->sites, n * top_n * sizeof(*sites));
	if (!sites)
		return -ENOMEM;
	e->sites = sites;
	e->cap = n;
	return 0;
}

/* One process's series: identity (re-read each time: exec, cgroup moves;
 * the last one read stays once the process is gone), totals, top sites. */
static void target_series(struct lt_export *e, struct lt_target *tg,
			  unsigned int top_n, struct metrics_target *mt,
			  struct metrics_site *sites)
{
	struct proc_identity id;
	struct goheap_info hi;
	double rise = NAN;

	if (!identity_read("", tg->target.pid, &id)) {
		tg->id = id;
		tg->have_id = true;
	}
	if (!tg->have_id) {
		memset(&tg->id, 0, sizeof(tg->id));
		tg->id.pid = tg->target.pid;
		snprintf(tg->id.comm, sizeof(tg->id.comm), "%.15s", tg->target.comm);
	}
	if (tg->have_totals)
		rise = (double)tg->last.rss - (double)tg->first.rss;
	model_rank(&tg->model, rise);

	memset(mt, 0, sizeof(*mt));
	mt->goroutines = -1;
	mt->id = &tg->id;
	if (tg->id.start_ticks && e->clk_tck > 0 && e->btime > 0)
		mt->start_time_s = e->btime + (double)tg->id.start_ticks / e->clk_tck;
	mt->have_totals = tg->have_totals;
	mt->rss = tg->last.rss;
	mt->threads = tg->last.threads;
	if (go_enabled(tg))
		mt->goroutines = go_count_end(tg);
	goheap_get_info(tg, &hi);
	if (hi.state == GOHEAP_ON && hi.cycles_seen) {
		/* the Go heap profile: its sites are the heap */
		for (size_t i = 0; i < tg->model.n; i++)
			if (tg->model.sites[i]->kind == SITE_HEAP)
				mt->heap_inuse += tg->model.sites[i]->bytes;
		mt->have_heap = true;
	}
	mt->sites = sites;
	mt->nsites = metrics_group_sites(tg->model.ranked, tg->model.n, sites,
					 top_n, &mt->nmore);
}

void export_publish(struct lt_ctx *ctx)
{
	struct lt_export *e = ctx->export;
	const struct export_opts *o = &ctx->opts.metrics;
	const char *names[LT_DROP_MAX + 1];
	uint64_t drops[LT_DROP_MAX + 1] = { 0 };
	struct metrics_limits lim = { o->top_n, o->max_sites };
	struct metrics_self self = { .drops = drops, .drop_names = names,
				     .ndrops = LT_DROP_MAX + 1 };
	double now_s = 0;
	char *text;
	size_t len;

	if (!e)
		return;
	if (grow(e, ctx->ntargets, o->top_n)) {
		lt_warn("metrics: out of memory; /metrics keeps the previous sample\n");
		return;
	}
	for (size_t i = 0; i < ctx->ntargets; i++) {
		struct lt_target *tg = ctx->targets[i];

		target_series(e, tg, o->top_n, &e->mt[i], e->sites + i * o->top_n);
		go_drops(tg, drops);
		drops[LT_DROP_MAX] += tg->stacks.missing;
		if (tg->now_s > now_s)
			now_s = tg->now_s;
	}
	mem_obj_drops(ctx->mem_obj, drops);
	task_obj_drops(ctx->task_obj, drops);
	for (int i = 0; i < LT_DROP_MAX; i++)
		names[i] = report_drop_name(i);
	names[LT_DROP_MAX] = "stack_gone_before_read";
	self_usage(&self);
	self.collected_at = ctx->started_at + now_s;

	if (metrics_build(e->mt, ctx->ntargets, &self, &lim, &text, &len)) {
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
	free(e->mt);
	free(e->sites);
	free(e);
	ctx->export = NULL;
}
