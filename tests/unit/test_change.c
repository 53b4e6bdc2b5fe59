/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for what happens now (user/model/analyze.c): the recent
 * slope, the two-segment change point and "grew until t, flat since", on
 * series recorded from real traces and on synthetic ones. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "model/analyze.h"
#include "fixtures/series_real.h"

#define MIB (1024.0 * 1024.0)

static void assert_near(double got, double want, double tol)
{
	if (fabs(got - want) > tol)
		fail_msg("got %.9g, want %.9g (+-%g)", got, want, tol);
}

static struct growth run(const struct sample *s, size_t n)
{
	struct growth g;

	analyze_growth(s, n, &g);
	return g;
}

/* Deterministic noise in [-1, 1). */
static double noise(uint32_t *st)
{
	*st = *st * 1664525u + 1013904223u;
	return (double)(*st >> 8) / (double)(1u << 23) - 1.0;
}

/* redis filled for 18 s of a 30 s trace: grew until ~18 s, flat since;
 * recent rate 0; the whole-window slope still says +250 MiB/min. */
static void test_redis_fill_stopped(void **state)
{
	struct growth g = run(redis_fill_fault, NELEM(redis_fill_fault));

	assert_true(g.stopped);
	assert_false(g.leak);
	assert_string_equal(g.shape, "plateau");
	assert_near(g.change_s, 18.0, 1.0);
	assert_near(g.recent_per_min, 0, 1);
	assert_true(g.slope_per_min > 100 * MIB);
	/* before the change: 8 MB a second */
	assert_near(g.before_per_min / 60, 8.1e6, 0.5e6);
	assert_near(g.after_per_min, 0, 1);
}

/* jemalloc maps extents in steps: a staircase, then 13 s flat -- longer
 * than twice any pause of the fill. */
static void test_redis_staircase_stopped(void **state)
{
	struct growth g = run(redis_fill_mmap, NELEM(redis_fill_mmap));

	assert_true(g.stopped);
	assert_near(g.change_s, 17.0, 1.5);
	assert_near(g.recent_per_min, 0, 1);
}

/* The straddle that gave a [critical] leak in 2 of 4 runs. */
static void test_cache_fill_straddle_stopped(void **state)
{
	struct growth g = run(cache_fill_fault, NELEM(cache_fill_fault));

	assert_true(g.stopped);
	assert_false(g.leak);
	assert_near(g.change_s, 18.5, 1.0);
}

/* The demo's leaks grow to the end: no stop, recent ~ whole slope. */
static void test_demo_leaks_not_stopped(void **state)
{
	struct growth g = run(demo_goroutines, NELEM(demo_goroutines));

	assert_false(g.stopped);
	assert_true(g.leak);
	assert_near(g.recent_per_min, 300, 10);
	assert_near(g.recent_per_min, g.slope_per_min, 10);
	g = run(demo_save_fault, NELEM(demo_save_fault));
	assert_false(g.stopped);
	assert_true(g.leak);
	assert_near(g.recent_per_min / g.slope_per_min, 1.0, 0.1);
	/* Go's heap arena maps in 4 MiB steps: never "stopped" for a
	 * pause no longer than the ones before */
	g = run(demo_arena_mmap, NELEM(demo_arena_mmap));
	assert_false(g.stopped);
}

/* An exact line has no change point: the noise floor keeps rounding from
 * "improving" it. */
static void test_line_has_no_change_point(void **state)
{
	struct sample s[60];
	struct change_point cp;

	for (int i = 0; i < 60; i++)
		s[i] = (struct sample){ i, 1e9 + 4096.0 * 100 * i };
	assert_false(analyze_change_point(s, 60, &cp));
	assert_false(run(s, 60).stopped);
}

/* A noisy steady leak: no stop, whatever the noise. */
static void test_noisy_leak_not_stopped(void **state)
{
	struct sample s[60];
	uint32_t st = 7;

	for (int i = 0; i < 60; i++)
		s[i] = (struct sample){ i * 5.0, 1e6 + 1e4 * i + 3e4 * noise(&st) };
	assert_false(run(s, 60).stopped);
	assert_true(run(s, 60).leak);
}

/* Flat, then growing: a change point, not a stop; recent is the new rate. */
static void test_growth_that_starts_is_not_stopped(void **state)
{
	struct sample s[40];
	struct growth g;

	for (int i = 0; i < 40; i++)
		s[i] = (struct sample){ i, i < 20 ? 1e6 : 1e6 + 1e5 * (i - 20) };
	g = run(s, 40);
	assert_false(g.stopped);
	assert_near(g.change_s, 19.5, 1.0);
	assert_near(g.recent_per_min, 6e6, 1e3);
	assert_near(g.after_per_min, 6e6, 1e3);
}

/* A sawtooth leak ends in a tooth, not a plateau: the after segment moves
 * by more than STOP_BAND of the range. */
static void test_sawtooth_not_stopped(void **state)
{
	struct sample s[60];

	for (int i = 0; i < 60; i++)
		s[i] = (struct sample){ i, 1e6 + 1e4 * i + 2e5 * ((i % 12) / 12.0) };
	assert_false(run(s, 60).stopped);
}

/* A staircase leak whose last pause is as long as the others keeps its
 * verdict; one that has paused for over twice as long has stopped. */
static void test_staircase_pause_rule(void **state)
{
	struct sample s[50];

	/* a step every 10 samples, the last at 40: 9 samples flat after */
	for (int i = 0; i < 50; i++)
		s[i] = (struct sample){ i, 1e6 * (1 + i / 10) };
	assert_false(run(s, 50).stopped);
	/* steps every 5 up to 25, then flat for 25 */
	for (int i = 0; i < 50; i++)
		s[i] = (struct sample){ i, 1e6 * (1 + (i < 25 ? i / 5 : 5)) };
	assert_true(run(s, 50).stopped);
}

/* Recent: the last quarter, widened to five samples. */
static void test_recent_window(void **state)
{
	struct sample s[8];
	double from;

	/* 8 samples: the last quarter (t >= 5.25) holds 2; widened to 5 */
	for (int i = 0; i < 8; i++)
		s[i] = (struct sample){ i, i < 3 ? 0 : 10.0 * (i - 3) };
	assert_near(analyze_recent_per_min(s, 8, &from), 600, 1e-9);
	assert_near(from, 3, 1e-12);
	/* 100 samples: the last 25 */
	struct sample l[100];

	for (int i = 0; i < 100; i++)
		l[i] = (struct sample){ i, i < 75 ? i : 75 };
	assert_near(analyze_recent_per_min(l, 100, &from), 0, 1e-9);
	assert_near(from, 75, 1e-12);
	/* empty and non-finite input */
	assert_true(analyze_recent_per_min(NULL, 0, &from) == 0);
	l[99].v = NAN;
	assert_true(isfinite(analyze_recent_per_min(l, 100, NULL)));
}

/* Too few samples for two segments of three: no change point. */
static void test_change_point_needs_samples(void **state)
{
	const struct sample s[] = { { 0, 0 }, { 1, 5 }, { 2, 10 },
				    { 3, 10 }, { 4, 10 } };
	struct change_point cp;

	assert_false(analyze_change_point(s, 5, &cp));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redis_fill_stopped),
		cmocka_unit_test(test_redis_staircase_stopped),
		cmocka_unit_test(test_cache_fill_straddle_stopped),
		cmocka_unit_test(test_demo_leaks_not_stopped),
		cmocka_unit_test(test_line_has_no_change_point),
		cmocka_unit_test(test_noisy_leak_not_stopped),
		cmocka_unit_test(test_growth_that_starts_is_not_stopped),
		cmocka_unit_test(test_sawtooth_not_stopped),
		cmocka_unit_test(test_staircase_pause_rule),
		cmocka_unit_test(test_recent_window),
		cmocka_unit_test(test_change_point_needs_samples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
