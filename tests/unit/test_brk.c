// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The brk heuristic (trace/brk.c) and fault-sample splitting
 * (trace/faultsplit.c), without BPF. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "trace/brk.h"
#include "trace/faultsplit.h"

#define K 4096

static void test_brk_growth_goes_to_the_top_grower(void **state)
{
	struct brk_state b;
	struct brk_step st;

	brk_init(&b, 0);
	/* First sight syncs, whatever the call. */
	brk_event(&b, 100 * K, false, 1, &st);
	assert_int_equal(st.change, BRK_NONE);
	/* Stack 1 grows 10 pages: its own, first growth. */
	brk_event(&b, 110 * K, false, 1, &st);
	assert_int_equal(st.change, BRK_GROW);
	assert_int_equal(st.from, 100 * K);
	assert_int_equal(st.to, 110 * K);
	assert_int_equal(st.charge_id, 1);
	assert_true(st.first_growth);
	/* Stack 2 crosses the top by 2 pages: charged to stack 1, which has
	 * grown it most; stack 2's first growth is said. */
	brk_event(&b, 112 * K, false, 2, &st);
	assert_int_equal(st.change, BRK_GROW);
	assert_int_equal(st.charge_id, 1);
	assert_true(st.first_growth);
	/* A query changes nothing. */
	brk_event(&b, 112 * K, true, 3, &st);
	assert_int_equal(st.change, BRK_NONE);
	/* Stack 2 takes the lead (2 + 10 > 10 pages). */
	brk_event(&b, 122 * K, false, 2, &st);
	assert_int_equal(st.charge_id, 2);
	assert_false(st.first_growth);
	/* Shrink gives [new, old) back. */
	brk_event(&b, 105 * K, false, 1, &st);
	assert_int_equal(st.change, BRK_SHRINK);
	assert_int_equal(st.from, 105 * K);
	assert_int_equal(st.to, 122 * K);
	brk_free(&b);
}

static void test_fault_splits(void **state)
{
	struct fault_splits fs;
	const struct fault_split *sp;

	faultsplit_init(&fs);
	/* Fault stack 10 (in the allocator) unwound to 100 three times and
	 * to 200 once; fault stack 20 (not) to 200 five times; 30 to itself. */
	for (int i = 0; i < 3; i++)
		faultsplit_add(&fs, 10, 100, !faultsplit_known(&fs, 10));
	faultsplit_add(&fs, 10, 200, false);
	for (int i = 0; i < 5; i++)
		faultsplit_add(&fs, 20, 200, false);
	faultsplit_add(&fs, 30, 30, false);
	assert_int_equal(fs.samples, 10);
	sp = faultsplit_get(&fs, 10);
	assert_non_null(sp);
	assert_true(sp->heap);
	assert_int_equal(sp->total, 4);
	assert_int_equal(sp->n, 2);
	assert_false(faultsplit_get(&fs, 20)->heap);
	assert_null(faultsplit_get(&fs, 40));
	/* Split: 10 and 20 stand for other stacks, 30 does not. */
	assert_int_equal(faultsplit_split_ids(&fs), 2);
	/* Heap votes only from allocator stacks: 100 (3) beats 200 (1). */
	assert_int_equal(faultsplit_heap_top(&fs, NULL, NULL), 100);
	faultsplit_free(&fs);
}

/* Stacks 100 and 101 are one caller through two allocator paths, 200 is
 * another caller. */
static uint64_t two_callers(void *arg, uint64_t id)
{
	(void)arg;
	return id == 200 ? 2 : 1;
}

static void heap_sample(struct fault_splits *fs, uint64_t fp_id, uint64_t id,
			int n)
{
	for (int i = 0; i < n; i++)
		faultsplit_add(fs, fp_id, id, true);
}

static void test_heap_top_is_per_caller_and_sticky(void **state)
{
	struct fault_splits fs;

	(void)state;
	faultsplit_init(&fs);
	heap_sample(&fs, 10, 101, 2);
	heap_sample(&fs, 11, 100, 2);
	heap_sample(&fs, 12, 200, 3);
	/* 4 votes for caller 1 (its first stack 101), 3 for caller 2; per
	 * stack 200 would lead. */
	assert_int_equal(faultsplit_heap_top(&fs, two_callers, NULL), 101);
	/* 100 now has more than 101: same caller, the pages stay put. */
	heap_sample(&fs, 11, 100, 5);
	assert_int_equal(faultsplit_heap_top(&fs, two_callers, NULL), 101);
	/* Caller 2 leads 10 to 9, not by a quarter: stays. */
	heap_sample(&fs, 12, 200, 7);
	assert_int_equal(faultsplit_heap_top(&fs, two_callers, NULL), 101);
	/* 12 to 9 is a third more: caller 2 takes over. */
	heap_sample(&fs, 12, 200, 2);
	assert_int_equal(faultsplit_heap_top(&fs, two_callers, NULL), 200);
	faultsplit_free(&fs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_brk_growth_goes_to_the_top_grower),
		cmocka_unit_test(test_fault_splits),
		cmocka_unit_test(test_heap_top_is_per_caller_and_sticky),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
