// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Verdict rules, in the order they are tried (each has a unit test in
 * tests/unit/test_verdict.c):
 *   1 stopped   the series grew, then has held since a change point
 *               (analyze: two-segment fit, flat after): STOPPED when what
 *               it grew by is worth reporting, else NONE
 *   2 small     a leak's shape but the rise over the window is under
 *               VERDICT_MIN_RISE_*: not a leak (falls through to 6)
 *   3 unfelt    resident memory (fault) that rose while the process's RSS
 *               rose by less than RSS_FOLLOWS_FRACTION of it: pages being
 *               recycled since attach -> RECYCLED
 *   4 churn     memory given back more than held, or live objects all
 *               younger than MIN_LEAK_AGE: RECYCLED, unless RSS rose by
 *               all of the site's rise (what it holds is held)
 *   5 leak      a leak's shape (analyze: steady, or a sawtooth whose
 *               troughs climb) -> LEAK, unless it rose in fewer than
 *               MIN_LEAK_RISES steps holding fewer than FEW_OBJECTS live
 *               objects (two pooled 900 KB buffers are not a trend:
 *               falls through to 6)
 *   6 growing   grows now: recent slope > 0, and over the window it rose
 *               by VERDICT_MIN_RISE_* and MIN_REL_RISE of its level
 *               -> GROWING
 *   7 otherwise NONE
 */
#include <math.h>
#include <string.h>
#include "model/verdict.h"

/* The oldest live object of a leaking goroutine/thread site has been alive
 * for a good part of the window. */
#define MIN_LEAK_AGE_S		2.0
#define MIN_LEAK_AGE_FRACTION	0.25
/* A leak of resident memory raises the process's RSS by at least this part
 * of the site's own rise. */
#define RSS_FOLLOWS_FRACTION	0.5
/* Growth worth a "grows" verdict rises by this much of its level. */
#define MIN_REL_RISE		0.02
/* A site of few objects must rise this often to be called a leak. */
#define MIN_LEAK_RISES		3
#define FEW_OBJECTS		8

/* Score weights: a leak counts four times its rate; growth that is not a
 * leak's shape (yet) once; stopped growth, churn and nothing barely (their
 * rate now is ~0 or recycled). A 7.7 MiB/min leak (30.8) thus ranks below
 * a site growing by 477 MiB/min now, and above churn of 477 MiB/min that
 * RSS does not follow (23.9). */
#define W_LEAK			4.0
#define W_GROWING		1.0
#define W_OTHER			0.05
#define LEVEL_WEIGHT		0.1

static double span_of(const struct site *s)
{
	size_t n = model_seen_samples(s);

	return n > 1 ? s->samples[n - 1].t - s->samples[0].t : 0;
}

static double peak_of(const struct site *s)
{
	double p = 0;

	for (size_t i = 0; i < model_seen_samples(s); i++)
		if (isfinite(s->samples[i].v) && fabs(s->samples[i].v) > p)
			p = fabs(s->samples[i].v);
	return p;
}

/* Times the series rose from one sample to the next. */
static int rises_of(const struct site *s)
{
	int n = 0;

	for (size_t i = 1; i < model_seen_samples(s); i++)
		n += s->samples[i].v > s->samples[i - 1].v;
	return n;
}

/* A handful of objects that arrived in one or two steps (a pool growing
 * by a large buffer, a cache taking a second table) says nothing of a
 * trend: seen in Prometheus's self-scrape, two gzip writers of 900 KB. */
static bool too_few_events(const struct site *s)
{
	return s->live >= 0 && s->live < FEW_OBJECTS &&
	       rises_of(s) < MIN_LEAK_RISES;
}

static bool is_churn(const struct site *s, double span)
{
	double min_age = span * MIN_LEAK_AGE_FRACTION;

	/* Memory a site gave back more of than it holds is being recycled
	 * (a heap settling after attach: counting starts at zero), not kept. */
	if (site_kind_is_bytes(s->kind))
		return s->bytes >= 0 && s->freed > (uint64_t)s->bytes;
	if (s->oldest_s < 0)
		return false;
	return s->oldest_s < fmax(min_age, MIN_LEAK_AGE_S);
}

static enum verdict decide(const struct site *s, double rss_rise,
			   const char **why)
{
	const struct growth *g = &s->growth;
	double span = span_of(s), rise = g->slope_per_min * span / 60;
	double min_rise = site_kind_is_bytes(s->kind) ? VERDICT_MIN_RISE_BYTES
						      : VERDICT_MIN_RISE_OBJECTS;

	if (g->stopped) {
		double t0 = s->nsamples ? s->samples[0].t : 0;
		double grew = g->before_per_min * (g->change_s - t0) / 60;

		*why = "grew, then flat since a change point";
		return grew >= min_rise ? VERDICT_STOPPED : VERDICT_NONE;
	}
	if (g->leak && rise >= min_rise && !too_few_events(s)) {
		/* Fault counting starts at zero at attach: a heap that
		 * recycles pages ramps up without RSS following ... */
		bool unfelt = s->kind == SITE_FAULT && isfinite(rss_rise) &&
			      rss_rise < RSS_FOLLOWS_FRACTION * rise;
		/* ... but when RSS rose by all of it, what the site gave back
		 * was reused elsewhere and what it holds is held. */
		bool felt = s->kind == SITE_FAULT && isfinite(rss_rise) &&
			    rss_rise >= rise;

		if (unfelt) {
			*why = "resident growth the process's RSS did not follow";
			return VERDICT_RECYCLED;
		}
		if (!felt && is_churn(s, span)) {
			*why = site_kind_is_bytes(s->kind)
				       ? "gave back more than it holds"
				       : "every live one is young";
			return VERDICT_RECYCLED;
		}
		*why = "steady rise, not given back, still rising";
		return VERDICT_LEAK;
	}
	if (g->recent_per_min > 0 && rise >= min_rise &&
	    rise >= MIN_REL_RISE * peak_of(s)) {
		*why = !g->leak ? "rises now, not steadily"
		       : too_few_events(s) ? "a few objects in one or two steps: no trend yet"
					   : "leak-shaped but too small yet";
		return VERDICT_GROWING;
	}
	*why = g->leak ? "leak-shaped but too small yet" : "no growth now";
	return VERDICT_NONE;
}

enum verdict verdict_decide(struct site *s, double rss_rise)
{
	const char *why = "";

	s->verdict = decide(s, rss_rise, &why);
	s->verdict_why = why;
	s->growth.leak = s->verdict == VERDICT_LEAK;
	if (!s->growth.leak)
		s->growth.confidence = 0;
	return s->verdict;
}

double verdict_rate_now(const struct site *s)
{
	double r = s->growth.recent_per_min;

	if (s->verdict == VERDICT_LEAK)
		r = fmax(r, s->growth.slope_per_min);
	return r > 0 && isfinite(r) ? r : 0;
}

double verdict_score(const struct site *s)
{
	double rate = verdict_rate_now(s), level, w;

	if (site_kind_is_bytes(s->kind)) {
		rate /= 1 << 20;		/* MiB per minute */
		level = s->bytes > 0 ? (double)s->bytes / (64 << 20) : 0;
	} else {
		rate *= 4;	/* a leaked goroutine/thread a minute ~ 4 MiB */
		level = s->live > 0 ? (double)s->live / 100 : 0;
	}
	w = s->verdict == VERDICT_LEAK	  ? W_LEAK :
	    s->verdict == VERDICT_GROWING ? W_GROWING : W_OTHER;
	/* One jump, flat on both sides (a hash table doubling its buckets,
	 * a buffer sized once): the jump over the interval it fell in is no
	 * pace that goes on. It ranks by its rise spread over the window,
	 * weighted as growth that is not a leak's shape and does not go on,
	 * plus what it holds: below a steady leak of the same size. */
	if (s->verdict != VERDICT_LEAK && s->growth.shape &&
	    !strcmp(s->growth.shape, "step")) {
		rate = fmax(0, s->growth.slope_per_min);
		rate /= site_kind_is_bytes(s->kind) ? 1 << 20 : 0.25;
		w = W_OTHER;
	}
	return w * rate + LEVEL_WEIGHT * level;
}

const char *verdict_name(enum verdict v)
{
	switch (v) {
	case VERDICT_LEAK: return "leak";
	case VERDICT_GROWING: return "growing";
	case VERDICT_STOPPED: return "stopped";
	case VERDICT_RECYCLED: return "recycled";
	default: return "none";
	}
}

const char *verdict_label(enum verdict v)
{
	switch (v) {
	case VERDICT_LEAK: return "LEAK";
	case VERDICT_GROWING: return "grows";
	case VERDICT_STOPPED: return "stopped";
	case VERDICT_RECYCLED: return "churn";
	default: return "-";
	}
}

int verdict_strength(enum verdict v)
{
	return (int)v;	/* the enum is declared weakest first */
}
