// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "trace/go.h"
#include "go.skel.h"
#include "go/goallgs.h"
#include "go/goprobes.h"
#include "go/goruntime.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "sym/symbolize.h"

#define MAX_WAIT_GROUPS 8	/* distinct park stacks tallied per site */
#define PARK_FRAMES 32

struct wait_group {
	uint64_t key;		/* hash of reason + park pcs */
	uint64_t count;
	const char *reason;
	uint64_t pcs[PARK_FRAMES];
	int npcs;
};

struct site_waits {
	struct wait_group g[MAX_WAIT_GROUPS];
	int n;
};

struct go_state {
	struct go_runtime *rt;
	struct go_probe_plan plan;
	bool have_plan;
	struct go_bpf *skel;
	struct bpf_link **links;
	int nlinks;
	struct u64map site_of;		/* goid -> site id + 1 */
	struct u64map born;		/* goid -> ktime ns at creation */
	struct site_waits *waits;	/* by site id, during a full read */
	size_t nwaits;
	int64_t count_start, count_end;
	uint64_t exits_reconciled;	/* exits found by full reads, not events */
	bool scanned;
	uint64_t bias;
};

bool go_enabled(const struct lt_ctx *ctx)
{
	return ctx->go && ctx->go->skel;
}

const char *go_version(const struct lt_ctx *ctx)
{
	return ctx->go && ctx->go->rt && ctx->go->rt->version[0] ?
	       ctx->go->rt->version : NULL;
}

uint64_t go_exits_reconciled(const struct lt_ctx *ctx)
{
	return go_enabled(ctx) ? ctx->go->exits_reconciled : 0;
}

int64_t go_count_start(const struct lt_ctx *ctx)
{
	if (!go_enabled(ctx))
		return -1;
	return ctx->go->count_start > 0 ? ctx->go->count_start : 0;
}

int64_t go_count_end(const struct lt_ctx *ctx)
{
	int64_t live = 0;

	if (!go_enabled(ctx))
		return -1;
	if (!ctx->target.exited && ctx->go->count_end >= 0)
		return ctx->go->count_end;
	/* Gone before the last read: the probes' own count is what is left. */
	for (size_t i = 0; i < ctx->model.n; i++)
		if (ctx->model.sites[i]->kind == SITE_GOROUTINE)
			live += ctx->model.sites[i]->live;
	return live;
}

static int attach(struct go_state *g, struct bpf_program *prog, pid_t pid,
		  const char *exe, uint64_t offset)
{
	struct bpf_link *l, **n;

	n = realloc(g->links, (g->nlinks + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	g->links = n;
	l = bpf_program__attach_uprobe(prog, false, pid, exe, offset);
	if (!l)
		return -errno;
	g->links[g->nlinks++] = l;
	return 0;
}

static int attach_all(struct lt_ctx *ctx, const char *exe)
{
	struct go_state *g = ctx->go;
	struct go_probe_plan *p = &g->plan;
	pid_t pid = ctx->target.pid;
	int err = 0;

	/* One probe on newproc's runqput call when the code is as expected
	 * (a CALL is emulated, its NOP padding is not even trapped on 6.18+),
	 * else every RET of newproc1 (each single-stepped: two traps). */
	if (p->newg.found)
		err = attach(g, g->skel->progs.lt_go_new, pid, exe,
			     p->newg.offset);
	for (int i = 0; !p->newg.found && i < p->newproc1.nrets && !err; i++)
		err = attach(g, g->skel->progs.lt_go_new, pid, exe,
			     p->newproc1.ret_offsets[i]);
	/* gopark fires on every channel block and its RETs on every wake:
	 * two uprobe hits per block (measured: ping-pong 3.5M -> 10k ops/s on
	 * a VM), so only on request. Parked state comes from reading the
	 * goroutines otherwise. */
	if (!err && ctx->opts.go_parks)
		err = attach(g, g->skel->progs.lt_go_gopark, pid, exe,
			     p->gopark.entry_offset);
	for (int i = 0; i < p->gopark.nrets && !err && ctx->opts.go_parks; i++)
		err = attach(g, g->skel->progs.lt_go_gopark_ret, pid, exe,
			     p->gopark.ret_offsets[i]);
	if (!err)
		err = attach(g, g->skel->progs.lt_go_exit, pid, exe,
			     p->gexit_call.found ? p->gexit_call.offset
						 : p->gexit.entry_offset);
	if (err)
		lt_err("cannot attach Go runtime uprobes to %s: %s\n", exe,
		       strerror(-err));
	return err;
}

int go_open(struct lt_ctx *ctx, const char *exe, int stacks_fd, int events_fd)
{
	char msg[256] = "";
	struct go_state *g;
	int err;

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	ctx->go = g;
	g->count_start = g->count_end = -1;
	u64map_init(&g->site_of);
	u64map_init(&g->born);
	err = go_runtime_open(exe, &g->rt, msg, sizeof(msg));
	if (err == -ENOENT) {
		lt_note("%s is not a Go binary: goroutine tracing is off\n",
			ctx->target.comm[0] ? ctx->target.comm : exe);
		return 0;
	}
	if (err) {
		lt_warn("goroutine tracing is off: %s\n",
			msg[0] ? msg : strerror(-err));
		return 0;	/* memory and threads still work */
	}
	err = go_probes_plan(g->rt, &g->plan);
	if (err) {
		lt_warn("goroutine tracing is off: runtime functions not found in %s (%s)\n",
			exe, strerror(-err));
		return 0;
	}
	g->have_plan = true;
	lt_debug("go probes: creation %s, exit %s\n",
		 !g->plan.newg.found ? "at newproc1's RETs" :
		 g->plan.newg.nop5 ? "at runqput's NOP padding" : "at the runqput call",
		 !g->plan.gexit_call.found ? "at function entry" :
		 g->plan.gexit_call.nop5 ? "at gdestroy's NOP padding" : "at the gdestroy call");
	g->skel = go_bpf__open();
	if (!g->skel)
		return -errno;
	g->skel->rodata->targ_tgid = target_host_pid(&ctx->target);
	g->skel->rodata->fp_jumps = true;
	g->skel->rodata->wakeup_bytes = ctx->wakeup_bytes;
	g->skel->rodata->off_goid = g->rt->off.goid;
	g->skel->rodata->off_parent_goid =
		g->rt->off.parent_goid > 0 ? g->rt->off.parent_goid : 0;
	g->skel->rodata->off_gopc = g->rt->off.gopc;
	g->skel->rodata->off_startpc = g->rt->off.startpc;
	g->skel->rodata->newg_in_rbx = g->plan.newg.found;
	g->skel->rodata->track_parks = ctx->opts.go_parks;
	if ((err = bpf_map__reuse_fd(g->skel->maps.stacks, stacks_fd)) ||
	    (err = bpf_map__reuse_fd(g->skel->maps.events, events_fd)) ||
	    (err = bpf_map__set_max_entries(g->skel->maps.parked,
					    ctx->opts.max_goroutines))) {
		lt_err("cannot set up Go BPF maps: %s\n", strerror(-err));
		return err;
	}
	err = go_bpf__load(g->skel);
	if (err) {
		err = -errno;
		lt_err("cannot load the Go BPF programs: %s\n", strerror(-err));
		return err;
	}
	return attach_all(ctx, exe);
}

void go_close(struct lt_ctx *ctx)
{
	struct go_state *g = ctx->go;

	if (!g)
		return;
	for (int i = 0; i < g->nlinks; i++)
		bpf_link__destroy(g->links[i]);
	free(g->links);
	go_bpf__destroy(g->skel);
	if (g->have_plan)
		go_probes_free(&g->plan);
	go_runtime_close(g->rt);
	u64map_free(&g->site_of);
	u64map_free(&g->born);
	free(g->waits);
	free(g);
	ctx->go = NULL;
}

/* No new records from now on (before the last drain). */
void go_stop(struct lt_ctx *ctx)
{
	if (go_enabled(ctx) && ctx->go->skel->bss)
		ctx->go->skel->bss->lt_stop = 1;
}

void go_drops(const struct lt_ctx *ctx, uint64_t *out)
{
	if (!go_enabled(ctx) || !ctx->go->skel->bss)
		return;
	for (int i = 0; i < LT_DROP_MAX; i++)
		out[i] += ctx->go->skel->bss->drops[i];
}

static void forget_goroutine(struct lt_ctx *ctx, uint64_t goid)
{
	struct go_state *g = ctx->go;
	struct site *s;
	uint64_t id;

	if (!u64map_get(&g->site_of, goid, &id))
		return;
	s = model_get(&ctx->model, id - 1);
	if (s && s->live > 0)
		s->live--;
	u64map_del(&g->site_of, goid);
	u64map_del(&g->born, goid);
}

void go_handle(struct lt_ctx *ctx, const struct lt_go_event *e)
{
	struct go_state *g = ctx->go;
	struct site *s;

	if (!go_enabled(ctx))
		return;
	if (e->type == LT_EV_GO_NEW) {
		s = stacks_site(&ctx->stacks, &ctx->model, SITE_GOROUTINE,
				e->stack_id);
		if (!s)
			return;
		s->live++;
		s->created++;
		u64map_put(&g->site_of, e->goid, s->id + 1);
		u64map_put(&g->born, e->goid, e->ts_ns);
		return;
	}
	if (e->type == LT_EV_GO_EXIT)
		forget_goroutine(ctx, e->goid);
}

/* Where a goroutine waits: its wait reason and park stack, hashed. */
static uint64_t park_key(const struct go_g *gg)
{
	uint64_t key = 0xcbf29ce484222325ULL ^ gg->waitreason;
	int n = gg->npcs < PARK_FRAMES ? gg->npcs : PARK_FRAMES;

	if (gg->status != GO_G_WAITING)
		return 0;
	for (int i = 0; i < n; i++)
		key = (key ^ gg->pcs[i]) * 0x100000001b3ULL;
	return key;
}

/* Site of a goroutine the probes did not see created: its go statement is
 * all the runtime keeps. Such goroutines are grouped by where they wait. */
static struct site *preexisting_site(struct lt_ctx *ctx, const struct go_g *gg)
{
	struct frame f[8];
	int n = gg->gopc ? stacks_symbolize(ctx->sym, gg->gopc, true, f, 8) : 0;

	return model_site_keyed(&ctx->model, SITE_GOROUTINE, f, n,
				SITE_F_PREEXISTING, park_key(gg));
}

static struct site_waits *waits_of(struct go_state *g, uint32_t id)
{
	if (id >= g->nwaits) {
		size_t n = id + 64;
		struct site_waits *w = realloc(g->waits, n * sizeof(*w));

		if (!w)
			return NULL;
		memset(w + g->nwaits, 0, (n - g->nwaits) * sizeof(*w));
		g->waits = w;
		g->nwaits = n;
	}
	return &g->waits[id];
}

static void tally_wait(struct go_state *g, struct site *s, const struct go_g *gg)
{
	struct site_waits *w = waits_of(g, s->id);
	uint64_t key = park_key(gg);
	int n = gg->npcs < PARK_FRAMES ? gg->npcs : PARK_FRAMES, i;

	if (!w)
		return;
	for (i = 0; i < w->n; i++) {
		if (w->g[i].key == key) {
			w->g[i].count++;
			return;
		}
	}
	if (w->n == MAX_WAIT_GROUPS)
		return;
	w->g[w->n].key = key;
	w->g[w->n].count = 1;
	w->g[w->n].reason = gg->waitreason_name;
	memcpy(w->g[w->n].pcs, gg->pcs, n * sizeof(uint64_t));
	w->g[w->n].npcs = n;
	w->n++;
}

struct scan {
	struct lt_ctx *ctx;
	bool initial;
	int64_t count;
	uint64_t now_ns;	/* CLOCK_MONOTONIC, the runtime's nanotime */
	struct u64map seen;	/* tracked goids found alive */
};

static int on_g(const struct go_g *gg, void *arg)
{
	struct scan *sc = arg;
	struct go_state *g = sc->ctx->go;
	struct site *s = NULL;
	uint64_t id;

	if (gg->status == GO_G_DEAD || gg->status == GO_G_IDLE)
		return 0;
	sc->count++;
	g->bias = gg->bias;
	if (u64map_get(&g->site_of, gg->goid, &id)) {
		s = model_get(&sc->ctx->model, id - 1);
		u64map_put(&sc->seen, gg->goid, 1);
	} else if (sc->initial) {
		s = preexisting_site(sc->ctx, gg);
		if (s) {
			s->live++;
			u64map_put(&g->site_of, gg->goid, s->id + 1);
		}
	}
	if (s && gg->status == GO_G_WAITING) {
		tally_wait(g, s, gg);
		/* waitsince is stamped by the GC; it ages goroutines parked
		 * before attach too. */
		if (gg->waitsince > 0 && sc->now_ns > (uint64_t)gg->waitsince) {
			double age = (double)(sc->now_ns - gg->waitsince) / 1e9;

			if (age > s->parked_s)
				s->parked_s = age;
		}
	}
	return 0;
}

static void apply_waits(struct lt_ctx *ctx)
{
	struct go_state *g = ctx->go;

	for (size_t i = 0; i < g->nwaits && i < ctx->model.n; i++) {
		struct site_waits *w = &g->waits[i];
		struct site *s = ctx->model.sites[i];
		struct wait_group *best = NULL;
		struct frame *f;
		int n = 0;

		for (int k = 0; k < w->n; k++)
			if (!best || w->g[k].count > best->count)
				best = &w->g[k];
		if (!best || s->kind != SITE_GOROUTINE)
			continue;
		f = calloc(best->npcs * 4 + 1, sizeof(*f));
		if (!f)
			continue;
		for (int k = 0; k < best->npcs; k++)
			n += stacks_symbolize(ctx->sym, best->pcs[k], true, f + n, 4);
		free(s->wait_frames);
		s->wait_frames = f;
		s->nwait = n;
		s->wait_reason = best->reason;
		s->waiting = best->count;
	}
	memset(g->waits, 0, g->nwaits * sizeof(*g->waits));
}

/* Goroutines we track that a full read did not find alive, though they
 * were created before it began, exited without their exit reaching us
 * (ring buffer full): without this they would stay "live" for ever and
 * look like a leak. */
static void reconcile_exits(struct lt_ctx *ctx, const struct u64map *seen,
			    uint64_t read_start_ns)
{
	struct go_state *g = ctx->go;
	uint64_t goid, id, born, *gone = NULL;
	size_t i = 0, n = 0, cap = 0;

	while (u64map_next(&g->site_of, &i, &goid, &id)) {
		if (u64map_get(seen, goid, &born) ||
		    (u64map_get(&g->born, goid, &born) && born >= read_start_ns))
			continue;
		if (n == cap) {
			uint64_t *v = realloc(gone, (cap = cap ? cap * 2 : 64) *
						    sizeof(*v));

			if (!v)
				break;
			gone = v;
		}
		gone[n++] = goid;
	}
	for (size_t k = 0; k < n; k++)
		forget_goroutine(ctx, gone[k]);
	g->exits_reconciled += n;
	if (n)
		lt_info("%zu goroutines exited unseen (events dropped)\n", n);
	free(gone);
}

static void full_read(struct lt_ctx *ctx, bool initial)
{
	struct go_state *g = ctx->go;
	struct go_allgs_opts opts = { .max_frames = PARK_FRAMES };
	struct go_allgs_stats st = {};
	struct scan sc = { .ctx = ctx, .initial = initial };

	u64map_init(&sc.seen);
	struct timespec a, b;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &a);
	sc.now_ns = (uint64_t)a.tv_sec * 1000000000ULL + a.tv_nsec;
	if (!ctx->opts.go_parks)	/* else parked_since() just set them */
		for (size_t k = 0; k < ctx->model.n; k++)
			ctx->model.sites[k]->parked_s = -1;
	err = go_read_allgs(ctx->target.pid, g->rt, &opts, on_g, &sc, &st);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (err) {
		if (initial)
			lt_warn("cannot read the existing goroutines: %s\n",
				strerror(-err));
		return;
	}
	lt_info("read %lld goroutines in %.1f ms (%zu reads)\n",
		(long long)sc.count,
		(b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6,
		st.syscalls);
	if (initial)
		g->count_start = sc.count;
	g->count_end = sc.count;
	apply_waits(ctx);
	if (!initial)
		reconcile_exits(ctx, &sc.seen, sc.now_ns);
	u64map_free(&sc.seen);
}

void go_scan_existing(struct lt_ctx *ctx)
{
	if (!go_enabled(ctx) || ctx->go->scanned)
		return;
	ctx->go->scanned = true;
	full_read(ctx, true);
}

/* Oldest live goroutine per site: creation time for traced ones, at least
 * the whole trace for those alive at attach. */
static void ages(struct lt_ctx *ctx)
{
	struct go_state *g = ctx->go;
	struct timespec now;
	uint64_t goid, born, id, now_ns;
	size_t i = 0;

	clock_gettime(CLOCK_MONOTONIC, &now);
	now_ns = (uint64_t)now.tv_sec * 1000000000ULL + now.tv_nsec;
	for (size_t k = 0; k < ctx->model.n; k++) {
		struct site *s = ctx->model.sites[k];

		if (s->kind == SITE_GOROUTINE)
			s->oldest_s = s->preexisting && s->live > 0 ? ctx->now_s : -1;
	}
	while (u64map_next(&g->born, &i, &goid, &born)) {
		struct site *s;
		double age;

		if (!u64map_get(&g->site_of, goid, &id))
			continue;
		s = model_get(&ctx->model, id - 1);
		age = now_ns > born ? (double)(now_ns - born) / 1e9 : 0;
		if (s && age > s->oldest_s)
			s->oldest_s = age;
	}
}

/* Longest current park per site, from the gopark probes' map. */
static void parked_since(struct lt_ctx *ctx)
{
	struct go_state *g = ctx->go;
	int fd = bpf_map__fd(g->skel->maps.parked);
	struct timespec now;
	uint64_t key, next, id, now_ns;
	struct { uint64_t since_ns, caller_pc; uint32_t reason, pad; } p;
	bool have;

	clock_gettime(CLOCK_MONOTONIC, &now);
	now_ns = (uint64_t)now.tv_sec * 1000000000ULL + now.tv_nsec;
	for (size_t k = 0; k < ctx->model.n; k++)
		ctx->model.sites[k]->parked_s = -1;
	have = !bpf_map_get_next_key(fd, NULL, &key);
	while (have) {
		bool more = !bpf_map_get_next_key(fd, &key, &next);

		if (!bpf_map_lookup_elem(fd, &key, &p) &&
		    u64map_get(&g->site_of, key, &id)) {
			struct site *s = model_get(&ctx->model, id - 1);
			double age = now_ns > p.since_ns ?
				     (double)(now_ns - p.since_ns) / 1e9 : 0;

			if (s && age > s->parked_s)
				s->parked_s = age;
		}
		have = more;
		key = next;
	}
}

void go_collect(struct lt_ctx *ctx, bool full)
{
	if (!go_enabled(ctx))
		return;
	ages(ctx);
	if (!full)
		return;
	if (ctx->opts.go_parks)
		parked_since(ctx);
	full_read(ctx, false);
}
