/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The Go heap profile read from outside (go/goheap.c) against every
 * installed Go toolchain: layout tables == DWARF, stripped location ==
 * .symtab, linker-disabled profiling detected, and a live process
 * (tests/progs/go/heapprof, normal and stripped) read from outside gives
 * per function the same objects and bytes as runtime.MemProfile inside it.
 *
 * Needs LEAKTRACE_BUILD (default ./build) with progs/go1.NN/heapprof{,
 * .stripped} and progs/go1.NN/parked (a binary without runtime/pprof).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "go/gopclntab.h"
#include "go/goheap.h"
#include "go/goruntime.h"

#define MAX_VERSIONS 32
#define MAX_FUNCS 16

static char build_dir[1024];
static int versions[MAX_VERSIONS];
static int nversions;
static pid_t live_child;

static void prog_path(char *buf, size_t len, int minor, const char *prog,
		      const char *suffix)
{
	snprintf(buf, len, "%s/progs/go1.%d/%s%s", build_dir, minor, prog,
		 suffix);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static int setup(void **state)
{
	const char *b = getenv("LEAKTRACE_BUILD");
	char dir[1100], p[1200];
	struct dirent *de;
	DIR *d;

	snprintf(build_dir, sizeof(build_dir), "%s", b ? b : "build");
	snprintf(dir, sizeof(dir), "%s/progs", build_dir);
	d = opendir(dir);
	if (!d)
		return -1;
	while ((de = readdir(d)) && nversions < MAX_VERSIONS) {
		int minor;

		if (sscanf(de->d_name, "go1.%d", &minor) != 1)
			continue;
		prog_path(p, sizeof(p), minor, "heapprof", "");
		if (access(p, X_OK) == 0)
			versions[nversions++] = minor;
	}
	closedir(d);
	qsort(versions, nversions, sizeof(int), cmp_int);
	if (!nversions) {
		fprintf(stderr, "no heapprof binaries under %s: make go-progs\n",
			dir);
		return -1;
	}
	return 0;
}

static int kill_child(void **state)
{
	if (live_child) {
		kill(live_child, SIGKILL);
		waitpid(live_child, NULL, 0);
	}
	return 0;
}

static struct go_runtime *open_rt(const char *path)
{
	struct go_runtime *rt = NULL;
	char err[512];

	if (go_runtime_open(path, &rt, err, sizeof(err)) != 0)
		fail_msg("go_runtime_open %s: %s", path, err);
	return rt;
}

static void test_layout_tables_equal_dwarf(void **state)
{
	for (int i = 0; i < nversions; i++) {
		struct go_heap_layout d, t;
		struct go_runtime *rt;
		char p[1200];

		prog_path(p, sizeof(p), versions[i], "heapprof", "");
		rt = open_rt(p);
		assert_int_equal(go_heap_layout_dwarf(rt->elf, &d), 0);
		assert_int_equal(go_heap_layout_table(versions[i], &t), 0);
		assert_true(d.from_dwarf);
		assert_int_equal(d.bucket_size, 48);
		assert_int_equal(d.bucket_size, t.bucket_size);
		assert_int_equal(d.off_allnext, t.off_allnext);
		assert_int_equal(d.off_typ, t.off_typ);
		assert_int_equal(d.off_size, t.off_size);
		assert_int_equal(d.off_nstk, t.off_nstk);
		assert_int_equal(d.off_active, t.off_active);
		assert_int_equal(d.off_future, t.off_future);
		assert_int_equal(d.cycle_size, t.cycle_size);
		assert_int_equal(d.record_size, t.record_size);
		assert_int_equal(d.off_allocs, t.off_allocs);
		assert_int_equal(d.off_frees, t.off_frees);
		assert_int_equal(d.off_alloc_bytes, t.off_alloc_bytes);
		assert_int_equal(d.off_free_bytes, t.off_free_bytes);
		printf("  go1.%d: bucket %d, memRecord %d (cycle %d%s)\n",
		       versions[i], d.bucket_size, d.record_size, d.cycle_size,
		       d.off_alloc_bytes < 0 ? ", no byte counters" : "");
		go_runtime_close(rt);
	}
}

/* The loads of allocmcache, mProf_FlushLocked and mProf_PostSweep give
 * the .symtab addresses, and a stripped binary is opened through them. */
static void test_locate_code_equals_symtab(void **state)
{
	for (int i = 0; i < nversions; i++) {
		struct go_heap sym, code = { 0 }, str;
		struct go_runtime *rt, *rts;
		char p[1200], msg[256];

		prog_path(p, sizeof(p), versions[i], "heapprof", "");
		rt = open_rt(p);
		assert_int_equal(go_heap_open(rt, &sym, msg, sizeof(msg)), 0);
		assert_string_equal(sym.how, "symtab");
		assert_false(sym.off_by_linker);
		assert_int_equal(go_heap_locate_code(rt->elf, rt->pcln, &code), 0);
		assert_int_equal(code.mbuckets, sym.mbuckets);
		assert_int_equal(code.rate, sym.rate);
		assert_int_equal(code.cycle, sym.cycle);

		prog_path(p, sizeof(p), versions[i], "heapprof", ".stripped");
		rts = open_rt(p);
		assert_false(rts->has_symtab);
		assert_int_equal(go_heap_open(rts, &str, msg, sizeof(msg)), 0);
		assert_string_equal(str.how, "code");
		assert_false(str.lay.from_dwarf);
		assert_false(str.off_by_linker);
		go_runtime_close(rts);
		go_runtime_close(rt);
	}
}

/* parked links neither runtime/pprof nor net/http/pprof. */
static void test_off_by_linker(void **state)
{
	static const char *const sfx[] = { "", ".stripped" };

	for (int i = 0; i < nversions; i++) {
		for (int s = 0; s < 2; s++) {
			struct go_heap_profile prof;
			struct go_runtime *rt;
			struct go_heap h;
			char p[1200], msg[256];

			prog_path(p, sizeof(p), versions[i], "parked", sfx[s]);
			if (access(p, X_OK) != 0)
				fail_msg("no %s", p);
			rt = open_rt(p);
			assert_int_equal(go_heap_open(rt, &h, msg, sizeof(msg)), 0);
			assert_true(h.off_by_linker);
			assert_int_equal(go_heap_read(getpid(), rt, &h, NULL, &prof),
					 -ENOTSUP);
			go_runtime_close(rt);
		}
	}
}

struct ftally {
	char name[64];
	long long inuse_obj, inuse_bytes, alloc_obj, alloc_bytes;
};

static struct ftally *ftally_of(struct ftally *t, int *n, const char *name)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp(t[i].name, name))
			return &t[i];
	if (*n == MAX_FUNCS)
		return NULL;
	memset(&t[*n], 0, sizeof(t[*n]));
	snprintf(t[*n].name, sizeof(t[*n].name), "%s", name);
	return &t[(*n)++];
}

/* Runs prog with args, reads its "memprofile" lines up to "ready". */
static pid_t start(const char *path, char *const argv[], struct ftally *t,
		   int *nt, long *rate)
{
	char buf[8192];
	size_t got = 0;
	int p[2];
	pid_t pid;
	FILE *f;
	char *line = NULL;
	size_t cap = 0;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execv(path, argv);
		_exit(127);
	}
	live_child = pid;
	close(p[1]);
	f = fdopen(p[0], "r");
	*nt = 0;
	while (getline(&line, &cap, f) > 0) {
		struct ftally x;

		got += strlen(line);
		if (sscanf(line, "memprofile %63s inuse_objects %lld inuse_bytes "
			   "%lld alloc_objects %lld alloc_bytes %lld", x.name,
			   &x.inuse_obj, &x.inuse_bytes, &x.alloc_obj,
			   &x.alloc_bytes) == 5) {
			struct ftally *y = ftally_of(t, nt, x.name);

			if (y)
				*y = x;
		}
		sscanf(line, "memprofile_rate %ld", rate);
		if (!strncmp(line, "ready", 5))
			break;
	}
	(void)buf;
	free(line);
	fclose(f);
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	live_child = 0;
}

/* Innermost main.* function of a heap record's stack. */
static const char *owner(const struct go_runtime *rt, const struct go_heap_rec *r,
			 uint64_t bias)
{
	for (uint32_t i = 0; i < r->nstk; i++) {
		struct gopcln_frame f[8];
		int n = gopcln_lookup(rt->pcln, r->stk[i] - bias - 1, f, 8);

		if (n > 0 && !strncmp(f[0].func, "main.", 5))
			return f[0].func;
	}
	return NULL;
}

static const char *const checked[] = { "main.keepPages", "main.keepSmall",
				       "main.churn" };

static void compare_one(int minor, const char *suffix, const char *rate_arg)
{
	char p[1200], msg[256], ratebuf[32];
	char *argv[] = { p, "-rate", ratebuf, NULL };
	struct ftally in[MAX_FUNCS], out[MAX_FUNCS];
	struct go_heap_profile prof;
	struct go_runtime *rt;
	struct go_heap h;
	int nin = 0, nout = 0;
	long rate = -1;
	pid_t pid;

	snprintf(ratebuf, sizeof(ratebuf), "%s", rate_arg);
	prog_path(p, sizeof(p), minor, "heapprof", suffix);
	rt = open_rt(p);
	assert_int_equal(go_heap_open(rt, &h, msg, sizeof(msg)), 0);
	pid = start(p, argv, in, &nin, &rate);
	assert_true(nin >= (rate == 1 ? 3 : 1));
	assert_int_equal(go_heap_read(pid, rt, &h, NULL, &prof), 0);
	assert_int_equal(prof.rate, rate);
	assert_false(prof.truncated);
	assert_int_equal(prof.bad, 0);
	for (size_t i = 0; i < prof.n; i++) {
		const struct go_heap_rec *r = &prof.recs[i];
		const char *fn = owner(rt, r, prof.bias);
		struct ftally *t;

		if (!fn || !(t = ftally_of(out, &nout, fn)))
			continue;
		t->inuse_obj += r->allocs - r->frees;
		t->inuse_bytes += (r->allocs - r->frees) * r->size;
		t->alloc_obj += r->allocs;
		t->alloc_bytes += r->alloc_bytes;
	}
	/* Every function MemProfile named (sampled: whichever were drawn),
	 * and the three known ones with every allocation recorded. */
	for (int k = 0, n0 = nin; k < n0 + 3; k++) {
		const char *fn = k < n0 ? in[k].name : checked[k - n0];
		struct ftally *a = ftally_of(in, &nin, fn);
		struct ftally *b = ftally_of(out, &nout, fn);

		if (rate == 1 && k >= n0 && !a->alloc_obj)
			fail_msg("go1.%d%s: MemProfile has nothing for %s", minor,
				 suffix, fn);
		if (a->inuse_obj != b->inuse_obj ||
		    a->inuse_bytes != b->inuse_bytes ||
		    a->alloc_obj != b->alloc_obj ||
		    a->alloc_bytes != b->alloc_bytes)
			fail_msg("go1.%d%s rate %ld %s: MemProfile inuse %lld obj "
				 "%lld B alloc %lld obj %lld B; read from outside "
				 "%lld obj %lld B alloc %lld obj %lld B", minor,
				 suffix, rate, fn, a->inuse_obj,
				 a->inuse_bytes, a->alloc_obj, a->alloc_bytes,
				 b->inuse_obj, b->inuse_bytes, b->alloc_obj,
				 b->alloc_bytes);
	}
	printf("  go1.%d%s rate %ld: %zu buckets, cycle %u, %zu reads, %zu "
	       "bytes; keepPages %lld obj %lld B\n", minor, suffix, rate,
	       prof.n, prof.cycle, prof.syscalls, prof.bytes_read,
	       ftally_of(out, &nout, "main.keepPages")->inuse_obj,
	       ftally_of(out, &nout, "main.keepPages")->inuse_bytes);
	go_heap_profile_free(&prof);
	stop(pid);
	go_runtime_close(rt);
}

/* MemProfileRate 1 (the program's own choice): every allocation. */
static void test_read_equals_memprofile(void **state)
{
	for (int i = 0; i < nversions; i++) {
		compare_one(versions[i], "", "1");
		compare_one(versions[i], ".stripped", "1");
	}
}

/* The default rate (sampled): the same raw counts as MemProfile. */
static void test_read_sampled_equals_memprofile(void **state)
{
	for (int i = 0; i < nversions; i++)
		compare_one(versions[i], i % 2 ? ".stripped" : "", "0");
}

static void test_scale(void **state)
{
	double o, b;

	go_heap_scale(10, 4096, 1, &o, &b);
	assert_true(o == 10 && b == 40960);
	go_heap_scale(10, 4096, 512 * 1024, &o, &b);
	/* 1 / (1 - e^(-1/128)) = 128.5 */
	assert_true(fabs(o - 10 / (1 - exp(-4096.0 / 524288))) < 1e-9);
	assert_true(fabs(b - o * 4096) < 1e-6);
	assert_true(o > 1280 && o < 1290);
	go_heap_scale(0, 4096, 512 * 1024, &o, &b);
	assert_true(o == 0 && b == 0);
}

#define NREADS 21

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* 10k distinct stacks; the caps stop the walk and say so. */
static void test_10k_buckets_and_caps(void **state)
{
	int minor = versions[nversions - 1];
	char p[1200], msg[256];
	char *argv[] = { p, "-rate", "1", "-stacks", "10000", NULL };
	struct ftally in[MAX_FUNCS];
	struct go_heap_opts o = { .max_buckets = 100 };
	struct go_heap_profile prof;
	struct go_runtime *rt;
	struct go_heap h;
	struct timespec a, b;
	double ms[NREADS];
	int nin = 0;
	long rate = 0;
	pid_t pid;

	prog_path(p, sizeof(p), minor, "heapprof", "");
	rt = open_rt(p);
	assert_int_equal(go_heap_open(rt, &h, msg, sizeof(msg)), 0);
	pid = start(p, argv, in, &nin, &rate);
	/* 21 reads: the median and the fastest (the machine may be shared:
	 * benchmark on a quiet one). */
	for (int k = 0; k < NREADS; k++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		assert_int_equal(go_heap_read(pid, rt, &h, NULL, &prof), 0);
		clock_gettime(CLOCK_MONOTONIC, &b);
		ms[k] = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
		assert_true(prof.n >= 10000);
		assert_false(prof.truncated);
		assert_int_equal(prof.bad, 0);
		if (k < NREADS - 1)
			go_heap_profile_free(&prof);
	}
	qsort(ms, NREADS, sizeof(ms[0]), cmp_double);
	printf("  go1.%d: %zu buckets, %zu stack PCs: median %.2f ms, min %.2f "
	       "ms per read, %zu process_vm_readv calls, %zu bytes read\n",
	       minor, prof.n, prof.npcs, ms[NREADS / 2], ms[0], prof.syscalls,
	       prof.bytes_read);
	go_heap_profile_free(&prof);
	assert_int_equal(go_heap_read(pid, rt, &h, &o, &prof), 0);
	assert_int_equal(prof.n, 100);
	assert_true(prof.truncated);
	go_heap_profile_free(&prof);
	o = (struct go_heap_opts){ .max_bytes = 256 << 10 };
	assert_int_equal(go_heap_read(pid, rt, &h, &o, &prof), 0);
	assert_true(prof.truncated);
	assert_true(prof.bytes_read <= 256 << 10);
	go_heap_profile_free(&prof);
	stop(pid);
	go_runtime_close(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scale),
		cmocka_unit_test(test_layout_tables_equal_dwarf),
		cmocka_unit_test(test_locate_code_equals_symtab),
		cmocka_unit_test(test_off_by_linker),
		cmocka_unit_test_teardown(test_read_equals_memprofile, kill_child),
		cmocka_unit_test_teardown(test_read_sampled_equals_memprofile,
					  kill_child),
		cmocka_unit_test_teardown(test_10k_buckets_and_caps, kill_child),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests(tests, setup, kill_child);
}
