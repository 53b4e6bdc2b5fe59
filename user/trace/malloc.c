// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Native allocation sites: the allocator's entry points probed in duty
 * windows within a CPU budget (trace/malloc.h has the estimator). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "trace/loader.h"
#include "trace/target.h"
#include "malloc.skel.h"
#include "sym/allocsyms.h"
#include "trace/malloc.h"
#include "trace/malloc_int.h"
#include "trace/probe_budget.h"
#include "trace/uprobe_cost.h"
#include "util/clock.h"
#include "util/log.h"

bool malloc_enabled(const struct lt_target *ctx)
{
	return ctx->malloc && ctx->malloc->skel;
}

/* Links change only under wd_mu: the watchdog below detaches too. */
static pthread_mutex_t wd_mu = PTHREAD_MUTEX_INITIALIZER;

static void detach_links(struct malloc_state *ms)
{
	struct bpf_link **slots[2 * ALLOC_MAX_PROBES];
	size_t n = 0;

	/* All at once (each waits out the kernel's grace period): an entry
	 * whose return is detached first ages out of the LRU map. */
	for (int i = 0; i < ms->nret; i++)
		slots[n++] = &ms->ret_links[i];
	for (int i = 0; i < ms->nentry; i++)
		slots[n++] = &ms->entry_links[i];
	lt_links_destroy(slots, n);
	ms->nentry = ms->nret = 0;
	ms->attached = false;
}

static void detach(struct malloc_state *ms)
{
	pthread_mutex_lock(&wd_mu);
	detach_links(ms);
	pthread_mutex_unlock(&wd_mu);
}

/* The watchdog: a window whose end has passed (planned, or cut by the
 * programs' cap) is detached within ~WD_TICK_NS even while the main loop
 * is busy. Symbolizing a frame of a module seen for the first time may
 * run dpkg-query (~0.1 s) or a debuginfod download (seconds); meanwhile
 * the programs do nothing past the window's end but the target still
 * traps into every probe (redis crawled ~150 ms at a load's arrival
 * here, libjemalloc's first frames being symbolized). */
#define WD_TICK_NS 10000000ULL
#define WD_LATE_NS 20000000ULL
static struct malloc_state **wd_list;
static size_t wd_n, wd_cap;
static bool wd_started;

static void *watchdog(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = { 0, WD_TICK_NS };

		nanosleep(&ts, NULL);
		pthread_mutex_lock(&wd_mu);
		for (size_t i = 0; i < wd_n; i++) {
			struct malloc_state *ms = wd_list[i];
			uint64_t until = ms->skel->bss->malloc_until_ns, t = lt_mono_ns();

			/* 1: the main loop is detaching it right now */
			if (!ms->attached || until <= 1 || t < until + WD_LATE_NS)
				continue;
			detach_links(ms);
			ms->wd_off_ns = lt_mono_ns();
			ms->wd_detaches++;
			ms->wd_detach_s += (double)(ms->wd_off_ns - t) / 1e9;
		}
		pthread_mutex_unlock(&wd_mu);
	}
	return NULL;
}

static void wd_add(struct malloc_state *ms)
{
	pthread_mutex_lock(&wd_mu);
	if (!wd_started) {
		sigset_t all, old;
		pthread_t t;

		/* signals stay the main thread's (its waits end on them) */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		wd_started = !pthread_create(&t, NULL, watchdog, NULL);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (wd_started)
			pthread_detach(t);
		else
			lt_warn("no watchdog thread: a late main loop leaves malloc probes attached longer\n");
	}
	if (wd_n == wd_cap) {
		size_t n = wd_cap ? wd_cap * 2 : 16;
		struct malloc_state **v = realloc(wd_list, n * sizeof(*v));

		if (!v) {
			pthread_mutex_unlock(&wd_mu);
			return;
		}
		wd_list = v;
		wd_cap = n;
	}
	wd_list[wd_n++] = ms;
	pthread_mutex_unlock(&wd_mu);
}

static void wd_del(struct malloc_state *ms)
{
	pthread_mutex_lock(&wd_mu);
	for (size_t i = 0; i < wd_n; i++) {
		if (wd_list[i] == ms) {
			wd_list[i] = wd_list[--wd_n];
			break;
		}
	}
	pthread_mutex_unlock(&wd_mu);
}

/* What the watchdog spent detaching since the last call (s). */
static double wd_take(struct malloc_state *ms)
{
	double s;

	pthread_mutex_lock(&wd_mu);
	s = ms->wd_detach_s;
	ms->wd_detach_s = 0;
	pthread_mutex_unlock(&wd_mu);
	return s;
}

static int attach_multi(struct malloc_state *ms, pid_t pid, const char *path)
{
	LIBBPF_OPTS(bpf_uprobe_multi_opts, o);
	unsigned long off[ALLOC_MAX_PROBES], roff[ALLOC_MAX_PROBES];
	__u64 ck[ALLOC_MAX_PROBES], rck[ALLOC_MAX_PROBES];
	size_t n = 0, nr = 0;
	struct bpf_link *l;

	for (int i = 0; i < ms->found.n; i++) {
		const struct alloc_probe *ap = &ms->found.probes[i];

		if (strcmp(ap->path, path))
			continue;
		off[n] = ap->offset;
		ck[n++] = ap->fn;
		if (ap->fn != LT_MF_FREE) {
			roff[nr] = ap->offset;
			rck[nr++] = ap->fn;
		}
	}
	/* Entries first: a return is then never without its entry. */
	o.offsets = off, o.cookies = ck, o.cnt = n, o.retprobe = false;
	l = bpf_program__attach_uprobe_multi(ms->skel->progs.lt_alloc_entry_multi,
					     pid, path, NULL, &o);
	if (!l)
		return -errno;
	ms->entry_links[ms->nentry++] = l;
	if (nr) {
		o.offsets = roff, o.cookies = rck, o.cnt = nr, o.retprobe = true;
		l = bpf_program__attach_uprobe_multi(ms->skel->progs.lt_alloc_ret_multi,
						     pid, path, NULL, &o);
		if (!l)
			return -errno;
		ms->ret_links[ms->nret++] = l;
	}
	return 0;
}

/* One link per entry point (kernels before uprobe_multi). */
static int attach_single(struct malloc_state *ms, pid_t pid,
			 const struct alloc_probe *ap)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .bpf_cookie = ap->fn);
	struct bpf_link *l;

	l = bpf_program__attach_uprobe_opts(ms->skel->progs.lt_alloc_entry, pid,
					    ap->path, ap->offset, &o);
	if (!l)
		return -errno;
	ms->entry_links[ms->nentry++] = l;
	if (ap->fn != LT_MF_FREE) {
		o.retprobe = true;
		l = bpf_program__attach_uprobe_opts(ms->skel->progs.lt_alloc_ret, pid,
						    ap->path, ap->offset, &o);
		if (!l)
			return -errno;
		ms->ret_links[ms->nret++] = l;
	}
	return 0;
}

static int attach(struct lt_target *ctx, struct malloc_state *ms)
{
	/* perf_event_open/uprobe_multi read a pid in our own pid namespace
	 * (BPF filters on the host tgid, targ_tgid) */
	pid_t pid = ctx->target.pid;
	int err = 0;

	if (ms->attached)
		return 0;
	pthread_mutex_lock(&wd_mu);
	for (int i = 0; i < ms->found.n && !err; i++) {
		const struct alloc_probe *ap = &ms->found.probes[i];
		bool first = true;

		if (!ms->multi) {
			err = attach_single(ms, pid, ap);
			continue;
		}
		for (int k = 0; k < i && first; k++)
			first = strcmp(ms->found.probes[k].path, ap->path) != 0;
		if (first)
			err = attach_multi(ms, pid, ap->path);
	}
	if (err) {
		detach_links(ms);
		ms->attach_errors++;
	} else {
		ms->attached = true;
		ms->wd_off_ns = 0;
	}
	pthread_mutex_unlock(&wd_mu);
	return err;
}

/* Cost of an allocation hit (entry + uretprobe at one address) and of a
 * free hit (one entry probe), measured on leaktrace's own code. */
static void measure_cost(struct malloc_state *ms)
{
	double a = uprobe_cost_measure(ms->skel->progs.lt_alloc_ret,
				       UPROBE_RETPROBE_ON_CALL);
	double f = uprobe_cost_measure(ms->skel->progs.lt_alloc_entry, UPROBE_ON_CALL);

	ms->cost_measured = a > 0 && f > 0;
	ms->mech_alloc_s = a > 0 ? a : 40e-6;
	ms->mech_free_s = f > 0 ? f : 20e-6;
	if (!ms->cost_measured)
		lt_warn("cannot measure the uprobe cost here: assuming %.0f us an allocation, %.0f us a free\n",
			ms->mech_alloc_s * 1e6, ms->mech_free_s * 1e6);
	/* Our programs' own time (~1 us with a stack copy) until measured. */
	ms->cost_alloc_s = (ms->mech_alloc_s + 1e-6) * IN_TARGET_FACTOR;
	ms->cost_free_s = (ms->mech_free_s + 0.2e-6) * IN_TARGET_FACTOR;
}

static int load_once(struct lt_target *ctx, struct malloc_state *ms, bool multi)
{
	struct malloc_bpf *skel = ms->skel = malloc_bpf__open();

	if (!skel)
		return -errno;
	/* the object is this process's own (uprobes are per process) */
	skel->rodata->targ_tgid = target_host_pid(&ctx->target);
	skel->bss->fp_jumps = ctx->target.is_go;
	skel->rodata->ucopy_bytes = ctx->opts->stack_copy_kb << 10;
	bpf_program__set_autoload(skel->progs.lt_alloc_entry_multi, multi);
	bpf_program__set_autoload(skel->progs.lt_alloc_ret_multi, multi);
	ms->multi = multi;
	/* A ring buffer of its own: a burst of allocations in a window must
	 * not crowd the memory and thread events (and their stack copies)
	 * out of the shared one. */
	if (ms->events_fd < 0) {
		LIBBPF_OPTS(bpf_map_create_opts, o);

		ms->events_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "malloc_events", 0, 0,
					       MALLOC_RINGBUF, &o);
		if (ms->events_fd < 0) {
			lt_err("cannot create the allocator ring buffer: %s\n", strerror(errno));
			return -errno;
		}
	}
	if (bpf_map__reuse_fd(skel->maps.events, ms->events_fd))
		return -errno;
	skel->rodata->wakeup_bytes = MALLOC_RINGBUF / 4;
	return lt_bpf_load(skel->skeleton, ms->maps, "allocator",
			   LT_LOAD_OWN_EVENTS | (multi ? LT_LOAD_QUIET : 0));
}

/* With uprobe_multi programs where the kernel has them (6.6+). */
static int load(struct lt_target *ctx, struct malloc_state *ms)
{
	if (!load_once(ctx, ms, true))
		return 0;
	lt_debug("allocator: no uprobe_multi here, one link per entry point\n");
	malloc_bpf__destroy(ms->skel);
	return load_once(ctx, ms, false);
}

int malloc_open(struct lt_target *ctx, const struct lt_maps *maps)
{
	struct malloc_state *ms;
	int err;

	if (ctx->opts->no_malloc || ctx->opts->malloc_budget_pct <= 0)
		return 0;
	ms = calloc(1, sizeof(*ms));
	if (!ms)
		return -ENOMEM;
	ctx->malloc = ms;
	ms->events_fd = -1;
	ms->capped_at = -1;
	ms->maps = maps;
	ivmap_init(&ms->live);
	double t0 = lt_mono_s();

	err = alloc_find(ctx->target.proc_pid, &ms->found);
	if (err) {
		lt_note("no native allocator found in process %d (%s): malloc sites are off\n",
			ctx->target.pid, err == -ENOENT ? "no malloc in its mapped files" :
			strerror(-err));
		return 0;
	}
	err = load(ctx, ms);
	if (err) {
		malloc_bpf__destroy(ms->skel);
		ms->skel = NULL;
		return err;
	}
	double t1 = lt_mono_s();

	wd_add(ms);
	measure_cost(ms);
	lt_debug("allocator: %s (%s)%s%s, %d entry points, %.1f us an allocation; found and loaded in %.0f ms, cost measured in %.0f ms\n",
		 ms->found.name, ms->found.module, ms->found.prefixed[0] ? ", " : "",
		 ms->found.prefixed, ms->found.n, ms->cost_alloc_s * 1e6,
		 (t1 - t0) * 1e3, (lt_mono_s() - t1) * 1e3);
	pb_init(&ms->pb, ctx->opts->malloc_budget_pct / 100.0, ms->cost_alloc_s,
		(double)sysconf(_SC_NPROCESSORS_ONLN), 0);
	ms->skel->bss->malloc_until_ns = lt_mono_ns() + (uint64_t)(PB_FIRST_WINDOW_S * 1e9);
	ms->wt = calloc(64, sizeof(*ms->wt));
	if (!ms->wt)
		return -ENOMEM;
	ms->nwt = 64;
	ms->wt[0] = 1;	/* continuous until the budget says otherwise */
	ms->pid = ctx->target.proc_pid;
	ms->scale = 1;
	ms->io_on = malloc_io_calls(ms->pid);
	t1 = lt_mono_s();
	err = attach(ctx, ms);
	ms->attach_s = lt_mono_s() - t1;
	lt_info("allocator probes attached in %.0f ms: %s (%s), %d entry points\n",
		ms->attach_s * 1e3, ms->found.name, ms->found.module, ms->found.n);
	if (err)
		lt_err("cannot attach uprobes to the allocator in %s: %s\n",
		       ms->found.module, strerror(-err));
	return err;
}

void malloc_close(struct lt_target *ctx)
{
	struct malloc_state *ms = ctx->malloc;

	if (!ms)
		return;
	wd_del(ms);
	detach(ms);
	malloc_bpf__destroy(ms->skel);
	if (ms->events_fd >= 0)
		close(ms->events_fd);	/* ctx->rb keeps its own mapping */
	ivmap_free(&ms->live);
	free(ms->objs);
	free(ms->spare);
	free(ms->sites);
	free(ms->wt);
	free(ms);
	ctx->malloc = NULL;
}

void malloc_stop(struct lt_target *ctx)
{
	if (malloc_enabled(ctx) && ctx->malloc->skel->bss)
		ctx->malloc->skel->bss->lt_stop = 1;
}

void malloc_drops(const struct lt_target *ctx, uint64_t *out)
{
	if (!malloc_enabled(ctx) || !ctx->malloc->skel->bss)
		return;
	for (int i = 0; i < LT_DROP_MAX; i++)
		out[i] += ctx->malloc->skel->bss->drops[i];
}

/* Hits in allocation-hit units (what the budget is fed). */
static uint64_t hit_units(const struct malloc_state *ms)
{
	const __u64 *h = ms->skel->bss->malloc_hits;

	return h[LT_MH_ALLOC] + (uint64_t)(h[LT_MH_FREE] * ms->cost_free_s /
					   ms->cost_alloc_s);
}

/* The programs' own bound on a continuous window (bpf/malloc.bpf.c
 * malloc_cap): twice the budget of its length so far plus a slow tick
 * from the window's start, the burst rule of probe_budget enforced
 * without waiting for user space. A duty window has none: its planned end
 * bounds it already, and a paced client's batches make twice the last
 * window's rate common, while a cut window's sample is short and its
 * weight rough (estimates came out ~30 % lower with duty windows cut). */
static void set_cap(struct malloc_state *ms, double now)
{
	const struct probe_budget *pb = &ms->pb;
	uint64_t allow = pb_cap(pb, now);
	const __u64 *h = ms->skel->bss->malloc_hits;

	if (!allow) {
		ms->skel->bss->malloc_cap = 0;
		return;
	}
	/* raw counts (a free charged as an allocation: the cap errs on the
	 * safe side), from the count when the budget's window began */
	if (pb->since != ms->cap_since) {
		ms->cap_since = pb->since;
		ms->cap_from = h[LT_MH_ALLOC] + h[LT_MH_FREE];
		ms->skel->bss->malloc_mark_ns = 0;
		ms->skel->bss->malloc_mark = allow > 1 ? ms->cap_from + allow / 2 : 0;
	}
	ms->skel->bss->malloc_cap = ms->cap_from + allow;
}

void malloc_tick(struct lt_target *ctx, const struct lt_maps *maps)
{
	struct malloc_state *ms = ctx->malloc;
	const __u64 *h;
	uint64_t hits;
	double now;

	if (!ms && ctx->malloc_open_s > 0 && lt_target_elapsed(ctx) >= ctx->malloc_open_s) {
		ctx->malloc_open_s = 0;
		if (malloc_open(ctx, maps))
			lt_warn("malloc sites are off\n");
		ms = ctx->malloc;
	}
	if (!malloc_enabled(ctx) || ms->pb.budget <= 0)
		return;
	now = lt_target_elapsed(ctx);
	h = ms->skel->bss->malloc_hits;
	hits = h[LT_MH_ALLOC] + h[LT_MH_FREE];
	/* The programs' own time, measured in BPF, replaces the guess. */
	if (hits >= 1000) {
		double own = (double)ms->skel->bss->malloc_ns / hits / 1e9;

		ms->cost_alloc_s = IN_TARGET_FACTOR * (ms->mech_alloc_s + own);
		ms->cost_free_s = IN_TARGET_FACTOR * (ms->mech_free_s + own);
		ms->pb.cost_s = ms->cost_alloc_s;
	}
	/* The watchdog detached the window, the main loop being late: the
	 * window ended then (and the probes count as on until then). */
	if (ms->pb.on && !ms->attached && ms->wd_off_ns) {
		double ago = (double)(lt_mono_ns() - ms->wd_off_ns) / 1e9;

		now = fmax(ms->pb.since, now - fmax(ago, 0));
		ms->pb.until = fmin(ms->pb.until, now);
	}
	/* The programs ended the window at the cap: it ends then, for the
	 * budget (its rate: the hits up to then over its length) and for the
	 * estimator (on until then). */
	if (ms->pb.on && ms->skel->bss->malloc_capped_ns) {
		const struct malloc_bpf__bss *b = ms->skel->bss;
		double ago = (double)(lt_mono_ns() - b->malloc_capped_ns) / 1e9;

		ms->capped_at = fmax(ms->pb.since, now - fmax(ago, 0));
		ms->capped_windows++;
		/* its rate from the mark (raw counts, as the cap and the
		 * mark); the next window is the shortest (probe_budget) */
		pb_cut(&ms->pb, pb_cut_from(b->malloc_hits[LT_MH_ALLOC] + b->malloc_hits[LT_MH_FREE],
					    ms->cap_from, b->malloc_mark, b->malloc_mark_ns,
					    b->malloc_capped_ns, ms->capped_at), ms->capped_at);
	}
	if (!pb_tick(&ms->pb, now, hit_units(ms))) {
		/* A cut window the budget keeps on: its cap was stale (set at
		 * a tick long before, the main loop being late), the rate is
		 * within budget. A fresh window, not cut again every tick. */
		if (ms->pb.on && ms->skel->bss->malloc_capped_ns) {
			ms->skel->bss->malloc_capped_ns = 0;
			ms->capped_at = -1;
		}
		/* A window the watchdog detached that the budget keeps on:
		 * on again. */
		if (ms->pb.on && !ms->attached && ms->pb.duty >= 1 && ms->wd_off_ns)
			attach(ctx, ms);
		if (ms->pb.on)
			set_cap(ms, now);
		/* Back to continuous without a detach (a window measured the
		 * probes cheap again): the window's end kept in BPF must go, or
		 * the attached probes would record nothing from then on. */
		if (ms->pb.on && ms->pb.duty >= 1)
			ms->skel->bss->malloc_until_ns = 0;
		return;
	}
	double t0 = lt_target_elapsed(ctx), over;

	/* A window the cap cut measured its rate over a length that was
	 * mostly idle before the load came: too low. pb_cut made the next
	 * window the shortest, to measure it again, not one sized by it (230
	 * ms instead of 50 at redis's load start here). */
	if (ms->pb.on) {
		uint64_t len = ms->pb.duty < 1 ? (uint64_t)(ms->pb.on_len * 1e9) : 0;

		ms->skel->bss->malloc_until_ns = len ? lt_mono_ns() + len + 500000000ULL : 0;
		/* the last window's cap is spent: none until set below */
		ms->skel->bss->malloc_cap = 0;
		ms->skel->bss->malloc_capped_ns = 0;
		ms->capped_at = -1;
		if (attach(ctx, ms)) {
			ms->pb.on = false;	/* counted; next window */
		} else {
			double t = lt_target_elapsed(ctx);

			ms->attach_s = t - t0;
			ms->pb.until += t - ms->pb.since;
			ms->pb.since = t;
			malloc_window_begin(ctx, ms, t, ms->pb.duty > 0 ? 1 / ms->pb.duty : 1);
			set_cap(ms, t);
			ms->skel->bss->malloc_until_ns = len ? lt_mono_ns() + len : 0;
		}
	} else {
		/* Every program stops now; unlinking takes a grace period. */
		ms->skel->bss->malloc_until_ns = 1;
		ms->off_at = lt_target_elapsed(ctx);
		ms->io_off = malloc_io_calls(ms->pid);
		/* Cut by the cap: on until then in wall time. Its I/O calls
		 * are counted to now, a tick or two past the cut: a load that
		 * cut a window idle until then is weighed by what it served,
		 * not by the idle seconds before it (the bias is low: the
		 * calls since the cut count as seen). */
		if (ms->capped_at >= 0)
			ms->off_at = ms->capped_at;
		detach(ms);
		/* Installing and removing the breakpoints took 10-760 ms
		 * here against 50 ms windows, and the target traps into them
		 * (and waits on its mm) all along: that time is paid for. */
		over = ms->attach_s + lt_target_elapsed(ctx) - t0 + wd_take(ms);
		ms->overrun_max_s = fmax(ms->overrun_max_s, over);
		pb_overrun(&ms->pb, over);
		ms->attach_s = 0;
		if (ms->off_at > ms->on_at && ms->pb.duty < 1)
			malloc_window_replan(ctx, ms, (ms->pb.until - ms->on_at) /
						      (ms->off_at - ms->on_at));
	}
	lt_debug("malloc probes %s in %.1f ms\n", ms->pb.on ? "attached" : "detached", (lt_target_elapsed(ctx) - t0) * 1e3);
}

void malloc_tick_cut(struct lt_target *ctx, const struct lt_maps *maps)
{
	struct malloc_state *ms = ctx->malloc;

	if (malloc_enabled(ctx) && ms->pb.on && ms->skel->bss->malloc_capped_ns)
		malloc_tick(ctx, maps);
}

/* The allocator's ring buffer reaches its target directly (no tgid in
 * its records: the buffer is the process's own). */
static int malloc_record(void *tg, void *data, size_t size)
{
	malloc_handle(tg, data, size);
	return 0;
}

int malloc_ring(struct lt_target *ctx, struct ring_buffer *rb)
{
	struct malloc_state *ms = ctx->malloc;
	int err;

	if (!malloc_enabled(ctx) || !rb || ms->rb_added)
		return 0;
	err = ring_buffer__add(rb, ms->events_fd, malloc_record, ctx);
	if (err) {
		lt_err("cannot read the allocator ring buffer: %s\n", strerror(-err));
		return err;
	}
	ms->rb_added = true;
	return 0;
}

int malloc_poll_ms(const struct lt_target *ctx, int max_ms)
{
	double next;

	if (!malloc_enabled(ctx) || ctx->malloc->pb.budget <= 0)
		return max_ms;
	next = pb_next(&ctx->malloc->pb, lt_target_elapsed(ctx)) * 1000;
	return next < max_ms ? (int)ceil(next) : max_ms;
}

