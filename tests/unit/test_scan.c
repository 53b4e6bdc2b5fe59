/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for user/proc/scan.c: process sets keyed by pid + start time
 * and their differences (start, exit, pid reuse), the scan of this host's
 * /proc (kernel threads, zombies and ourselves skipped, children seen) and
 * of a fixture tree, the cgroup subtree filter on cgroups made under the
 * unified hierarchy, and --cgroup argument resolution. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "proc/scan.h"

static struct proc_key K(int pid, uint64_t t)
{
	return (struct proc_key){ pid, t };
}

static void test_sets(void **state)
{
	struct proc_set a = { 0 }, b = { 0 }, add = { 0 }, gone = { 0 };

	for (int pid = 300; pid > 0; pid -= 7)
		assert_int_equal(proc_set_add(&a, K(pid, pid * 10)), 0);
	for (size_t i = 1; i < a.n; i++)
		assert_true(a.keys[i - 1].pid < a.keys[i].pid);
	assert_true(proc_set_has(&a, K(300, 3000)));
	assert_false(proc_set_has(&a, K(300, 3001)));
	assert_false(proc_set_has(&a, K(301, 3010)));
	/* b: 300 exited, 293 reused (new start time), 1000 started */
	for (size_t i = 0; i < a.n; i++)
		if (a.keys[i].pid != 300)
			assert_int_equal(proc_set_add(&b, a.keys[i]), 0);
	assert_int_equal(proc_set_add(&b, K(293, 99999)), 0);	/* replaces */
	assert_int_equal(proc_set_add(&b, K(1000, 5)), 0);
	assert_int_equal(b.n, a.n);
	assert_int_equal(proc_set_diff(&a, &b, &add, &gone), 0);
	assert_int_equal(add.n, 2);
	assert_int_equal(add.keys[0].pid, 293);
	assert_int_equal(add.keys[0].start_ticks, 99999);
	assert_int_equal(add.keys[1].pid, 1000);
	assert_int_equal(gone.n, 2);
	assert_int_equal(gone.keys[0].pid, 293);
	assert_int_equal(gone.keys[0].start_ticks, 2930);
	assert_int_equal(gone.keys[1].pid, 300);
	assert_int_equal(proc_set_diff(&a, &a, &add, NULL), 0);
	assert_int_equal(add.n, 0);
	proc_set_free(&a);
	proc_set_free(&b);
	proc_set_free(&add);
	proc_set_free(&gone);
}

static void test_within(void **state)
{
	assert_true(cgroup_within("/a/b", "/a"));
	assert_true(cgroup_within("/a", "/a"));
	assert_true(cgroup_within("/a/b", "/a/"));
	assert_false(cgroup_within("/ab", "/a"));
	assert_false(cgroup_within("/a", "/a/b"));
	assert_true(cgroup_within("/anything", "/"));
	assert_true(cgroup_within("/", "/"));
	assert_false(cgroup_within("", "/a"));
	assert_true(cgroup_within("/system.slice/x.service/sub", "/system.slice/x.service"));
}

static void put(const char *dir, const char *name, const char *text)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void fake_proc(const char *root, int pid, char st, unsigned long flags,
		      const char *cgroup)
{
	char d[PATH_MAX], stat[512];

	snprintf(d, sizeof(d), "%s/proc/%d", root, pid);
	assert_int_equal(mkdir(d, 0755), 0);
	snprintf(stat, sizeof(stat), "%d (p %d) %c 1 %d %d 0 -1 %lu 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0\n",
		 pid, pid, st, pid, pid, flags, pid * 100);
	put(d, "stat", stat);
	put(d, "cgroup", cgroup);
}

/* A fixture tree: kthread, zombie, self, and processes in and out of a
 * cgroup (v2 and v1 memory lines, as on hybrid hosts). */
static void test_fixture(void **state)
{
	char root[] = "/tmp/lt-scan-XXXXXX", d[PATH_MAX];
	struct scan_filter all = { .self = 13 };
	struct scan_filter v2 = { .cgroup = "/kubepods.slice", .hier = CG_V2 };
	struct scan_filter v1 = { .cgroup = "/docker", .hier = CG_V1_MEMORY };
	struct proc_set s = { 0 };

	assert_non_null(mkdtemp(root));
	snprintf(d, sizeof(d), "%s/proc", root);
	assert_int_equal(mkdir(d, 0755), 0);
	mkdir(strcat(d, "/self"), 0755);	/* not a pid: ignored */
	fake_proc(root, 2, 'S', 0x00200040, "0::/\n");		/* kthreadd */
	fake_proc(root, 11, 'Z', 0x00400100, "0::/x\n");	/* zombie */
	fake_proc(root, 12, 'S', 0x00400100,
		  "4:memory:/docker/abc\n0::/kubepods.slice/kubepods-pod1.slice\n");
	fake_proc(root, 13, 'R', 0x00400000, "0::/kubepods.slice\n");	/* "us" */
	fake_proc(root, 14, 'S', 0x00400000, "4:memory:/dockerx\n0::/kubepods.slicex\n");
	assert_int_equal(proc_scan(root, &all, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.keys[0].pid, 12);
	assert_int_equal(s.keys[0].start_ticks, 1200);
	assert_int_equal(s.keys[1].pid, 14);
	assert_int_equal(proc_scan(root, &v2, &s), 0);
	assert_int_equal(s.n, 2);	/* 12 and 13 (no self given) */
	assert_int_equal(s.keys[0].pid, 12);
	assert_int_equal(s.keys[1].pid, 13);
	assert_int_equal(proc_scan(root, &v1, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.keys[0].pid, 12);
	proc_set_free(&s);
	snprintf(d, sizeof(d), "rm -rf %s", root);
	assert_int_equal(system(d), 0);
	assert_int_equal(proc_scan("/nonexistent-root", &all, &s), -ENOENT);
}

static pid_t sleeper(void)
{
	pid_t p = fork();

	if (!p) {
		pause();
		_exit(0);
	}
	return p;
}

static void test_live(void **state)
{
	struct scan_filter f = { .self = getpid() };
	struct proc_set a = { 0 }, b = { 0 }, add = { 0 }, gone = { 0 };
	pid_t child, zombie;

	struct timespec t0, t1;

	/* a measurement, printed: one scan of this host */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(proc_scan("", &f, &a), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("scan of %zu processes: %.2f ms\n", a.n,
		      ((t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6) / 20);
	zombie = fork();
	if (!zombie)
		_exit(0);
	usleep(100000);		/* it exits; not reaped: a zombie */
	assert_int_equal(proc_scan("", &f, &a), 0);
	assert_true(a.n > 0);
	for (size_t i = 0; i < a.n; i++) {
		char p[64], buf[512];
		FILE *fp;

		assert_int_not_equal(a.keys[i].pid, getpid());
		assert_int_not_equal(a.keys[i].pid, zombie);
		/* no kernel thread: they have no exe, and no mm */
		snprintf(p, sizeof(p), "/proc/%d/status", a.keys[i].pid);
		fp = fopen(p, "r");
		if (!fp)
			continue;	/* gone meanwhile */
		while (fgets(buf, sizeof(buf), fp))
			if (!strncmp(buf, "Kthread:", 8))
				assert_string_equal(buf, "Kthread:\t0\n");
		fclose(fp);
	}
	child = sleeper();
	usleep(50000);
	assert_int_equal(proc_scan("", &f, &b), 0);
	assert_int_equal(proc_set_diff(&a, &b, &add, NULL), 0);
	{
		bool seen = false;

		for (size_t i = 0; i < add.n; i++)
			seen |= add.keys[i].pid == child;
		assert_true(seen);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	waitpid(zombie, NULL, 0);
	assert_int_equal(proc_scan("", &f, &a), 0);
	assert_int_equal(proc_set_diff(&b, &a, NULL, &gone), 0);
	{
		bool seen = false;

		for (size_t i = 0; i < gone.n; i++)
			seen |= gone.keys[i].pid == child;
		assert_true(seen);
	}
	proc_set_free(&a);
	proc_set_free(&b);
	proc_set_free(&add);
	proc_set_free(&gone);
}

static const char *unified(void)
{
	return access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) ?
	       "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
}

static void move(const char *dir, pid_t pid)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, "%d\n", pid);
	assert_int_equal(fclose(f), 0);
}

/* Two children in two cgroups under <unified>/lt-scan-PID: the subtree
 * filter sees one, or both from the parent; --cgroup resolution. */
static void test_cgroup_filter(void **state)
{
	char top[256], a[300], b[300], rel[PATH_MAX], arg[PATH_MAX];
	struct scan_filter f = { .self = getpid() };
	struct proc_set s = { 0 };
	enum cg_hier h;
	pid_t c1, c2;

	snprintf(top, sizeof(top), "%s/lt-scan-%d", unified(), getpid());
	snprintf(a, sizeof(a), "%s/a", top);
	snprintf(b, sizeof(b), "%s/b", top);
	if (mkdir(top, 0755) || mkdir(a, 0755) || mkdir(b, 0755))
		fail_msg("cannot create cgroups under %s: %s", top, strerror(errno));
	c1 = sleeper();
	c2 = sleeper();
	move(a, c1);
	move(b, c2);

	/* the full path and the path relative to the hierarchy agree */
	assert_int_equal(cgroup_resolve("/sys/fs/cgroup", a, rel, sizeof(rel), &h), 0);
	assert_int_equal(h, CG_V2);
	snprintf(arg, sizeof(arg), "/lt-scan-%d/a", getpid());
	assert_string_equal(rel, arg);
	assert_int_equal(cgroup_resolve("/sys/fs/cgroup", arg, rel, sizeof(rel), &h), 0);
	assert_string_equal(rel, arg);
	assert_int_equal(h, CG_V2);

	f.cgroup = rel;
	f.hier = h;
	assert_int_equal(proc_scan("", &f, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.keys[0].pid, c1);
	snprintf(arg, sizeof(arg), "/lt-scan-%d", getpid());
	f.cgroup = arg;
	assert_int_equal(proc_scan("", &f, &s), 0);
	assert_int_equal(s.n, 2);

	/* bad --cgroup arguments */
	snprintf(arg, sizeof(arg), "/lt-scan-%d/nope", getpid());
	assert_int_equal(cgroup_resolve("/sys/fs/cgroup", arg, rel, sizeof(rel), &h), -ENOENT);
	snprintf(arg, sizeof(arg), "%s/cgroup.procs", a);
	assert_int_equal(cgroup_resolve("/sys/fs/cgroup", arg, rel, sizeof(rel), &h), -EINVAL);
	assert_int_equal(cgroup_resolve("/sys/fs/cgroup", "relative", rel, sizeof(rel), &h), -EINVAL);
	assert_int_equal(cgroup_resolve("/sys/fs/cgroup", "/tmp", rel, sizeof(rel), &h), -ENOENT);
	/* the v1 memory hierarchy of hybrid hosts */
	if (!access("/sys/fs/cgroup/memory/cgroup.procs", F_OK)) {
		assert_int_equal(cgroup_resolve("/sys/fs/cgroup", "/sys/fs/cgroup/memory",
						rel, sizeof(rel), &h), 0);
		assert_string_equal(rel, "/");
		assert_int_equal(h, CG_V1_MEMORY);
	}

	kill(c1, SIGKILL);
	kill(c2, SIGKILL);
	waitpid(c1, NULL, 0);
	waitpid(c2, NULL, 0);
	rmdir(a);
	rmdir(b);
	rmdir(top);
	proc_set_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sets),
		cmocka_unit_test(test_within),
		cmocka_unit_test(test_fixture),
		cmocka_unit_test(test_live),
		cmocka_unit_test(test_cgroup_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
