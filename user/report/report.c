// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "report/compare.h"
#include "report/findings.h"
#include "report/folded.h"
#include "trace/go.h"
#include "trace/mem.h"
#include "report/pprof.h"
#include "report/output.h"
#include "report/report.h"
#include "sym/symbolize.h"

#define MAX_FINDINGS 16
#define MAX_JSON_SITES 200
#define TEXT_SITES 15
#define TEXT_FRAMES 8
#define MAX_SERIES 60
#define SPARK_POINTS 20

static const char *const drop_names[LT_DROP_MAX] = {
	[LT_DROP_RINGBUF] = "ringbuf_full",
	[LT_DROP_STACK_MAP] = "stack_map_full",
	[LT_DROP_STACK_READ] = "stack_read_failed",
	[LT_DROP_PAGES_MAP] = "pages_map_full",
	[LT_DROP_FAULT_MAP] = "fault_map_full",
	[LT_DROP_ARGS_MAP] = "syscall_args_map_full",
	[LT_DROP_ARGS_MISS] = "syscall_exit_without_entry",
	[LT_DROP_GO_MAP] = "goroutine_map_full",
};

const char *report_bytes(double b, char *buf, size_t len)
{
	const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	double a = fabs(b);

	while (a >= 1024 && u < 4) {
		a /= 1024;
		b /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
	return buf;
}

/* Sites worth showing: anything outstanding, growing or created. */
static bool site_shown(const struct site *s)
{
	return s->bytes > 0 || s->live > 0 || s->created > 0 ||
	       s->growth.slope_per_min != 0;
}

static json_object *jdouble(double v, int prec)
{
	char buf[64];

	if (!isfinite(v))
		v = 0;
	snprintf(buf, sizeof(buf), "%.*f", prec, v);
	return json_object_new_double_s(v, buf);
}

static json_object *jstr(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static json_object *frames_json(const struct frame *f, int n)
{
	json_object *arr = json_object_new_array();
	char addr[32];

	for (int i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)f[i].addr);
		json_object_object_add(o, "function", jstr(f[i].function));
		json_object_object_add(o, "file", jstr(f[i].file));
		json_object_object_add(o, "line", f[i].line ?
				       json_object_new_int(f[i].line) : NULL);
		json_object_object_add(o, "module", jstr(f[i].module));
		json_object_object_add(o, "address", json_object_new_string(addr));
		if (f[i].inlined)
			json_object_object_add(o, "inlined", json_object_new_boolean(1));
		json_object_array_add(arr, o);
	}
	return arr;
}

/* The site's series as [t, v] pairs, at most MAX_SERIES points. */
static json_object *series_json(const struct site *s)
{
	json_object *arr = json_object_new_array();
	size_t step = (s->nsamples + MAX_SERIES - 1) / MAX_SERIES;

	if (!step)
		step = 1;
	for (size_t i = 0; i < s->nsamples; i += step) {
		json_object *p = json_object_new_array();

		json_object_array_add(p, jdouble(s->samples[i].t, 2));
		json_object_array_add(p, jdouble(s->samples[i].v, 0));
		json_object_array_add(arr, p);
	}
	return arr;
}

static json_object *site_json(const struct site *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "kind", json_object_new_string(site_kind_name(s->kind)));
	json_object_object_add(o, "live", s->live >= 0 ? json_object_new_int64(s->live) : NULL);
	json_object_object_add(o, "bytes", s->bytes >= 0 ? json_object_new_int64(s->bytes) : NULL);
	json_object_object_add(o, "growth_per_min", jdouble(s->growth.slope_per_min, 3));
	json_object_object_add(o, "leak", json_object_new_boolean(s->growth.leak));
	json_object_object_add(o, "confidence", jdouble(s->growth.confidence, 3));
	json_object_object_add(o, "r2", jdouble(s->growth.r2, 3));
	json_object_object_add(o, "shape", jstr(s->growth.shape));
	json_object_object_add(o, "stack", frames_json(s->frames, s->nframes));
	json_object_object_add(o, "stack_truncated", json_object_new_boolean(s->truncated));
	if (s->preexisting)
		json_object_object_add(o, "origin", json_object_new_string("before_attach"));
	if (s->kind == SITE_GOROUTINE) {
		json_object_object_add(o, "wait_reason", jstr(s->wait_reason));
		json_object_object_add(o, "wait_stack", frames_json(s->wait_frames, s->nwait));
		json_object_object_add(o, "waiting", json_object_new_int64(s->waiting));
		json_object_object_add(o, "parked_s", s->parked_s >= 0 ? jdouble(s->parked_s, 1) : NULL);
	}
	json_object_object_add(o, "oldest_s", s->oldest_s >= 0 ? jdouble(s->oldest_s, 1) : NULL);
	json_object_object_add(o, "created", json_object_new_int64(s->created));
	if (site_kind_is_bytes(s->kind)) {
		json_object_object_add(o, "freed_bytes", json_object_new_int64(s->freed));
		if (s->kind == SITE_FAULT)
			json_object_object_add(o, "lazyfree_bytes", json_object_new_int64(s->lazyfree));
	}
	json_object_object_add(o, "samples", json_object_new_int64(s->nsamples));
	json_object_object_add(o, "series", series_json(s));
	return o;
}

static json_object *start_end(uint64_t a, uint64_t b)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "start", json_object_new_int64(a));
	json_object_object_add(o, "end", json_object_new_int64(b));
	return o;
}

static json_object *report_json(struct lt_ctx *ctx, const struct finding *fs, int nf)
{
	json_object *root = json_object_new_object(), *o, *arr;
	const struct mem_stats *ms = mem_stats(ctx);
	const char *gov = go_version(ctx) ? go_version(ctx) : symbolizer_go_version(ctx->sym);
	uint64_t events = 0, stacks = 0;
	char ts[64];
	int shown = 0;

	json_object_object_add(root, "schema", json_object_new_string("leaktrace/v1"));
	json_object_object_add(root, "version", json_object_new_string(LT_VERSION));
	o = json_object_new_object();
	json_object_object_add(o, "pid", json_object_new_int(ctx->target.pid));
	json_object_object_add(o, "comm", json_object_new_string(ctx->target.comm));
	json_object_object_add(o, "exe", json_object_new_string(ctx->target.exe));
	json_object_object_add(o, "go_version", jstr(gov));
	json_object_object_add(o, "exited", json_object_new_boolean(ctx->target.exited));
	json_object_object_add(o, "host_pid", json_object_new_int(target_host_pid(&ctx->target)));
	json_object_object_add(o, "execs", json_object_new_int64(ctx->nexecs));
	arr = json_object_new_array();
	for (uint32_t i = 0; i < ctx->nexecs && i < LT_MAX_EXECS; i++) {
		json_object *x = json_object_new_object();

		json_object_object_add(x, "at_s", jdouble(ctx->execs[i].at_s, 3));
		json_object_object_add(x, "exe", json_object_new_string(ctx->execs[i].exe));
		json_object_array_add(arr, x);
	}
	json_object_object_add(o, "exec_log", arr);
	json_object_object_add(root, "target", o);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&ctx->started_at));
	json_object_object_add(root, "started_at", json_object_new_string(ts));
	json_object_object_add(root, "duration_s", jdouble(ctx->now_s, 3));
	json_object_object_add(root, "attach_ms", jdouble(ctx->attach_ms, 1));
	json_object_object_add(root, "trace_ended_by", jstr(ctx->ended_by));
	if (go_enabled(ctx))	/* exits whose events were dropped */
		json_object_object_add(root, "goroutine_exits_found_by_reads",
				       json_object_new_int64(go_exits_reconciled(ctx)));

	o = json_object_new_object();
	json_object_object_add(o, "rss_bytes", start_end(ctx->first.rss, ctx->last.rss));
	json_object_object_add(o, "rss_anon_bytes", start_end(ctx->first.rss_anon, ctx->last.rss_anon));
	json_object_object_add(o, "lazyfree_bytes", start_end(ctx->first.lazyfree, ctx->last.lazyfree));
	json_object_object_add(o, "threads", start_end(ctx->threads_start, ctx->threads_end));
	if (go_enabled(ctx))
		json_object_object_add(o, "goroutines", start_end(go_count_start(ctx), go_count_end(ctx)));
	else
		json_object_object_add(o, "goroutines", NULL);
	json_object_object_add(o, "mapped_traced_bytes", json_object_new_int64(ms->mapped_total));
	json_object_object_add(root, "totals", o);

	o = json_object_new_object();
	for (int a = 0; a < LT_MADV_MAX; a++) {
		char name[16];

		if (!ms->madvise_calls[a])
			continue;
		snprintf(name, sizeof(name), "%d", a);
		json_object_object_add(o, a == 4 ? "dontneed" : a == 8 ? "free" :
					  a == 9 ? "remove" : name,
				       json_object_new_int64(ms->madvise_bytes[a]));
	}
	json_object_object_add(root, "madvise_bytes", o);

	arr = json_object_new_array();
	for (size_t i = 0; i < ctx->model.n && shown < MAX_JSON_SITES; i++) {
		if (!site_shown(ctx->model.ranked[i]))
			continue;
		json_object_array_add(arr, site_json(ctx->model.ranked[i]));
		shown++;
	}
	json_object_object_add(root, "sites", arr);

	arr = json_object_new_array();
	for (int i = 0; i < nf; i++) {
		o = json_object_new_object();
		json_object_object_add(o, "severity", json_object_new_string(finding_severity_name(fs[i].severity)));
		json_object_object_add(o, "kind", json_object_new_string(fs[i].kind));
		json_object_object_add(o, "title", json_object_new_string(fs[i].title));
		json_object_object_add(o, "detail", json_object_new_string(fs[i].detail));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "findings", arr);

	o = json_object_new_object();
	for (int i = 0; i < LT_DROP_MAX; i++) {
		if (i == LT_DROP_STACK_MAP || i == LT_DROP_STACK_READ)
			stacks += ctx->drops[i];
		else
			events += ctx->drops[i];
	}
	json_object_object_add(o, "events", json_object_new_int64(events));
	json_object_object_add(o, "stacks", json_object_new_int64(stacks + ctx->stacks.missing));
	arr = json_object_new_object();
	for (int i = 0; i < LT_DROP_MAX; i++)
		json_object_object_add(arr, drop_names[i], json_object_new_int64(ctx->drops[i]));
	json_object_object_add(arr, "stack_gone_before_read", json_object_new_int64(ctx->stacks.missing));
	json_object_object_add(o, "by_cause", arr);
	json_object_object_add(root, "drops", o);
	json_object_object_add(root, "unwind", mem_unwind_json(ctx));
	if (ctx->base)
		json_object_object_add(root, "comparison", compare_json(ctx->base, &ctx->model));
	return root;
}

static void frame_text(const struct frame *f, char *buf, size_t len)
{
	const char *file = f->file ? strrchr(f->file, '/') : NULL;

	file = file ? file + 1 : f->file;
	if (f->function && file)
		snprintf(buf, len, "%s (%s:%d)", f->function, file, f->line);
	else if (f->function)
		snprintf(buf, len, "%s", f->function);
	else
		snprintf(buf, len, "0x%llx in %s", (unsigned long long)f->addr,
			 f->module ? f->module : "?");
}

static void site_amount(const struct site *s, char *now, size_t nl,
			char *growth, size_t gl)
{
	char b[32];

	if (site_kind_is_bytes(s->kind)) {
		report_bytes((double)s->bytes, now, nl);
		snprintf(growth, gl, "%s%s", s->growth.slope_per_min >= 0 ? "+" : "",
			 report_bytes(s->growth.slope_per_min, b, sizeof(b)));
	} else {
		snprintf(now, nl, "%lld", (long long)s->live);
		snprintf(growth, gl, "%+.1f", s->growth.slope_per_min);
	}
}

/* A small trend of the site's last samples, in block characters. */
static void sparkline(const struct site *s, char *buf, size_t len)
{
	static const char *const bars[] = { "\u2581", "\u2582", "\u2583", "\u2584",
					     "\u2585", "\u2586", "\u2587", "\u2588" };
	size_t n = s->nsamples < SPARK_POINTS ? s->nsamples : SPARK_POINTS;
	const struct sample *v = s->samples + s->nsamples - n;
	double lo = 0, hi = 0;
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!i || v[i].v < lo)
			lo = v[i].v;
		if (!i || v[i].v > hi)
			hi = v[i].v;
	}
	for (size_t i = 0; i < n && off + 4 < len; i++) {
		int k = hi > lo ? (int)((v[i].v - lo) / (hi - lo) * 7.0 + 0.5) : 0;

		off += snprintf(buf + off, len - off, "%s", bars[k]);
	}
}

static void table_header(FILE *out, bool live)
{
	if (live)
		fprintf(out, "%3s  %-9s %12s %12s %14s  %-20s %-7s %s\n", "#", "KIND",
			"NOW", "CHANGE", "GROWTH/min", "TREND", "VERDICT", "WHERE");
	else
		fprintf(out, "%3s  %-9s %12s %14s  %-7s %s\n", "#", "KIND", "NOW",
			"GROWTH/min", "VERDICT", "WHERE");
}

/* One line of the sites table; live adds change since start and a trend. */
static void table_row(FILE *out, int idx, const struct site *s, bool live)
{
	char now[32], growth[32], fr[512], change[32], spark[SPARK_POINTS * 4 + 1];

	site_amount(s, now, sizeof(now), growth, sizeof(growth));
	if (s->nframes)
		frame_text(&s->frames[site_user_frame(s)], fr, sizeof(fr));
	else
		snprintf(fr, sizeof(fr), s->preexisting ? "(alive before attach)" : "(stack unknown)");
	if (s->preexisting && s->nframes)
		strncat(fr, "  [alive before attach: go statement only]", sizeof(fr) - strlen(fr) - 1);
	if (!live) {
		fprintf(out, "%3d  %-9s %12s %14s  %-7s %s\n", idx, site_kind_name(s->kind),
			now, growth, s->growth.leak ? "LEAK" : "-", fr);
		return;
	}
	if (s->nsamples) {
		double d = s->samples[s->nsamples - 1].v - s->samples[0].v;

		if (site_kind_is_bytes(s->kind))
			report_bytes(d, change, sizeof(change));
		else
			snprintf(change, sizeof(change), "%+.0f", d);
	} else {
		snprintf(change, sizeof(change), "-");
	}
	sparkline(s, spark, sizeof(spark));
	/* The trend is multi-byte: pad by points, not bytes. */
	fprintf(out, "%3d  %-9s %12s %12s %14s  %s%*s %-7s %s\n", idx, site_kind_name(s->kind),
		now, change, growth, spark,
		(int)(SPARK_POINTS - (s->nsamples < SPARK_POINTS ? s->nsamples : SPARK_POINTS)), "",
		s->growth.leak ? "LEAK" : "-", fr);
}

static void report_text(struct lt_ctx *ctx, FILE *out, const struct finding *fs, int nf)
{
	const char *gov = go_version(ctx) ? go_version(ctx) : symbolizer_go_version(ctx->sym);
	char a[32], b[32], now[32], fr[512];
	int shown = 0;
	uint64_t drops = ctx->stacks.missing;

	fprintf(out, "leaktrace report: pid %d (%s) %s%s%s, %.1f s%s\n",
		ctx->target.pid, ctx->target.comm, ctx->target.exe,
		gov ? ", " : "", gov ? gov : "", ctx->now_s,
		ctx->target.exited ? ", target exited" : "");
	if (ctx->nexecs)	/* sites before it belong to the old image */
		fprintf(out, "exec'd %u time%s, first at %.1f s (%s)\n", ctx->nexecs,
			ctx->nexecs > 1 ? "s" : "", ctx->execs[0].at_s, ctx->execs[0].exe);
	fprintf(out, "RSS %s -> %s   threads %u -> %u   LazyFree %s",
		report_bytes((double)ctx->first.rss, a, sizeof(a)),
		report_bytes((double)ctx->last.rss, b, sizeof(b)),
		ctx->threads_start, ctx->threads_end,
		report_bytes((double)ctx->last.lazyfree, now, sizeof(now)));
	if (go_enabled(ctx))
		fprintf(out, "   goroutines %lld -> %lld", (long long)go_count_start(ctx),
			(long long)go_count_end(ctx));
	fprintf(out, "\n\n");
	fprintf(out, "SITES, most suspect first (growth per minute)\n");
	table_header(out, false);
	for (size_t i = 0; i < ctx->model.n && shown < TEXT_SITES; i++) {
		const struct site *s = ctx->model.ranked[i];

		if (!site_shown(s))
			continue;
		table_row(out, ++shown, s, false);
		if (s->wait_reason) {
			fprintf(out, "%40sparked: %llu in \"%s\"", "",
				(unsigned long long)s->waiting, s->wait_reason);
			for (int k = 0; k < s->nwait; k++) {
				const char *fn = s->wait_frames[k].function;

				/* the first frame outside the runtime */
				if (fn && strncmp(fn, "runtime.", 8)) {
					frame_text(&s->wait_frames[k], fr, sizeof(fr));
					fprintf(out, " at %s", fr);
					break;
				}
			}
			fputc('\n', out);
		}
		/* Callers of the frame shown; the runtime/libc frames inside
		 * it are in the JSON. */
		int first = site_user_frame(s);

		for (int k = first + 1; k < s->nframes && k <= first + TEXT_FRAMES; k++) {
			frame_text(&s->frames[k], fr, sizeof(fr));
			fprintf(out, "%40s%s\n", "", fr);
		}
		if (first > 0)
			fprintf(out, "%40s(%d frames inside it: runtime/libc, see JSON)\n", "", first);
		if (s->truncated)
			fprintf(out, "%40s(stack ends early: no frame pointers)\n", "");
	}
	if (!shown)
		fprintf(out, "  (nothing mapped, touched or created while traced)\n");
	fprintf(out, "\nFINDINGS\n");
	for (int i = 0; i < nf; i++)
		fprintf(out, "  [%s] %s\n      %s\n", finding_severity_name(fs[i].severity),
			fs[i].title, fs[i].detail);
	if (!nf)
		fprintf(out, "  none\n");
	for (int i = 0; i < LT_DROP_MAX; i++)
		drops += ctx->drops[i];
	fprintf(out, "\nDROPS %llu", (unsigned long long)drops);
	for (int i = 0; i < LT_DROP_MAX; i++)
		if (ctx->drops[i])
			fprintf(out, "  %s=%llu", drop_names[i], (unsigned long long)ctx->drops[i]);
	fprintf(out, "\n");
	if (ctx->base)
		compare_text(ctx->base, &ctx->model, out);
}

int report_write(struct lt_ctx *ctx, FILE *out)
{
	struct finding fs[MAX_FINDINGS];
	int nf;

	if (ctx->opts.format == FMT_FOLDED)
		return folded_write(ctx, out);
	if (ctx->opts.format == FMT_PPROF)
		return pprof_write(ctx, out);
	nf = findings_build(ctx, fs, MAX_FINDINGS);
	if (ctx->opts.format == FMT_JSON) {
		json_object *root = report_json(ctx, fs, nf);

		/* Paths and symbols are bytes: escape what is not UTF-8. */
		fputs_utf8(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
							  JSON_C_TO_STRING_NOSLASHESCAPE), out);
		fputc('\n', out);
		json_object_put(root);
	} else {
		report_text(ctx, out, fs, nf);
	}
	return fflush(out) ? -errno : 0;
}

void report_live(struct lt_ctx *ctx, FILE *out, bool tty)
{
	char a[32], now[32], growth[32], fr[512];
	int shown = 0;

	if (!tty) {
		const struct site *top = NULL;

		for (size_t i = 0; i < ctx->model.n && !top; i++)
			if (site_shown(ctx->model.ranked[i]))
				top = ctx->model.ranked[i];
		fprintf(out, "t=%.0fs rss=%s threads=%u sites=%zu", ctx->now_s,
			report_bytes((double)ctx->last.rss, a, sizeof(a)),
			ctx->last.threads, ctx->model.n);
		if (top) {
			site_amount(top, now, sizeof(now), growth, sizeof(growth));
			if (top->nframes)
				frame_text(&top->frames[site_user_frame(top)], fr, sizeof(fr));
			else
				snprintf(fr, sizeof(fr), top->preexisting ? "(alive before attach)"
									  : "(stack unknown)");
			fprintf(out, " top: %s %s %s/min%s at %s", site_kind_name(top->kind),
				now, growth, top->growth.leak ? " LEAK" : "", fr);
		}
		fputc('\n', out);
		fflush(out);
		return;
	}
	fprintf(out, "\033[H\033[2J");
	fprintf(out, "leaktrace  pid %d (%s)  %.0f s  RSS %s  threads %u\n\n",
		ctx->target.pid, ctx->target.comm, ctx->now_s,
		report_bytes((double)ctx->last.rss, a, sizeof(a)), ctx->last.threads);
	table_header(out, true);
	for (size_t i = 0; i < ctx->model.n && shown < TEXT_SITES; i++) {
		const struct site *s = ctx->model.ranked[i];

		if (site_shown(s))
			table_row(out, ++shown, s, true);
	}
	fflush(out);
}
