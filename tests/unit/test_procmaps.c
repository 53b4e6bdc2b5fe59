// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* /proc/PID/maps parser: fixture text and this process's own maps. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "proc/procmaps.h"

static const char maps64[] =
	"55d1c2a00000-55d1c2a02000 r--p 00000000 fd:01 1311234                    /usr/bin/cat\n"
	"55d1c2a02000-55d1c2a07000 r-xp 00002000 fd:01 1311234                    /usr/bin/cat\n"
	"55d1c3000000-55d1c3021000 rw-p 00000000 00:00 0                          [heap]\n"
	"7f0000000000-7f0000001000 r-xp 00001000 103:02 42                        /opt/my app/lib foo.so (deleted)\n"
	"7f0000001000-7f0000002000 rw-s 00000000 00:05 99                         /memfd:jit (deleted)\n"
	"7f0000002000-7f0000004000 ---p 00000000 00:00 0 \n"
	"7f0000004000-7f0000005000 rw-p 00000000 00:00 0\n"
	"7ffd1a3f0000-7ffd1a411000 rw-p 00000000 00:00 0                          [stack]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";

static void test_parse64(void **state)
{
	struct map_entry *m;
	size_t n;

	assert_int_equal(procmaps_parse(maps64, &m, &n), 0);
	assert_int_equal(n, 9);
	assert_int_equal(m[0].start, 0x55d1c2a00000ULL);
	assert_int_equal(m[0].end, 0x55d1c2a02000ULL);
	assert_true(m[0].r && !m[0].w && !m[0].x && m[0].p);
	assert_string_equal(m[0].path, "/usr/bin/cat");
	assert_int_equal(m[1].offset, 0x2000);
	assert_true(m[1].x);
	assert_int_equal(m[1].dev_major, 0xfd);
	assert_int_equal(m[1].dev_minor, 1);
	assert_int_equal(m[1].inode, 1311234);
	assert_string_equal(m[2].path, "[heap]");
	assert_int_equal(m[2].inode, 0);
	/* spaces inside the path and the deleted marker are kept */
	assert_string_equal(m[3].path, "/opt/my app/lib foo.so (deleted)");
	assert_int_equal(m[3].dev_major, 0x103);
	assert_int_equal(m[3].dev_minor, 2);
	assert_int_equal(m[3].offset, 0x1000);
	assert_true(m[4].w && !m[4].p);	/* shared */
	assert_string_equal(m[4].path, "/memfd:jit (deleted)");
	assert_string_equal(m[5].path, "");	/* trailing blank, no path */
	assert_false(m[5].r || m[5].w || m[5].x);
	assert_string_equal(m[6].path, "");
	assert_string_equal(m[8].path, "[vsyscall]");	/* no final newline */
	assert_int_equal(m[8].end, 0xffffffffff601000ULL);
	procmaps_free(m, n);
}

static void test_parse32(void **state)
{
	static const char maps32[] =
		"08048000-08049000 r-xp 00000000 03:00 8134       /bin/ls\n"
		"0804a000-0804b000 rw-p 00001000 03:00 8134       /bin/ls\n"
		"f7e00000-f7fb0000 r-xp 00000000 08:01 12         /lib/libc.so.6\n"
		"fffdd000-ffffe000 rw-p 00000000 00:00 0          [stack]\n";
	const struct map_entry *e;
	struct map_entry *m;
	size_t n;

	assert_int_equal(procmaps_parse(maps32, &m, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(m[0].start, 0x08048000);
	assert_int_equal(m[1].offset, 0x1000);
	assert_int_equal(m[2].end, 0xf7fb0000ULL);
	e = procmaps_find(m, n, 0x08048000);
	assert_ptr_equal(e, &m[0]);
	e = procmaps_find(m, n, 0x08048fff);
	assert_ptr_equal(e, &m[0]);
	assert_null(procmaps_find(m, n, 0x08049000));	/* gap */
	assert_null(procmaps_find(m, n, 0x1000));	/* before all */
	assert_null(procmaps_find(m, n, 0xffffe000));	/* end is open */
	assert_ptr_equal(procmaps_find(m, n, 0xf7e12345), &m[2]);
	assert_ptr_equal(procmaps_find(m, n, 0xffffdfff), &m[3]);
	procmaps_free(m, n);
}

static void test_unsorted_and_empty(void **state)
{
	static const char text[] =
		"3000-4000 r-xp 00000000 00:00 0 \n"
		"\n"
		"1000-2000 r--p 00000000 00:00 0 \n";
	struct map_entry *m;
	size_t n;

	assert_int_equal(procmaps_parse(text, &m, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(m[0].start, 0x1000);
	assert_ptr_equal(procmaps_find(m, n, 0x3800), &m[1]);
	procmaps_free(m, n);

	assert_int_equal(procmaps_parse("", &m, &n), 0);
	assert_int_equal(n, 0);
	assert_null(procmaps_find(m, n, 0x1000));
	procmaps_free(m, n);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"1000",
		"1000-",
		"1000-2000",
		"1000-2000 r-xp",
		"1000-2000 r-xp 00000000 fd",
		"1000-2000 r-xp 00000000 fd:01",
		"1000-2000 r-xp 00000000 fd:01 x /bin/true\n",
		"zz00-2000 r-xp 00000000 fd:01 1 /bin/true\n",
		"2000-1000 r-xp 00000000 fd:01 1 /bin/true\n",
		"10000000000000000-2 r-xp 0 0:0 0\n",
	};
	struct map_entry *m;
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(procmaps_parse(bad[i], &m, &n) < 0, 1);
}

static void test_self(void **state)
{
	const struct map_entry *e;
	struct map_entry *m;
	size_t n, i;
	int local;

	assert_int_equal(procmaps_read(getpid(), &m, &n), 0);
	assert_true(n > 5);
	for (i = 1; i < n; i++)
		assert_true(m[i - 1].end <= m[i].start);
	e = procmaps_find(m, n, (uint64_t)(uintptr_t)test_self);
	assert_non_null(e);
	assert_true(e->x && e->r);
	assert_int_equal(e->path[0], '/');
	e = procmaps_find(m, n, (uint64_t)(uintptr_t)&local);
	assert_non_null(e);	/* "[stack]", unless under valgrind */
	assert_true(e->r && e->w && !e->x);
	procmaps_free(m, n);
	assert_int_equal(procmaps_read(0x7ffffff0, &m, &n), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse64),
		cmocka_unit_test(test_parse32),
		cmocka_unit_test(test_unsorted_and_empty),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
