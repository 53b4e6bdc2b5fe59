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
#include <sys/epoll.h>
#include <bpf/libbpf.h>
#include "capture/capture.h"
#include "export/export.h"
#include "report/compare.h"
#include "cli.h"
#include "trace/world.h"
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
#include "trace/node.h"
#include "trace/task.h"

/* Ring buffer drain period. */
#define DRAIN_MS 50
#define DRAIN_BUDGET_S 0.2	/* longest drain per tick */
#define NODE_INTERVAL_S 10.0	/* --all, --cgroup: default -i */
#define RINGBUF_DEF_MB 4
#define NODE_RINGBUF_MB 8	/* --all, --cgroup: default --ringbuf-mb (its pages count twice in RSS) */
#define MAX_STACKS_DEF 16384
#define NODE_MAX_STACKS 131072	/* --all, --cgroup: default --max-stacks */

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

/* One sample of everything of one target: kernel counters, /proc totals,
 * series. full: read every goroutine now (else reads come when their
 * pacing allows). */
static void collect(struct lt_ctx *ctx, struct lt_target *tg, bool full)
{
	struct proc_totals t;
	uint64_t madv_free = tg->mem ? mem_stats(tg)->madvise_calls[LT_MADV_FREE] : 0;
	/* LazyFree only grows by MADV_FREE, which BPF sees: read it (a walk of
	 * every page table) at the first sample, while it is not 0, and after
	 * MADV_FREE calls; else it is still 0. */
	bool lazy = !tg->have_totals || tg->last.lazyfree ||
		    madv_free != tg->madv_free_seen;
	int stat_err = procstat_sample(tg->target.proc_pid, &t, lazy);

	if (!stat_err && !lazy) {
		t.lazyfree = 0;
		t.have_lazyfree = tg->last.have_lazyfree;
	}
	tg->madv_free_seen = madv_free;

	/* Its maps are read again when its address space changed size (a
	 * library loaded or unloaded; an exec is followed on its own, and a
	 * lookup that finds no mapping reads them too): /proc/PID/maps and
	 * the symbolizer's merge take ~0.3 ms for 130 mappings, every
	 * interval for every process of a node. */
	if (stat_err || !t.vm_size || t.vm_size != tg->sym_vm_size) {
		symbolizer_refresh(tg->sym);
		tg->sym_vm_size = stat_err ? 0 : t.vm_size;
	}
	stacks_name_jit(&tg->stacks, &tg->model);
	tg->now_s = lt_target_elapsed(tg);
	mem_collect(tg);
	if (!stat_err) {
		mem_check_vm(tg, t.vm_size);
		malloc_collect(tg, t.vm_data);
	}
	task_collect(tg);
	go_collect(tg, full);
	goheap_collect(tg);
	/* A zombie's status has no VmRSS, nor has that of a process whose
	 * exit is releasing its memory: keep the last real sample. */
	if (!stat_err && t.rss > 0 &&
	    !procstat_is_zombie_or_gone(tg->target.proc_pid)) {
		if (!tg->have_totals) {
			tg->first = t;
			tg->threads_start = t.threads;
		}
		tg->last = t;
		tg->threads_end = t.threads;
		tg->have_totals = true;
		model_totals(&tg->model, tg->now_s, (double)t.rss, t.threads);
	}
	model_sample(&tg->model, tg->now_s);
	capture_sample(ctx, tg);
}

static void collect_all(struct lt_ctx *ctx, bool full)
{
	mem_obj_snapshot(ctx->mem_obj);	/* every target's fault counters */
	for (size_t i = 0; i < ctx->ntargets; i++)
		collect(ctx, ctx->targets[i], full);
}

/* RSS rise over the window, NAN before two samples. */
static double rss_rise(const struct lt_target *tg)
{
	if (!tg->have_totals)
		return NAN;
	return (double)tg->last.rss - (double)tg->first.rss;
}

static void sum_drops(struct lt_ctx *ctx)
{
	memset(ctx->drops, 0, sizeof(ctx->drops));
	for (size_t i = 0; i < ctx->ntargets; i++) {
		struct lt_target *tg = ctx->targets[i];

		go_drops(tg, ctx->drops);
		malloc_drops(tg, ctx->drops);
	}
	mem_obj_drops(ctx->mem_obj, ctx->drops);
	task_obj_drops(ctx->task_obj, ctx->drops);
}

/* Why the one traced process's memory calls cannot be probed at its own
 * syscall sites, or "" when they can (x86-64 C code, one process). */
static const char *no_sites(const struct lt_ctx *ctx)
{
	const struct lt_target *tg = ctx->ntargets == 1 ? ctx->targets[0] : NULL;

	if (ctx->opts.mem_tracepoints)
		return "--mem-probes=tracepoints";
	if (!tg || ctx->node)
		return "more than one process is traced";
#if defined(__x86_64__)
	if (tg->target.is_go)
		return "a Go program makes its own system calls";
	return "";
#else
	return "syscall sites are probed on x86-64 only";
#endif
}

/* The one C process: once its libraries are mapped (a command started
 * here: 0.2 s after its exec; else at the first tick from 0.3 s), its
 * syscall sites take over from the tracepoints, if their budget allows the
 * rate of memory calls seen until then (a process mapping tens of
 * thousands of times a second keeps the tracepoints: removing the sites'
 * breakpoints later would wait on its mmap lock). */
static void sites_later(struct lt_ctx *ctx, struct lt_target *tg)
{
	double now = lt_target_elapsed(tg), since;

	if (!tg->sites_at_s || tg->spawn_exec_pending || !tg->mem)
		return;
	if (tg->target.is_go) {		/* exec'd a Go program meanwhile */
		tg->sites_at_s = 0;
		return;
	}
	if (!tg->sites_from_s) {	/* the rate is taken from here */
		tg->sites_from_s = now;
		tg->sites_events0 = mem_stats(tg)->events;
	}
	since = now - tg->sites_from_s;
	if (now < tg->sites_at_s || since < 0.2)
		return;
	tg->sites_at_s = 0;
	mem_obj_to_sites(ctx->mem_obj, tg->target.pid, lt_elapsed(ctx),
			 (double)(mem_stats(tg)->events - tg->sites_events0) / since);
	/* A command started here has run: the mapping check from here (a
	 * process attached to was seeded at its mem_open). */
	if (tg->target.spawned)
		mem_seed_vm(tg);
}

static int setup(struct lt_ctx *ctx)
{
	struct lt_opts *o = &ctx->opts;
	struct lt_target *tg;
	int err;

	err = export_open(ctx);	/* a bad --metrics-addr fails first */
	if (err)
		return err;
	if (lt_maps_open(&ctx->maps, o->max_stacks, o->ringbuf_mb, o->max_procs))
		return 1;
	ctx->wakeup_bytes = ctx->maps.wakeup_bytes;
	if (o->all || o->cgroup) {
		err = node_open(ctx);
		if (err)
			return err;
	} else {
		for (uint32_t i = 0; i < (o->cmd ? 1 : o->npids); i++) {
			tg = lt_target_add(ctx);
			if (!tg) {
				lt_err("out of memory\n");
				return 1;
			}
			err = node_target_open(ctx, tg, o->cmd ? 0 : o->pids[i], false);
			if (err)
				return err;
		}
	}
	/* One process: its own fast path in BPF (a compare, no map). */
	if (ctx->ntargets == 1 && !ctx->node) {
		tg = ctx->targets[0];
		ctx->maps.targ_tgid = target_host_pid(&tg->target);
		ctx->maps.targ_go = tg->target.is_go;
	}
	if (mem_obj_open(&ctx->mem_obj, o, &ctx->maps, no_sites(ctx)) ||
	    (!o->no_threads && task_obj_open(&ctx->task_obj, o, &ctx->maps)))
		return 1;
	for (size_t i = 0; i < ctx->ntargets;) {
		tg = ctx->targets[i];
		err = node_target_attach(ctx, tg);
		if (err && ctx->node) {
			/* One process of many: counted, the others traced. */
			node_target_free(ctx, tg);
			continue;
		}
		if (err)
			return err;
		i++;
	}
	if (!*no_sites(ctx))
		ctx->targets[0]->sites_at_s = 0.3;	/* s since attach */
	ctx->rb = ring_buffer__new(ctx->maps.events_fd, lt_dispatch, ctx, NULL);
	if (!ctx->rb) {
		lt_err("cannot open the ring buffer: %s\n", strerror(errno));
		return 1;
	}
	if (ctx->ntargets == 1 && !ctx->node) {
		target_test_stop("ready");
		if (target_vanished(&ctx->targets[0]->target))
			return 2;
	}
	if (o->cmd) {
		tg = ctx->targets[0];
		err = target_release(&tg->target);
		if (err == -ECHILD && target_vanished(&tg->target))
			return 2;
		if (err) {
			lt_err("cannot run %s: %s\n", o->cmd[0], strerror(-err));
			return 1;
		}
	}
	return 0;
}

/* Goroutines of the old image are gone with it. */
static void forget_goroutines(struct lt_target *tg)
{
	for (size_t i = 0; i < tg->model.n; i++) {
		struct site *site = tg->model.sites[i];

		if (site && site->kind == SITE_GOROUTINE && site->live > 0)
			site->live = 0;
	}
}

/* The target exec'd: say so, symbolize the new image, re-plan the Go
 * probes (dropped unless the new image is Go). */
static void follow_exec(struct lt_ctx *ctx, struct lt_target *tg)
{
	uint64_t ts = 0, n = procid_new_execs(&tg->target.id, &ts);
	struct timespec now;
	char exe[PATH_MAX];
	double at;

	if (n && tg->spawn_exec_pending) {
		n--;	/* -- CMD's own exec, at release */
		tg->spawn_exec_pending = false;
	}
	if (!n)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	at = lt_target_elapsed(tg) -
	     ((now.tv_sec * 1000000000ULL + now.tv_nsec) - ts) / 1e9;
	if (at < 0)
		at = 0;
	/* The old image's records first, symbolized while it is known. */
	ctx->drain_until = 0;
	ring_buffer__consume(ctx->rb);
	target_refresh_names(&tg->target);
	symbolizer_refresh(tg->sym);
	if (tg->nexecs < LT_MAX_EXECS) {
		struct lt_exec *x = &tg->execs[tg->nexecs];

		x->at_s = at;
		snprintf(x->exe, sizeof(x->exe), "%.255s", tg->target.exe);
	}
	tg->nexecs += n;
	lt_warn("process %d exec'd %s at %.1f s%s: following the new image\n",
		tg->target.pid, tg->target.exe[0] ? tg->target.exe : tg->target.comm,
		at, n > 1 ? " (more than once)" : "");
	forget_goroutines(tg);
	mem_exec(tg);
	/* The new image's code was never scanned for syscall sites. */
	if (mem_obj_to_tracepoints(ctx->mem_obj, at, "the process exec'd"))
		lt_warn("memory calls of the new image are not seen\n");
	malloc_close(tg);	/* the new image's allocator, shortly */
	if (!ctx->node)
		tg->malloc_open_s = lt_target_elapsed(tg) + 0.1;
	if (!ctx->opts.no_go) {
		goheap_close(tg);
		go_close(tg);
	}
	if (target_exe_path(&tg->target, NULL, exe, sizeof(exe)))
		return;
	/* Frame pointers of the new image may jump stacks if it is Go. */
	tg->target.is_go = target_exe_is_go(exe);
	if (ctx->maps.targ_tgid) {
		mem_obj_set_go(ctx->mem_obj, tg->target.is_go);
		task_obj_set_go(ctx->task_obj, tg->target.is_go);
	} else if (lt_maps_trace(&ctx->maps, tg->tgid, tg->target.is_go)) {
		lt_warn("process %d: its stacks are walked as before the exec\n",
			tg->target.pid);
	}
	if (ctx->opts.no_go)
		return;
	if (go_open(tg, exe, &ctx->maps))
		lt_warn("goroutine tracing is off after the exec\n");
	else
		go_scan_existing(tg);
	if (goheap_open(tg, exe))
		lt_warn("the Go heap profile is not read after the exec\n");
}

/* The shortest wait any target's Go reads and allocator windows allow. */
static int poll_ms(struct lt_ctx *ctx)
{
	int ms = DRAIN_MS;

	for (size_t i = 0; i < ctx->ntargets; i++)
		ms = malloc_poll_ms(ctx->targets[i],
				    go_poll_ms(ctx->targets[i], ms));
	return ms;
}

/* Marks the -p targets that exited; true when none is left. */
static bool all_exited(struct lt_ctx *ctx)
{
	bool left = false;

	for (size_t i = 0; i < ctx->ntargets; i++) {
		struct lt_target *tg = ctx->targets[i];

		if (!tg->exited && !target_alive(&tg->target)) {
			tg->exited = true;
			if (ctx->ntargets > 1)
				lt_info("process %d exited\n", tg->target.pid);
		}
		left |= !tg->exited;
	}
	return !left;
}

static void run(struct lt_ctx *ctx)
{
	bool tty = isatty(STDOUT_FILENO) && !ctx->opts.output &&
		   ctx->opts.format == FMT_TEXT;
	double next = ctx->opts.interval_s;

	for (size_t i = 0; i < ctx->ntargets; i++)
		go_scan_existing(ctx->targets[i]);
	collect_all(ctx, false);
	export_publish(ctx);
	while (!exiting) {
		/* Records arrive without wakeups (lt_submit): drain on a tick,
		 * for at most DRAIN_BUDGET_S. */
		struct epoll_event evs[8];
		int err;

		ctx->drain_until = lt_elapsed(ctx) + DRAIN_BUDGET_S;
		err = epoll_wait(ring_buffer__epoll_fd(ctx->rb), evs,
				 sizeof(evs) / sizeof(evs[0]), poll_ms(ctx));
		err = err < 0 ? -errno : 0;
		/* A window the programs cut is detached before the drain
		 * (the target traps into its probes until then). */
		for (size_t i = 0; i < ctx->ntargets; i++) {
			go_tick_cut(ctx->targets[i]);
			malloc_tick_cut(ctx->targets[i], &ctx->maps);
		}
		if (err >= 0)
			err = ring_buffer__consume(ctx->rb);
		if (err < 0 && err != -EINTR && err != -EAGAIN) {
			lt_err("ring buffer: %s\n", strerror(-err));
			break;
		}
		for (size_t i = 0; i < ctx->ntargets; i++) {
			struct lt_target *tg = ctx->targets[i];

			go_tick(tg);
			malloc_tick(tg, &ctx->maps);
			malloc_ring(tg, ctx->rb);	/* opened late */
			follow_exec(ctx, tg);
			sites_later(ctx, tg);
		}
		mem_obj_sites_budget(ctx->mem_obj, lt_elapsed(ctx));
		if (lt_elapsed(ctx) >= next) {
			/* --all: new processes attached, exited ones get their
			 * final sample here and are released after it. */
			node_rescan(ctx);
			/* The records that came while the loop did other work
			 * (a probe switch, a rescan: over a second on a loaded
			 * machine) belong in this sample: a series that takes
			 * them one tick late jumps and fails its fit. */
			ctx->drain_until = ctx->node ? 0 : lt_elapsed(ctx) + DRAIN_BUDGET_S;
			ring_buffer__consume(ctx->rb);
			collect_all(ctx, false);
			export_publish(ctx);
			/* Once a stop is asked the final report comes next: a
			 * process that exited meanwhile (a container stopped
			 * with us) is in it, with its last sample. */
			if (!exiting)
				node_release_exited(ctx);
			mem_obj_sweep(ctx->mem_obj);	/* their kernel entries */
			next += ctx->opts.interval_s;
			if (ctx->opts.interval_set && ctx->ntargets == 1 && !ctx->node) {
				struct lt_target *tg = ctx->targets[0];

				model_rank(&tg->model, rss_rise(tg));
				goheap_explain(&tg->model);
				malloc_explain(tg);
				report_live(ctx, tg, tty ? stdout : stderr, tty);
			}
		}
		if (ctx->opts.duration_s && lt_elapsed(ctx) >= ctx->opts.duration_s)
			break;
		if (!ctx->node && all_exited(ctx)) {
			if (ctx->ntargets == 1)
				lt_info("target %d exited\n", ctx->targets[0]->target.pid);
			else
				lt_info("every traced process exited\n");
			ctx->ended_by = ctx->ntargets == 1 ? "target exited" :
							     "targets exited";
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
	mem_obj_stop(ctx->mem_obj);
	task_obj_stop(ctx->task_obj);
	for (size_t i = 0; i < ctx->ntargets; i++) {
		go_stop(ctx->targets[i]);
		malloc_stop(ctx->targets[i]);
	}
	ctx->drain_until = 0;
	ring_buffer__consume(ctx->rb);
	collect_all(ctx, true);
}

static int finish(struct lt_ctx *ctx, struct report_out *out)
{
	int err;

	sum_drops(ctx);
	for (size_t i = 0; i < ctx->ntargets; i++) {
		struct lt_target *tg = ctx->targets[i];

		model_rank(&tg->model, rss_rise(tg));
		goheap_explain(&tg->model);
		malloc_explain(tg);
	}
	if (ctx->capture)
		return capture_write(ctx, ctx->targets[0]);
	if (ctx->ntargets == 1 && !ctx->node)
		err = report_write(ctx, ctx->targets[0], out->f);
	else
		err = report_write_processes(ctx, out->f);
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
	while (ctx->ntargets)
		node_target_free(ctx, ctx->targets[ctx->ntargets - 1]);
	free(ctx->targets);
	ctx->targets = NULL;
	if (ctx->by_tgid_init)
		u64map_free(&ctx->by_tgid);
	node_close(ctx);
	task_obj_close(ctx->task_obj);
	mem_obj_close(ctx->mem_obj);
	lt_maps_close(&ctx->maps);
	compare_free(ctx->base);
	capture_free(ctx);
	free(ctx->opts.pids);
}

int main(int argc, char **argv)
{
	struct lt_ctx ctx = {
		.opts = {
			.interval_s = 1.0,
			.max_stacks = MAX_STACKS_DEF,
			.max_pages = 1U << 21,
			.max_fault_stacks = 16384,
			.ringbuf_mb = RINGBUF_DEF_MB,
			.stack_copy_kb = LT_UCOPY_DEF_KB,
			.fault_sample = LT_FAULT_SAMPLE_DEF,
			.max_goroutines = 1U << 20,
			.go_budget_pct = 1.0,
			.malloc_budget_pct = 1.0,
			.max_procs = 4096,
			.window_s = -1,
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
	/* A node agent samples every NODE_INTERVAL_S unless told: /proc
	 * reads of every process each second cost more than its budget. */
	if ((ctx.opts.all || ctx.opts.cgroup) && !ctx.opts.interval_set)
		ctx.opts.interval_s = NODE_INTERVAL_S;
	/* Every process's records share one ring buffer and stack map. */
	if ((ctx.opts.all || ctx.opts.cgroup) && ctx.opts.ringbuf_mb == RINGBUF_DEF_MB)
		ctx.opts.ringbuf_mb = NODE_RINGBUF_MB;
	if ((ctx.opts.all || ctx.opts.cgroup) && ctx.opts.max_stacks == MAX_STACKS_DEF)
		ctx.opts.max_stacks = NODE_MAX_STACKS;
	if (capture && (ctx.opts.all || ctx.opts.cgroup || ctx.opts.npids > 1)) {
		lt_err("leaktrace capture records one process: give one -p PID or -- CMD\n");
		return 2;
	}
	if (capture && capture_new(&ctx, argc - 2, argv + 2))
		return 2;
	if ((ctx.opts.all || ctx.opts.cgroup || ctx.opts.npids > 1) &&
	    (ctx.opts.format == FMT_FOLDED || ctx.opts.format == FMT_PPROF)) {
		lt_err("--format folded and pprof describe one process: use json or text "
		       "with several\n");
		return 2;
	}
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
	for (size_t i = 0; i < ctx.ntargets; i++) {
		ctx.targets[i]->t0 = ctx.t0;
		ctx.targets[i]->started_at = ctx.started_at;
	}
	if (ctx.ntargets == 1 && !ctx.node)
		lt_info("tracing pid %d (%s), probes live after %.0f ms\n",
			ctx.targets[0]->target.pid, ctx.targets[0]->target.comm,
			ctx.attach_ms);
	else
		lt_info("tracing %zu processes, probes live after %.0f ms\n",
			ctx.ntargets, ctx.attach_ms);
	run(&ctx);
	err = finish(&ctx, &out);
	if (symbolizer_hints_held())
		lt_warn("%u stripped modules: their unnamed frames print as module+0xOFFSET; "
			"each report's symbols_missing says what would name them (-v prints "
			"each)\n", symbolizer_hints_held());
	ignore_signals();
	teardown(&ctx);
	return err;
}
