/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for user/gopclntab.c and user/gobuildinfo.c against every Go
 * toolchain installed as /usr/lib/go-1.NN. For each one the Makefile built
 * tests/progs/go/symtest as $LEAKTRACE_BUILD/progs/go1.NN/symtest and
 * symtest.stripped (-s -w). Checked per version:
 *  - go_buildinfo_version equals what `go version BINARY` prints;
 *  - runtime.newproc1, main.main found; runtime.newproc and runtime.goexit1
 *    appear twice, once as a wrapper with this release's FuncIDWrapper;
 *  - gopcln_lookup for every byte of main.* and four PCs in every other
 *    function agrees with go tool addr2line (which prints the physical
 *    function and the innermost file:line, i.e. our last and first frames);
 *  - inlined frames in main.work are clamp <- scale <- mix <- work with
 *    call-site lines taken from main.go itself;
 *  - the stripped binary (same function layout) gives identical answers,
 *    and so do a copy without section headers (segment scans) and a copy
 *    whose build info is unreadable (moduledata layout guessed);
 *  - a -buildmode=pie build (newest toolchain; others if present).
 * Then damaged tables must not crash anything (run under ASan to see).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "go/gopclntab.h"

#define MAX_FRAMES 32
#define MAX_REPORT 15
#define MAX_VERSIONS 32

struct bin {
	int fd;
	Elf *elf;
	void *mem;		/* file copy for the no-section-header variant */
	struct gopcln *t;
};

struct pcs {
	uint64_t *pc;
	size_t n, cap;
};

struct a2l {			/* one answer of go tool addr2line */
	char *func, *file;
	int line;
};

static char build_dir[1024];

static int minor_of(const char *version)
{
	const char *p = strstr(version, "go1.");

	return p ? atoi(p + 4) : 0;
}

enum damage {
	AS_IS,
	NO_SHDRS,	/* section header table dropped: segment scans */
	NO_BUILDINFO,	/* build info magic broken: version unknown */
	PRIVATE_COPY,	/* an in-memory copy to damage at will */
};

static int open_bin(struct bin *b, const char *path, enum damage how)
{
	struct stat st;
	Elf64_Ehdr *eh;
	uint8_t *bi;

	memset(b, 0, sizeof(*b));
	b->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (b->fd < 0)
		return -errno;
	if (how == AS_IS) {
		b->elf = elf_begin(b->fd, ELF_C_READ_MMAP, NULL);
		return b->elf ? 0 : -EINVAL;
	}
	if (fstat(b->fd, &st) || !(b->mem = malloc(st.st_size)) ||
	    pread(b->fd, b->mem, st.st_size, 0) != st.st_size)
		return -EIO;
	eh = b->mem;
	if (how == NO_SHDRS) {
		/* libelf then sees no sections at all. */
		eh->e_shoff = 0;
		eh->e_shnum = 0;
		eh->e_shstrndx = SHN_UNDEF;
	} else if (how == NO_BUILDINFO) {
		bi = memmem(b->mem, st.st_size, "\xff Go buildinf:", 14);
		if (!bi)
			return -ENOENT;
		bi[1] = 'X';
	}
	b->elf = elf_memory(b->mem, st.st_size);
	return b->elf ? 0 : -EINVAL;
}

static void close_bin(struct bin *b)
{
	gopcln_close(b->t);
	if (b->elf)
		elf_end(b->elf);
	if (b->fd > 0)
		close(b->fd);
	free(b->mem);
}

/* `go version BIN` prints "BIN: go1.22.12". */
static int go_version_of(const char *gobin, const char *bin, char *out,
			 size_t len)
{
	char cmd[PATH_MAX * 2 + 32], line[512], *p;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s version '%s'", gobin, bin);
	f = popen(cmd, "r");
	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	pclose(f);
	p = strstr(line, ": ");
	if (!p)
		return -ENOENT;
	p += 2;
	p[strcspn(p, " \n")] = '\0';
	snprintf(out, len, "%s", p);
	return 0;
}

static void add_pc(struct pcs *p, uint64_t pc)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 4096;
		p->pc = realloc(p->pc, p->cap * sizeof(*p->pc));
		assert_non_null(p->pc);
	}
	p->pc[p->n++] = pc;
}

/* Every byte of main.*, entry/middle/last byte and one pseudo-random pc
 * of every other function. */
static void collect_pcs(const struct gopcln *t, struct pcs *p)
{
	uint64_t seed = 88172645463325252ULL, pc;
	struct gopcln_func f;
	size_t i;

	for (i = 0; i < gopcln_func_count(t); i++) {
		assert_int_equal(gopcln_func_at(t, i, &f), 0);
		assert_true(f.entry < f.end);
		if (!strncmp(f.name, "main.", 5)) {
			for (pc = f.entry; pc < f.end; pc++)
				add_pc(p, pc);
			continue;
		}
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		add_pc(p, f.entry);
		add_pc(p, f.entry + (f.end - f.entry) / 2);
		add_pc(p, f.end - 1);
		add_pc(p, f.entry + seed % (f.end - f.entry));
	}
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

/* `go tool addr2line` runs $GOTOOLDIR/addr2line. Go 1.25+ ships no
 * prebuilt copy and `go tool` re-checks or rebuilds it on every call
 * (seconds), so build that same command once into the build dir and run
 * it directly. */
static void find_addr2line(const char *ver, const char *gobin, char *out,
			   size_t len)
{
	char cmd[PATH_MAX * 2], dir[PATH_MAX];
	struct stat tool, go;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s env GOTOOLDIR", gobin);
	f = popen(cmd, "r");
	assert_non_null(f);
	if (!fgets(dir, sizeof(dir), f))
		dir[0] = '\0';
	pclose(f);
	dir[strcspn(dir, "\n")] = '\0';
	snprintf(out, len, "%s/addr2line", dir);
	if (dir[0] && !access(out, X_OK))
		return;
	snprintf(dir, sizeof(dir), "%s/tools/go%s", build_dir, ver);
	snprintf(out, len, "%s/addr2line", dir);
	if (!stat(out, &tool) && !stat(gobin, &go) &&
	    tool.st_mtime >= go.st_mtime)
		return;
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && %s build -o '%s' cmd/addr2line",
		 dir, gobin, out);
	assert_int_equal(system(cmd), 0);
}

static struct a2l *run_addr2line(const char *a2l, const char *bin,
				 const struct pcs *p)
{
	char in[] = "/tmp/lt-a2l-in-XXXXXX", out[] = "/tmp/lt-a2l-out-XXXXXX";
	char cmd[PATH_MAX * 2 + 128], fn[4096], pos[4096];
	struct a2l *a = calloc(p->n, sizeof(*a));
	int ifd = mkstemp(in), ofd = mkstemp(out);
	FILE *f;
	size_t i;

	assert_non_null(a);
	assert_true(ifd >= 0 && ofd >= 0);
	f = fdopen(ifd, "w");
	assert_non_null(f);
	for (i = 0; i < p->n; i++)
		fprintf(f, "0x%llx\n", (unsigned long long)p->pc[i]);
	fclose(f);
	close(ofd);
	snprintf(cmd, sizeof(cmd), "'%s' '%s' < %s > %s", a2l, bin, in, out);
	assert_int_equal(system(cmd), 0);
	f = fopen(out, "r");
	assert_non_null(f);
	for (i = 0; i < p->n; i++) {
		char *colon;

		assert_non_null(fgets(fn, sizeof(fn), f));
		assert_non_null(fgets(pos, sizeof(pos), f));
		fn[strcspn(fn, "\n")] = '\0';
		pos[strcspn(pos, "\n")] = '\0';
		colon = strrchr(pos, ':');
		assert_non_null(colon);
		*colon = '\0';
		a[i].func = xstrdup(fn);
		a[i].file = xstrdup(pos);
		a[i].line = atoi(colon + 1);
	}
	fclose(f);
	unlink(in);
	unlink(out);
	return a;
}

static void free_a2l(struct a2l *a, size_t n)
{
	size_t i;

	for (i = 0; a && i < n; i++) {
		free(a[i].func);
		free(a[i].file);
	}
	free(a);
}

/* Our frames vs addr2line: physical function = last frame, file:line =
 * first frame. addr2line says "?" / "?:0" outside Go code and ":-1" where
 * the pc tables end (padding). Returns the number of mismatches. */
static int compare_a2l(const char *what, const struct gopcln *t,
		       const struct pcs *p, const struct a2l *a,
		       size_t *inlined)
{
	struct gopcln_frame fr[MAX_FRAMES];
	int bad = 0, n;
	size_t i;

	*inlined = 0;
	for (i = 0; i < p->n; i++) {
		const char *func, *file;
		int line;

		n = gopcln_lookup(t, p->pc[i], fr, MAX_FRAMES);
		func = n ? fr[n - 1].func : "?";
		file = n ? (fr[0].file ? fr[0].file : "") : "?";
		line = n ? fr[0].line : 0;
		if (n > 1)
			(*inlined)++;
		if (!strcmp(func, a[i].func) && !strcmp(file, a[i].file) &&
		    line == (a[i].line > 0 ? a[i].line : 0))
			continue;
		if (bad++ < MAX_REPORT)
			print_error("%s: pc 0x%llx: gopcln %s %s:%d (%d frames), addr2line %s %s:%d\n",
				    what, (unsigned long long)p->pc[i], func,
				    file, line, n, a[i].func, a[i].file,
				    a[i].line);
	}
	return bad;
}

/* Same answers, frame by frame, from two tables of one layout. */
static int compare_tables(const char *what, const struct gopcln *x,
			  const struct gopcln *y, const struct pcs *p)
{
	struct gopcln_frame fx[MAX_FRAMES], fy[MAX_FRAMES];
	int bad = 0, nx, ny, k;
	size_t i;

	for (i = 0; i < p->n; i++) {
		nx = gopcln_lookup(x, p->pc[i], fx, MAX_FRAMES);
		ny = gopcln_lookup(y, p->pc[i], fy, MAX_FRAMES);
		for (k = 0; nx == ny && k < nx; k++) {
			if (strcmp(fx[k].func, fy[k].func) ||
			    fx[k].line != fy[k].line ||
			    fx[k].entry != fy[k].entry ||
			    !fx[k].file != !fy[k].file ||
			    (fx[k].file && strcmp(fx[k].file, fy[k].file)))
				break;
		}
		if (nx == ny && k == nx)
			continue;
		if (bad++ < MAX_REPORT)
			print_error("%s: pc 0x%llx differs (%d vs %d frames, frame %d)\n",
				    what, (unsigned long long)p->pc[i], nx, ny,
				    k);
	}
	return bad;
}

static bool same_layout(const struct gopcln *x, const struct gopcln *y)
{
	struct gopcln_func a, b;
	size_t i;

	if (gopcln_func_count(x) != gopcln_func_count(y))
		return false;
	for (i = 0; i < gopcln_func_count(x); i++) {
		if (gopcln_func_at(x, i, &a) || gopcln_func_at(y, i, &b) ||
		    strcmp(a.name, b.name) || a.entry != b.entry ||
		    a.end != b.end || a.funcid != b.funcid)
			return false;
	}
	return true;
}

/* Release's FuncIDWrapper: the last value of a growing enum. */
static int expected_wrapper_id(int minor)
{
	return minor >= 25 ? 23 : minor >= 22 ? 22 : 21;
}

static void check_funcs(const struct gopcln *t, int minor)
{
	struct gopcln_func f, g;
	const char *twice[] = { "runtime.newproc", "runtime.goexit1" };
	size_t i, k;

	assert_true(gopcln_func_count(t) > 1000);
	assert_int_equal(gopcln_wrapper_funcid(t), expected_wrapper_id(minor));
	assert_int_equal(gopcln_find_func(t, "runtime.newproc1", true, &f), 0);
	assert_false(f.wrapper);
	assert_true(f.end > f.entry);
	assert_int_equal(gopcln_find_func(t, "main.main", true, &f), 0);
	assert_int_equal(gopcln_func_for_pc(t, f.entry + 1, &g), 0);
	assert_string_equal(g.name, "main.main");
	assert_int_equal(gopcln_find_func(t, "main.nosuchfunc", false, &f),
			 -ENOENT);
	for (k = 0; k < 2; k++) {
		int normal = 0, wrappers = 0;

		for (i = 0; i < gopcln_func_count(t); i++) {
			assert_int_equal(gopcln_func_at(t, i, &f), 0);
			if (strcmp(f.name, twice[k]))
				continue;
			if (f.wrapper) {
				assert_int_equal(f.funcid,
						 expected_wrapper_id(minor));
				wrappers++;
			} else {
				normal++;
			}
		}
		assert_int_equal(normal, 1);
		assert_int_equal(wrappers, 1);
		assert_int_equal(gopcln_find_func(t, twice[k], true, &f), 0);
		assert_false(f.wrapper);
	}
	/* Sorted and contiguous. */
	for (i = 1; i < gopcln_func_count(t); i++) {
		assert_int_equal(gopcln_func_at(t, i - 1, &f), 0);
		assert_int_equal(gopcln_func_at(t, i, &g), 0);
		assert_true(f.end <= g.entry);
	}
	assert_int_equal(gopcln_func_at(t, gopcln_func_count(t), &f), -ENOENT);
}

/* First line of file containing needle, 0 if none. */
static int find_line(const char *file, const char *needle)
{
	char buf[1024];
	int n = 0, found = 0;
	FILE *f = fopen(file, "r");

	if (!f)
		return 0;
	while (!found && fgets(buf, sizeof(buf), f)) {
		n++;
		if (strstr(buf, needle))
			found = n;
	}
	fclose(f);
	return found;
}

/* main.work inlines mix -> scale -> clamp: find a pc inside clamp and
 * check every frame's call-site line against main.go. */
static void check_inline_chain(const struct gopcln *t)
{
	static const char *const names[] = { "main.clamp", "main.scale",
					     "main.mix", "main.work" };
	struct gopcln_frame fr[MAX_FRAMES], one;
	struct gopcln_func w;
	int scale, mix, work, clamp_lo, n, k, hits = 0;
	uint64_t pc;

	assert_int_equal(gopcln_find_func(t, "main.work", true, &w), 0);
	for (pc = w.entry; pc < w.end; pc++) {
		n = gopcln_lookup(t, pc, fr, MAX_FRAMES);
		if (n != 4)
			continue;
		for (k = 0; k < 4; k++)
			assert_string_equal(fr[k].func, names[k]);
		assert_non_null(fr[0].file);
		scale = find_line(fr[0].file, "func scale(v int) int { return clamp(");
		mix = find_line(fr[0].file, "func mix(a, b int) int { return scale(");
		work = find_line(fr[0].file, "acc += mix(i, acc)");
		clamp_lo = find_line(fr[0].file, "func clamp(");
		assert_true(scale && mix && work && clamp_lo);
		assert_true(fr[0].line > clamp_lo && fr[0].line < clamp_lo + 8);
		assert_int_equal(fr[1].line, scale);
		assert_int_equal(fr[2].line, mix);
		assert_int_equal(fr[3].line, work);
		for (k = 0; k < 3; k++)
			assert_int_equal(fr[k].entry, 0);
		assert_int_equal(fr[3].entry, w.entry);
		/* Room for one frame: the physical one at its call site. */
		assert_int_equal(gopcln_lookup(t, pc, &one, 1), 1);
		assert_string_equal(one.func, "main.work");
		assert_int_equal(one.line, work);
		hits++;
	}
	assert_true(hits > 0);
}

static char newest_ver[16];

/* -buildmode=pie: pclntab in .data.rel.ro.gopclntab before Go 1.26,
 * moduledata in relro. The Makefile builds exe only, so the newest
 * toolchain's PIE is built here (a cold PIE std build costs many seconds
 * per version); older versions are checked when their symtest.pie exists.
 * Compared with the newest addr2line: older ones (1.19) cannot read PIE. */
static int check_pie(const char *ver, const char *gobin, int minor,
		     const struct gopcln *ref, size_t *npcs)
{
	static char a2l[PATH_MAX];
	char pie[PATH_MAX], src[PATH_MAX], cmd[PATH_MAX * 3], newest_go[64];
	struct gopcln_frame fr[MAX_FRAMES];
	struct gopcln_func mf;
	struct stat ps, ss;
	struct pcs p = { 0 };
	struct a2l *a;
	struct bin b;
	size_t inl;
	int n, bad;

	*npcs = 0;
	/* Source directory: where main.go was, per the table itself. */
	assert_int_equal(gopcln_find_func(ref, "main.main", true, &mf), 0);
	n = gopcln_lookup(ref, mf.entry, fr, MAX_FRAMES);
	assert_true(n > 0 && fr[n - 1].file);
	snprintf(src, sizeof(src), "%s", fr[n - 1].file);
	*strrchr(src, '/') = '\0';
	snprintf(pie, sizeof(pie), "%s/progs/go%s/symtest.pie", build_dir, ver);
	if (strcmp(ver, newest_ver) && access(pie, R_OK))
		return 0;
	if (stat(pie, &ps) || stat(fr[n - 1].file, &ss) ||
	    ps.st_mtime < ss.st_mtime) {
		snprintf(cmd, sizeof(cmd),
			 "cd '%s' && %s build -buildmode=pie -o '%s' .", src,
			 gobin, pie);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_equal(open_bin(&b, pie, AS_IS), 0);
	assert_int_equal(gopcln_open(b.elf, &b.t), 0);
	check_funcs(b.t, minor);
	check_inline_chain(b.t);
	snprintf(newest_go, sizeof(newest_go), "/usr/lib/go-%s/bin/go",
		 newest_ver);
	if (!a2l[0])
		find_addr2line(newest_ver, newest_go, a2l, sizeof(a2l));
	collect_pcs(b.t, &p);
	a = run_addr2line(a2l, pie, &p);
	bad = compare_a2l("pie", b.t, &p, a, &inl);
	assert_true(inl > 0);
	*npcs = p.n;
	free_a2l(a, p.n);
	free(p.pc);
	close_bin(&b);
	return bad;
}

static void test_version(void **state)
{
	const char *ver = *state;	/* "1.22" */
	char gobin[64], path[PATH_MAX], spath[PATH_MAX + 16], want[64],
		got[64], a2l[PATH_MAX];
	struct bin b, s, ns, nb;
	struct pcs p = { 0 };
	struct a2l *a;
	size_t inl, inl_s, npie = 0;
	int bad = 0, minor = atoi(ver + 2);
	bool layout;

	snprintf(gobin, sizeof(gobin), "/usr/lib/go-%.16s/bin/go", ver);
	snprintf(path, sizeof(path), "%s/progs/go%s/symtest", build_dir, ver);
	snprintf(spath, sizeof(spath), "%s.stripped", path);
	if (access(path, R_OK) || access(spath, R_OK))
		fail_msg("%s or %s missing: run `make go-progs`", path, spath);

	assert_int_equal(open_bin(&b, path, AS_IS), 0);
	assert_int_equal(open_bin(&s, spath, AS_IS), 0);
	assert_int_equal(open_bin(&ns, spath, NO_SHDRS), 0);

	/* Version, from all three. */
	assert_int_equal(go_version_of(gobin, path, want, sizeof(want)), 0);
	assert_int_equal(go_buildinfo_version(b.elf, got, sizeof(got)), 0);
	assert_string_equal(got, want);
	assert_int_equal(minor_of(got), minor);
	assert_int_equal(go_version_of(gobin, spath, want, sizeof(want)), 0);
	assert_int_equal(go_buildinfo_version(s.elf, got, sizeof(got)), 0);
	assert_string_equal(got, want);
	assert_int_equal(go_buildinfo_version(ns.elf, got, sizeof(got)), 0);
	assert_string_equal(got, want);
	assert_int_equal(go_buildinfo_version(b.elf, got, 4), -ENOSPC);

	assert_int_equal(gopcln_open(b.elf, &b.t), 0);
	assert_int_equal(gopcln_open(s.elf, &s.t), 0);
	assert_int_equal(gopcln_open(ns.elf, &ns.t), 0);
	assert_int_equal(gopcln_text_start(b.t), gopcln_text_start(ns.t));
	check_funcs(b.t, minor);
	check_funcs(s.t, minor);
	check_funcs(ns.t, minor);
	check_inline_chain(b.t);
	check_inline_chain(s.t);

	find_addr2line(ver, gobin, a2l, sizeof(a2l));
	collect_pcs(b.t, &p);
	a = run_addr2line(a2l, path, &p);
	bad += compare_a2l("unstripped", b.t, &p, a, &inl);
	layout = same_layout(b.t, s.t);
	if (!layout) {
		/* Different code layout: ask addr2line about the stripped
		 * binary itself, on its own pcs. */
		free_a2l(a, p.n);
		p.n = 0;
		collect_pcs(s.t, &p);
		a = run_addr2line(a2l, spath, &p);
	}
	bad += compare_a2l("stripped", s.t, &p, a, &inl_s);
	bad += compare_tables("no-section-headers", s.t, ns.t, &p);
	/* Version unknown: moduledata layout from its own shape. */
	assert_int_equal(open_bin(&nb, path, NO_BUILDINFO), 0);
	assert_int_equal(go_buildinfo_version(nb.elf, got, sizeof(got)),
			 -ENOENT);
	assert_int_equal(gopcln_open(nb.elf, &nb.t), 0);
	bad += compare_tables("no-buildinfo", b.t, nb.t, &p);
	close_bin(&nb);
	bad += check_pie(ver, gobin, minor, b.t, &npie);
	print_message("[  INFO    ] go%s: %zu funcs, %zu pcs compared (%zu with inlined frames), stripped %s layout, pie %zu pcs, %d mismatches\n",
		      ver, gopcln_func_count(b.t), p.n, inl,
		      layout ? "same" : "different", npie, bad);
	assert_true(inl > 0 && inl_s > 0);
	free_a2l(a, p.n);
	free(p.pc);
	close_bin(&b);
	close_bin(&s);
	close_bin(&ns);
	if (bad)
		fail_msg("go%s: %d mismatches", ver, bad);
}

/* A C binary: no pclntab, no build info. */
static void test_not_go(void **state)
{
	struct gopcln *t = (void *)1;
	struct bin b;
	char buf[64];

	assert_int_equal(open_bin(&b, "/proc/self/exe", AS_IS), 0);
	assert_int_equal(gopcln_open(b.elf, &t), -ENOENT);
	assert_null(t);
	assert_int_equal(go_buildinfo_version(b.elf, buf, sizeof(buf)),
			 -ENOENT);
	close_bin(&b);
}

static void put_word(uint8_t *p, uint64_t v, bool be)
{
	int i;

	for (i = 0; i < 8; i++)
		p[be ? 7 - i : i] = (uint8_t)(v >> (8 * i));
}

/* Go 1.16-1.17 build info: pointers to Go string headers instead of
 * inline strings. No such toolchain here, so rewrite a newer blob into
 * that shape (both byte orders) and read it back. */
static void test_buildinfo_pointers(void **state)
{
	char path[PATH_MAX], buf[64];
	struct bin b;
	GElf_Shdr sh;
	uint8_t *bi;
	int be;

	snprintf(path, sizeof(path), "%s/progs/go%s/symtest.stripped",
		 build_dir, newest_ver);
	for (be = 0; be < 2; be++) {
		assert_int_equal(open_bin(&b, path, PRIVATE_COPY), 0);
		assert_int_equal(go_elf_section(b.elf, ".go.buildinfo", &sh), 0);
		bi = (uint8_t *)b.mem + sh.sh_offset;
		bi[14] = 8;
		bi[15] = be;		/* pointer format, byte order */
		put_word(bi + 16, sh.sh_addr + 32, be);	/* -> {data, len} */
		put_word(bi + 24, 0, be);
		put_word(bi + 32, sh.sh_addr + 48, be);
		put_word(bi + 40, 9, be);
		memcpy(bi + 48, "go1.16.15", 9);
		assert_int_equal(go_buildinfo_version(b.elf, buf, sizeof(buf)),
				 0);
		assert_string_equal(buf, "go1.16.15");
		/* A pointer outside the file: not found, no crash. */
		put_word(bi + 16, 0x10, be);
		assert_int_equal(go_buildinfo_version(b.elf, buf, sizeof(buf)),
				 -ENOENT);
		close_bin(&b);
	}
}

/* Garbage in the table must give wrong answers at worst, never a crash:
 * flip random bytes of the newest symtest's .gopclntab (header included)
 * and look up pcs over the whole text. Run under ASan to make it count. */
static void test_corrupt(void **state)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL, pc, text;
	struct gopcln_frame fr[MAX_FRAMES];
	char path[PATH_MAX];
	struct gopcln_func f;
	struct bin b;
	GElf_Shdr sh;
	int round, k, opened = 0;

	snprintf(path, sizeof(path), "%s/progs/go%s/symtest", build_dir,
		 newest_ver);
	for (round = 0; round < 40; round++) {
		uint8_t *tab;

		assert_int_equal(open_bin(&b, path, PRIVATE_COPY), 0);
		assert_int_equal(go_elf_section(b.elf, ".gopclntab", &sh), 0);
		tab = (uint8_t *)b.mem + sh.sh_offset;
		for (k = 0; k < (round < 20 ? 64 : 4096); k++) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			/* Half the rounds hit the header and functab. */
			tab[seed % (round & 1 ? sh.sh_size : 4096)] ^=
				(uint8_t)(seed >> 56) | 1;
		}
		if (gopcln_open(b.elf, &b.t)) {
			close_bin(&b);
			continue;
		}
		opened++;
		text = gopcln_text_start(b.t);
		for (pc = text; pc < text + 0x100000; pc += 97)
			gopcln_lookup(b.t, pc, fr, MAX_FRAMES);
		for (k = 0; k < 2000; k++)
			gopcln_func_at(b.t, (size_t)k * 7, &f);
		gopcln_find_func(b.t, "main.main", true, &f);
		close_bin(&b);
	}
	print_message("[  INFO    ] corrupt: %d of 40 damaged tables opened and queried\n",
		      opened);
	assert_true(opened > 0);
}

static int cmp_ver(const void *x, const void *y)
{
	return atoi(*(char *const *)x + 2) - atoi(*(char *const *)y + 2);
}

int main(void)
{
	struct CMUnitTest tests[MAX_VERSIONS + 3];
	char *vers[MAX_VERSIONS], names[MAX_VERSIONS][32], cache[PATH_MAX];
	const char *env = getenv("LEAKTRACE_BUILD");
	struct dirent *de;
	DIR *d;
	int n = 0, i;

	snprintf(build_dir, sizeof(build_dir), "%s", env ? env : "build");
	/* Go wants absolute cache and GOPATH directories. */
	if (realpath(build_dir, cache))
		snprintf(build_dir, sizeof(build_dir), "%.1000s", cache);
	snprintf(cache, sizeof(cache), "%s/gocache", build_dir);
	setenv("GOTOOLCHAIN", "local", 1);
	setenv("GOPROXY", "off", 1);
	setenv("GO111MODULE", "off", 1);
	setenv("GOFLAGS", "-buildvcs=false", 1);
	setenv("GOCACHE", cache, 1);
	snprintf(cache, sizeof(cache), "%s/gopath", build_dir);
	setenv("GOPATH", cache, 1);
	elf_version(EV_CURRENT);

	d = opendir("/usr/lib");
	while (d && (de = readdir(d)) && n < MAX_VERSIONS) {
		if (!strncmp(de->d_name, "go-1.", 5))
			vers[n++] = strdup(de->d_name + 3);
	}
	if (d)
		closedir(d);
	qsort(vers, n, sizeof(vers[0]), cmp_ver);
	if (n)
		snprintf(newest_ver, sizeof(newest_ver), "%s", vers[n - 1]);
	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "go%s", vers[i]);
		tests[i] = (struct CMUnitTest){ .name = names[i],
						.test_func = test_version,
						.initial_state = vers[i] };
	}
	tests[n] = (struct CMUnitTest){ .name = "not_go",
					.test_func = test_not_go };
	tests[n + 1] = (struct CMUnitTest){ .name = "corrupt",
					    .test_func = test_corrupt };
	tests[n + 2] = (struct CMUnitTest){
		.name = "buildinfo_pointers",
		.test_func = test_buildinfo_pointers };
	i = _cmocka_run_group_tests("gopclntab", tests, n + 3, NULL, NULL);
	while (n > 0)
		free(vers[--n]);
	return i;
}
