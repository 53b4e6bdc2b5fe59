/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for user/util/ivmap.c: the ordered range map the allocation
 * tracker finds overlapped objects with, against a brute-force list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "util/ivmap.h"

#define N 4000

struct ref {
	uint64_t start, len, val;
	int used;
};

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245 + 12345;
	return rnd_state >> 8;
}

static void test_exact_and_predecessor(void **state)
{
	struct ivmap m;
	uint64_t s, l, v;

	(void)state;
	ivmap_init(&m);
	assert_false(ivmap_last_before(&m, 100, &s, &l, &v));
	assert_int_equal(ivmap_put(&m, 0x1000, 16, 1), 0);
	assert_int_equal(ivmap_put(&m, 0x2000, 64, 2), 0);
	assert_int_equal(ivmap_put(&m, 0x1800, 8, 3), 0);
	assert_int_equal(ivmap_size(&m), 3);
	assert_true(ivmap_get(&m, 0x1800, &v));
	assert_int_equal(v, 3);
	assert_false(ivmap_get(&m, 0x1801, &v));
	/* the greatest start strictly below end */
	assert_true(ivmap_last_before(&m, 0x2000, &s, &l, &v));
	assert_int_equal(s, 0x1800);
	assert_true(ivmap_last_before(&m, 0x2001, &s, &l, &v));
	assert_int_equal(s, 0x2000);
	assert_int_equal(l, 64);
	assert_false(ivmap_last_before(&m, 0x1000, &s, &l, &v));
	/* replacing keeps one entry */
	assert_int_equal(ivmap_put(&m, 0x2000, 32, 9), 0);
	assert_int_equal(ivmap_size(&m), 3);
	assert_true(ivmap_get(&m, 0x2000, &v));
	assert_int_equal(v, 9);
	assert_true(ivmap_del(&m, 0x1800));
	assert_false(ivmap_del(&m, 0x1800));
	assert_true(ivmap_last_before(&m, 0x2000, &s, &l, &v));
	assert_int_equal(s, 0x1000);
	ivmap_free(&m);
}

/* Random puts and deletes, checked against a list after every step. */
static void test_random_against_list(void **state)
{
	static struct ref r[N];
	struct ivmap m;

	(void)state;
	ivmap_init(&m);
	for (int step = 0; step < 40000; step++) {
		int i = (int)(rnd() % N);
		uint64_t q = (uint64_t)(rnd() % (N * 64)), s, l, v, best = 0;
		int found = 0;

		if (r[i].used && rnd() % 2) {
			assert_true(ivmap_del(&m, r[i].start));
			r[i].used = 0;
		} else if (!r[i].used) {
			r[i] = (struct ref){ .start = (uint64_t)i * 64, .len = 1 + rnd() % 64,
					     .val = rnd(), .used = 1 };
			assert_int_equal(ivmap_put(&m, r[i].start, r[i].len, r[i].val), 0);
		}
		for (int j = 0; j < N; j++)
			if (r[j].used && r[j].start < q && (!found || r[j].start > best))
				best = r[j].start, found = 1;
		assert_int_equal(ivmap_last_before(&m, q, &s, &l, &v), found);
		if (found) {
			assert_int_equal(s, best);
			assert_int_equal(l, r[best / 64].len);
			assert_int_equal(v, r[best / 64].val);
		}
	}
	for (int j = 0, n = 0; j < N; j++) {
		uint64_t v;

		n += r[j].used;
		assert_int_equal(ivmap_get(&m, (uint64_t)j * 64, &v), r[j].used);
		if (j == N - 1)
			assert_int_equal(ivmap_size(&m), n);
	}
	ivmap_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_and_predecessor),
		cmocka_unit_test(test_random_against_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
