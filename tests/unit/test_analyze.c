/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for user/analyze.c on synthetic series. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "model/analyze.h"

#define N 60		/* one sample every 5 s for 5 minutes */
#define STEP 5.0

static void assert_near(double got, double want, double tol)
{
	if (fabs(got - want) > tol)
		fail_msg("got %.9g, want %.9g (+-%g)", got, want, tol);
}

static void assert_shape(const struct growth *g, const char *want)
{
	if (!g->shape || strcmp(g->shape, want))
		fail_msg("shape %s, want %s (slope/min %.6g r2 %.3f given back %.3f leak %d)",
			 g->shape ? g->shape : "(null)", want, g->slope_per_min,
			 g->r2, g->given_back, g->leak);
}

/* Every field finite and in range, whatever the input. */
static void assert_sane(const struct growth *g)
{
	static const char *const shapes[] = {
		"steady", "sawtooth", "plateau", "step", "shrinking", "flat",
		"noisy",
	};
	bool known = false;

	assert_non_null(g->shape);
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		known |= !strcmp(g->shape, shapes[i]);
	assert_true(known);
	/* only growth that is not given back is a leak */
	if (g->leak)
		assert_true(!strcmp(g->shape, "steady") ||
			    !strcmp(g->shape, "sawtooth"));
	assert_true(isfinite(g->slope_per_min));
	assert_true(g->r2 >= 0 && g->r2 <= 1);
	assert_true(g->given_back >= 0 && g->given_back <= 1);
	assert_true(g->confidence >= 0 && g->confidence <= 1);
	if (!g->leak)
		assert_true(g->confidence == 0);
	else
		assert_true(g->confidence > 0);
}

static struct growth run(const struct sample *s, size_t n)
{
	struct growth g;

	analyze_growth(s, n, &g);
	assert_sane(&g);
	return g;
}

/* Deterministic noise in [-1, 1). */
static double noise(uint32_t *st)
{
	*st = *st * 1664525u + 1013904223u;
	return (double)(*st >> 8) / (double)(1u << 23) - 1.0;
}

static void test_slope_known_values(void **state)
{
	/* mean t 2, mean v 3, Sxy 8, Sxx 10, Syy 10: 0.8/s, r2 0.64 */
	const struct sample s[] = {
		{ 0, 1 }, { 1, 3 }, { 2, 2 }, { 3, 5 }, { 4, 4 },
	};
	double r2 = -1;

	assert_near(analyze_slope_per_min(s, 5, &r2), 48.0, 1e-9);
	assert_near(r2, 0.64, 1e-12);
	assert_near(analyze_slope_per_min(s, 5, NULL), 48.0, 1e-9);
	/* two points: exact line */
	assert_near(analyze_slope_per_min(s, 2, &r2), 120.0, 1e-9);
	assert_near(r2, 1.0, 1e-12);
}

static void test_slope_degenerate(void **state)
{
	const struct sample one[] = { { 10, 7 } };
	const struct sample same_t[] = { { 3, 1 }, { 3, 5 }, { 3, 9 } };
	const struct sample flat[] = { { 0, 4 }, { 1, 4 }, { 2, 4 } };
	double r2 = -1;

	assert_true(analyze_slope_per_min(NULL, 0, &r2) == 0);
	assert_true(r2 == 0);
	r2 = -1;
	assert_true(analyze_slope_per_min(one, 1, &r2) == 0);
	assert_true(r2 == 0);
	r2 = -1;
	assert_true(analyze_slope_per_min(same_t, 3, &r2) == 0);
	assert_true(r2 == 0);
	r2 = -1;
	assert_true(analyze_slope_per_min(flat, 3, &r2) == 0);
	assert_true(r2 == 0);
}

/* Byte counts around 1 TB must not lose the slope to cancellation. */
static void test_slope_large_values(void **state)
{
	struct sample s[N];
	double r2;
	int i;

	for (i = 0; i < N; i++) {
		s[i].t = 1e6 + i * STEP;	/* long-running collector */
		s[i].v = 1e12 + 1000.0 * s[i].t;
	}
	assert_near(analyze_slope_per_min(s, N, &r2), 60000.0, 1e-3);
	assert_near(r2, 1.0, 1e-9);
}

static void test_linear_growth_is_leak(void **state)
{
	struct sample s[N];
	struct growth g;
	int i;

	for (i = 0; i < N; i++) {
		s[i].t = i * STEP;
		s[i].v = 1000 + 10.0 * s[i].t;
	}
	g = run(s, N);
	assert_true(g.leak);
	assert_shape(&g, "steady");
	assert_near(g.slope_per_min, 600.0, 1e-6);
	assert_near(g.r2, 1.0, 1e-12);
	assert_near(g.given_back, 0.0, 1e-12);
	assert_near(g.confidence, 1.0, 1e-9);
}

static void test_constant_not_leak(void **state)
{
	struct sample s[N];
	struct growth g;
	int i;

	for (i = 0; i < N; i++) {
		s[i].t = i * STEP;
		s[i].v = 5000;
	}
	g = run(s, N);
	assert_false(g.leak);
	assert_shape(&g, "flat");
	assert_true(g.slope_per_min == 0);
	assert_true(g.r2 == 0);
	assert_true(g.given_back == 0);

	for (i = 0; i < N; i++)
		s[i].v = 0;
	g = run(s, N);
	assert_false(g.leak);
	assert_shape(&g, "flat");
}

/* Allocate for 50 s, free it all, repeat: never a leak, whatever the
 * phase the window ends in. */
static void test_sawtooth_not_leak(void **state)
{
	struct sample s[N];
	struct growth g;
	int i, phase;

	for (phase = 0; phase < 50; phase += 5) {
		for (i = 0; i < N; i++) {
			s[i].t = i * STEP;
			s[i].v = 1000 + 100.0 * fmod(s[i].t + phase, 50.0);
		}
		g = run(s, N);
		assert_false(g.leak);
		assert_shape(&g, "sawtooth");
	}
	/* a sawtooth ending right after a drop gives back everything */
	for (i = 0; i < N; i++) {
		s[i].t = i * STEP;
		s[i].v = 1000 + 100.0 * fmod(s[i].t + 5.0, 50.0);
	}
	g = run(s, N);
	assert_near(g.given_back, 1.0, 1e-12);
}

/* A cache filling up then holding steady is not a leak, whether the fill
 * ends at 40%, half or 60% of the window (then the second half still
 * creeps up at a tenth of the first half's pace). */
static void test_fill_then_plateau_not_leak(void **state)
{
	struct sample s[N];
	struct growth g;
	double stop[] = { 0.4, 0.5, 0.6 };
	unsigned int k;
	int i;

	for (k = 0; k < sizeof(stop) / sizeof(stop[0]); k++) {
		double end = stop[k] * (N - 1) * STEP;

		for (i = 0; i < N; i++) {
			s[i].t = i * STEP;
			s[i].v = 1e6 + 1e4 * fmin(s[i].t, end);
		}
		g = run(s, N);
		assert_true(g.slope_per_min > 0);
		assert_true(g.given_back == 0);
		assert_false(g.leak);
		assert_shape(&g, "plateau");
	}
	/* saturating fill, time constant a third of the window */
	for (i = 0; i < N; i++) {
		s[i].t = i * STEP;
		s[i].v = 1e6 * (1 - exp(-s[i].t / 100));
	}
	g = run(s, N);
	assert_true(g.r2 > 0.8 && g.given_back == 0);
	assert_false(g.leak);
	assert_shape(&g, "plateau");
}

static void test_shrinking_not_leak(void **state)
{
	struct sample s[N];
	struct growth g;
	int i;

	for (i = 0; i < N; i++) {
		s[i].t = i * STEP;
		s[i].v = 100000 - 10.0 * s[i].t;
	}
	g = run(s, N);
	assert_false(g.leak);
	assert_shape(&g, "shrinking");
	assert_near(g.slope_per_min, -600.0, 1e-6);
	assert_near(g.r2, 1.0, 1e-12);
	assert_true(g.given_back == 0);	/* never rose */
}

/* Rise then fall by half: given back 0.5, not a leak. */
static void test_given_back(void **state)
{
	struct sample s[N];
	struct growth g;
	int i;

	for (i = 0; i < N; i++) {
		s[i].t = i * STEP;
		s[i].v = i < 45 ? 100.0 * i : 4400 - 2200.0 * (i - 44) / 15;
	}
	g = run(s, N);
	assert_near(g.given_back, 0.5, 1e-9);
	assert_false(g.leak);

	/* Steady growth that hands back half of it in the last interval:
	 * slope, fit and both halves still look like a leak; only
	 * given_back says otherwise. A small dip is tolerated. */
	for (i = 0; i < N; i++) {
		s[i].t = i * STEP;
		s[i].v = 100.0 * i;
	}
	s[N - 1].v = 2950;
	g = run(s, N);
	assert_near(g.given_back, 2850.0 / 5800, 1e-9);
	assert_true(g.r2 > 0.9 && g.slope_per_min > 0);
	assert_false(g.leak);
	s[N - 1].v = 4720;
	g = run(s, N);
	assert_near(g.given_back, 1080.0 / 5800, 1e-9);
	assert_true(g.leak);
	assert_true(g.confidence < 0.97);	/* clean: 1.0 */
}

/* Noise lowers r2 and confidence but steady growth is still a leak. */
static void test_noisy_growth_leak(void **state)
{
	const double amp[] = { 0, 300, 900 };
	double prev_conf = 2, prev_r2 = 2;
	struct sample s[N];
	struct growth g;
	unsigned int k;
	uint32_t st;
	int i;

	for (k = 0; k < sizeof(amp) / sizeof(amp[0]); k++) {
		st = 12345;
		for (i = 0; i < N; i++) {
			s[i].t = i * STEP;
			s[i].v = 1000 + 10.0 * s[i].t + amp[k] * noise(&st);
		}
		g = run(s, N);
		assert_true(g.leak);
		assert_shape(&g, "steady");
		assert_near(g.slope_per_min, 600.0, 60.0);
		assert_true(g.r2 < prev_r2);
		assert_true(g.confidence < prev_conf);
		prev_r2 = g.r2;
		prev_conf = g.confidence;
	}
	assert_true(prev_conf > 0.5);

	/* a bounded working set swinging by its own size, traced for 5 s at
	 * 1 s (Go's flat program): rises overall, r2 ~0.7, too scattered for
	 * six samples to call it a trend */
	{
		const struct sample ws1[] = { { 0, 16 }, { 1, 217 }, { 2, 909 },
					      { 3, 204 }, { 4, 1650 }, { 5, 1495 } };
		const struct sample ws2[] = { { 0, 28 }, { 1, 172 }, { 2, 360 },
					      { 3, 163 }, { 4, 1253 }, { 5, 1073 } };

		g = run(ws1, 6);
		assert_true(g.r2 > 0.6 && g.slope_per_min > 0);
		assert_false(g.leak);
		g = run(ws2, 6);
		assert_true(g.r2 > 0.6 && g.slope_per_min > 0);
		assert_false(g.leak);
	}

	/* pure noise around a level is not */
	st = 777;
	for (i = 0; i < N; i++) {
		s[i].t = i * STEP;
		s[i].v = 5000 + 1000 * noise(&st);
	}
	g = run(s, N);
	assert_false(g.leak);
	assert_shape(&g, "noisy");
}

/* A leak that starts halfway through the window is a leak. */
static void test_late_start_leak(void **state)
{
	struct sample s[N];
	struct growth g;
	int i;

	for (i = 0; i < N; i++) {
		s[i].t = i * STEP;
		s[i].v = 2000 + 20.0 * fmax(0, s[i].t - 150);
	}
	g = run(s, N);
	assert_true(g.leak);
	assert_shape(&g, "steady");
}

/* Growth too small relative to the level is not a finding. */
static void test_tiny_relative_growth(void **state)
{
	struct sample s[N];
	struct growth g;
	int i;

	for (i = 0; i < N; i++) {
		s[i].t = i * STEP;
		s[i].v = 1e9 + 4096.0 * i;	/* one page per interval */
	}
	g = run(s, N);
	assert_true(g.slope_per_min > 0);
	assert_near(g.r2, 1.0, 1e-9);
	assert_false(g.leak);
	assert_shape(&g, "flat");
}

static void test_few_samples(void **state)
{
	const struct sample one[] = { { 0, 100 } };
	const struct sample three[] = { { 0, 1 }, { 5, 2 }, { 10, 3 } };
	const struct sample four[] = { { 0, 1 }, { 1, 2 }, { 2, 3 },
				       { 3, 4 } };
	const struct sample short_span[] = { { 0, 1 }, { 0.5, 2 }, { 1, 3 },
					     { 1.5, 4 }, { 2, 5 } };
	struct sample s[N];
	struct growth g, few;
	int i;

	g = run(NULL, 0);
	assert_false(g.leak);
	assert_shape(&g, "flat");
	g = run(one, 1);
	assert_false(g.leak);
	assert_shape(&g, "flat");
	assert_true(g.slope_per_min == 0 && g.r2 == 0 && g.given_back == 0);
	g = run(three, 3);
	assert_false(g.leak);
	g = run(short_span, 5);
	assert_false(g.leak);
	/* the least evidence accepted: a leak, with low confidence */
	few = run(four, 4);
	assert_true(few.leak);
	assert_shape(&few, "steady");
	assert_true(few.confidence < 0.5);

	for (i = 0; i < N; i++) {
		s[i].t = i * STEP;
		s[i].v = 1 + s[i].t;
	}
	g = run(s, N);
	assert_true(g.confidence > few.confidence);
	/* the same series over a shorter span: less confidence */
	few = run(s, 12);
	assert_true(few.leak);
	assert_true(few.confidence < g.confidence);
}

/* Non-finite samples are skipped, never propagated. */
static void test_non_finite_input(void **state)
{
	struct sample s[N];
	struct growth g;
	double r2;
	int i;

	for (i = 0; i < N; i++) {
		s[i].t = i * STEP;
		s[i].v = 1000 + 10.0 * s[i].t;
	}
	s[7].v = NAN;
	s[20].v = INFINITY;
	s[33].t = NAN;
	s[N - 1].v = -INFINITY;
	g = run(s, N);
	assert_true(g.leak);
	assert_near(g.slope_per_min, 600.0, 1e-6);
	assert_near(g.r2, 1.0, 1e-9);
	assert_near(analyze_slope_per_min(s, N, &r2), 600.0, 1e-6);
	assert_near(r2, 1.0, 1e-9);

	for (i = 0; i < N; i++)
		s[i].v = NAN;
	g = run(s, N);
	assert_false(g.leak);
	assert_true(g.slope_per_min == 0);
	/* values whose squares overflow */
	for (i = 0; i < N; i++)
		s[i].v = (i % 2 ? 1 : -1) * 1e300;
	g = run(s, N);
	assert_false(g.leak);
}


/* Story 4b: one leaked goroutine a minute (a staircase of +1 every 60 s)
 * or 1 MiB a minute, sampled every second, is a steady leak within ten
 * minutes, whatever the phase of the increments and the level already
 * held. */
#define SLOW_N 601		/* ten minutes at 1 s */

static void slow_series(struct sample *s, size_t n, double base, double unit,
			double phase, bool smooth)
{
	for (size_t i = 0; i < n; i++) {
		s[i].t = (double)i;
		s[i].v = base + unit * (smooth ? (s[i].t + phase) / 60.0
					       : floor((s[i].t + phase) / 60.0));
	}
}

static void test_slow_leak_one_per_minute(void **state)
{
	static struct sample s[SLOW_N];
	const double bases[] = { 0, 3, 100 };
	const double MiB = 1024.0 * 1024.0;
	struct growth g;

	for (unsigned int b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		for (double phase = 0; phase < 60; phase += 7.5) {
			slow_series(s, SLOW_N, bases[b], 1, phase, false);
			g = run(s, SLOW_N);
			if (!g.leak)
				fail_msg("base %g phase %g: not a leak (%s)", bases[b],
					 phase, g.shape);
			assert_shape(&g, "steady");
			assert_near(g.slope_per_min, 1.0, 0.15);
			assert_true(g.confidence > 0.9);
			/* ... and already after five minutes */
			g = run(s, 301);
			if (!g.leak)
				fail_msg("base %g phase %g: not a leak at 5 min (%s)",
					 bases[b], phase, g.shape);
		}
	}
	/* 1 MiB a minute: in 1 MiB chunks, or page by page, on top of
	 * 200 MiB already held */
	for (double phase = 0; phase < 60; phase += 12) {
		slow_series(s, SLOW_N, 200 * MiB, MiB, phase, false);
		g = run(s, SLOW_N);
		assert_true(g.leak);
		assert_shape(&g, "steady");
		assert_near(g.slope_per_min, MiB, 0.15 * MiB);
		slow_series(s, SLOW_N, 200 * MiB, MiB, phase, true);
		g = run(s, SLOW_N);
		assert_true(g.leak);
		assert_shape(&g, "steady");
		assert_near(g.slope_per_min, MiB, 1e-3 * MiB);
	}
	/* the same staircase scaled down in time: +1 every 2 s sampled every
	 * 0.2 s for 24 s (the e2e test's shape) */
	for (double phase = 0; phase < 2; phase += 0.25) {
		size_t n = 121;

		for (size_t i = 0; i < n; i++) {
			s[i].t = 0.2 * (double)i;
			s[i].v = 1 + floor((s[i].t + phase) / 2.0);
		}
		g = run(s, n);
		assert_true(g.leak);
		assert_shape(&g, "steady");
	}
}

/* A sawtooth whose troughs climb keeps part of every cycle: a leak. */
static void test_sawtooth_climbing_troughs(void **state)
{
	struct sample s[N];
	struct growth g;
	int i, phase;

	for (phase = 0; phase < 50; phase += 5) {
		for (i = 0; i < N; i++) {
			s[i].t = i * STEP;
			s[i].v = 1000 + 5.0 * s[i].t +
				 100.0 * fmod(s[i].t + phase, 50.0);
		}
		g = run(s, N);
		assert_shape(&g, "sawtooth");
		if (!g.leak)
			fail_msg("phase %d: climbing troughs are a leak", phase);
		assert_true(g.confidence > 0.5);
	}
	/* troughs that climb in one cycle and fall back in the next */
	for (i = 0; i < N; i++) {
		double cyc = floor(i / 10.0);

		s[i].t = i * STEP;
		s[i].v = 1000 + 400.0 * fmod(cyc, 2.0) + 100.0 * (i % 10);
	}
	g = run(s, N);
	assert_shape(&g, "sawtooth");
	assert_false(g.leak);
}

/* A cache that fills to its cap and holds, or a pool that grows to its
 * size: never a leak, whether the series holds the fill or only the hold. */
static void test_plateau_and_hold_only(void **state)
{
	struct sample s[N];
	struct growth g;
	uint32_t st = 99;
	int i;

	/* hold only: exactly flat (pages never released), and with a little
	 * jitter (entries replaced at the cap) */
	for (i = 0; i < N; i++) {
		s[i].t = i * STEP;
		s[i].v = 64e6;
	}
	g = run(s, N);
	assert_false(g.leak);
	assert_shape(&g, "flat");
	for (i = 0; i < N; i++)
		s[i].v = 64e6 + 2e5 * noise(&st);
	g = run(s, N);
	assert_false(g.leak);
	assert_shape(&g, "flat");
	/* a pool of 8 workers, traced after it started */
	for (i = 0; i < N; i++)
		s[i].v = 8;
	g = run(s, N);
	assert_false(g.leak);
	assert_shape(&g, "flat");

	/* the pool starting two workers a second, sampled every second,
	 * then holding for 12 s */
	for (i = 0; i < 17; i++) {
		s[i].t = i;
		s[i].v = fmin(8, 2.0 * (i + 1));
	}
	g = run(s, 17);
	assert_false(g.leak);
	assert_shape(&g, "plateau");
	/* a cache: flat before attach, filled over 4 s, held for 10 s */
	for (i = 0; i < 17; i++) {
		s[i].t = i;
		s[i].v = 1e6 + 16e6 * fmin(4, fmax(0, i - 2.5));
	}
	g = run(s, 17);
	assert_false(g.leak);
	assert_shape(&g, "plateau");
	/* the series catches the last second of the fill, then holds */
	for (i = 0; i < N; i++) {
		s[i].t = i * STEP;
		s[i].v = i == 0 ? 60e6 : 64e6;
	}
	g = run(s, N);
	assert_false(g.leak);
	assert_shape(&g, "step");
	for (i = 0; i < N; i++)
		s[i].v = i < 2 ? 32e6 + 16e6 * i : 64e6;
	g = run(s, N);
	assert_false(g.leak);
	assert_shape(&g, "step");
}

/* A one-off jump between two flat stretches is a step, wherever it falls
 * and even when it is split over two intervals. */
static void test_step_not_leak(void **state)
{
	const double at[] = { 0.1, 0.3, 0.5, 0.6, 0.9 };
	struct sample s[N];
	struct growth g;

	for (unsigned int k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
		int j = (int)(at[k] * N);

		for (int i = 0; i < N; i++) {
			s[i].t = i * STEP;
			s[i].v = 500 + (i >= j ? 3000 : 0) + (i == j - 1 ? 1400 : 0);
		}
		g = run(s, N);
		assert_false(g.leak);
		assert_shape(&g, "step");
	}
	/* two points: 0 then 1 goroutine */
	{
		const struct sample two[] = { { 0, 0 }, { 1, 1 } };

		g = run(two, 2);
		assert_false(g.leak);
		assert_shape(&g, "step");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slope_known_values),
		cmocka_unit_test(test_slope_degenerate),
		cmocka_unit_test(test_slope_large_values),
		cmocka_unit_test(test_linear_growth_is_leak),
		cmocka_unit_test(test_constant_not_leak),
		cmocka_unit_test(test_sawtooth_not_leak),
		cmocka_unit_test(test_fill_then_plateau_not_leak),
		cmocka_unit_test(test_shrinking_not_leak),
		cmocka_unit_test(test_given_back),
		cmocka_unit_test(test_noisy_growth_leak),
		cmocka_unit_test(test_late_start_leak),
		cmocka_unit_test(test_tiny_relative_growth),
		cmocka_unit_test(test_few_samples),
		cmocka_unit_test(test_non_finite_input),
		cmocka_unit_test(test_slow_leak_one_per_minute),
		cmocka_unit_test(test_sawtooth_climbing_troughs),
		cmocka_unit_test(test_plateau_and_hold_only),
		cmocka_unit_test(test_step_not_leak),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
