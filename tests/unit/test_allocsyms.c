// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Allocator discovery (sym/allocsyms.h) on real processes: this test
 * itself (glibc's malloc in libc.so.6) and, when Debian's redis-server is
 * installed, a redis-server started here (jemalloc in libjemalloc.so.2). The
 * offsets found must be those of the functions the process really calls:
 * checked against dladdr/the mapping of the symbol in this process. */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "sym/allocsyms.h"

/* File offset of addr in this process, from /proc/self/maps. */
static uint64_t self_off(uintptr_t addr)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4608];
	uint64_t off = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		uint64_t lo, hi, pg;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %" SCNx64, &lo, &hi, &pg) == 3 &&
		    addr >= lo && addr < hi) {
			off = addr - lo + pg;
			break;
		}
	}
	fclose(f);
	return off;
}

static const struct alloc_probe *probe_of(const struct alloc_found *a, const char *sym)
{
	for (int i = 0; i < a->n; i++)
		if (!strcmp(a->probes[i].sym, sym))
			return &a->probes[i];
	return NULL;
}

static void test_self_is_glibc(void **state)
{
	struct alloc_found a;
	const struct alloc_probe *p;
	void *m = dlsym(RTLD_DEFAULT, "malloc"), *fr = dlsym(RTLD_DEFAULT, "free");

	assert_int_equal(alloc_find(getpid(), &a), 0);
	assert_string_equal(a.name, "glibc");
	assert_non_null(strstr(a.module, "libc.so"));
	assert_string_equal(a.prefixed, "");
	p = probe_of(&a, "malloc");
	assert_non_null(p);
	assert_int_equal(p->fn, LT_MF_MALLOC);
	assert_int_equal(p->offset, self_off((uintptr_t)m));
	p = probe_of(&a, "free");
	assert_non_null(p);
	assert_int_equal(p->fn, LT_MF_FREE);
	assert_int_equal(p->offset, self_off((uintptr_t)fr));
	assert_non_null(probe_of(&a, "calloc"));
	assert_non_null(probe_of(&a, "realloc"));
	assert_non_null(probe_of(&a, "posix_memalign"));
	/* glibc's memalign and aligned_alloc are one function: probed once */
	assert_true(!probe_of(&a, "memalign") != !probe_of(&a, "aligned_alloc"));
	/* libstdc++'s operator new reaches malloc: not probed */
	assert_null(probe_of(&a, "_Znwm"));
	for (int i = 0; i < a.n; i++)
		for (int k = 0; k < i; k++)
			assert_false(a.probes[i].offset == a.probes[k].offset &&
				     !strcmp(a.probes[i].path, a.probes[k].path));
}

static void test_redis_is_jemalloc(void **state)
{
	const char *redis = "/usr/bin/redis-server";
	struct alloc_found a;
	int err = -1;
	pid_t pid;

	if (access(redis, X_OK)) {
		skip();	/* scripts/setup.sh installs it; e2e tests need it */
		return;
	}
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		char sock[64];

		/* no TCP port: a unix socket of its own */
		snprintf(sock, sizeof(sock), "/tmp/lt-allocsyms-%d.sock", getpid());
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		execl(redis, redis, "--port", "0", "--unixsocket", sock, "--save", "",
		      "--appendonly", "no", "--dir", "/tmp", "--loglevel", "warning",
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && err; i++) {
		usleep(50000);
		err = alloc_find(pid, &a);
		if (!err && !strcmp(a.name, "glibc"))
			err = -EAGAIN;	/* libjemalloc not mapped yet */
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	{
		char sock[64];

		snprintf(sock, sizeof(sock), "/tmp/lt-allocsyms-%d.sock", pid);
		unlink(sock);
	}
	assert_int_equal(err, 0);
	assert_string_equal(a.name, "jemalloc");
	assert_non_null(strstr(a.module, "libjemalloc.so"));
	assert_non_null(probe_of(&a, "malloc"));
	assert_non_null(probe_of(&a, "free"));
	assert_non_null(probe_of(&a, "sdallocx"));
	/* jemalloc's own operator new does not reach malloc: probed */
	assert_non_null(probe_of(&a, "_Znwm"));
	assert_non_null(probe_of(&a, "_ZdlPv"));
}

static void test_no_such_process(void **state)
{
	struct alloc_found a;

	assert_true(alloc_find(0x7ffffff0, &a) < 0);
}

/* A file with Go code is never probed, stripped or not (a uretprobe on Go
 * code crashes it); libc is. */
static void test_go_files_refused(void **state)
{
	static const char *const go[] = { "parked", "parked.stripped", "cgoleak" };
	const char *b = getenv("LEAKTRACE_BUILD");
	char p[4096];
	int found = 0;

	assert_false(alloc_module_is_go("/lib/x86_64-linux-gnu/libc.so.6"));
	for (int v = 19; v <= 40; v++)
		for (size_t i = 0; i < sizeof(go) / sizeof(go[0]); i++) {
			snprintf(p, sizeof(p), "%s/progs/go1.%d/%s", b ? b : "build", v, go[i]);
			if (access(p, R_OK))
				continue;
			assert_true(alloc_module_is_go(p));
			found++;
		}
	assert_true(found > 0);	/* make progs builds them */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self_is_glibc),
		cmocka_unit_test(test_redis_is_jemalloc),
		cmocka_unit_test(test_no_such_process),
		cmocka_unit_test(test_go_files_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
