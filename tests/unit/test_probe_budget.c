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

/* CPUs of a machine where the bound never binds (the tests before it). */
#define BIG 64

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
	pb_init(&s.pb, 0.01, 5e-6, BIG, 0);
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
	pb_init(&s.pb, 0.01, 1.5e-6, BIG, 0);
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

	pb_init(&s.pb, 0.01, 2e-6, BIG, 0);
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
	pb_init(&s.pb, 0.01, 1e-6, BIG, 0);
	run(&s, 300, vfast, 0.05);
	assert_true(s.hits * 1e-6 / s.t <= 0.012);
	assert_true(s.pb.windows >= 5);
}

/* Every detach holds the probe 110 ms past its window (uprobe_multi
 * links are torn down through a grace period; the target traps all
 * along), at the window's cost rate: charged, that time must come out of
 * the pauses, so the real cost (windows + overruns) stays in budget, and
 * pb_spent says what it was. */
static void test_overrun_is_paid_for(void **state)
{
	struct sim s = { 0 };
	double end, real, over_cost = 0, over = 0.11, rate = 500000, cost = 1.5e-6;

	pb_init(&s.pb, 0.01, cost, BIG, 0);
	end = 240;
	while (s.t < end) {
		if (s.pb.on) {
			s.hits_f += rate * 0.05;
			s.on_time += 0.05;
		}
		s.t += 0.05;
		s.hits = (uint64_t)s.hits_f;
		if (pb_tick(&s.pb, s.t, s.hits) && !s.pb.on) {
			s.t += over;	/* the detach, hits at full cost */
			s.on_time += over;
			over_cost += over * fmin(1, rate * cost);
			pb_overrun(&s.pb, over);
		}
	}
	real = (s.hits * cost + over_cost) / s.t;
	assert_true(real <= 0.012);
	assert_true(real >= 0.006);
	assert_true(fabs(pb_spent(&s.pb, s.t) - real) < 1e-3);
	assert_true(fabs(pb_on_share(&s.pb, s.t) - s.on_time / s.t) < 0.01);
	assert_true(s.pb.overrun_s > 1 && s.pb.windows >= 3);
	/* Without the charge, the same overruns cost 3x the budget here. */
}

static void test_zero_budget_never_on(void **state)
{
	struct sim s = { 0 };

	pb_init(&s.pb, 0, 1e-6, BIG, 0);
	assert_false(s.pb.on);
	run(&s, 10, fast, 0.05);
	assert_int_equal(s.hits, 0);
	assert_int_equal(s.transitions, 0);
	assert_true(pb_next(&s.pb, s.t) == 0);
}

/* CI on a 2-core machine: the first window took 30,276 hits in 38 ms
 * before the tick that cut it, at an estimated 9.28 us a hit (7.4 cores),
 * then the detach took 120 ms. The hits cannot have cost more than both
 * CPUs for the window: spent and the pause come from that bound. */
static void test_ci_window_bounded_by_cpus(void **state)
{
	struct probe_budget pb;
	double win = 0.038, over = 0.12, bound, pause;

	pb_init(&pb, 0.01, 9.28e-6, 2, 0);
	assert_true(pb_tick(&pb, 0.05, 0));	/* attached */
	assert_true(pb_tick(&pb, 0.05 + win, 30276));	/* burst: cut */
	assert_false(pb.on);
	assert_true(pb.cost_rate <= 2);
	pb_overrun(&pb, over);
	/* the window at two cores, the overrun at one */
	bound = (2 * win + over) / 12;
	assert_true(pb_spent(&pb, 12) <= bound + 1e-9);
	/* unbounded it said 3.34 % */
	assert_true(pb_spent(&pb, 12) < 0.017);
	/* the pause: a 50 ms window at 2 cores a period of 10 s, plus the
	 * overrun paid back (0.12 core-s / 1 % - 0.12 s) */
	pause = pb_next(&pb, 0.05 + win);
	assert_true(fabs(pause - (10 - 0.05 + over / 0.01 - over)) < 0.01);
}

/* A probe whose estimate says 7.4 cores at 800k hits/s on 2 CPUs: what
 * it really costs is at most the CPUs. Over minutes the real cost stays
 * at the budget, spent says what it was (not 3.7x it), and the pauses are
 * not sized by the impossible estimate (the budget is used, not a
 * quarter of it). */
static void test_estimate_past_the_cpus(void **state)
{
	struct sim s = { 0 };
	double rate = 800000, cost = 9.28e-6, real;

	pb_init(&s.pb, 0.01, cost, 2, 0);
	while (s.t < 300) {
		if (s.pb.on) {
			s.hits_f += rate * 0.05;
			s.on_time += 0.05;
		}
		s.t += 0.05;
		s.hits = (uint64_t)s.hits_f;
		pb_tick(&s.pb, s.t, s.hits);
	}
	real = fmin(s.hits * cost, 2 * s.on_time) / s.t;
	assert_true(real <= 0.012);
	assert_true(real >= 0.006);
	assert_true(fabs(pb_spent(&s.pb, s.t) - real) < 1e-3);
	assert_true(s.pb.windows >= 5);
}

/* The first window, capped in BPF: the cap is twice the budget of
 * PB_CAP_SLACK_S; a burst reaching it ends the window then, and the next
 * window is the shortest. */
static void test_cap_cuts_first_window(void **state)
{
	struct probe_budget pb;
	uint64_t cap;

	pb_init(&pb, 0.01, 8.6e-6, 2, 0);
	assert_int_equal(pb_cap(&pb, 0), 0);	/* not on yet */
	assert_true(pb_tick(&pb, 0, 0));
	assert_true(pb.on);
	cap = pb_cap(&pb, 0);
	assert_int_equal(cap, 1 + (uint64_t)ceil(2 * 0.01 * PB_CAP_SLACK_S / 8.6e-6));
	/* grows with the window: twice the budget of its length */
	assert_true(pb_cap(&pb, 0.2) > cap);
	/* attached 8 ms after the window began, then 800k hits/s: BPF
	 * reaches the cap 0.3 ms later; the tick is late */
	pb_cut(&pb, 0.008, 0.0083);
	assert_true(pb_tick(&pb, 0.04, cap));
	assert_false(pb.on);
	assert_int_equal(pb.cut_windows, 1);
	/* the rate from the first hit, not from before the attach (28k/s) */
	assert_true(pb.rate > 700000);
	assert_true(pb.on_len <= PB_MIN_ON_S + 1e-12);
	/* the pause from that rate, bounded: 2 cores, a 10 s period */
	assert_true(fabs(pb.cost_rate - 2) < 1e-9);
	assert_true(pb_next(&pb, 0.04) > 9.9);
	/* the cap's hits cost what they cost, nothing more */
	assert_true(pb_spent(&pb, 10) * 10 <= cap * 8.6e-6 + 1e-12);
	/* a duty window has no cap: its planned end bounds it */
	assert_true(pb_tick(&pb, pb.until, cap));
	assert_true(pb.on && pb.duty < 1);
	assert_int_equal(pb_cap(&pb, pb.since), 0);
}

/* A cheap probe is never cut: the cap stays above its hits. */
static void test_cap_spares_cheap_probe(void **state)
{
	struct probe_budget pb;
	uint64_t hits = 0;

	pb_init(&pb, 0.01, 5e-6, 2, 0);
	assert_true(pb_tick(&pb, 0, 0));
	for (double t = 0.05; t < 30; t += 0.05) {
		hits += 5;	/* 100 hits/s */
		assert_true(hits - pb.hits_at < pb_cap(&pb, t));
		assert_false(pb_tick(&pb, t, hits));
		assert_true(pb.on);
	}
	assert_int_equal(pb.cut_windows, 0);
}

/* The detach paid for what the target hit: a window cut at 0.3 ms, seen
 * by a tick 200 ms later, the detach 100 ms: 5,000 late hits at 2.6 us
 * (the mechanism, the program returning at once) are charged, not one
 * core for 100 ms; a count past what the CPUs could have run is bounded. */
static void test_late_hits_charged(void **state)
{
	struct probe_budget pb;
	double spent, pause;

	pb_init(&pb, 0.01, 8.6e-6, 2, 0);
	assert_true(pb_tick(&pb, 0, 0));
	pb_cut(&pb, 0.0001, 0.0003);
	assert_true(pb_tick(&pb, 0.2, 234));
	pause = pb_next(&pb, 0.2);
	pb_overrun_hits(&pb, 0.1, 5000, 2.6e-6);
	spent = pb_spent(&pb, 0.3) * 0.3;
	assert_true(fabs(spent - (234 * 8.6e-6 + 5000 * 2.6e-6)) < 1e-9);
	assert_true(fabs(pb.overrun_s - 0.1) < 1e-12);
	/* the pause pays the charge back */
	assert_true(fabs(pb_next(&pb, 0.2) - (pause + 5000 * 2.6e-6 / 0.01 - 0.1)) < 1e-9);
	/* a late hit costs at most a hit */
	pb_overrun_hits(&pb, 0, 10, 1);
	assert_true(fabs(pb.charged - (5000 * 2.6e-6 + 10 * 8.6e-6)) < 1e-12);
	/* no more than 2 CPUs from the cut (0.0003 s) to the detach's end */
	pb_init(&pb, 0.01, 8.6e-6, 2, 0);
	assert_true(pb_tick(&pb, 0, 0));
	pb_cut(&pb, 0.0001, 0.0003);
	assert_true(pb_tick(&pb, 0.2, 234));
	pb_overrun_hits(&pb, 0.1, 100000000, 8.6e-6);
	assert_true(pb.charged <= 2 * (0.3 - 0.0003) + 1e-12);
}

/* malloc's counter is weighted (a free as a share of an allocation) and
 * steps back when the weights are measured again: no 2^64 hits, in the
 * window's rate or in what was spent. */
static void test_counter_stepping_back(void **state)
{
	struct probe_budget pb;

	pb_init(&pb, 0.01, 1e-6, 2, 0);
	assert_true(pb_tick(&pb, 0, 0));
	assert_false(pb_tick(&pb, 0.5, 100));
	assert_false(pb_tick(&pb, 1.1, 100));	/* window end: still cheap */
	assert_true(pb.on && pb.duty >= 1);
	assert_false(pb_tick(&pb, 1.2, 90));	/* stepped back */
	assert_true(pb_spent(&pb, 1.2) <= 100 * 1e-6 / 1.2 + 1e-12);
	assert_false(pb_tick(&pb, 2.2, 95));	/* window end again */
	assert_true(pb.on && pb.duty >= 1);
	assert_true(pb.rate == 0);
	assert_true(pb_spent(&pb, 2.2) <= 100 * 1e-6 / 2.2 + 1e-12);
}

/* A cut window's start for its rate: 500 hits from the mark to the cut
 * in 0.5 s is 1000/s; its 1000 hits then began 1 s before the cut, not
 * at the window's start. No usable mark: -INFINITY. */
static void test_cut_from_mark(void **state)
{
	(void)state;
	assert_true(fabs(pb_cut_from(1000, 0, 500, 1000000000ULL, 1500000000ULL, 10.0) - 9.0) < 1e-9);
	assert_true(isinf(pb_cut_from(1000, 0, 0, 0, 1500000000ULL, 10.0)));
	assert_true(isinf(pb_cut_from(1000, 0, 500, 1600000000ULL, 1500000000ULL, 10.0)));
	assert_true(isinf(pb_cut_from(400, 0, 500, 1000000000ULL, 1500000000ULL, 10.0)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cheap_probe_stays_on),
		cmocka_unit_test(test_costly_probe_kept_in_budget),
		cmocka_unit_test(test_burst_cut_within_a_tick),
		cmocka_unit_test(test_extreme_rate_long_period),
		cmocka_unit_test(test_overrun_is_paid_for),
		cmocka_unit_test(test_zero_budget_never_on),
		cmocka_unit_test(test_ci_window_bounded_by_cpus),
		cmocka_unit_test(test_estimate_past_the_cpus),
		cmocka_unit_test(test_cap_cuts_first_window),
		cmocka_unit_test(test_cap_spares_cheap_probe),
		cmocka_unit_test(test_late_hits_charged),
		cmocka_unit_test(test_counter_stepping_back),
		cmocka_unit_test(test_cut_from_mark),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
