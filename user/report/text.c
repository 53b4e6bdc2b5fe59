// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "model/entries.h"
#include "model/verdict.h"
#include "report/compare.h"
#include "report/goroutines.h"
#include "report/report.h"
#include "report/text.h"
#include "sym/funcnames.h"
#include "sym/symbolize.h"
#include "trace/go.h"
#include "trace/mem.h"
#include "trace/goheap.h"
#include "trace/malloc.h"

#define TEXT_ENTRIES 15
#define TEXT_FRAMES 8
#define SPARK_POINTS 20
#define INDENT 40
#define TEXT_LINES 6	/* lines of a culprit listed */
#define INNER_FRAMES 4	/* frames inside a culprit named */

/* A C++ name without its parameter list, which the text has no room for
 * (v8::internal::Execution::Call(v8::internal::Isolate*, ...) is 200
 * characters): "f(...)" or "f()", qualifiers and clone suffixes kept out.
 * Other names (C, Go's main.(*T).M, JIT names) are returned as they are:
 * only a name that ends in a parenthesized list is C++. JSON keeps the
 * full name. */
const char *text_short_function(const char *fn, char *buf, size_t len)
{
	static const char *const quals[] = { " const", " volatile", " &&", " &" };
	size_t end = strlen(fn);
	int depth = 0;

	/* the parameter list ends before qualifiers and clone suffixes */
	for (bool again = true; again;) {
		again = false;
		if (end && fn[end - 1] == ']') {
			const char *open = memrchr(fn, '[', end);

			if (open && open > fn && open[-1] == ' ' &&
			    (!strncmp(open, "[clone", 6) || !strncmp(open, "[abi:", 5))) {
				end = (size_t)(open - 1 - fn);
				again = true;
				continue;
			}
		}
		for (size_t i = 0; i < sizeof(quals) / sizeof(quals[0]); i++) {
			size_t q = strlen(quals[i]);

			if (end > q && !memcmp(fn + end - q, quals[i], q)) {
				end -= q;
				again = true;
				break;
			}
		}
	}
	if (end < 3 || fn[end - 1] != ')' || fn[end - 2] == '(')
		return fn;	/* not C++, or "f()" already */
	for (size_t i = end; i-- > 0;) {
		if (fn[i] == ')') {
			depth++;
		} else if (fn[i] == '(' && --depth == 0) {
			if (!i)
				return fn;
			snprintf(buf, len, "%.*s(...)", (int)i, fn);
			return buf;
		}
	}
	return fn;
}

void text_frame(const struct frame *f, char *buf, size_t len)
{
	const char *file = f->file ? strrchr(f->file, '/') : NULL;
	char shortfn[256];
	const char *fn = f->function ? text_short_function(f->function, shortfn,
						   sizeof(shortfn)) : NULL;

	file = file ? file + 1 : f->file;
	if (fn && file)
		snprintf(buf, len, "%s (%s:%d)", fn, file, f->line);
	else if (fn)
		snprintf(buf, len, "%s", fn);
	else if (f->module && f->has_offset &&
		 (!f->has_elf_addr || f->elf_addr == f->offset))
		snprintf(buf, len, "%s+0x%llx", f->module,	/* addr2line */
			 (unsigned long long)f->offset);
	else if (f->module && f->has_offset)	/* non-PIE: differ */
		snprintf(buf, len, "%s+0x%llx (addr2line 0x%llx)", f->module,
			 (unsigned long long)f->offset,
			 (unsigned long long)f->elf_addr);
	else
		snprintf(buf, len, "0x%llx in %s", (unsigned long long)f->addr,
			 f->module ? f->module : "?");
}

void text_culprit(const struct entry *e, char *buf, size_t len)
{
	const struct frame *f;
	const char *file;
	int lines[TEXT_LINES], nl = 0;
	size_t off;

	if (e->culprit < 0 || !e->lead->nframes) {
		buf[0] = '\0';
		return;
	}
	f = &e->lead->frames[e->culprit];
	if (!f->function || !f->file) {
		text_frame(f, buf, len);
		return;
	}
	/* the lines of the culprit function its sites were merged from */
	for (size_t i = 0; i < e->nsites && nl < TEXT_LINES; i++) {
		const struct site *s = e->sites[i];
		int c = site_user_frame(s), k;

		if (c >= s->nframes || !s->frames[c].function ||
		    strcmp(s->frames[c].function, f->function))
			continue;
		for (k = 0; k < nl && lines[k] != s->frames[c].line; k++)
			;
		if (k == nl)
			lines[nl++] = s->frames[c].line;
	}
	file = strrchr(f->file, '/') ? strrchr(f->file, '/') + 1 : f->file;
	off = snprintf(buf, len, "%s (%s:%d", f->function, file, f->line);
	for (int k = 0; k < nl && off < len; k++)
		if (lines[k] != f->line)
			off += snprintf(buf + off, len - off, ", %d", lines[k]);
	if (off < len)
		snprintf(buf + off, len - off, ")");
}

void text_exe(const struct lt_target *tg, char *buf, size_t len)
{
	char path[64], cmd[PATH_MAX], cand[PATH_MAX * 2], a[PATH_MAX], b[PATH_MAX];
	const char *exe = tg->target.exe, *slash, *name;
	FILE *f;
	size_t n;

	snprintf(buf, len, "%s", exe);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", tg->target.pid);
	f = fopen(path, "re");
	if (!f)
		return;
	n = fread(cmd, 1, sizeof(cmd) - 1, f);
	fclose(f);
	cmd[n] = '\0';
	if (!cmd[0])
		return;
	/* a process title (redis: "redis-server 127.0.0.1:6379" or
	 * "redis-server /etc/redis.conf") replaces argv[0]: its first word is
	 * the name it was run as, unless a file has the whole name */
	if (strchr(cmd, ' ') && access(cmd, F_OK))
		cmd[strcspn(cmd, " ")] = '\0';
	name = strrchr(cmd, '/') ? strrchr(cmd, '/') + 1 : cmd;
	slash = strrchr(exe, '/');
	if (!strcmp(name, slash ? slash + 1 : exe))
		return;		/* run by the exe's own name */
	/* a link next to the exe (redis-server -> redis-check-rdb) */
	snprintf(cand, sizeof(cand), "%.*s/%s", slash ? (int)(slash - exe) : 0,
		 exe, name);
	if (realpath(cand, a) && realpath(exe, b) && !strcmp(a, b))
		snprintf(buf, len, "%s", cand);
	else
		snprintf(buf, len, "%s (exe %s)", name, exe);
}

void text_limit(struct lt_target *tg, struct limit_view *v)
{
	const struct model *m = &tg->model;

	memset(v, 0, sizeof(*v));
	v->minutes = INFINITY;
	if (tg->target.exited || memlimit_read("", tg->target.pid, &v->lim))
		return;
	v->have = v->lim.source != MEMLIMIT_NONE;
	if (m->ntotals >= 2)
		v->rss_now_per_min = analyze_recent_per_min(m->rss, m->ntotals, NULL);
	v->minutes = memlimit_minutes(&v->lim, v->rss_now_per_min);
}

static void duration_text(double min, char *buf, size_t len)
{
	if (min < 1)
		snprintf(buf, len, "<1 min");
	else if (min < 120)
		snprintf(buf, len, "~%.0f min", min);
	else if (min < 48 * 60)
		snprintf(buf, len, "~%.1f h", min / 60);
	else
		snprintf(buf, len, "~%.0f days", min / 1440);
}

void text_limit_line(const struct limit_view *v, char *buf, size_t len)
{
	char lim[32], left[32], rate[32], when[32], where[300] = "";

	if (!v->have) {
		snprintf(buf, len, "limit unknown (no cgroup limit, RLIMIT_AS or /proc/meminfo)");
		return;
	}
	report_bytes((double)v->lim.limit, lim, sizeof(lim));
	report_bytes((double)v->lim.left, left, sizeof(left));
	if (v->lim.cgroup[0])
		snprintf(where, sizeof(where), " %s", v->lim.cgroup);
	if (!(v->rss_now_per_min > 0)) {
		snprintf(buf, len, "limit %s (%s%s), %s left; RSS is not growing now",
			 lim, memlimit_source_name(v->lim.source), where, left);
		return;
	}
	report_bytes(v->rss_now_per_min, rate, sizeof(rate));
	duration_text(v->minutes, when, sizeof(when));
	snprintf(buf, len, "limit %s (%s%s), %s left; at +%s/min (RSS now) reached in %s",
		 lim, memlimit_source_name(v->lim.source), where, left, rate, when);
}

/* Worth a line: anything outstanding, growing or created. */
static bool entry_shown(const struct entry *e)
{
	for (size_t i = 0; i < e->nsites; i++) {
		const struct site *s = e->sites[i];

		if (s->bytes > 0 || s->live > 0 || s->created > 0 ||
		    s->growth.slope_per_min != 0)
			return true;
	}
	return false;
}

static void rate_text(bool bytes, double v, char *buf, size_t len)
{
	char b[32];

	if (bytes)
		snprintf(buf, len, "%s%s", v >= 0 ? "+" : "", report_bytes(v, b, sizeof(b)));
	else
		snprintf(buf, len, "%+.1f", v);
}

static const char *col_rate(const struct entry_column *c, char *buf, size_t len)
{
	rate_text(true, c->slope_per_min, buf, len);
	return buf;
}

/* NOW, GROWTH and RECENT of an entry: the lead's column for memory. */
static void entry_amounts(const struct entry *e, const char **kind, char *now,
			  size_t nl, char *growth, size_t gl, char *recent,
			  size_t rl)
{
	if (e->cls == ENTRY_MEMORY) {
		const struct entry_column *c = &e->col[entry_col_of(e->lead->kind)];

		*kind = entry_col_name(entry_col_of(e->lead->kind));
		report_bytes((double)c->bytes, now, nl);
		rate_text(true, c->slope_per_min, growth, gl);
		rate_text(true, c->recent_per_min, recent, rl);
		return;
	}
	*kind = e->cls == ENTRY_GOROUTINE ? "goroutine" : "thread";
	snprintf(now, nl, "%lld", (long long)e->live);
	rate_text(false, e->rate_per_min, growth, gl);
	rate_text(false, e->recent_per_min, recent, rl);
}

static void entry_where(const struct entry *e, char *buf, size_t len)
{
	const struct site *s = e->lead;

	if (e->symptom)
		snprintf(buf, len,
			 "(runtime/allocator's own growth: no application frame on its stacks)");
	else if (s->nframes && e->culprit >= 0)
		text_culprit(e, buf, len);
	else if (s->nframes && e->cls == ENTRY_GOROUTINE)
		snprintf(buf, len, "(the Go runtime's own goroutines)");
	else if (s->nframes && e->cls == ENTRY_THREAD)
		snprintf(buf, len, "(threads the runtime or libc started)");
	else if (s->nframes)
		text_frame(&s->frames[0], buf, len);
	else
		snprintf(buf, len, s->preexisting ? "(alive before attach)" : "(stack unknown)");
}

/* The trend of the lead's last samples, in block characters. */
static int sparkline(const struct site *s, char *buf, size_t len)
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
	return (int)n;
}

static void header_row(FILE *out, bool live)
{
	fprintf(out, "%3s  %-9s %11s %12s %12s  %s%-7s %s\n", "#", "KIND", "NOW",
		"GROWTH/min", "NOW/min", live ? "TREND                " : "",
		"VERDICT", "WHERE");
}

static void entry_row(FILE *out, int idx, const struct entry *e, bool live)
{
	char now[32], growth[32], recent[32], where[512], spark[SPARK_POINTS * 4 + 1];
	const char *kind;
	int pts = 0;

	entry_amounts(e, &kind, now, sizeof(now), growth, sizeof(growth),
		      recent, sizeof(recent));
	entry_where(e, where, sizeof(where));
	if (live)
		pts = sparkline(e->lead, spark, sizeof(spark));
	fprintf(out, "%3d  %-9s %11s %12s %12s  %s%*s%-7s %s\n", idx, kind, now,
		growth, recent, live ? spark : "", live ? SPARK_POINTS + 1 - pts : 0,
		"", verdict_label(e->verdict), where);
}

/* "grew until t=18 s, flat since" and the columns of a memory entry. */
static void entry_state(FILE *out, const struct entry *e)
{
	char a[32], b[32], line[512];
	size_t off = 0;

	if (e->verdict == VERDICT_STOPPED && isfinite(e->grew_until_s))
		fprintf(out, "%*sgrew until t=%.0f s, flat since: not growing now\n",
			INDENT, "", e->grew_until_s);
	if (e->cls != ENTRY_MEMORY)
		return;
	line[0] = '\0';
	for (int c = 0; c < COL_MAX; c++) {
		if (!e->col[c].nsites)
			continue;
		off += snprintf(line + off, sizeof(line) - off, "%s%s %s (%s/min)",
				off ? ", " : "", entry_col_name(c),
				report_bytes((double)e->col[c].bytes, a, sizeof(a)),
				col_rate(&e->col[c], b, sizeof(b)));
		if (off >= sizeof(line))
			break;
	}
	if (e->nsites > 1)
		fprintf(out, "%*s%s; %zu sites merged (JSON \"entries\")\n", INDENT, "",
			line, e->nsites);
	else if (e->col[COL_MAPPED].nsites + e->col[COL_RESIDENT].nsites +
		 e->col[COL_HEAP].nsites > 1)
		fprintf(out, "%*s%s\n", INDENT, "", line);
}

static void goroutine_state(FILE *out, const struct entry *e)
{
	const struct site *w = NULL;
	char fr[512] = "";
	int64_t other;
	bool mixed = false;

	if (e->cls != ENTRY_GOROUTINE)
		return;

	/* the reason most of them wait for */
	for (size_t i = 0; i < e->nsites; i++) {
		const struct site *s = e->sites[i];

		if (!s->wait_reason)
			continue;
		if (w && strcmp(w->wait_reason, s->wait_reason))
			mixed = true;
		if (!w || s->waiting > w->waiting)
			w = s;
	}
	fprintf(out, "%*s%lld live", INDENT, "", (long long)e->live);
	if (e->before_attach && e->since)
		fprintf(out, ": %lld before attach + %lld since", (long long)e->before_attach,
			(long long)e->since);
	else if (e->before_attach)
		fprintf(out, ", all alive before attach");
	if (w) {
		for (int k = 0; k < w->nwait; k++) {
			const char *fn = w->wait_frames[k].function;

			if (fn && !fn_is_go_runtime(fn)) {
				text_frame(&w->wait_frames[k], fr, sizeof(fr));
				break;
			}
		}
		fprintf(out, "; %llu parked%s \"%s\"%s%s", (unsigned long long)e->waiting,
			mixed ? ", most in" : " in", w->wait_reason, fr[0] ? " at " : "", fr);
	}
	other = e->live - (int64_t)e->waiting;
	if (e->running >= 0 || e->runnable >= 0)
		fprintf(out, "; %lld running, %lld runnable",
			(long long)(e->running > 0 ? e->running : 0),
			(long long)(e->runnable > 0 ? e->runnable : 0));
	else if (w && other > 0)
		fprintf(out, "; %lld not parked at the last read (running or runnable)",
			(long long)other);
	fputc('\n', out);
}

static void consequences(FILE *out, const struct model *m, size_t cause)
{
	char a[32], b[32];

	for (size_t i = 0; i < m->nentries; i++) {
		const struct entry *e = &m->entries[i];

		if (!e->symptom || e->cause != (int)cause || !entry_shown(e))
			continue;
		fprintf(out, "%*sdrives runtime/allocator growth:", INDENT, "");
		for (int c = 0, k = 0; c < COL_MAX; c++)
			if (e->col[c].nsites)
				fprintf(out, "%s %s %s (%s/min)", k++ ? "," : "",
					entry_col_name(c),
					report_bytes((double)e->col[c].bytes, a, sizeof(a)),
					col_rate(&e->col[c], b, sizeof(b)));
		fprintf(out, " (%zu sites, JSON)\n", e->nsites);
	}
}

/* The frames inside the culprit (named runtime, libc, allocator or
 * dispatch code, or unnamed frames of system libraries): named, callee
 * last, never folded into a label. */
static void inner_frames(FILE *out, const struct site *s, int n)
{
	char fr[512];
	int k, shown = n < INNER_FRAMES ? n : INNER_FRAMES;

	fprintf(out, "%*s(it calls:", INDENT, "");
	for (k = n - 1; k >= n - shown; k--) {
		text_frame(&s->frames[k], fr, sizeof(fr));
		fprintf(out, "%s %s", k == n - 1 ? "" : " ->", fr);
	}
	if (n > shown)
		fprintf(out, " -> %d more", n - shown);
	fprintf(out, "; JSON \"stack\")\n");
}

static void entry_callers(FILE *out, const struct entry *e)
{
	const struct site *s = e->lead;
	int first = e->culprit >= 0 ? e->culprit : 0;
	char fr[512];

	if (e->symptom || (e->culprit < 0 && e->cls != ENTRY_MEMORY))
		return;
	for (int k = first + 1; k < s->nframes && k <= first + TEXT_FRAMES; k++) {
		text_frame(&s->frames[k], fr, sizeof(fr));
		fprintf(out, "%*s%s\n", INDENT, "", fr);
	}
	if (first > 0)
		inner_frames(out, s, first);
	if (s->truncated)
		fprintf(out, "%*s(stack ends early)\n", INDENT, "");
}

/* Modules without symbols, one line each: what would name their frames. */
static void symbols_missing_text(struct lt_target *ctx, FILE *out)
{
	const struct sym_missing *v;
	size_t n = ctx->sym ? symbolizer_missing(ctx->sym, &v) : 0;

	if (n)
		fprintf(out, "\nSYMBOLS MISSING\n");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %s\n", v[i].hint);
}

/* One line on the Go heap profile: off (and why), or how old it is. */
static void heap_profile_text(struct lt_target *tg, FILE *out)
{
	struct goheap_info hi;
	char r[32];

	goheap_get_info(tg, &hi);
	if (hi.state == GOHEAP_NOT_GO)
		return;
	if (hi.message) {
		fprintf(out, "%s\n", hi.message);
		return;
	}
	if (hi.state != GOHEAP_ON || !hi.reads)
		return;
	fprintf(out, "heap profile: 1 sample per %s allocated, %llu stacks, "
		"GC cycle %u seen %.1f s ago%s%s\n",
		report_bytes((double)hi.rate, r, sizeof(r)),
		(unsigned long long)hi.buckets, hi.cycle, hi.data_age_s,
		hi.before_gc ? " (no GC yet: counts since start)" : "",
		hi.truncated ? " (list cut at the read caps)" : "");
}

/* One line when memory calls were not all seen where leaktrace looked. */
static void mem_probes_text(const struct lt_ctx *ctx, const struct lt_target *tg,
			    FILE *out)
{
	const struct mem_stats *ms = tg->mem ? mem_stats(tg) : NULL;
	struct mem_probes_info pi;
	char a[32], b[32];

	mem_obj_probes(ctx->mem_obj, &pi);
	if (pi.switched_at >= 0 && !(ms && ms->vm_misses))
		fprintf(out, "memory calls: the syscall tracepoints from %.1f s (%s)\n",
			pi.switched_at, pi.why_tracepoints);
	if (!ms || !ms->vm_misses)
		return;
	fprintf(out, "memory mapped with no call seen: %s mapped, %s unmapped (%s)%s\n",
		report_bytes((double)ms->unseen_mapped, a, sizeof(a)),
		report_bytes((double)ms->unseen_unmapped, b, sizeof(b)),
		pi.switched_at >= 0 ? "a system call outside the probed syscall sites"
				    : "shmat, io_uring or a lost record?",
		pi.switched_at >= 0 ? "; the syscall tracepoints took over" : "");
}

void text_report(struct lt_ctx *ctx, struct lt_target *tg, FILE *out, const struct finding *fs, int nf)
{
	const char *gov = go_version(tg) ? go_version(tg) : symbolizer_go_version(tg->sym);
	const struct model *m = &tg->model;
	char a[32], b[32], c[32], exe[PATH_MAX + 64], line[512];
	struct limit_view lv;
	uint64_t drops = tg->stacks.missing;
	int shown = 0;

	text_exe(tg, exe, sizeof(exe));
	fprintf(out, "leaktrace report: pid %d (%s) %s%s%s, %.1f s%s\n",
		tg->target.pid, tg->target.comm, exe, gov ? ", " : "",
		gov ? gov : "", tg->now_s, tg->target.exited ? ", target exited" : "");
	text_limit(tg, &lv);
	if (!tg->target.exited) {
		text_limit_line(&lv, line, sizeof(line));
		fprintf(out, "%s\n", line);
	}
	fprintf(out, "RSS %s -> %s   threads %u -> %u   LazyFree %s",
		report_bytes((double)tg->first.rss, a, sizeof(a)),
		report_bytes((double)tg->last.rss, b, sizeof(b)),
		tg->threads_start, tg->threads_end,
		report_bytes((double)tg->last.lazyfree, c, sizeof(c)));
	if (go_enabled(tg))
		fprintf(out, "   goroutines %lld -> %lld", (long long)go_count_start(tg),
			(long long)go_count_end(tg));
	fprintf(out, "\n");
	if (tg->nexecs)	/* sites before it belong to the old image */
		fprintf(out, "exec'd %u time%s, first at %.1f s (%s)\n", tg->nexecs,
			tg->nexecs > 1 ? "s" : "", tg->execs[0].at_s, tg->execs[0].exe);
	go_sampling_text(tg, out);
	malloc_sampling_text(tg, out);
	mem_probes_text(ctx, tg, out);
	heap_profile_text(tg, out);
	fprintf(out, "\nONE ENTRY PER CULPRIT, most suspect first "
		"(GROWTH: whole window; NOW: its last quarter)\n");
	header_row(out, false);
	for (size_t i = 0; i < m->nentries && shown < TEXT_ENTRIES; i++) {
		const struct entry *e = &m->entries[i];

		if (!entry_shown(e) || (e->symptom && e->cause >= 0))
			continue;
		entry_row(out, ++shown, e, false);
		entry_state(out, e);
		goroutine_state(out, e);
		consequences(out, m, i);
		entry_callers(out, e);
		/* sampling, ancestry, runtime-marked leaks of its lead site */
		goroutine_site_text(e->lead, out, INDENT);
	}
	if (!shown)
		fprintf(out, "  (nothing mapped, touched or created while traced)\n");
	fprintf(out, "\nFINDINGS\n");
	for (int i = 0; i < nf; i++)
		fprintf(out, "  [%s] %s\n      %s\n", finding_severity_name(fs[i].severity),
			fs[i].title, fs[i].detail);
	if (!nf)
		fprintf(out, "  none\n");
	symbols_missing_text(tg, out);
	for (int i = 0; i < LT_DROP_MAX; i++)
		drops += ctx->drops[i];
	fprintf(out, "\nDROPS %llu", (unsigned long long)drops);
	for (int i = 0; i < LT_DROP_MAX; i++)
		if (ctx->drops[i])
			fprintf(out, "  %s=%llu", report_drop_name(i), (unsigned long long)ctx->drops[i]);
	if (tg->stacks.missing)
		fprintf(out, "  stack_gone_before_read=%llu",
			(unsigned long long)tg->stacks.missing);
	/* not drops: exits no event told of, found by reading allgs */
	if (go_enabled(tg) && go_exits_reconciled(tg))
		fprintf(out, "   (%llu goroutine exits seen by reads, not by events)",
			(unsigned long long)go_exits_reconciled(tg));
	fprintf(out, "\n");
	if (ctx->base)
		compare_text(ctx->base, &tg->model, out);
}

void report_live(struct lt_ctx *ctx, struct lt_target *tg, FILE *out, bool tty)
{
	const struct model *m = &tg->model;
	char a[32], now[32], growth[32], recent[32], where[512], lim[512];
	struct limit_view lv;
	const char *kind;
	int shown = 0;

	text_limit(tg, &lv);
	text_limit_line(&lv, lim, sizeof(lim));
	if (!tty) {
		const struct entry *top = NULL;

		for (size_t i = 0; i < m->nentries && !top; i++)
			if (entry_shown(&m->entries[i]) &&
			    !(m->entries[i].symptom && m->entries[i].cause >= 0))
				top = &m->entries[i];
		fprintf(out, "t=%.0fs rss=%s threads=%u sites=%zu entries=%zu", tg->now_s,
			report_bytes((double)tg->last.rss, a, sizeof(a)),
			tg->last.threads, m->n, m->nentries);
		if (top) {
			entry_amounts(top, &kind, now, sizeof(now), growth, sizeof(growth),
				      recent, sizeof(recent));
			entry_where(top, where, sizeof(where));
			fprintf(out, " top: %s %s %s/min (now %s/min) %s at %s", kind, now,
				growth, recent, verdict_label(top->verdict), where);
		}
		fprintf(out, " | %s\n", lim);
		fflush(out);
		return;
	}
	fprintf(out, "\033[H\033[2J");
	fprintf(out, "leaktrace  pid %d (%s)  %.0f s  RSS %s  threads %u\n%s\n\n",
		tg->target.pid, tg->target.comm, tg->now_s,
		report_bytes((double)tg->last.rss, a, sizeof(a)), tg->last.threads, lim);
	header_row(out, true);
	for (size_t i = 0; i < m->nentries && shown < TEXT_ENTRIES; i++) {
		const struct entry *e = &m->entries[i];

		if (!entry_shown(e) || (e->symptom && e->cause >= 0))
			continue;
		entry_row(out, ++shown, e, true);
		if (e->verdict == VERDICT_STOPPED && isfinite(e->grew_until_s))
			fprintf(out, "%*sgrew until t=%.0f s, flat since\n", INDENT, "",
				e->grew_until_s);
	}
	fflush(out);
}
