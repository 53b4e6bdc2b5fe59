// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* leaktrace: what keeps growing inside a live process, and from where. */
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
#include "export/export.h"
#include "report/compare.h"
#include "cli.h"
#include "ctx.h"
#include <linux/types.h>
#include "leaktrace.h"
#include "util/log.h"
#include "trace/go.h"
#include "trace/goheap.h"
#include "trace/malloc.h"
#include "trace/mem.h"
#include "report/output.h"
#include "report/report.h"
#include "sym/symbolize.h"
#include "trace/task.h"

/* Ring buffer drain period. */
#define DRAIN_MS 50
#define DRAIN_BUDGET_S 0.2	/* longest drain per tick */

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	exiting = sig;
}

/* SIGINT (Ctrl-C), SIGTERM (kill, systemd, a container stopping) and
 * SIGHUP (a dropped ssh session) all end the trace with a report; a
 * second one during the drain kills (SA_RESETHAND). */
static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESETHAND };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Once the report is complete a late signal changes nothing: no exit 130
 * for a second Ctrl-C while we detach. */
static void ignore_signals(void)
{
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
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
	else if (type == LT_EV_MALLOC || type == LT_EV_FREE)
		malloc_handle(ctx, data, size);
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
	if (!procstat_sample(ctx->target.proc_pid, &t) && t.rss > 0 &&
	    !procstat_is_zombie_or_gone(ctx->target.proc_pid)) {
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
	malloc_drops(ctx, ctx->drops);
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
	ctx->sym = symbolizer_new(ctx->target.proc_pid);
	if (!ctx->sym) {
		err = errno;
		if (err == ENOMEM) {
			lt_err("out of memory\n");
			return 1;
		}
		if (err == ESRCH || err == ENOENT)
			lt_err("process %d vanished while leaktrace was setting up\n",
			       ctx->target.pid);
		else
			lt_err("cannot read the memory map of process %d: %s%s\n",
			       ctx->target.pid, strerror(err), err == EACCES || err == EPERM ?
			       " (leaktrace needs ptrace rights over it: CAP_SYS_PTRACE in its "
			       "user namespace, same Yama scope)" : "");
		return 2;
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
	/* The allocator probes come on at the run's first tick (malloc_tick):
	 * finding the allocator and measuring a hit take ~0.8 s (seconds on a
	 * loaded host) that must not delay the other probes; a command's
	 * allocator is known once it has exec'd. */
	ctx->malloc_open_s = ctx->target.spawned ? 0.1 : 0.01;
	ctx->rb = ring_buffer__new(ctx->maps.events_fd, handle_event, ctx, NULL);
	if (!ctx->rb) {
		lt_err("cannot open the ring buffer: %s\n", strerror(errno));
		return 1;
	}
	if (malloc_ring(ctx, ctx->rb, handle_event))
		return 1;
	/* Execs are followed from here on (-- CMD's own exec included). */
	if (procid_watch_exec(&ctx->target.id))
		lt_warn("cannot watch the target's execs (sched_process_exec): an exec "
			"would go unnoticed\n");
	ctx->spawn_exec_pending = ctx->target.spawned;
	err = target_release(&ctx->target);
	if (err) {
		lt_err("cannot run %s: %s\n", o->cmd[0], strerror(-err));
		return 1;
	}
	return 0;
}

/* Goroutines of the old image are gone with it. */
static void forget_goroutines(struct lt_ctx *ctx)
{
	for (size_t i = 0; i < ctx->model.n; i++) {
		struct site *site = ctx->model.sites[i];

		if (site && site->kind == SITE_GOROUTINE && site->live > 0)
			site->live = 0;
	}
}

/* The target exec'd: say so, symbolize the new image, re-plan the Go
 * probes (dropped unless the new image is Go). */
static void follow_exec(struct lt_ctx *ctx)
{
	uint64_t ts = 0, n = procid_new_execs(&ctx->target.id, &ts);
	struct timespec now;
	char exe[PATH_MAX];
	double at;

	if (n && ctx->spawn_exec_pending) {
		n--;	/* -- CMD's own exec, at release */
		ctx->spawn_exec_pending = false;
	}
	if (!n)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	at = lt_elapsed(ctx) - ((now.tv_sec * 1000000000ULL + now.tv_nsec) - ts) / 1e9;
	if (at < 0)
		at = 0;
	/* The old image's records first, symbolized while it is known. */
	ctx->drain_until = 0;
	ring_buffer__consume(ctx->rb);
	target_refresh_names(&ctx->target);
	symbolizer_refresh(ctx->sym);
	if (ctx->nexecs < LT_MAX_EXECS) {
		struct lt_exec *x = &ctx->execs[ctx->nexecs];

		x->at_s = at;
		snprintf(x->exe, sizeof(x->exe), "%.255s", ctx->target.exe);
	}
	ctx->nexecs += n;
	lt_warn("process %d exec'd %s at %.1f s%s: following the new image\n",
		ctx->target.pid, ctx->target.exe[0] ? ctx->target.exe : ctx->target.comm,
		at, n > 1 ? " (more than once)" : "");
	forget_goroutines(ctx);
	malloc_close(ctx);	/* the new image's allocator, shortly */
	ctx->malloc_open_s = lt_elapsed(ctx) + 0.1;
	if (ctx->opts.no_go)
		return;
	goheap_close(ctx);
	go_close(ctx);
	if (target_exe_path(&ctx->target, NULL, exe, sizeof(exe)))
		return;
	ctx->target.is_go = target_exe_is_go(exe);
	if (go_open(ctx, exe, ctx->maps.stacks_fd, ctx->maps.events_fd))
		lt_warn("goroutine tracing is off after the exec\n");
	else
		go_scan_existing(ctx);
	if (goheap_open(ctx, exe))
		lt_warn("the Go heap profile is not read after the exec\n");
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
		err = ring_buffer__poll(ctx->rb,
					malloc_poll_ms(ctx, go_poll_ms(ctx, DRAIN_MS)));
		if (err >= 0)
			err = ring_buffer__consume(ctx->rb);
		if (err < 0 && err != -EINTR && err != -EAGAIN) {
			lt_err("ring buffer: %s\n", strerror(-err));
			break;
		}
		go_tick(ctx);
		malloc_tick(ctx);
		malloc_ring(ctx, ctx->rb, handle_event);	/* opened late */
		follow_exec(ctx);
		if (lt_elapsed(ctx) >= next) {
			collect(ctx, false);
			export_publish(ctx);
			next += ctx->opts.interval_s;
			if (ctx->opts.interval_set) {
				model_rank(&ctx->model, rss_rise(ctx));
				goheap_explain(&ctx->model);
				malloc_explain(ctx);
				report_live(ctx, tty ? stdout : stderr, tty);
			}
		}
		if (ctx->opts.duration_s && lt_elapsed(ctx) >= ctx->opts.duration_s)
			break;
		if (!target_alive(&ctx->target)) {
			lt_info("target %d exited\n", ctx->target.pid);
			ctx->ended_by = "target exited";
			break;
		}
	}
	if (exiting) {
		ctx->ended_by = exiting == SIGINT ? "SIGINT" :
				exiting == SIGTERM ? "SIGTERM" : "SIGHUP";
		if (exiting == SIGINT)
			lt_info("SIGINT: trace ended after %.1f s\n", lt_elapsed(ctx));
		else
			lt_warn("%s: trace ended after %.1f s, writing the report\n",
				ctx->ended_by, lt_elapsed(ctx));
	} else if (!ctx->ended_by) {
		ctx->ended_by = "duration";
	}
	/* No new records, then read all that are left: the drain ends. */
	mem_stop(ctx);
	task_stop(ctx);
	go_stop(ctx);
	malloc_stop(ctx);
	ctx->drain_until = 0;
	ring_buffer__consume(ctx->rb);
	collect(ctx, true);
}

static int finish(struct lt_ctx *ctx, struct report_out *out)
{
	int err;

	sum_drops(ctx);
	model_rank(&ctx->model, rss_rise(ctx));
	goheap_explain(&ctx->model);
	malloc_explain(ctx);
	if (ctx->capture)
		return capture_write(ctx);
	err = report_write(ctx, out->f);
	if (err) {
		report_out_fail(out, err);
		return 1;
	}
	return report_out_commit(out) ? 1 : 0;
}

static void teardown(struct lt_ctx *ctx)
{
	export_close(ctx);
	ring_buffer__free(ctx->rb);
	goheap_close(ctx);
	go_close(ctx);
	malloc_close(ctx);
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
			.malloc_budget_pct = 1.0,
		},
	};
	struct report_out out = { 0 };
	struct timespec start;
	bool capture = argc > 1 && !strcmp(argv[1], "capture");
	int err;

	if (capture) {	/* leaktrace capture [OPTIONS]: -o names a directory */
		ctx.opts.duration_s = CAPTURE_DEFAULT_S;
		argv[1] = argv[0];	/* argp names the program after it */
	}
	if (cli_parse(argc - capture, argv + capture, &ctx.opts))
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
	/* A report that cannot be written is known before the trace (a
	 * capture writes its own bundle). */
	if (!ctx.capture && report_out_open(&out, ctx.opts.output)) {
		compare_free(ctx.base);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	libbpf_set_print(libbpf_print);
	catch_signals();

	err = setup(&ctx);
	if (err) {
		if (!ctx.capture)
			report_out_abort(&out);
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
	err = finish(&ctx, &out);
	ignore_signals();
	teardown(&ctx);
	return err;
}
