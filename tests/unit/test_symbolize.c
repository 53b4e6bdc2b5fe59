// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Symbolizer against real processes. The fixtures in tests/unit/fixtures
 * are compiled here in several ways (-O0 non-PIE, -O2 PIE + dlopen'd
 * library, stripped, stripped with a .gnu_debuglink file, C++), started,
 * and the runtime addresses they print are symbolized through /proc/PID,
 * before and after the process is killed. Go binaries built by `make progs`
 * ($LEAKTRACE_BUILD/progs/go1.NN) are checked when present.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <gelf.h>
#include "sym/elfsym.h"
#include "go/gopclntab.h"
#include "proc/procmaps.h"
#include "sym/symbolize.h"

#define MAXV 16
/* cmocka's assert_string_equal() crashes on NULL */
#define assert_str(a, b)                   \
	do {                               \
		assert_non_null(a);        \
		assert_string_equal(a, b); \
	} while (0)

struct proc {
	pid_t pid;
	int fd;			/* its stdout */
	int n;
	char names[MAXV][32];
	uint64_t vals[MAXV];
};

static pid_t live[8];		/* fixtures a failed test left running */
static char tmpdir[64];
static char srcdir[1024];

/* ---- helpers ---- */

static int run_sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = s ? strlen(s) : 0, b = strlen(suffix);

	return s && a >= b && !strcmp(s + a - b, suffix);
}

/* Line number of the "LINE:tag" marker in a fixture source. */
static int marker_line(const char *file, const char *tag)
{
	char path[PATH_MAX], line[512], want[64];
	int n = 0, found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", srcdir, file);
	snprintf(want, sizeof(want), "LINE:%s ", tag);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (strstr(line, want)) {
			found = n;
			break;
		}
	}
	fclose(f);
	assert_int_not_equal(found, 0);
	return found;
}

/* Reads "name value" lines (later ones win) until a "ready" line. */
static void read_vals(struct proc *p)
{
	char buf[4096], *line, *save;
	size_t len = 0;

	for (;;) {
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		ssize_t r;

		assert_int_equal(poll(&pfd, 1, 10000), 1);
		r = read(p->fd, buf + len, sizeof(buf) - 1 - len);
		assert_true(r > 0);
		len += r;
		buf[len] = '\0';
		if (len && buf[len - 1] == '\n' &&
		    (!strncmp(buf, "ready", 5) || strstr(buf, "\nready")))
			break;
	}
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[32];
		void *v;
		int i;

		if (sscanf(line, "%31s %p", name, &v) != 2)
			continue;
		for (i = 0; i < p->n && strcmp(p->names[i], name); i++)
			;
		if (i == MAXV)
			continue;
		snprintf(p->names[i], sizeof(p->names[0]), "%s", name);
		p->vals[i] = (uint64_t)(uintptr_t)v;
		if (i == p->n)
			p->n++;
	}
}

/* Starts bin (args NULL-terminated) and reads what it prints up to
 * "ready". */
static void start_proc(struct proc *p, const char *bin, ...)
{
	char *argv[8];
	int fds[2], argc = 0;
	va_list ap;
	size_t i;

	memset(p, 0, sizeof(*p));
	argv[argc++] = (char *)bin;
	va_start(ap, bin);
	while (argc < 7 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	assert_int_equal(pipe(fds), 0);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (!p->pid) {
		int null = open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, 0);	/* Go fixtures that wait on stdin block */
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execv(bin, argv);
		_exit(127);
	}
	close(fds[1]);
	p->fd = fds[0];
	for (i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
		if (!live[i]) {
			live[i] = p->pid;
			break;
		}
	}
	read_vals(p);
}

static uint64_t val(const struct proc *p, const char *name)
{
	int i;

	for (i = 0; i < p->n; i++)
		if (!strcmp(p->names[i], name))
			return p->vals[i];
	fail_msg("fixture did not print %s", name);
	return 0;
}

static void kill_pid(pid_t pid)
{
	size_t i;

	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] == pid)
			live[i] = 0;
}

static void stop_proc(struct proc *p)
{
	if (p->pid > 0)
		kill_pid(p->pid);
	if (p->fd > 0)
		close(p->fd);
	p->pid = 0;
	p->fd = -1;
}

static int kill_leftovers(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] > 0)
			kill_pid(live[i]);
	return 0;
}

static void fix_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* Single frame: function, file suffix and line (skipped when 0/NULL). */
static void expect1(struct symbolizer *s, uint64_t addr, bool ret,
		    const char *func, const char *file, int line)
{
	struct frame f[8];
	int n = symbolize(s, addr, ret, f, 8);

	assert_true(n >= 1);
	assert_int_equal(f[0].addr, addr);
	if (func) {
		assert_non_null(f[0].function);
		assert_str(f[0].function, func);
	} else {
		assert_null(f[0].function);
	}
	if (file)
		assert_true(ends_with(f[0].file, file));
	if (line)
		assert_int_equal(f[0].line, line);
}

/* Line addr2line (binutils) gives for a link-time address. */
static int addr2line(const char *bin, uint64_t addr)
{
	char cmd[PATH_MAX + 64], out[PATH_MAX];
	char *colon;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "addr2line -e '%s' 0x%llx", bin,
		 (unsigned long long)addr);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_non_null(fgets(out, sizeof(out), f));
	pclose(f);
	colon = strrchr(out, ':');
	assert_non_null(colon);
	return atoi(colon + 1);
}

/* The inlined chain of the return address in sf_outer: sf_leaf was called
 * from sf_inl, inlined into sf_outer. */
static void expect_inlined(struct symbolizer *s, uint64_t ra)
{
	struct frame f[8];
	int n;

	n = symbolize(s, ra, true, f, 8);
	assert_int_equal(n, 2);
	assert_str(f[0].function, "sf_inl");
	assert_true(f[0].inlined);
	assert_true(ends_with(f[0].file, "/symfix.c"));
	assert_int_equal(f[0].line, marker_line("symfix.c", "inl_call"));
	assert_str(f[1].function, "sf_outer");
	assert_false(f[1].inlined);
	assert_true(ends_with(f[1].file, "/symfix.c"));
	assert_int_equal(f[1].line, marker_line("symfix.c", "outer_call"));
	assert_ptr_equal(f[0].module, f[1].module);
	/* a caller's max cuts the chain */
	assert_int_equal(symbolize(s, ra, true, f, 1), 1);
	assert_str(f[0].function, "sf_inl");
}

static void expect_libc(struct symbolizer *s, uint64_t addr)
{
	struct frame f[8];

	assert_true(symbolize(s, addr, false, f, 8) >= 1);
	assert_non_null(f[0].module);
	assert_non_null(strstr(f[0].module, "libc"));
	assert_non_null(f[0].function);
	assert_non_null(strstr(f[0].function, "malloc"));
}

/* Offset of a symbol in the vDSO, which is the same in every process. */
static uint64_t vdso_offset(const char *name)
{
	const char *base = (const char *)getauxval(AT_SYSINFO_EHDR);
	const struct map_entry *e;
	struct map_entry *m;
	Elf_Scn *scn = NULL;
	uint64_t off = 0;
	size_t n;
	Elf *elf;

	if (!base)	/* valgrind hides it */
		return 0;
	assert_int_equal(procmaps_read(getpid(), &m, &n), 0);
	e = procmaps_find(m, n, (uintptr_t)base);
	assert_non_null(e);
	elf_version(EV_CURRENT);
	elf = elf_memory((char *)base, e->end - e->start);
	assert_non_null(elf);
	while (!off && (scn = elf_nextscn(elf, scn))) {
		Elf_Data *d = elf_getdata(scn, NULL);
		GElf_Shdr sh;
		GElf_Sym sym;
		size_t i;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM)
			continue;
		for (i = 0; d && i < sh.sh_size / sh.sh_entsize; i++)
			if (gelf_getsym(d, i, &sym) &&
			    !strcmp(elf_strptr(elf, sh.sh_link, sym.st_name),
				    name))
				off = sym.st_value;
	}
	elf_end(elf);
	procmaps_free(m, n);
	assert_int_not_equal(off, 0);
	return off;
}

/* ---- setup ---- */

/* Fixture sources: $LEAKTRACE_SRC, the current directory (make runs tests
 * from the top), the path this file was compiled from, or next to the
 * binary's build/tests/ directory. */
static int find_srcdir(void)
{
	const char *env = getenv("LEAKTRACE_SRC");
	char cand[4][PATH_MAX], real[PATH_MAX], exe[PATH_MAX], *slash;
	ssize_t len;
	int i;

	snprintf(cand[0], sizeof(cand[0]), "%s/tests/unit/fixtures",
		 env ? env : ".");
	snprintf(cand[1], sizeof(cand[1]), "tests/unit/fixtures");
	snprintf(cand[2], sizeof(cand[2]), "%s", __FILE__);
	slash = strrchr(cand[2], '/');
	snprintf(slash ? slash : cand[2],
		 sizeof(cand[2]) - (slash ? slash - cand[2] : 0), "/fixtures");
	cand[3][0] = '\0';
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len > 0) {
		exe[len] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		snprintf(cand[3], sizeof(cand[3]),
			 "%.*s/../../tests/unit/fixtures", PATH_MAX - 32, exe);
	}
	for (i = 0; i < 4; i++) {
		if (!cand[i][0] || !realpath(cand[i], real) ||
		    strlen(real) >= sizeof(srcdir) || access(real, R_OK))
			continue;
		strcpy(srcdir, real);
		return 0;
	}
	return -1;
}

static int group_setup(void **state)
{
	static const char *const builds[] = {
		"gcc -g -O0 -fno-pie -no-pie -o nopie '%s/symfix.c'",
		"gcc -g -O2 -fpie -pie -o pie '%s/symfix.c'",
		"gcc -g -O2 -fPIC -shared -o libsymlib.so '%s/symlib.c'",
		"gcc -O2 -o strip '%s/symfix.c' && strip -s strip",
		"gcc -O2 -rdynamic -o stripdyn '%s/symfix.c' && "
		"strip -s stripdyn",
		/* no build id: found by .gnu_debuglink, checked by crc */
		"gcc -g -O2 -Wl,--build-id=none -o dbg '%s/symfix.c' && "
		"objcopy --only-keep-debug dbg dbg.debug && strip -s dbg && "
		"objcopy --add-gnu-debuglink=dbg.debug dbg && mkdir .debug && "
		"mv dbg.debug .debug/",
		"g++ -g -O2 -o cc '%s/symfix_cc.cc'",
		/* no .debug_aranges: CUs found through their ranges */
		"! command -v clang >/dev/null || "
		"clang -g -O2 -o clang '%s/symfix.c'",
	};
	pid_t pids[sizeof(builds) / sizeof(builds[0])];
	size_t i;
	int st, bad = 0;

	if (find_srcdir()) {
		fprintf(stderr, "fixtures not found; set LEAKTRACE_SRC\n");
		return -1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lt-symtest.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	for (i = 0; i < sizeof(builds) / sizeof(builds[0]); i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			return -1;
		if (!pids[i]) {
			char cmd[8192];

			if (chdir(tmpdir))
				_exit(1);
			snprintf(cmd, sizeof(cmd), builds[i], srcdir);
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
			_exit(127);
		}
	}
	for (i = 0; i < sizeof(builds) / sizeof(builds[0]); i++) {
		if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st)) {
			fprintf(stderr, "build failed: %s\n", builds[i]);
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

static int group_teardown(void **state)
{
	if (tmpdir[0])
		run_sh("rm -rf '%s'", tmpdir);
	return 0;
}

/* ---- tests ---- */

static void test_nopie_O0(void **state)
{
	char bin[PATH_MAX];
	struct symbolizer_stats st;
	struct symbolizer *s;
	struct frame f[8];
	struct proc p;
	uint64_t bias = 1, off;

	fix_path(bin, sizeof(bin), "nopie");
	start_proc(&p, bin, NULL);
	s = symbolizer_new(p.pid);
	assert_non_null(s);

	assert_int_equal(symbolizer_bias(s, val(&p, "sf_leaf"), &bias), 0);
	assert_int_equal(bias, 0);	/* non-PIE: runtime == link-time */
	assert_int_equal(symbolizer_bias(s, val(&p, "data"), &bias), 0);
	assert_int_equal(bias, 0);
	assert_int_equal(symbolize(s, val(&p, "sf_leaf"), false, f, 8), 1);
	assert_str(f[0].function, "sf_leaf");
	assert_str(f[0].module, bin);
	assert_true(ends_with(f[0].file, "/symfix.c"));
	assert_int_equal(f[0].line, addr2line(bin, val(&p, "sf_leaf")));
	assert_false(f[0].inlined);

	expect1(s, val(&p, "ra_caller"), true, "sf_caller", "/symfix.c",
		marker_line("symfix.c", "caller_call"));
	assert_int_equal(marker_line("symfix.c", "caller_call"),
			 addr2line(bin, val(&p, "ra_caller") - 1));
	expect_inlined(s, val(&p, "ra_leaf"));
	expect_libc(s, val(&p, "malloc"));

	assert_true(symbolizer_is_return_addr(s, val(&p, "ra_caller")));
	assert_true(symbolizer_is_return_addr(s, val(&p, "ra_leaf")));
	assert_false(symbolizer_is_return_addr(s, val(&p, "data")));
	assert_false(symbolizer_is_return_addr(s, 0));
	assert_null(symbolizer_go_version(s));

	/* data: module known, no function */
	assert_int_equal(symbolize(s, val(&p, "data"), false, f, 8), 1);
	assert_str(f[0].module, bin);
	assert_null(f[0].function);
	/* the vDSO, read from the target's memory */
	off = vdso_offset("__vdso_clock_gettime");
	if (off) {
		assert_int_equal(symbolize(s, val(&p, "vdso") + off, false,
					   f, 8), 1);
		assert_str(f[0].module, "[vdso]");
		assert_non_null(f[0].function);
		assert_non_null(strstr(f[0].function, "clock_gettime"));
	}
	/* unmapped */
	assert_int_equal(symbolize(s, 0x10, false, f, 8), 1);
	assert_null(f[0].module);
	assert_null(f[0].function);

	/* After exit: nothing dropped, new addresses still resolve. */
	stop_proc(&p);
	assert_int_equal(symbolizer_refresh(s), -ESRCH);
	symbolizer_get_stats(s, &st);
	assert_true(st.gone);
	assert_true(st.mappings > 4);
	expect1(s, val(&p, "sf_outer"), false, "sf_outer", "/symfix.c", 0);
	expect1(s, val(&p, "ra_caller"), false, "sf_caller", "/symfix.c", 0);
	expect_inlined(s, val(&p, "ra_leaf"));
	expect_libc(s, val(&p, "malloc") + 1);
	assert_true(symbolizer_is_return_addr(s, val(&p, "ra_caller")));
	symbolizer_free(s);
}

static void test_pie_O2_dlopen(void **state)
{
	char bin[PATH_MAX], lib[PATH_MAX];
	struct symbolizer *s;
	struct frame f[8];
	uint64_t bias = 0, dbias = 1;
	struct proc p;

	fix_path(bin, sizeof(bin), "pie");
	fix_path(lib, sizeof(lib), "libsymlib.so");
	start_proc(&p, bin, lib, NULL);
	s = symbolizer_new(p.pid);
	assert_non_null(s);

	assert_int_equal(symbolizer_bias(s, val(&p, "sf_leaf"), &bias), 0);
	assert_int_not_equal(bias, 0);
	assert_int_equal((val(&p, "sf_leaf") - bias) >> 32, 0);  /* link-time */
	/* The data mapping starts below its segment's unaligned p_offset:
	 * same bias only if the file offset is taken into account. */
	assert_int_equal(symbolizer_bias(s, val(&p, "data"), &dbias), 0);
	assert_int_equal(dbias, bias);
	expect1(s, val(&p, "sf_leaf"), false, "sf_leaf", "/symfix.c", 0);
	expect1(s, val(&p, "sf_caller"), false, "sf_caller", "/symfix.c", 0);
	expect1(s, val(&p, "ra_caller"), true, "sf_caller", "/symfix.c",
		marker_line("symfix.c", "caller_call"));
	expect_inlined(s, val(&p, "ra_leaf"));
	expect_libc(s, val(&p, "malloc"));

	/* the dlopen'd library */
	assert_int_equal(symbolize(s, val(&p, "sl_func"), false, f, 8), 1);
	assert_str(f[0].function, "sl_func");
	assert_str(f[0].module, lib);
	expect1(s, val(&p, "ra_lib"), true, "sl_func", "/symlib.c",
		marker_line("symlib.c", "sl_call"));
	assert_true(symbolizer_is_return_addr(s, val(&p, "ra_lib")));
	assert_true(symbolizer_is_return_addr(s, val(&p, "ra_leaf")));

	stop_proc(&p);
	symbolizer_refresh(s);
	expect1(s, val(&p, "ra_lib"), false, "sl_func", "/symlib.c", 0);
	expect1(s, val(&p, "sf_outer"), false, "sf_outer", "/symfix.c", 0);
	expect_inlined(s, val(&p, "ra_leaf"));
	symbolizer_free(s);
}

static void test_stripped(void **state)
{
	char bin[PATH_MAX];
	struct symbolizer *s;
	struct frame f[8];
	struct proc p;

	/* no .symtab, sf_* not exported: module only */
	fix_path(bin, sizeof(bin), "strip");
	start_proc(&p, bin, NULL);
	s = symbolizer_new(p.pid);
	assert_non_null(s);
	assert_int_equal(symbolize(s, val(&p, "sf_leaf"), false, f, 8), 1);
	assert_str(f[0].module, bin);
	assert_null(f[0].file);
	assert_int_equal(f[0].line, 0);
	/* the nearest exported symbol must not be claimed for a static
	 * function far past its end */
	assert_true(!f[0].function || strcmp(f[0].function, "sf_leaf"));
	assert_true(symbolizer_is_return_addr(s, val(&p, "ra_caller")));
	expect_libc(s, val(&p, "malloc"));
	stop_proc(&p);
	symbolizer_free(s);

	/* -rdynamic: names from .dynsym, no lines */
	fix_path(bin, sizeof(bin), "stripdyn");
	start_proc(&p, bin, NULL);
	s = symbolizer_new(p.pid);
	assert_non_null(s);
	assert_int_equal(symbolize(s, val(&p, "sf_leaf"), false, f, 8), 1);
	assert_str(f[0].function, "sf_leaf");
	assert_null(f[0].file);
	assert_int_equal(f[0].line, 0);
	expect1(s, val(&p, "ra_caller"), true, "sf_caller", NULL, 0);
	/* ra_leaf: no DWARF, so the physical function only */
	assert_int_equal(symbolize(s, val(&p, "ra_leaf"), true, f, 8), 1);
	assert_str(f[0].function, "sf_outer");
	stop_proc(&p);
	symbolizer_free(s);
}

static void test_debuglink(void **state)
{
	char bin[PATH_MAX];
	struct symbolizer *s;
	struct proc p;

	fix_path(bin, sizeof(bin), "dbg");
	start_proc(&p, bin, NULL);
	s = symbolizer_new(p.pid);
	assert_non_null(s);
	expect1(s, val(&p, "sf_leaf"), false, "sf_leaf", "/symfix.c", 0);
	expect1(s, val(&p, "ra_caller"), true, "sf_caller", "/symfix.c",
		marker_line("symfix.c", "caller_call"));
	expect_inlined(s, val(&p, "ra_leaf"));
	stop_proc(&p);
	symbolizer_free(s);
}

static void test_clang(void **state)
{
	char bin[PATH_MAX];
	struct symbolizer *s;
	struct proc p;

	fix_path(bin, sizeof(bin), "clang");
	if (access(bin, X_OK))
		skip();
	start_proc(&p, bin, NULL);
	s = symbolizer_new(p.pid);
	assert_non_null(s);
	expect1(s, val(&p, "sf_leaf"), false, "sf_leaf", "/symfix.c", 0);
	expect1(s, val(&p, "ra_caller"), true, "sf_caller", "/symfix.c",
		marker_line("symfix.c", "caller_call"));
	expect_inlined(s, val(&p, "ra_leaf"));
	stop_proc(&p);
	symbolizer_free(s);
}

static void test_cxx(void **state)
{
	char bin[PATH_MAX];
	struct symbolizer *s;
	struct proc p;

	fix_path(bin, sizeof(bin), "cc");
	start_proc(&p, bin, NULL);
	s = symbolizer_new(p.pid);
	assert_non_null(s);
	expect1(s, val(&p, "ra_grow"), true, "sfns::Widget::grow(int)",
		"/symfix_cc.cc", marker_line("symfix_cc.cc", "grow_call"));
	expect1(s, val(&p, "ra_twice"), true, "void* sfns::twice<long>(long)",
		"/symfix_cc.cc", marker_line("symfix_cc.cc", "twice_call"));
	stop_proc(&p);
	expect1(s, val(&p, "ra_grow"), false, "sfns::Widget::grow(int)",
		"/symfix_cc.cc", 0);
	symbolizer_free(s);
}

/* A deleted binary under a path with spaces: opened via map_files. */
static void test_deleted_spaces(void **state)
{
	char dir[PATH_MAX], bin[PATH_MAX + 16], orig[PATH_MAX];
	struct symbolizer *s;
	struct frame f[8];
	struct proc p;

	fix_path(orig, sizeof(orig), "nopie");
	fix_path(dir, sizeof(dir), "dir with space");
	snprintf(bin, sizeof(bin), "%s/sym fix", dir);
	assert_int_equal(run_sh("mkdir -p '%s' && cp '%s' '%s'", dir, orig,
				bin), 0);
	start_proc(&p, bin, NULL);
	assert_int_equal(unlink(bin), 0);
	s = symbolizer_new(p.pid);
	assert_non_null(s);
	assert_int_equal(symbolize(s, val(&p, "ra_caller"), true, f, 8), 1);
	assert_str(f[0].module, bin);	/* " (deleted)" dropped */
	assert_str(f[0].function, "sf_caller");
	assert_int_equal(f[0].line, marker_line("symfix.c", "caller_call"));
	expect_inlined(s, val(&p, "ra_leaf"));
	stop_proc(&p);
	symbolizer_free(s);
}

/* A library loaded after the symbolizer was made is found on a miss;
 * once unloaded it still symbolizes (stacks recorded before). */
static void test_late_dlopen(void **state)
{
	char bin[PATH_MAX], lib[PATH_MAX];
	struct symbolizer_stats st;
	struct symbolizer *s;
	struct frame f[8];
	struct proc p;
	uint64_t hits;

	fix_path(bin, sizeof(bin), "pie");
	fix_path(lib, sizeof(lib), "libsymlib.so");
	start_proc(&p, bin, "-late", lib, NULL);
	s = symbolizer_new(p.pid);
	assert_non_null(s);
	expect1(s, val(&p, "ra_caller"), true, "sf_caller", "/symfix.c", 0);

	kill(p.pid, SIGUSR1);
	read_vals(&p);
	usleep(120 * 1000);	/* past the rate limit of refresh on miss */
	expect1(s, val(&p, "ra_lib"), true, "sl_func", "/symlib.c",
		marker_line("symlib.c", "sl_call"));
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.refreshes, 2);
	assert_true(symbolizer_is_return_addr(s, val(&p, "ra_lib")));

	kill(p.pid, SIGUSR2);	/* dlclose */
	read_vals(&p);
	assert_int_equal(symbolizer_refresh(s), 0);
	assert_int_equal(symbolize(s, val(&p, "sl_func"), false, f, 8), 1);
	assert_str(f[0].function, "sl_func");
	assert_str(f[0].module, lib);
	expect1(s, val(&p, "ra_lib"), true, "sl_func", "/symlib.c", 0);
	/* the main program's cached frames survived both refreshes */
	symbolizer_get_stats(s, &st);
	hits = st.hits;
	expect1(s, val(&p, "ra_caller"), true, "sf_caller", "/symfix.c", 0);
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.hits, hits + 1);
	stop_proc(&p);
	symbolizer_free(s);
}

/* After exec the old program's mappings and cached frames are dropped. */
static void test_exec(void **state)
{
	char bin[PATH_MAX], prog[PATH_MAX];
	struct symbolizer *s;
	struct frame f[8];
	uint64_t old_leaf;
	struct proc p;

	fix_path(bin, sizeof(bin), "pie");
	fix_path(prog, sizeof(prog), "nopie");
	start_proc(&p, bin, "-exec", prog, NULL);
	s = symbolizer_new(p.pid);
	assert_non_null(s);
	old_leaf = val(&p, "sf_leaf");
	expect1(s, old_leaf, false, "sf_leaf", "/symfix.c", 0);
	assert_null(symbolizer_go_version(s));

	kill(p.pid, SIGUSR1);
	read_vals(&p);		/* the new program's addresses */
	assert_int_not_equal(val(&p, "sf_leaf"), old_leaf);
	assert_int_equal(symbolizer_refresh(s), 0);
	assert_int_equal(symbolize(s, val(&p, "ra_caller"), true, f, 8), 1);
	assert_str(f[0].function, "sf_caller");
	assert_str(f[0].module, prog);
	assert_int_equal(symbolize(s, old_leaf, false, f, 8), 1);
	assert_true(!f[0].module || strcmp(f[0].module, bin));
	stop_proc(&p);
	symbolizer_free(s);
}

/* Two processes of one binary: every module is parsed once. */
static void test_shared_cache(void **state)
{
	char bin[PATH_MAX], lib[PATH_MAX];
	struct symbolizer_stats a, b;
	struct symbolizer *s1, *s2;
	struct proc p1, p2;

	fix_path(bin, sizeof(bin), "pie");
	fix_path(lib, sizeof(lib), "libsymlib.so");
	start_proc(&p1, bin, lib, NULL);
	start_proc(&p2, bin, lib, NULL);
	s1 = symbolizer_new(p1.pid);
	assert_non_null(s1);
	symbolizer_get_stats(s1, &a);
	assert_true(a.module_loads >= 4);	/* pie, lib, libc, ld.so */
	s2 = symbolizer_new(p2.pid);
	assert_non_null(s2);
	symbolizer_get_stats(s2, &b);
	assert_int_equal(b.module_loads, a.module_loads);
	assert_int_equal(b.modules, a.modules);
	assert_true(b.module_reuses >= a.module_reuses + 4);
	expect_libc(s2, val(&p2, "malloc"));
	expect_inlined(s2, val(&p2, "ra_leaf"));
	expect_inlined(s1, val(&p1, "ra_leaf"));
	stop_proc(&p1);
	stop_proc(&p2);
	symbolizer_free(s1);
	symbolizer_free(s2);
}

static void test_call_decode(void **state)
{
	static const struct {
		uint8_t b[9];
		size_t len;
		bool call;
	} cases[] = {
		{ { 0xe8, 1, 2, 3, 4 }, 5, true }, /* call rel32 */
		{ { 0x90, 0xff, 0xd0 }, 3, true }, /* call *%rax */
		{ { 0x41, 0xff, 0xd3 }, 3, true }, /* call *%r11 */
		{ { 0xff, 0x10 }, 2, true }, /* call *(%rax) */
		{ { 0xff, 0x50, 0x08 }, 3, true }, /* call *8(%rax) */
		{ { 0xff, 0x54, 0x24, 0x08 }, 4, true }, /* *8(%rsp) */
		{ { 0xff, 0x15, 1, 2, 3, 4 }, 6, true }, /* *x(%rip) */
		{ { 0xff, 0x90, 1, 2, 3, 4 }, 6, true }, /* *x(%rax) */
		{ { 0xff, 0x94, 0xc8, 1, 2, 3, 4 }, 7, true }, /* SIB+d32 */
		{ { 0x41, 0xff, 0x94, 0xc8, 1, 2, 3, 4 }, 8, true },
		{ { 0x3e, 0xff, 0xd0 }, 3, true }, /* notrack */
		{ { 0xff, 0xe0 }, 2, false }, /* jmp *%rax */
		{ { 0xff, 0x20 }, 2, false }, /* jmp *(%rax) */
		{ { 0xff, 0x18 }, 2, false }, /* lcall (/3) */
		{ { 0x90, 0x90, 0x90, 0x90, 0x90 }, 5, false },
		{ { 0xc3 }, 1, false },
		{ { 0xff, 0x15, 1, 2, 3 }, 5, false }, /* cut short */
		{ { 0xe8, 1, 2, 3 }, 4, false },
	};
	const uint8_t bl[] = { 0x10, 0x00, 0x00, 0x94 };	/* bl +0x40 */
	const uint8_t blr[] = { 0x00, 0x01, 0x3f, 0xd6 };	/* blr x8 */
	const uint8_t ret[] = { 0xc0, 0x03, 0x5f, 0xd6 };	/* ret */
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (lt_is_call_before(EM_X86_64, cases[i].b, cases[i].len) !=
		    cases[i].call)
			fail_msg("case %zu", i);
	}
	assert_true(lt_is_call_before(EM_AARCH64, bl, 4));
	assert_true(lt_is_call_before(EM_AARCH64, blr, 4));
	assert_false(lt_is_call_before(EM_AARCH64, ret, 4));
	assert_false(lt_is_call_before(EM_AARCH64, ret, 3));
}

static double secs(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) + (b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Cost: first libc symbolization with a cold cache (maps, module open,
 * debug file, symbols, DWARF) and cached lookups per second. */
static void test_cost(void **state)
{
	char bin[PATH_MAX];
	struct timespec t0, tn, t1, t2, t3;
	struct symcache *c = symcache_new();
	struct symbolizer *s;
	struct frame f[8];
	uint64_t addrs[4];
	struct proc p;
	long i, n = 2000000;

	assert_non_null(c);
	fix_path(bin, sizeof(bin), "pie");
	start_proc(&p, bin, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	s = symbolizer_new_cache(p.pid, c);
	assert_non_null(s);
	symcache_put(c);
	clock_gettime(CLOCK_MONOTONIC, &tn);
	assert_true(symbolize(s, val(&p, "malloc"), false, f, 8) >= 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_non_null(f[0].function);
	addrs[0] = val(&p, "malloc");
	addrs[1] = val(&p, "ra_leaf");
	addrs[2] = val(&p, "ra_caller");
	addrs[3] = val(&p, "sf_leaf");
	for (i = 1; i < 4; i++)
		symbolize(s, addrs[i], true, f, 8);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	for (i = 0; i < n; i++)
		symbolize(s, addrs[i & 3], (i & 3) != 0, f, 8);
	clock_gettime(CLOCK_MONOTONIC, &t3);
	printf("[ COST     ] first libc symbolization (cold cache): %.2f ms "
	       "(maps + module open %.2f ms, symbols + DWARF %.2f ms)\n"
	       "[ COST     ] 3 more first lookups (DWARF): %.2f ms\n"
	       "[ COST     ] cached lookups: %.1f M/s\n",
	       secs(&t0, &t1) * 1e3, secs(&t0, &tn) * 1e3,
	       secs(&tn, &t1) * 1e3, secs(&t1, &t2) * 1e3,
	       n / secs(&t2, &t3) / 1e6);
	assert_true(n / secs(&t2, &t3) > 1e6);
	stop_proc(&p);
	symbolizer_free(s);
}

/* Go: version, functions via .gopclntab, stripped too. */
static void check_go(const char *bin, const char *ver)
{
	struct gopcln_func fn;
	struct symbolizer *s;
	struct gopcln *t;
	struct frame f[8];
	struct proc p;
	const char *v;
	uint64_t bias;
	Elf *elf;
	int fd, n;

	fd = open(bin, O_RDONLY);
	assert_true(fd >= 0);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	assert_int_equal(gopcln_open(elf, &t), 0);
	assert_int_equal(gopcln_find_func(t, "main.handleTxnCheck", false,
					  &fn), 0);
	gopcln_close(t);
	elf_end(elf);
	close(fd);

	start_proc(&p, bin, "-churn-rate", "10", NULL);
	s = symbolizer_new(p.pid);
	assert_non_null(s);
	v = symbolizer_go_version(s);
	assert_non_null(v);
	assert_true(!strncmp(v, ver, strlen(ver)));
	assert_int_equal(symbolizer_bias(s, fn.entry, &bias), 0);
	assert_int_equal(bias, 0);	/* Go binaries are not PIE here */
	n = symbolize(s, fn.entry + bias + 1, false, f, 8);
	assert_true(n >= 1);
	assert_str(f[n - 1].function, "main.handleTxnCheck");
	assert_true(ends_with(f[n - 1].file, "/main.go"));
	assert_true(f[n - 1].line > 0);
	assert_str(f[0].module, bin);
	stop_proc(&p);
	assert_str(symbolizer_go_version(s), v);
	symbolizer_free(s);
}

static void test_go(void **state)
{
	const char *build = getenv("LEAKTRACE_BUILD");
	char dir[PATH_MAX], bin[PATH_MAX + 300], exe[PATH_MAX];
	struct dirent *de;
	int checked = 0;
	DIR *d;

	if (!build) {	/* <build>/tests/test_symbolize */
		ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

		exe[len > 0 ? len : 0] = '\0';
		build = dirname(dirname(exe));
	}
	snprintf(bin, sizeof(bin), "%s/progs", build);
	if (!realpath(bin, dir))
		skip();
	d = opendir(dir);
	if (!d)
		skip();
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "go1.", 4))
			continue;
		snprintf(bin, sizeof(bin), "%s/%s/chansend", dir, de->d_name);
		if (access(bin, X_OK))
			continue;
		check_go(bin, de->d_name);
		strcat(bin, ".stripped");
		if (!access(bin, X_OK))
			check_go(bin, de->d_name);
		checked++;
	}
	closedir(d);
	if (!checked)
		skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_call_decode, kill_leftovers),
		cmocka_unit_test_teardown(test_nopie_O0, kill_leftovers),
		cmocka_unit_test_teardown(test_pie_O2_dlopen, kill_leftovers),
		cmocka_unit_test_teardown(test_stripped, kill_leftovers),
		cmocka_unit_test_teardown(test_debuglink, kill_leftovers),
		cmocka_unit_test_teardown(test_clang, kill_leftovers),
		cmocka_unit_test_teardown(test_cxx, kill_leftovers),
		cmocka_unit_test_teardown(test_deleted_spaces, kill_leftovers),
		cmocka_unit_test_teardown(test_late_dlopen, kill_leftovers),
		cmocka_unit_test_teardown(test_exec, kill_leftovers),
		cmocka_unit_test_teardown(test_shared_cache, kill_leftovers),
		cmocka_unit_test_teardown(test_cost, kill_leftovers),
		cmocka_unit_test_teardown(test_go, kill_leftovers),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
