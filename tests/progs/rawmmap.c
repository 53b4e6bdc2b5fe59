// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rawmmap: leaks anonymous mappings from raw_leak() at a steady rate, made
 * by a system call that is not the C library's mmap wrapper, as some
 * runtimes and libraries do:
 *
 *   -via 0  mmap() (the C library's wrapper)
 *   -via 1  syscall(SYS_mmap, ...) (libc's generic syscall(): the number
 *           is not in the code, no scan can find it)
 *   -via 2  its own `mov $9, %eax; syscall` (x86-64 inline assembly)
 *
 * Flags: -rate N chunks a second (10), -chunk-kb N (256), -duration S
 * (0: until killed), -delay S (maps nothing for S seconds first),
 * -wait-usr1 1 (maps nothing until a SIGUSR1: a test starts the load once
 * the tracer is set up, however long that took).
 * Prints "ready pid=<pid>" once set up.
 */
#include "progs.h"
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define PAGE 4096UL

static double opt_rate = 10, opt_duration, opt_via, opt_delay, opt_wait_usr1;
static volatile sig_atomic_t usr1;
static unsigned long opt_chunk = 256 * 1024;

void **leaked;
unsigned long n_leaked;

static void *sys_mmap(unsigned long len)
{
#if defined(__x86_64__)
	if (opt_via == 2) {
		register long r10 __asm__("r10") = MAP_PRIVATE | MAP_ANONYMOUS;
		register long r8 __asm__("r8") = -1;
		register long r9 __asm__("r9") = 0;
		long ret;

		__asm__ volatile("mov $9, %%eax\n\tsyscall"
				 : "=a"(ret)
				 : "D"(0L), "S"(len), "d"((long)(PROT_READ | PROT_WRITE)),
				   "r"(r10), "r"(r8), "r"(r9)
				 : "rcx", "r11", "memory");
		return ret < 0 && ret > -4096 ? MAP_FAILED : (void *)ret;
	}
#endif
	if (opt_via == 1)
		return (void *)syscall(SYS_mmap, 0L, len, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1L, 0L);
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
}

__attribute__((noinline, noclone, used)) void *raw_leak(unsigned long len)
{
	volatile char *p = sys_mmap(len);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	for (unsigned long off = 0; off < len; off += PAGE)
		p[off] = (char)(off >> 12);
	leaked[n_leaked++] = (void *)p;
	return (void *)p;
}

static void on_usr1(int sig)
{
	(void)sig;
	usr1 = 1;
}

int main(int argc, char **argv)
{
	static const struct prog_flag flags[] = {
		{ "rate", &opt_rate },
		{ "chunk-kb", NULL, &opt_chunk, 1024 },
		{ "duration", &opt_duration },
		{ "via", &opt_via },
		{ "delay", &opt_delay },
		{ "wait-usr1", &opt_wait_usr1 },
		{ 0 },
	};
	unsigned long max;

	prog_parse(argc, argv, flags);
	if (opt_chunk == 0 || opt_rate <= 0 || opt_via < 0 || opt_via > 2)
		prog_usage(argv[0], flags, 2);
	max = (unsigned long)(opt_rate * (opt_duration > 0 ? opt_duration : 3600)) + 1;
	leaked = calloc(max + 1, sizeof(*leaked));
	if (!leaked) {
		perror("calloc");
		return 1;
	}
	if (opt_wait_usr1)
		signal(SIGUSR1, on_usr1);
	prog_ready();

	struct timespec tick = { 0, 10 * 1000 * 1000 };

	while (opt_wait_usr1 && !usr1)
		nanosleep(&tick, NULL);

	double start = prog_now() + opt_delay;

	for (;;) {
		double t = prog_now() - start;

		if (opt_duration > 0 && t + opt_delay >= opt_duration)
			break;
		unsigned long want = t > 0 ? (unsigned long)(opt_rate * t) : 0;

		if (want > max)
			want = max;
		while (n_leaked < want)
			raw_leak(opt_chunk);
		nanosleep(&tick, NULL);
	}
	return 0;
}
