// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mainexit: the main thread calls pthread_exit while a worker runs on and
 * leaks anonymous mappings from leak_chunk() (the process lives: its
 * leader is a zombie, its memory and its worker are not).
 *
 * Flags (seconds are decimal):
 *   -rate N        leaked chunks per second (default 10)
 *   -chunk-kb N    chunk size in KiB (default 1024)
 *   -duration S    exit 0 after S seconds (default 0: run until killed)
 *
 * Prints "ready pid=<pid>" once the main thread has exited.
 */
#include "progs.h"
#include <pthread.h>
#include <sys/mman.h>

#define PAGE 4096UL

static double opt_rate = 10, opt_duration;
static unsigned long opt_chunk = 1024 * 1024;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int main_gone;

void **leaked;
unsigned long n_leaked;

__attribute__((noinline, noclone, used)) void *leak_chunk(unsigned long len)
{
	volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	for (unsigned long off = 0; off < len; off += PAGE)
		p[off] = 1;
	return (void *)p;
}

static void *worker(void *arg)
{
	double start, next;
	char path[64];

	/* Wait until the main thread is a zombie, then say ready. */
	pthread_mutex_lock(&lock);
	while (!main_gone)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", getpid(), getpid());
	for (int i = 0; i < 1000; i++) {
		char buf[512] = "";
		FILE *f = fopen(path, "r");
		char *rp;

		if (!f)
			break;
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
		rp = strrchr(buf, ')');
		if (rp && rp[1] == ' ' && rp[2] == 'Z')
			break;
		usleep(1000);
	}
	printf("ready pid=%d\n", getpid());
	fflush(stdout);
	start = next = prog_now();
	leaked = calloc(100000, sizeof(*leaked));
	for (;;) {
		double now = prog_now();

		if (opt_duration && now - start >= opt_duration)
			exit(0);
		if (now >= next) {
			void *p = leak_chunk(opt_chunk);

			if (p && n_leaked < 100000)
				leaked[n_leaked++] = p;
			next += 1.0 / opt_rate;
		}
		usleep(1000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const struct prog_flag flags[] = {
		{ "rate", &opt_rate, NULL, 0 },
		{ "chunk-kb", NULL, &opt_chunk, 1024 },
		{ "duration", &opt_duration, NULL, 0 },
		{ 0 },
	};
	pthread_t t;

	prog_parse(argc, argv, flags);
	if (pthread_create(&t, NULL, worker, NULL))
		return 1;
	pthread_mutex_lock(&lock);
	main_gone = 1;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	pthread_exit(NULL);
}
