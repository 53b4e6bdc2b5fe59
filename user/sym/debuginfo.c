// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Separate debug files for a module that lacks .symtab or DWARF, looked
 * for in the order gdb and eu-* use: /usr/lib/debug/.build-id/xx/yyyy.debug,
 * the .gnu_debuglink name next to the file, in its .debug/ and under
 * /usr/lib/debug/<dir>, each under the target's root then the host's; then
 * a debuginfod server when DEBUGINFOD_URLS names one. libdebuginfod is
 * loaded with dlopen, so leaktrace runs without it, and every query has a
 * deadline (a dead server cannot hang the trace: after a query fails for
 * any reason but "not there", no more are made). When nothing supplies
 * symbols, one line says which build id, debug file and package would.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <gelf.h>
#include <elfutils/debuginfod.h>
#include <elfutils/libdwelf.h>
#include <zlib.h>
#include "sym/debuginfo.h"
#include "sym/elfsym.h"
#include "sym/elfsym_int.h"
#include "util/log.h"

extern char **environ;

/* ---- checks ---- */

static bool id_matches(struct elfmod *m, Elf *dbg)
{
	const void *id;
	ssize_t len = dwelf_elf_gnu_build_id(dbg, &id);

	if (!m->build_id_len || len <= 0)
		return true;	/* nothing to compare; caller checks crc */
	return (size_t)len == m->build_id_len &&
	       !memcmp(id, m->build_id, len);
}

uint32_t lt_debuglink_crc(const void *buf, size_t size)
{
	const Bytef *raw = buf;
	uLong c = crc32(0L, Z_NULL, 0);

	while (size) {
		uInt chunk = size > (1u << 30) ? (1u << 30) : (uInt)size;

		c = crc32(c, raw, chunk);
		raw += chunk;
		size -= chunk;
	}
	return (uint32_t)c;
}

static bool crc_matches(Elf *dbg, GElf_Word crc)
{
	size_t size;
	char *raw = elf_rawfile(dbg, &size);

	return raw && lt_debuglink_crc(raw, size) == crc;
}

static int try_debug(struct elfmod *m, const char *path, bool check_crc,
		     GElf_Word crc)
{
	struct stat st;
	Elf *dbg;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -ENOENT;
	}
	dbg = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!dbg || elf_kind(dbg) != ELF_K_ELF || elf_cntl(dbg, ELF_C_FDREAD))
		goto reject;
	close(fd);
	fd = -1;
	/* It must add what we lack, and be the same build. */
	if (!(!m->has_dwarf && elfsym_has_debug_info(dbg)) &&
	    !(!m->has_symtab && elfsym_find_scn_type(dbg, SHT_SYMTAB)))
		goto reject;
	if (!id_matches(m, dbg))
		goto reject;
	if (check_crc && !m->build_id_len && !crc_matches(dbg, crc))
		goto reject;
	m->dbg_path = strdup(path);
	if (!m->dbg_path)
		goto reject;
	m->dbg_elf = dbg;
	m->has_dwarf |= elfsym_has_debug_info(dbg);
	m->has_symtab |= !!elfsym_find_scn_type(dbg, SHT_SYMTAB);
	elfmod_forget_lookups(m);	/* attached late: read them again */
	return 0;
reject:
	if (dbg)
		elf_end(dbg);
	if (fd >= 0)
		close(fd);
	return -ENOENT;
}

/* Tries prefix + rest under root (if any), then on the host. */
static int try_debug_roots(struct elfmod *m, const char *root,
			   const char *rest, bool check_crc, GElf_Word crc)
{
	char buf[4096];

	if (root && snprintf(buf, sizeof(buf), "%s%s", root, rest) <
			    (int)sizeof(buf) &&
	    !try_debug(m, buf, check_crc, crc))
		return 0;
	return try_debug(m, rest, check_crc, crc);
}

static void build_id_hex(const struct elfmod *m, char *hex, size_t len)
{
	size_t i, n = 0;

	hex[0] = '\0';
	for (i = 0; i < m->build_id_len && n + 3 <= len; i++)
		n += snprintf(hex + n, len - n, "%02x", m->build_id[i]);
}

/* /usr/lib/debug/.build-id/xx/yyyy.debug for m ("" when no build id). */
static void build_id_path(const struct elfmod *m, char *buf, size_t len)
{
	char hex[2 * BUILD_ID_MAX + 1];

	buf[0] = '\0';
	if (m->build_id_len < 2)
		return;
	build_id_hex(m, hex, sizeof(hex));
	snprintf(buf, len, "/usr/lib/debug/.build-id/%.2s/%s.debug", hex,
		 hex + 2);
}

/* ---- debuginfod ---- */

#define DEBUGINFOD_STALL_S 5	/* a query with no byte for this long ends */
#define DEBUGINFOD_QUERY_S 30	/* a query ends after this long anyway */

static struct {
	bool tried, dead, failed;
	void *lib;
	debuginfod_client *client;
	__typeof__(debuginfod_begin) *begin;
	__typeof__(debuginfod_end) *end;
	__typeof__(debuginfod_find_debuginfo) *find;
	__typeof__(debuginfod_set_progressfn) *progress;
	uint64_t start_ns, progress_ns;
	long bytes, calls;
	bool cancelled;
	struct debuginfo_stats st;
} dfd;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Called by libdebuginfod about once a second while a query runs; a is
 * the number of calls until a server answers, then the bytes received
 * (b: their total when known). Nonzero ends the query. */
static int on_progress(debuginfod_client *c, long a, long b)
{
	uint64_t now = mono_ns();

	(void)c;
	dfd.calls++;
	if ((b > 0 || a > dfd.calls) && a > dfd.bytes) {	/* data */
		dfd.bytes = a;
		dfd.progress_ns = now;
	}
	dfd.cancelled =
		now - dfd.progress_ns > DEBUGINFOD_STALL_S * 1000000000ULL ||
		now - dfd.start_ns > DEBUGINFOD_QUERY_S * 1000000000ULL;
	return dfd.cancelled;
}

/* The client, or NULL when DEBUGINFOD_URLS is unset or the library is
 * missing (then said once). */
static debuginfod_client *dfd_client(void)
{
	const char *urls = getenv("DEBUGINFOD_URLS");

	if (dfd.tried)
		return dfd.dead ? NULL : dfd.client;
	dfd.tried = true;
	dfd.dead = true;
	if (!urls || !*urls)
		return NULL;
	dfd.lib = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!dfd.lib) {
		lt_warn("debuginfod: DEBUGINFOD_URLS is set but libdebuginfod "
			"cannot be loaded (%s): install libdebuginfod1\n",
			dlerror());
		return NULL;
	}
	dfd.begin = (__typeof__(dfd.begin))dlsym(dfd.lib, "debuginfod_begin");
	dfd.end = (__typeof__(dfd.end))dlsym(dfd.lib, "debuginfod_end");
	dfd.find = (__typeof__(dfd.find))dlsym(dfd.lib,
					       "debuginfod_find_debuginfo");
	dfd.progress = (__typeof__(dfd.progress))dlsym(
		dfd.lib, "debuginfod_set_progressfn");
	if (!dfd.begin || !dfd.end || !dfd.find || !dfd.progress ||
	    !(dfd.client = dfd.begin())) {
		lt_warn("debuginfod: libdebuginfod has no usable client\n");
		return NULL;
	}
	dfd.progress(dfd.client, on_progress);
	/* curl's own connect and low-speed timeouts (libdebuginfod's
	 * default is 90 s); a user's setting is kept */
	setenv("DEBUGINFOD_TIMEOUT", "5", 0);
	dfd.dead = false;
	lt_info("debuginfod: asking %s for missing debug info (a query ends "
		"after %d s without data or %d s in all)\n", urls,
		DEBUGINFOD_STALL_S, DEBUGINFOD_QUERY_S);
	return dfd.client;
}

/* The path of a debug file for m in debuginfod's cache, fetched if
 * needed; 0, or -errno (-ENOENT: the servers don't have it). */
static int dfd_fetch(struct elfmod *m, const char *what, char **path)
{
	debuginfod_client *c = dfd_client();
	uint64_t t0;
	int fd;

	if (!c || m->build_id_len < 2)
		return -ENOSYS;
	t0 = mono_ns();
	dfd.start_ns = dfd.progress_ns = t0;
	dfd.bytes = dfd.calls = 0;
	dfd.cancelled = false;
	fd = dfd.find(c, m->build_id, (int)m->build_id_len, path);
	dfd.st.queries++;
	dfd.st.ns += mono_ns() - t0;
	if (fd >= 0) {
		close(fd);
		dfd.st.found++;
		return 0;
	}
	/* A timeout, refused connection or bad URL: stop asking, so a
	 * dead server costs one query's wait, not one per module. */
	if (fd != -ENOENT || dfd.cancelled) {
		dfd.dead = dfd.failed = true;
		lt_warn("debuginfod: query for %s failed (%s): no more "
			"queries this run\n", what, dfd.cancelled ?
			"no answer in time" : strerror(-fd));
	}
	return fd;
}

void debuginfo_get_stats(struct debuginfo_stats *st)
{
	*st = dfd.st;
}

/* ---- the search ---- */

int elfmod_find_debug(struct elfmod *m, const char *root, const char *path)
{
	static const char *const fmts[] = {
		"%.*s/%s", "%.*s/.debug/%s", "/usr/lib/debug%.*s/%s",
	};
	const char *link, *slash;
	GElf_Word crc = 0;
	char rest[4096];
	size_t i;
	int dirlen;

	if (m->dbg_elf)
		return 0;
	if (m->has_dwarf && m->has_symtab)
		return -ENOENT;
	build_id_path(m, rest, sizeof(rest));
	if (rest[0] && !try_debug_roots(m, root, rest, false, 0))
		return 0;
	link = dwelf_elf_gnu_debuglink(m->elf, &crc);
	slash = path ? strrchr(path, '/') : NULL;
	if (link && *link && !strchr(link, '/') && slash) {
		dirlen = (int)(slash - path);
		for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
			int len = snprintf(rest, sizeof(rest), fmts[i], dirlen,
					   path, link);

			if (len > 0 && len < (int)sizeof(rest) &&
			    !try_debug_roots(m, root, rest, true, crc))
				return 0;
		}
	}
	return -ENOENT;
}

int elfmod_fetch_debug(struct elfmod *m, const char *path)
{
	char *got = NULL;
	int err;

	if (m->fetched || m->dbg_elf || (m->has_dwarf && m->has_symtab))
		return -ENOENT;
	m->fetched = true;
	if (elfmod_names_from_go(m))
		return -ENOENT;
	err = dfd_fetch(m, path ? path : "a module", &got);
	if (!err) {
		err = try_debug(m, got, false, 0);
		if (err)
			lt_warn("debuginfod: %s: the file served for its build "
				"id adds nothing or is another build\n", path);
		else
			lt_info("debuginfod: %s: debug info from %s\n", path, got);
	}
	free(got);
	return err ? -ENOENT : 0;
}

/* ---- the hint ---- */

/* The Debian package that installed path on this host ("" if dpkg does
 * not know it): dpkg-query -S, run once per hinted module. */
static void dpkg_package(const char *path, char *pkg, size_t len)
{
	char *argv[] = { "dpkg-query", "-S", (char *)path, NULL };
	posix_spawn_file_actions_t fa;
	char out[512];
	ssize_t n = 0, r;
	int p[2], status;
	pid_t pid;
	char *colon;

	pkg[0] = '\0';
	if (pipe2(p, O_CLOEXEC))
		return;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, "dpkg-query", &fa, NULL, argv, environ)) {
		posix_spawn_file_actions_destroy(&fa);
		close(p[0]);
		close(p[1]);
		return;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	while (n < (ssize_t)sizeof(out) - 1 &&
	       (r = read(p[0], out + n, sizeof(out) - 1 - n)) > 0)
		n += r;
	close(p[0]);
	waitpid(pid, &status, 0);
	out[n] = '\0';
	/* "memcached: /usr/bin/memcached"; diversions and several
	 * packages ("a, b: path") are not named */
	colon = strchr(out, ':');
	if (!WIFEXITED(status) || WEXITSTATUS(status) || !colon ||
	    memchr(out, ',', colon - out) || memchr(out, ' ', colon - out))
		return;
	snprintf(pkg, len, "%.*s", (int)(colon - out), out);
}

/* Packages install under these (dpkg-query -S takes ~0.1 s to say a
 * path elsewhere is no package's). */
static bool dpkg_may_own(const char *path)
{
	static const char *const dirs[] = { "/usr/", "/lib", "/bin/", "/sbin/",
					    "/opt/" };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (!strncmp(path, dirs[i], strlen(dirs[i])))
			return true;
	return false;
}

/* The file the target maps is the host's file at the same path. */
static bool same_as_host(const char *root, const char *path)
{
	struct stat a, b;
	char buf[4096];

	if (!root)
		return !stat(path, &b);
	snprintf(buf, sizeof(buf), "%s%s", root, path);
	return !stat(buf, &a) && !stat(path, &b) && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

int elfmod_symbols_hint(struct elfmod *m, const char *root, const char *path,
			char *buf, size_t len)
{
	char hex[2 * BUILD_ID_MAX + 1], file[256], pkg[128] = "";
	size_t n;

	buf[0] = '\0';
	if (m->hinted || m->has_symtab || m->has_dwarf || !path ||
	    path[0] != '/')
		return 0;
	m->hinted = true;
	build_id_hex(m, hex, sizeof(hex));
	build_id_path(m, file, sizeof(file));
	if (dpkg_may_own(path) && same_as_host(root, path))
		dpkg_package(path, pkg, sizeof(pkg));
	n = snprintf(buf, len, "%s is stripped (no .symtab or DWARF): its "
		     "unnamed frames print as %s+0xOFFSET; ", path, path);
	if (n < len && hex[0])
		n += snprintf(buf + n, len - n, "build id %s: install %s", hex,
			      file);
	else if (n < len)
		n += snprintf(buf + n, len - n, "no build id: rebuild it with "
			      "symbols or --build-id");
	if (n < len && pkg[0])
		n += snprintf(buf + n, len - n, " (from Debian's package "
			      "%s-dbgsym)", pkg);
	if (n < len && hex[0])
		snprintf(buf + n, len - n, ", or set DEBUGINFOD_URLS to a "
			 "debuginfod server that has it%s",
			 dfd.failed ? " (the one set did not answer)" :
			 dfd.tried && !dfd.dead ? " (the servers asked have "
			 "not)" : "");
	return 1;
}
