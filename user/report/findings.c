// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "report/findings.h"
#include "trace/mem.h"
#include "sym/funcnames.h"
#include "sym/symbolize.h"

#define MIB (1024.0 * 1024.0)
#define PARKED_MIN_GOROUTINES 10
#define PARKED_MIN_S 60.0

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

static const char *top_function(const struct site *s)
{
	for (int i = 0; i < s->nframes; i++)
		if (s->frames[i].function)
			return s->frames[i].function;
	return "an unknown function";
}

/* The frame users look at (see site_user_frame). */
static const char *user_function(const struct site *s)
{
	int i = site_user_frame(s);

	return i < s->nframes && s->frames[i].function ? s->frames[i].function
						      : top_function(s);
}

static void leak_findings(struct lt_ctx *ctx, struct finding *out, int *n,
			  int max)
{
	int shown = 0;

	for (size_t i = 0; i < ctx->model.n && shown < 3; i++) {
		const struct site *s = ctx->model.ranked[i];
		struct finding *f;

		if (!s->growth.leak)
			continue;
		f = add(out, n, max, SEV_CRITICAL, "leak");
		if (!f)
			return;
		shown++;
		if (site_kind_is_bytes(s->kind)) {
			snprintf(f->title, sizeof(f->title),
				 "%s memory from %s grows by %.1f MiB/min and is not given back",
				 site_kind_name(s->kind), user_function(s),
				 s->growth.slope_per_min / MIB);
			snprintf(f->detail, sizeof(f->detail),
				 "%.1f MiB outstanding now (%s), %.1f MiB given back while traced; the series fits a steady rise (r2 %.2f). Look at what %s keeps and who should release it.",
				 (double)s->bytes / MIB,
				 s->kind == SITE_FAULT ? "resident, first touched there"
						       : "mapped there",
				 (double)s->freed / MIB, s->growth.r2,
				 user_function(s));
		} else {
			snprintf(f->title, sizeof(f->title),
				 "live %ss created from %s climb by %.1f/min",
				 site_kind_name(s->kind), user_function(s),
				 s->growth.slope_per_min);
			snprintf(f->detail, sizeof(f->detail),
				 "%lld live now, %llu created while traced%s%s. They are started and never finish.",
				 (long long)s->live,
				 (unsigned long long)s->created,
				 s->wait_reason ? "; most are parked in " : "",
				 s->wait_reason ? s->wait_reason : "");
		}
	}
}

static void lazyfree_finding(struct lt_ctx *ctx, struct finding *out, int *n,
			     int max)
{
	const struct mem_stats *ms = mem_stats(ctx);
	double lazy = (double)ctx->last.lazyfree / MIB;
	double rss = (double)ctx->last.rss / MIB;
	char released[192];
	struct finding *f;
	bool go = symbolizer_go_version(ctx->sym) != NULL;

	if (ctx->last.lazyfree < (16u << 20) && !ms->madvise_bytes[LT_MADV_FREE])
		return;
	if (ctx->last.lazyfree < (1u << 20))
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

static void thread_finding(struct lt_ctx *ctx, struct finding *out, int *n,
			   int max)
{
	struct finding *f;

	if (ctx->threads_end <= ctx->threads_start + 4 || ctx->now_s <= 0)
		return;
	f = add(out, n, max, SEV_WARNING, "threads");
	if (!f)
		return;
	snprintf(f->title, sizeof(f->title), "OS threads grew from %u to %u",
		 ctx->threads_start, ctx->threads_end);
	snprintf(f->detail, sizeof(f->detail),
		 "%.1f threads a minute over %.0f s. Each thread holds a stack (8 MiB reserved by default) and kernel state; see the thread sites for where they are created.",
		 (ctx->threads_end - ctx->threads_start) * 60.0 / ctx->now_s,
		 ctx->now_s);
}

/* Goroutines parked at one place for minutes: blocked for good, usually. */
static void parked_finding(struct lt_ctx *ctx, struct finding *out, int *n,
			   int max)
{
	int shown = 0;

	for (size_t i = 0; i < ctx->model.n && shown < 2; i++) {
		const struct site *s = ctx->model.ranked[i];
		const char *at = NULL;
		struct finding *f;

		if (s->kind != SITE_GOROUTINE || s->waiting < PARKED_MIN_GOROUTINES ||
		    s->parked_s < PARKED_MIN_S || s->growth.leak)
			continue;
		for (int k = 0; k < s->nwait && !at; k++)
			if (s->wait_frames[k].function &&
			    !fn_is_go_runtime(s->wait_frames[k].function))
				at = s->wait_frames[k].function;
		f = add(out, n, max, SEV_WARNING, "parked");
		if (!f)
			return;
		shown++;
		snprintf(f->title, sizeof(f->title),
			 "%llu goroutines created by %s are parked in \"%s\", the longest for %.0f min",
			 (unsigned long long)s->waiting, user_function(s),
			 s->wait_reason ? s->wait_reason : "?", s->parked_s / 60);
		snprintf(f->detail, sizeof(f->detail),
			 "They wait in %s. Goroutines blocked this long on a channel or lock nobody serves are leaked: each holds its stack (>= 2 KiB, often 8 KiB or more) and everything it references. Find who should send, receive, cancel or close for them.",
			 at ? at : "the runtime");
	}
}

/* Goroutines the Go runtime itself proved leaked (Go 1.26+'s goroutine
 * leak detection: blocked on something no live goroutine can reach; it
 * runs when the service collects the goroutineleak profile). */
static void runtime_leaked_finding(struct lt_ctx *ctx, struct finding *out,
				   int *n, int max)
{
	int shown = 0;

	for (size_t i = 0; i < ctx->model.n && shown < 3; i++) {
		const struct site *s = ctx->model.ranked[i];
		struct finding *f;

		if (s->kind != SITE_GOROUTINE || s->runtime_leaked <= 0)
			continue;
		f = add(out, n, max, SEV_CRITICAL, "runtime_leaked");
		if (!f)
			return;
		shown++;
		snprintf(f->title, sizeof(f->title),
			 "the Go runtime found %lld goroutines created by %s leaked",
			 (long long)s->runtime_leaked, user_function(s));
		snprintf(f->detail, sizeof(f->detail),
			 "Its goroutine leak detection (the goroutineleak profile) proved them blocked in \"%s\" on something no other goroutine can reach: they can never run again. They hold their stacks and all they reference until the process exits.",
			 s->wait_reason ? s->wait_reason : "?");
	}
}

static void truncated_finding(struct lt_ctx *ctx, struct finding *out, int *n,
			      int max)
{
	size_t cut = 0, with = 0;
	struct finding *f;

	for (size_t i = 0; i < ctx->model.n; i++) {
		if (ctx->model.sites[i]->truncated)
			cut++;
		if (ctx->model.sites[i]->nframes)
			with++;
	}
	if (!cut)
		return;
	f = add(out, n, max, SEV_INFO, "truncated");
	if (!f)
		return;
	snprintf(f->title, sizeof(f->title),
		 "%zu of %zu sites have stacks that end early", cut, with);
	snprintf(f->detail, sizeof(f->detail),
		 "Frame-pointer unwinding stops at code built without frame pointers (Debian's glibc, most -O2 C/C++), so the callers above such a frame are unknown. Rebuilding the target with -fno-omit-frame-pointer gives full stacks.");
}

static void drop_finding(struct lt_ctx *ctx, struct finding *out, int *n,
			 int max)
{
	uint64_t total = 0;
	struct finding *f;

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
		 "See \"drops\" for the causes. Ring buffer full: raise --ringbuf-mb; stacks map full: raise --max-stacks; pages map full: raise --max-pages; fault stacks full: raise --max-fault-stacks.");
}

static void address_space_finding(struct lt_ctx *ctx, struct finding *out,
				  int *n, int max)
{
	for (size_t i = 0; i < ctx->model.n; i++) {
		const struct site *s = ctx->model.ranked[i];
		struct finding *f;

		if (s->kind != SITE_MMAP || !s->growth.leak)
			continue;
		if ((double)ctx->last.rss - (double)ctx->first.rss >
		    s->growth.slope_per_min * ctx->now_s / 60 / 4)
			return;	/* resident memory follows */
		f = add(out, n, max, SEV_INFO, "address-space");
		if (!f)
			return;
		snprintf(f->title, sizeof(f->title),
			 "address space mapped by %s grows without resident memory",
			 user_function(s));
		snprintf(f->detail, sizeof(f->detail),
			 "Mappings grow by %.1f MiB/min while RSS grows much less: untouched mappings cost address space and page tables, not RAM, until they are written.",
			 s->growth.slope_per_min / MIB);
		return;
	}
}

int findings_build(struct lt_ctx *ctx, struct finding *out, int max)
{
	int n = 0;

	runtime_leaked_finding(ctx, out, &n, max);
	leak_findings(ctx, out, &n, max);
	lazyfree_finding(ctx, out, &n, max);
	thread_finding(ctx, out, &n, max);
	parked_finding(ctx, out, &n, max);
	address_space_finding(ctx, out, &n, max);
	drop_finding(ctx, out, &n, max);
	truncated_finding(ctx, out, &n, max);
	return n;
}
