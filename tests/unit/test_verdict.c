/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for user/model/verdict.c: every verdict rule and the rank
 * order, on series from real traces (fixtures/series_real.h) and
 * synthetic ones. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/verdict.h"
#include "fixtures/series_real.h"

#define MIB (1024.0 * 1024.0)

static struct sample buf[8][128];
static struct site sites[8];

/* A site of kind with n samples v(i) = f at t = i * dt. */
static struct site *make(int k, enum site_kind kind, const struct sample *s,
			 size_t n)
{
	struct site *x = &sites[k];

	memset(x, 0, sizeof(*x));
	memcpy(buf[k], s, n * sizeof(*s));
	x->kind = kind;
	x->id = k;
	x->samples = buf[k];
	x->nsamples = x->cap = n;
	x->oldest_s = -1;
	x->parked_s = -1;
	x->running = x->runnable = -1;
	if (site_kind_is_bytes(kind)) {
		x->bytes = (int64_t)s[n - 1].v;
		x->live = -1;
	} else {
		x->live = (int64_t)s[n - 1].v;
		x->bytes = -1;
		x->oldest_s = s[n - 1].t - s[0].t;
	}
	return x;
}

/* A straight line: per_min a minute over n samples at dt, from base. */
static struct site *line(int k, enum site_kind kind, double base,
			 double per_min, size_t n, double dt)
{
	struct sample s[128];

	for (size_t i = 0; i < n; i++)
		s[i] = (struct sample){ i * dt, base + per_min * i * dt / 60 };
	return make(k, kind, s, n);
}

static enum verdict decide(struct site *s, double rss_rise)
{
	analyze_growth(s->samples, s->nsamples, &s->growth);
	verdict_decide(s, rss_rise);
	s->score = verdict_score(s);
	if (!s->verdict_why)
		fail_msg("no reason given");
	return s->verdict;
}

/* Rule 1: grew, then flat since a change point. */
static void test_rule_stopped(void **state)
{
	struct site *s = make(0, SITE_FAULT, redis_fill_fault, NELEM(redis_fill_fault));

	assert_int_equal(decide(s, 140 * MIB), VERDICT_STOPPED);
	assert_false(s->growth.leak);
	assert_true(verdict_rate_now(s) == 0);
	/* the same shape at 20 KiB: not worth reporting */
	for (size_t i = 0; i < s->nsamples; i++)
		s->samples[i].v /= 7000;
	s->bytes = (int64_t)s->samples[s->nsamples - 1].v;
	assert_int_equal(decide(s, NAN), VERDICT_NONE);
}

/* Rule 2: a leak's shape, but under 1 MiB / 3 objects over the window. */
static void test_rule_small(void **state)
{
	struct site *s = line(0, SITE_MMAP, 1 * MIB, 0.5 * MIB, 30, 2);

	assert_true((analyze_growth(s->samples, s->nsamples, &s->growth), s->growth.leak));
	assert_int_not_equal(decide(s, NAN), VERDICT_LEAK);
	s = line(1, SITE_GOROUTINE, 10, 2, 30, 2);	/* +2 in a minute */
	assert_int_not_equal(decide(s, NAN), VERDICT_LEAK);
	s = line(2, SITE_GOROUTINE, 10, 6, 30, 2);	/* +6 */
	assert_int_equal(decide(s, NAN), VERDICT_LEAK);
}

/* Rule 3: resident growth RSS did not follow is recycled pages. */
static void test_rule_unfelt(void **state)
{
	struct site *s = line(0, SITE_FAULT, 0, 30 * MIB, 30, 1);

	assert_int_equal(decide(s, 1 * MIB), VERDICT_RECYCLED);
	assert_int_equal(decide(s, 15 * MIB), VERDICT_LEAK);
	assert_int_equal(decide(s, NAN), VERDICT_LEAK);
}

/* Rule 4: churn -- given back more than held, or all live ones young;
 * unless RSS rose by all of it. */
static void test_rule_churn(void **state)
{
	struct site *s = line(0, SITE_MMAP, 0, 30 * MIB, 30, 1);

	s->freed = (uint64_t)s->bytes * 2;
	assert_int_equal(decide(s, NAN), VERDICT_RECYCLED);
	s = line(1, SITE_FAULT, 0, 30 * MIB, 30, 1);
	s->freed = (uint64_t)s->bytes * 2;
	assert_int_equal(decide(s, 10 * MIB), VERDICT_RECYCLED);
	assert_int_equal(decide(s, 16 * MIB), VERDICT_LEAK);	/* felt */
	s = line(2, SITE_GOROUTINE, 0, 60, 30, 1);
	s->oldest_s = 1;	/* 30 s window: all younger than 7.5 s */
	assert_int_equal(decide(s, NAN), VERDICT_RECYCLED);
	s->oldest_s = 20;
	assert_int_equal(decide(s, NAN), VERDICT_LEAK);
}

/* Rule 5: the demo's leaks, from a real trace. */
static void test_rule_leak_real(void **state)
{
	struct site *g = make(0, SITE_GOROUTINE, demo_goroutines, NELEM(demo_goroutines));
	struct site *f = make(1, SITE_FAULT, demo_save_fault, NELEM(demo_save_fault));

	assert_int_equal(decide(g, NAN), VERDICT_LEAK);
	assert_true(g->growth.leak);
	assert_true(g->growth.confidence > 0);
	assert_int_equal(decide(f, 17 * MIB), VERDICT_LEAK);
}

/* Rule 5's exception: a heap site of 3 live objects that rose in two
 * steps over a minute (Prometheus's pooled gzip writers, 924 KB each, at
 * 15 s and 48 s) is growing, not a leak; the same two steps of 3,000
 * objects are a leak's steady shape as before. */
static void test_rule_leak_needs_events(void **state)
{
	struct sample s[61];
	struct site *few, *many;

	for (int i = 0; i <= 60; i++)
		s[i] = (struct sample){ i, i < 15 ? 0 : i < 48 ? 924248 : 1848496 };
	few = make(0, SITE_HEAP, s, 61);
	few->live = 3;
	many = make(1, SITE_HEAP, s, 61);
	many->live = 3000;
	(void)state;
	assert_int_equal(decide(many, NAN), VERDICT_LEAK);
	assert_int_equal(decide(few, NAN), VERDICT_GROWING);
	assert_string_equal(few->verdict_why, "a few objects in one or two steps: no trend yet");
}

/* Rule 6: rising now without a leak's shape. */
static void test_rule_growing(void **state)
{
	struct sample s[40];
	struct site *x;

	/* flat for 30 s, then +2 MiB a second: too short and bent for a
	 * steady leak, but it grows now */
	for (int i = 0; i < 40; i++)
		s[i] = (struct sample){ i, 50 * MIB + (i < 30 ? 0 : 2 * MIB * (i - 30)) };
	x = make(0, SITE_MMAP, s, 40);
	assert_int_equal(decide(x, NAN), VERDICT_GROWING);
	assert_true(verdict_rate_now(x) > 100 * MIB);
}

/* Rule 7: nothing. */
static void test_rule_none(void **state)
{
	struct site *s = line(0, SITE_MMAP, 64 * MIB, 0, 30, 1);

	assert_int_equal(decide(s, NAN), VERDICT_NONE);
	assert_false(s->growth.leak);
	assert_true(s->growth.confidence == 0);
}

/* A 7.7 MiB/min leak does not outrank 477 MiB/min growing now; it does
 * outrank 477 MiB/min of churn RSS did not follow. */
static void test_rank_leak_vs_growth(void **state)
{
	struct site *leak = line(0, SITE_FAULT, 0, 7.7 * MIB, 30, 1);
	struct site *grow, *churn;
	struct sample s[40];

	for (int i = 0; i < 40; i++)
		s[i] = (struct sample){ i, i < 30 ? 0 : 477 * MIB * (i - 30) / 60 };
	grow = make(1, SITE_MMAP, s, 40);
	churn = line(2, SITE_FAULT, 0, 477 * MIB, 30, 1);
	assert_int_equal(decide(leak, 10 * MIB), VERDICT_LEAK);
	assert_int_equal(decide(grow, NAN), VERDICT_GROWING);
	assert_int_equal(decide(churn, 10 * MIB), VERDICT_RECYCLED);
	assert_true(grow->score > leak->score);
	assert_true(leak->score > churn->score);
}

/* A site that filled to 1 GiB and stopped ranks below a 1 MiB/min leak:
 * the ranking follows what happens now. */
static void test_rank_now_over_size(void **state)
{
	struct site *big = make(0, SITE_FAULT, redis_fill_fault, NELEM(redis_fill_fault));
	struct site *leak = line(1, SITE_FAULT, 0, 1 * MIB, 120, 1);

	for (size_t i = 0; i < big->nsamples; i++)
		big->samples[i].v *= 7;		/* ~1 GiB */
	big->bytes = (int64_t)big->samples[big->nsamples - 1].v;
	assert_int_equal(decide(big, 1024 * MIB), VERDICT_STOPPED);
	assert_int_equal(decide(leak, 2 * MIB), VERDICT_LEAK);
	assert_true(leak->score > big->score);
}

/* A goroutine a second (the demo) outranks 30 MiB/min of memory; with no
 * growth anywhere, what is held ranks (one-shot captures). */
static void test_rank_kinds_and_levels(void **state)
{
	struct site *g = make(0, SITE_GOROUTINE, demo_goroutines, NELEM(demo_goroutines));
	struct site *m = line(1, SITE_MMAP, 0, 30 * MIB, 20, 1);
	struct site *many = line(2, SITE_GOROUTINE, 20000, 0, 5, 1);
	struct site *few = line(3, SITE_GOROUTINE, 10, 0, 5, 1);

	decide(g, NAN);
	decide(m, NAN);
	assert_true(g->score > m->score);
	decide(many, NAN);
	decide(few, NAN);
	assert_true(many->score > few->score);
}

/* redis refilled after a FLUSHALL (test_malloc): the keys' malloc site
 * leaks at ~20 MiB/min (an estimate that moves at each sampling window,
 * every ~3 s), while the hash table doubles once, 12.7 MB in one interval
 * near the end (zcalloc < _dictExpand < dictAddRaw). The jump's pace over
 * its one interval (~760 MiB/min) is no rate that goes on: the leak ranks
 * first. */
static void test_rank_leak_over_one_step(void **state)
{
	struct sample a[14], b[14];
	struct site *leak, *step;

	for (int i = 0; i < 14; i++) {
		a[i] = (struct sample){ i, 20 * MIB / 60 * 3 * (i / 3 + 1) };
		b[i] = (struct sample){ i, i < 11 ? 0.5 * MIB : 13.2e6 };
	}
	leak = make(0, SITE_MALLOC, a, 14);
	step = make(1, SITE_MALLOC, b, 14);
	assert_int_equal(decide(leak, 30 * MIB), VERDICT_LEAK);
	decide(step, 30 * MIB);
	assert_string_equal(step->growth.shape, "step");
	assert_int_equal(step->verdict, VERDICT_GROWING);
	assert_true(leak->score > step->score);
	/* a huge one-off still ranks by what it holds */
	for (int i = 11; i < 14; i++)
		step->samples[i].v = 2048 * MIB;
	step->bytes = (int64_t)(2048 * MIB);
	decide(step, 2048 * MIB);
	assert_true(step->score > leak->score);
}

static void test_names(void **state)
{
	assert_string_equal(verdict_name(VERDICT_LEAK), "leak");
	assert_string_equal(verdict_name(VERDICT_STOPPED), "stopped");
	assert_string_equal(verdict_label(VERDICT_NONE), "-");
	assert_true(verdict_strength(VERDICT_LEAK) > verdict_strength(VERDICT_GROWING));
	assert_true(verdict_strength(VERDICT_GROWING) > verdict_strength(VERDICT_STOPPED));
	assert_true(verdict_strength(VERDICT_STOPPED) > verdict_strength(VERDICT_RECYCLED));
	assert_true(verdict_strength(VERDICT_RECYCLED) > verdict_strength(VERDICT_NONE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_stopped),
		cmocka_unit_test(test_rule_small),
		cmocka_unit_test(test_rule_unfelt),
		cmocka_unit_test(test_rule_churn),
		cmocka_unit_test(test_rule_leak_real),
		cmocka_unit_test(test_rule_leak_needs_events),
		cmocka_unit_test(test_rule_growing),
		cmocka_unit_test(test_rule_none),
		cmocka_unit_test(test_rank_leak_vs_growth),
		cmocka_unit_test(test_rank_now_over_size),
		cmocka_unit_test(test_rank_kinds_and_levels),
		cmocka_unit_test(test_rank_leak_over_one_step),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
