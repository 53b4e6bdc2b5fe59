/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for user/proc/memlimit.c on fake /proc and /sys trees laid
 * out like the hosts they stand for: a hybrid host (memory controller on
 * cgroup v1, as this VM), a pure v2 host, RLIMIT_AS, and none. */
#include <errno.h>
#include <math.h>
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

#include "proc/memlimit.h"

#define GIB (1024.0 * 1024 * 1024)
#define UNLIMITED_V1 "9223372036854771712\n"

static char root[64];

static void put(const char *rel, const char *text)
{
	char path[512], dir[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(p - path), path);
		mkdir(dir, 0755);
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/lt-memlimit-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	put("/proc/meminfo", "MemTotal:       16384000 kB\nMemFree:  1000 kB\nMemAvailable:    8192000 kB\n");
	put("/proc/42/limits", "Limit                     Soft Limit           Hard Limit           Units\n"
			       "Max address space         unlimited            unlimited            bytes\n");
	put("/proc/42/status", "Name:\tx\nVmSize:\t  204800 kB\nVmRSS:\t 1024 kB\n");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd) ? -1 : 0;
}

/* This VM: v1 memory controller, v2 mounted at unified; the limit is on
 * the parent, the process's own cgroup is unlimited. */
static void test_hybrid_v1(void **state)
{
	struct memlimit l;

	put("/proc/42/cgroup", "9:name=systemd:/\n4:memory:/svc/worker\n1:cpu:/\n0::/\n");
	put("/proc/self/mountinfo",
	    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n");
	put("/sys/fs/cgroup/memory/memory.limit_in_bytes", UNLIMITED_V1);
	put("/sys/fs/cgroup/memory/memory.usage_in_bytes", "999999999\n");
	put("/sys/fs/cgroup/memory/svc/memory.limit_in_bytes", "1073741824\n");
	put("/sys/fs/cgroup/memory/svc/memory.usage_in_bytes", "268435456\n");
	put("/sys/fs/cgroup/memory/svc/worker/memory.limit_in_bytes", UNLIMITED_V1);
	put("/sys/fs/cgroup/memory/svc/worker/memory.usage_in_bytes", "100000\n");
	assert_int_equal(memlimit_read(root, 42, &l), 0);
	assert_int_equal(l.source, MEMLIMIT_CGROUP_V1);
	assert_true(l.limit == 1073741824ULL);
	assert_true(l.left == 1073741824ULL - 268435456ULL);
	assert_string_equal(l.cgroup, "/svc");
	assert_string_equal(memlimit_source_name(l.source), "cgroup v1");
	/* a lower limit on the leaf wins */
	put("/sys/fs/cgroup/memory/svc/worker/memory.limit_in_bytes", "536870912\n");
	assert_int_equal(memlimit_read(root, 42, &l), 0);
	assert_true(l.limit == 536870912ULL);
	assert_string_equal(l.cgroup, "/svc/worker");
	assert_true(l.left == 536870912ULL - 100000);
}

/* A pure v2 host: memory.max along the path, "max" is no limit. */
static void test_pure_v2(void **state)
{
	struct memlimit l;

	put("/proc/42/cgroup", "0::/system.slice/app.service\n");
	put("/proc/self/mountinfo",
	    "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
	put("/sys/fs/cgroup/system.slice/memory.max", "max\n");
	put("/sys/fs/cgroup/system.slice/memory.current", "5\n");
	put("/sys/fs/cgroup/system.slice/app.service/memory.max", "2147483648\n");
	put("/sys/fs/cgroup/system.slice/app.service/memory.current", "1073741824\n");
	assert_int_equal(memlimit_read(root, 42, &l), 0);
	assert_int_equal(l.source, MEMLIMIT_CGROUP_V2);
	assert_true(l.limit == 2147483648ULL);
	assert_true(l.left == 1073741824ULL);
	assert_string_equal(l.cgroup, "/system.slice/app.service");
	/* at 12 MiB/min, 1 GiB lasts ~85 min */
	assert_true(fabs(memlimit_minutes(&l, 12 * 1048576.0) - 1024.0 / 12) < 1e-9);
	assert_true(isinf(memlimit_minutes(&l, 0)));
	assert_true(isinf(memlimit_minutes(&l, -5)));
}

/* A cgroup namespace: /proc/PID/cgroup is relative to the mount's root. */
static void test_v2_namespace_root(void **state)
{
	struct memlimit l;

	put("/proc/42/cgroup", "0::/ns/inner\n");
	put("/proc/self/mountinfo",
	    "30 23 0:26 /ns /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
	put("/sys/fs/cgroup/inner/memory.max", "104857600\n");
	put("/sys/fs/cgroup/inner/memory.current", "4857600\n");
	assert_int_equal(memlimit_read(root, 42, &l), 0);
	assert_int_equal(l.source, MEMLIMIT_CGROUP_V2);
	assert_true(l.limit == 104857600ULL);
}

/* No cgroup limit: RLIMIT_AS against VmSize; then physical memory. */
static void test_rlimit_then_physical(void **state)
{
	struct memlimit l;

	put("/proc/42/cgroup", "0::/free\n");
	put("/proc/self/mountinfo",
	    "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
	put("/sys/fs/cgroup/free/memory.max", "max\n");
	put("/sys/fs/cgroup/free/memory.current", "1\n");
	put("/sys/fs/cgroup/memory.max", "max\n");
	put("/proc/42/limits", "Max address space         1073741824           unlimited            bytes\n");
	assert_int_equal(memlimit_read(root, 42, &l), 0);
	assert_int_equal(l.source, MEMLIMIT_RLIMIT_AS);
	assert_true(l.limit == 1073741824ULL);
	assert_true(l.left == 1073741824ULL - 204800ULL * 1024);
	put("/proc/42/limits", "Max address space         unlimited            unlimited            bytes\n");
	assert_int_equal(memlimit_read(root, 42, &l), 0);
	assert_int_equal(l.source, MEMLIMIT_PHYSICAL);
	assert_true(l.limit == 16384000ULL * 1024);
	assert_true(l.left == 8192000ULL * 1024);
	assert_string_equal(l.cgroup, "");
}

/* The live system answers something for ourselves. */
static void test_live_self(void **state)
{
	struct memlimit l;

	assert_int_equal(memlimit_read("", getpid(), &l), 0);
	assert_int_not_equal(l.source, MEMLIMIT_NONE);
	assert_true(l.limit > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hybrid_v1),
		cmocka_unit_test(test_pure_v2),
		cmocka_unit_test(test_v2_namespace_root),
		cmocka_unit_test(test_rlimit_then_physical),
		cmocka_unit_test(test_live_self),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
