// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sym/funcnames.c: the one place that says what well-known function names
 * mean (stack roots, cgo stack switches, allocator, Go runtime, plumbing). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "sym/funcnames.h"

static void test_roots_and_switches(void **state)
{
	assert_true(fn_is_stack_root("_start"));
	assert_true(fn_is_stack_root("start_thread"));
	assert_true(fn_is_stack_root("runtime.goexit.abi0"));
	assert_false(fn_is_stack_root("main"));
	assert_false(fn_is_stack_root("runtime.goexit1"));	/* exact names */
	assert_false(fn_is_stack_root(NULL));
	assert_true(fn_is_stack_switch("runtime.asmcgocall"));
	assert_false(fn_is_stack_switch("runtime.cgocall"));
}

static void test_allocator_and_plumbing(void **state)
{
	assert_true(fn_is_allocator("malloc"));
	assert_true(fn_is_allocator("_int_malloc"));
	assert_false(fn_is_allocator("malloc_trim"));
	assert_false(fn_is_allocator(NULL));
	assert_true(fn_is_go_runtime("runtime.newproc1"));
	assert_false(fn_is_go_runtime("main.runtimeStats"));
	assert_false(fn_is_go_runtime(NULL));
	/* Prefixes: what users skip to reach their own code. */
	assert_true(fn_is_plumbing("__mmap64"));
	assert_true(fn_is_plumbing("syscall.Syscall6"));
	assert_true(fn_is_plumbing("operator new(unsigned long)"));
	assert_true(fn_is_plumbing("pthread_create@@GLIBC_2.34"));
	assert_false(fn_is_plumbing("leak_chunk"));
	assert_false(fn_is_plumbing("main.(*Cache).Put"));
	assert_false(fn_is_plumbing(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roots_and_switches),
		cmocka_unit_test(test_allocator_and_plumbing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
