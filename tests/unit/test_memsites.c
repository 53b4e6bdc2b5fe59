// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Memory syscall sites (trace/memsites.h) in real files: this process's C
 * library and ld.so, a test program's own syscall instruction, and bytes of
 * the same pattern that are not code (refused). Every site found must sit
 * right after `mov $NR, %eax; syscall` in the file. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "trace/memsites.h"


/* The pattern, in .text where no CFI covers it: data, not code. */
__attribute__((section(".text.lt_not_code"), used))
static const unsigned char not_code[] = { 0xb8, 0x09, 0, 0, 0, 0x0f, 0x05, 0xc3 };

static const int nr_of[] = {
	[LT_EV_MMAP] = 9, [LT_EV_MUNMAP] = 11, [LT_EV_MREMAP] = 25,
	[LT_EV_BRK] = 12, [LT_EV_MADVISE] = 28,
};

/* Every site: the 7 bytes before its offset are the pattern of its type. */
static void check_bytes(const struct mem_sites *ms)
{
	for (int i = 0; i < ms->n; i++) {
		unsigned char b[7];
		int fd = open(ms->s[i].path, O_RDONLY);

		assert_true(fd >= 0);
		assert_int_equal(pread(fd, b, 7, (off_t)ms->s[i].offset - 7), 7);
		close(fd);
		assert_int_equal(b[0], 0xb8);
		assert_int_equal(b[1], nr_of[ms->s[i].type]);
		assert_int_equal(b[5], 0x0f);
		assert_int_equal(b[6], 0x05);
	}
}

static int count(const struct mem_sites *ms, enum lt_event_type t)
{
	int n = 0;

	for (int i = 0; i < ms->n; i++)
		n += ms->s[i].type == t;
	return n;
}

static const char *lib_of(void *sym)
{
	static char path[4096];
	Dl_info info;

	assert_true(dladdr(sym, &info));
	snprintf(path, sizeof(path), "%s", info.dli_fname);
	return path;
}

static void test_libc_wrappers(void **state)
{
	struct mem_sites *ms = calloc(1, sizeof(*ms));
	char why[256] = "";

	assert_int_equal(memsites_scan_file(lib_of(dlsym(RTLD_DEFAULT, "mmap")), ms,
					    why, sizeof(why)), 0);
	assert_true(count(ms, LT_EV_MMAP) >= 1);
	assert_true(count(ms, LT_EV_MUNMAP) >= 1);
	assert_true(count(ms, LT_EV_MREMAP) >= 1);
	assert_true(count(ms, LT_EV_BRK) >= 1);
	assert_true(count(ms, LT_EV_MADVISE) >= 1);
	check_bytes(ms);
	free(ms);
}

static void test_process_has_ldso_copies(void **state)
{
	struct mem_sites *ms = calloc(1, sizeof(*ms));
	char why[256] = "";
	int ld = 0;

	/* This test binary holds not_code: the process is refused, so its
	 * libraries are scanned one by one, as memsites_find does. */
	assert_int_equal(memsites_find(getpid(), ms, why, sizeof(why)), -EDOM);
	assert_non_null(strstr(why, "could not be proven"));
	memset(ms, 0, sizeof(*ms));
	assert_int_equal(memsites_scan_file("/lib64/ld-linux-x86-64.so.2", ms, why,
					    sizeof(why)), 0);
	for (int i = 0; i < ms->n; i++)
		ld += ms->s[i].type == LT_EV_MMAP || ms->s[i].type == LT_EV_MUNMAP;
	assert_true(ld >= 2);
	check_bytes(ms);
	free(ms);
}

static void test_program_own_syscall(void **state)
{
	struct mem_sites *ms = calloc(1, sizeof(*ms));
	const char *b = getenv("LEAKTRACE_BUILD");
	char why[256] = "", path[4096];

	snprintf(path, sizeof(path), "%s/progs/rawmmap", b ? b : "build");
	assert_int_equal(memsites_scan_file(path, ms, why, sizeof(why)), 0);
	assert_int_equal(count(ms, LT_EV_MMAP), 1);
	check_bytes(ms);
	free(ms);
}

static void test_pattern_in_data_refused(void **state)
{
	struct mem_sites *ms = calloc(1, sizeof(*ms));
	char why[256] = "";

	(void)not_code;
	assert_int_equal(memsites_scan_file("/proc/self/exe", ms, why, sizeof(why)), -EDOM);
	assert_non_null(strstr(why, "could not be proven an instruction boundary"));
	free(ms);
}

/* A stripped Go binary: its runtime's raw syscalls are not of the pattern
 * (and probes stay off Go code that needs none): refused. */
static void test_go_code_refused(void **state)
{
	struct mem_sites *ms = calloc(1, sizeof(*ms));
	const char *b = getenv("LEAKTRACE_BUILD");
	char why[256] = "", path[4096];

	snprintf(path, sizeof(path), "%s/progs/go1.27/churn.stripped", b ? b : "build");
	if (access(path, R_OK))
		snprintf(path, sizeof(path), "%s/progs/go1.19/churn.stripped", b ? b : "build");
	assert_int_equal(memsites_scan_file(path, ms, why, sizeof(why)), -EDOM);
	assert_non_null(strstr(why, "holds Go code"));
	free(ms);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libc_wrappers),
		cmocka_unit_test(test_process_has_ldso_copies),
		cmocka_unit_test(test_program_own_syscall),
		cmocka_unit_test(test_pattern_in_data_refused),
		cmocka_unit_test(test_go_code_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
