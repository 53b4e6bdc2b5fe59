// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Native allocation sites: the allocator's entry points probed in duty
 * windows within a CPU budget (trace/malloc.h has the estimator). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include "ctx.h"
#include "model/culprit.h"
#include "model/entries.h"
#include "malloc.skel.h"
#include "sym/allocsyms.h"
#include "trace/malloc.h"
#include "trace/probe_budget.h"
#include "trace/uprobe_cost.h"
#include "util/log.h"

/* What a hit costs inside a target against what leaktrace measures on its
 * own code (the mechanism in a tight loop plus the programs' BPF time):
 * tests/bench/mallocloop.c, malloc+free pairs with the probes on
 * throughout, lost 14.8-16.2 us a pair on this VM where the measured sum
 * was 3.0 us (alloc 0.95 + free 0.59 mechanism, ~0.7 us BPF each). */
#define IN_TARGET_FACTOR 5.0
#define MALLOC_RINGBUF (8U << 20)

struct mobj {
	uint64_t size;
	uint32_t site;
	uint32_t win;	/* the window it was seen in */
};

struct msite {
	double est_bytes, est_objs;	/* the estimate */
	uint64_t live_objs, live_bytes;	/* sampled, not known freed */
	uint64_t calls;			/* sampled allocation calls */
	uint64_t freed_seen, freed_reuse;	/* how their objects died */
	/* live sampled objects of window pend_win, whose weight is final
	 * only once the next window begins */
	uint32_t pend_win;
	uint64_t pend_bytes, pend_objs;
};

struct malloc_state {
	struct malloc_bpf *skel;
	struct alloc_found found;
	struct bpf_link *entry_links[ALLOC_MAX_PROBES];
	struct bpf_link *ret_links[ALLOC_MAX_PROBES];
	int nentry, nret;
	bool multi;			/* uprobe_multi links */
	int events_fd;			/* its own ring buffer */
	bool rb_added;			/* polled with ctx->rb */
	bool attached;
	struct probe_budget pb;
	double mech_alloc_s, mech_free_s;	/* measured mechanism */
	double cost_alloc_s, cost_free_s;	/* in the target */
	bool cost_measured;
	/* Windows: wt[w] is what an object seen in window w counts for,
	 * (on + off) / on of that window's cycle; until the next window
	 * begins the planned 1/duty. */
	float *wt;
	uint32_t win, nwt;
	double on_at, off_at;		/* the last window's start and end */
	int64_t io_on, io_off;		/* the target's I/O calls then */
	uint32_t io_windows;		/* windows weighed by I/O calls */
	int pid;
	struct u64map live;		/* addr -> slot + 1 */
	struct mobj *objs;
	size_t nobjs, cap;
	uint32_t *spare;		/* free slots */
	size_t nspare, spare_cap;
	struct msite *sites;		/* by site id */
	size_t nsites;
	uint64_t allocs, frees, frees_unknown, freed_seen, freed_reuse;
	uint64_t attach_errors;
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static double since_attach(const struct lt_ctx *ctx)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - ctx->t0.tv_sec) + (now.tv_nsec - ctx->t0.tv_nsec) / 1e9;
}

static uint64_t ktime_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + t.tv_nsec;
}

bool malloc_enabled(const struct lt_ctx *ctx)
{
	return ctx->malloc && ctx->malloc->skel;
}

static void detach(struct malloc_state *ms)
{
	/* Returns first: an entry left behind ages out of the LRU map. */
	for (int i = 0; i < ms->nret; i++)
		bpf_link__destroy(ms->ret_links[i]);
	for (int i = 0; i < ms->nentry; i++)
		bpf_link__destroy(ms->entry_links[i]);
	ms->nentry = ms->nret = 0;
	ms->attached = false;
}

/* The target's read and write system calls so far (/proc/PID/io syscr +
 * syscw), -1 unknown: for a service, the requests it served. */
static int64_t io_calls(int pid)
{
	char path[64], buf[512], *p;
	unsigned long long r = 0, w = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/io", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	if (!(p = strstr(buf, "syscr:")) || sscanf(p, "syscr: %llu", &r) != 1 ||
	    !(p = strstr(buf, "syscw:")) || sscanf(p, "syscw: %llu", &w) != 1)
		return -1;
	return (int64_t)(r + w);
}

/* A window's I/O calls must reach this to weigh by them. */
#define MIN_ON_IO 50

/* A window begins at now (s): the previous one's weight becomes final and
 * the estimates of the sites with objects from it are corrected. An object
 * seen in a window stands for (on + off) / on of its cycle, measured in
 * the target's read/write calls when it makes enough of them (a server's
 * requests: probes slow a busy server, which then serves fewer requests
 * while probed, and wall time would count that as fewer allocations),
 * else in wall time (a program paced by the clock). */
static void window_begin(struct malloc_state *ms, double now, double planned)
{
	uint32_t prev = ms->win;
	double on = ms->off_at - ms->on_at, w = 0;
	int64_t io = io_calls(ms->pid);

	if (!ms->nwt || ms->win + 1 >= UINT32_MAX)
		return;
	if (on > 0) {
		w = (now - ms->on_at) / on;
		if (io >= 0 && ms->io_on >= 0 && ms->io_off - ms->io_on >= MIN_ON_IO) {
			double wio = (double)(io - ms->io_on) / (double)(ms->io_off - ms->io_on);

			lt_debug("malloc window %u: on %.3f s, %lld of %lld I/O calls: weight %.1f (wall %.1f)\n",
				 prev, on, (long long)(ms->io_off - ms->io_on),
				 (long long)(io - ms->io_on), wio, w);
			w = wio;
			ms->io_windows++;
		}
		for (size_t i = 0; i < ms->nsites; i++) {
			struct msite *m = &ms->sites[i];

			if (m->pend_win != prev || !m->pend_objs)
				continue;
			m->est_bytes += (double)m->pend_bytes * (w - ms->wt[prev]);
			m->est_objs += (double)m->pend_objs * (w - ms->wt[prev]);
			m->pend_objs = m->pend_bytes = 0;
		}
		ms->wt[prev] = (float)w;
	}
	if (ms->win + 1 >= ms->nwt) {
		float *v = realloc(ms->wt, ms->nwt * 2 * sizeof(*v));

		if (!v)
			return;	/* this window joins the last one */
		ms->wt = v;
		ms->nwt *= 2;
	}
	ms->wt[++ms->win] = (float)planned;
	ms->on_at = now;
	ms->io_on = io;
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

static int attach(struct lt_ctx *ctx, struct malloc_state *ms)
{
	pid_t pid = target_host_pid(&ctx->target);
	int err = 0;

	if (ms->attached)
		return 0;
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
		detach(ms);
		ms->attach_errors++;
		return err;
	}
	ms->attached = true;
	return 0;
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

static int load_once(struct lt_ctx *ctx, struct malloc_state *ms, bool multi)
{
	struct malloc_bpf *skel = ms->skel = malloc_bpf__open();

	if (!skel)
		return -errno;
	LT_BPF_COMMON_RODATA(skel, target_host_pid(&ctx->target),
			     ctx->target.is_go, &ctx->maps);
	skel->rodata->ucopy_bytes = ctx->opts.stack_copy_kb << 10;
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
	return lt_bpf_load(skel->skeleton, &ctx->maps, "allocator",
			   LT_LOAD_OWN_EVENTS | (multi ? LT_LOAD_QUIET : 0));
}

/* With uprobe_multi programs where the kernel has them (6.6+). */
static int load(struct lt_ctx *ctx, struct malloc_state *ms)
{
	if (!load_once(ctx, ms, true))
		return 0;
	lt_debug("allocator: no uprobe_multi here, one link per entry point\n");
	malloc_bpf__destroy(ms->skel);
	return load_once(ctx, ms, false);
}

int malloc_open(struct lt_ctx *ctx)
{
	struct malloc_state *ms;
	int err;

	if (ctx->opts.no_malloc || ctx->opts.malloc_budget_pct <= 0)
		return 0;
	ms = calloc(1, sizeof(*ms));
	if (!ms)
		return -ENOMEM;
	ctx->malloc = ms;
	ms->events_fd = -1;
	u64map_init(&ms->live);
	double t0 = now_s();

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
	double t1 = now_s();

	measure_cost(ms);
	lt_debug("allocator: %s (%s)%s%s, %d entry points, %.1f us an allocation; found and loaded in %.0f ms, cost measured in %.0f ms\n",
		 ms->found.name, ms->found.module, ms->found.prefixed[0] ? ", " : "",
		 ms->found.prefixed, ms->found.n, ms->cost_alloc_s * 1e6,
		 (t1 - t0) * 1e3, (now_s() - t1) * 1e3);
	pb_init(&ms->pb, ctx->opts.malloc_budget_pct / 100.0, ms->cost_alloc_s, 0);
	ms->skel->bss->malloc_until_ns = ktime_ns() + (uint64_t)(PB_FIRST_WINDOW_S * 1e9);
	ms->wt = calloc(64, sizeof(*ms->wt));
	if (!ms->wt)
		return -ENOMEM;
	ms->nwt = 64;
	ms->wt[0] = 1;	/* continuous until the budget says otherwise */
	ms->pid = ctx->target.proc_pid;
	ms->io_on = io_calls(ms->pid);
	t1 = now_s();
	err = attach(ctx, ms);
	lt_debug("allocator probes attached in %.0f ms\n", (now_s() - t1) * 1e3);
	if (err)
		lt_err("cannot attach uprobes to the allocator in %s: %s\n",
		       ms->found.module, strerror(-err));
	return err;
}

void malloc_close(struct lt_ctx *ctx)
{
	struct malloc_state *ms = ctx->malloc;

	if (!ms)
		return;
	detach(ms);
	malloc_bpf__destroy(ms->skel);
	if (ms->events_fd >= 0)
		close(ms->events_fd);	/* ctx->rb keeps its own mapping */
	u64map_free(&ms->live);
	free(ms->objs);
	free(ms->spare);
	free(ms->sites);
	free(ms->wt);
	free(ms);
	ctx->malloc = NULL;
}

void malloc_stop(struct lt_ctx *ctx)
{
	if (malloc_enabled(ctx) && ctx->malloc->skel->bss)
		ctx->malloc->skel->bss->lt_stop = 1;
}

void malloc_drops(const struct lt_ctx *ctx, uint64_t *out)
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

void malloc_tick(struct lt_ctx *ctx)
{
	struct malloc_state *ms = ctx->malloc;
	const __u64 *h;
	uint64_t hits;
	double now;

	if (!ms && ctx->malloc_open_s > 0 && since_attach(ctx) >= ctx->malloc_open_s) {
		ctx->malloc_open_s = 0;
		if (malloc_open(ctx))
			lt_warn("malloc sites are off\n");
		ms = ctx->malloc;
	}
	if (!malloc_enabled(ctx) || ms->pb.budget <= 0)
		return;
	now = since_attach(ctx);
	h = ms->skel->bss->malloc_hits;
	hits = h[LT_MH_ALLOC] + h[LT_MH_FREE];
	/* The programs' own time, measured in BPF, replaces the guess. */
	if (hits >= 1000) {
		double own = (double)ms->skel->bss->malloc_ns / hits / 1e9;

		ms->cost_alloc_s = IN_TARGET_FACTOR * (ms->mech_alloc_s + own);
		ms->cost_free_s = IN_TARGET_FACTOR * (ms->mech_free_s + own);
		ms->pb.cost_s = ms->cost_alloc_s;
	}
	if (!pb_tick(&ms->pb, now, hit_units(ms)))
		return;
	double t0 = since_attach(ctx);
	if (ms->pb.on) {
		uint64_t len = ms->pb.duty < 1 ? (uint64_t)(ms->pb.on_len * 1e9) : 0;

		ms->skel->bss->malloc_until_ns = len ? ktime_ns() + len + 500000000ULL : 0;
		if (attach(ctx, ms)) {
			ms->pb.on = false;	/* counted; next window */
		} else {
			double t = since_attach(ctx);

			ms->pb.until += t - ms->pb.since;
			ms->pb.since = t;
			window_begin(ms, t, ms->pb.duty > 0 ? 1 / ms->pb.duty : 1);
			ms->skel->bss->malloc_until_ns = len ? ktime_ns() + len : 0;
		}
	} else {
		/* Every program stops now; unlinking takes a grace period. */
		ms->skel->bss->malloc_until_ns = 1;
		ms->off_at = since_attach(ctx);
		ms->io_off = io_calls(ms->pid);
		detach(ms);
	}
	lt_debug("malloc probes %s in %.1f ms\n", ms->pb.on ? "attached" : "detached", (since_attach(ctx) - t0) * 1e3);
}

int malloc_ring(struct lt_ctx *ctx, struct ring_buffer *rb,
		ring_buffer_sample_fn fn)
{
	struct malloc_state *ms = ctx->malloc;
	int err;

	if (!malloc_enabled(ctx) || !rb || ms->rb_added)
		return 0;
	err = ring_buffer__add(rb, ms->events_fd, fn, ctx);
	if (err) {
		lt_err("cannot read the allocator ring buffer: %s\n", strerror(-err));
		return err;
	}
	ms->rb_added = true;
	return 0;
}

int malloc_poll_ms(const struct lt_ctx *ctx, int max_ms)
{
	double next;

	if (!malloc_enabled(ctx) || ctx->malloc->pb.budget <= 0)
		return max_ms;
	next = pb_next(&ctx->malloc->pb, since_attach(ctx)) * 1000;
	return next < max_ms ? (int)ceil(next) : max_ms;
}

static struct msite *msite(struct malloc_state *ms, uint32_t id)
{
	if (id >= ms->nsites) {
		size_t n = id + 256;
		struct msite *v = realloc(ms->sites, n * sizeof(*v));

		if (!v)
			return NULL;
		memset(v + ms->nsites, 0, (n - ms->nsites) * sizeof(*v));
		ms->sites = v;
		ms->nsites = n;
	}
	return &ms->sites[id];
}

static void publish(struct site *s, const struct msite *m)
{
	s->bytes = m->est_bytes > 0 ? llround(m->est_bytes) : 0;
	s->live = m->est_objs > 0 ? llround(m->est_objs) : 0;
}

/* The sampled object at addr died (seen freed, or its address reused). */
static void forget(struct lt_ctx *ctx, struct malloc_state *ms, uint64_t addr,
		   bool reused)
{
	uint64_t slot;
	struct mobj *o;
	struct msite *m;
	struct site *s;
	double w;

	if (!u64map_get(&ms->live, addr, &slot)) {
		if (!reused)
			ms->frees_unknown++;
		return;
	}
	u64map_del(&ms->live, addr);
	o = &ms->objs[slot - 1];
	if (ms->nspare < ms->spare_cap ||
	    (ms->spare = realloc(ms->spare, (ms->spare_cap = ms->spare_cap * 2 + 1024) *
				 sizeof(*ms->spare))))
		ms->spare[ms->nspare++] = (uint32_t)(slot - 1);
	m = msite(ms, o->site);
	s = model_get(&ctx->model, o->site);
	if (!m || !s)
		return;
	w = o->win < ms->nwt ? ms->wt[o->win] : 1;
	m->est_bytes -= (double)o->size * w;
	m->est_objs -= w;
	if (m->pend_win == o->win && m->pend_objs) {
		m->pend_objs--;
		m->pend_bytes -= o->size;
	}
	m->live_objs--;
	m->live_bytes -= o->size;
	if (reused) {
		m->freed_reuse++;
		ms->freed_reuse++;
	} else {
		m->freed_seen++;
		ms->freed_seen++;
	}
	s->freed += (uint64_t)((double)o->size * w);
	publish(s, m);
}

static void remember(struct lt_ctx *ctx, struct malloc_state *ms,
		     const struct lt_malloc_event *e)
{
	uint64_t sid = e->stack_id;
	struct msite *m;
	struct site *s;
	uint32_t slot;
	double w;

	if (e->copy_bytes)
		sid = stacks_event_id(&ctx->stacks, ctx->maps.copy_need_fd,
				      e->stack_id, e + 1, e->copy_bytes);
	s = stacks_site(&ctx->stacks, &ctx->model, SITE_MALLOC, sid);
	if (!s || !(m = msite(ms, s->id)))
		return;
	if (ms->nspare) {
		slot = ms->spare[--ms->nspare];
	} else {
		if (ms->nobjs == ms->cap) {
			size_t n = ms->cap ? ms->cap * 2 : 4096;
			struct mobj *v = realloc(ms->objs, n * sizeof(*v));

			if (!v)
				return;
			ms->objs = v;
			ms->cap = n;
		}
		slot = (uint32_t)ms->nobjs++;
	}
	if (u64map_put(&ms->live, e->addr, slot + 1ULL)) {
		ms->spare[ms->nspare++] = slot;	/* ENOMEM: not kept */
		return;
	}
	ms->objs[slot] = (struct mobj){ .size = e->size, .site = s->id,
					.win = ms->win };
	w = ms->win < ms->nwt ? ms->wt[ms->win] : 1;
	if (m->pend_win != ms->win)
		m->pend_win = ms->win, m->pend_objs = m->pend_bytes = 0;
	m->pend_objs++;
	m->pend_bytes += e->size;
	m->calls++;
	m->live_objs++;
	m->live_bytes += e->size;
	m->est_bytes += (double)e->size * w;
	m->est_objs += w;
	s->created++;
	publish(s, m);
}

void malloc_handle(struct lt_ctx *ctx, const void *rec, size_t size)
{
	struct malloc_state *ms = ctx->malloc;
	__u32 type = *(const __u32 *)rec;

	if (!malloc_enabled(ctx))
		return;
	if (type == LT_EV_FREE && size >= sizeof(struct lt_free_event)) {
		ms->frees++;
		forget(ctx, ms, ((const struct lt_free_event *)rec)->addr, false);
	} else if (type == LT_EV_MALLOC && size >= sizeof(struct lt_malloc_event)) {
		const struct lt_malloc_event *e = rec;

		ms->allocs++;
		if (e->fn == LT_MF_REALLOC && e->old_addr)
			forget(ctx, ms, e->old_addr, false);
		/* The allocator handed this address out again: the object
		 * we knew there was freed while no probe looked. */
		forget(ctx, ms, e->addr, true);
		remember(ctx, ms, e);
	}
}

static bool was_duty_cycled(const struct malloc_state *ms)
{
	return ms->pb.windows || ms->pb.duty < 1;
}

static json_object *jround(double v, double scale)
{
	return json_object_new_double(round(v * scale) / scale);
}

struct json_object *malloc_sampling_json(const struct lt_ctx *ctx)
{
	const struct malloc_state *ms = ctx->malloc;
	double now = ctx->now_s;
	json_object *o;

	if (!ms)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "allocator", ms->found.n ?
			       json_object_new_string(ms->found.name) : NULL);
	json_object_object_add(o, "module", ms->found.n ?
			       json_object_new_string(ms->found.module) : NULL);
	json_object_object_add(o, "prefixed", ms->found.prefixed[0] ?
			       json_object_new_string(ms->found.prefixed) : NULL);
	json_object_object_add(o, "entry_points", json_object_new_int(ms->found.n));
	if (!malloc_enabled(ctx)) {
		json_object_object_add(o, "mode", json_object_new_string("off"));
		return o;
	}
	json_object_object_add(o, "mode", json_object_new_string(
		was_duty_cycled(ms) ? "duty-cycled" : "continuous"));
	json_object_object_add(o, "budget_pct", jround(ms->pb.budget * 100, 100));
	json_object_object_add(o, "cost_alloc_us", jround(ms->cost_alloc_s * 1e6, 100));
	json_object_object_add(o, "cost_free_us", jround(ms->cost_free_s * 1e6, 100));
	json_object_object_add(o, "mechanism_alloc_us", jround(ms->mech_alloc_s * 1e6, 100));
	json_object_object_add(o, "mechanism_free_us", jround(ms->mech_free_s * 1e6, 100));
	json_object_object_add(o, "cost_measured", json_object_new_boolean(ms->cost_measured));
	json_object_object_add(o, "in_target_factor", json_object_new_double(IN_TARGET_FACTOR));
	json_object_object_add(o, "alloc_hits", json_object_new_int64(
		(int64_t)ms->skel->bss->malloc_hits[LT_MH_ALLOC]));
	json_object_object_add(o, "free_hits", json_object_new_int64(
		(int64_t)ms->skel->bss->malloc_hits[LT_MH_FREE]));
	json_object_object_add(o, "returns_without_entry", json_object_new_int64(
		(int64_t)ms->skel->bss->malloc_hits[LT_MH_NO_ENTRY]));
	json_object_object_add(o, "on_share", jround(pb_on_share(&ms->pb, now), 1e4));
	json_object_object_add(o, "duty", jround(ms->pb.duty, 1e4));
	json_object_object_add(o, "windows", json_object_new_int64(ms->pb.windows));
	json_object_object_add(o, "windows_weighed_by_io", json_object_new_int64(ms->io_windows));
	json_object_object_add(o, "spent_pct", jround(pb_spent(&ms->pb, now) * 100, 1e3));
	json_object_object_add(o, "allocations_sampled", json_object_new_int64(ms->allocs));
	json_object_object_add(o, "frees_sampled", json_object_new_int64(ms->frees));
	json_object_object_add(o, "frees_of_unknown_objects", json_object_new_int64(ms->frees_unknown));
	json_object_object_add(o, "died_seen_freed", json_object_new_int64(ms->freed_seen));
	json_object_object_add(o, "died_address_reused", json_object_new_int64(ms->freed_reuse));
	json_object_object_add(o, "sampled_live", json_object_new_int64(u64map_size(&ms->live)));
	json_object_object_add(o, "attach_errors", json_object_new_int64(ms->attach_errors));
	{
		const __u64 *u = ms->skel->bss->ucopy_stats;
		json_object *c = json_object_new_object();

		/* its own, apart from the report's "unwind" counts */
		json_object_object_add(c, "copied", json_object_new_int64((int64_t)u[LT_UC_COPIED]));
		json_object_object_add(c, "not_needed", json_object_new_int64((int64_t)u[LT_UC_SKIPPED]));
		json_object_object_add(c, "ringbuf_full", json_object_new_int64((int64_t)u[LT_UC_RINGBUF]));
		json_object_object_add(c, "read_failed", json_object_new_int64((int64_t)u[LT_UC_READ_FAILED]));
		json_object_object_add(o, "stack_copies", c);
	}
	return o;
}

void malloc_site_json(const struct lt_ctx *ctx, const struct site *s,
		      struct json_object *o)
{
	const struct malloc_state *ms = ctx->malloc;
	const struct msite *m;
	json_object *x;

	if (!ms || s->id >= ms->nsites)
		return;
	m = &ms->sites[s->id];
	x = json_object_new_object();
	json_object_object_add(x, "calls", json_object_new_int64(m->calls));
	json_object_object_add(x, "live_objects", json_object_new_int64(m->live_objs));
	json_object_object_add(x, "live_bytes", json_object_new_int64(m->live_bytes));
	json_object_object_add(x, "died_seen_freed", json_object_new_int64(m->freed_seen));
	json_object_object_add(x, "died_address_reused", json_object_new_int64(m->freed_reuse));
	json_object_object_add(o, "malloc_sampled", x);
	json_object_object_add(o, "malloc_objects_estimated",
			       json_object_new_int64(m->est_objs > 0 ? llround(m->est_objs) : 0));
}

void malloc_sampling_text(const struct lt_ctx *ctx, FILE *out)
{
	const struct malloc_state *ms = ctx->malloc;
	double now = ctx->now_s;

	if (!ms)
		return;
	if (!malloc_enabled(ctx)) {
		fprintf(out, "Allocations: no native allocator found: malloc sites off\n");
		return;
	}
	fprintf(out, "Allocations: %s (%s%s%s) probed %s", ms->found.name, ms->found.module,
		ms->found.prefixed[0] ? "; " : "", ms->found.prefixed,
		was_duty_cycled(ms) ? "in duty cycles" : "throughout");
	if (was_duty_cycled(ms))
		fprintf(out, ", %.1f %% of the time", pb_on_share(&ms->pb, now) * 100);
	fprintf(out, " (%.2f %% of a core at %.1f us a call, budget %.2f %%); %llu allocations "
		"sampled, %llu seen freed, %llu found freed by address reuse\n",
		pb_spent(&ms->pb, now) * 100, ms->cost_alloc_s * 1e6, ms->pb.budget * 100,
		(unsigned long long)ms->allocs, (unsigned long long)ms->freed_seen,
		(unsigned long long)ms->freed_reuse);
}

static bool in_allocator(const struct malloc_state *ms, const struct site *s)
{
	for (int i = 0; i < s->nframes; i++) {
		const struct frame *f = &s->frames[i];

		if (frame_plumbing(f) == PLUMB_ALLOCATOR ||
		    (f->module && ms->found.module[0] &&
		     !strcmp(f->module, ms->found.module)))
			return true;
	}
	return false;
}

static int cmp_score(const void *a, const void *b)
{
	const struct site *x = *(struct site *const *)a;
	const struct site *y = *(struct site *const *)b;

	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return x->id < y->id ? -1 : 1;
}

/* The most suspect growing malloc site, NULL when none grows or when one
 * of s's own culprit function grows (then s's growth is its own: the
 * pages it first touched are those it allocated). */
static const struct site *cause_of(const struct model *m, const struct site *s)
{
	const struct site *any = NULL, *same = NULL;
	int c = site_culprit_frame(s);
	const char *fn = c >= 0 ? s->frames[c].function : NULL;

	for (size_t i = 0; i < m->n; i++) {
		const struct site *h = m->sites[i];
		int hc;

		if (h->kind != SITE_MALLOC || h->growth.slope_per_min <= 0 ||
		    (h->verdict != VERDICT_LEAK && h->verdict != VERDICT_GROWING))
			continue;
		if (!any || h->score > any->score)
			any = h;
		hc = site_culprit_frame(h);
		if (fn && hc >= 0 && h->frames[hc].function &&
		    !strcmp(h->frames[hc].function, fn) &&
		    (!same || h->score > same->score))
			same = h;
	}
	return same ? NULL : any;
}

int malloc_explain(struct lt_ctx *ctx)
{
	const struct malloc_state *ms = ctx->malloc;
	struct model *m = &ctx->model;
	bool app_maps = false;
	int marked = 0;

	if (!malloc_enabled(ctx) || !ms->allocs || !m->ranked)
		return 0;
	/* Memory the application maps itself (not through the allocator):
	 * its first touches are not allocations, keep them apart. */
	for (size_t i = 0; i < m->n; i++) {
		const struct site *s = m->sites[i];

		if ((s->kind == SITE_MMAP || s->kind == SITE_BRK) &&
		    s->growth.slope_per_min > 0 && site_culprit_frame(s) >= 0 &&
		    !in_allocator(ms, s) && (s->verdict == VERDICT_LEAK ||
					     s->verdict == VERDICT_GROWING))
			app_maps = true;
	}
	for (size_t i = 0; i < m->n; i++) {
		struct site *s = m->sites[i];
		const struct site *c;

		if ((s->kind != SITE_FAULT && s->kind != SITE_MMAP &&
		     s->kind != SITE_BRK) || s->growth.slope_per_min <= 0 ||
		    s->heap_cause)
			continue;
		if (!in_allocator(ms, s) && (app_maps || s->kind != SITE_FAULT))
			continue;
		c = cause_of(m, s);
		if (!c)
			continue;
		s->heap_cause = c->id + 1;
		s->growth.leak = false;
		s->growth.confidence = 0;
		s->verdict = VERDICT_NONE;
		s->verdict_why = "allocator memory: its growth is that of the malloc sites";
		s->score = c->score - 1e-6;
		marked++;
	}
	if (marked) {
		qsort(m->ranked, m->n, sizeof(*m->ranked), cmp_score);
		entries_build(m);
	}
	return marked;
}
