/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for user/trace/probe_budget.c: a simulated probe hit at a
 * given rate, ticked every 10-50 ms as the poll loop does; what it costs
 * must stay within the budget, and a cheap probe must never be cut. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "trace/probe_budget.h"

struct sim {
	struct probe_budget pb;
	double t, hits_f;
	uint64_t hits;
	double on_time;		/* attached time, counted by the simulation */
	int transitions;
};

/* Runs for secs at rate(t) hits/s while attached; tick every step s. */
static void run(struct sim *s, double secs, double (*rate)(double), double step)
{
	double end = s->t + secs;

	while (s->t < end) {
		if (s->pb.on) {
			s->hits_f += rate(s->t) * step;
			s->on_time += step;
		}
		s->t += step;
		s->hits = (uint64_t)s->hits_f;
		if (pb_tick(&s->pb, s->t, s->hits))
			s->transitions++;
	}
}

static double slow(double t) { (void)t; return 100; }
static double fast(double t) { (void)t; return 500000; }
static double burst(double t) { return t < 10 ? 50 : 300000; }
static double vfast(double t) { (void)t; return 5e6; }

static void test_cheap_probe_stays_on(void **state)
{
	struct sim s = { 0 };

	/* 100 hits/s at 5 us = 0.05 % of a core: far inside 1 %. */
	pb_init(&s.pb, 0.01, 5e-6, 0);
	assert_false(s.pb.on);			/* attached at the first tick */
	run(&s, 60, slow, 0.05);
	assert_true(s.pb.on);
	assert_int_equal(s.transitions, 1);
	assert_int_equal(s.pb.windows, 0);
	assert_true(pb_on_share(&s.pb, s.t) > 0.99);
}

static void test_costly_probe_kept_in_budget(void **state)
{
	struct sim s = { 0 };
	double spent;

	/* 500k hits/s at 1.5 us = 75 % of a core: duty about 1.3 %. */
	pb_init(&s.pb, 0.01, 1.5e-6, 0);
	run(&s, 120, fast, 0.05);
	spent = s.hits * 1.5e-6 / s.t;
	assert_true(spent <= 0.012);		/* the first window included */
	assert_true(spent >= 0.006);		/* and not starved either */
	assert_true(s.pb.duty > 0.005 && s.pb.duty < 0.03);
	assert_true(s.pb.windows >= 20);	/* keeps sampling */
	assert_true(fabs(pb_spent(&s.pb, s.t) - spent) < 1e-3);
	assert_true(fabs(pb_on_share(&s.pb, s.t) - s.on_time / s.t) < 0.01);
}

static void test_burst_cut_within_a_tick(void **state)
{
	struct sim s = { 0 };
	uint64_t before;

	pb_init(&s.pb, 0.01, 2e-6, 0);
	run(&s, 10, burst, 0.01);
	assert_true(s.pb.on);
	before = s.hits;
	run(&s, 0.2, burst, 0.01);
	/* 300k/s for at most a few ticks, not the whole 1 s check window. */
	assert_false(s.pb.on);
	assert_true(s.hits - before < 300000 * 0.06);
}

static void test_extreme_rate_long_period(void **state)
{
	struct sim s = { 0 };

	/* 5M hits/s at 1 us: duty 0.2 %; windows stay >= the poll tick and
	 * periods stretch, still within budget. */
	pb_init(&s.pb, 0.01, 1e-6, 0);
	run(&s, 300, vfast, 0.05);
	assert_true(s.hits * 1e-6 / s.t <= 0.012);
	assert_true(s.pb.windows >= 5);
}

static void test_zero_budget_never_on(void **state)
{
	struct sim s = { 0 };

	pb_init(&s.pb, 0, 1e-6, 0);
	assert_false(s.pb.on);
	run(&s, 10, fast, 0.05);
	assert_int_equal(s.hits, 0);
	assert_int_equal(s.transitions, 0);
	assert_true(pb_next(&s.pb, s.t) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cheap_probe_stays_on),
		cmocka_unit_test(test_costly_probe_kept_in_budget),
		cmocka_unit_test(test_burst_cut_within_a_tick),
		cmocka_unit_test(test_extreme_rate_long_period),
		cmocka_unit_test(test_zero_budget_never_on),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
