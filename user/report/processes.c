// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The report of several processes: -p A,B, --all, --cgroup. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "model/model.h"
#include "proc/identity.h"
#include "report/output.h"
#include "report/report.h"
#include "trace/go.h"
#include "trace/node.h"

/* Full text reports for at most this many processes; the rest one line. */
#define TEXT_FULL 10

struct suspicion {
	struct lt_target *tg;
	unsigned int leaks, growing;
	double score;		/* its most suspect site's */
};

static void judge(struct lt_target *tg, struct suspicion *s)
{
	memset(s, 0, sizeof(*s));
	s->tg = tg;
	for (size_t i = 0; i < tg->model.n; i++) {
		const struct site *site = tg->model.sites[i];

		if (site->verdict == VERDICT_LEAK)
			s->leaks++;
		else if (site->verdict == VERDICT_GROWING)
			s->growing++;
		if (site->verdict >= VERDICT_GROWING && site->score > s->score)
			s->score = site->score;
	}
}

/* Most suspect first: leaks, then growing sites, then score, then pid. */
static int by_suspicion(const void *a, const void *b)
{
	const struct suspicion *x = a, *y = b;

	if (x->leaks != y->leaks)
		return x->leaks > y->leaks ? -1 : 1;
	if (x->growing != y->growing)
		return x->growing > y->growing ? -1 : 1;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->tg->target.pid - y->tg->target.pid;
}

static const char *mode_name(const struct lt_ctx *ctx)
{
	return ctx->opts.all ? "all" : ctx->opts.cgroup ? "cgroup" : "pids";
}

static json_object *node_json(const struct lt_ctx *ctx)
{
	const struct node_stats *st = node_stats(ctx);
	json_object *o = json_object_new_object();

	json_object_object_add(o, "traced_at_end", json_object_new_int64(ctx->ntargets));
	json_object_object_add(o, "attached_later", json_object_new_int64(st ? st->seen : 0));
	json_object_object_add(o, "released_after_exit", json_object_new_int64(st ? st->released : 0));
	json_object_object_add(o, "vanished_before_attach", json_object_new_int64(st ? st->vanished : 0));
	json_object_object_add(o, "not_traceable", json_object_new_int64(st ? st->refused : 0));
	json_object_object_add(o, "over_max_processes", json_object_new_int64(st ? st->over_limit : 0));
	json_object_object_add(o, "records_of_untraced_processes",
			       json_object_new_int64(ctx->unrouted));
	/* one Go probe object per executable, shared by its processes */
	json_object_object_add(o, "go_executables", go_executables_json());
	return o;
}

static json_object *identity_json(struct lt_target *tg)
{
	struct proc_identity id;
	json_object *o = json_object_new_object();

	if (!identity_read("", tg->target.pid, &id)) {
		tg->id = id;
		tg->have_id = true;
	}
	if (!tg->have_id)
		return o;
	json_object_object_add(o, "start_ticks", json_object_new_int64(tg->id.start_ticks));
	json_object_object_add(o, "cgroup", json_object_new_string(tg->id.cgroup));
	json_object_object_add(o, "container_id", tg->id.ct.container_id[0] ?
			       json_object_new_string(tg->id.ct.container_id) : NULL);
	json_object_object_add(o, "container_runtime", tg->id.ct.container_id[0] ?
			       json_object_new_string(ct_runtime_name(tg->id.ct.runtime)) : NULL);
	json_object_object_add(o, "pod_uid", tg->id.ct.pod_uid[0] ?
			       json_object_new_string(tg->id.ct.pod_uid) : NULL);
	return o;
}

static int write_json(struct lt_ctx *ctx, struct suspicion *s, size_t n, FILE *out)
{
	json_object *root = json_object_new_object(), *arr = json_object_new_array();
	char ts[64];

	json_object_object_add(root, "schema", json_object_new_string("leaktrace/v1"));
	json_object_object_add(root, "version", json_object_new_string(LT_VERSION));
	json_object_object_add(root, "mode", json_object_new_string(mode_name(ctx)));
	json_object_object_add(root, "cgroup", ctx->opts.cgroup ?
			       json_object_new_string(ctx->opts.cgroup) : NULL);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&ctx->started_at));
	json_object_object_add(root, "started_at", json_object_new_string(ts));
	json_object_object_add(root, "duration_s",
			       json_object_new_double(lt_elapsed(ctx)));
	json_object_object_add(root, "attach_ms", json_object_new_double(ctx->attach_ms));
	json_object_object_add(root, "trace_ended_by", ctx->ended_by ?
			       json_object_new_string(ctx->ended_by) : NULL);
	json_object_object_add(root, "node", node_json(ctx));
	for (size_t i = 0; i < n; i++) {
		json_object *p = report_process_json(ctx, s[i].tg);

		json_object_object_add(p, "identity", identity_json(s[i].tg));
		json_object_array_add(arr, p);
	}
	json_object_object_add(root, "processes", arr);
	fputs_utf8(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
						  JSON_C_TO_STRING_NOSLASHESCAPE), out);
	fputc('\n', out);
	json_object_put(root);
	return 0;
}

static void write_text(struct lt_ctx *ctx, struct suspicion *s, size_t n, FILE *out)
{
	const struct node_stats *st = node_stats(ctx);
	char a[32], b[32];
	size_t full = 0;

	fprintf(out, "leaktrace report: %zu processes (%s%s%s), %.1f s\n", n,
		mode_name(ctx), ctx->opts.cgroup ? " " : "",
		ctx->opts.cgroup ? ctx->opts.cgroup : "", lt_elapsed(ctx));
	if (st)
		fprintf(out, "attached later %llu, released after exit %llu, vanished before attach %llu, "
			"not traceable %llu, over --max-processes %llu\n",
			(unsigned long long)st->seen, (unsigned long long)st->released,
			(unsigned long long)st->vanished, (unsigned long long)st->refused,
			(unsigned long long)st->over_limit);
	if (ctx->unrouted)
		fprintf(out, "%llu records of processes no longer traced were not counted\n",
			(unsigned long long)ctx->unrouted);
	if (go_executables())
		fprintf(out, "Go runtime probes: one set per executable, %d executable%s\n",
			go_executables(), go_executables() == 1 ? "" : "s");
	fprintf(out, "\nPROCESSES, most suspect first\n%4s %8s %-16s %6s %8s %21s\n",
		"#", "PID", "COMM", "LEAKS", "GROWING", "RSS");
	for (size_t i = 0; i < n; i++) {
		struct lt_target *tg = s[i].tg;

		fprintf(out, "%4zu %8d %-16.16s %6u %8u %10s -> %-10s%s\n", i + 1,
			tg->target.pid, tg->target.comm, s[i].leaks, s[i].growing,
			report_bytes((double)tg->first.rss, a, sizeof(a)),
			report_bytes((double)tg->last.rss, b, sizeof(b)),
			tg->exited ? " (exited)" : "");
	}
	for (size_t i = 0; i < n && full < TEXT_FULL; i++) {
		if (!s[i].leaks && !s[i].growing)
			break;
		fprintf(out, "\n");
		report_process_text(ctx, s[i].tg, out);
		full++;
	}
	if (!full)
		fprintf(out, "\nno process has a growing site\n");
}

int report_write_processes(struct lt_ctx *ctx, FILE *out)
{
	struct suspicion *s;
	size_t n = ctx->ntargets;

	if (ctx->opts.format == FMT_FOLDED || ctx->opts.format == FMT_PPROF)
		return -EINVAL;	/* refused at the command line */
	s = calloc(n ? n : 1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		judge(ctx->targets[i], &s[i]);
	qsort(s, n, sizeof(*s), by_suspicion);
	if (ctx->opts.format == FMT_JSON)
		write_json(ctx, s, n, out);
	else
		write_text(ctx, s, n, out);
	free(s);
	return fflush(out) ? -errno : 0;
}
