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
};

/* Least-squares slope per minute; 0 with fewer than 2 samples. */
double analyze_slope_per_min(const struct sample *s, size_t n, double *r2);
/* Fills out for s[0..n) in time order; samples with a non-finite t or v are
 * skipped. confidence is the strength of a leak verdict: 0 when !leak. A
 * leak is a "steady" rise or a "sawtooth" whose troughs climb; see
 * analyze.c for how each shape is told apart. */
void analyze_growth(const struct sample *s, size_t n, struct growth *out);
#endif
