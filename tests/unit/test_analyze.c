/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for user/analyze.c on synthetic series. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analyze.h"

#define N 60		/* one sample every 5 s for 5 minutes */
#define STEP 5.0

static void assert_near(double got, double want, double tol)
{
	if (fabs(got - want) > tol)
		fail_msg("got %.9g, want %.9g (+-%g)", got, want, tol);
}

/* Every field finite and in range, whatever the input. */
static void assert_sane(const struct growth *g)
{
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
	assert_true(g.slope_per_min == 0);
	assert_true(g.r2 == 0);
	assert_true(g.given_back == 0);

	for (i = 0; i < N; i++)
		s[i].v = 0;
	g = run(s, N);
	assert_false(g.leak);
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
	}
	/* saturating fill, time constant a third of the window */
	for (i = 0; i < N; i++) {
		s[i].t = i * STEP;
		s[i].v = 1e6 * (1 - exp(-s[i].t / 100));
	}
	g = run(s, N);
	assert_true(g.r2 > 0.8 && g.given_back == 0);
	assert_false(g.leak);
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
		assert_near(g.slope_per_min, 600.0, 60.0);
		assert_true(g.r2 < prev_r2);
		assert_true(g.confidence < prev_conf);
		prev_r2 = g.r2;
		prev_conf = g.confidence;
	}
	assert_true(prev_conf > 0.5);

	/* pure noise around a level is not */
	st = 777;
	for (i = 0; i < N; i++) {
		s[i].t = i * STEP;
		s[i].v = 5000 + 1000 * noise(&st);
	}
	g = run(s, N);
	assert_false(g.leak);
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
	g = run(one, 1);
	assert_false(g.leak);
	assert_true(g.slope_per_min == 0 && g.r2 == 0 && g.given_back == 0);
	g = run(three, 3);
	assert_false(g.leak);
	g = run(short_span, 5);
	assert_false(g.leak);
	/* the least evidence accepted: a leak, with low confidence */
	few = run(four, 4);
	assert_true(few.leak);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
