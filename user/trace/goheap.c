// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The `heap` site kind (goheap.h).
 *
 * Every interval the runtime's heap profile is read (go/goheap.c); its
 * counts change only when the runtime publishes them (a GC cycle's mark
 * termination, then the end of its sweep), so sites are updated only
 * when they changed, and the time we first saw them is kept: the counts
 * are at least that old. Values are absolute (since the process
 * started), so nothing is ever counted twice. In-use and allocated
 * objects and bytes are scaled as pprof scales them. Buckets of the same
 * stack (one per object size) add up to one site; a stack is symbolized
 * once (cached by the hash of its PCs).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "trace/goheap.h"
#include "go/goheap.h"
#include "go/goruntime.h"
#include "stack/stacks.h"
#include "util/hashmap.h"
#include "util/log.h"

#define MAX_FRAMES 256		/* logical frames kept per stack */
#define EXPLAIN_FRACTION 0.25	/* heap growth / fault growth to explain it */

/* Per heap site, by site id: what the last cycle summed, and where the
 * trace began for it (for rates and "given back since attach"). */
struct hsite {
	double live, bytes, alloc_obj, alloc_bytes, freed;
	double alloc0, freed0, t0;
	bool have0;
};

struct goheap {
	struct go_runtime *rt;
	struct go_heap h;
	enum goheap_state state;
	char msg[320];
	struct u64map site_of;	/* hash of a bucket's PCs -> site id + 1 */
	struct hsite *hs;
	size_t nhs;
	struct goheap_info info;
	bool have_cycle;
	uint64_t sum;		/* hash of the counts last applied */
};

static const char *const state_names[] = {
	[GOHEAP_NOT_GO] = "not_go", [GOHEAP_ON] = "on",
	[GOHEAP_OFF_LINKER] = "off_by_linker", [GOHEAP_RATE_ZERO] = "rate_zero",
	[GOHEAP_UNSUPPORTED] = "unsupported", [GOHEAP_UNREADABLE] = "unreadable",
};

int goheap_open(struct lt_target *ctx, const char *exe)
{
	struct goheap *g = calloc(1, sizeof(*g));
	char err[256] = "";
	int ret;

	if (!g)
		return -ENOMEM;
	ctx->heap = g;
	u64map_init(&g->site_of);
	g->state = GOHEAP_NOT_GO;
	ret = go_runtime_get(exe, &g->rt, err, sizeof(err));
	if (ret)
		return 0;	/* not Go, or said by the goroutine tracker */
	ret = go_heap_open(g->rt, &g->h, err, sizeof(err));
	if (ret) {
		g->state = GOHEAP_UNSUPPORTED;
		snprintf(g->msg, sizeof(g->msg), "heap profile not read: %s", err);
		return 0;
	}
	g->info.how = g->h.how;
	if (g->h.off_by_linker) {
		g->state = GOHEAP_OFF_LINKER;
		snprintf(g->msg, sizeof(g->msg),
			 "heap profile off in this binary: link runtime/pprof "
			 "(or net/http/pprof) to let leaktrace name the Go "
			 "functions whose allocations are kept; fault/mmap "
			 "sites only");
		return 0;
	}
	g->state = GOHEAP_ON;
	lt_debug("heap profile: layout from %s, variables from %s\n",
		 g->h.lay.from_dwarf ? "DWARF" : "tables", g->h.how);
	return 0;
}

void goheap_close(struct lt_target *ctx)
{
	struct goheap *g = ctx->heap;

	if (!g)
		return;
	go_runtime_put(g->rt);
	u64map_free(&g->site_of);
	free(g->hs);
	free(g);
	ctx->heap = NULL;
}

static struct hsite *hsite_of(struct goheap *g, uint32_t id)
{
	if (id >= g->nhs) {
		size_t n = id + 256;
		struct hsite *v = realloc(g->hs, n * sizeof(*v));

		if (!v)
			return NULL;
		memset(v + g->nhs, 0, (n - g->nhs) * sizeof(*v));
		g->hs = v;
		g->nhs = n;
	}
	return &g->hs[id];
}

static bool is_runtime(const char *fn)
{
	return fn && (!strncmp(fn, "runtime.", 8) ||
		      !strncmp(fn, "runtime/internal/", 17) ||
		      !strncmp(fn, "internal/runtime/", 17));
}

static uint64_t stack_hash(const struct go_heap_rec *r)
{
	uint64_t h = LT_HASH_INIT;

	for (uint32_t i = 0; i < r->nstk; i++)
		h = lt_hash_u64(h, r->stk[i]);
	return lt_hash_u64(h, r->nstk);
}

/* The PCs are logical return PCs, inlined frames already expanded: each
 * names one frame, the innermost at pc - 1. Leading runtime frames are
 * dropped as pprof drops them (Go 1.26+ keeps up to two). */
static struct site *site_for(struct lt_target *ctx, struct goheap *g,
			     const struct go_heap_rec *r)
{
	uint64_t key = stack_hash(r), id;
	struct frame fr[MAX_FRAMES], tmp[8];
	int n = 0, first = 0;
	unsigned int flags = 0;
	struct site *s;

	if (u64map_get(&g->site_of, key, &id))
		return model_get(&ctx->model, id - 1);
	for (uint32_t i = 0; i < r->nstk && n < MAX_FRAMES; i++) {
		int k = stacks_symbolize(ctx->sym, r->stk[i], true, tmp, 8);

		if (k < 1)
			continue;
		fr[n] = tmp[0];
		fr[n].inlined = k > 1;
		n++;
	}
	while (first < n && is_runtime(fr[first].function))
		first++;
	if (first == n)
		first = 0;
	if ((g->h.version_minor < 23 && r->nstk >= 32) || r->nstk >= 128)
		flags |= SITE_F_TRUNCATED;	/* at the profile's depth */
	s = model_site(&ctx->model, SITE_HEAP, fr + first, n - first, flags);
	if (s)
		u64map_put(&g->site_of, key, s->id + 1);
	return s;
}

static void set_off(struct goheap *g, enum goheap_state st, const char *msg)
{
	if (g->state != st)
		lt_info("%s\n", msg);
	g->state = st;
	snprintf(g->msg, sizeof(g->msg), "%s", msg);
}

/* Sums the profile into the heap sites. */
static void apply(struct lt_target *ctx, struct goheap *g,
		  const struct go_heap_profile *p)
{
	for (size_t i = 0; i < g->nhs; i++) {
		struct hsite *h = &g->hs[i];

		h->live = h->bytes = h->alloc_obj = h->alloc_bytes = h->freed = 0;
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct go_heap_rec *r = &p->recs[i];
		uint64_t inuse = r->allocs > r->frees ? r->allocs - r->frees : 0;
		struct site *s = site_for(ctx, g, r);
		struct hsite *h = s ? hsite_of(g, s->id) : NULL;
		double o, b;

		if (!h)
			continue;
		go_heap_scale(inuse, r->size, p->rate, &o, &b);
		h->live += o;
		h->bytes += b;
		go_heap_scale(r->allocs, r->size, p->rate, &o, &b);
		h->alloc_obj += o;
		h->alloc_bytes += b;
		go_heap_scale(r->frees, r->size, p->rate, &o, &b);
		h->freed += b;
	}
	for (size_t i = 0; i < ctx->model.n; i++) {
		struct site *s = ctx->model.sites[i];
		struct hsite *h;

		if (s->kind != SITE_HEAP || !(h = hsite_of(g, s->id)))
			continue;
		if (!h->have0) {
			h->have0 = true;
			h->alloc0 = h->alloc_bytes;
			h->freed0 = h->freed;
			h->t0 = ctx->now_s;
		}
		s->live = (int64_t)(h->live + 0.5);
		s->bytes = (int64_t)(h->bytes + 0.5);
		s->alloc_objects = (uint64_t)(h->alloc_obj + 0.5);
		s->alloc_bytes = (uint64_t)(h->alloc_bytes + 0.5);
		/* Given back since attach: the GC freed it. */
		s->freed = h->freed > h->freed0 ? (uint64_t)(h->freed - h->freed0) : 0;
		s->created = s->alloc_objects;
		s->alloc_bytes_per_s = ctx->now_s > h->t0 ?
			(h->alloc_bytes - h->alloc0) / (ctx->now_s - h->t0) : -1;
	}
}

static uint64_t counts_hash(const struct go_heap_profile *p)
{
	uint64_t h = LT_HASH_INIT;

	for (size_t i = 0; i < p->n; i++)
		h = lt_hash_u64(lt_hash_u64(h, p->recs[i].allocs),
				p->recs[i].frees);
	return lt_hash_u64(h, p->n);
}

void goheap_collect(struct lt_target *ctx)
{
	struct goheap *g = ctx->heap;
	struct go_heap_profile p;
	struct timespec a, b;
	uint64_t sum;
	double ms;
	int err;

	if (!g || g->state == GOHEAP_NOT_GO || g->state == GOHEAP_OFF_LINKER ||
	    g->state == GOHEAP_UNSUPPORTED)
		return;
	clock_gettime(CLOCK_MONOTONIC, &a);
	err = go_heap_read(ctx->target.pid, g->rt, &g->h, NULL, &p);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (err == -ESRCH)
		return;		/* gone: the last cycle stays */
	if (err) {
		char m[200];

		snprintf(m, sizeof(m), "heap profile unreadable: %s",
			 strerror(-err));
		set_off(g, GOHEAP_UNREADABLE, m);
		return;
	}
	ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
	g->info.reads++;
	g->info.read_ms = ms;
	if (ms > g->info.max_read_ms)
		g->info.max_read_ms = ms;
	g->info.buckets = p.n;
	g->info.bytes_read = p.bytes_read;
	g->info.syscalls = p.syscalls;
	g->info.truncated = p.truncated;
	g->info.bad = p.bad;
	g->info.rate = p.rate;
	g->info.before_gc = p.before_gc;
	if (p.rate <= 0) {
		/* What was sampled before stays; nothing new is. */
		set_off(g, GOHEAP_RATE_ZERO, "heap profile off: the program set "
			"runtime.MemProfileRate to 0 (heap sites, if any, stopped "
			"changing then); fault/mmap sites only");
		if (!p.n) {
			go_heap_profile_free(&p);
			return;
		}
	} else {
		g->state = GOHEAP_ON;
		g->msg[0] = '\0';
	}
	/* The counts move only when the runtime publishes: at a cycle's
	 * mark termination, and once more within it when sweeping ends
	 * (mProf_PostSweep adds the sweep frees without a new cycle). */
	sum = counts_hash(&p);
	if (g->have_cycle && p.cycle == g->info.cycle && sum == g->sum) {
		go_heap_profile_free(&p);	/* nothing published since */
		return;
	}
	if (!g->have_cycle || p.cycle != g->info.cycle)
		g->info.cycles_seen++;
	g->info.cycle_seen_s = ctx->now_s;
	g->sum = sum;
	g->have_cycle = true;
	g->info.cycle = p.cycle;
	apply(ctx, g, &p);
	go_heap_profile_free(&p);
	clock_gettime(CLOCK_MONOTONIC, &a);
	ms = (a.tv_sec - b.tv_sec) * 1e3 + (a.tv_nsec - b.tv_nsec) / 1e6;
	g->info.apply_ms = ms;
	if (ms > g->info.max_apply_ms)
		g->info.max_apply_ms = ms;
}

void goheap_get_info(const struct lt_target *ctx, struct goheap_info *out)
{
	const struct goheap *g = ctx->heap;

	memset(out, 0, sizeof(*out));
	if (!g) {
		out->state_name = state_names[GOHEAP_NOT_GO];
		return;
	}
	*out = g->info;
	out->state = g->state;
	out->state_name = state_names[g->state];
	out->message = g->msg[0] ? g->msg : NULL;
	out->data_age_s = g->have_cycle ? ctx->now_s - g->info.cycle_seen_s : -1;
}

/* Heap as the cause */

/* A Go function name ("main.retain", "runtime.sysMap"), not C's. */
static bool is_go_name(const char *fn)
{
	return fn && strchr(fn, '.') && !strstr(fn, "::");
}

/* Memory the Go heap got: first touched by Go code (a fresh span's pages
 * are touched by whoever allocates there first), or mapped through the
 * runtime's heap growth (cgo binaries map through C's mmap). */
static bool is_go_heap_memory(const struct site *s)
{
	static const char *const heap_fns[] = {
		"runtime.sysMap", "runtime.sysAlloc", "runtime.(*mheap).",
		"runtime.mallocgc", "runtime.persistentalloc", "runtime.mmap",
	};

	if (!s->nframes)
		return false;
	if (is_go_name(s->frames[0].function))
		return true;
	for (int i = 0; i < s->nframes; i++)
		for (size_t k = 0; k < sizeof(heap_fns) / sizeof(heap_fns[0]); k++)
			if (s->frames[i].function &&
			    !strncmp(s->frames[i].function, heap_fns[k],
				     strlen(heap_fns[k])))
				return true;
	return false;
}

/* Its first Go frame outside the runtime, or NULL (runtime-only). */
static const char *user_function(const struct site *s)
{
	for (int i = 0; i < s->nframes; i++) {
		const char *fn = s->frames[i].function;

		if (is_go_name(fn) && !is_runtime(fn) &&
		    strncmp(fn, "internal/", 9))
			return fn;
	}
	return NULL;
}

static bool better(const struct site *h, const struct site *best)
{
	return !best || h->growth.leak > best->growth.leak ||
	       (h->growth.leak == best->growth.leak &&
		h->growth.slope_per_min > best->growth.slope_per_min);
}

static int cmp_rank(const void *a, const void *b)
{
	const struct site *x = *(struct site *const *)a;
	const struct site *y = *(struct site *const *)b;

	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return x->id < y->id ? -1 : 1;
}

int goheap_explain(struct model *m)
{
	int marked = 0;

	if (!m->ranked)
		return 0;
	for (size_t i = 0; i < m->n; i++)
		m->sites[i]->heap_cause = 0;
	for (size_t i = 0; i < m->n; i++) {
		struct site *s = m->sites[i];
		const struct site *same = NULL, *any = NULL, *best;
		const char *fn;
		double grow_same = 0, grow_all = 0, grow;

		if ((s->kind != SITE_FAULT && s->kind != SITE_MMAP) ||
		    s->growth.slope_per_min <= 0 || !is_go_heap_memory(s))
			continue;
		fn = user_function(s);
		for (size_t k = 0; k < m->n; k++) {
			const struct site *h = m->sites[k];
			const char *hf;

			if (h->kind != SITE_HEAP || h->growth.slope_per_min <= 0)
				continue;
			grow_all += h->growth.slope_per_min;
			if (better(h, any))
				any = h;
			hf = user_function(h);
			if (fn && hf && !strcmp(hf, fn) && h->growth.leak) {
				grow_same += h->growth.slope_per_min;
				if (better(h, same))
					same = h;
			}
		}
		/* The leaking heap sites of the same function when their
		 * growth explains it, else the whole heap's growth: pages
		 * freed by one function's garbage are first touched again by
		 * another's allocations. */
		if (same && grow_same >= EXPLAIN_FRACTION * s->growth.slope_per_min) {
			best = same;
			grow = grow_same;
		} else {
			best = any;
			grow = grow_all;
		}
		if (!best || grow < EXPLAIN_FRACTION * s->growth.slope_per_min)
			continue;
		s->heap_cause = best->id + 1;
		s->growth.leak = false;
		s->growth.confidence = 0;
		/* Right after its cause. */
		s->score = best->score - 1e-6;
		marked++;
	}
	if (marked)
		qsort(m->ranked, m->n, sizeof(*m->ranked), cmp_rank);
	return marked;
}
