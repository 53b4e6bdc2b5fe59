// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Touches fresh anonymous pages at a target rate (0: as fast as it can):
 * maps 64 MiB regions, writes one byte per page, unmaps each region after
 * touching it so memory stays bounded. Prints the achieved rate.
 * Usage: pagetouch PAGES_PER_SEC SECONDS */
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

int main(int argc, char **argv)
{
	double rate = argc > 1 ? atof(argv[1]) : 0, secs = argc > 2 ? atof(argv[2]) : 5;
	double start = now(), t;
	unsigned long pages = 0;

	printf("ready pid=%d\n", getpid());
	fflush(stdout);
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
