// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/entries.h"
#include "model/verdict.h"
#include "report/findings.h"
#include "report/report.h"
#include "report/text.h"
#include "trace/mem.h"
#include "sym/funcnames.h"
#include "sym/symbolize.h"

#define MIB (1024.0 * 1024.0)
#define PARKED_MIN_GOROUTINES 10
#define PARKED_MIN_S 60.0
#define PARKED_MANY 1000
#define MAX_LEAK_FINDINGS 5

const char *finding_severity_name(enum finding_severity s)
{
	return s == SEV_CRITICAL ? "critical" : s == SEV_WARNING ? "warning" : "info";
}

static struct finding *add(struct finding *out, int *n, int max,
			   enum finding_severity sev, const char *kind)
{
	if (*n >= max)
		return NULL;
	memset(&out[*n], 0, sizeof(out[*n]));
	out[*n].severity = sev;
	out[*n].kind = kind;
	return &out[(*n)++];
}

/* The culprit of an entry as users read it: "function (file:line)". */
static void culprit_text(const struct entry *e, char *buf, size_t len)
{
	if (e->culprit >= 0 && e->lead->nframes)
		text_culprit(e, buf, len);
	else
		snprintf(buf, len, "%s", e->symptom ? "no application frame" :
			 e->lead->preexisting ? "goroutines alive before attach" :
			 "an unknown stack");
}

static void memory_leak(const struct entry *e, struct finding *f)
{
	const struct entry_column *c = &e->col[entry_col_of(e->lead->kind)];
	char where[512], cols[256] = "", a[32];
	const char *fn = NULL;
	size_t off = 0;

	culprit_text(e, where, sizeof(where));
	if (e->culprit >= 0)
		fn = e->lead->frames[e->culprit].function;
	for (int k = 0; k < COL_MAX; k++)
		if (e->col[k].nsites && off < sizeof(cols))
			off += snprintf(cols + off, sizeof(cols) - off, "%s%s %s",
					off ? ", " : "", entry_col_name(k),
					report_bytes((double)e->col[k].bytes, a, sizeof(a)));
	if (e->symptom) {
		/* never advice about a runtime or allocator function */
		snprintf(f->title, sizeof(f->title),
			 "runtime/allocator memory grows by %.1f MiB/min with no application frame on its stacks",
			 c->slope_per_min / MIB);
		snprintf(f->detail, sizeof(f->detail),
			 "%s now. This is growth of the Go runtime's or the allocator's own structures (heap arenas, stack pools, allocator refills); it follows allocations made elsewhere, which leaktrace did not see grow. Trace the heap kind (Go) or malloc to see who allocates.",
			 cols);
		return;
	}
	snprintf(f->title, sizeof(f->title),
		 "memory kept by %.200s grows by %.1f MiB/min and is not given back",
		 where, c->slope_per_min / MIB);
	snprintf(f->detail, sizeof(f->detail),
		 "%s now (%zu site%s merged: lines and allocator paths of one culprit); %.1f MiB/min in the last quarter of the window. Look at what %s keeps and who should release it.",
		 cols, e->nsites, e->nsites == 1 ? "" : "s", c->recent_per_min / MIB,
		 fn ? fn : where);
}

static void count_leak(const struct entry *e, struct finding *f)
{
	char where[512], before[96] = "";
	const struct site *w = NULL;

	culprit_text(e, where, sizeof(where));
	for (size_t i = 0; i < e->nsites && !w; i++)
		if (e->sites[i]->wait_reason)
			w = e->sites[i];
	if (e->before_attach)
		snprintf(before, sizeof(before), " (%lld before attach + %lld since)",
			 (long long)e->before_attach, (long long)e->since);
	snprintf(f->title, sizeof(f->title), "live %ss started at %.200s climb by %.1f/min",
		 e->cls == ENTRY_GOROUTINE ? "goroutine" : "thread", where,
		 e->rate_per_min);
	snprintf(f->detail, sizeof(f->detail),
		 "%lld live now%s, %llu created while traced%s%s. They are started and never finish.",
		 (long long)e->live, before, (unsigned long long)e->created,
		 w ? "; most are parked in " : "", w ? w->wait_reason : "");
}

static void leak_findings(struct lt_target *tg, struct finding *out, int *n,
			  int max)
{
	const struct model *m = &tg->model;
	int shown = 0;

	for (size_t i = 0; i < m->nentries && shown < MAX_LEAK_FINDINGS; i++) {
		const struct entry *e = &m->entries[i];
		struct finding *f;

		/* a symptom with a cause is told under its cause */
		if (e->verdict != VERDICT_LEAK || (e->symptom && e->cause >= 0))
			continue;
		f = add(out, n, max, SEV_CRITICAL, "leak");
		if (!f)
			return;
		shown++;
		if (e->cls == ENTRY_MEMORY)
			memory_leak(e, f);
		else
			count_leak(e, f);
	}
}

/* Grew, then flat: say so, so nobody reads the size as a leak. */
static void stopped_findings(struct lt_target *tg, struct finding *out, int *n,
			     int max)
{
	const struct model *m = &tg->model;
	int shown = 0;

	for (size_t i = 0; i < m->nentries && shown < 2; i++) {
		const struct entry *e = &m->entries[i];
		char where[512], a[32];
		double before = 0;
		struct finding *f;

		if (e->verdict != VERDICT_STOPPED || !isfinite(e->grew_until_s) ||
		    (e->symptom && e->cause >= 0))
			continue;
		f = add(out, n, max, SEV_INFO, "stopped");
		if (!f)
			return;
		shown++;
		culprit_text(e, where, sizeof(where));
		/* the pace of its fastest stopped site (the lead may be another) */
		for (size_t k = 0; k < e->nsites; k++)
			if (e->sites[k]->verdict == VERDICT_STOPPED &&
			    e->sites[k]->growth.before_per_min > before)
				before = e->sites[k]->growth.before_per_min;
		if (e->cls == ENTRY_MEMORY)
			report_bytes((double)e->col[entry_col_of(e->lead->kind)].bytes, a, sizeof(a));
		else
			snprintf(a, sizeof(a), "%lld live", (long long)e->live);
		snprintf(f->title, sizeof(f->title),
			 "%.200s grew until t=%.0f s, flat since: not a current leak",
			 where, e->grew_until_s);
		snprintf(f->detail, sizeof(f->detail),
			 "%s now. It rose by %.1f %s/min, then held for the rest of the window (a two-segment fit finds the change; the later segment is flat). A cache or pool filling to its size looks like this; trace again later to see whether it grows again.",
			 a, before / (e->cls == ENTRY_MEMORY ? MIB : 1),
			 e->cls == ENTRY_MEMORY ? "MiB" : "objects");
	}
}

static void lazyfree_finding(struct lt_target *tg, struct finding *out, int *n,
			     int max)
{
	const struct mem_stats *ms = mem_stats(tg);
	double lazy = (double)tg->last.lazyfree / MIB;
	double rss = (double)tg->last.rss / MIB;
	char released[192];
	struct finding *f;
	bool go = symbolizer_go_version(tg->sym) != NULL;

	if (tg->last.lazyfree < (16u << 20) && !ms->madvise_bytes[LT_MADV_FREE])
		return;
	if (tg->last.lazyfree < (1u << 20))
		return;
	f = add(out, n, max, lazy > rss / 4 ? SEV_WARNING : SEV_INFO, "lazyfree");
	if (!f)
		return;
	snprintf(f->title, sizeof(f->title),
		 "%.0f MiB of RSS is memory the process already freed with MADV_FREE; the kernel reclaims it only under pressure",
		 lazy);
	/* LazyFree alone is enough: the memory was often released before
	 * leaktrace attached, and smaps still shows it. */
	if (ms->madvise_calls[LT_MADV_FREE])
		snprintf(released, sizeof(released),
			 "While traced the process released %.1f MiB with MADV_FREE (%llu calls) and %.1f MiB with MADV_DONTNEED.",
			 (double)ms->madvise_bytes[LT_MADV_FREE] / MIB,
			 (unsigned long long)ms->madvise_calls[LT_MADV_FREE],
			 (double)ms->madvise_bytes[LT_MADV_DONTNEED] / MIB);
	else
		snprintf(released, sizeof(released),
			 "No MADV_FREE call was seen while traced: the memory was released before leaktrace attached.");
	snprintf(f->detail, sizeof(f->detail),
		 "smaps LazyFree is %.1f MiB of %.1f MiB RSS. %s These pages count in RSS (and against a container's memory limit as seen by RSS-based monitoring) until the kernel needs memory. %s",
		 lazy, rss, released,
		 go ? "Remedy: run with GODEBUG=madvdontneed=1 (the default since Go 1.16) so freed memory leaves RSS at once."
		    : "Remedy: if RSS-based limits matter, make the allocator return memory with MADV_DONTNEED instead of MADV_FREE (jemalloc: muzzy_decay_ms:0; Go: GODEBUG=madvdontneed=1).");
}

/* Thread growth now: the thread count's slope over the recent part of
 * the window, in threads over that part. Start-up threads (a runtime
 * starting its workers right after `-- CMD`) are flat by then. */
static double threads_rising_now(const struct model *m)
{
	double from = 0, rate;

	if (m->ntotals < 2)
		return 0;
	rate = analyze_recent_per_min(m->threads, m->ntotals, &from);
	return rate * (m->threads[m->ntotals - 1].t - from) / 60;
}

static void thread_finding(struct lt_target *tg, struct finding *out, int *n,
			   int max)
{
	struct finding *f;

	if (tg->threads_end <= tg->threads_start + 4 || tg->now_s <= 0 ||
	    threads_rising_now(&tg->model) < 1)
		return;
	f = add(out, n, max, SEV_WARNING, "threads");
	if (!f)
		return;
	snprintf(f->title, sizeof(f->title), "OS threads grew from %u to %u and still grow",
		 tg->threads_start, tg->threads_end);
	snprintf(f->detail, sizeof(f->detail),
		 "%.1f threads a minute over %.0f s, and more in the last quarter of the window. Each thread holds a stack (8 MiB reserved by default) and kernel state; see the thread entries for where they are created.",
		 (tg->threads_end - tg->threads_start) * 60.0 / tg->now_s,
		 tg->now_s);
}

/* Workers wait for work in a receive, a select, on I/O, a timer or a
 * condition: a fixed number of them parked there for minutes is a pool.
 * Parked on a send or a lock for minutes, nobody serves them. */
static bool blocked_wait(const char *reason)
{
	static const char *const blocked[] = {
		"chan send", "chan receive (nil chan)", "select (no cases)",
		"sync.Mutex.Lock", "sync.RWMutex.Lock", "sync.RWMutex.RLock",
		"semacquire",
	};

	for (size_t i = 0; i < sizeof(blocked) / sizeof(blocked[0]); i++)
		if (!strncmp(reason, blocked[i], strlen(blocked[i])))
			return true;
	return false;
}

/* Goroutines parked at one place for minutes: blocked for good when they
 * wait on a send or a lock, when more of them came while traced, or when
 * there are more than any pool would hold. */
static void parked_finding(struct lt_target *tg, struct finding *out, int *n,
			   int max)
{
	const struct model *m = &tg->model;
	int shown = 0;

	for (size_t i = 0; i < m->nentries && shown < 2; i++) {
		const struct entry *e = &m->entries[i];
		const struct site *w = NULL;
		const char *at = NULL;
		char where[512];
		double longest = -1;
		struct finding *f;

		if (e->cls != ENTRY_GOROUTINE || e->waiting < PARKED_MIN_GOROUTINES ||
		    e->verdict == VERDICT_LEAK)
			continue;
		for (size_t k = 0; k < e->nsites; k++) {
			longest = fmax(longest, e->sites[k]->parked_s);
			if (!w && e->sites[k]->wait_reason)
				w = e->sites[k];
		}
		if (longest < PARKED_MIN_S || !w ||
		    !(blocked_wait(w->wait_reason) || e->since > 0 ||
		      e->waiting >= PARKED_MANY))
			continue;
		for (int k = 0; k < w->nwait && !at; k++)
			if (w->wait_frames[k].function &&
			    !fn_is_go_runtime(w->wait_frames[k].function))
				at = w->wait_frames[k].function;
		f = add(out, n, max, SEV_WARNING, "parked");
		if (!f)
			return;
		shown++;
		culprit_text(e, where, sizeof(where));
		snprintf(f->title, sizeof(f->title),
			 "%llu goroutines started at %.160s are parked in \"%.40s\", the longest for %.0f min",
			 (unsigned long long)e->waiting, where, w->wait_reason, longest / 60);
		snprintf(f->detail, sizeof(f->detail),
			 "They wait in %s (%lld live: %llu parked, the others running or runnable). Goroutines blocked this long on a channel or lock nobody serves are leaked: each holds its stack (>= 2 KiB, often 8 KiB or more) and everything it references. Find who should send, receive, cancel or close for them.",
			 at ? at : "the runtime", (long long)e->live,
			 (unsigned long long)e->waiting);
	}
}

/* Goroutines the Go runtime itself proved leaked (Go 1.26+'s goroutine
 * leak detection: blocked on something no live goroutine can reach; it
 * runs when the service collects the goroutineleak profile). */
static void runtime_leaked_finding(struct lt_target *tg, struct finding *out,
				   int *n, int max)
{
	int shown = 0;

	for (size_t i = 0; i < tg->model.n && shown < 3; i++) {
		const struct site *s = tg->model.ranked[i];
		char where[512];
		struct finding *f;

		if (s->kind != SITE_GOROUTINE || s->runtime_leaked <= 0)
			continue;
		f = add(out, n, max, SEV_CRITICAL, "runtime_leaked");
		if (!f)
			return;
		shown++;
		if (s->nframes)
			text_frame(&s->frames[site_user_frame(s)], where, sizeof(where));
		else
			snprintf(where, sizeof(where), "an unknown go statement");
		snprintf(f->title, sizeof(f->title),
			 "the Go runtime found %lld goroutines created by %.200s leaked",
			 (long long)s->runtime_leaked, where);
		snprintf(f->detail, sizeof(f->detail),
			 "Its goroutine leak detection (the goroutineleak profile) proved them blocked in \"%s\" on something no other goroutine can reach: they can never run again. They hold their stacks and all they reference until the process exits.",
			 s->wait_reason ? s->wait_reason : "?");
	}
}

/* Native stacks that end early. Never for Go targets: Go keeps frame
 * pointers, and a Go stack that ends early is a cgo or signal switch that
 * rebuilding would not change. */
static void truncated_finding(struct lt_target *tg, struct finding *out, int *n,
			      int max)
{
	size_t cut = 0, with = 0;
	char cfi[256] = "";
	struct finding *f;

	if (symbolizer_go_version(tg->sym))
		return;
	for (size_t i = 0; i < tg->model.n; i++) {
		const struct site *s = tg->model.sites[i];

		if (!s->nframes || s->kind == SITE_GOROUTINE)
			continue;
		with++;
		if (s->truncated)
			cut++;
	}
	if (!cut)
		return;
	f = add(out, n, max, SEV_INFO, "truncated");
	if (!f)
		return;
	snprintf(f->title, sizeof(f->title),
		 "%zu of %zu native stacks end early", cut, with);
	if (tg->stacks.uw.copies)
		snprintf(cfi, sizeof(cfi),
			 " CFI unwinding from copied stacks (--stack-copy-kb) ran for %llu events and went further for %llu; these stacks were not among them or CFI stopped too.",
			 (unsigned long long)tg->stacks.uw.copies,
			 (unsigned long long)tg->stacks.uw.unwound);
	snprintf(f->detail, sizeof(f->detail),
		 "Frame-pointer unwinding stops at code built without frame pointers (Debian's glibc, most -O2 C/C++), so the callers above such a frame are unknown.%s Rebuilding the target with -fno-omit-frame-pointer gives full stacks.",
		 cfi);
}

/* Frames in code a JIT compiled, which the runtime did not name in a perf
 * map: the stack goes on through them but they say nothing. */
static void jit_finding(struct lt_target *ctx, struct finding *out, int *n,
			int max)
{
	size_t unnamed = 0, sites = 0;
	struct finding *f;

	for (size_t i = 0; i < ctx->model.n; i++) {
		const struct site *s = ctx->model.sites[i];
		size_t here = 0;

		for (int k = 0; k < s->nframes; k++)
			here += s->frames[k].module && !s->frames[k].function &&
				!strcmp(s->frames[k].module, SYM_JIT_MODULE);
		unnamed += here;
		sites += here > 0;
	}
	if (!unnamed)
		return;
	f = add(out, n, max, SEV_INFO, "jit_unnamed");
	if (!f)
		return;
	snprintf(f->title, sizeof(f->title),
		 "%zu frames in JIT-compiled code on %zu sites have no names",
		 unnamed, sites);
	snprintf(f->detail, sizeof(f->detail),
		 "The target runs code it compiled itself (JavaScript, Java, Lua...) and writes no perf map (/tmp/perf-%d.map as it sees its pid) naming it. Start it with its perf map on (node --perf-basic-prof, chromium --js-flags=--perf-basic-prof, java with perf-map-agent, DOTNET_PerfMapEnabled=1) and leaktrace names those frames.",
		 ctx->target.pid);
}

static void drop_finding(struct lt_ctx *ctx, struct lt_target *tg, struct finding *out, int *n,
			 int max)
{
	uint64_t total = 0;
	struct finding *f;

	/* the same total as the report's DROPS line */
	total = tg->stacks.missing;
	for (int i = 0; i < LT_DROP_MAX; i++)
		total += ctx->drops[i];
	if (!total)
		return;
	f = add(out, n, max, SEV_WARNING, "drops");
	if (!f)
		return;
	snprintf(f->title, sizeof(f->title),
		 "%llu events or stacks could not be recorded",
		 (unsigned long long)total);
	snprintf(f->detail, sizeof(f->detail),
		 "See DROPS (JSON \"drops\") for the causes; each is counted once there. Stack gone before read: the stack map was reused before leaktrace read it, raise --max-stacks. Ring buffer full: raise --ringbuf-mb; stacks map full: raise --max-stacks; pages map full: raise --max-pages; fault stacks full: raise --max-fault-stacks.");
}

static void address_space_finding(struct lt_target *tg, struct finding *out,
				  int *n, int max)
{
	const struct model *m = &tg->model;

	for (size_t i = 0; i < m->nentries; i++) {
		const struct entry *e = &m->entries[i];
		const struct entry_column *mc = &e->col[COL_MAPPED];
		char where[512];
		struct finding *f;

		if (e->cls != ENTRY_MEMORY || e->symptom || e->verdict != VERDICT_LEAK ||
		    !mc->nsites || !(mc->slope_per_min > 0))
			continue;
		if ((double)tg->last.rss - (double)tg->first.rss >
		    mc->slope_per_min * tg->now_s / 60 / 4)
			return;	/* resident memory follows */
		f = add(out, n, max, SEV_INFO, "address-space");
		if (!f)
			return;
		culprit_text(e, where, sizeof(where));
		snprintf(f->title, sizeof(f->title),
			 "address space mapped by %.200s grows without resident memory", where);
		snprintf(f->detail, sizeof(f->detail),
			 "Mappings grow by %.1f MiB/min while RSS grows much less: untouched mappings cost address space and page tables, not RAM, until they are written.",
			 mc->slope_per_min / MIB);
		return;
	}
}

int findings_build(struct lt_ctx *ctx, struct lt_target *tg, struct finding *out, int max)
{
	int n = 0;

	runtime_leaked_finding(tg, out, &n, max);
	leak_findings(tg, out, &n, max);
	stopped_findings(tg, out, &n, max);
	lazyfree_finding(tg, out, &n, max);
	thread_finding(tg, out, &n, max);
	parked_finding(tg, out, &n, max);
	address_space_finding(tg, out, &n, max);
	drop_finding(ctx, tg, out, &n, max);
	truncated_finding(tg, out, &n, max);
	jit_finding(tg, out, &n, max);
	return n;
}
