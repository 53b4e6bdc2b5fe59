// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mallocloop: what one allocator call costs a program under leaktrace's
 * probes. Waits for a line on stdin (the tracer is attached by then), then
 * runs N malloc+free pairs (or pairs for SECS seconds) and prints the
 * nanoseconds per pair. Run it untraced and traced with --malloc-budget
 * 100 (probes on throughout): the difference is the in-target cost of one
 * allocation hit plus one free hit. With the defaults, run it for seconds:
 * a short loop falls inside the probes' first window.
 *
 *   mallocloop [N]      (default 200000)
 *   mallocloop -t SECS  (pairs for at least SECS seconds)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

volatile unsigned long sink;

__attribute__((noinline)) static void *get(size_t n)
{
	return malloc(n);
}

static void pairs(long n, long from)
{
	for (long i = from; i < from + n; i++) {
		char *p = get(32 + (i & 255));

		p[0] = (char)i;
		sink += (unsigned char)p[0];
		free(p);
	}
}

int main(int argc, char **argv)
{
	bool timed = argc > 2 && !strcmp(argv[1], "-t");
	double secs = timed ? atof(argv[2]) : 0, t;
	long n = !timed && argc > 1 ? atol(argv[1]) : 200000, done = 0;
	char line[16];

	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	t = now();
	if (timed) {
		/* chunks of 1M pairs (~6 ms untraced) until secs have passed */
		do {
			pairs(1000000, done);
			done += 1000000;
		} while (now() - t < secs);
	} else {
		pairs(n, 0);
		done = n;
	}
	t = now() - t;
	printf("%.1f ns per malloc+free (%ld pairs in %.2f s)\n", t / done * 1e9, done, t);
	return 0;
}
