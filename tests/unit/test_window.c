// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The always-on agent's growth analysis (model.window_s, max_samples):
 * a leak that starts after a long flat history is measured in the window
 * at its own rate; memory per site stays bounded over days of samples,
 * with or without a window. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "model/model.h"

static const struct frame leaker[] = {
	{ .function = "main.leaker", .file = "main.go", .line = 10 },
};

static void test_late_leak_found_in_window(void **state)
{
	/* a day flat, then two hours of growth; a window of one hour, at
	 * most 240 samples a series */
	{
		struct model w;
		struct site *ws;
		double secs = 86400 + 7200;

		model_init(&w);
		w.window_s = 3600;
		w.max_samples = 240;
		ws = model_site(&w, SITE_MMAP, leaker, 1, 0);
		assert_non_null(ws);
		for (double t = 0; t <= secs; t += 1) {
			double v = 10.0 * (1 << 20);

			if (t > 86400)
				v += (t - 86400) / 60.0 * (1 << 20);
			ws->bytes = (uint64_t)v;
			model_sample(&w, t);
			model_totals(&w, t, v, 4);
		}
		model_rank(&w, NAN);
		/* bounded: at most 1.5 max_samples + 2, over the whole window */
		assert_true(ws->nsamples <= 362 && ws->nsamples >= 230);
		assert_true(ws->cap <= 512);
		assert_true(w.ntotals <= 362);
		assert_true(ws->samples[0].t >= secs - 3600 - 60);
		assert_true(ws->samples[0].t <= secs - 3600 + 60);
		/* the slope in the window is the leak's: 1 MiB a minute */
		assert_true(fabs(ws->growth.slope_per_min - (1 << 20)) < 0.02 * (1 << 20));
		assert_true(ws->growth.leak);
		model_free(&w);
	}
}

static void test_whole_run_bounded(void **state)
{
	struct model m;
	struct site *s;

	model_init(&m);
	m.window_s = 0;
	m.max_samples = 240;
	s = model_site(&m, SITE_MMAP, leaker, 1, 0);
	assert_non_null(s);
	for (double t = 0; t <= 86400 + 1800; t += 1) {
		double v = 10.0 * (1 << 20);

		if (t > 86400)
			v += (t - 86400) / 60.0 * (1 << 20);
		s->bytes = (uint64_t)v;
		model_sample(&m, t);
		model_totals(&m, t, (uint64_t)v, 1);
	}
	model_rank(&m, NAN);
	/* no window: the series spans the whole day, merged down to at
	 * most 1.5 max_samples + 2 (memory bounded all the same), its oldest
	 * sample still from the run's start (before: at 86,518 s of 88,200,
	 * every halving merged the old samples again while new ones came
	 * one for one) and the rest evenly spread */
	assert_true(s->nsamples <= 240 + 120 + 2);
	assert_true(s->samples[s->nsamples - 1].t == 86400 + 1800);
	assert_true(s->samples[0].t < 0.01 * 88200);
	assert_true(s->samples[s->nsamples / 2].t > 0.3 * 88200 &&
		    s->samples[s->nsamples / 2].t < 0.7 * 88200);
	/* the RSS series too */
	assert_true(m.ntotals <= 240);
	assert_true(m.rss[0].t < 0.01 * 88200);
	model_free(&m);
}

/* A short run in a long window keeps every sample (a verdict after
 * seconds, not after slots of window / max_samples). */
static void test_short_run_full_resolution(void **state)
{
	struct model m;
	struct site *s;

	model_init(&m);
	m.window_s = 3600;
	m.max_samples = 240;
	s = model_site(&m, SITE_MMAP, leaker, 1, 0);
	assert_non_null(s);
	for (double t = 0; t <= 10; t += 1) {
		s->bytes = (uint64_t)(t * (1 << 20));
		model_sample(&m, t);
	}
	assert_int_equal(s->nsamples, 11);
	model_free(&m);
}

static void test_flat_stays_flat(void **state)
{
	struct model m;
	struct site *s;

	model_init(&m);
	m.window_s = 600;
	m.max_samples = 64;
	s = model_site(&m, SITE_MMAP, leaker, 1, 0);
	assert_non_null(s);
	for (double t = 0; t <= 7200; t += 1) {
		s->bytes = 10 << 20;
		model_sample(&m, t);
	}
	model_rank(&m, NAN);
	assert_true(s->nsamples >= 2 && s->nsamples <= 98);
	assert_false(s->growth.leak);
	assert_true(fabs(s->growth.slope_per_min) < 1);
	model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_late_leak_found_in_window),
		cmocka_unit_test(test_whole_run_bounded),
		cmocka_unit_test(test_short_run_full_resolution),
		cmocka_unit_test(test_flat_stays_flat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
