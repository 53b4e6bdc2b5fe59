// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "model/entries.h"
#include "model/verdict.h"
#include "report/compare.h"
#include "report/findings.h"
#include "report/folded.h"
#include "report/goroutines.h"
#include "trace/go.h"
#include "trace/goheap.h"
#include "trace/malloc.h"
#include "trace/mem.h"
#include "report/pprof.h"
#include "report/output.h"
#include "report/report.h"
#include "report/text.h"
#include "report/unwind.h"
#include "sym/funcnames.h"
#include "sym/symbolize.h"

#define MAX_FINDINGS 16
#define MAX_JSON_SITES 200
#define MAX_SERIES 60


static const char *const drop_names[LT_DROP_MAX] = {
	[LT_DROP_RINGBUF] = "ringbuf_full",
	[LT_DROP_STACK_MAP] = "stack_map_full",
	[LT_DROP_STACK_READ] = "stack_read_failed",
	[LT_DROP_PAGES_MAP] = "pages_map_full",
	[LT_DROP_FAULT_MAP] = "fault_map_full",
	[LT_DROP_ARGS_MAP] = "syscall_args_map_full",
	[LT_DROP_ARGS_MISS] = "syscall_exit_without_entry",
	[LT_DROP_GO_MAP] = "goroutine_map_full",
};

const char *report_drop_name(int cause)
{
	return cause >= 0 && cause < LT_DROP_MAX ? drop_names[cause] : "unknown";
}

const char *report_bytes(double b, char *buf, size_t len)
{
	const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	double a = fabs(b);

	while (a >= 1024 && u < 4) {
		a /= 1024;
		b /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
	return buf;
}

/* Sites worth showing: anything outstanding, growing or created. */
static bool site_shown(const struct site *s)
{
	return s->bytes > 0 || s->live > 0 || s->created > 0 ||
	       s->growth.slope_per_min != 0;
}

static json_object *jdouble(double v, int prec)
{
	char buf[64];

	if (!isfinite(v))
		v = 0;
	snprintf(buf, sizeof(buf), "%.*f", prec, v);
	return json_object_new_double_s(v, buf);
}

/* How memory calls were seen, and what the kernel mapped unseen. */
static json_object *mem_probes_json(const struct lt_ctx *ctx, const struct mem_stats *ms)
{
	struct mem_probes_info pi;
	json_object *o = json_object_new_object();

	mem_obj_probes(ctx->mem_obj, &pi);
	json_object_object_add(o, "via", json_object_new_string(
		pi.via_uprobes ? "syscall sites" : "syscall tracepoints"));
	json_object_object_add(o, "sites", json_object_new_int64(pi.sites));
	json_object_object_add(o, "files", json_object_new_int64(pi.files));
	json_object_object_add(o, "why_tracepoints",
			       pi.via_uprobes ? NULL : json_object_new_string(pi.why_tracepoints));
	json_object_object_add(o, "syscall_sites_from_s",
			       pi.sites_from < 0 ? NULL : jdouble(pi.sites_from, 1));
	json_object_object_add(o, "switched_to_tracepoints_at_s",
			       pi.switched_at < 0 ? NULL : jdouble(pi.switched_at, 1));
	json_object_object_add(o, "unseen_mapped_bytes", json_object_new_int64(ms->unseen_mapped));
	json_object_object_add(o, "unseen_unmapped_bytes", json_object_new_int64(ms->unseen_unmapped));
	json_object_object_add(o, "checks_that_found_unseen", json_object_new_int64(ms->vm_misses));
	return o;
}

static json_object *jstr(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static json_object *frames_json(const struct frame *f, int n)
{
	json_object *arr = json_object_new_array();
	char addr[32];

	for (int i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)f[i].addr);
		json_object_object_add(o, "function", jstr(f[i].function));
		json_object_object_add(o, "file", jstr(f[i].file));
		json_object_object_add(o, "line", f[i].line ?
				       json_object_new_int(f[i].line) : NULL);
		json_object_object_add(o, "module", jstr(f[i].module));
		json_object_object_add(o, "address", json_object_new_string(addr));
		if (f[i].has_offset) {
			snprintf(addr, sizeof(addr), "0x%llx",
				 (unsigned long long)f[i].offset);
			json_object_object_add(o, "offset",
					       json_object_new_string(addr));
		}
		if (f[i].has_elf_addr) {
			snprintf(addr, sizeof(addr), "0x%llx",
				 (unsigned long long)f[i].elf_addr);
			json_object_object_add(o, "elf_address",
					       json_object_new_string(addr));
		}
		if (f[i].build_id)
			json_object_object_add(o, "build_id",
					       jstr(f[i].build_id));
		if (f[i].inlined)
			json_object_object_add(o, "inlined", json_object_new_boolean(1));
		json_object_array_add(arr, o);
	}
	return arr;
}

/* Modules whose frames have no names, and what would supply them. */
static json_object *symbols_missing_json(struct lt_target *ctx)
{
	json_object *arr = json_object_new_array();
	const struct sym_missing *v;
	size_t n = ctx->sym ? symbolizer_missing(ctx->sym, &v) : 0;

	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "module", jstr(v[i].module));
		json_object_object_add(o, "build_id", jstr(v[i].build_id));
		json_object_object_add(o, "hint", jstr(v[i].hint));
		json_object_array_add(arr, o);
	}
	return arr;
}

/* The site's series as [t, v] pairs, at most MAX_SERIES points. */
static json_object *series_json(const struct site *s)
{
	json_object *arr = json_object_new_array();
	size_t step = (s->nsamples + MAX_SERIES - 1) / MAX_SERIES;

	if (!step)
		step = 1;
	for (size_t i = 0; i < s->nsamples; i += step) {
		json_object *p = json_object_new_array();

		json_object_array_add(p, jdouble(s->samples[i].t, 2));
		json_object_array_add(p, jdouble(s->samples[i].v, 0));
		json_object_array_add(arr, p);
	}
	return arr;
}

/* The function a heap site names (its first frame outside the runtime). */
static const char *heap_cause_function(const struct model *m,
				       const struct site *s)
{
	const struct site *c = s->heap_cause ?
		m->sites[s->heap_cause - 1] : NULL;

	if (!c || !c->nframes)
		return NULL;
	return c->frames[site_user_frame(c)].function;
}

static json_object *site_json(const struct model *m, const struct site *s,
			      double heap_age_s, int entry)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "kind", json_object_new_string(site_kind_name(s->kind)));
	json_object_object_add(o, "live", s->live >= 0 ? json_object_new_int64(s->live) : NULL);
	json_object_object_add(o, "bytes", s->bytes >= 0 ? json_object_new_int64(s->bytes) : NULL);
	json_object_object_add(o, "growth_per_min", jdouble(s->growth.slope_per_min, 3));
	json_object_object_add(o, "leak", json_object_new_boolean(s->growth.leak));
	json_object_object_add(o, "confidence", jdouble(s->growth.confidence, 3));
	json_object_object_add(o, "r2", jdouble(s->growth.r2, 3));
	json_object_object_add(o, "shape", jstr(s->growth.shape));
	/* what happens now (model/verdict.c decides) */
	json_object_object_add(o, "verdict", json_object_new_string(verdict_name(s->verdict)));
	json_object_object_add(o, "verdict_reason", jstr(s->verdict_why));
	json_object_object_add(o, "recent_growth_per_min", jdouble(s->growth.recent_per_min, 3));
	json_object_object_add(o, "recent_from_s", jdouble(s->growth.recent_from_s, 2));
	json_object_object_add(o, "change_s", isfinite(s->growth.change_s) ?
			       jdouble(s->growth.change_s, 2) : NULL);
	json_object_object_add(o, "grew_until_s", s->growth.stopped ?
			       jdouble(s->growth.change_s, 2) : NULL);
	json_object_object_add(o, "entry", entry >= 0 ? json_object_new_int(entry) : NULL);
	json_object_object_add(o, "stack", frames_json(s->frames, s->nframes));
	json_object_object_add(o, "stack_truncated", json_object_new_boolean(s->truncated));
	if (s->preexisting)
		json_object_object_add(o, "origin", json_object_new_string("before_attach"));
	if (s->kind == SITE_GOROUTINE) {
		json_object_object_add(o, "wait_reason", jstr(s->wait_reason));
		json_object_object_add(o, "wait_stack", frames_json(s->wait_frames, s->nwait));
		json_object_object_add(o, "waiting", json_object_new_int64(s->waiting));
		json_object_object_add(o, "parked_s", s->parked_s >= 0 ? jdouble(s->parked_s, 1) : NULL);
		json_object_object_add(o, "running", s->running >= 0 ? json_object_new_int64(s->running) : NULL);
		json_object_object_add(o, "runnable", s->runnable >= 0 ? json_object_new_int64(s->runnable) : NULL);
		goroutine_site_json(s, o);
	}
	json_object_object_add(o, "oldest_s", s->oldest_s >= 0 ? jdouble(s->oldest_s, 1) : NULL);
	json_object_object_add(o, "created", json_object_new_int64(s->created));
	if (site_kind_is_bytes(s->kind)) {
		json_object_object_add(o, "freed_bytes", json_object_new_int64(s->freed));
		if (s->kind == SITE_FAULT)
			json_object_object_add(o, "lazyfree_bytes", json_object_new_int64(s->lazyfree));
	}
	if (s->kind == SITE_HEAP) {
		json_object_object_add(o, "alloc_objects", json_object_new_int64(s->alloc_objects));
		json_object_object_add(o, "alloc_bytes", json_object_new_int64(s->alloc_bytes));
		json_object_object_add(o, "alloc_bytes_per_s", s->alloc_bytes_per_s >= 0 ?
				       jdouble(s->alloc_bytes_per_s, 1) : NULL);
		/* the counts are as of a GC at least this long ago */
		json_object_object_add(o, "profile_age_s", heap_age_s >= 0 ?
				       jdouble(heap_age_s, 2) : NULL);
	}
	if (s->heap_cause) {
		json_object *c = json_object_new_object();

		json_object_object_add(c, "kind", json_object_new_string(
			site_kind_name(m->sites[s->heap_cause - 1]->kind)));
		json_object_object_add(c, "function", jstr(heap_cause_function(m, s)));
		json_object_object_add(o, "consequence_of", c);
	}
	json_object_object_add(o, "samples", json_object_new_int64(s->nsamples));
	json_object_object_add(o, "series", series_json(s));
	return o;
}

/* One entry per culprit: its columns, verdict, and its sites (indices
 * into "sites"; -1 for a site past MAX_JSON_SITES). */
static json_object *entries_json(struct lt_target *tg, const int *json_at)
{
	const struct model *m = &tg->model;
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < m->nentries; i++) {
		const struct entry *e = &m->entries[i];
		json_object *o = json_object_new_object(), *l, *c;
		char where[512];

		json_object_object_add(o, "class", json_object_new_string(
			e->cls == ENTRY_MEMORY ? "memory" :
			e->cls == ENTRY_GOROUTINE ? "goroutine" : "thread"));
		if (e->culprit >= 0 && e->lead->nframes) {
			text_culprit(e, where, sizeof(where));
			json_object_object_add(o, "culprit", json_object_new_string(where));
			/* the frame itself: function or module, offset and
			 * build id for addr2line and debuginfod */
			c = frames_json(&e->lead->frames[e->culprit], 1);
			json_object_object_add(o, "culprit_frame", json_object_get(
				json_object_array_get_idx(c, 0)));
			json_object_put(c);
		} else {
			json_object_object_add(o, "culprit", NULL);
		}
		json_object_object_add(o, "symptom", json_object_new_boolean(e->symptom));
		json_object_object_add(o, "cause", e->cause >= 0 ? json_object_new_int(e->cause) : NULL);
		json_object_object_add(o, "verdict", json_object_new_string(verdict_name(e->verdict)));
		json_object_object_add(o, "grew_until_s", isfinite(e->grew_until_s) ?
				       jdouble(e->grew_until_s, 2) : NULL);
		json_object_object_add(o, "score", jdouble(e->score, 3));
		if (e->cls == ENTRY_MEMORY) {
			c = json_object_new_object();
			for (int k = 0; k < COL_MAX; k++) {
				json_object *col;

				if (!e->col[k].nsites)
					continue;
				col = json_object_new_object();
				json_object_object_add(col, "bytes", json_object_new_int64(e->col[k].bytes));
				json_object_object_add(col, "growth_per_min", jdouble(e->col[k].slope_per_min, 3));
				json_object_object_add(col, "recent_growth_per_min", jdouble(e->col[k].recent_per_min, 3));
				json_object_object_add(col, "sites", json_object_new_int(e->col[k].nsites));
				json_object_object_add(c, entry_col_name(k), col);
			}
			json_object_object_add(o, "columns", c);
		} else {
			json_object_object_add(o, "live", json_object_new_int64(e->live));
			json_object_object_add(o, "before_attach", json_object_new_int64(e->before_attach));
			json_object_object_add(o, "since_attach", json_object_new_int64(e->since));
			json_object_object_add(o, "created", json_object_new_int64(e->created));
			json_object_object_add(o, "growth_per_min", jdouble(e->rate_per_min, 3));
			json_object_object_add(o, "recent_growth_per_min", jdouble(e->recent_per_min, 3));
			if (e->cls == ENTRY_GOROUTINE) {
				json_object_object_add(o, "parked", json_object_new_int64(e->waiting));
				json_object_object_add(o, "running", e->running >= 0 ?
						       json_object_new_int64(e->running) : NULL);
				json_object_object_add(o, "runnable", e->runnable >= 0 ?
						       json_object_new_int64(e->runnable) : NULL);
			}
		}
		l = json_object_new_array();
		for (size_t j = 0; j < e->nsites; j++)
			json_object_array_add(l, json_object_new_int(json_at ? json_at[e->sites[j]->id] : -1));
		json_object_object_add(o, "sites", l);
		json_object_array_add(arr, o);
	}
	return arr;
}

/* The memory limit and when RSS growth now reaches it; null when the
 * target exited. */
static json_object *limit_json(struct lt_target *tg)
{
	struct limit_view v;
	json_object *o;

	text_limit(tg, &v);
	if (!v.have)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "source", json_object_new_string(memlimit_source_name(v.lim.source)));
	json_object_object_add(o, "cgroup", v.lim.cgroup[0] ? json_object_new_string(v.lim.cgroup) : NULL);
	json_object_object_add(o, "limit_bytes", json_object_new_int64((int64_t)v.lim.limit));
	json_object_object_add(o, "left_bytes", json_object_new_int64((int64_t)v.lim.left));
	json_object_object_add(o, "rss_recent_growth_per_min", jdouble(v.rss_now_per_min, 0));
	json_object_object_add(o, "minutes_to_limit", isfinite(v.minutes) ? jdouble(v.minutes, 1) : NULL);
	return o;
}

static json_object *start_end(uint64_t a, uint64_t b)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "start", json_object_new_int64(a));
	json_object_object_add(o, "end", json_object_new_int64(b));
	return o;
}

/* The Go heap profile: state, and how old and how costly its data is. */
static json_object *heap_profile_json(struct lt_target *tg)
{
	struct goheap_info hi;
	json_object *o;

	goheap_get_info(tg, &hi);
	if (hi.state == GOHEAP_NOT_GO)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "state", json_object_new_string(hi.state_name));
	json_object_object_add(o, "message", jstr(hi.message));
	json_object_object_add(o, "mem_profile_rate", json_object_new_int64(hi.rate));
	json_object_object_add(o, "gc_cycle", json_object_new_int64(hi.cycle));
	json_object_object_add(o, "cycles_seen", json_object_new_int64(hi.cycles_seen));
	json_object_object_add(o, "data_age_s", hi.data_age_s >= 0 ? jdouble(hi.data_age_s, 2) : NULL);
	json_object_object_add(o, "before_first_gc", json_object_new_boolean(hi.before_gc));
	json_object_object_add(o, "reads", json_object_new_int64(hi.reads));
	json_object_object_add(o, "buckets", json_object_new_int64(hi.buckets));
	json_object_object_add(o, "bytes_read", json_object_new_int64(hi.bytes_read));
	json_object_object_add(o, "read_calls", json_object_new_int64(hi.syscalls));
	json_object_object_add(o, "read_ms", jdouble(hi.read_ms, 3));
	json_object_object_add(o, "max_read_ms", jdouble(hi.max_read_ms, 3));
	json_object_object_add(o, "apply_ms", jdouble(hi.apply_ms, 3));
	json_object_object_add(o, "max_apply_ms", jdouble(hi.max_apply_ms, 3));
	json_object_object_add(o, "truncated", json_object_new_boolean(hi.truncated));
	json_object_object_add(o, "bad_buckets", json_object_new_int64(hi.bad));
	json_object_object_add(o, "located_by", jstr(hi.how));
	return o;
}

static json_object *report_json(struct lt_ctx *ctx, struct lt_target *tg, const struct finding *fs, int nf)
{
	json_object *root = json_object_new_object(), *o, *arr;
	const struct mem_stats *ms = mem_stats(tg);
	const char *gov = go_version(tg) ? go_version(tg) : symbolizer_go_version(tg->sym);
	uint64_t events = 0, stacks = 0;
	struct goheap_info hi;
	char ts[64], exe[PATH_MAX + 64];
	int shown = 0, *entry_of, *json_at;

	goheap_get_info(tg, &hi);
	json_object_object_add(root, "schema", json_object_new_string("leaktrace/v1"));
	json_object_object_add(root, "version", json_object_new_string(LT_VERSION));
	o = json_object_new_object();
	json_object_object_add(o, "pid", json_object_new_int(tg->target.pid));
	json_object_object_add(o, "comm", json_object_new_string(tg->target.comm));
	json_object_object_add(o, "exe", json_object_new_string(tg->target.exe));
	text_exe(tg, exe, sizeof(exe));
	json_object_object_add(o, "exe_as_run", json_object_new_string(exe));
	json_object_object_add(o, "go_version", jstr(gov));
	json_object_object_add(o, "exited", json_object_new_boolean(tg->target.exited));
	json_object_object_add(o, "host_pid", json_object_new_int(target_host_pid(&tg->target)));
	json_object_object_add(o, "execs", json_object_new_int64(tg->nexecs));
	arr = json_object_new_array();
	for (uint32_t i = 0; i < tg->nexecs && i < LT_MAX_EXECS; i++) {
		json_object *x = json_object_new_object();

		json_object_object_add(x, "at_s", jdouble(tg->execs[i].at_s, 3));
		json_object_object_add(x, "exe", json_object_new_string(tg->execs[i].exe));
		json_object_array_add(arr, x);
	}
	json_object_object_add(o, "exec_log", arr);
	json_object_object_add(root, "target", o);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&ctx->started_at));
	json_object_object_add(root, "started_at", json_object_new_string(ts));
	json_object_object_add(root, "duration_s", jdouble(tg->now_s, 3));
	json_object_object_add(root, "attach_ms", jdouble(ctx->attach_ms, 1));
	json_object_object_add(root, "trace_ended_by", jstr(ctx->ended_by));
	if (go_enabled(tg)) {	/* exits are seen by reads */
		json_object_object_add(root, "goroutine_exits_found_by_reads",
				       json_object_new_int64(go_exits_reconciled(tg)));
		json_object_object_add(root, "goroutine_sampling", go_sampling_json(tg));
	}
	if (tg->malloc)
		json_object_object_add(root, "malloc_sampling", malloc_sampling_json(tg));

	o = json_object_new_object();
	json_object_object_add(o, "rss_bytes", start_end(tg->first.rss, tg->last.rss));
	json_object_object_add(o, "rss_anon_bytes", start_end(tg->first.rss_anon, tg->last.rss_anon));
	json_object_object_add(o, "lazyfree_bytes", start_end(tg->first.lazyfree, tg->last.lazyfree));
	json_object_object_add(o, "threads", start_end(tg->threads_start, tg->threads_end));
	if (go_enabled(tg))
		json_object_object_add(o, "goroutines", start_end(go_count_start(tg), go_count_end(tg)));
	else
		json_object_object_add(o, "goroutines", NULL);
	json_object_object_add(o, "mapped_traced_bytes", json_object_new_int64(ms->mapped_total));
	json_object_object_add(root, "totals", o);
	json_object_object_add(root, "memory_probes", mem_probes_json(ctx, ms));

	o = json_object_new_object();
	for (int a = 0; a < LT_MADV_MAX; a++) {
		char name[16];

		if (!ms->madvise_calls[a])
			continue;
		snprintf(name, sizeof(name), "%d", a);
		json_object_object_add(o, a == 4 ? "dontneed" : a == 8 ? "free" :
					  a == 9 ? "remove" : name,
				       json_object_new_int64(ms->madvise_bytes[a]));
	}
	json_object_object_add(root, "madvise_bytes", o);
	json_object_object_add(root, "go_heap_profile", heap_profile_json(tg));

	entry_of = calloc(tg->model.n ? tg->model.n : 1, sizeof(*entry_of));
	json_at = calloc(tg->model.n ? tg->model.n : 1, sizeof(*json_at));
	for (size_t i = 0; entry_of && json_at && i < tg->model.n; i++)
		entry_of[i] = json_at[i] = -1;
	for (size_t k = 0; entry_of && k < tg->model.nentries; k++)
		for (size_t j = 0; j < tg->model.entries[k].nsites; j++)
			entry_of[tg->model.entries[k].sites[j]->id] = (int)k;
	arr = json_object_new_array();
	for (size_t i = 0; i < tg->model.n && shown < MAX_JSON_SITES; i++) {
		const struct site *s = tg->model.ranked[i];

		if (!site_shown(s))
			continue;
		if (json_at)
			json_at[s->id] = shown;
		json_object *so = site_json(&tg->model, s, hi.data_age_s,
					    entry_of ? entry_of[s->id] : -1);

		if (s->kind == SITE_MALLOC)
			malloc_site_json(tg, s, so);
		json_object_array_add(arr, so);
		shown++;
	}
	json_object_object_add(root, "sites", arr);
	json_object_object_add(root, "entries", entries_json(tg, json_at));
	json_object_object_add(root, "memory_limit", limit_json(tg));
	free(entry_of);
	free(json_at);

	arr = json_object_new_array();
	for (int i = 0; i < nf; i++) {
		o = json_object_new_object();
		json_object_object_add(o, "severity", json_object_new_string(finding_severity_name(fs[i].severity)));
		json_object_object_add(o, "kind", json_object_new_string(fs[i].kind));
		json_object_object_add(o, "title", json_object_new_string(fs[i].title));
		json_object_object_add(o, "detail", json_object_new_string(fs[i].detail));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "findings", arr);

	o = json_object_new_object();
	for (int i = 0; i < LT_DROP_MAX; i++) {
		if (i == LT_DROP_STACK_MAP || i == LT_DROP_STACK_READ)
			stacks += ctx->drops[i];
		else
			events += ctx->drops[i];
	}
	json_object_object_add(o, "events", json_object_new_int64(events));
	json_object_object_add(o, "stacks", json_object_new_int64(stacks + tg->stacks.missing));
	arr = json_object_new_object();
	for (int i = 0; i < LT_DROP_MAX; i++)
		json_object_object_add(arr, drop_names[i], json_object_new_int64(ctx->drops[i]));
	json_object_object_add(arr, "stack_gone_before_read", json_object_new_int64(tg->stacks.missing));
	json_object_object_add(o, "by_cause", arr);
	json_object_object_add(root, "drops", o);
	json_object_object_add(root, "unwind", report_unwind_json(tg));
	json_object_object_add(root, "symbols_missing", symbols_missing_json(tg));
	if (ctx->base)
		json_object_object_add(root, "comparison", compare_json(ctx->base, &tg->model));
	return root;
}

json_object *report_process_json(struct lt_ctx *ctx, struct lt_target *tg)
{
	struct finding fs[MAX_FINDINGS];
	int nf = findings_build(ctx, tg, fs, MAX_FINDINGS);

	return report_json(ctx, tg, fs, nf);
}

void report_process_text(struct lt_ctx *ctx, struct lt_target *tg, FILE *out)
{
	struct finding fs[MAX_FINDINGS];
	int nf = findings_build(ctx, tg, fs, MAX_FINDINGS);

	text_report(ctx, tg, out, fs, nf);
}

int report_write(struct lt_ctx *ctx, struct lt_target *tg, FILE *out)
{
	struct finding fs[MAX_FINDINGS];
	int nf;

	if (ctx->opts.format == FMT_FOLDED)
		return folded_write(tg, out);
	if (ctx->opts.format == FMT_PPROF)
		return pprof_write(ctx, tg, out);
	nf = findings_build(ctx, tg, fs, MAX_FINDINGS);
	if (ctx->opts.format == FMT_JSON) {
		json_object *root = report_json(ctx, tg, fs, nf);

		/* Paths and symbols are bytes: escape what is not UTF-8. */
		fputs_utf8(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
							  JSON_C_TO_STRING_NOSLASHESCAPE), out);
		fputc('\n', out);
		json_object_put(root);
	} else {
		text_report(ctx, tg, out, fs, nf);
	}
	return fflush(out) ? -errno : 0;
}

json_object *report_frames_json(const struct frame *f, int n)
{
	return frames_json(f, n);
}

void report_frame_text(const struct frame *f, char *buf, size_t len)
{
	text_frame(f, buf, len);
}
