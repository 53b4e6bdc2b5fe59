/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Growth analysis of one site's time series. */
#ifndef LT_ANALYZE_H
#define LT_ANALYZE_H
#include <stdbool.h>
#include <stddef.h>

struct sample {
	double t;		/* seconds since start */
	double v;		/* live count or bytes */
};

struct growth {
	double slope_per_min;	/* least-squares slope of v, per minute */
	double r2;		/* fit quality, 0..1 */
	double given_back;	/* fraction of the rise later given back, 0..1 */
	bool leak;		/* steady growth that is not given back */
	double confidence;	/* 0..1, rises with evidence */
	/* "steady", "sawtooth", "plateau", "step", "shrinking", "flat" or
	 * "noisy": a static string, never NULL after analyze_growth. */
	const char *shape;
	/* What happens now: the least-squares slope over the last
	 * RECENT_FRACTION of the window (at least RECENT_MIN_SAMPLES samples),
	 * per minute, and the time the recent part starts. */
	double recent_per_min;
	double recent_from_s;
	/* Change point of a two-segment least-squares fit, accepted only when
	 * it lowers the BIC of the series (see analyze_change_point); NAN when
	 * one line fits as well. Slopes per minute before and after it. */
	double change_s;
	double before_per_min, after_per_min;
	/* Grew until change_s, flat since (after <= STOP_RATIO of before, for
	 * longer than any earlier pause): not a current leak. */
	bool stopped;
};

struct change_point {
	size_t at;		/* index of the first sample after the change */
	double t;		/* time of the change (midway between samples) */
	double before, after;	/* slopes per second */
	double gain;		/* BIC(one line) - BIC(two segments), > 0 */
};

/* Least-squares slope per minute; 0 with fewer than 2 samples. */
double analyze_slope_per_min(const struct sample *s, size_t n, double *r2);
/* Fills out for s[0..n) in time order; samples with a non-finite t or v are
 * skipped. confidence is the strength of a leak verdict: 0 when !leak. A
 * leak is a "steady" rise or a "sawtooth" whose troughs climb; see
 * analyze.c for how each shape is told apart. */
/* Least-squares slope per minute of the recent part of the window: the
 * last RECENT_FRACTION of the time span, widened back to at least
 * RECENT_MIN_SAMPLES samples. *from_s: where it starts (may be NULL). */
double analyze_recent_per_min(const struct sample *s, size_t n, double *from_s);
/* Two-segment least squares: for each split leaving at least
 * CHANGE_MIN_SEG usable samples on each side, fit a line to each side;
 * keep the split with the least total squared error. The change is
 * accepted when the Bayesian information criterion prefers the two
 * segments (5 parameters) over one line (2), with a noise floor so an
 * exact line is not "improved" by rounding. Returns true and fills cp when
 * accepted. */
bool analyze_change_point(const struct sample *s, size_t n,
			  struct change_point *cp);
void analyze_growth(const struct sample *s, size_t n, struct growth *out);
#endif
