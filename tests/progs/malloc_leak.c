// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * malloc_leak: leaks small heap records from leak_record() at a steady rate.
 *
 * Records are small (default 200 bytes), so glibc serves them from the main
 * arena and grows the heap with brk. Every record is written in full and
 * linked into a list that is never freed. Alongside, churn() mallocs and frees
 * buffers of varying sizes (healthy, bounded).
 *
 * Flags (seconds are decimal):
 *   -rate N        leaked records per second (default 10000)
 *   -size N        record size in bytes (default 200)
 *   -churn-rate N  malloc/free pairs per second (default 5000)
 *   -duration S    exit 0 after S seconds (default 0: run until killed)
 *   -max-mb N      stop leaking after N MiB (default 1024)
 *
 * Prints "ready pid=<pid>" once set up.
 */
#include "progs.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct record {
	struct record *next;
	unsigned long id;
	char payload[];
};

static double opt_rate = 10000, opt_churn_rate = 5000, opt_duration;
static unsigned long opt_size = 200, opt_max_mb = 1024;

struct record *records; /* the leak: reachable forever, never freed */
unsigned long n_records;
volatile unsigned long sink;

__attribute__((noinline, noclone, used)) struct record *leak_record(unsigned long size)
{
	struct record *r = malloc(size);

	if (!r) {
		perror("malloc");
		exit(1);
	}
	r->id = n_records++;
	memset(r->payload, (int)(r->id & 0x7f), size - sizeof(*r));
	r->next = records;
	records = r;
	return r;
}

__attribute__((noinline, noclone, used)) void churn(unsigned long i)
{
	unsigned long size = 64 + (i * 2654435761UL) % 4096;
	char *p = malloc(size);

	if (!p) {
		perror("malloc");
		exit(1);
	}
	memset(p, (int)i, size);
	sink += (unsigned char)p[size / 2];
	free(p);
}

int main(int argc, char **argv)
{
	static const struct prog_flag flags[] = {
		{ "rate", &opt_rate },
		{ "size", NULL, &opt_size },
		{ "churn-rate", &opt_churn_rate },
		{ "duration", &opt_duration },
		{ "max-mb", NULL, &opt_max_mb },
		{ 0 },
	};

	prog_parse(argc, argv, flags);
	if (opt_size < sizeof(struct record) || opt_size > 64 * 1024)
		prog_usage(argv[0], flags, 2);
	unsigned long max_records = opt_max_mb * 1024 * 1024 / opt_size;

	churn(0);
	prog_ready();

	double start = prog_now();
	unsigned long n_churn = 0;
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (;;) {
		double t = prog_now() - start;

		if (opt_duration > 0 && t >= opt_duration)
			break;
		unsigned long want_leak = (unsigned long)(opt_rate * t);
		unsigned long want_churn = (unsigned long)(opt_churn_rate * t);

		if (want_leak > max_records)
			want_leak = max_records;
		while (n_records < want_leak)
			leak_record(opt_size);
		while (n_churn < want_churn)
			churn(++n_churn);
		nanosleep(&tick, NULL);
	}
	return 0;
}
