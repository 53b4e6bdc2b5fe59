// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* model/culprit.c with sym/funcnames.c's one table (issue 15): the main
 * executable's frames are never libc, unnamed frames of system libraries
 * are, and a stripped service's culprit is its own innermost frame, not the
 * event loop of the library that called it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "model/culprit.h"
#include "sym/funcnames.h"

#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define LIBEVENT "/usr/lib/x86_64-linux-gnu/libevent-2.1.so.7.0.1"
#define MC "/usr/bin/memcached"

static void test_main_executable_never_libc(void **state)
{
	/* a C function of the program whose name looks like libc's */
	struct frame named = { .function = "__item_alloc", .module = MC,
			       .in_exe = true, .has_offset = true };
	struct frame unnamed = { .module = MC, .in_exe = true, .has_offset = true };
	/* the same names outside the main executable are libc */
	struct frame lib_named = { .function = "__item_alloc", .module = LIBC };
	/* Go runtime, allocator and dispatch names linked into it stay
	 * plumbing (a Go binary, a static jemalloc, redis's event loop) */
	struct frame go = { .function = "runtime.mallocgc", .in_exe = true };
	struct frame je = { .function = "je_malloc", .in_exe = true };
	struct frame ae = { .function = "aeProcessEvents", .in_exe = true };

	assert_int_equal(frame_plumbing(&named), PLUMB_NONE);
	assert_int_equal(frame_plumbing(&unnamed), PLUMB_NONE);
	assert_int_equal(frame_plumbing(&lib_named), PLUMB_LIBC);
	assert_int_equal(frame_plumbing(&go), PLUMB_RUNTIME);
	assert_int_equal(frame_plumbing(&je), PLUMB_ALLOCATOR);
	assert_int_equal(frame_plumbing(&ae), PLUMB_DISPATCH);
	/* C++ library templates instantiated in the executable stay libc */
	{
		struct frame cxx = { .function = "__gnu_cxx::new_allocator<int>::allocate("
				     "unsigned long, void const*)", .in_exe = true };

		assert_int_equal(frame_plumbing(&cxx), PLUMB_LIBC);
	}
}

static void test_system_library_frames(void **state)
{
	struct frame ev = { .module = LIBEVENT, .has_offset = true };
	struct frame app_lib = { .module = "/opt/app/lib/libapp.so" };
	struct frame nowhere = { 0 };

	assert_int_equal(frame_plumbing(&ev), PLUMB_LIBC);
	assert_int_equal(frame_plumbing(&app_lib), PLUMB_NONE);
	assert_int_equal(frame_plumbing(&nowhere), PLUMB_LIBC);
	assert_true(module_is_system(LIBC));
	assert_true(module_is_system("/lib/x86_64-linux-gnu/libz.so.1.2.13"));
	assert_true(module_is_system("[vdso]"));
	assert_false(module_is_system(MC));
	assert_false(module_is_system("/usr/lib/postgresql/15/bin/postgres"));
	assert_false(module_is_system(NULL));
}

/* memcached stripped, as traced: mmap < sysmalloc < malloc < nine of
 * memcached's own unnamed frames < libevent's unnamed callback runner <
 * event_base_loop < memcached's worker thread. */
static void test_stripped_service_culprit(void **state)
{
	struct frame f[] = {
		{ .function = "__mmap64", .module = LIBC },
		{ .function = "sysmalloc", .module = LIBC },
		{ .function = "malloc", .module = LIBC },
		{ .module = MC, .in_exe = true, .has_offset = true, .offset = 0x11d1c },
		{ .module = MC, .in_exe = true, .has_offset = true, .offset = 0x127e7 },
		{ .module = LIBEVENT, .has_offset = true, .offset = 0x21584 },
		{ .function = "event_base_loop", .module = LIBEVENT },
		{ .module = MC, .in_exe = true, .has_offset = true, .offset = 0xd051 },
		{ .function = "start_thread", .module = LIBC },
	};
	struct site s = { .kind = SITE_MMAP, .frames = f, .nframes = 9 };

	assert_int_equal(site_culprit_frame(&s), 3);
	/* stack cut after the library frames: never libevent's */
	s.frames = &f[5];
	s.nframes = 4;
	assert_int_equal(site_culprit_frame(&s), 2);	/* memcached+0xd051 */
	s.nframes = 2;
	assert_int_equal(site_culprit_frame(&s), -1);
}

static void test_one_table(void **state)
{
	/* roles by exact name, classes by prefix, from the same table */
	assert_true(fn_is_allocator("malloc"));
	assert_false(fn_is_allocator("malloc_trim"));
	assert_int_equal(fn_plumbing("malloc_trim"), PLUMB_ALLOCATOR);
	assert_true(fn_is_stack_root("start_thread"));
	assert_int_equal(fn_plumbing("start_thread"), PLUMB_LIBC);
	assert_int_equal(fn_plumbing("main._Cfunc_leak"), PLUMB_RUNTIME);
	assert_int_equal(fn_plumbing("net/http.(*conn).serve"), PLUMB_LIBRARY);
	assert_int_equal(fn_plumbing("github.com/x/y.F"), PLUMB_NONE);
	assert_int_equal(fn_plumbing("event_base_loop"), PLUMB_DISPATCH);
	assert_int_equal(fn_plumbing(NULL), PLUMB_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_main_executable_never_libc),
		cmocka_unit_test(test_system_library_frames),
		cmocka_unit_test(test_stripped_service_culprit),
		cmocka_unit_test(test_one_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
