/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Growth analysis of one site's time series: least-squares slope and a
 * first leak verdict (steady growth that is not given back).
 *
 * Samples are expected in time order (they are appended every interval).
 * Samples with a non-finite t or v are ignored, so no NaN comes out.
 */
#include <math.h>

#include "analyze.h"

/* Evidence needed before any verdict: one interval of growth between two
 * samples is anecdote; four samples over three seconds is the least from
 * which a trend and its second half can both be estimated. */
#define MIN_SAMPLES		4
#define MIN_SPAN_S		3.0

/* The rise the fitted line makes over the window must be at least this
 * fraction of the series' peak level. A large stable pool that jitters by
 * a few pages (or a count of 1000 that wobbles by one) is not a leak; a
 * leaking site gets there as the window lengthens. */
#define MIN_REL_RISE		0.02

/* At least half of the variance must be explained by a straight line.
 * Steady growth with churn on top passes; a sawtooth or a random walk
 * around a level explains little and fails. */
#define MIN_R2			0.5

/* A leak may dip (a freed batch, a GC) but does not hand back more than
 * this fraction of what it gained by the end of the window. */
#define MAX_GIVEN_BACK		0.3

/* The second half of the window must still grow at no less than this
 * fraction of the first half's pace. A plateau after a fill (second half
 * ~0) or a saturating cache fails; a steady leak has a ratio near 1, and
 * noise of a few tens of percent on the half slopes still passes. */
#define MIN_LATE_SLOPE_RATIO	0.4

/* Confidence saturates at this much evidence: 20 samples over two minutes
 * is a well-supported trend. */
#define FULL_CONF_SAMPLES	20.0
#define FULL_CONF_SPAN_S	120.0

struct fit {
	size_t n;
	double t0, t1;		/* first and last time */
	double slope;		/* per second */
	double r2;
};

static int usable(const struct sample *s)
{
	return isfinite(s->t) && isfinite(s->v);
}

/* Ordinary least squares of v on t over s[0..n), with centred sums so
 * byte counts in the 1e12 range keep their precision. */
static void fit_line(const struct sample *s, size_t n, struct fit *f)
{
	double mt = 0, mv = 0, sxx = 0, sxy = 0, syy = 0;
	size_t i, k = 0;

	f->n = 0;
	f->t0 = f->t1 = 0;
	f->slope = 0;
	f->r2 = 0;
	for (i = 0; i < n; i++) {
		if (!usable(&s[i]))
			continue;
		if (!k++)
			f->t0 = s[i].t;
		f->t1 = s[i].t;
		mt += s[i].t;
		mv += s[i].v;
	}
	f->n = k;
	if (k < 2)
		return;
	mt /= k;
	mv /= k;
	for (i = 0; i < n; i++) {
		double dt, dv;

		if (!usable(&s[i]))
			continue;
		dt = s[i].t - mt;
		dv = s[i].v - mv;
		sxx += dt * dt;
		sxy += dt * dv;
		syy += dv * dv;
	}
	if (!(sxx > 0) || !isfinite(sxx * syy))
		return;		/* all at one instant, or overflow */
	f->slope = sxy / sxx;
	/* a constant series has nothing to explain: r2 0, not 1 */
	if (syy > 0)
		f->r2 = sxy * sxy / (sxx * syy);
	if (!isfinite(f->slope))
		f->slope = 0;
	if (!(f->r2 >= 0))
		f->r2 = 0;
	if (f->r2 > 1)
		f->r2 = 1;
}

double analyze_slope_per_min(const struct sample *s, size_t n, double *r2)
{
	struct fit f;

	fit_line(s, n, &f);
	if (r2)
		*r2 = f.r2;
	return f.slope * 60.0;
}

static double clamp01(double x)
{
	if (!(x > 0))
		return 0;
	return x > 1 ? 1 : x;
}

void analyze_growth(const struct sample *s, size_t n, struct growth *out)
{
	double first = 0, last = 0, max = 0, peak = 0, span, rise;
	struct fit all, early, late;
	size_t i, k = 0, half;

	out->slope_per_min = 0;
	out->r2 = 0;
	out->given_back = 0;
	out->leak = false;
	out->confidence = 0;

	fit_line(s, n, &all);
	out->slope_per_min = all.slope * 60.0;
	out->r2 = all.r2;
	if (!all.n)
		return;

	for (i = 0; i < n; i++) {
		if (!usable(&s[i]))
			continue;
		if (!k++)
			first = max = s[i].v;
		last = s[i].v;
		if (s[i].v > max)
			max = s[i].v;
		if (fabs(s[i].v) > peak)
			peak = fabs(s[i].v);
	}
	/* nothing gained (max == first) means nothing given back */
	if (max > first)
		out->given_back = clamp01((max - last) / (max - first));

	span = all.t1 - all.t0;
	if (all.n < MIN_SAMPLES || !(span >= MIN_SPAN_S) || !(all.slope > 0))
		return;
	rise = all.slope * span;
	if (!(rise >= MIN_REL_RISE * peak) || all.r2 < MIN_R2 ||
	    out->given_back > MAX_GIVEN_BACK)
		return;

	/* Halves by index, sharing the middle sample when n is odd, so
	 * each holds at least two samples. Index halves are time halves for
	 * the regular intervals the series is sampled at. */
	half = (n + 1) / 2;
	fit_line(s, half, &early);
	fit_line(s + (n - half), half, &late);
	if (!(late.slope > 0) ||
	    late.slope < MIN_LATE_SLOPE_RATIO * early.slope)
		return;

	out->leak = true;
	/* Geometric mean, so one weak piece of evidence lowers confidence
	 * without zeroing it: few samples, short span, poor fit, and part of
	 * the rise given back each count. */
	out->confidence = clamp01(pow(fmin(1.0, all.n / FULL_CONF_SAMPLES) *
				      fmin(1.0, span / FULL_CONF_SPAN_S) *
				      all.r2 * (1.0 - out->given_back),
				      0.25));
}
