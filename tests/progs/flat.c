// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * flat: busy but healthy. Maps, touches and unmaps chunks, and replaces heap
 * buffers in a fixed-size pool, so mapped memory, RSS and threads stay flat.
 *
 * Flags (seconds are decimal):
 *   -rate N        map/unmap cycles per second (default 50)
 *   -heap-rate N   pool replacements (free + malloc) per second (default 2000)
 *   -chunk-kb N    mmap chunk size in KiB (default 256)
 *   -duration S    exit 0 after S seconds (default 0: run until killed)
 *
 * Fills its pool before printing "ready pid=<pid>".
 */
#include "progs.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define POOL 256

static double opt_rate = 50, opt_heap_rate = 2000, opt_duration;
static unsigned long opt_chunk = 256 * 1024;
static char *pool[POOL];
volatile unsigned long sink;

__attribute__((noinline, noclone, used)) void map_cycle(unsigned long len)
{
	volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	for (unsigned long off = 0; off < len; off += PAGE)
		p[off] = 1;
	sink += p[len / 2];
	munmap((void *)p, len);
}

__attribute__((noinline, noclone, used)) void heap_replace(unsigned long i)
{
	unsigned long slot = (i * 2654435761UL) % POOL;
	/* 32 B .. 64 KiB: below glibc's mmap threshold, so all of it is brk heap */
	unsigned long size = 32 + (i * 40503UL) % (64 * 1024);

	free(pool[slot]);
	pool[slot] = malloc(size);
	if (!pool[slot]) {
		perror("malloc");
		exit(1);
	}
	memset(pool[slot], (int)i, size);
}

int main(int argc, char **argv)
{
	static const struct prog_flag flags[] = {
		{ "rate", &opt_rate },
		{ "heap-rate", &opt_heap_rate },
		{ "chunk-kb", NULL, &opt_chunk, 1024 },
		{ "duration", &opt_duration },
		{ 0 },
	};

	prog_parse(argc, argv, flags);
	if (opt_chunk == 0)
		prog_usage(argv[0], flags, 2);
	/* Reach the steady state first: every slot filled several times over. */
	for (unsigned long i = 0; i < 8 * POOL; i++)
		heap_replace(i);
	map_cycle(opt_chunk);

	prog_ready();

	double start = prog_now();
	unsigned long n_map = 0, n_heap = 8 * POOL;
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (;;) {
		double t = prog_now() - start;

		if (opt_duration > 0 && t >= opt_duration)
			break;
		unsigned long want_map = (unsigned long)(opt_rate * t);
		unsigned long want_heap = 8 * POOL + (unsigned long)(opt_heap_rate * t);

		while (n_map < want_map) {
			map_cycle(opt_chunk);
			n_map++;
		}
		while (n_heap < want_heap)
			heap_replace(n_heap++);
		nanosleep(&tick, NULL);
	}
	return 0;
}
