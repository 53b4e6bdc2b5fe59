// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * syscallloop: what one system call of any process on the host costs while
 * leaktrace traces something else. Syscall tracepoints (leaktrace's mmap,
 * munmap, mremap, brk and madvise programs) make the kernel take the slow
 * path of every syscall of every task, whatever the tracepoint and the
 * process: the tax is host-wide. Runs getppid() for SECS seconds and prints
 * the nanoseconds per call.
 *
 *   syscallloop SECS
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0, t0 = now(), t;
	long n = 0;

	do {
		for (int i = 0; i < 10000; i++)
			syscall(SYS_getppid);	/* not libc's cached getpid */
		n += 10000;
		t = now();
	} while (t - t0 < secs);
	printf("%.1f ns per syscall\n", (t - t0) * 1e9 / n);
	return 0;
}
