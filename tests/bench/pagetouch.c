// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Touches fresh anonymous pages at a target rate (0: as fast as it can):
 * maps 64 MiB regions, writes one byte per page, unmaps each region after
 * touching it so memory stays bounded. Prints the achieved rate.
 * Usage: pagetouch PAGES_PER_SEC SECONDS [WAIT]
 *        pagetouch churn SECONDS [WAIT]  (mmap+touch one page+munmap of
 *                                         64 KiB as fast as it can)
 * WAIT: seconds to sleep after the ready line (time to attach a tracer). */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define REGION (64UL << 20)
#define PAGE 4096UL

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void ready(double wait)
{
	printf("ready pid=%d\n", getpid());
	fflush(stdout);
	if (wait > 0)
		usleep((useconds_t)(wait * 1e6));
}

static int churn(double secs, double wait)
{
	double start;
	unsigned long ops = 0;

	ready(wait);
	start = now();
	while (now() - start < secs) {
		for (int i = 0; i < 100; i++) {
			char *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED)
				return 1;
			p[0] = 1;
			munmap(p, 65536);
		}
		ops += 100;
	}
	printf("ops=%lu seconds=%.2f rate=%.0f/s\n", ops, now() - start,
	       ops / (now() - start));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "churn"))
		return churn(atof(argv[2]), argc > 3 ? atof(argv[3]) : 0);

	double rate = argc > 1 ? atof(argv[1]) : 0, secs = argc > 2 ? atof(argv[2]) : 5;
	double start, t;
	unsigned long pages = 0;

	ready(argc > 3 ? atof(argv[3]) : 0);
	start = now();
	while ((t = now() - start) < secs) {
		char *p = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return 1;
		for (unsigned long off = 0; off < REGION; off += PAGE) {
			p[off] = 1;
			pages++;
			if (rate > 0 && (pages & 255) == 0)
				while ((double)pages / rate > now() - start)
					usleep(200);
		}
		munmap(p, REGION);
	}
	printf("pages=%lu seconds=%.2f rate=%.0f/s\n", pages, now() - start,
	       pages / (now() - start));
	return 0;
}
