// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mmap_leak: leaks anonymous mappings from leak_chunk() at a steady rate.
 *
 *   leak_chunk()  mmaps a chunk, touches every page, never unmaps it (leak)
 *   churn_chunk() mmaps a chunk, touches every page, unmaps it (healthy)
 *
 * Both touch their pages themselves, so a page fault's innermost frame is
 * leak_chunk / churn_chunk even when no unwinder gets past libc.
 *
 * Flags (seconds are decimal):
 *   -rate N        leaked chunks per second (default 10)
 *   -churn-rate N  mapped-touched-unmapped chunks per second (default 20)
 *   -chunk-kb N    chunk size in KiB (default 1024)
 *   -duration S    exit 0 after S seconds (default 0: run until killed)
 *   -max N         stop leaking after N chunks (default 100000)
 *   -exec-after S  after S seconds, exec the arguments after the flags
 *                  (mmap_leak -exec-after 2 -- PROG ARGS): the exec tests
 *   -exec-on-usr1 1  exec them at the first SIGUSR1 instead (a test sends
 *                  it once its tracer is attached)
 *
 * Prints "ready pid=<pid>" once set up.
 */
#include "progs.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL

static double opt_rate = 10, opt_churn_rate = 20, opt_duration, opt_exec_after;
static double opt_exec_usr1;
static volatile sig_atomic_t got_usr1;
static unsigned long opt_chunk = 1024 * 1024, opt_max = 100000;

/* Kept so the leaked chunks stay reachable, like a real leak's owner. */
void **leaked;
unsigned long n_leaked;

__attribute__((noinline, noclone, used)) void *leak_chunk(unsigned long len)
{
	volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	/* Written out here (not via touch()) so the faulting IP is ours. */
	for (unsigned long off = 0; off < len; off += PAGE)
		p[off] = (char)(off >> 12);
	leaked[n_leaked++] = (void *)p;
	return (void *)p;
}

__attribute__((noinline, noclone, used)) void churn_chunk(unsigned long len)
{
	volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	for (unsigned long off = 0; off < len; off += PAGE)
		p[off] = (char)(off >> 12);
	if (munmap((void *)p, len)) {
		perror("munmap");
		exit(1);
	}
}

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

int main(int argc, char **argv)
{
	static const struct prog_flag flags[] = {
		{ "rate", &opt_rate },
		{ "churn-rate", &opt_churn_rate },
		{ "chunk-kb", NULL, &opt_chunk, 1024 },
		{ "duration", &opt_duration },
		{ "max", NULL, &opt_max },
		{ "exec-after", &opt_exec_after },
		{ "exec-on-usr1", &opt_exec_usr1 },
		{ 0 },
	};

	prog_parse(argc, argv, flags);
	if (opt_chunk == 0 || opt_rate < 0 || opt_churn_rate < 0 ||
	    ((opt_exec_after > 0 || opt_exec_usr1 > 0) && optind >= argc))
		prog_usage(argv[0], flags, 2);
	if (opt_exec_usr1 > 0)
		signal(SIGUSR1, on_usr1);
	leaked = calloc(opt_max + 1, sizeof(*leaked));
	if (!leaked) {
		perror("calloc");
		return 1;
	}
	/* Warm up the code paths and libc once before announcing readiness. */
	churn_chunk(opt_chunk);

	prog_ready();

	double start = prog_now();
	unsigned long n_churn = 0;
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (;;) {
		double t = prog_now() - start;

		if (opt_duration > 0 && t >= opt_duration)
			break;
		if ((opt_exec_after > 0 && t >= opt_exec_after) || got_usr1) {
			execv(argv[optind], argv + optind);
			perror("execv");
			return 1;
		}
		unsigned long want_leak = (unsigned long)(opt_rate * t);
		unsigned long want_churn = (unsigned long)(opt_churn_rate * t);

		if (want_leak > opt_max)
			want_leak = opt_max;
		while (n_leaked < want_leak)
			leak_chunk(opt_chunk);
		while (n_churn < want_churn) {
			churn_chunk(opt_chunk);
			n_churn++;
		}
		nanosleep(&tick, NULL);
	}
	return 0;
}
