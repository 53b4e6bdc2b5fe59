// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* mmapmix: mmap/munmap at a steady rate from a few distinct call sites, for
 * measuring stack copies and CFI unwinding (issue 5). Build it the way
 * Debian builds C, without frame pointers:
 *     gcc -O2 -o mmapmix tests/bench/mmapmix.c
 *     leaktrace -d 60 --format json -o r.json -- ./mmapmix -r 40000 -d 6
 * Pages are not touched: only the syscall path is measured.
 *   -r RATE   mmap calls per second (0: as fast as it goes)
 *   -s SITES  distinct call sites (1..8, default 4)
 *   -d SECS   run time (default 10)
 *   -k KB     stack padding (KiB) between main and the call sites
 *   -l N      1 mapping in N is kept (a ring of -n, the oldest unmapped);
 *             the others are unmapped at once (default 4)
 *   -z KB     largest mapping in KiB (default 1024; sizes from 64 KiB up)
 *   -n N      kept ring size (default 16384)
 *   -b        sbrk(+len) then sbrk(-len) instead of mmap
 * Prints "ready pid=N" first and "mmapmix: N calls in S s = R/s" at the end
 * (stderr). UCB_WAIT / UCB_TAIL: seconds to sleep before / after the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <alloca.h>

static double opt_rate = 1000, opt_dur = 10;
static int opt_sites = 4, opt_kb = 0, opt_leak = 4, opt_brk, opt_maxkb = 1024;
static unsigned long rng = 88172645463325252ULL;
static unsigned long RING = 16384;
static void **ring_p;
static size_t *ring_l;
static unsigned long ring_i;
volatile unsigned long sink;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long xr(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

__attribute__((noinline)) static void do_map(size_t len, int leak)
{
	if (opt_brk) {
		void *p = sbrk(len);
		if (p == (void *)-1) {
			perror("sbrk");
			exit(1);
		}
		sink += (unsigned long)p;
		sbrk(-(long)len);
		return;
	}
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	if (leak) {
		unsigned long i = ring_i++ % RING;
		if (ring_p[i])
			munmap(ring_p[i], ring_l[i]);
		ring_p[i] = p;
		ring_l[i] = len;
	} else {
		munmap(p, len);
	}
}

#define SITE(n)                                                          \
	__attribute__((noinline)) static void mid##n(size_t len, int leak) \
	{ do_map(len + n * 0, leak); sink++; }                           \
	__attribute__((noinline)) static void site##n(size_t len, int leak) \
	{ mid##n(len, leak); sink++; }
SITE(0) SITE(1) SITE(2) SITE(3) SITE(4) SITE(5) SITE(6) SITE(7)
static void (*const sites[8])(size_t, int) = {
	site0, site1, site2, site3, site4, site5, site6, site7 };

__attribute__((noinline)) static unsigned long loop(void)
{
	double t0 = now(), t;
	unsigned long done = 0;

	while ((t = now()) - t0 < opt_dur) {
		unsigned long due = opt_rate > 0 ? (unsigned long)((t - t0) * opt_rate)
						 : done + 64;
		if (done >= due) {
			usleep(500);
			continue;
		}
		while (done < due) {
			size_t len = (16 + xr() % (opt_maxkb / 4 - 15)) << 12; /* 64 KiB .. maxkb */
			int s = xr() % opt_sites;
			sites[s](len, opt_leak && xr() % opt_leak == 0);
			done++;
		}
	}
	t = now() - t0;
	fprintf(stderr, "mmapmix: %lu calls in %.2f s = %.0f/s\n", done, t, done / t);
	return done;
}

__attribute__((noinline)) static unsigned long padded(void)
{
	if (opt_kb) {
		volatile char *pad = alloca(opt_kb << 10);
		memset((char *)pad, 1, opt_kb << 10);
		sink += pad[0];
	}
	return loop();
}

int main(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "r:s:d:k:l:bz:n:")) != -1) {
		switch (c) {
		case 'r': opt_rate = atof(optarg); break;
		case 's': opt_sites = atoi(optarg); break;
		case 'd': opt_dur = atof(optarg); break;
		case 'k': opt_kb = atoi(optarg); break;
		case 'l': opt_leak = atoi(optarg); break;
		case 'b': opt_brk = 1; break;
		case 'n': RING = strtoul(optarg, 0, 0); break;
		case 'z': opt_maxkb = atoi(optarg); break;
		default: return 2;
		}
	}
	ring_p = calloc(RING, sizeof(*ring_p));
	ring_l = calloc(RING, sizeof(*ring_l));
	if (opt_sites < 1 || opt_sites > 8)
		opt_sites = 4;
	if (opt_maxkb < 64)
		opt_maxkb = 64;
	fprintf(stderr, "ready pid=%d\n", getpid());
	if (getenv("UCB_WAIT"))
		sleep(atoi(getenv("UCB_WAIT")));
	padded();
	if (getenv("UCB_TAIL"))
		sleep(atoi(getenv("UCB_TAIL")));
	return 0;
}
