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
#include <getopt.h>
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

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

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

static void usage(const char *argv0, int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s [-rate N] [-churn-rate N] [-duration S] [-max N]\n",
		argv0);
	exit(code);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rate", required_argument, NULL, 'r' },
		{ "churn-rate", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "max", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long_only(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': opt_rate = atof(optarg); break;
		case 'c': opt_churn_rate = atof(optarg); break;
		case 'd': opt_duration = atof(optarg); break;
		case 'm': opt_max = strtoul(optarg, NULL, 0); break;
		case 'h': usage(argv[0], 0); break;
		default: usage(argv[0], 2);
		}
	}
	if (pipe(block_pipe)) {
		perror("pipe");
		return 1;
	}
	spawn_joined(0);
	printf("ready pid=%d\n", getpid());
	fflush(stdout);

	double start = now();
	unsigned long n_churn = 0;
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (;;) {
		double t = now() - start;

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
