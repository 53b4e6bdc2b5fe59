/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for user/procstat.c on this process, a forked child and
 * kthreadd. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "proc/procstat.h"

#define MiB (1024ULL * 1024)

/* Our comm: the program's base name, cut to 15 chars as the kernel does. */
static const char *self_comm(void)
{
	static char comm[16];

	snprintf(comm, sizeof(comm), "%s", program_invocation_short_name);
	return comm;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void test_self_totals(void **state)
{
	struct proc_totals t;

	assert_int_equal(procstat_sample(getpid(), &t, true), 0);
	assert_true(t.rss > 0);
	assert_true(t.rss_anon > 0);
	assert_true(t.rss_file > 0);	/* our own text at least */
	/* the kernel computes VmRSS as exactly this sum */
	assert_int_equal(t.rss, t.rss_anon + t.rss_file + t.rss_shmem);
	assert_true(t.vm_size >= t.rss);
	assert_int_equal(t.rss % 1024, 0);
	assert_true(t.threads >= 1);
	assert_int_equal(t.threads, procstat_task_count(getpid()));
	/* without lazyfree, smaps_rollup is not read at all */
	assert_int_equal(procstat_sample(getpid(), &t, false), 0);
	assert_false(t.have_lazyfree);
	assert_int_equal(t.lazyfree, 0);
	assert_true(t.rss > 0);
}

/* Touching 64 MiB of anonymous memory shows in RssAnon (in bytes), and
 * MADV_FREE moves it to LazyFree while it stays resident. */
static void test_self_anon_and_lazyfree(void **state)
{
	const size_t len = 64 * MiB;
	struct proc_totals a, b, c;
	char *p;

	assert_int_equal(procstat_sample(getpid(), &a, true), 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	memset(p, 1, len);
	__asm__ volatile("" : : "r"(p) : "memory");
	assert_int_equal(procstat_sample(getpid(), &b, true), 0);
	/* per-cpu RSS counters may lag by a few batches */
	assert_true(b.rss_anon >= a.rss_anon + 48 * MiB);
	assert_true(b.rss >= a.rss + 48 * MiB);
	assert_true(b.vm_size >= a.vm_size + len);

	assert_int_equal(madvise(p, len, MADV_FREE), 0);
	assert_int_equal(procstat_sample(getpid(), &c, true), 0);
	if (c.have_lazyfree) {
		assert_true(c.lazyfree >= b.lazyfree + 32 * MiB);
		assert_true(c.lazyfree <= c.rss_anon);
	} else {
		print_message("no smaps_rollup: LazyFree not checked\n");
	}
	munmap(p, len);
}

static void *park(void *arg)
{
	char ch;

	/* returns when the write end closes */
	while (read(*(int *)arg, &ch, 1) > 0)
		;
	return NULL;
}

static void test_self_threads(void **state)
{
	struct proc_totals before, during, after;
	pthread_t th[3];
	int fds[2], i;

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(procstat_sample(getpid(), &before, true), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&th[i], NULL, park, &fds[0]),
				 0);
	assert_int_equal(procstat_sample(getpid(), &during, true), 0);
	assert_int_equal(during.threads, before.threads + 3);
	assert_int_equal(procstat_task_count(getpid()), during.threads);
	close(fds[1]);
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	close(fds[0]);
	assert_int_equal(procstat_sample(getpid(), &after, true), 0);
	assert_int_equal(after.threads, before.threads);
}

/* comm may hold spaces and ')': stat must be parsed from the last ')'. */
static void test_self_comm_and_stat_parsing(void **state)
{
	char saved[16], buf[64];
	uint64_t sb, cb;

	assert_int_equal(procstat_comm(getpid(), saved, sizeof(saved)), 0);
	assert_string_equal(saved, self_comm());
	assert_int_equal(procstat_comm(getpid(), buf, 3), 0);
	assert_int_equal(strlen(buf), 2);
	assert_memory_equal(buf, saved, 2);
	assert_int_equal(procstat_comm(getpid(), buf, 0), -EINVAL);

	assert_int_equal(prctl(PR_SET_NAME, "x) Z 1 2 (9) Z"), 0);
	assert_int_equal(procstat_comm(getpid(), buf, sizeof(buf)), 0);
	assert_string_equal(buf, "x) Z 1 2 (9) Z");
	assert_false(procstat_is_kernel_thread(getpid()));
	assert_false(procstat_is_zombie_or_gone(getpid()));
	assert_int_equal(procstat_start_brk(getpid(), &sb, &cb), 0);
	assert_true(sb > 0);
	assert_int_equal(prctl(PR_SET_NAME, saved), 0);
}

static void test_self_exe(void **state)
{
	char buf[PATH_MAX], *real;

	assert_int_equal(procstat_exe(getpid(), buf, sizeof(buf)), 0);
	real = realpath("/proc/self/exe", NULL);
	assert_non_null(real);
	assert_string_equal(buf, real);
	assert_non_null(strstr(buf, program_invocation_short_name));
	free(real);
	assert_int_equal(procstat_exe(getpid(), buf, 4), -ENAMETOOLONG);
	assert_int_equal(procstat_exe(getpid(), buf, 0), -EINVAL);
}

/* Start of our [heap] mapping, read independently of procstat. */
static uint64_t heap_start(void)
{
	char line[512];
	uint64_t lo = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[heap]")) {
			lo = strtoull(line, NULL, 16);
			break;
		}
	fclose(f);
	return lo;
}

extern char end[];	/* linker: first address past our bss */

static void test_self_brk(void **state)
{
	uint64_t sb, cb, sb2, cb2;
	void *top;

	assert_int_equal(procstat_start_brk(getpid(), &sb, &cb), 0);
	assert_true(sb >= (uint64_t)(uintptr_t)end);
	assert_true(cb >= sb);
	top = sbrk(0);
	assert_true((uint64_t)(uintptr_t)top >= sb);

	/* grow the break by 1 MiB; glibc malloc copes with foreign sbrk */
	assert_true(sbrk(MiB) != (void *)-1);
	assert_int_equal(procstat_start_brk(getpid(), &sb2, &cb2), 0);
	assert_int_equal(sb2, sb);
	/* the brk area begins at start_brk */
	assert_int_equal(heap_start(), sb);
	/* the [heap] end is the break rounded up to a page */
	assert_true(cb2 >= (uint64_t)(uintptr_t)top + MiB);
	assert_true(cb2 < (uint64_t)(uintptr_t)top + MiB + 65536);
	assert_true(sbrk(-(intptr_t)MiB) != (void *)-1);
}

static void test_kernel_thread(void **state)
{
	struct proc_totals t;
	char comm[32];
	int err;

	assert_false(procstat_is_kernel_thread(getpid()));
	if (procstat_comm(2, comm, sizeof(comm)) || strcmp(comm, "kthreadd")) {
		skip();		/* pid namespace: no kthreadd */
		return;
	}
	assert_true(procstat_is_kernel_thread(2));
	assert_false(procstat_is_zombie_or_gone(2));
	assert_int_equal(procstat_sample(2, &t, true), 0);
	assert_int_equal(t.rss, 0);
	assert_int_equal(t.threads, 1);
	/* no exe; without ptrace rights on it the kernel says EACCES first */
	err = procstat_exe(2, comm, sizeof(comm));
	assert_true(err == -ENOENT || err == -EACCES);
}

static void test_bad_pids(void **state)
{
	struct proc_totals t;
	char buf[32];
	uint64_t a, b;

	assert_int_equal(procstat_sample(0, &t, true), -EINVAL);
	assert_int_equal(procstat_sample(-5, &t, true), -EINVAL);
	assert_int_equal(procstat_task_count(-1), -EINVAL);
	/* above any pid_max (at most 2^22) */
	assert_int_equal(procstat_sample(INT_MAX, &t, true), -ESRCH);
	assert_int_equal(procstat_comm(INT_MAX, buf, sizeof(buf)), -ESRCH);
	assert_int_equal(procstat_exe(INT_MAX, buf, sizeof(buf)), -ESRCH);
	assert_int_equal(procstat_task_count(INT_MAX), -ESRCH);
	assert_int_equal(procstat_start_brk(INT_MAX, &a, &b), -ESRCH);
	assert_true(procstat_is_zombie_or_gone(INT_MAX));
	assert_false(procstat_is_kernel_thread(INT_MAX));
}

/* A forked child holding 32 MiB: sampled alive, as a zombie, and gone. */
static void test_child_lifecycle(void **state)
{
	uint64_t psb, pcb, sb, cb;
	struct proc_totals t;
	int go[2], ready[2], status, i;
	char comm[32], ch = 0;
	pid_t pid;

	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *p = malloc(32 * MiB);

		close(go[1]);
		close(ready[0]);
		if (!p)
			_exit(1);
		memset(p, 7, 32 * MiB);
		/* keep the compiler from dropping the stores */
		__asm__ volatile("" : : "r"(p) : "memory");
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		/* wait for the parent to close its end */
		while (read(go[0], &ch, 1) > 0)
			;
		_exit(p[12345] == 7 ? 0 : 1);
	}
	close(go[0]);
	close(ready[1]);
	assert_int_equal(read(ready[0], &ch, 1), 1);
	close(ready[0]);

	assert_int_equal(procstat_sample(pid, &t, true), 0);
	assert_true(t.rss_anon >= 24 * MiB);
	assert_int_equal(t.threads, 1);
	assert_int_equal(procstat_task_count(pid), 1);
	assert_int_equal(procstat_comm(pid, comm, sizeof(comm)), 0);
	assert_string_equal(comm, self_comm());
	assert_false(procstat_is_kernel_thread(pid));
	assert_false(procstat_is_zombie_or_gone(pid));
	/* fork copies the address space: same brk start as ours */
	assert_int_equal(procstat_start_brk(pid, &sb, &cb), 0);
	assert_int_equal(procstat_start_brk(getpid(), &psb, &pcb), 0);
	assert_int_equal(sb, psb);

	/* let it exit, but do not reap it yet: a zombie */
	close(go[1]);
	for (i = 0; i < 500 && !procstat_is_zombie_or_gone(pid); i++)
		sleep_ms(10);
	assert_true(procstat_is_zombie_or_gone(pid));
	assert_int_equal(procstat_sample(pid, &t, true), 0);
	assert_int_equal(t.rss, 0);		/* its mm is gone */
	assert_int_equal(procstat_exe(pid, comm, sizeof(comm)), -ENOENT);

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(procstat_is_zombie_or_gone(pid));
	assert_int_equal(procstat_sample(pid, &t, true), -ESRCH);
	assert_int_equal(procstat_comm(pid, comm, sizeof(comm)), -ESRCH);
	assert_int_equal(procstat_exe(pid, comm, sizeof(comm)), -ESRCH);
	assert_int_equal(procstat_task_count(pid), -ESRCH);
	assert_int_equal(procstat_start_brk(pid, &sb, &cb), -ESRCH);
	assert_false(procstat_is_kernel_thread(pid));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self_totals),
		cmocka_unit_test(test_self_anon_and_lazyfree),
		cmocka_unit_test(test_self_threads),
		cmocka_unit_test(test_self_comm_and_stat_parsing),
		cmocka_unit_test(test_self_exe),
		cmocka_unit_test(test_self_brk),
		cmocka_unit_test(test_kernel_thread),
		cmocka_unit_test(test_bad_pids),
		cmocka_unit_test(test_child_lifecycle),
	};

	/* a child that exits early must not kill us through a pipe */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
