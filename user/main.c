// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* leaktrace: what keeps growing inside a live process, and from where. */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "capture/capture.h"
#include "report/compare.h"
#include "ctx.h"
#include <linux/types.h>
#include "leaktrace.h"
#include "util/log.h"
#include "trace/go.h"
#include "trace/goheap.h"
#include "trace/mem.h"
#include "report/report.h"
#include "sym/symbolize.h"
#include "trace/task.h"

const char *argp_program_version = LT_VERSION;
const char *argp_program_bug_address = "the leaktrace issue tracker";
static const char doc[] =
"leaktrace: find what keeps growing inside a live process (mapped and\n"
"resident memory, OS threads, goroutines) and the call stacks responsible,\n"
"without stopping or modifying it.\n"
"\n"
"USAGE: leaktrace -p PID [-d SECONDS] [-i SECONDS] [-o FILE] [--base FILE]\n"
"                 [--format text|json|folded|pprof]\n"
"       leaktrace [OPTIONS] -- CMD [ARGS...]\n"
"       leaktrace capture -p PID [-d 60] [-o DIR]   # incident bundle: DIR/ + DIR.tar.gz\n"
"\n"
"EXAMPLES:\n"
"    leaktrace -p 1234                  # trace until Ctrl-C, then report\n"
"    leaktrace -p 1234 -d 30 -i 1       # 30 s, live view every second\n"
"    leaktrace -p 1234 -d 60 --format json -o report.json\n"
"    leaktrace -p 1234 -d 60 --base report.json   # what changed since\n"
"    leaktrace -p 1234 -d 30 --format pprof -o leak.pb.gz   # go tool pprof\n"
"    leaktrace -p 1234 -d 30 --format folded | flamegraph.pl > leak.svg\n"
"    leaktrace -d 20 -- ./server --port 8080   # start it traced";

enum {
	OPT_FORMAT = 1000,
	OPT_MAX_STACKS,
	OPT_MAX_PAGES,
	OPT_MAX_FAULT_STACKS,
	OPT_RINGBUF_MB,
	OPT_NO_THREADS,
	OPT_NO_GO,
	OPT_GO_PARKS,
	OPT_GO_BUDGET,
	OPT_MAX_GOROUTINES,
	OPT_BASE,
	OPT_STACK_COPY_KB,
	OPT_FAULT_SAMPLE,
};

/* Ring buffer drain period. */
#define DRAIN_MS 50
#define DRAIN_BUDGET_S 0.2	/* longest drain per tick */

static const struct argp_option options[] = {
	{ NULL, 0, NULL, 0, "Target and duration:", 1 },
	{ "pid", 'p', "PID", 0, "Trace this process (all its threads)", 1 },
	{ "duration", 'd', "SECONDS", 0, "Stop after SECONDS (default: Ctrl-C or target exit)", 1 },
	{ "interval", 'i', "SECONDS", 0, "Sampling interval; with it, a live view (default 1)", 1 },
	{ NULL, 0, NULL, 0, "Output:", 2 },
	{ "format", OPT_FORMAT, "FMT", 0, "Report format: text (default), json, folded "
	  "(collapsed stacks for flame graphs) or pprof (gzipped profile.proto for go tool pprof; "
	  "needs -o on a terminal)", 2 },
	{ "output", 'o', "FILE", 0, "Write the report to FILE (default stdout); capture: the bundle's directory", 2 },
	{ "base", OPT_BASE, "FILE", 0, "Compare with an earlier report (--format json) and "
	  "list new, grown, shrunk and gone sites (text and json)", 2 },
	{ "verbose", 'v', NULL, 0, "More diagnostics on stderr (-vv: debug and libbpf)", 2 },
	{ NULL, 0, NULL, 0, "Limits (raise them when the report shows drops):", 3 },
	{ "max-stacks", OPT_MAX_STACKS, "N", 0, "Distinct stacks held in the kernel (16384)", 3 },
	{ "max-pages", OPT_MAX_PAGES, "N", 0, "Resident pages tracked (2097152 = 8 GiB)", 3 },
	{ "max-fault-stacks", OPT_MAX_FAULT_STACKS, "N", 0, "Faulting stacks counted (16384)", 3 },
	{ "ringbuf-mb", OPT_RINGBUF_MB, "MB", 0, "Ring buffer size in MiB (4)", 3 },
	{ "max-goroutines", OPT_MAX_GOROUTINES, "N", 0, "Parked goroutines tracked (1048576)", 3 },
	{ "stack-copy-kb", OPT_STACK_COPY_KB, "N", 0, "User stack copied with each mmap/brk/thread creation whose frame-pointer stack stops early, unwound with CFI (16, at most 28; 0 = off)", 3 },
	{ "fault-sample", OPT_FAULT_SAMPLE, "N", 0, "Also unwind one first page touch in N (if its frame-pointer stack stops early) and split that stack's pages between the callers found (64; 0 = off)", 3 },
	{ "no-threads", OPT_NO_THREADS, NULL, 0, "Do not trace thread creation", 3 },
	{ "no-go", OPT_NO_GO, NULL, 0, "Do not probe the Go runtime (goroutines)", 3 },
	{ "go-budget", OPT_GO_BUDGET, "PCT", 0, "CPU the Go creation probe may cost the target, in percent of one core (1; 0 = never probe: goroutines from reads only). Past it the probe is attached in duty cycles", 3 },
	{ "go-parks", OPT_GO_PARKS, NULL, 0, "Also probe every gopark and wake-up: exact park times, but each channel block costs two uprobe hits (see README)", 3 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show this help", 4 },
	{},
};

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 1e7)
		return -EINVAL;
	*out = v;
	return 0;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	struct lt_opts *o = state->input;
	long v;

	switch (key) {
	case 'p':
		if (parse_long(arg, 1, INT_MAX, &v))
			argp_error(state, "invalid PID: %s", arg);
		o->pid = v;
		break;
	case 'd':
		if (parse_seconds(arg, &o->duration_s))
			argp_error(state, "invalid duration: %s", arg);
		break;
	case 'i':
		if (parse_seconds(arg, &o->interval_s))
			argp_error(state, "invalid interval: %s", arg);
		o->interval_set = true;
		break;
	case OPT_FORMAT:
		if (!strcmp(arg, "text"))
			o->format = FMT_TEXT;
		else if (!strcmp(arg, "json"))
			o->format = FMT_JSON;
		else if (!strcmp(arg, "folded"))
			o->format = FMT_FOLDED;
		else if (!strcmp(arg, "pprof"))
			o->format = FMT_PPROF;
		else
			argp_error(state, "unknown format: %s (text, json, folded or pprof)", arg);
		break;
	case 'o':
		o->output = arg;
		break;
	case OPT_BASE:
		o->base = arg;
		break;
	case 'v':
		lt_verbosity++;
		break;
	case OPT_MAX_STACKS:
	case OPT_MAX_PAGES:
	case OPT_MAX_FAULT_STACKS:
	case OPT_RINGBUF_MB:
	case OPT_MAX_GOROUTINES:
		if (parse_long(arg, 1, 1L << 28, &v))
			argp_error(state, "invalid number: %s", arg);
		if (key == OPT_MAX_STACKS)
			o->max_stacks = v;
		else if (key == OPT_MAX_PAGES)
			o->max_pages = v;
		else if (key == OPT_MAX_FAULT_STACKS)
			o->max_fault_stacks = v;
		else if (key == OPT_MAX_GOROUTINES)
			o->max_goroutines = v;
		else
			o->ringbuf_mb = v;
		break;
	case OPT_STACK_COPY_KB:
		if (parse_long(arg, 0, LT_UCOPY_MAX_KB, &v))
			argp_error(state, "invalid stack copy size: %s (0 to %d KiB)",
				   arg, LT_UCOPY_MAX_KB);
		o->stack_copy_kb = v;
		break;
	case OPT_FAULT_SAMPLE:
		if (parse_long(arg, 0, 1L << 20, &v))
			argp_error(state, "invalid fault sample rate: %s (0 to %ld)",
				   arg, 1L << 20);
		o->fault_sample = v;
		break;
	case OPT_NO_THREADS:
		o->no_threads = true;
		break;
	case OPT_NO_GO:
		o->no_go = true;
		break;
	case OPT_GO_PARKS:
		o->go_parks = true;
		break;
	case OPT_GO_BUDGET: {
		char *end;

		errno = 0;
		o->go_budget_pct = strtod(arg, &end);
		if (errno || end == arg || *end || !(o->go_budget_pct >= 0) ||
		    o->go_budget_pct > 100)
			argp_error(state, "invalid Go probe budget: %s (0 to 100 percent of a core)", arg);
		break;
	}
	case ARGP_KEY_INIT:	/* export/options.c parses --metrics-* */
		state->child_inputs[0] = &o->metrics;
		break;
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		break;
	case ARGP_KEY_ARG:
		/* Everything from the first non-option on is the command. */
		o->cmd = &state->argv[state->next - 1];
		state->next = state->argc;
		break;
	case ARGP_KEY_END:
		if (!o->pid && !o->cmd)
			argp_error(state, "no target: give -p PID or -- CMD");
		if (o->pid && o->cmd)
			argp_error(state, "give -p PID or -- CMD, not both");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	exiting = 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list args)
{
	if (lt_verbosity < 2 && level != LIBBPF_WARN)
		return 0;
	if (lt_verbosity < 1)
		return 0;
	return vfprintf(stderr, fmt, args);
}

double lt_elapsed(const struct lt_ctx *ctx)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - ctx->t0.tv_sec) + (now.tv_nsec - ctx->t0.tv_nsec) / 1e9;
}

static int handle_event(void *c, void *data, size_t size)
{
	struct lt_ctx *ctx = c;
	__u32 type;
	int ret = 0;

	if (size < sizeof(type))
		return 0;
	type = *(__u32 *)data;
	/* A target that writes faster than we read must not keep us here
	 * past the tick: stop (this record is consumed) at the deadline. */
	if (ctx->drain_until && !(++ctx->drained & 255) &&
	    lt_elapsed(ctx) > ctx->drain_until)
		ret = -EAGAIN;
	if (type >= LT_EV_MMAP && type <= LT_EV_MADVISE &&
	    size >= sizeof(struct lt_mem_event))
		mem_handle(ctx, data);
	else if ((type == LT_EV_THREAD_NEW || type == LT_EV_THREAD_EXIT) &&
		 size >= sizeof(struct lt_task_event) && ctx->threads)
		task_handle(ctx, data);
	else if (((type >= LT_EV_GO_NEW && type <= LT_EV_GO_EXIT) ||
		  type == LT_EV_GO_STMT) && size >= sizeof(struct lt_go_event))
		go_handle(ctx, data);
	else if (type == LT_EV_FAULT_SAMPLE &&
		 size >= sizeof(struct lt_fault_sample))
		mem_fault_sample(ctx, data);
	return ret;
}

/* One sample of everything: kernel counters, /proc totals, series. full:
 * read every goroutine now (else reads come when their pacing allows). */
static void collect(struct lt_ctx *ctx, bool full)
{
	struct proc_totals t;

	symbolizer_refresh(ctx->sym);
	ctx->now_s = lt_elapsed(ctx);
	mem_collect(ctx);
	task_collect(ctx);
	go_collect(ctx, full);
	goheap_collect(ctx);
	/* A zombie's status has no VmRSS, nor has that of a process whose
	 * exit is releasing its memory: keep the last real sample. */
	if (!procstat_sample(ctx->target.pid, &t) && t.rss > 0 &&
	    !procstat_is_zombie_or_gone(ctx->target.pid)) {
		if (!ctx->have_totals) {
			ctx->first = t;
			ctx->threads_start = t.threads;
		}
		ctx->last = t;
		ctx->threads_end = t.threads;
		ctx->have_totals = true;
		model_totals(&ctx->model, ctx->now_s, (double)t.rss, t.threads);
	}
	model_sample(&ctx->model, ctx->now_s);
	capture_sample(ctx);
}

/* RSS rise over the window, NAN before two samples. */
static double rss_rise(const struct lt_ctx *ctx)
{
	if (!ctx->have_totals)
		return NAN;
	return (double)ctx->last.rss - (double)ctx->first.rss;
}

static void sum_drops(struct lt_ctx *ctx)
{
	memset(ctx->drops, 0, sizeof(ctx->drops));
	mem_drops(ctx, ctx->drops);
	task_drops(ctx, ctx->drops);
	go_drops(ctx, ctx->drops);
}

static int setup(struct lt_ctx *ctx)
{
	struct lt_opts *o = &ctx->opts;
	char exe[PATH_MAX];
	int err;

	err = export_open(ctx);	/* a bad --metrics-addr fails first */
	if (err)
		return err;
	if (o->cmd) {
		/* A command that cannot run is a bad target: say so first. */
		ctx->target.spawned = true;
		if (target_exe_path(&ctx->target, o->cmd, exe, sizeof(exe)))
			return 2;
		if (target_spawn(&ctx->target, o->cmd)) {
			lt_err("cannot start %s: %s\n", o->cmd[0], strerror(errno));
			return 1;
		}
	} else if (target_open_pid(&ctx->target, o->pid)) {
		return 2;
	}
	ctx->sym = symbolizer_new(ctx->target.pid);
	if (!ctx->sym) {
		lt_err("out of memory\n");
		return 1;
	}
	model_init(&ctx->model);
	/* Frame-pointer walks in BPF follow Go's stack switches only in Go
	 * programs (elsewhere a jump is a garbage frame pointer). */
	if (!target_exe_path(&ctx->target, o->cmd, exe, sizeof(exe)))
		ctx->target.is_go = target_exe_is_go(exe);
	if (lt_maps_open(&ctx->maps, o->max_stacks, o->ringbuf_mb))
		return 1;
	ctx->wakeup_bytes = ctx->maps.wakeup_bytes;
	if (mem_open(ctx, &ctx->maps))
		return 1;
	stacks_init(&ctx->stacks, ctx->maps.stacks_fd, ctx->sym);
	ctx->stacks.copy_max = o->stack_copy_kb << 10;
	if (!o->no_threads && task_open(ctx, &ctx->maps))
		return 1;
	if (!o->no_go) {
		if (target_exe_path(&ctx->target, o->cmd, exe, sizeof(exe)) ||
		    go_open(ctx, exe, ctx->maps.stacks_fd, ctx->maps.events_fd) ||
		    goheap_open(ctx, exe))
			return 1;
	}
	ctx->rb = ring_buffer__new(ctx->maps.events_fd, handle_event, ctx, NULL);
	if (!ctx->rb) {
		lt_err("cannot open the ring buffer: %s\n", strerror(errno));
		return 1;
	}
	err = target_release(&ctx->target);
	if (err) {
		lt_err("cannot run %s: %s\n", o->cmd[0], strerror(-err));
		return 1;
	}
	return 0;
}

static void run(struct lt_ctx *ctx)
{
	bool tty = isatty(STDOUT_FILENO) && !ctx->opts.output &&
		   ctx->opts.format == FMT_TEXT;
	double next = ctx->opts.interval_s;

	go_scan_existing(ctx);
	collect(ctx, false);
	export_publish(ctx);
	while (!exiting) {
		/* Records arrive without wakeups (lt_submit): drain on a tick,
		 * for at most DRAIN_BUDGET_S. */
		int err;

		ctx->drain_until = lt_elapsed(ctx) + DRAIN_BUDGET_S;
		err = ring_buffer__poll(ctx->rb, go_poll_ms(ctx, DRAIN_MS));
		if (err >= 0)
			err = ring_buffer__consume(ctx->rb);
		if (err < 0 && err != -EINTR && err != -EAGAIN) {
			lt_err("ring buffer: %s\n", strerror(-err));
			break;
		}
		go_tick(ctx);
		if (lt_elapsed(ctx) >= next) {
			collect(ctx, false);
			export_publish(ctx);
			next += ctx->opts.interval_s;
			if (ctx->opts.interval_set) {
				model_rank(&ctx->model, rss_rise(ctx));
				goheap_explain(&ctx->model);
				report_live(ctx, tty ? stdout : stderr, tty);
			}
		}
		if (ctx->opts.duration_s && lt_elapsed(ctx) >= ctx->opts.duration_s)
			break;
		if (!target_alive(&ctx->target)) {
			lt_info("target %d exited\n", ctx->target.pid);
			break;
		}
	}
	/* No new records, then read all that are left: the drain ends. */
	mem_stop(ctx);
	task_stop(ctx);
	go_stop(ctx);
	ctx->drain_until = 0;
	ring_buffer__consume(ctx->rb);
	collect(ctx, true);
}

static int finish(struct lt_ctx *ctx)
{
	FILE *out = stdout;
	int err;

	sum_drops(ctx);
	model_rank(&ctx->model, rss_rise(ctx));
	goheap_explain(&ctx->model);
	if (ctx->capture)
		return capture_write(ctx);
	if (ctx->opts.output) {
		out = fopen(ctx->opts.output, "w");
		if (!out) {
			lt_err("cannot write %s: %s\n", ctx->opts.output, strerror(errno));
			return 1;
		}
	}
	err = report_write(ctx, out);
	if (out != stdout && fclose(out))
		err = -errno;
	if (err) {
		lt_err("writing the report failed: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}

static void teardown(struct lt_ctx *ctx)
{
	export_close(ctx);
	ring_buffer__free(ctx->rb);
	goheap_close(ctx);
	go_close(ctx);
	task_close(ctx);
	mem_close(ctx);
	lt_maps_close(&ctx->maps);
	stacks_free(&ctx->stacks);
	model_free(&ctx->model);
	symbolizer_free(ctx->sym);
	target_abort(&ctx->target);
	compare_free(ctx->base);
	capture_free(ctx);
}

int main(int argc, char **argv)
{
	static const struct argp_child children[] = { { &export_argp }, {} };
	static const struct argp argp = { options, parse_arg, "[-- CMD ARGS...]", doc,
					  children };
	struct lt_ctx ctx = {
		.opts = {
			.interval_s = 1.0,
			.max_stacks = 16384,
			.max_pages = 1U << 21,
			.max_fault_stacks = 16384,
			.ringbuf_mb = 4,
			.stack_copy_kb = LT_UCOPY_DEF_KB,
			.fault_sample = LT_FAULT_SAMPLE_DEF,
			.max_goroutines = 1U << 20,
			.go_budget_pct = 1.0,
		},
	};
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESETHAND };
	struct timespec start;
	bool capture = argc > 1 && !strcmp(argv[1], "capture");
	int err;

	argp_err_exit_status = 2;
	if (capture) {	/* leaktrace capture [OPTIONS]: -o names a directory */
		ctx.opts.duration_s = CAPTURE_DEFAULT_S;
		argv[1] = argv[0];	/* argp names the program after it */
	}
	if (argp_parse(&argp, argc - capture, argv + capture, ARGP_IN_ORDER, NULL, &ctx.opts))
		return 2;
	if (capture && capture_new(&ctx, argc - 2, argv + 2))
		return 2;
	if (ctx.opts.format == FMT_PPROF && !ctx.opts.output && isatty(STDOUT_FILENO)) {
		lt_err("--format pprof is binary: write it to a file with -o FILE\n");
		return 2;
	}
	if (ctx.opts.base) {
		ctx.base = compare_load(ctx.opts.base);
		if (!ctx.base)
			return 2;
		if (ctx.opts.format == FMT_FOLDED || ctx.opts.format == FMT_PPROF)
			lt_warn("--base is shown in text and json reports only\n");
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	libbpf_set_print(libbpf_print);
	/* Second Ctrl-C kills (SA_RESETHAND); the first ends the trace. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	err = setup(&ctx);
	if (err) {
		teardown(&ctx);
		return err;
	}
	clock_gettime(CLOCK_MONOTONIC, &ctx.t0);
	ctx.started_at = time(NULL);
	ctx.attach_ms = (ctx.t0.tv_sec - start.tv_sec) * 1e3 +
			(ctx.t0.tv_nsec - start.tv_nsec) / 1e6;
	lt_info("tracing pid %d (%s), probes live after %.0f ms\n",
		ctx.target.pid, ctx.target.comm, ctx.attach_ms);
	run(&ctx);
	err = finish(&ctx);
	teardown(&ctx);
	return err;
}
