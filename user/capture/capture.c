// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* leaktrace capture: the run's hooks (samples, progress) and the bundle's
 * assembly. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "capture/capture.h"
#include "capture/capture_int.h"
#include "model/model.h"
#include "report/report.h"
#include "trace/go.h"
#include "util/log.h"

#define MAX_POINTS 100000	/* a day at 1 s; older halves merged */

/* "leaktrace capture" and the options, quoted where a shell needs it. */
static char *join_args(int argc, char **argv)
{
	static const char head[] = "leaktrace capture";
	size_t len = sizeof(head);
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 3;
	s = calloc(1, len);
	if (!s)
		return NULL;
	strcpy(s, head);
	for (int i = 0; i < argc; i++) {
		bool quote = !*argv[i] || strpbrk(argv[i], " \t'\"$\\");

		strcat(s, " ");
		if (quote)
			strcat(s, "'");
		strcat(s, argv[i]);
		if (quote)
			strcat(s, "'");
	}
	return s;
}

int capture_new(struct lt_ctx *ctx, int argc, char **argv)
{
	struct capture *c = calloc(1, sizeof(*c));
	const char *dir = ctx->opts.output;
	char name[64];
	struct stat st;
	size_t len;

	if (!c) {
		lt_err("out of memory\n");
		return -ENOMEM;
	}
	c->wall_start = time(NULL);
	if (!dir) {
		strftime(name, sizeof(name), "leaktrace-capture-%Y%m%d-%H%M%S",
			 gmtime(&c->wall_start));
		dir = name;
	}
	len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (!len || len + 32 >= sizeof(c->dir)) {
		lt_err("capture: bad output directory name: '%s'\n", dir);
		free(c);
		return -EINVAL;
	}
	memcpy(c->dir, dir, len);
	if (!stat(c->dir, &st)) {
		lt_err("capture: %s already exists: give a new directory with -o DIR\n",
		       c->dir);
		free(c);
		return -EEXIST;
	}
	snprintf(c->tmp, sizeof(c->tmp), "%s.partial-%d", c->dir, (int)getpid());
	if (mkdir(c->tmp, 0755)) {
		lt_err("capture: cannot create %s: %s\n", c->tmp, strerror(errno));
		free(c);
		return -errno;
	}
	c->cmdline = join_args(argc, argv);
	c->tty = isatty(STDERR_FILENO);
	/* -i sets the sampling period only: the capture shows its own
	 * progress line, not the live table. */
	ctx->opts.interval_set = false;
	c->oom_start = c->oom_end = -1;
	ctx->capture = c;
	return 0;
}

static double kind_sum(const struct model *m, enum site_kind k, bool *any)
{
	double sum = 0;

	for (size_t i = 0; i < m->n; i++) {
		const struct site *s = m->sites[i];
		int64_t v;

		if (s->kind != k)
			continue;
		*any = true;
		v = site_kind_is_bytes(k) ? s->bytes : s->live;
		if (v > 0)
			sum += v;
	}
	return sum;
}

/* Keeps the series bounded: every other point of the older half goes. */
static void thin(struct capture *c)
{
	size_t half = c->n / 2, j = 0;

	for (size_t i = 0; i < half; i += 2)
		c->pts[j++] = c->pts[i];
	memmove(&c->pts[j], &c->pts[half], (c->n - half) * sizeof(*c->pts));
	c->n = j + c->n - half;
}

static void record(struct capture *c, struct lt_target *tg)
{
	struct cap_point *p;

	if (c->n == MAX_POINTS)
		thin(c);
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;

		p = realloc(c->pts, cap * sizeof(*p));
		if (!p)
			return;
		c->pts = p;
		c->cap = cap;
	}
	p = &c->pts[c->n++];
	p->t = tg->now_s;
	p->rss = tg->have_totals ? (double)tg->last.rss : -1;
	p->rss_anon = tg->have_totals ? (double)tg->last.rss_anon : -1;
	p->threads = tg->have_totals ? (double)tg->last.threads : -1;
	for (int k = 0; k < SITE_KIND_MAX; k++) {
		bool any = false;
		double v = kind_sum(&tg->model, k, &any);

		p->kind[k] = any ? v : -1;
	}
}

static double rss_rise(const struct lt_target *tg)
{
	return tg->have_totals ? (double)tg->last.rss - (double)tg->first.rss : NAN;
}

static void progress(struct capture *c, struct lt_ctx *ctx, struct lt_target *tg)
{
	const struct site *top = NULL;
	char rss[32], amount[32], where[160] = "", line[256];
	struct winsize ws;
	double total = ctx->opts.duration_s;

	/* ranked holds the sites of its time: rank now, read it now. */
	model_rank(&tg->model, rss_rise(tg));
	for (size_t i = 0; tg->model.ranked && i < tg->model.n && !top; i++) {
		const struct site *s = tg->model.ranked[i];

		if (s->growth.slope_per_min > 0 && (s->bytes > 0 || s->live > 0))
			top = s;
	}
	if (top) {
		const struct frame *f = top->nframes ?
					&top->frames[site_user_frame(top)] : NULL;

		if (site_kind_is_bytes(top->kind))
			report_bytes(top->growth.slope_per_min, amount, sizeof(amount));
		else
			snprintf(amount, sizeof(amount), "%.0f", top->growth.slope_per_min);
		snprintf(where, sizeof(where), "  top: %s +%s/min %s",
			 site_kind_name(top->kind), amount,
			 f && f->function ? f->function : "(stack unknown)");
	}
	snprintf(line, sizeof(line), "capture %3.0fs / %.0fs (%.0fs left)  RSS %s%s",
		 tg->now_s, total, total > tg->now_s ? total - tg->now_s : 0,
		 report_bytes(tg->have_totals ? (double)tg->last.rss : 0, rss,
			      sizeof(rss)), where);
	/* One line that \r can rewrite: never wider than the terminal. */
	if (!ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) && ws.ws_col > 1 &&
	    strlen(line) >= ws.ws_col)
		line[ws.ws_col - 1] = 0;
	fprintf(stderr, "\r\033[K%s", line);
	fflush(stderr);
	c->progress_shown = true;
}

void capture_sample(struct lt_ctx *ctx, struct lt_target *tg)
{
	struct capture *c = ctx->capture;

	if (!c)
		return;
	if (!c->started) {
		c->started = true;
		snap_cgroups(c, tg->target.pid);
		c->oom_start = snap_oom_kills(c);
		snap_take(c, tg->target.pid, "start");
		if (go_enabled(tg))
			gdump_write(c, ctx, tg, "snapshots/start/goroutines.txt");
	}
	record(c, tg);
	if (c->tty && tg->now_s >= c->next_progress) {
		progress(c, ctx, tg);
		c->next_progress = tg->now_s + 1;
	}
}

/* One report format into rel. */
static int write_format(struct capture *c, struct lt_ctx *ctx, struct lt_target *tg,
			enum lt_format fmt, const char *rel)
{
	enum lt_format saved = ctx->opts.format;
	FILE *f = cap_open(c, rel);
	int err;

	if (!f)
		return -errno;
	ctx->opts.format = fmt;
	err = report_write(ctx, tg, f);
	ctx->opts.format = saved;
	if (cap_close(f) && !err)
		err = -EIO;
	if (err)
		lt_err("capture: writing %s failed: %s\n", rel, strerror(-err));
	return err;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, r;

	if (!f)
		return NULL;
	do {
		if (cap - len < 65536) {
			char *b = realloc(buf, cap = cap * 2 + 65536);

			if (!b)
				break;
			buf = b;
		}
		r = fread(buf + len, 1, cap - len - 1, f);
		len += r;
	} while (r > 0);
	fclose(f);
	if (buf)
		buf[len] = 0;
	return buf;
}

static const char index_text[] =
"report.html     OPEN THIS FIRST. One page, works offline in any browser:\n"
"                RSS, threads, goroutines and memory over time, the top\n"
"                culprits with their growth charts, findings, a flame graph\n"
"                of what grew, the goroutine dump.\n"
"report.txt      The same verdict as plain text (what leaktrace prints).\n"
"report.json     Machine-readable report, schema leaktrace/v1 (sites, series,\n"
"                findings, drops).\n"
"profile.pb.gz   pprof profile of what is outstanding per stack:\n"
"                go tool pprof -http=: profile.pb.gz\n"
"stacks.folded   Collapsed stacks (kind;outermost;...;innermost value) for\n"
"                flamegraph.pl or speedscope.\n"
"goroutines.txt  Every goroutine read from the target's memory at the end,\n"
"                grouped like Go's debug=2 dump: count, status, wait reason,\n"
"                minutes parked, park stack, creator and creation stack.\n"
"host.txt        Host and kernel facts, leaktrace version and options, how\n"
"                the target ended (exit status, OOM kill), memory limit.\n"
"snapshots/      /proc/PID (status, smaps_rollup, limits, maps, cgroup) and\n"
"                the cgroup's memory files (current/max/stat/events with\n"
"                oom_kill), at start/ and end/; MISSING.txt: what could not\n"
"                be read.\n";

static void write_index(struct capture *c, struct lt_target *tg)
{
	FILE *f = cap_open(c, "README.txt");
	char ts[64];

	if (!f)
		return;
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S UTC", gmtime(&c->wall_start));
	fprintf(f, "leaktrace capture of pid %d (%s), %s, %.0f s\n",
		tg->target.pid, tg->target.comm, ts, tg->now_s);
	fprintf(f, "Command: %s\n\n", c->cmdline ? c->cmdline : "?");
	fprintf(f, "Open report.html first (any browser, offline). To share the\n"
		   "capture, send the .tar.gz next to this directory.\n\n");
	fputs(index_text, f);
	fprintf(f, "\nFiles in this bundle:\n");
	for (size_t i = 0; i < c->nfiles; i++)
		fprintf(f, "  %s\n", c->files[i]);
	cap_close(f);
}

/* How the target ended, for host.txt and the page. */
static json_object *end_json(struct capture *c, struct lt_target *tg)
{
	json_object *o = json_object_new_object();
	const struct target *t = &tg->target;
	char how[128] = "still running at the end of the capture";
	int64_t limit = snap_memory_limit(c);

	if (t->exited && t->spawned && WIFEXITED(t->exit_status))
		snprintf(how, sizeof(how), "exited with status %d",
			 WEXITSTATUS(t->exit_status));
	else if (t->exited && t->spawned && WIFSIGNALED(t->exit_status))
		snprintf(how, sizeof(how), "killed by signal %d (%s)",
			 WTERMSIG(t->exit_status), strsignal(WTERMSIG(t->exit_status)));
	else if (t->exited)
		snprintf(how, sizeof(how),
			 "exited during the capture (status unknown: not our child)");
	json_object_object_add(o, "exited", json_object_new_boolean(t->exited));
	json_object_object_add(o, "at_s", json_object_new_double(round(tg->now_s * 10) / 10));
	json_object_object_add(o, "memory_limit_bytes",
			       limit >= 0 ? json_object_new_int64(limit) : NULL);
	json_object_object_add(o, "how", json_object_new_string(how));
	if (t->exited && t->spawned && WIFEXITED(t->exit_status))
		json_object_object_add(o, "exit_code",
				       json_object_new_int(WEXITSTATUS(t->exit_status)));
	if (t->exited && t->spawned && WIFSIGNALED(t->exit_status))
		json_object_object_add(o, "signal",
				       json_object_new_int(WTERMSIG(t->exit_status)));
	if (c->oom_start >= 0 && c->oom_end >= 0) {
		json_object_object_add(o, "cgroup_oom_kills",
				       json_object_new_int64(c->oom_end - c->oom_start));
		json_object_object_add(o, "oom_killed", json_object_new_boolean(
			t->exited && c->oom_end > c->oom_start &&
			(!t->spawned || (WIFSIGNALED(t->exit_status) &&
					 WTERMSIG(t->exit_status) == SIGKILL))));
	} else {
		json_object_object_add(o, "cgroup_oom_kills", NULL);
		json_object_object_add(o, "oom_killed", NULL);
	}
	json_object_object_add(o, "cgroup_v2", c->cg2[0] ? json_object_new_string(c->cg2) : NULL);
	json_object_object_add(o, "cgroup_v1_memory",
			       c->cg1mem[0] ? json_object_new_string(c->cg1mem) : NULL);
	return o;
}

static json_object *timeline_json(struct capture *c)
{
	json_object *o = json_object_new_object(), *kinds = json_object_new_object();
	json_object *t = json_object_new_array(), *rss = json_object_new_array();
	json_object *anon = json_object_new_array(), *thr = json_object_new_array();

	for (size_t i = 0; i < c->n; i++) {
		json_object_array_add(t, json_object_new_double(round(c->pts[i].t * 100) / 100));
		json_object_array_add(rss, c->pts[i].rss >= 0 ?
				      json_object_new_int64(c->pts[i].rss) : NULL);
		json_object_array_add(anon, c->pts[i].rss_anon >= 0 ?
				      json_object_new_int64(c->pts[i].rss_anon) : NULL);
		json_object_array_add(thr, c->pts[i].threads >= 0 ?
				      json_object_new_int64(c->pts[i].threads) : NULL);
	}
	for (int k = 0; k < SITE_KIND_MAX; k++) {
		json_object *a = json_object_new_array();
		bool any = false;

		for (size_t i = 0; i < c->n; i++) {
			any |= c->pts[i].kind[k] >= 0;
			json_object_array_add(a, c->pts[i].kind[k] >= 0 ?
					      json_object_new_int64(c->pts[i].kind[k]) : NULL);
		}
		if (!any) {
			json_object_put(a);
			continue;
		}
		json_object_object_add(kinds, site_kind_name(k), a);
	}
	json_object_object_add(o, "t", t);
	json_object_object_add(o, "rss_bytes", rss);
	json_object_object_add(o, "rss_anon_bytes", anon);
	json_object_object_add(o, "threads", thr);
	json_object_object_add(o, "kinds", kinds);
	return o;
}

int capture_write(struct lt_ctx *ctx, struct lt_target *tg)
{
	struct capture *c = ctx->capture;
	char path[PATH_MAX * 2], tgz[PATH_MAX + 16];
	json_object *report, *meta;
	char *folded;
	int err = 0;

	if (c->progress_shown) {
		fputc('\n', stderr);
		c->progress_shown = false;
	}
	/* The goroutine dump first: it is read from memory now, and the
	 * report's counts are the last sample's, taken a moment ago. Written
	 * after the four formats it came seconds later on a busy host, and a
	 * leak growing meanwhile made the two disagree. */
	if (gdump_write(c, ctx, tg, "goroutines.txt"))
		lt_info("capture: no goroutine dump at the end\n");
	if (!c->started)	/* the target died before the first sample */
		snap_cgroups(c, tg->target.pid);
	snap_take(c, tg->target.pid, "end");
	c->oom_end = snap_oom_kills(c);
	err |= write_format(c, ctx, tg, FMT_TEXT, "report.txt");
	err |= write_format(c, ctx, tg, FMT_JSON, "report.json");
	err |= write_format(c, ctx, tg, FMT_PPROF, "profile.pb.gz");
	err |= write_format(c, ctx, tg, FMT_FOLDED, "stacks.folded");
	meta = json_object_new_object();
	json_object_object_add(meta, "end", end_json(c, tg));
	json_object_object_add(meta, "timeline", timeline_json(c));
	json_object_object_add(meta, "command", json_object_new_string(c->cmdline ? c->cmdline : ""));
	snap_host(c, ctx, tg, json_object_object_get(meta, "end"));

	snprintf(path, sizeof(path), "%s/report.json", c->tmp);
	report = json_object_from_file(path);
	snprintf(path, sizeof(path), "%s/stacks.folded", c->tmp);
	folded = slurp(path);
	if (!report || html_write(c, tg, report, meta, folded ? folded : "", "report.html")) {
		lt_err("capture: writing report.html failed\n");
		err = 1;
	}
	json_object_put(report);
	json_object_put(meta);
	free(folded);
	write_index(c, tg);
	if (rename(c->tmp, c->dir)) {
		lt_err("capture: cannot rename %s to %s: %s\n", c->tmp, c->dir,
		       strerror(errno));
		return 1;
	}
	snprintf(tgz, sizeof(tgz), "%s.tar.gz", c->dir);
	if (cap_tarball(c, c->dir, tgz)) {
		lt_err("capture: cannot write %s: %s\n", tgz, strerror(errno));
		err = 1;
	}
	fprintf(stderr, "capture: %s/ (open report.html first)\n"
			"capture: send %s\n", c->dir, tgz);
	return err ? 1 : 0;
}

void capture_free(struct lt_ctx *ctx)
{
	struct capture *c = ctx->capture;

	if (!c)
		return;
	if (c->progress_shown)
		fputc('\n', stderr);
	rmdir(c->tmp);	/* setup failed before anything was written */
	for (size_t i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	free(c->pts);
	free(c->cmdline);
	json_object_put(c->gdump);
	free(c);
	ctx->capture = NULL;
}
