/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the C and C++ test programs share: -name VALUE flags from a table,
 * the monotonic clock, and the "ready pid=N" line the tests wait for.
 * Header-only, for programs of one file.
 */
#ifndef LT_TEST_PROGS_H
#define LT_TEST_PROGS_H
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One flag: -name VALUE, a double or an unsigned long times scale. */
struct prog_flag {
	const char *name;
	double *d;		/* set for a decimal flag */
	unsigned long *u;	/* set for an integer flag */
	unsigned long scale;	/* integer flags: multiplier (0 = 1) */
};

#define PROG_MAX_FLAGS 16

static inline double prog_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void prog_usage(const char *argv0, const struct prog_flag *f,
			      int code)
{
	FILE *out = code ? stderr : stdout;

	fprintf(out, "usage: %s", argv0);
	for (; f->name; f++)
		fprintf(out, " [-%s N]", f->name);
	fprintf(out, "\n");
	exit(code);
}

/* Parses argv against flags (ended by a zeroed entry); -help prints the
 * usage and exits 0, anything else unknown exits 2. */
static inline void prog_parse(int argc, char **argv, const struct prog_flag *flags)
{
	struct option opts[PROG_MAX_FLAGS + 2];
	int n = 0, c, idx;

	memset(opts, 0, sizeof(opts));
	for (; flags[n].name && n < PROG_MAX_FLAGS; n++) {
		opts[n].name = flags[n].name;
		opts[n].has_arg = required_argument;
		opts[n].val = 1;
	}
	opts[n].name = "help";
	opts[n].val = 'h';
	while ((c = getopt_long_only(argc, argv, "", opts, &idx)) != -1) {
		if (c == 'h')
			prog_usage(argv[0], flags, 0);
		if (c != 1)
			prog_usage(argv[0], flags, 2);
		if (flags[idx].d)
			*flags[idx].d = atof(optarg);
		else
			*flags[idx].u = strtoul(optarg, NULL, 0) *
					(flags[idx].scale ? flags[idx].scale : 1);
	}
}

/* Tells the test harness we are set up. */
static inline void prog_ready(void)
{
	printf("ready pid=%d\n", getpid());
	fflush(stdout);
}
#endif
