/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* model/: sites (kind, frames) and their series, growth analysis
 * (analyze.h), ranking and verdicts. Knows nothing of BPF. */
/* Sites (kind, stack) and their time series. */
#ifndef LT_MODEL_H
#define LT_MODEL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model/analyze.h"
#include "sym/frame.h"
#include "util/hashmap.h"

enum site_kind {
	SITE_GOROUTINE,
	SITE_THREAD,
	SITE_MMAP,
	SITE_BRK,
	SITE_FAULT,
	SITE_HEAP,
	SITE_MALLOC,
	SITE_KIND_MAX,
};

const char *site_kind_name(enum site_kind kind);
/* Memory kinds are measured in bytes; the others count live objects. */
bool site_kind_is_bytes(enum site_kind kind);

/* What a site is doing, decided in model/verdict.c. */
enum verdict {
	VERDICT_NONE,		/* nothing to report */
	VERDICT_RECYCLED,	/* rose, but given back or reused: churn */
	VERDICT_STOPPED,	/* grew until growth.change_s, flat since */
	VERDICT_GROWING,	/* grows now, not (yet) a leak's shape */
	VERDICT_LEAK,		/* grows now and keeps what it takes */
};

/* A series thinned without a window: each stored sample stands for n
 * taken ones once pairs were merged; the newest one stored is replaced
 * until it stands for n too. Without it, merging every pair at each
 * halving while new samples come one for one pushes the oldest sample
 * towards now (over a day at 1 s: the first at 86,518 s of 88,200). */
struct stride {
	uint32_t n;		/* samples taken per sample stored; 0 = 1 */
	uint32_t filled;	/* ... taken into the newest one so far */
};

struct site {
	enum site_kind kind;
	uint32_t id;
	struct frame *frames;	/* innermost first */
	int nframes;
	bool truncated;		/* native stack ended before a thread root */
	bool preexisting;	/* objects alive before attach, stack unknown */
	/* Nothing looked at this site since its last sample (a malloc site
	 * between duty windows): the samples model_sample takes then are kept
	 * (between two looks they are the best estimate there is) but, while
	 * they are the last ones, left out of the analysis: a pause in the
	 * looking is not growth that stopped. */
	bool unobserved;
	size_t unseen_tail;	/* the last samples taken so */
	int64_t live;		/* live objects; -1 n/a */
	int64_t bytes;		/* outstanding bytes; -1 n/a */
	uint64_t created;	/* objects created while traced */
	uint64_t freed;		/* bytes given back (munmap, madvise) */
	uint64_t lazyfree;	/* of which MADV_FREE */
	double oldest_s;	/* age of the oldest live object; <0 unknown */
	/* goroutine sites */
	const char *wait_reason;	/* dominant one */
	struct frame *wait_frames;	/* dominant park stack */
	int nwait;
	uint64_t waiting;		/* goroutines parked there */
	double parked_s;		/* longest current park; <0 unknown */
	struct site *creator;		/* site of the goroutines that
					 * created these; NULL unknown */
	int64_t unsampled;		/* live ones whose creation no probe
					 * saw, given to this site by their
					 * go statement */
	int64_t runtime_leaked;		/* marked leaked by the Go runtime */
	uint64_t stmt_probed;		/* creations seen by a probe on the
					 * go statement itself */
	bool stmt_only;			/* creation stack never sampled: the
					 * go statement alone */
	/* heap sites (the Go runtime's heap profile, scaled as pprof does):
	 * live/bytes are in use; these are allocated since the process
	 * started, and allocated bytes per second over the trace (<0:
	 * fewer than two GC cycles seen). */
	uint64_t alloc_objects;
	uint64_t alloc_bytes;
	double alloc_bytes_per_s;
	/* A runtime fault/mmap site whose growth is the heap growth of
	 * heap site heap_cause - 1 (0: not a consequence). */
	uint32_t heap_cause;
	/* series */
	struct sample *samples;
	size_t nsamples, cap;
	struct stride stride;
	struct growth growth;
	enum verdict verdict;	/* model_rank: verdict_decide */
	const char *verdict_why;	/* the rule that decided, static */
	double score;		/* ranking */
	/* goroutine sites: of the live ones, how many are running or
	 * runnable now (the rest parked); -1 when the tracker did not say. */
	int64_t running, runnable;
};

struct model {
	struct site **sites;	/* by id */
	size_t n, cap;
	struct site **ranked;	/* by suspicion, after model_rank */
	struct u64map index;	/* key hash -> site id + 1 */
	struct entry *entries;	/* one per culprit, after model_rank */
	size_t nentries;
	/* the process's RSS and thread count, one sample per model_totals */
	struct sample *rss, *threads;
	size_t ntotals, totals_cap;
	struct stride totals_stride;
	/* An always-on agent: analyse only the last window_s seconds (0: the
	 * whole run); with a window and max_samples, every sample until a
	 * series holds max_samples / 2, then one per window_s / max_samples
	 * seconds: at most 1.5 max_samples + 2 (bounded memory per site).
	 * Without a window max_samples (0: 2048) merges pairs past it, and
	 * new samples then come at the coarser rate (struct stride). */
	double window_s;
	uint32_t max_samples;
};

void model_init(struct model *m);
void model_free(struct model *m);
#define SITE_F_TRUNCATED	1	/* native stack ended early */
#define SITE_F_PREEXISTING	2	/* objects alive before attach */

/* Finds or creates the site for (kind, frames, flags). The frames are
 * copied. Returns the site, or NULL on ENOMEM. */
struct site *model_site(struct model *m, enum site_kind kind,
			const struct frame *frames, int nframes,
			unsigned int flags);
/* The same, with extra_key kept apart in the site's identity (e.g. the
 * park stack of goroutines that existed before attach). */
struct site *model_site_keyed(struct model *m, enum site_kind kind,
			      const struct frame *frames, int nframes,
			      unsigned int flags, uint64_t extra_key);
/* The site of objects that existed before attach, stack unknown. */
struct site *model_site_preexisting(struct model *m, enum site_kind kind);
/* Index of the frame users look at: the first outside the Go runtime,
 * syscall wrappers and libc internals (0 when there is none). */
int site_user_frame(const struct site *s);
static inline struct site *model_get(struct model *m, uint32_t id)
{
	return id < m->n ? m->sites[id] : NULL;
}
/* Appends one sample at time t to every site (value: bytes for memory
 * kinds, live for the others). Series are downsampled to stay bounded. */
void model_sample(struct model *m, double t);
/* The samples of s that analysis reads: all but an unobserved tail. */
size_t model_seen_samples(const struct site *s);
/* The site's value was revised, not changed: the same objects weighed
 * anew (an estimate's window weight became final). Its samples from t_from
 * on move by the same amount (bytes or objects, as the kind counts), so
 * the revision is no step in its growth. */
void model_revise(struct site *s, double t_from, double d_bytes, double d_live);
/* Runs growth analysis on every site and fills m->ranked, most suspect
 * first. rss_rise: how much the process's RSS rose over the window (bytes;
 * NAN if unknown): resident growth at a site beyond it is pages being
 * recycled since attach, not a leak. */
/* qsort order of model.ranked: most suspect (score) first, then by id. */
int model_cmp_score(const void *a, const void *b);
void model_rank(struct model *m, double rss_rise);
/* Appends the process's RSS (bytes) and thread count at time t. */
void model_totals(struct model *m, double t, double rss, double threads);
#endif
