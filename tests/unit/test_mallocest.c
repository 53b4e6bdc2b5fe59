/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for user/trace/mallocest.c: a window's weight (the target is
 * this process: its read/write calls, /proc/self/io, are made here) and
 * the estimates fitted into VmData. */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/types.h>

#include "trace/target.h"
#include "trace/malloc.h"
#include "trace/malloc_int.h"
#include "model/verdict.h"

static void writes(int n)
{
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
}

static void setup_window(struct malloc_state *ms, int calls_on)
{
	*ms = (struct malloc_state){ .nwt = 64, .pid = getpid() };
	ms->wt = calloc(ms->nwt, sizeof(*ms->wt));
	assert_non_null(ms->wt);
	ms->wt[0] = 2;			/* planned: duty 0.5 */
	ms->on_at = 0;
	ms->io_on = malloc_io_calls(ms->pid);
	assert_true(ms->io_on >= 0);
	writes(calls_on);
	ms->off_at = 1.0;		/* on for 1 s */
	ms->io_off = malloc_io_calls(ms->pid);
}

/* The window saw the target's calls in proportion: weighed by them. */
static void test_weight_by_io(void **state)
{
	struct lt_target ctx = { 0 };
	struct malloc_state ms;

	(void)state;
	setup_window(&ms, 1000);
	writes(2000);			/* the pause: twice as many */
	malloc_window_begin(&ctx, &ms, 2.0, 2);
	assert_int_equal(ms.io_windows, 1);
	assert_int_equal(ms.io_capped, 0);
	/* (1000 + 2000 + the /proc reads) / (1000 + 1 read) */
	assert_true(ms.wt[0] > 2.9 && ms.wt[0] < 3.1);
	assert_int_equal(ms.win, 1);
	free(ms.wt);
}

/* A window cut at a load's arrival saw a few calls, then the load made
 * thousands: by I/O each of its objects would count ~10,000 times. At
 * most MAX_IO_SLOWDOWN (20) x the wall-time weight (2). */
static void test_weight_by_io_capped(void **state)
{
	struct lt_target ctx = { 0 };
	struct malloc_state ms;

	(void)state;
	setup_window(&ms, 10);
	writes(100000);
	malloc_window_begin(&ctx, &ms, 2.0, 2);
	assert_int_equal(ms.io_windows, 1);
	assert_int_equal(ms.io_capped, 1);
	assert_true(ms.wt[0] <= 40.0 + 1e-3);
	assert_true(ms.wt[0] >= 39.9);
	free(ms.wt);
}

/* One malloc site in a fresh model, its estimator state ms with site. */
static struct site *one_site(struct lt_target *ctx, struct malloc_state *ms,
			     struct msite *site)
{
	static char not_null;	/* malloc_enabled: a loaded object */
	struct frame f = { .addr = 0x1000 };
	struct site *s;

	model_init(&ctx->model);
	s = model_site(&ctx->model, SITE_MALLOC, &f, 1, 0);
	assert_non_null(s);
	assert_int_equal(s->id, 0);
	ms->scale = 1;
	ms->skel = (void *)&not_null;
	ms->sites = site;
	ms->nsites = 1;
	ctx->malloc = ms;
	return s;
}

/* The pool of test_malloc.py under a busy host: 257 buffers (8.37 MB)
 * sampled live, weighed to 18.3 MB, in a process of 8.6 MB VmData. */
static void test_fit_into_vm_data(void **state)
{
	struct lt_target ctx = { 0 };
	struct malloc_state ms = { 0 };
	struct msite site = { .est_bytes = 18.3e6, .est_objs = 593, .vbytes = 18.3e6,
			      .vobjs = 593, .live_objs = 257, .live_bytes = 8370000,
			      .calls = 2559 };
	struct site *s = one_site(&ctx, &ms, &site);

	(void)state;

	assert_true(malloc_fit_scale(18.3e6, 0) == 1);		/* unknown */
	assert_true(malloc_fit_scale(1e6, 8.6e6) == 1);		/* fits */
	malloc_collect(&ctx, 30000000);				/* fits: as is */
	assert_true(ms.scale == 1);
	assert_int_equal(ms.scaled_samples, 0);

	malloc_collect(&ctx, 8600000);
	assert_int_equal(ms.scaled_samples, 1);
	assert_true(ms.scale > 0.46 && ms.scale < 0.48);
	assert_true(s->bytes >= 8590000 && s->bytes <= 8600000);
	assert_true(s->live >= 257 && s->live <= 280);
	/* never below what was sampled and not seen to die */
	malloc_collect(&ctx, 4000000);
	assert_int_equal(s->bytes, 8370000);
	assert_int_equal(s->live, 257);
	/* room again: the estimate as it was */
	malloc_collect(&ctx, 30000000);
	assert_int_equal(s->bytes, 18300000);
	assert_int_equal(ms.scaled_samples, 2);
	ctx.malloc = NULL;
	model_free(&ctx.model);
}

/* The CI case: 27 objects sampled in the first window of a redis fill
 * (weight planned 2), sampled flat for 9 s after the fill; the next window
 * begins at 10 s and makes the weight final (10). The estimate is revised,
 * its series with it: no step that the verdict would read as growth. */
static void test_final_weight_is_a_revision(void **state)
{
	struct lt_target ctx = { 0 };
	struct malloc_state ms = { .nwt = 64, .io_on = -1, .off_at = 1.0 };
	struct msite site = { .u = { { .win = 0, .objs = 27, .bytes = 110754 } },
			      .calls = 27, .live_objs = 27, .live_bytes = 110754 };
	struct site *s = one_site(&ctx, &ms, &site);

	(void)state;
	ms.wt = calloc(ms.nwt, sizeof(*ms.wt));
	assert_non_null(ms.wt);
	ms.pid = getpid();

	malloc_window_replan(&ctx, &ms, 2);		/* planned: duty 0.5 */
	assert_int_equal(s->bytes, 2 * 110754);
	for (int t = 1; t <= 9; t++)
		model_sample(&ctx.model, t);
	malloc_window_begin(&ctx, &ms, 10.0, 2);	/* on 1 s of 10: weight 10 */
	assert_int_equal(s->bytes, 10 * 110754);
	model_sample(&ctx.model, 10);
	assert_int_equal(s->nsamples, 10);
	for (size_t i = 0; i < s->nsamples; i++)
		assert_true(s->samples[i].v == 10 * 110754.0);
	ctx.malloc = NULL;
	free(ms.wt);
	model_free(&ctx.model);
}

/* CI on a loaded host: redis's _sdsnewlen estimate rose at every duty
 * window and held between them; the last window ended at 10 s of 14, and
 * the samples of 11-14 s, taken with nobody looking, made the series
 * "grew, then stopped". Samples with no window on, begun or ended since
 * the last one are kept (between two looks they are the best estimate
 * there is) but, while they are the last ones, not analyzed. */
static void sample_at(struct lt_target *ctx, double t, int64_t bytes)
{
	struct site *s = model_get(&ctx->model, 0);

	ctx->now_s = t;
	s->bytes = bytes;
	malloc_collect(ctx, 0);
	model_sample(&ctx->model, t);
}

static void test_unseen_tail_not_analyzed(void **state)
{
	struct lt_target ctx = { 0 };
	struct malloc_state ms = { 0 };
	struct msite site = { .calls = 10 };
	struct site *s = one_site(&ctx, &ms, &site);

	(void)state;
	ms.attached = true;			/* a window on */
	ms.on_at = 0.5;
	sample_at(&ctx, 1, 100);
	sample_at(&ctx, 2, 200);
	ms.attached = false;			/* it ends at 2.5 s */
	ms.off_at = 2.5;
	sample_at(&ctx, 3, 250);		/* saw 2-2.5 s */
	assert_int_equal(model_seen_samples(s), 3);
	for (int t = 4; t <= 9; t++)		/* nobody looks */
		sample_at(&ctx, t, 250);
	assert_int_equal(s->nsamples, 9);
	assert_int_equal(model_seen_samples(s), 3);
	/* what is analyzed ends at the last look: no "stopped" */
	model_rank(&ctx.model, NAN);
	assert_false(s->growth.stopped);
	assert_true(s->verdict != VERDICT_STOPPED);
	ms.win++;				/* a window began and ended */
	ms.on_at = 9.2;
	ms.off_at = 9.6;
	sample_at(&ctx, 10, 450);
	assert_int_equal(model_seen_samples(s), 10);	/* all seen now */
	/* the final collect right after a look, with none since, replaces
	 * nothing */
	sample_at(&ctx, 10.01, 450);
	assert_int_equal(s->nsamples, 10);
	assert_true(s->samples[9].t == 10);
	assert_int_equal(model_seen_samples(s), 10);
	ctx.malloc = NULL;
	model_free(&ctx.model);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weight_by_io),
		cmocka_unit_test(test_weight_by_io_capped),
		cmocka_unit_test(test_fit_into_vm_data),
		cmocka_unit_test(test_final_weight_is_a_revision),
		cmocka_unit_test(test_unseen_tail_not_analyzed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
