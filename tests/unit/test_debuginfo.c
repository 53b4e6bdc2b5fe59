// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sym/debuginfo.c and sym/elfdynsym.c on files built here: a separate
 * debug file found by build id under /usr/lib/debug/.build-id (in a root
 * directory, as for a target in a container), by .gnu_debuglink with its
 * CRC checked (a debug file of another build refused), the one-line hint
 * for a module without symbols, and .dynsym recovered through PT_DYNAMIC
 * from a library whose section headers are gone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <gelf.h>
#include "sym/debuginfo.h"
#include "sym/elfsym.h"

static char tmp[64];

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

/* Value of symbol name in file (nm, -D for the dynamic table). */
static uint64_t nm_addr(const char *file, const char *name, bool dyn)
{
	char cmd[2048], line[512], n[256], t;
	unsigned long long a;
	uint64_t found = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm %s --defined-only %s", dyn ? "-D" : "",
		 file);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p))
		if (sscanf(line, "%llx %c %255s", &a, &t, n) == 3 &&
		    !strcmp(n, name))
			found = a;
	pclose(p);
	assert_true(found != 0);
	return found;
}

static struct elfmod *open_mod(const char *path)
{
	struct elfmod *m = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(elfmod_open_fd(fd, &m), 0);
	return m;
}

static const char *name_at(struct elfmod *m, uint64_t pc)
{
	struct frame f[8];
	int n = elfmod_lookup(m, pc, f, 8);

	return n > 0 ? f[n - 1].function : NULL;
}

static const char src[] =
	"#include <stdio.h>\n"
	"__attribute__((noinline)) int lt_target_fn(int x) { return x * 3 + 1; }\n"
	"int main(int c, char **v) { (void)v; printf(\"%d\\n\", lt_target_fn(c)); return 0; }\n";

/* tmp/<name> built with -g and ldflags, its debug part split into
 * <name>.debug and the binary stripped into <name>.stripped. */
static void build_split(const char *name, const char *ldflags)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.c", tmp, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(src, f);
	fclose(f);
	assert_int_equal(run_sh("cd %s && gcc -g -O2 %s -o %s %s.c && "
				"objcopy --only-keep-debug %s %s.debug && "
				"strip --strip-all -o %s.stripped %s",
				tmp, ldflags, name, name, name, name, name,
				name), 0);
}

static void test_build_id_dir(void **state)
{
	char path[PATH_MAX], hex[129], root[PATH_MAX], hint[1024];
	struct elfmod_info info;
	const uint8_t *id;
	struct elfmod *m;
	uint64_t fn;
	size_t len, i;

	build_split("bid", "-Wl,--build-id=sha1");
	snprintf(path, sizeof(path), "%s/bid", tmp);
	fn = nm_addr(path, "lt_target_fn", false);
	snprintf(path, sizeof(path), "%s/bid.stripped", tmp);
	m = open_mod(path);
	len = elfmod_build_id(m, &id);
	assert_int_equal(len, 20);
	for (i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	elfmod_get_info(m, &info);
	assert_false(info.has_symtab);
	assert_false(info.has_dwarf);
	assert_null(name_at(m, fn));

	/* nothing installed: the hint names the build id and the path
	 * that would supply symbols, once */
	snprintf(root, sizeof(root), "%s/root", tmp);
	assert_int_equal(elfmod_find_debug(m, root, "/opt/app/bid"), -ENOENT);
	assert_int_equal(elfmod_symbols_hint(m, root, "/opt/app/bid", hint,
					     sizeof(hint)), 1);
	assert_non_null(strstr(hint, hex));
	assert_non_null(strstr(hint, "/usr/lib/debug/.build-id/"));
	assert_non_null(strstr(hint, "/opt/app/bid+0xOFFSET"));
	assert_int_equal(elfmod_symbols_hint(m, root, "/opt/app/bid", hint,
					     sizeof(hint)), 0);
	elfmod_free(m);

	/* installed under the target's root: found by build id alone */
	assert_int_equal(run_sh("mkdir -p %s/usr/lib/debug/.build-id/%.2s && "
				"cp %s/bid.debug %s/usr/lib/debug/.build-id/%.2s/%s.debug",
				root, hex, tmp, root, hex, hex + 2), 0);
	m = open_mod(path);
	assert_int_equal(elfmod_find_debug(m, root, "/opt/app/bid"), 0);
	elfmod_get_info(m, &info);
	assert_true(info.has_symtab);
	assert_true(info.has_dwarf);
	assert_non_null(strstr(info.debug_path, "/usr/lib/debug/.build-id/"));
	assert_string_equal(name_at(m, fn), "lt_target_fn");
	assert_int_equal(elfmod_symbols_hint(m, root, "/opt/app/bid", hint,
					     sizeof(hint)), 0);
	elfmod_free(m);
}

/* The CRC .gnu_debuglink records, read from the section's last 4 bytes. */
static uint32_t link_crc(const char *file)
{
	char out[PATH_MAX];
	uint8_t b[4096];
	uint32_t crc;
	ssize_t n;
	int fd;

	snprintf(out, sizeof(out), "%s/link.sec", tmp);
	assert_int_equal(run_sh("objcopy --dump-section .gnu_debuglink=%s %s "
				"/dev/null", out, file), 0);
	fd = open(out, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, b, sizeof(b));
	close(fd);
	assert_true(n >= 8);
	memcpy(&crc, b + n - 4, 4);
	return crc;
}

static void test_debuglink_crc(void **state)
{
	char path[PATH_MAX], dbg[PATH_MAX], root[PATH_MAX];
	struct elfmod_info info;
	struct elfmod *m;
	struct stat st;
	uint64_t fn;
	void *buf;
	int fd;

	/* no build id: the CRC is the only check of the pair */
	build_split("dl", "-Wl,--build-id=none");
	snprintf(path, sizeof(path), "%s/dl", tmp);
	fn = nm_addr(path, "lt_target_fn", false);
	assert_int_equal(run_sh("cd %s && objcopy --add-gnu-debuglink=dl.debug "
				"dl.stripped", tmp), 0);
	snprintf(path, sizeof(path), "%s/dl.stripped", tmp);
	snprintf(dbg, sizeof(dbg), "%s/dl.debug", tmp);

	/* lt_debuglink_crc is the checksum objcopy recorded */
	fd = open(dbg, O_RDONLY);
	assert_true(fd >= 0 && !fstat(fd, &st));
	buf = malloc(st.st_size);
	assert_int_equal(read(fd, buf, st.st_size), st.st_size);
	close(fd);
	assert_int_equal(lt_debuglink_crc(buf, st.st_size), link_crc(path));
	free(buf);

	/* in the module's .debug/ directory, under the target's root */
	snprintf(root, sizeof(root), "%s/dlroot", tmp);
	assert_int_equal(run_sh("mkdir -p %s/srv/.debug && cp %s %s/srv/.debug/",
				root, dbg, root), 0);
	m = open_mod(path);
	assert_int_equal(elfmod_find_debug(m, root, "/srv/dl"), 0);
	elfmod_get_info(m, &info);
	assert_true(info.has_symtab);
	assert_non_null(strstr(info.debug_path, "/srv/.debug/dl.debug"));
	assert_string_equal(name_at(m, fn), "lt_target_fn");
	elfmod_free(m);

	/* the same name from another build (one byte more): refused */
	assert_int_equal(run_sh("printf x >> %s/srv/.debug/dl.debug", root), 0);
	m = open_mod(path);
	assert_int_equal(elfmod_find_debug(m, root, "/srv/dl"), -ENOENT);
	elfmod_get_info(m, &info);
	assert_false(info.has_symtab);
	assert_null(info.debug_path);
	elfmod_free(m);

	/* next to the file and under /usr/lib/debug/<dir>: also found */
	assert_int_equal(run_sh("rm -r %s/srv/.debug && mkdir -p %s/usr/lib/debug/srv "
				"&& cp %s %s/usr/lib/debug/srv/", root, root, dbg,
				root), 0);
	m = open_mod(path);
	assert_int_equal(elfmod_find_debug(m, root, "/srv/dl"), 0);
	assert_string_equal(name_at(m, fn), "lt_target_fn");
	elfmod_free(m);
}

/* Zeroes e_shoff, e_shnum and e_shstrndx (a 64-bit file), as sstrip or
 * a corrupted header leaves it: no section can be found. */
static void drop_shdrs(const char *path)
{
	Elf64_Ehdr eh;
	int fd = open(path, O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &eh, sizeof(eh), 0), sizeof(eh));
	assert_int_equal(eh.e_ident[EI_CLASS], ELFCLASS64);
	eh.e_shoff = 0;
	eh.e_shnum = 0;
	eh.e_shstrndx = 0;
	assert_int_equal(pwrite(fd, &eh, sizeof(eh), 0), sizeof(eh));
	close(fd);
}

/* An executable linked -rdynamic (its functions exported) without section
 * headers: its own functions are named through PT_DYNAMIC, with the
 * symbol count from DT_GNU_HASH or from DT_HASH. */
static void test_exe_dynsym_from_phdr(void **state)
{
	static const char *const styles[] = { "gnu", "sysv" };
	char path[PATH_MAX], name[64], flags[128], hint[1024];
	struct elfmod_info info;
	struct elfmod *m;
	uint64_t fn;

	for (size_t i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "rdyn-%s", styles[i]);
		snprintf(flags, sizeof(flags), "-rdynamic -Wl,--hash-style=%s",
			 styles[i]);
		build_split(name, flags);
		snprintf(path, sizeof(path), "%s/%s", tmp, name);
		fn = nm_addr(path, "lt_target_fn", true);
		snprintf(path, sizeof(path), "%s/%s.noshdr", tmp, name);
		assert_int_equal(run_sh("cp %s/%s %s", tmp, name, path), 0);
		drop_shdrs(path);
		m = open_mod(path);
		assert_int_equal(elfmod_damage(m, hint, sizeof(hint)), 1);
		assert_non_null(strstr(hint, "PT_DYNAMIC"));
		assert_string_equal(name_at(m, fn + 1), "lt_target_fn");
		elfmod_get_info(m, &info);
		assert_true(info.has_dynsym);
		assert_false(info.has_symtab);
		elfmod_free(m);
	}
}

/* Section headers gone from a shared library: names still come from
 * .dynsym through PT_DYNAMIC. */
static void test_dynsym_from_phdr(void **state)
{
	static const char *const fns[] = { "deflate", "inflate", "crc32",
					   "compress2", "zlibVersion" };
	const char *lib = "/usr/lib/x86_64-linux-gnu/libz.so.1";
	char path[PATH_MAX];
	struct elfmod_info info;
	struct elfmod *m, *orig;

	if (access(lib, R_OK))
		lib = "/lib/x86_64-linux-gnu/libz.so.1";
	snprintf(path, sizeof(path), "%s/libz-noshdr.so", tmp);
	assert_int_equal(run_sh("cp -L %s %s", lib, path), 0);
	drop_shdrs(path);
	m = open_mod(path);
	orig = open_mod(lib);
	elfmod_get_info(m, &info);
	assert_true(info.has_dynsym);
	assert_false(info.has_symtab);
	assert_true(info.nsyms > 50);
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		uint64_t a = nm_addr(lib, fns[i], true);

		assert_string_equal(name_at(m, a + 1), fns[i]);
		assert_string_equal(name_at(orig, a + 1), fns[i]);
	}
	elfmod_free(orig);
	elfmod_free(m);
}

static int setup(void **state)
{
	snprintf(tmp, sizeof(tmp), "/tmp/lt-debuginfo-XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	run_sh("rm -rf %s", tmp);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_id_dir),
		cmocka_unit_test(test_debuglink_crc),
		cmocka_unit_test(test_dynsym_from_phdr),
		cmocka_unit_test(test_exe_dynsym_from_phdr),
	};

	unsetenv("DEBUGINFOD_URLS");	/* only local files here */
	return cmocka_run_group_tests(tests, setup, teardown);
}
