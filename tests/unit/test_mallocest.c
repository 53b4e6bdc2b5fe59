/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for user/trace/mallocest.c: a window's weight. The target is
 * this process: its read/write calls (/proc/self/io) are made here. */
#include <fcntl.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weight_by_io),
		cmocka_unit_test(test_weight_by_io_capped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
