// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The malloc kind in the report: how the allocator was probed
 * ("malloc_sampling", one text line), each site's sampled counts, and the
 * fault/brk/mmap growth the malloc sites explain (malloc_explain). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <linux/types.h>
#include "trace/loader.h"
#include "trace/target.h"
#include "leaktrace.h"
#include "malloc.skel.h"
#include "model/culprit.h"
#include "model/entries.h"
#include "trace/malloc.h"
#include "trace/malloc_int.h"

static bool was_duty_cycled(const struct malloc_state *ms)
{
	return ms->pb.windows || ms->pb.duty < 1;
}

static json_object *jround(double v, double scale)
{
	return json_object_new_double(round(v * scale) / scale);
}

struct json_object *malloc_sampling_json(const struct lt_target *ctx)
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
	json_object_object_add(o, "windows_io_weight_capped", json_object_new_int64(ms->io_capped));
	/* the sites' estimates past VmData, scaled to fit (malloc_collect) */
	json_object_object_add(o, "estimate_scale", jround(ms->scale, 1e4));
	json_object_object_add(o, "samples_scaled_to_vm_data",
			       json_object_new_int64(ms->scaled_samples));
	json_object_object_add(o, "spent_pct", jround(pb_spent(&ms->pb, now) * 100, 1e3));
	/* Attaching and detaching beyond the windows (in on_share and
	 * spent_pct): wall time and the part of spent_pct it was charged. */
	/* windows the programs' own cap ended (bpf/malloc.bpf.c) */
	json_object_object_add(o, "capped_windows", json_object_new_int64(ms->capped_windows));
	/* windows whose end passed while the main loop was busy (symbolizing
	 * a new module), detached by the watchdog thread */
	json_object_object_add(o, "watchdog_detaches", json_object_new_int64(ms->wd_detaches));
	json_object_object_add(o, "overrun_s", jround(ms->pb.overrun_s, 1e3));
	json_object_object_add(o, "overrun_max_ms", jround(ms->overrun_max_s * 1e3, 10));
	json_object_object_add(o, "overrun_spent_pct", jround(now > ms->pb.start ?
		ms->pb.charged / (now - ms->pb.start) * 100 : 0, 1e3));
	json_object_object_add(o, "allocations_sampled", json_object_new_int64(ms->allocs));
	json_object_object_add(o, "frees_sampled", json_object_new_int64(ms->frees));
	json_object_object_add(o, "frees_of_unknown_objects", json_object_new_int64(ms->frees_unknown));
	json_object_object_add(o, "frees_after_window_end", json_object_new_int64(ms->late_frees));
	json_object_object_add(o, "died_seen_freed", json_object_new_int64(ms->freed_seen));
	json_object_object_add(o, "died_address_reused", json_object_new_int64(ms->freed_reuse));
	json_object_object_add(o, "sampled_live", json_object_new_int64(ivmap_size(&ms->live)));
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

void malloc_site_json(const struct lt_target *ctx, const struct site *s,
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
			       json_object_new_int64((int64_t)s->live));
}

void malloc_sampling_text(const struct lt_target *ctx, FILE *out)
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
	if (ms->scaled_samples)
		fprintf(out, "Allocation estimates exceeded the process's private writable memory "
			"at %u samples: scaled to fit (now x%.2f of %.1f MB VmData)\n",
			ms->scaled_samples, ms->scale, (double)ms->vm_data / 1e6);
	/* Never wrong in silence: what the probes could not record. */
	if (ms->skel->bss) {
		uint64_t nocopy = ms->skel->bss->ucopy_stats[LT_UC_RINGBUF] +
				  ms->skel->bss->ucopy_stats[LT_UC_READ_FAILED];
		uint64_t noentry = ms->skel->bss->malloc_hits[LT_MH_NO_ENTRY];

		if (nocopy || noentry)
			fprintf(out, "Allocations not fully recorded: %llu stacks not copied "
				"(frame pointers only; ring buffer busy), %llu returns whose entry "
				"was not seen (JSON malloc_sampling)\n",
				(unsigned long long)nocopy, (unsigned long long)noentry);
	}
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

/* The most suspect growing malloc site, NULL when none grows or when one
 * of s's own culprit function grows (then s's growth is its own: the
 * pages it first touched are those it allocated; *twin is that site). */
static const struct site *cause_of(const struct model *m, const struct site *s,
				   const struct site **twin)
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
	*twin = same;
	return same ? NULL : any;
}

int malloc_explain(struct lt_target *ctx)
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
		const struct site *c, *twin;

		if ((s->kind != SITE_FAULT && s->kind != SITE_MMAP &&
		     s->kind != SITE_BRK) || s->growth.slope_per_min <= 0 ||
		    s->heap_cause)
			continue;
		if (!in_allocator(ms, s) && (app_maps || s->kind != SITE_FAULT))
			continue;
		c = cause_of(m, s, &twin);
		if (!c) {
			/* Its own function's malloc site grows too: the same
			 * objects, seen as the pages they were first written
			 * to. Its verdict stands; the malloc site, which names
			 * the allocation (objects, sizes, calls), leads. */
			if (twin && s->score >= twin->score) {
				s->score = twin->score - 1e-6;
				marked++;
			}
			continue;
		}
		s->heap_cause = c->id + 1;
		s->growth.leak = false;
		s->growth.confidence = 0;
		s->verdict = VERDICT_NONE;
		s->verdict_why = "allocator memory: its growth is that of the malloc sites";
		s->score = c->score - 1e-6;
		marked++;
	}
	if (marked) {
		qsort(m->ranked, m->n, sizeof(*m->ranked), model_cmp_score);
		entries_build(m);
	}
	return marked;
}
