/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Growth analysis of one site's time series: least-squares slope, the
 * shape of the series, and a leak verdict (growth that is not given back).
 *
 * Samples are expected in time order (they are appended every interval).
 * Samples with a non-finite t or v are ignored, so no NaN comes out.
 *
 * Shapes, tried in this order (range = max - min of the series):
 *   flat       the range is under MIN_REL_RISE of the level
 *   step       one jump (over at most two intervals) holds more than
 *              STEP_MIN_FRAC of the range and the series is flat
 *              (STEP_SIDE_FRAC) on both sides of it
 *   plateau    rose, then holds: the last samples stay within PLATEAU_BAND
 *              of the final value for PLATEAU_MIN_TAIL of the span and for
 *              PLATEAU_HOLD_RATIO times any earlier hold (so the pauses of a
 *              slow staircase leak are not a plateau); also a rise that
 *              slows down (late half under MIN_LATE_SLOPE_RATIO of early)
 *   steady     a straight-line rise: slope > 0, fit (MIN_R2, MIN_SLOPE_T),
 *              not given back, the late half still growing   -> leak
 *   shrinking  falls without teeth, or falls along a good fit
 *   sawtooth   rises and drops of SAW_MIN_DROP of the range, a tooth per
 *              SAW_MIN_TOOTH samples at most; a leak when the troughs
 *              climb (SAW_MIN_TROUGH_RISE, none lower than the one before)
 *   noisy      anything else
 *
 * Beside the shape, what happens now: the slope over the recent part of
 * the window, and a change point from a two-segment least-squares fit
 * (accepted by BIC). A series that rose and has stayed flat since the
 * change is "stopped": grew until then, not growing now.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/analyze.h"

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

/* The slope must also stand out from the scatter around the line: its t
 * statistic, sqrt(r2 (n - 2) / (1 - r2)), at least this. With many samples
 * MIN_R2 is the stricter test; with few (a 5 s trace at 1 s) it asks for a
 * near-straight line (r2 >= 0.86 at 6 samples), so a bounded working set
 * that swings by its own size is not read as a trend. */
#define MIN_SLOPE_T		5.0

/* A leak may dip (a freed batch, a GC) but does not hand back more than
 * this fraction of what it gained by the end of the window. */
#define MAX_GIVEN_BACK		0.3

/* The second half of the window must still grow at no less than this
 * fraction of the first half's pace. A plateau after a fill (second half
 * ~0) or a saturating cache fails; a steady leak has a ratio near 1, and
 * noise of a few tens of percent on the half slopes still passes. */
#define MIN_LATE_SLOPE_RATIO	0.4
#define MIN_HALVES_SAMPLES	10

/* Confidence saturates at this much evidence: 20 samples over two minutes
 * is a well-supported trend; for a sawtooth, six teeth. */
#define FULL_CONF_SAMPLES	20.0
#define FULL_CONF_SPAN_S	120.0
#define FULL_CONF_TEETH		6.0

/* A step: one jump carries more than half of the range, and the series
 * moves by no more than a tenth of the range before it and after it. A
 * leak, even a slow staircase, spreads its rise over many intervals. */
#define STEP_MIN_FRAC		0.5
#define STEP_SIDE_FRAC		0.1

/* A plateau: the series ends holding within +-5 % of the range around its
 * final value, for at least a fifth of the span and four samples, and for
 * at least twice as long as any hold before it. A slow leak pauses between
 * increments too, but each pause is about as long as the ones before; a
 * cache at its cap or a pool at its size holds for good. */
#define PLATEAU_BAND		0.05
#define PLATEAU_MIN_TAIL	0.2
#define PLATEAU_MIN_TAIL_N	4
#define PLATEAU_HOLD_RATIO	2.0

/* A sawtooth: swings of at least a quarter of the range, a rise then a
 * drop per tooth, and no more than one tooth per six samples (faster
 * swings are noise at this sampling). It is a leak when each trough is no
 * lower than the one before (less 5 % of the range) and the last is at
 * least a tenth of the range above the first. */
#define SAW_MIN_DROP		0.25
#define SAW_MIN_TOOTH		6
#define SAW_TROUGH_TOL		0.05
#define SAW_MIN_TROUGH_RISE	0.1

/* The recent part of the window: its last quarter, and no fewer than five
 * samples (a slope from two or three points is one tick). */
#define RECENT_FRACTION		0.25
#define RECENT_MIN_SAMPLES	5

/* Change points: each segment holds at least three samples (a line and
 * one degree of freedom). The noise floor keeps an exact line from being
 * "improved" by a split: errors below a thousandth of the level are
 * rounding, not signal. */
#define CHANGE_MIN_SEG		3
#define CHANGE_NOISE_FLOOR	1e-3
#define CHANGE_COARSE_SPLITS	128

/* Stopped: after the change the series grows at no more than a tenth of
 * its earlier pace, moves within a fifth of the range, holds for at least
 * STOP_MIN_AFTER samples and for PLATEAU_HOLD_RATIO times any earlier
 * pause (a staircase leak pauses too). */
#define STOP_RATIO		0.1
#define STOP_BAND		0.2
#define STOP_MIN_AFTER		4

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

struct stats {
	size_t n;
	double t0, t1;		/* first and last time */
	double first, last, min, max;
	double peak;		/* largest |v| */
};

static void get_stats(const struct sample *s, size_t n, struct stats *st)
{
	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < n; i++) {
		if (!usable(&s[i]))
			continue;
		if (!st->n++) {
			st->t0 = s[i].t;
			st->first = st->min = st->max = s[i].v;
		}
		st->t1 = s[i].t;
		st->last = s[i].v;
		st->min = fmin(st->min, s[i].v);
		st->max = fmax(st->max, s[i].v);
		st->peak = fmax(st->peak, fabs(s[i].v));
	}
}

/* One jump carries most of the range, flat on both sides. The jump may
 * straddle a sample (a batch allocated while the sample was taken), so it
 * is looked for over two intervals: the sample in its middle belongs to
 * neither side. */
static bool is_step(const struct sample *s, size_t n, double range)
{
	size_t i, k = 0, foot = n, top = n, win[3] = { n, n, n };
	double best = 0, lo, hi;

	for (i = 0; i < n; i++) {
		if (!usable(&s[i]))
			continue;
		win[0] = win[1];
		win[1] = win[2];
		win[2] = i;
		k++;
		if (k < 2)
			continue;
		/* two intervals back, or one while there are only two */
		size_t from = k == 2 ? win[1] : win[0];

		if (s[i].v - s[from].v > best) {
			best = s[i].v - s[from].v;
			foot = from;
			top = i;
		}
	}
	if (top == n || !(best > STEP_MIN_FRAC * range))
		return false;
	lo = INFINITY, hi = -INFINITY;
	for (i = 0; i <= foot; i++) {
		if (!usable(&s[i]))
			continue;
		lo = fmin(lo, s[i].v);
		hi = fmax(hi, s[i].v);
	}
	if (hi - lo > STEP_SIDE_FRAC * range)
		return false;
	lo = INFINITY, hi = -INFINITY;
	for (i = top; i < n; i++) {
		if (!usable(&s[i]))
			continue;
		lo = fmin(lo, s[i].v);
		hi = fmax(hi, s[i].v);
	}
	return hi - lo <= STEP_SIDE_FRAC * range;
}

/* The series ends holding near its final value for longer than it held
 * anywhere before. Holds before the tail are runs of samples within the
 * band of the run's first value; the first run is left out (a flat start
 * before a fill says nothing about how a leak would pause). */
static bool ends_in_plateau(const struct sample *s, size_t n,
			    const struct stats *st, double range)
{
	double band = PLATEAU_BAND * range, tail_t = st->t1, longest = 0;
	double run_v = 0, run_t = 0;
	size_t i, tail_n = 0, tail_at = 0, runs = 0;

	for (i = n; i-- > 0;) {
		if (!usable(&s[i]))
			continue;
		if (fabs(s[i].v - st->last) > band)
			break;
		tail_t = s[i].t;
		tail_at = i;
		tail_n++;
	}
	if (tail_n < PLATEAU_MIN_TAIL_N ||
	    st->t1 - tail_t < PLATEAU_MIN_TAIL * (st->t1 - st->t0))
		return false;
	for (i = 0; i < tail_at; i++) {
		if (!usable(&s[i]))
			continue;
		if (runs && fabs(s[i].v - run_v) <= band)
			continue;
		/* a run ends at the sample that leaves it */
		if (runs > 1)
			longest = fmax(longest, s[i].t - run_t);
		runs++;
		run_v = s[i].v;
		run_t = s[i].t;
	}
	if (runs > 1)
		longest = fmax(longest, tail_t - run_t);
	return st->t1 - tail_t >= PLATEAU_HOLD_RATIO * longest;
}

/* Running least squares (Welford), for the troughs of a sawtooth. */
struct online_fit {
	double k, mt, mv, sxx, sxy, syy;
};

static void online_add(struct online_fit *f, double t, double v)
{
	double dt = t - f->mt, dv = v - f->mv;

	f->k++;
	f->mt += dt / f->k;
	f->mv += dv / f->k;
	f->sxx += dt * (t - f->mt);
	f->sxy += dt * (v - f->mv);
	f->syy += dv * (v - f->mv);
}

struct teeth {
	size_t n;		/* rises followed by a drop */
	size_t troughs;		/* lows after a tooth */
	double first_trough, last_trough;
	bool climbing;		/* no trough below the one before (+tolerance) */
	struct online_fit fit;	/* of the troughs */
};

static void add_trough(struct teeth *z, double t, double v, double tol)
{
	if (!z->troughs++)
		z->first_trough = v;
	else if (v < z->last_trough - tol)
		z->climbing = false;
	z->last_trough = v;
	online_add(&z->fit, t, v);
}

/* Zigzag with a reversal threshold of SAW_MIN_DROP of the range: each
 * drop after a rise is a tooth, and the low it falls to is a trough. */
static void find_teeth(const struct sample *s, size_t n, double range,
		       struct teeth *z)
{
	double h = SAW_MIN_DROP * range, tol = SAW_TROUGH_TOL * range;
	double hi = 0, lo = 0, ext = 0, ext_t = 0, hi_t = 0, lo_t = 0;
	int dir = 0, k = 0;

	memset(z, 0, sizeof(*z));
	z->climbing = true;
	for (size_t i = 0; i < n; i++) {
		double v = s[i].v, t = s[i].t;

		if (!usable(&s[i]))
			continue;
		if (!k++) {
			hi = lo = v;
			hi_t = lo_t = t;
			continue;
		}
		if (dir == 0) {
			if (v > hi)
				hi = v, hi_t = t;
			if (v < lo)
				lo = v, lo_t = t;
			if (hi - lo >= h) {
				/* the first swing: a rise if the high came last */
				dir = hi_t > lo_t ? 1 : -1;
				ext = dir > 0 ? hi : lo;
				ext_t = dir > 0 ? hi_t : lo_t;
			}
		} else if (dir > 0) {
			if (v > ext) {
				ext = v;
				ext_t = t;
			} else if (ext - v >= h) {
				z->n++;		/* rose, now drops */
				dir = -1;
				ext = v;
				ext_t = t;
			}
		} else {
			if (v < ext) {
				ext = v;
				ext_t = t;
			} else if (v - ext >= h) {
				if (z->n > z->troughs)
					add_trough(z, ext_t, ext, tol);
				dir = 1;
				ext = v;
				ext_t = t;
			}
		}
	}
	if (dir < 0 && z->n > z->troughs)
		add_trough(z, ext_t, ext, tol);
}

static bool slope_stands_out(const struct fit *f)
{
	if (f->n < 3 || f->r2 >= 1)
		return f->r2 >= 1;
	return f->r2 * (double)(f->n - 2) >=
	       MIN_SLOPE_T * MIN_SLOPE_T * (1 - f->r2);
}

/* Geometric mean, so one weak piece of evidence lowers confidence
 * without zeroing it. */
static double confidence(double a, double b, double c, double d)
{
	return clamp01(pow(clamp01(a) * clamp01(b) * clamp01(c) * clamp01(d),
			   0.25));
}

double analyze_recent_per_min(const struct sample *s, size_t n, double *from_s)
{
	size_t i, k = 0, from = n;
	double t1 = NAN, t0 = NAN, cut;
	struct fit f;

	for (i = 0; i < n; i++) {
		if (!usable(&s[i]))
			continue;
		if (isnan(t0))
			t0 = s[i].t;
		t1 = s[i].t;
	}
	if (from_s)
		*from_s = isnan(t0) ? 0 : t0;
	if (isnan(t1))
		return 0;
	cut = t1 - RECENT_FRACTION * (t1 - t0);
	for (i = n; i-- > 0;) {
		if (!usable(&s[i]))
			continue;
		if (s[i].t < cut && k >= RECENT_MIN_SAMPLES)
			break;
		from = i;
		k++;
	}
	fit_line(s + from, n - from, &f);
	if (from_s)
		*from_s = f.t0;
	return f.slope * 60.0;
}

/* Prefix sums of the usable samples, normalised to [0, 1] in t and v so
 * that the squared errors keep their precision for byte counts. */
struct prefix {
	double t, v, tt, tv, vv, n;
};

static double seg_sse(const struct prefix *p, size_t a, size_t b,
		      double *slope)
{
	double n = p[b].n - p[a].n, st = p[b].t - p[a].t, sv = p[b].v - p[a].v;
	double sxx = (p[b].tt - p[a].tt) - st * st / n;
	double sxy = (p[b].tv - p[a].tv) - st * sv / n;
	double syy = (p[b].vv - p[a].vv) - sv * sv / n;
	double sse;

	*slope = sxx > 0 ? sxy / sxx : 0;
	sse = sxx > 0 ? syy - sxy * sxy / sxx : syy;
	return sse > 0 ? sse : 0;
}

bool analyze_change_point(const struct sample *s, size_t n,
			  struct change_point *cp)
{
	struct prefix *p;
	size_t *idx, k = 0, best = 0, stride, lo_j, hi_j;
	bool found = false;
	double t0 = NAN, t1 = 0, lo = INFINITY, hi = -INFINITY, peak = 0;
	double tspan, vspan, floor2, sse1, best_sse = INFINITY, slope;
	double bs = 0, as = 0, bic1, bic2;

	for (size_t i = 0; i < n; i++) {
		if (!usable(&s[i]))
			continue;
		if (isnan(t0))
			t0 = s[i].t;
		t1 = s[i].t;
		/* comparisons, not fmin/fmax: this runs per sample per site */
		lo = s[i].v < lo ? s[i].v : lo;
		hi = s[i].v > hi ? s[i].v : hi;
		peak = fabs(s[i].v) > peak ? fabs(s[i].v) : peak;
	}
	tspan = t1 - t0;
	vspan = hi - lo;
	if (!(tspan > 0) || !(vspan > 0) || !isfinite(vspan))
		return false;
	p = calloc(n + 1, sizeof(*p));
	idx = calloc(n + 1, sizeof(*idx));
	if (!p || !idx)
		goto out;
	for (size_t i = 0; i < n; i++) {
		double t, v;

		if (!usable(&s[i]))
			continue;
		t = (s[i].t - t0) / tspan;
		v = (s[i].v - lo) / vspan;
		p[k + 1].t = p[k].t + t;
		p[k + 1].v = p[k].v + v;
		p[k + 1].tt = p[k].tt + t * t;
		p[k + 1].tv = p[k].tv + t * v;
		p[k + 1].vv = p[k].vv + v * v;
		p[k + 1].n = p[k].n + 1;
		idx[k++] = i;
	}
	if (k < 2 * CHANGE_MIN_SEG)
		goto out;
	/* residual variance below the floor is rounding */
	floor2 = CHANGE_NOISE_FLOOR * peak / vspan;
	floor2 *= floor2;
	sse1 = fmax(seg_sse(p, 0, k, &slope), k * floor2);
	/* Long series: every stride-th split first, then every split
	 * around the best of those (the error is smooth between samples of
	 * one trend, so the minimum lies within a stride of the coarse one). */
	stride = k / CHANGE_COARSE_SPLITS > 1 ? k / CHANGE_COARSE_SPLITS : 1;
	lo_j = CHANGE_MIN_SEG;
	hi_j = k - CHANGE_MIN_SEG;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t j = lo_j; j <= hi_j; j += stride) {
			double a, b, e = seg_sse(p, 0, j, &a) + seg_sse(p, j, k, &b);

			if (e < best_sse) {
				best_sse = e;
				best = j;
				bs = a;
				as = b;
			}
		}
		if (stride == 1 || !best)
			break;
		lo_j = best > lo_j + stride ? best - stride : lo_j;
		hi_j = best + stride < hi_j ? best + stride : hi_j;
		stride = 1;
	}
	if (!best)
		goto out;
	best_sse = fmax(best_sse, k * floor2);
	/* BIC = k ln(SSE / k) + params ln(k): one line has 2 parameters,
	 * two segments 5 (two lines and where they meet). */
	bic1 = k * log(sse1 / k) + 2 * log(k);
	bic2 = k * log(best_sse / k) + 5 * log(k);
	if (!(bic2 < bic1))
		goto out;
	cp->at = idx[best];
	cp->t = (s[idx[best - 1]].t + s[idx[best]].t) / 2;
	cp->before = bs * vspan / tspan;
	cp->after = as * vspan / tspan;
	cp->gain = bic1 - bic2;
	found = true;
out:
	free(p);
	free(idx);
	return found;
}

/* Longest pause (run of samples within band of the run's first value)
 * in s[0..end), the first run left out as in ends_in_plateau. */
static double longest_hold(const struct sample *s, size_t end, double band)
{
	double run_v = 0, run_t = 0, longest = 0, last_t = 0;
	size_t runs = 0;

	for (size_t i = 0; i < end; i++) {
		if (!usable(&s[i]))
			continue;
		last_t = s[i].t;
		if (runs && fabs(s[i].v - run_v) <= band)
			continue;
		if (runs > 1)
			longest = fmax(longest, s[i].t - run_t);
		runs++;
		run_v = s[i].v;
		run_t = s[i].t;
	}
	if (runs > 1)
		longest = fmax(longest, last_t - run_t);
	return longest;
}

/* Grew until the change point, flat since (see STOP_*). */
static void find_stop(const struct sample *s, size_t n, double range,
		      struct growth *out)
{
	struct change_point cp;
	double lo = INFINITY, hi = -INFINITY, t_after = NAN, t_end = 0;
	size_t after = 0;

	if (!analyze_change_point(s, n, &cp))
		return;
	out->change_s = cp.t;
	out->before_per_min = cp.before * 60;
	out->after_per_min = cp.after * 60;
	if (!(cp.before > 0) || fabs(cp.after) > STOP_RATIO * cp.before)
		return;
	for (size_t i = cp.at; i < n; i++) {
		if (!usable(&s[i]))
			continue;
		if (isnan(t_after))
			t_after = s[i].t;
		t_end = s[i].t;
		lo = s[i].v < lo ? s[i].v : lo;
		hi = s[i].v > hi ? s[i].v : hi;
		after++;
	}
	if (after < STOP_MIN_AFTER || hi - lo > STOP_BAND * range)
		return;
	if (t_end - cp.t < PLATEAU_HOLD_RATIO *
			   longest_hold(s, cp.at, PLATEAU_BAND * range))
		return;
	out->stopped = true;
}

static void analyze_shape(const struct sample *s, size_t n, struct growth *out)
{
	struct fit all, early, late;
	struct teeth z;
	struct stats st;
	double span, range, rise;
	bool enough, late_grows;
	size_t half, max_teeth;

	out->slope_per_min = 0;
	out->r2 = 0;
	out->given_back = 0;
	out->leak = false;
	out->confidence = 0;
	out->shape = "flat";
	out->recent_per_min = 0;
	out->recent_from_s = 0;
	out->change_s = NAN;
	out->before_per_min = out->after_per_min = 0;
	out->stopped = false;

	fit_line(s, n, &all);
	out->recent_per_min = analyze_recent_per_min(s, n, &out->recent_from_s);
	out->slope_per_min = all.slope * 60.0;
	out->r2 = all.r2;
	get_stats(s, n, &st);
	if (st.n < 2)
		return;
	/* nothing gained (max == first) means nothing given back */
	if (st.max > st.first)
		out->given_back = clamp01((st.max - st.last) / (st.max - st.first));

	span = st.t1 - st.t0;
	range = st.max - st.min;
	enough = st.n >= MIN_SAMPLES && span >= MIN_SPAN_S;
	if (!isfinite(range) || !(range > MIN_REL_RISE * st.peak))
		return;		/* flat (or overflowing: nothing to say) */

	find_stop(s, n, range, out);
	if (is_step(s, n, range)) {
		out->shape = "step";
		return;
	}

	/* Halves by index, sharing the middle sample when n is odd, so
	 * each holds at least two samples. Index halves are time halves for
	 * the regular intervals the series is sampled at. */
	half = (n + 1) / 2;
	fit_line(s, half, &early);
	fit_line(s + (n - half), half, &late);
	/* With few samples each half is two or three points: one late or
	 * early tick of a 1/s leak sampled at 1 s flips the ratio. Judge the
	 * halves only with enough points; the t-statistic still guards. */
	late_grows = n < MIN_HALVES_SAMPLES ||
		     (late.slope > 0 &&
		      late.slope >= MIN_LATE_SLOPE_RATIO * early.slope);

	if (st.last - st.min >= (1 - MAX_GIVEN_BACK) * range &&
	    out->given_back <= MAX_GIVEN_BACK &&
	    ends_in_plateau(s, n, &st, range)) {
		out->shape = "plateau";
		return;
	}

	rise = all.slope * span;
	if (all.slope > 0 && rise >= MIN_REL_RISE * st.peak &&
	    all.r2 >= MIN_R2 && out->given_back <= MAX_GIVEN_BACK &&
	    late_grows && slope_stands_out(&all)) {
		out->shape = "steady";
		if (!enough)
			return;
		out->leak = true;
		/* few samples, short span, poor fit, and part of the rise
		 * given back each count */
		out->confidence = confidence(st.n / FULL_CONF_SAMPLES,
					     span / FULL_CONF_SPAN_S, all.r2,
					     1.0 - out->given_back);
		return;
	}

	find_teeth(s, n, range, &z);
	if (all.slope < 0 && st.last < st.first &&
	    (z.n == 0 || all.r2 >= MIN_R2)) {
		out->shape = "shrinking";
		return;
	}
	max_teeth = (st.n - 1) / SAW_MIN_TOOTH;
	if (z.n >= 1 && z.n <= (max_teeth > 1 ? max_teeth : 1)) {
		double tr2 = 0.5;

		out->shape = "sawtooth";
		if (!enough || z.troughs < 2 || !z.climbing ||
		    !(z.last_trough - z.first_trough >= SAW_MIN_TROUGH_RISE * range) ||
		    !(all.slope > 0))
			return;
		if (z.troughs >= 3 && z.fit.sxx > 0 && z.fit.syy > 0)
			tr2 = z.fit.sxy * z.fit.sxy / (z.fit.sxx * z.fit.syy);
		out->leak = true;
		out->confidence = confidence(z.troughs / FULL_CONF_TEETH,
					     span / FULL_CONF_SPAN_S, tr2, 1.0);
		return;
	}
	if (all.slope > 0 && out->given_back <= MAX_GIVEN_BACK &&
	    early.slope > 0 && !late_grows) {
		out->shape = "plateau";	/* rising ever more slowly */
		return;
	}
	out->shape = "noisy";
}

void analyze_growth(const struct sample *s, size_t n, struct growth *out)
{
	analyze_shape(s, n, out);
	/* A series that rose and has held since reads as a plateau, whatever
	 * its straight-line fit over the whole window says. */
	if (out->stopped && strcmp(out->shape, "step"))
		out->shape = "plateau";
}
