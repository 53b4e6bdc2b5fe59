// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* leaktrace capture without BPF: the bundle directory's lifecycle, the
 * ustar .tar.gz writer (read back by tar(1)), the /proc snapshots and
 * their MISSING.txt. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "capture/capture.h"
#include "capture/capture_int.h"

static char base[256];

static int setup(void **state)
{
	snprintf(base, sizeof(base), "/tmp/lt-test-capture-XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static char *run(const char *fmt, ...)
{
	static char out[1 << 16];
	char cmd[PATH_MAX * 3];
	va_list ap;
	size_t n;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = 0;
	assert_int_equal(pclose(p), 0);
	return out;
}

static void test_new_refuses_existing_dir(void **state)
{
	struct lt_ctx ctx = {};
	char dir[PATH_MAX + 16], tmp[PATH_MAX + 48];
	char *argv[] = { "-p", "1", "-o", "a dir" };
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/b", base);
	ctx.opts.output = dir;
	assert_int_equal(capture_new(&ctx, 4, argv), 0);
	assert_non_null(ctx.capture);
	snprintf(tmp, sizeof(tmp), "%s.partial-%d", dir, (int)getpid());
	assert_int_equal(stat(tmp, &st), 0);		/* written under a temporary name */
	assert_string_equal(ctx.capture->cmdline, "leaktrace capture -p 1 -o 'a dir'");
	capture_free(&ctx);
	assert_int_not_equal(stat(tmp, &st), 0);	/* nothing written: removed */

	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(capture_new(&ctx, 4, argv), -EEXIST);
	assert_null(ctx.capture);
}

static void test_tarball_reads_back(void **state)
{
	struct capture c = {};
	char dir[PATH_MAX], tgz[PATH_MAX + 16], rel[256];
	const char *long_dir = "a-long-bundle-name-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
	FILE *f;
	char *out;

	snprintf(dir, sizeof(dir), "%s/%s", base, long_dir);
	snprintf(c.tmp, sizeof(c.tmp), "%s", dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	f = cap_open(&c, "report.txt");
	fputs("hello\n", f);
	assert_int_equal(cap_close(f), 0);
	/* > 100 bytes with the directory: the ustar prefix field is used */
	snprintf(rel, sizeof(rel), "snapshots/start/cgroup1-memory.memsw.limit_in_bytes");
	f = cap_open(&c, rel);
	for (int i = 0; i < 1000; i++)	/* not a multiple of 512 */
		fprintf(f, "%d\n", i);
	assert_int_equal(cap_close(f), 0);
	f = cap_open(&c, "empty");
	assert_int_equal(cap_close(f), 0);
	f = cap_open(&c, "report.txt");	/* rewritten: listed once */
	fputs("hello again\n", f);
	assert_int_equal(cap_close(f), 0);
	assert_int_equal(c.nfiles, 3);

	snprintf(tgz, sizeof(tgz), "%s.tar.gz", dir);
	assert_int_equal(cap_tarball(&c, dir, tgz), 0);
	out = run("tar -tzf '%s'", tgz);
	assert_non_null(strstr(out, "report.txt\n"));
	assert_non_null(strstr(out, "/snapshots/start/cgroup1-memory.memsw.limit_in_bytes\n"));
	assert_non_null(strstr(out, "/empty\n"));
	out = run("tar -xzOf '%s' '%s/report.txt'", tgz, long_dir);
	assert_string_equal(out, "hello again\n");
	out = run("cd '%s' && tar -xzOf '%s' '%s/%s' | cmp - '%s/%s' && echo same",
		  base, tgz, long_dir, rel, dir, rel);
	assert_string_equal(out, "same\n");
	for (size_t i = 0; i < c.nfiles; i++)
		free(c.files[i]);
	free(c.files);
}

static void test_snapshots_and_missing(void **state)
{
	struct capture c = {};
	char path[PATH_MAX * 2];
	struct stat st;
	FILE *f;
	char buf[512] = "";

	snprintf(c.tmp, sizeof(c.tmp), "%s/snap", base);
	assert_int_equal(mkdir(c.tmp, 0755), 0);
	snap_cgroups(&c, getpid());
	assert_true(c.cg2[0] || c.cg1mem[0]);	/* some memory cgroup is ours */
	/* A "0::" line and a cgroup2 mount (v2 or hybrid): the v2 dir is found. */
	if (strstr(run("cat /proc/self/cgroup"), "0::") &&
	    strstr(run("cat /proc/self/mountinfo"), " - cgroup2 "))
		assert_true(c.cg2[0]);
	if (strstr(run("cat /proc/self/cgroup"), ":memory:"))
		assert_true(c.cg1mem[0]);
	snap_take(&c, getpid(), "start");
	snprintf(path, sizeof(path), "%s/snapshots/start/proc-status", c.tmp);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 100);
	snprintf(path, sizeof(path), "%s/snapshots/start/proc-smaps_rollup", c.tmp);
	assert_int_equal(stat(path, &st), 0);

	/* A process that is gone: every /proc file is listed as missing. */
	snap_take(&c, 999999999, "end");
	snprintf(path, sizeof(path), "%s/snapshots/end/MISSING.txt", c.tmp);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_true(fread(buf, 1, sizeof(buf) - 1, f) > 0);
	fclose(f);
	assert_non_null(strstr(buf, "/proc/999999999/status: No such file"));
	snprintf(path, sizeof(path), "%s/snapshots/end/proc-status", c.tmp);
	assert_int_not_equal(stat(path, &st), 0);
	/* The oom_kill counter is readable on v1 (oom_control) and v2 (events). */
	assert_true(snap_oom_kills(&c) >= 0);
	for (size_t i = 0; i < c.nfiles; i++)
		free(c.files[i]);
	free(c.files);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_refuses_existing_dir),
		cmocka_unit_test(test_tarball_reads_back),
		cmocka_unit_test(test_snapshots_and_missing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
