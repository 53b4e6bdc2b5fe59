// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Goroutines, read side: every full read of runtime.allgs recounts the
 * live goroutines of every site. A goroutine whose creation a probe saw
 * counts for that creation stack; one alive at attach for its go statement
 * and park stack; one created while the creation probe was off is given to
 * the creation stacks sampled for its go statement (those whose probed
 * goroutines wait where it waits, else those with probed goroutines alive,
 * else in proportion to creations seen), or, when none was ever sampled,
 * to a site of its go statement alone, whose statement then gets a probe of
 * its own. Reads are paced by their own measured cost.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "go.skel.h"
#include "go/goallgs.h"
#include "go/goruntime.h"
#include "stack/stacks.h"
#include "trace/go.h"
#include "trace/go_int.h"
#include "util/log.h"

/* Goroutines created while the creation probe was off, by go statement
 * and where they wait. */
struct unsampled {
	uint64_t gopc;
	struct wait_group w;	/* key, count, reason, park stack */
	int64_t leaked;		/* of which _Gleaked */
	int64_t running, runnable;	/* of which running (or in a syscall),
					 * runnable */
	uint64_t parent_goid;	/* of the first one */
};

struct scan {
	struct lt_target *ctx;
	bool initial;
	int64_t count;
	int64_t leaked;
	uint64_t now_ns;	/* CLOCK_MONOTONIC, the runtime's nanotime */
	struct u64map seen;	/* tracked goids found alive */
	struct u64map groups;	/* (gopc, park key) -> index + 1 */
	struct unsampled *un;
	size_t nun, cap;
	struct u64map parent;	/* preexisting site id -> a parent goid */
	struct u64map goid_site;	/* goid -> site id + 1, all found */
};

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + t.tv_nsec;
}

/* Where a goroutine waits: its wait reason and park stack, hashed. */
static uint64_t park_key(const struct go_g *gg)
{
	uint64_t key = 0xcbf29ce484222325ULL ^ gg->waitreason;
	int n = gg->npcs < PARK_FRAMES ? gg->npcs : PARK_FRAMES;

	if (gg->status != GO_G_WAITING && gg->status != GO_G_LEAKED)
		return 0;
	for (int i = 0; i < n; i++)
		key = (key ^ gg->pcs[i]) * 0x100000001b3ULL;
	return key;
}

static struct site *gostmt_site(struct lt_target *ctx, uint64_t gopc,
				unsigned int flags, uint64_t extra)
{
	struct frame f[8];
	int n = gopc ? stacks_symbolize(ctx->sym, gopc, true, f, 8) : 0;

	return model_site_keyed(&ctx->model, SITE_GOROUTINE, f, n, flags, extra);
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

static void tally(struct go_state *g, struct site *s, const struct wait_group *in)
{
	struct site_waits *w = waits_of(g, s->id);

	if (!w || !in->count)
		return;
	for (int i = 0; i < w->n; i++) {
		if (w->g[i].key == in->key) {
			w->g[i].count += in->count;
			return;
		}
	}
	if (w->n < MAX_WAIT_GROUPS)
		w->g[w->n++] = *in;
}

static void wait_of(const struct go_g *gg, struct wait_group *w)
{
	int n = gg->npcs < PARK_FRAMES ? gg->npcs : PARK_FRAMES;

	w->key = park_key(gg);
	w->count = 1;
	w->reason = w->key ? gg->waitreason_name : NULL;
	w->npcs = w->key ? n : 0;
	if (w->npcs)
		memcpy(w->pcs, gg->pcs, n * sizeof(uint64_t));
}

static bool is_running(const struct go_g *gg)
{
	return gg->status == GO_G_RUNNING || gg->status == GO_G_SYSCALL;
}

static void add_unsampled(struct scan *sc, const struct go_g *gg)
{
	uint64_t key = (gg->gopc * 0x9e3779b97f4a7c15ULL) ^ park_key(gg), i;
	struct unsampled *u;

	if (u64map_get(&sc->groups, key, &i)) {
		u = &sc->un[i - 1];
		u->w.count++;
		u->leaked += gg->status == GO_G_LEAKED;
		u->running += is_running(gg);
		u->runnable += gg->status == GO_G_RUNNABLE;
		return;
	}
	if (sc->nun == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 64;
		struct unsampled *v = realloc(sc->un, cap * sizeof(*v));

		if (!v)
			return;
		sc->un = v;
		sc->cap = cap;
	}
	u = &sc->un[sc->nun++];
	memset(u, 0, sizeof(*u));
	u->gopc = gg->gopc;
	wait_of(gg, &u->w);
	u->leaked = gg->status == GO_G_LEAKED;
	u->running = is_running(gg);
	u->runnable = gg->status == GO_G_RUNNABLE;
	u->parent_goid = gg->parent_goid;
	u64map_put(&sc->groups, key, sc->nun);
}

static void count_in(struct scan *sc, struct site *s, const struct go_g *gg)
{
	struct go_state *g = sc->ctx->go;
	struct wait_group w;

	s->live++;
	s->runtime_leaked += gg->status == GO_G_LEAKED;
	s->running += is_running(gg);
	s->runnable += gg->status == GO_G_RUNNABLE;
	wait_of(gg, &w);
	tally(g, s, &w);
	/* waitsince is stamped by the GC; it ages goroutines parked before
	 * attach too. */
	if (w.key && gg->waitsince > 0 && sc->now_ns > (uint64_t)gg->waitsince) {
		double age = (double)(sc->now_ns - gg->waitsince) / 1e9;

		if (age > s->parked_s)
			s->parked_s = age;
	}
}

static int on_g(const struct go_g *gg, void *arg)
{
	struct scan *sc = arg;
	struct go_state *g = sc->ctx->go;
	struct go_site_info *in;
	struct site *s = NULL;
	uint64_t id;

	if (gg->status == GO_G_DEAD || gg->status == GO_G_IDLE ||
	    gg->status == GO_G_DEADEXTRA)
		return 0;
	sc->count++;
	sc->leaked += gg->status == GO_G_LEAKED;
	g->bias = gg->bias;
	g->have_bias = true;
	if (u64map_get(&g->site_of, gg->goid, &id)) {
		s = model_get(&sc->ctx->model, id - 1);
		u64map_put(&sc->seen, gg->goid, 1);
		if (s && !s->preexisting && (in = go_info(g, s->id)))
			in->read_probed++;
	} else if (sc->initial) {
		/* Alive at attach: its go statement is all the runtime
		 * keeps; grouped by where it waits. */
		s = gostmt_site(sc->ctx, gg->gopc, SITE_F_PREEXISTING, park_key(gg));
		if (s) {
			u64map_put(&g->site_of, gg->goid, s->id + 1);
			if (gg->parent_goid && !u64map_get(&sc->parent, s->id, NULL))
				u64map_put(&sc->parent, s->id, gg->parent_goid);
		}
	} else {
		add_unsampled(sc, gg);
		return 0;
	}
	if (s) {
		count_in(sc, s, gg);
		u64map_put(&sc->goid_site, gg->goid, s->id + 1);
	}
	return 0;
}

/* Shares of n by weights, largest remainders first. */
static void split(int64_t n, const double *w, int k, int64_t *out)
{
	double sum = 0, rem[64];
	int64_t given = 0;

	for (int i = 0; i < k; i++)
		sum += w[i];
	for (int i = 0; i < k; i++) {
		double x = sum > 0 ? n * w[i] / sum : 0;

		out[i] = (int64_t)floor(x);
		rem[i] = x - out[i];
		given += out[i];
	}
	while (given < n) {
		int best = 0;

		for (int i = 1; i < k; i++)
			if (rem[i] > rem[best])
				best = i;
		out[best]++;
		rem[best] = -1;
		given++;
	}
}

/* Candidates among the sites sampled for gopc: rule 0 those whose probed
 * goroutines wait at key, 1 those with probed goroutines alive, 2 those
 * with creations seen. */
static int candidates(struct lt_target *ctx, uint64_t gopc, uint64_t key,
		      int rule, struct site **c, double *w, int max)
{
	struct go_state *g = ctx->go;
	int k = 0;

	for (size_t i = 0; i < ctx->model.n && k < max; i++) {
		struct site *s = ctx->model.sites[i];
		struct go_site_info *in = i < g->ninfo ? &g->info[i] : NULL;
		double weight = 0;

		if (s->kind != SITE_GOROUTINE || s->preexisting || s->stmt_only ||
		    !in || in->gopc != gopc)
			continue;
		if (rule == 0 && key && i < g->nwaits) {
			for (int j = 0; j < g->waits[i].n; j++)
				if (g->waits[i].g[j].key == key)
					weight = g->waits[i].g[j].count;
			weight = in->read_probed ? fmin(weight, in->read_probed) : 0;
		} else if (rule == 1) {
			weight = in->read_probed;
		} else if (rule == 2) {
			weight = s->created;
		}
		if (weight > 0) {
			c[k] = s;
			w[k++] = weight;
		}
	}
	return k;
}

/* Gives each group of unsampled goroutines to the creation stacks sampled
 * for its go statement. */
static void place_unsampled(struct scan *sc)
{
	struct lt_target *ctx = sc->ctx;
	struct go_state *g = ctx->go;
	struct site *c[64];
	double w[64];
	int64_t share[64];

	g->unsampled = 0;
	for (size_t i = 0; i < sc->nun; i++) {
		struct unsampled *u = &sc->un[i];
		int k = 0;

		g->unsampled += u->w.count;
		for (int rule = 0; rule < 3 && !k; rule++)
			k = candidates(ctx, u->gopc, u->w.key, rule, c, w, 64);
		if (!k) {
			struct site *s = gostmt_site(ctx, u->gopc, 0,
						     u->w.key ^ 0x5eedULL);

			if (!s)
				continue;
			s->stmt_only = true;
			c[0] = s;
			w[0] = 1;
			k = 1;
			go_stmt_want(ctx, u->gopc);
		}
		split(u->w.count, w, k, share);
		for (int j = 0; j < k; j++) {
			struct wait_group part = u->w;

			if (!share[j])
				continue;
			part.count = share[j];
			c[j]->live += share[j];
			c[j]->unsampled += share[j];
			if (u->leaked)
				c[j]->runtime_leaked += (int64_t)llround(
					(double)u->leaked * share[j] / u->w.count);
			c[j]->running += (int64_t)llround(
				(double)u->running * share[j] / u->w.count);
			c[j]->runnable += (int64_t)llround(
				(double)u->runnable * share[j] / u->w.count);
			tally(g, c[j], &part);
		}
	}
}

static void apply_waits(struct lt_target *ctx)
{
	struct go_state *g = ctx->go;

	for (size_t i = 0; i < g->nwaits && i < ctx->model.n; i++) {
		struct site_waits *w = &g->waits[i];
		struct site *s = ctx->model.sites[i];
		struct wait_group *best = NULL;
		struct frame *f;
		int n = 0;

		if (s->kind != SITE_GOROUTINE)
			continue;
		s->waiting = 0;
		for (int k = 0; k < w->n; k++) {
			if (!w->g[k].key)
				continue;	/* running or runnable */
			s->waiting += w->g[k].count;
			if (!best || w->g[k].count > best->count)
				best = &w->g[k];
		}
		if (!best)
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
	}
	if (g->nwaits)
		memset(g->waits, 0, g->nwaits * sizeof(*g->waits));
}

/* Goroutines we track that a full read did not find alive, though they
 * were created before it began, have exited. */
static void forget_exited(struct lt_target *ctx, const struct u64map *seen,
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
			uint64_t *v = realloc(gone, (cap = cap ? cap * 2 : 256) *
						    sizeof(*v));

			if (!v)
				break;
			gone = v;
		}
		gone[n++] = goid;
	}
	for (size_t k = 0; k < n; k++) {
		u64map_del(&g->site_of, gone[k]);
		u64map_del(&g->born, gone[k]);
	}
	g->exits_by_reads += n;
	free(gone);
}

/* Goroutines alive at attach: their creator, when a read found it alive,
 * is the creator's site (where it waits now is in that site's stack). */
static void link_parents(struct scan *sc)
{
	struct lt_target *ctx = sc->ctx;
	uint64_t sid, parent, psid;
	size_t i = 0;

	while (u64map_next(&sc->parent, &i, &sid, &parent)) {
		struct site *s = model_get(&ctx->model, sid), *p;

		if (!s || s->creator || !u64map_get(&sc->goid_site, parent, &psid))
			continue;
		p = model_get(&ctx->model, psid - 1);
		if (p && p != s)
			s->creator = p;
	}
}

void go_full_read(struct lt_target *ctx, bool initial)
{
	struct go_state *g = ctx->go;
	struct go_allgs_opts opts = { .max_frames = PARK_FRAMES };
	struct go_allgs_stats st = {};
	struct scan sc = { .ctx = ctx, .initial = initial };
	struct kept {
		int64_t live, unsampled, leaked, running, runnable;
		double parked_s;
	} *keep = NULL;
	size_t nkeep = 0;
	uint64_t t0, t1;
	double ms = 0, gap;
	int err;

	u64map_init(&sc.seen);
	u64map_init(&sc.groups);
	u64map_init(&sc.parent);
	u64map_init(&sc.goid_site);
	t0 = sc.now_ns = now_ns();
	/* Counts start from zero; a read that fails (the target exits)
	 * leaves those of the last good read. */
	keep = calloc(ctx->model.n + 1, sizeof(*keep));
	if (!keep)
		goto out;
	nkeep = ctx->model.n;
	for (size_t k = 0; k < nkeep; k++) {
		struct site *s = ctx->model.sites[k];

		if (s->kind != SITE_GOROUTINE)
			continue;
		keep[k] = (struct kept){ s->live, s->unsampled, s->runtime_leaked,
					 s->running, s->runnable, s->parked_s };
		s->live = s->unsampled = s->runtime_leaked = 0;
		s->running = s->runnable = 0;
		if (!ctx->opts->go_parks)	/* else parked_since() set it */
			s->parked_s = -1;
		if (k < g->ninfo)
			g->info[k].read_probed = 0;
	}
	err = go_read_allgs(ctx->target.pid, g->rt, &opts, on_g, &sc, &st);
	t1 = now_ns();
	ms = (double)(t1 - t0) / 1e6;
	if (err) {
		if (initial)
			lt_warn("cannot read the existing goroutines: %s\n",
				strerror(-err));
		for (size_t k = 0; k < ctx->model.n; k++) {
			struct site *s = ctx->model.sites[k];
			struct kept z = {};
			struct kept *v = k < nkeep ? &keep[k] : &z;

			if (s->kind != SITE_GOROUTINE)
				continue;
			s->live = v->live;
			s->unsampled = v->unsampled;
			s->runtime_leaked = v->leaked;
			s->running = v->running;
			s->runnable = v->runnable;
			s->parked_s = k < nkeep ? v->parked_s : -1;
		}
		goto out;
	}
	place_unsampled(&sc);
	apply_waits(ctx);
	if (initial) {
		g->count_start = sc.count;
		link_parents(&sc);
	} else {
		forget_exited(ctx, &sc.seen, t0);
	}
	g->count_end = sc.count;
	g->runtime_leaked = sc.leaked;
	lt_info("read %lld goroutines in %.1f ms (%zu reads)\n",
		(long long)sc.count, ms, st.syscalls);
out:
	/* Paced by their own cost: at most READ_BUDGET of a core. */
	gap = ms / 1e3 / READ_BUDGET;
	g->next_read_s = ctx->now_s + gap;
	g->read_ms_last = ms;
	g->read_ms_sum += ms;
	if (ms > g->read_ms_max)
		g->read_ms_max = ms;
	if (!g->nreads++)
		g->first_read_s = ctx->now_s;
	g->last_read_s = ctx->now_s;
	u64map_free(&sc.seen);
	u64map_free(&sc.groups);
	u64map_free(&sc.parent);
	u64map_free(&sc.goid_site);
	free(sc.un);
	free(keep);
}

/* Oldest live goroutine per site: creation time for traced ones, at least
 * the whole trace for those alive at attach. */
void go_ages(struct lt_target *ctx)
{
	struct go_state *g = ctx->go;
	uint64_t goid, born, id, now = now_ns();
	size_t i = 0;

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
		age = now > born ? (double)(now - born) / 1e9 : 0;
		if (s && s->live > 0 && age > s->oldest_s)
			s->oldest_s = age;
	}
}

/* Longest current park per site, from the gopark probes' map (the
 * executable's: this process's entries only). */
void go_parked_since(struct lt_target *ctx)
{
	struct go_state *g = ctx->go;
	int fd = bpf_map__fd(g->exe->skel->maps.parked);
	struct lt_park_key key, next;
	uint64_t id, now = now_ns();
	struct lt_parked p;
	bool have;

	for (size_t k = 0; k < ctx->model.n; k++)
		ctx->model.sites[k]->parked_s = -1;
	have = !bpf_map_get_next_key(fd, NULL, &key);
	while (have) {
		bool more = !bpf_map_get_next_key(fd, &key, &next);

		if (key.tgid == g->tgid &&
		    !bpf_map_lookup_elem(fd, &key, &p) &&
		    u64map_get(&g->site_of, key.goid, &id)) {
			struct site *s = model_get(&ctx->model, id - 1);
			double age = now > p.since_ns ?
				     (double)(now - p.since_ns) / 1e9 : 0;

			if (s && age > s->parked_s)
				s->parked_s = age;
		}
		have = more;
		key = next;
	}
}
