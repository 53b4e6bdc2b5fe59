// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Sampled allocations: what each window saw, how its objects die (a free
 * seen, the address handed out again, a realloc), and the estimate per
 * stack (trace/malloc.h, README "Allocation sites"). */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>
#include "trace/loader.h"
#include "trace/target.h"
#include "leaktrace.h"
#include "trace/malloc.h"
#include "trace/malloc_int.h"
#include "util/log.h"

/* The target's read and write system calls so far (/proc/PID/io syscr +
 * syscw), -1 unknown: for a service, the requests it served. */
int64_t malloc_io_calls(int pid)
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

/* A window's I/O calls must reach this to weigh by them (a pipelining
 * client makes few: 6000 SETs/s in batches of 300 are ~40 calls a second). */
#define MIN_ON_IO 8
/* ... and it may say the window saw at most this many times fewer calls
 * than wall time does: what trapping can slow a server by (redis fell
 * from ~100k to ~6k requests a second under attached probes here). A
 * window cut at a load's arrival saw the clients connect (25 calls, 2,400
 * allocations) and then 450k calls came: weight 18,027 against 2.0 by
 * the clock, every object of it counted 18,027 times. */
#define MAX_IO_SLOWDOWN 20.0

#define SURV_DECAY 0.7	/* weight of a site's earlier survival samples */

static double site_survival(const struct msite *m)
{
	return m->surv_den > 0 ? m->surv_num / m->surv_den : 1;
}

/* The estimate: verified objects at their window's weight; objects of the
 * windows not yet verified count for themselves, and for the pause around
 * them only as far as the site's objects were seen to outlive pauses (a
 * pool replaced in 100 ms: not at all; a leak: fully). Until a site has
 * been measured, fully (the estimate errs high, as it did before). */
static void publish(const struct malloc_state *ms, struct site *s, struct msite *m)
{
	double surv = site_survival(m), b = m->vbytes, o = m->vobjs;

	for (int i = 0; i < 2; i++) {
		const struct mwin *u = &m->u[i];
		double w;

		if (!u->objs)
			continue;
		w = u->win < ms->nwt ? ms->wt[u->win] : 1;
		w = 1 + (w - 1) * surv;
		b += (double)u->bytes * w;
		o += (double)u->objs * w;
	}
	m->est_bytes = b;
	m->est_objs = o;
	/* Fitted into the process's private writable memory (malloc_collect),
	 * never below what was sampled and not seen to die. */
	if (ms->scale < 1) {
		b = fmax(b * ms->scale, (double)m->live_bytes);
		o = fmax(o * ms->scale, (double)m->live_objs);
	}
	s->bytes = b > 0 ? llround(b) : 0;
	s->live = o > 0 ? llround(o) : 0;
}

/* Every site with sampled objects published again. revise: its objects
 * were weighed anew (a window's weight became final, or its objects
 * verified) and none came or went, so the change is a revision of the
 * estimate since from (s), not growth at this sample (before, a site of
 * 27 objects sampled during a redis fill jumped from 2.3 to 3.9 MB 9 s
 * after the fill ended, when the next window made its window's weight
 * final, and was called growing). Not a revision: the VmData fit, which
 * follows real growth of the process. */
static void publish_sites(struct lt_target *ctx, struct malloc_state *ms, bool revise,
			  double from)
{
	for (size_t i = 0; i < ms->nsites; i++) {
		struct msite *m = &ms->sites[i];
		int64_t bytes, live;
		struct site *s;

		if (!m->calls || !(s = model_get(&ctx->model, (uint32_t)i)))
			continue;
		bytes = s->bytes;
		live = s->live;
		publish(ms, s, m);
		if (revise)
			model_revise(s, from, (double)(s->bytes - bytes),
				     (double)(s->live - live));
	}
}

double malloc_fit_scale(double est, uint64_t vm_data)
{
	return vm_data && est > (double)vm_data ? (double)vm_data / est : 1;
}

/* A sample of the malloc sites says something new only when a window was
 * on since the last one: between windows their estimates hold still
 * because nobody looks. Analyzed, a tail of such samples read as "grew,
 * then stopped" as soon as the budget spaced the windows out (a loaded
 * host: redis's _sdsnewlen, steady at every window, flat for the last 4 s
 * of 14 and called stopped). The sites are marked unobserved: model_sample
 * keeps such samples but analysis leaves them out while they are the last
 * ones (model_seen_samples). */
static void mark_unobserved(struct lt_target *ctx, struct malloc_state *ms)
{
	double now = ctx->now_s;
	bool seen = ms->attached || ms->win != ms->sampled_win ||
		    ms->off_at > ms->sampled_at;

	for (size_t i = 0; i < ms->nsites; i++) {
		struct site *s;

		if (ms->sites[i].calls && (s = model_get(&ctx->model, (uint32_t)i)))
			s->unobserved = !seen;
	}
	ms->sampled_at = now;
	ms->sampled_win = ms->win;
}

/* Every byte malloc hands out lies in a private writable mapping, so the
 * sites' estimates together cannot exceed VmData. They did: weights of a
 * few windows, cut short on a busy host before they could prove a pool's
 * buffers dead, put a pool of 8.4 MB in a process of 8.6 MB VmData at 18 MB
 * (and at 185 MB for the first seconds). Past VmData every site is scaled
 * down alike: the bound is loose (stacks, other mappings are in it too),
 * so it only ever cuts the impossible part. */
void malloc_collect(struct lt_target *ctx, uint64_t vm_data)
{
	struct malloc_state *ms = ctx->malloc;
	double est = 0, scale;

	if (!malloc_enabled(ctx))
		return;
	mark_unobserved(ctx, ms);
	for (size_t i = 0; i < ms->nsites; i++)
		est += ms->sites[i].est_bytes;
	scale = malloc_fit_scale(est, vm_data);
	ms->vm_data = vm_data;
	if (scale < 1 && !ms->scaled_samples++)
		lt_info("malloc estimates (%.1f MB) exceed the process's private writable memory (VmData %.1f MB): scaled to fit\n",
			est / 1e6, (double)vm_data / 1e6);
	if (scale == ms->scale)
		return;
	ms->scale = scale;
	publish_sites(ctx, ms, false, 0);
}

/* Window ms->win + 1 begins: window ms->win - 1 was run through by the
 * window that just ended, so its objects are verified (and say how many
 * of the site's objects outlive a pause); the objects of ms->win are
 * counted as the window that verifies them begins. */
static void windows_verify(struct malloc_state *ms)
{
	uint32_t k = ms->win;

	for (size_t i = 0; i < ms->nsites; i++) {
		struct msite *m = &ms->sites[i];
		struct mwin *u = &m->u[(k + 1) & 1], *cur = &m->u[k & 1];

		if (k >= 1 && u->win == k - 1) {
			double w = u->win < ms->nwt ? ms->wt[u->win] : 1;

			if (u->objs0) {
				m->surv_num = m->surv_num * SURV_DECAY + (double)u->objs;
				m->surv_den = m->surv_den * SURV_DECAY + (double)u->objs0;
			}
			m->vbytes += (double)u->bytes * w;
			m->vobjs += (double)u->objs * w;
			*u = (struct mwin){ .win = k + 1 };
		}
		if (cur->win == k)
			cur->objs0 = cur->objs;
	}
	ms->verified = k;
}

/* A window begins at now (s): the previous one's weight becomes final and
 * the estimates of the sites with objects from it are corrected. An object
 * seen in a window stands for (on + off) / on of its cycle, measured in
 * the target's read/write calls when it makes enough of them (a server's
 * requests: probes slow a busy server, which then serves fewer requests
 * while probed, and wall time would count that as fewer allocations),
 * else in wall time (a program paced by the clock). */
void malloc_window_begin(struct lt_target *ctx, struct malloc_state *ms, double now,
			 double planned)
{
	uint32_t prev = ms->win;
	double on = ms->off_at - ms->on_at, w = 0, from;
	int64_t io = malloc_io_calls(ms->pid);

	if (!ms->nwt || ms->win + 1 >= UINT32_MAX)
		return;
	if (on > 0) {
		w = (now - ms->on_at) / on;
		if (io >= 0 && ms->io_on >= 0 && ms->io_off - ms->io_on >= MIN_ON_IO) {
			double wio = (double)(io - ms->io_on) / (double)(ms->io_off - ms->io_on);

			lt_debug("malloc window %u: on %.3f s, %lld of %lld I/O calls: weight %.1f (wall %.1f)\n",
				 prev, on, (long long)(ms->io_off - ms->io_on),
				 (long long)(io - ms->io_on), wio, w);
			if (wio > w * MAX_IO_SLOWDOWN) {
				wio = w * MAX_IO_SLOWDOWN;
				ms->io_capped++;
			}
			w = wio;
			ms->io_windows++;
		}
		ms->wt[prev] = (float)w;
	}
	if (ms->win + 1 >= ms->nwt) {
		float *v = realloc(ms->wt, ms->nwt * 2 * sizeof(*v));

		if (!v) {
			publish_sites(ctx, ms, true, ms->on_at);
			return;	/* this window joins the last one */
		}
		ms->wt = v;
		ms->nwt *= 2;
	}
	windows_verify(ms);
	ms->wt[++ms->win] = (float)planned;
	/* revised: the window just verified (it began at prev_on_at) and the
	 * one whose weight became final */
	from = prev ? ms->prev_on_at : ms->on_at;
	ms->prev_on_at = ms->on_at;
	ms->on_at = now;
	ms->io_on = io;
	publish_sites(ctx, ms, true, from);
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

/* The current window's pause was lengthened (its overrun charged): its
 * provisional weight follows, and so do the estimates of its objects, so
 * a report before the next window does not count them short (the next
 * window's begin still replaces it with the measured one). */
void malloc_window_replan(struct lt_target *ctx, struct malloc_state *ms, double planned)
{
	uint32_t cur = ms->win;

	if (!ms->nwt || cur >= ms->nwt || !(planned > 0) || !isfinite(planned))
		return;
	ms->wt[cur] = (float)planned;
	publish_sites(ctx, ms, true, ms->on_at);
}

/* How a sampled object was found dead. */
enum death { SEEN_FREED, FREED_LATE, ADDRESS_REUSED };

/* The sampled object at addr died (seen freed, in its window or just
 * after, or its memory handed out again). */
static void forget(struct lt_target *ctx, struct malloc_state *ms, uint64_t addr,
		   enum death how)
{
	uint64_t slot;
	struct mobj *o;
	struct msite *m;
	struct site *s;
	double w;

	if (!ivmap_get(&ms->live, addr, &slot)) {
		if (how == SEEN_FREED)
			ms->frees_unknown++;
		return;
	}
	ivmap_del(&ms->live, addr);
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
	if (o->win < ms->verified) {
		m->vbytes -= (double)o->size * w;
		m->vobjs -= w;
	} else if (m->u[o->win & 1].win == o->win && m->u[o->win & 1].objs) {
		struct mwin *u = &m->u[o->win & 1];

		u->objs--;
		u->bytes -= o->size;
	}
	m->live_objs--;
	m->live_bytes -= o->size;
	if (how == ADDRESS_REUSED) {
		m->freed_reuse++;
		ms->freed_reuse++;
	} else {
		m->freed_seen++;
		ms->freed_seen++;
	}
	s->freed += (uint64_t)((double)o->size * w);
	publish(ms, s, m);
}

/* The allocator handed [addr, addr + size) out: every sampled object that
 * overlaps it was freed while no probe looked (two live objects never
 * overlap, whatever the allocator). An exact address match alone misses
 * most of them once sizes vary: glibc splits and merges chunks, and a pool
 * of 32 B - 64 KiB buffers replaced while the probes were off read as
 * 170 MB live where 8 MB were. */
static void forget_overlapping(struct lt_target *ctx, struct malloc_state *ms,
			       uint64_t addr, uint64_t size)
{
	uint64_t start, len, slot, end = addr + (size ? size : 1);

	if (end < addr)
		end = UINT64_MAX;
	while (ivmap_last_before(&ms->live, end, &start, &len, &slot) &&
	       start + len > addr)
		forget(ctx, ms, start, ADDRESS_REUSED);
}

static void remember(struct lt_target *ctx, struct malloc_state *ms,
		     const struct lt_malloc_event *e)
{
	uint64_t sid = e->stack_id;
	struct msite *m;
	struct site *s;
	uint32_t slot;
	struct mwin *u;

	if (e->copy_bytes)
		sid = stacks_event_id(&ctx->stacks, ms->maps->copy_need_fd,
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
	if (ivmap_put(&ms->live, e->addr, e->size ? e->size : 1, slot + 1ULL)) {
		ms->spare[ms->nspare++] = slot;	/* ENOMEM: not kept */
		return;
	}
	ms->objs[slot] = (struct mobj){ .size = e->size, .site = s->id,
					.win = ms->win };
	u = &m->u[ms->win & 1];
	if (u->win != ms->win)
		*u = (struct mwin){ .win = ms->win };
	u->objs++;
	u->bytes += e->size;
	m->calls++;
	m->live_objs++;
	m->live_bytes += e->size;
	s->created++;
	publish(ms, s, m);
}

void malloc_handle(struct lt_target *ctx, const void *rec, size_t size)
{
	struct malloc_state *ms = ctx->malloc;
	__u32 type = *(const __u32 *)rec;

	if (!malloc_enabled(ctx))
		return;
	if (type == LT_EV_FREE && size >= sizeof(struct lt_free_event)) {
		const struct lt_free_event *e = rec;

		/* A late free (past the window's end) only settles a sampled
		 * object; one of an object never seen is no news. */
		if (e->late)
			ms->late_frees++;
		else
			ms->frees++;
		forget(ctx, ms, e->addr, e->late ? FREED_LATE : SEEN_FREED);
	} else if (type == LT_EV_MALLOC && size >= sizeof(struct lt_malloc_event)) {
		const struct lt_malloc_event *e = rec;

		ms->allocs++;
		if (e->fn == LT_MF_REALLOC && e->old_addr)
			forget(ctx, ms, e->old_addr, SEEN_FREED);
		forget_overlapping(ctx, ms, e->addr, e->size);
		remember(ctx, ms, e);
	}
}

