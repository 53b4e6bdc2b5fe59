/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Go runtime knowledge against real binaries of every installed Go:
 * offset tables == DWARF, wait-reason tables == the binary's
 * waitReasonStrings, probe RETs, and goroutines read from live processes
 * (tests/progs/go/parked), normal and stripped (-s -w).
 *
 * Needs LEAKTRACE_BUILD (default ./build) with progs/go1.NN/parked{,.stripped}
 * from `make go-progs`.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "go/gopclntab.h"
#include "go/goallgs.h"
#include "go/goprobes.h"
#include "go/goruntime.h"

#define MAX_VERSIONS 32

static char build_dir[1024];
static int versions[MAX_VERSIONS];	/* minor numbers with a built parked */
static int nversions;

static void prog_path(char *buf, size_t len, int minor, const char *suffix)
{
	snprintf(buf, len, "%s/progs/go1.%d/parked%s", build_dir, minor,
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
	if (!d) {
		fprintf(stderr, "no %s: run make go-progs\n", dir);
		return -1;
	}
	while ((de = readdir(d)) && nversions < MAX_VERSIONS) {
		int minor;

		if (sscanf(de->d_name, "go1.%d", &minor) != 1)
			continue;
		prog_path(p, sizeof(p), minor, "");
		if (access(p, X_OK) == 0)
			versions[nversions++] = minor;
	}
	closedir(d);
	qsort(versions, nversions, sizeof(int), cmp_int);
	if (!nversions) {
		fprintf(stderr, "no parked binaries under %s\n", dir);
		return -1;
	}
	return 0;
}

static struct go_runtime *open_rt(int minor, const char *suffix)
{
	char p[1200], err[512] = "";
	struct go_runtime *rt = NULL;
	int ret;

	prog_path(p, sizeof(p), minor, suffix);
	ret = go_runtime_open(p, &rt, err, sizeof(err));
	if (ret)
		fail_msg("go_runtime_open(%s): %d %s", p, ret, err);
	assert_int_equal(rt->version_minor, minor);
	return rt;
}

static int find_reason(const struct go_runtime *rt, const char *name)
{
	for (int i = 0; i < rt->n_wait_reasons; i++)
		if (strcmp(rt->wait_reasons[i], name) == 0)
			return i;
	return -1;
}

static void test_version_minor(void **state)
{
	assert_int_equal(go_version_minor("go1.22.12"), 22);
	assert_int_equal(go_version_minor("go1.21rc2"), 21);
	assert_int_equal(go_version_minor("devel go1.23-abcdef"), 23);
	assert_int_equal(go_version_minor("go1.9"), 9);
	assert_int_equal(go_version_minor("go2"), -EINVAL);
	assert_int_equal(go_version_minor(""), -EINVAL);
	assert_int_equal(go_version_minor(NULL), -EINVAL);
}

static void assert_offsets_equal(const struct go_offsets *a,
				 const struct go_offsets *b, int minor)
{
#define EQ(f)                                                                  \
	do {                                                                   \
		if (a->f != b->f)                                              \
			fail_msg("go1.%d: " #f " %d != %d", minor, a->f,       \
				 b->f);                                        \
	} while (0)
	EQ(stack_lo);
	EQ(stack_hi);
	EQ(atomicstatus);
	EQ(goid);
	EQ(waitsince);
	EQ(waitreason);
	EQ(parent_goid);
	EQ(gopc);
	EQ(startpc);
	EQ(sched_sp);
	EQ(sched_pc);
	EQ(sched_bp);
	EQ(m);
	EQ(m_procid);
	EQ(m_curg);
	EQ(g_size);
#undef EQ
}

/* The embedded tables must equal what DWARF says, version by version. */
static void test_offsets_tables_equal_dwarf(void **state)
{
	for (int i = 0; i < nversions; i++) {
		struct go_runtime *rt = open_rt(versions[i], "");
		struct go_offsets tab;
		const struct go_offsets *o = &rt->off;

		assert_true(rt->has_dwarf);
		assert_true(o->from_dwarf);
		assert_int_equal(go_offsets_from_table(versions[i], &tab), 0);
		assert_offsets_equal(&tab, o, versions[i]);
		printf("  go1.%d (%s): status %d goid %d waitsince %d "
		       "waitreason %d parentGoid %d gopc %d startpc %d "
		       "sched sp/pc/bp %d/%d/%d g.m %d m.procid %d\n",
		       versions[i], rt->version, o->atomicstatus, o->goid,
		       o->waitsince, o->waitreason, o->parent_goid, o->gopc,
		       o->startpc, o->sched_sp, o->sched_pc, o->sched_bp, o->m,
		       o->m_procid);
		go_runtime_close(rt);
	}
}

static void test_offsets_stripped_use_tables(void **state)
{
	for (int i = 0; i < nversions; i++) {
		struct go_runtime *rt = open_rt(versions[i], "");
		struct go_runtime *st = open_rt(versions[i], ".stripped");

		assert_false(st->has_dwarf);
		assert_false(st->has_symtab);
		assert_false(st->off.from_dwarf);
		assert_offsets_equal(&st->off, &rt->off, versions[i]);
		go_runtime_close(st);
		go_runtime_close(rt);
	}
}

static void test_offsets_unknown_version(void **state)
{
	struct go_offsets o;
	const char *const *names;
	char src[1200], dst[] = "/tmp/lt_goruntime_XXXXXX", err[512] = "";
	struct go_runtime *rt = NULL;
	char *buf, *p;
	int newest = versions[nversions - 1], fd;
	struct stat sb;
	FILE *f;

	assert_int_equal(go_offsets_from_table(16, &o), -ENOTSUP);
	assert_int_equal(go_offsets_from_table(GO_TABLES_MAX_MINOR + 1, &o),
			 -ENOTSUP);
	assert_int_equal(go_wait_reason_table(GO_TABLES_MAX_MINOR + 1, &names),
			 -ENOTSUP);
	for (int m = GO_TABLES_MIN_MINOR; m <= GO_TABLES_MAX_MINOR; m++) {
		assert_int_equal(go_offsets_from_table(m, &o), 0);
		assert_true(go_wait_reason_table(m, &names) > 20);
	}

	/* A stripped binary claiming go1.99 has no DWARF to fall back on. */
	prog_path(src, sizeof(src), newest, ".stripped");
	f = fopen(src, "rb");
	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &sb), 0);
	buf = malloc(sb.st_size);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, sb.st_size, f), (size_t)sb.st_size);
	fclose(f);
	{
		char ver[16];
		size_t vl = snprintf(ver, sizeof(ver), "go1.%d.", newest);

		int hits = 0;

		/* .go.buildinfo and runtime.buildVersion both hold it. */
		for (p = buf; (p = memmem(p, sb.st_size - (p - buf), ver,
					  vl)); p += vl, hits++)
			memcpy(p, "go1.99.", vl); /* same length for 1.NN */
		assert_true(hits > 0);
	}
	fd = mkstemp(dst);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, sb.st_size), sb.st_size);
	close(fd);
	free(buf);
	assert_int_equal(go_runtime_open(dst, &rt, err, sizeof(err)),
			 -ENOTSUP);
	assert_null(rt);
	assert_non_null(strstr(err, "go1.99"));
	printf("  message: %s\n", err);
	unlink(dst);
}

/* waitReasonStrings in each binary == the embedded table. */
static void test_wait_reasons_tables_equal_binary(void **state)
{
	for (int i = 0; i < nversions; i++) {
		struct go_runtime *rt = open_rt(versions[i], "");
		struct go_runtime *st = open_rt(versions[i], ".stripped");
		const char *const *tab;
		char **bin;
		int nb, nt;

		nb = go_wait_reasons_from_binary(rt->elf, &bin);
		nt = go_wait_reason_table(versions[i], &tab);
		if (nb <= 0)
			fail_msg("go1.%d: waitReasonStrings: %d", versions[i],
				 nb);
		assert_int_equal(nb, nt);
		for (int k = 0; k < nb; k++)
			if (strcmp(bin[k], tab[k]) != 0)
				fail_msg("go1.%d: reason %d: binary \"%s\" "
					 "table \"%s\"", versions[i], k,
					 bin[k], tab[k]);
		assert_true(rt->wait_reasons_from_binary);
		assert_int_equal(rt->n_wait_reasons, nb);
		/* Stripped: no .symtab, the table stands in. */
		assert_int_equal(go_wait_reasons_from_binary(st->elf, &bin),
				 -ENOENT);
		assert_false(st->wait_reasons_from_binary);
		assert_int_equal(st->n_wait_reasons, nt);
		printf("  go1.%d: %d wait reasons, \"chan receive\" = %d\n",
		       versions[i], nb, find_reason(rt, "chan receive"));
		go_strv_free(bin, nb);
		go_runtime_close(st);
		go_runtime_close(rt);
	}
}

static uint8_t file_byte(const char *path, uint64_t off)
{
	uint8_t b = 0;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	close(fd);
	return b;
}

static void check_rets(const struct go_probe_func *f, const char *path)
{
	assert_true(f->found);
	if (f->nrets < 1)
		fail_msg("%s: %s has no RET", path, f->name);
	assert_int_equal(f->undecoded, 0);
	for (int k = 0; k < f->nrets; k++) {
		assert_true(f->ret_vaddrs[k] >= f->entry &&
			    f->ret_vaddrs[k] < f->end);
		if (file_byte(path, f->ret_offsets[k]) != 0xc3)
			fail_msg("%s: %s RET %d at file offset 0x%llx is not "
				 "0xc3", path, f->name, k,
				 (unsigned long long)f->ret_offsets[k]);
	}
}

/* A call-site probe is on a CALL (e8) or on the 5-byte NOP just before
 * one (0f 1f 44 00 00). */
static void check_call_probe(const struct go_call_probe *c, const char *path,
			     const char *what)
{
	uint8_t b;

	if (!c->found)
		fail_msg("%s: no %s call site", path, what);
	b = file_byte(path, c->offset);
	if (c->nop5) {
		assert_int_equal(b, 0x0f);
		assert_int_equal(file_byte(path, c->offset + 1), 0x1f);
		assert_int_equal(file_byte(path, c->offset + 5), 0xe8);
	} else if (b != 0xe8) {
		fail_msg("%s: %s probe at 0x%llx is not a CALL", path, what,
			 (unsigned long long)c->offset);
	}
}

/* Probe plan: RETs are RETs, entries agree with .symtab, exit hook by
 * version, creation and exit call sites found, heap hooks present. */
static void test_probe_plan(void **state)
{
	static const char *const suffixes[] = { "", ".stripped" };

	for (int i = 0; i < nversions; i++) {
		struct go_probe_plan ref = { 0 };

		for (int s = 0; s < 2; s++) {
			struct go_runtime *rt = open_rt(versions[i],
							suffixes[s]);
			struct go_probe_plan plan;
			uint64_t sym;

			assert_non_null(rt->pcln);
			assert_int_equal(go_probes_plan(rt, &plan), 0);
			check_rets(&plan.newproc1, rt->path);
			check_rets(&plan.gopark, rt->path);
			assert_true(plan.gexit.found);
			assert_string_equal(plan.gexit.name,
					    versions[i] >= 22 ?
						    "runtime.gdestroy" :
						    "runtime.goexit0");
			check_call_probe(&plan.newg, rt->path, "runqput");
			if (versions[i] >= 22)
				check_call_probe(&plan.gexit_call, rt->path,
						 "gdestroy");
			else
				assert_false(plan.gexit_call.found);
			assert_true(plan.mprof_malloc.found);
			assert_true(plan.free_special.found);
			if (s == 0) {
				assert_int_equal(go_elf_symbol(rt->elf,
						 "runtime.newproc1", &sym,
						 NULL), 0);
				assert_int_equal(sym, plan.newproc1.entry);
				assert_int_equal(go_elf_symbol(rt->elf,
						 "runtime.gopark", &sym,
						 NULL), 0);
				assert_int_equal(sym, plan.gopark.entry);
				printf("  go1.%d: newproc1 %d RETs, gopark %d "
				       "RETs, exit %s\n", versions[i],
				       plan.newproc1.nrets, plan.gopark.nrets,
				       plan.gexit.name);
				ref = plan;
				go_runtime_close(rt);
				continue;
			}
			/* Stripped code is the same code. */
			assert_int_equal(plan.newproc1.nrets,
					 ref.newproc1.nrets);
			assert_int_equal(plan.gopark.nrets, ref.gopark.nrets);
			assert_int_equal(plan.newg.vaddr, ref.newg.vaddr);
			assert_int_equal(plan.gexit_call.vaddr,
					 ref.gexit_call.vaddr);
			go_probes_free(&plan);
			go_runtime_close(rt);
		}
		go_probes_free(&ref);
	}
}

/* Writes int3 at vaddr into libelf's private mapping of the file, as the
 * kernel does in every private mapping of a probed file whose process a
 * probe's filter accepts (a system-wide uprobe by another tool, or ours on
 * every process of an executable). */
static void breakpoint_in_private_map(struct go_runtime *rt, uint64_t vaddr)
{
	size_t size, page = (size_t)sysconf(_SC_PAGESIZE);
	char *raw = elf_rawfile(rt->elf, &size);
	const char *at = (const char *)go_elf_bytes_at(rt->elf, vaddr, 1);
	const char *img = rt->image;
	size_t off;
	char *pg;

	assert_non_null(raw);
	assert_non_null(at);
	/* the file offset, whichever mapping the bytes were read from */
	off = img && at >= img && at < img + rt->image_len ? (size_t)(at - img)
							  : (size_t)(at - raw);
	pg = raw + (off & ~(page - 1));
	assert_int_equal(mprotect(pg, page, PROT_READ | PROT_WRITE), 0);
	raw[off] = (char)0xcc;
}

/* Another tool's breakpoint on runqput's call site and on newproc1's first
 * RET (they sit in our own mapping of the file too): the plan, read from
 * the file's bytes, is the same. Before, the call site read as int3 and the
 * bytes after it as garbage: no creation probe there. */
static void test_plan_ignores_breakpoints_in_our_mapping(void **state)
{
	int v = versions[nversions - 1];
	struct go_runtime *rt = open_rt(v, "");
	struct go_probe_plan a, b;

	(void)state;
	assert_int_equal(go_probes_plan(rt, &a), 0);
	assert_true(a.newg.found);
	assert_true(a.newproc1.nrets > 0);
	breakpoint_in_private_map(rt, a.newg.vaddr);
	breakpoint_in_private_map(rt, a.newproc1.ret_vaddrs[0]);
	assert_int_equal(go_probes_plan(rt, &b), 0);
	assert_true(b.newg.found);
	assert_int_equal(b.newg.vaddr, a.newg.vaddr);
	assert_int_equal(b.newg.nop5, a.newg.nop5);
	assert_int_equal(b.newproc1.nrets, a.newproc1.nrets);
	go_probes_free(&a);
	go_probes_free(&b);
	go_runtime_close(rt);
}

/* runtime.newproc (and goexit1) have ABI0 wrappers of the same name in
 * .gopclntab: the resolved one must be the real function. */
static void test_wrappers_skipped(void **state)
{
	static const char *const names[] = { "runtime.newproc",
					     "runtime.goexit1" };

	for (int i = 0; i < nversions; i++) {
		struct go_runtime *rt = open_rt(versions[i], "");

		for (int k = 0; k < 2; k++) {
			struct go_probe_func f;
			struct gopcln_func gf;
			int same = 0, wrappers = 0;
			uint64_t sym;

			for (size_t j = 0; j < gopcln_func_count(rt->pcln);
			     j++) {
				assert_int_equal(gopcln_func_at(rt->pcln, j,
								&gf), 0);
				if (strcmp(gf.name, names[k]) != 0)
					continue;
				same++;
				wrappers += gf.wrapper;
			}
			assert_true(same >= 1);
			assert_int_equal(go_probe_func_resolve(rt->elf,
				rt->pcln, names[k], true, &f), 0);
			assert_int_equal(go_elf_symbol(rt->elf, names[k],
						       &sym, NULL), 0);
			assert_int_equal(f.entry, sym);
			for (size_t j = 0; j < gopcln_func_count(rt->pcln);
			     j++) {
				gopcln_func_at(rt->pcln, j, &gf);
				if (gf.entry == f.entry)
					assert_false(gf.wrapper);
			}
			if (k == 0)
				printf("  go1.%d: %s listed %d times (%d "
				       "wrappers), real one at 0x%llx\n",
				       versions[i], names[k], same, wrappers,
				       (unsigned long long)f.entry);
			go_probe_func_free(&f);
		}
		go_runtime_close(rt);
	}
}

/* Without .symtab, allgs is found from code: both code methods must give
 * the symbol's address on the normal binary, and the stripped binary must
 * use them. */
static void test_allgs_locate(void **state)
{
	static const char *const funcs[] = { "runtime.forEachG",
					     "runtime.allgadd" };

	for (int i = 0; i < nversions; i++) {
		struct go_runtime *rt = open_rt(versions[i], "");
		struct go_runtime *st = open_rt(versions[i], ".stripped");

		assert_string_equal(rt->allgs_how, "symtab");
		for (int k = 0; k < 2; k++) {
			uint64_t a = 0;

			assert_int_equal(go_allgs_locate_code(rt->elf,
					 rt->pcln, funcs[k], &a), 0);
			if (a != rt->allgs_addr)
				fail_msg("go1.%d: %s gives 0x%llx, .symtab "
					 "0x%llx", versions[i], funcs[k],
					 (unsigned long long)a,
					 (unsigned long long)rt->allgs_addr);
		}
		assert_non_null(st->allgs_how);
		assert_string_equal(st->allgs_how, "forEachG");
		assert_true(st->allgs_addr != 0);
		printf("  go1.%d: allgs at 0x%llx (.symtab == forEachG == "
		       "allgadd); stripped: 0x%llx via %s\n", versions[i],
		       (unsigned long long)rt->allgs_addr,
		       (unsigned long long)st->allgs_addr, st->allgs_how);
		go_runtime_close(st);
		go_runtime_close(rt);
	}
}

/* Live processes */

struct child {
	pid_t pid;
	int out;	/* read end of its stdout */
};

/* Children still running: a failed assertion jumps past reap(), so the
 * group teardown kills whatever is left (by pid, ours only). */
static pid_t live[64];

static void track(pid_t pid, bool add)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
		if (add && !live[i]) {
			live[i] = pid;
			return;
		}
		if (!add && live[i] == pid) {
			live[i] = 0;
			return;
		}
	}
}

static int teardown(void **state)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i]) {
			kill(live[i], SIGKILL);
			waitpid(live[i], NULL, 0);
			live[i] = 0;
		}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Starts path with args and waits for its "ready PID" line. */
static void spawn(struct child *c, const char *path, char *const argv[])
{
	char line[128];
	size_t got = 0;
	double end = now_s() + 30;
	int p[2];

	assert_int_equal(pipe(p), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execv(path, argv);
		_exit(127);
	}
	track(c->pid, true);
	close(p[1]);
	c->out = p[0];
	fcntl(c->out, F_SETFL, O_NONBLOCK);
	while (now_s() < end && got < sizeof(line) - 1) {
		ssize_t n = read(c->out, line + got, sizeof(line) - 1 - got);

		if (n > 0) {
			got += n;
			line[got] = '\0';
			if (strchr(line, '\n'))
				break;
		} else if (n == 0) {
			break;
		} else {
			usleep(10000);
		}
	}
	line[got] = '\0';
	if (!strstr(line, "ready"))
		fail_msg("%s did not say ready: \"%s\"", path, line);
	assert_int_equal(atoi(strstr(line, "ready") + 6), c->pid);
}

static void reap(struct child *c)
{
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	track(c->pid, false);
	close(c->out);
}

struct range {
	uint64_t lo, hi;
};

static struct range func_range(const struct go_runtime *rt, const char *name)
{
	struct gopcln_func f;

	if (gopcln_find_func(rt->pcln, name, true, &f) != 0)
		fail_msg("%s: no %s", rt->path, name);
	return (struct range){ f.entry, f.end };
}

enum { F_RECV, F_SEND, F_SELECT, NF };
static const char *const fnames[NF] = { "main.blockRecv", "main.blockSend",
					"main.blockSelect" };
static const char *const freasons[NF] = { "chan receive", "chan send",
					   "select" };

struct tally {
	const struct go_runtime *rt;
	struct range f[NF], main;
	int on_stack[NF];	/* goroutines whose park stack has f */
	int reason_ok[NF];	/* ... and the right wait reason, waiting */
	int gopc_in_main[NF];
	int parent_is_1[NF];
	int by_reason[NF];	/* all goroutines, by wait reason name */
	int waitsince_ok[NF];	/* waitsince within [t_lo, t_hi] */
	int64_t t_lo, t_hi;	/* CLOCK_MONOTONIC ns */
	int total;
	uint64_t bias;
};

static int tally_g(const struct go_g *g, void *ctx)
{
	struct tally *t = ctx;
	int which = -1;

	t->total++;
	t->bias = g->bias;
	for (int k = 0; k < NF; k++)
		if (g->status == GO_G_WAITING && g->waitreason_name &&
		    strcmp(g->waitreason_name, freasons[k]) == 0)
			t->by_reason[k]++;
	for (int i = 1; i < g->npcs && which < 0; i++) {
		uint64_t pc = g->pcs[i] - 1 - g->bias;

		for (int k = 0; k < NF; k++)
			if (pc >= t->f[k].lo && pc < t->f[k].hi)
				which = k;
	}
	if (which < 0)
		return 0;
	t->on_stack[which]++;
	if (g->status == GO_G_WAITING && g->waitreason_name &&
	    strcmp(g->waitreason_name, freasons[which]) == 0)
		t->reason_ok[which]++;
	if (g->gopc - g->bias >= t->main.lo && g->gopc - g->bias < t->main.hi)
		t->gopc_in_main[which]++;
	if (g->parent_goid == 1)
		t->parent_is_1[which]++;
	if (g->waitsince >= t->t_lo && g->waitsince <= t->t_hi)
		t->waitsince_ok[which]++;
	return 0;
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void tally_init(struct tally *t, const struct go_runtime *rt)
{
	int64_t lo = t->t_lo;

	memset(t, 0, sizeof(*t));
	t->t_lo = lo;
	t->t_hi = mono_ns();
	t->rt = rt;
	for (int k = 0; k < NF; k++)
		t->f[k] = func_range(rt, fnames[k]);
	t->main = func_range(rt, "main.main");
}

/* Reads until the expected goroutines are all parked (they park within
 * moments of "ready"), returns the last tally and read time. */
static double read_until(int pid, const struct go_runtime *rt,
			 const int want[NF], struct tally *t,
			 struct go_allgs_stats *st)
{
	double dt = 0;

	for (int tries = 0; tries < 100; tries++) {
		double t0;
		int ret, done = 1;

		tally_init(t, rt);
		t0 = now_s();
		ret = go_read_allgs(pid, rt, NULL, tally_g, t, st);
		dt = now_s() - t0;
		if (ret)
			fail_msg("go_read_allgs(%d, %s): %d", pid, rt->path,
				 ret);
		for (int k = 0; k < NF; k++)
			done &= t->reason_ok[k] >= want[k];
		if (done)
			break;
		usleep(50000);
	}
	return dt;
}

static void check_live(const char *path, int minor, bool pie)
{
	static const int want[NF] = { 2000, 1000, 500 };
	char *argv[] = { (char *)path, NULL };
	char err[512] = "";
	struct go_runtime *rt = NULL;
	struct go_allgs_stats st;
	struct tally t;
	struct child c;
	double dt;

	if (go_runtime_open(path, &rt, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(rt->pie, pie);
	t.t_lo = mono_ns();
	spawn(&c, path, argv);
	dt = read_until(c.pid, rt, want, &t, &st);
	for (int k = 0; k < NF; k++) {
		if (t.on_stack[k] != want[k] || t.reason_ok[k] != want[k] ||
		    t.gopc_in_main[k] != want[k] || t.by_reason[k] != want[k])
			fail_msg("%s %s: %d on stack, %d with \"%s\", %d "
				 "created in main.main, %d by reason (want "
				 "%d)", path, fnames[k], t.on_stack[k],
				 t.reason_ok[k], freasons[k],
				 t.gopc_in_main[k], t.by_reason[k], want[k]);
		if (minor >= 21)
			assert_int_equal(t.parent_is_1[k], want[k]);
		/* The program's runtime.GC() stamped them: Go's nanotime is
		 * CLOCK_MONOTONIC. */
		assert_int_equal(t.waitsince_ok[k], want[k]);
	}
	if (pie)
		assert_true(st.bias != 0);
	else
		assert_int_equal(st.bias, 0);
	printf("  go1.%d %s: %zu gs (%zu dead, %zu reported), "
	       "recv/send/select %d/%d/%d, %.1f ms, %zu syscalls\n", minor,
	       strrchr(path, '/') + 1, st.allglen, st.dead, st.reported,
	       t.reason_ok[F_RECV], t.reason_ok[F_SEND], t.reason_ok[F_SELECT],
	       dt * 1e3, st.syscalls);
	reap(&c);
	go_runtime_close(rt);
}

static void test_read_allgs(void **state)
{
	static const char *const suffixes[] = { "", ".stripped" };
	char p[1200];

	for (int i = 0; i < nversions; i++)
		for (int s = 0; s < 2; s++) {
			prog_path(p, sizeof(p), versions[i], suffixes[s]);
			check_live(p, versions[i], false);
		}
}

/* -buildmode=pie: addresses move by the load bias. Built here for the
 * newest Go (the Makefile builds the default mode only). */
static void test_read_allgs_pie(void **state)
{
	int minor = versions[nversions - 1];
	char out[1200], cmd[4096], src[1200];

	snprintf(src, sizeof(src), "%s/../tests/progs/go/parked", build_dir);
	if (access(src, R_OK) != 0)
		snprintf(src, sizeof(src), "tests/progs/go/parked");
	prog_path(out, sizeof(out), minor, ".pie");
	snprintf(cmd, sizeof(cmd),
		 "cd %s && GOTOOLCHAIN=local GOPROXY=off GO111MODULE=off "
		 "GOFLAGS=-buildvcs=false GOCACHE=%s/gocache "
		 "/usr/lib/go-1.%d/bin/go build -buildmode=pie -ldflags='-s -w' "
		 "-o %s . 2>&1", src, build_dir, minor, out);
	if (system(cmd) != 0) {
		printf("  cannot build %s, skipped\n", out);
		skip();
	}
	check_live(out, minor, true);
}

static int timing_g(const struct go_g *g, void *ctx)
{
	(*(int *)ctx) += g->status == GO_G_WAITING;
	return 0;
}

/* 30,000 parked goroutines must be read (with their stacks) well under a
 * second. */
static void test_read_allgs_30000(void **state)
{
	for (int i = 0; i < nversions; i++) {
		char p[1200];
		char *argv[] = { p, "-recv", "30000", "-send", "0",
				 "-select", "0", NULL };
		static const int want[NF] = { 30000, 0, 0 };
		char err[512];
		struct go_runtime *rt;
		struct go_allgs_stats st;
		struct tally t = { 0 };
		struct child c;
		double best = 1e9;

		prog_path(p, sizeof(p), versions[i], ".stripped");
		assert_int_equal(go_runtime_open(p, &rt, err, sizeof(err)), 0);
		spawn(&c, p, argv);
		read_until(c.pid, rt, want, &t, &st);
		assert_int_equal(t.reason_ok[F_RECV], 30000);
		for (int r = 0; r < 3; r++) {
			double t0 = now_s();
			int waiting = 0;

			assert_int_equal(go_read_allgs(c.pid, rt, NULL,
						       timing_g, &waiting,
						       &st), 0);
			if (now_s() - t0 < best)
				best = now_s() - t0;
			assert_true(waiting >= 30000);
		}
		printf("  go1.%d: %zu goroutines read with stacks in %.1f ms "
		       "(%zu syscalls)\n", versions[i], st.allglen, best * 1e3,
		       st.syscalls);
		assert_true(best < 0.5);
		reap(&c);
		go_runtime_close(rt);
	}
}

struct rs_seen {
	struct range main, blocksys;
	int pid;
	int running_tid, syscall_tid, running_npcs, syscall_npcs;
	bool syscall_has_func, syscall_truncated;
};

static bool tid_exists(int pid, int tid)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/%d/task/%d", pid, tid);
	return tid > 0 && access(p, F_OK) == 0;
}

static int rs_g(const struct go_g *g, void *ctx)
{
	struct rs_seen *r = ctx;
	uint64_t gopc = g->gopc - g->bias;

	if (gopc < r->main.lo || gopc >= r->main.hi)
		return 0;
	if (g->status == GO_G_RUNNING && tid_exists(r->pid, g->tid)) {
		r->running_tid = g->tid;
		r->running_npcs = g->npcs;
	}
	if (g->status == GO_G_SYSCALL && tid_exists(r->pid, g->tid)) {
		r->syscall_tid = g->tid;
		r->syscall_npcs = g->npcs;
		r->syscall_truncated = g->truncated;
		for (int i = 1; i < g->npcs; i++) {
			uint64_t pc = g->pcs[i] - 1 - g->bias;

			if (pc >= r->blocksys.lo && pc < r->blocksys.hi)
				r->syscall_has_func = true;
		}
	}
	return 0;
}

/* A goroutine on a CPU has no park stack but a thread; one blocked in
 * read(2) has a thread and (Go >= 1.23, where save() records sched.bp) a
 * stack through main.blockSyscall. */
static void test_running_and_syscall(void **state)
{
	for (int i = 0; i < nversions; i++) {
		char p[1200], err[512];
		char *argv[] = { p, "-recv", "0", "-send", "0", "-select", "0",
				 "-syscall", "1", "-spin", "1", NULL };
		struct go_runtime *rt;
		struct rs_seen r;
		struct child c;
		int tries;

		prog_path(p, sizeof(p), versions[i], "");
		assert_int_equal(go_runtime_open(p, &rt, err, sizeof(err)), 0);
		spawn(&c, p, argv);
		for (tries = 0; tries < 100; tries++) {
			memset(&r, 0, sizeof(r));
			r.pid = c.pid;
			r.main = func_range(rt, "main.main");
			r.blocksys = func_range(rt, "main.blockSyscall");
			assert_int_equal(go_read_allgs(c.pid, rt, NULL, rs_g,
						       &r, NULL), 0);
			if (r.running_tid && r.syscall_tid)
				break;
			usleep(20000);
		}
		if (!r.running_tid || !r.syscall_tid)
			fail_msg("go1.%d: running tid %d, syscall tid %d",
				 versions[i], r.running_tid, r.syscall_tid);
		assert_int_equal(r.running_npcs, 0);
		if (versions[i] >= 23) {
			assert_true(r.syscall_has_func);
		} else {
			assert_int_equal(r.syscall_npcs, 1);
			assert_true(r.syscall_truncated);
		}
		printf("  go1.%d: running on tid %d, syscall on tid %d with %d "
		       "frames\n", versions[i], r.running_tid, r.syscall_tid,
		       r.syscall_npcs);
		reap(&c);
		go_runtime_close(rt);
	}
}

struct deep_seen {
	struct range recurse, goexit;
	int found, max_recurse, truncated, ends_in_goexit;
};

static int deep_g(const struct go_g *g, void *ctx)
{
	struct deep_seen *d = ctx;
	int n = 0;

	for (int i = 1; i < g->npcs; i++) {
		uint64_t pc = g->pcs[i] - 1 - g->bias;

		n += pc >= d->recurse.lo && pc < d->recurse.hi;
	}
	if (!n)
		return 0;
	d->found++;
	if (n > d->max_recurse)
		d->max_recurse = n;
	d->truncated += g->truncated;
	if (g->npcs && g->pcs[g->npcs - 1] - 1 - g->bias >= d->goexit.lo &&
	    g->pcs[g->npcs - 1] - 1 - g->bias < d->goexit.hi)
		d->ends_in_goexit++;
	return 0;
}

/* Stacks deeper than one read window (300 frames of ~100 bytes): walked to
 * runtime.goexit with max_frames 512, cut and flagged with 64. */
static void test_deep_stacks(void **state)
{
	for (int i = 0; i < nversions; i++) {
		char p[1200], err[512];
		char *argv[] = { p, "-recv", "0", "-send", "0", "-select", "0",
				 "-deep", "20", NULL };
		struct go_allgs_opts big = { .max_frames = 512 };
		struct go_allgs_opts small = { .max_frames = 64 };
		struct go_allgs_stats st;
		struct go_runtime *rt;
		struct deep_seen d;
		struct child c;

		prog_path(p, sizeof(p), versions[i], ".stripped");
		assert_int_equal(go_runtime_open(p, &rt, err, sizeof(err)), 0);
		spawn(&c, p, argv);
		for (int tries = 0; tries < 100; tries++) {
			memset(&d, 0, sizeof(d));
			d.recurse = func_range(rt, "main.recurse");
			d.goexit = func_range(rt, "runtime.goexit");
			assert_int_equal(go_read_allgs(c.pid, rt, &big, deep_g,
						       &d, &st), 0);
			if (d.found == 20 && d.max_recurse == 301)
				break;
			usleep(20000);
		}
		assert_int_equal(d.found, 20);
		assert_int_equal(d.max_recurse, 301);
		assert_int_equal(d.truncated, 0);
		assert_int_equal(d.ends_in_goexit, 20);
		printf("  go1.%d: 20 x 301 recurse frames to goexit, %zu "
		       "syscalls\n", versions[i], st.syscalls);
		memset(&d, 0, sizeof(d));
		d.recurse = func_range(rt, "main.recurse");
		d.goexit = func_range(rt, "runtime.goexit");
		assert_int_equal(go_read_allgs(c.pid, rt, &small, deep_g, &d,
					       NULL), 0);
		assert_int_equal(d.found, 20);
		assert_int_equal(d.truncated, 20);
		assert_int_equal(d.ends_in_goexit, 0);
		reap(&c);
		go_runtime_close(rt);
	}
}

static int stop_g(const struct go_g *g, void *ctx)
{
	(*(int *)ctx)++;
	return 42;
}

static int count_g(const struct go_g *g, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

/* Errors: not Go, process gone, callback stop. */
static void test_errors(void **state)
{
	char p[1200], err[512] = "";
	char *argv[] = { p, "-recv", "10", "-send", "0", "-select", "0",
			 NULL };
	struct go_runtime *rt = NULL;
	struct child c;
	int n = 0;

	assert_int_equal(go_runtime_open("/bin/true", &rt, err, sizeof(err)),
			 -ENOENT);
	assert_null(rt);
	assert_non_null(strstr(err, "not a Go binary"));
	assert_true(go_runtime_open("/nonexistent", &rt, err,
				    sizeof(err)) == -ENOENT);

	prog_path(p, sizeof(p), versions[nversions - 1], "");
	assert_int_equal(go_runtime_open(p, &rt, err, sizeof(err)), 0);
	spawn(&c, p, argv);
	/* A callback's non-zero value stops the walk and is returned. */
	assert_int_equal(go_read_allgs(c.pid, rt, NULL, stop_g, &n, NULL),
			 42);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(go_read_allgs(c.pid, rt, NULL, count_g, &n, NULL),
			 0);
	assert_true(n >= 11);
	/* Not the binary it runs: its entry does not match. */
	{
		struct go_runtime *other = NULL;
		char q[1200];

		prog_path(q, sizeof(q), versions[0], "");
		assert_int_equal(go_runtime_open(q, &other, err, sizeof(err)),
				 0);
		if (other->entry != rt->entry)
			assert_int_equal(go_read_allgs(c.pid, other, NULL,
						       count_g, &n, NULL),
					 -ENOEXEC);
		go_runtime_close(other);
	}
	reap(&c);
	assert_int_equal(go_read_allgs(c.pid, rt, NULL, count_g, &n, NULL),
			 -ESRCH);
	go_runtime_close(rt);
}

/* One copy per executable: the same file through two paths is shared,
 * another binary is not, and the file path stays usable for uprobes. */
static void test_shared_by_executable(void **state)
{
	int minor = versions[nversions - 1];
	char p[1200], q[1300], r[1200], file[64], err[256] = "";
	struct go_runtime *a, *b, *c;
	struct stat st1, st2;

	prog_path(p, sizeof(p), minor, "");
	snprintf(q, sizeof(q), "/proc/self/root%s%s", p[0] == '/' ? "" : "/", p);
	if (p[0] != '/')	/* a relative build dir: through the cwd */
		snprintf(q, sizeof(q), "/proc/self/cwd/%s", p);
	prog_path(r, sizeof(r), minor, ".stripped");
	assert_int_equal(go_runtime_get(p, &a, err, sizeof(err)), 0);
	assert_int_equal(go_runtime_get(q, &b, err, sizeof(err)), 0);
	assert_ptr_equal(a, b);
	assert_int_equal(go_runtime_get(r, &c, err, sizeof(err)), 0);
	assert_ptr_not_equal(a, c);
	assert_int_equal(stat(go_runtime_file(a, file, sizeof(file)), &st1), 0);
	assert_int_equal(stat(p, &st2), 0);
	assert_true(st1.st_ino == st2.st_ino && st1.st_dev == st2.st_dev);
	go_runtime_put(b);
	assert_int_equal(a->version_minor, minor);	/* still open */
	go_runtime_put(a);
	go_runtime_put(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_minor),
		cmocka_unit_test(test_offsets_tables_equal_dwarf),
		cmocka_unit_test(test_offsets_stripped_use_tables),
		cmocka_unit_test(test_offsets_unknown_version),
		cmocka_unit_test(test_wait_reasons_tables_equal_binary),
		cmocka_unit_test(test_probe_plan),
		cmocka_unit_test(test_wrappers_skipped),
		cmocka_unit_test(test_allgs_locate),
		cmocka_unit_test(test_read_allgs),
		cmocka_unit_test(test_read_allgs_pie),
		cmocka_unit_test(test_read_allgs_30000),
		cmocka_unit_test(test_running_and_syscall),
		cmocka_unit_test(test_deep_stacks),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_shared_by_executable),
		cmocka_unit_test(test_plan_ignores_breakpoints_in_our_mapping),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests_name("goruntime", tests, setup,
					   teardown);
}
