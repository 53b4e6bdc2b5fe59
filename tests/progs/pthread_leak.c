// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pthread_leak: leaks OS threads from spawn_worker() at a steady rate.
 *
 *   spawn_worker() creates a detached thread that blocks forever reading a
 *                  pipe nobody writes to (leak)
 *   spawn_joined() creates a thread that exits at once and joins it (healthy)
 *
 * Flags (seconds are decimal):
 *   -rate N        leaked threads per second (default 5)
 *   -churn-rate N  created-and-joined threads per second (default 5)
 *   -duration S    exit 0 after S seconds (default 0: run until killed)
 *   -max N         stop leaking after N threads (default 2000)
 *
 * Prints "ready pid=<pid>" once set up.
 */
#include "progs.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double opt_rate = 5, opt_churn_rate = 5, opt_duration;
static unsigned long opt_max = 2000;
static int block_pipe[2]; /* write end stays open and silent: reads block */

unsigned long n_workers;
volatile unsigned long sink;

static void die(const char *what, int err)
{
	fprintf(stderr, "%s: %s\n", what, strerror(err));
	exit(1);
}

__attribute__((noinline, noclone, used)) void *worker_block(void *arg)
{
	char c;

	for (;;) {
		if (read(block_pipe[0], &c, 1) <= 0)
			pause();
	}
	return arg;
}

__attribute__((noinline, noclone, used)) void *worker_quick(void *arg)
{
	sink += (unsigned long)arg;
	return NULL;
}

__attribute__((noinline, noclone, used)) void spawn_worker(void)
{
	pthread_attr_t attr;
	pthread_t tid;
	int err;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&tid, &attr, worker_block, NULL);
	if (err)
		die("pthread_create", err);
	pthread_attr_destroy(&attr);
	n_workers++;
}

__attribute__((noinline, noclone, used)) void spawn_joined(unsigned long i)
{
	pthread_t tid;
	int err;

	err = pthread_create(&tid, NULL, worker_quick, (void *)i);
	if (err)
		die("pthread_create", err);
	err = pthread_join(tid, NULL);
	if (err)
		die("pthread_join", err);
}

int main(int argc, char **argv)
{
	static const struct prog_flag flags[] = {
		{ "rate", &opt_rate },
		{ "churn-rate", &opt_churn_rate },
		{ "duration", &opt_duration },
		{ "max", NULL, &opt_max },
		{ 0 },
	};

	prog_parse(argc, argv, flags);
	if (pipe(block_pipe)) {
		perror("pipe");
		return 1;
	}
	spawn_joined(0);
	prog_ready();

	double start = prog_now();
	unsigned long n_churn = 0;
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (;;) {
		double t = prog_now() - start;

		if (opt_duration > 0 && t >= opt_duration)
			break;
		unsigned long want = (unsigned long)(opt_rate * t);
		unsigned long want_churn = (unsigned long)(opt_churn_rate * t);

		if (want > opt_max)
			want = opt_max;
		while (n_workers < want)
			spawn_worker();
		while (n_churn < want_churn)
			spawn_joined(++n_churn);
		nanosleep(&tick, NULL);
	}
	return 0;
}
