// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mallocloop: what one allocator call costs a program under leaktrace's
 * probes. Waits for a line on stdin (the tracer is attached by then), then
 * runs N malloc+free pairs and prints the nanoseconds per pair. Run it
 * untraced and traced with --malloc-budget 100 (probes on throughout): the
 * difference is the in-target cost of one allocation hit plus one free hit.
 *
 *   mallocloop [N]   (default 200000)
 */
#include <stdio.h>
#include <stdlib.h>
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

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	char line[16];
	double t;

	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	t = now();
	for (long i = 0; i < n; i++) {
		char *p = get(32 + (i & 255));

		p[0] = (char)i;
		sink += (unsigned char)p[0];
		free(p);
	}
	t = now() - t;
	printf("%.1f ns per malloc+free\n", t / n * 1e9);
	return 0;
}
