// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Address symbolizer for one live (or exited) process. The address map is
 * built from /proc/PID/maps: every mapping of a file that has code (an
 * executable mapping) with its load bias and module. Modules are opened through /proc/PID/map_files (works across
 * mount namespaces and for deleted files), else /proc/PID/root/<path>, and
 * shared through a build-id keyed cache. Refreshes merge: a mapping is only
 * forgotten when a new one covers its range or the process execs, so stacks
 * recorded earlier still symbolize after a dlclose or after exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <gelf.h>
#include <zlib.h>
#include "sym/debuginfo.h"
#include "sym/elfsym.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "proc/procmaps.h"
#include "sym/perfmap.h"
#include "sym/symbolize.h"

#define CACHE_FRAMES 16			/* frames kept per address */
#define MISS_REFRESH_NS 100000000ULL	/* maps re-read on misses: 10/s */

struct symcache {
	int refs;
	struct lt_strmap mods;		/* key -> struct elfmod * */
	uint64_t loads, reuses;
};

struct amap {
	uint64_t start, end, off, bias;
	struct elfmod *mod;		/* NULL: not an ELF we could open */
	const char *path;		/* as the target sees it, interned */
	const char *build_id;		/* hex, interned; NULL if none */
	bool x, has_bias;
};

struct cached {
	int n;
	uint64_t gen;		/* s->gen when resolved without a module */
	bool unmapped;		/* in no module: retry once maps grow */
	struct frame f[];
};

struct symbolizer {
	int pid;
	bool gone;
	struct symcache *cache;
	struct map_entry *maps;		/* last maps read */
	size_t nmaps;
	struct amap *am;		/* address map, sorted, no overlaps */
	size_t nam;
	struct lt_strmap strs;		/* interned paths */
	struct lt_strmap idents;	/* "maj:min:ino:path" -> module/&neg */
	struct u64map addrs;		/* addr << 1 | ret -> cached */
	bool exe_known;
	dev_t exe_dev;
	ino_t exe_ino;
	struct elfmod *exe_mod;
	const char *exe_path;		/* interned; NULL until known */
	bool go_done;
	const char *go_version;
	uint64_t last_miss_refresh;
	uint64_t gen;			/* bumped when the address map grows */
	uint64_t lookups, hits, refreshes;
	uint64_t ns;			/* in refreshes and resolving */
	struct sym_missing *missing;	/* modules without symbols met */
	size_t nmissing;
	struct perfmap *perfmap;	/* names of JIT code, if it writes them */
	bool jit_seen;			/* a frame in JIT code was resolved */
};

static char neg_module;		/* idents value: tried, not ELF */
static struct symcache *default_cache;	/* shared by symbolizer_new() */

struct symcache *symcache_new(void)
{
	struct symcache *c = calloc(1, sizeof(*c));

	if (c)
		c->refs = 1;
	elf_version(EV_CURRENT);
	return c;
}

static void free_mod(void *m)
{
	elfmod_free(m);
}

void symcache_put(struct symcache *c)
{
	if (!c || --c->refs > 0)
		return;
	lt_strmap_free(&c->mods, free_mod);
	if (c == default_cache)
		default_cache = NULL;
	free(c);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void flush_addrs(struct symbolizer *s)
{
	uint64_t k, v;
	size_t i = 0;

	while (u64map_next(&s->addrs, &i, &k, &v))
		free((void *)(uintptr_t)v);
	u64map_free(&s->addrs);
}

/* Path without the " (deleted)" the kernel appends. */
static const char *clean_path(struct symbolizer *s, const char *path)
{
	static const char del[] = " (deleted)";
	size_t len = strlen(path), dl = sizeof(del) - 1;
	char *tmp;
	const char *r;

	if (len <= dl || strcmp(path + len - dl, del))
		return lt_strmap_intern(&s->strs, path);
	tmp = strndup(path, len - dl);
	if (!tmp)
		return NULL;
	r = lt_strmap_intern(&s->strs, tmp);
	free(tmp);
	return r;
}

static int open_vdso(struct symbolizer *s, const struct map_entry *e,
		     struct elfmod **out, char *key, size_t keylen)
{
	size_t len = e->end - e->start;
	char path[64];
	void *buf;
	ssize_t r;
	int fd;

	if (len > (64 << 20))
		return -E2BIG;
	snprintf(path, sizeof(path), "/proc/%d/mem", s->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(len);
	r = buf ? pread(fd, buf, len, e->start) : -1;
	close(fd);
	if (r != (ssize_t)len) {
		free(buf);
		return -EIO;
	}
	snprintf(key, keylen, "vdso:%zu:%08lx", len,
		 crc32(0L, buf, (uInt)len));
	return elfmod_open_mem(buf, len, out);
}

static int open_file(struct symbolizer *s, const struct map_entry *e,
		     const char *path, struct elfmod **out, char *key,
		     size_t keylen)
{
	char buf[4200];
	struct stat st;
	int fd;

	snprintf(buf, sizeof(buf), "/proc/%d/map_files/%lx-%lx", s->pid,
		 (unsigned long)e->start, (unsigned long)e->end);
	fd = open(buf, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(buf, sizeof(buf), "/proc/%d/root%s", s->pid, path);
		fd = open(buf, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -ENOEXEC;
	}
	snprintf(key, keylen, "f:%lx:%lx:%lld:%lld.%09ld:%s",
		 (unsigned long)st.st_dev, (unsigned long)st.st_ino,
		 (long long)st.st_size, (long long)st.st_mtim.tv_sec,
		 st.st_mtim.tv_nsec, path);
	return elfmod_open_fd(fd, out);
}

/* Opens the module behind e, or finds it in the cache by build id. */
static struct elfmod *load_module(struct symbolizer *s,
				  const struct map_entry *e, const char *path)
{
	struct symcache *c = s->cache;
	char key[4200], root[64];
	const uint8_t *id;
	struct elfmod *m, *old;
	size_t idlen, i, n;
	void **slot;
	int err;

	if (path[0] == '[')
		err = open_vdso(s, e, &m, key, sizeof(key));
	else
		err = open_file(s, e, path, &m, key, sizeof(key));
	if (err) {
		lt_debug("symbolize: %d: %s: %s\n", s->pid, path,
			 strerror(-err));
		return NULL;
	}
	idlen = elfmod_build_id(m, &id);
	if (idlen) {
		struct elfmod_info info;

		/* A stripped copy keeps its build id: what the file itself
		 * holds is part of the key, or a stripped copy opened first
		 * would name nothing in the full one (seen under --all). */
		elfmod_get_info(m, &info);
		n = snprintf(key, sizeof(key), "b:%c%c:", info.has_symtab ? 's' : '-',
			     info.has_dwarf ? 'd' : '-');
		for (i = 0; i < idlen; i++)
			n += snprintf(key + n, sizeof(key) - n, "%02x", id[i]);
	}
	old = lt_strmap_get(&c->mods, key);
	if (old) {
		elfmod_free(m);
		c->reuses++;
		return old;
	}
	if (path[0] == '/') {
		snprintf(root, sizeof(root), "/proc/%d/root", s->pid);
		elfmod_warn_damage(m, path);	/* once: modules are cached */
		elfmod_find_debug(m, root, path);
	}
	slot = lt_strmap_slot(&c->mods, key, NULL);
	if (!slot) {
		elfmod_free(m);
		return NULL;
	}
	*slot = m;
	c->loads++;
	return m;
}

static bool is_module_mapping(const struct map_entry *e)
{
	return e->path[0] == '/' || !strcmp(e->path, "[vdso]");
}

static void ident_of(const struct map_entry *e, char *buf, size_t len)
{
	snprintf(buf, len, "%x:%x:%llu:%s", e->dev_major, e->dev_minor,
		 (unsigned long long)e->inode, e->path);
}

static int cmp_amap(const void *a, const void *b)
{
	const struct amap *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static const struct amap *am_find(const struct amap *am, size_t n,
				  uint64_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (am[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && addr < am[lo - 1].end ? &am[lo - 1] : NULL;
}

static bool overlaps(const struct amap *am, size_t n, const struct amap *a)
{
	size_t lo = 0, hi = n;

	/* am sorted and disjoint: check the last entry starting before
	 * a->end */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (am[mid].start < a->end)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && am[lo - 1].end > a->start;
}

static bool amap_eq(const struct amap *a, const struct amap *b)
{
	return a->start == b->start && a->end == b->end && a->off == b->off &&
	       a->bias == b->bias && a->mod == b->mod && a->path == b->path &&
	       a->build_id == b->build_id &&
	       a->x == b->x && a->has_bias == b->has_bias;
}

/* Detects exec: the old address map belongs to another program. */
static bool exe_changed(struct symbolizer *s)
{
	char path[64];
	struct stat st;
	bool changed;

	snprintf(path, sizeof(path), "/proc/%d/exe", s->pid);
	if (stat(path, &st))
		return false;
	changed = s->exe_known &&
		  (st.st_dev != s->exe_dev || st.st_ino != s->exe_ino);
	s->exe_known = true;
	s->exe_dev = st.st_dev;
	s->exe_ino = st.st_ino;
	return changed;
}

static void find_exe(struct symbolizer *s)
{
	char link[64], target[4096];
	const char *p;
	ssize_t len;
	size_t i;

	snprintf(link, sizeof(link), "/proc/%d/exe", s->pid);
	len = readlink(link, target, sizeof(target) - 1);
	if (len <= 0)
		return;
	target[len] = '\0';
	p = clean_path(s, target);
	s->exe_path = p;
	for (i = 0; p && i < s->nam; i++) {
		if (s->am[i].path == p && s->am[i].mod) {
			s->exe_mod = s->am[i].mod;
			return;
		}
	}
}

/* The module's build id in hex, interned; NULL if it has none. */
static const char *build_id_hex(struct symbolizer *s, struct elfmod *m)
{
	char hex[2 * 64 + 1];
	const uint8_t *id;
	size_t len, i;

	len = m ? elfmod_build_id(m, &id) : 0;
	if (!len || len > 64)
		return NULL;
	for (i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	return lt_strmap_intern(&s->strs, hex);
}

/* New address map entries for the file mappings in maps. */
static int build_entries(struct symbolizer *s, const struct map_entry *maps,
			 size_t n, struct amap **out, size_t *nout)
{
	struct lt_strmap exec_idents = { 0 };
	struct amap *v;
	char id[4200];
	size_t i, k = 0;

	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {	/* files with code */
		ident_of(&maps[i], id, sizeof(id));
		if (maps[i].x && is_module_mapping(&maps[i])) {
			void **slot = lt_strmap_slot(&exec_idents, id, NULL);

			if (slot)
				*slot = &neg_module;	/* any non-NULL */
		}
	}
	for (i = 0; i < n; i++) {
		const struct map_entry *e = &maps[i];
		struct amap *a = &v[k];
		void **slot;

		/* Only files with code; data files (locale archives, fonts,
		 * databases) come and go without touching the map. */
		if (!is_module_mapping(e))
			continue;
		ident_of(e, id, sizeof(id));
		if (!lt_strmap_get(&exec_idents, id))
			continue;
		a->start = e->start;
		a->end = e->end;
		a->off = e->offset;
		a->x = e->x;
		a->path = clean_path(s, e->path);
		if (!a->path)
			continue;
		a->mod = lt_strmap_get(&s->idents, id);
		if (!a->mod) {
			a->mod = load_module(s, e, a->path);
			slot = lt_strmap_slot(&s->idents, id, NULL);
			if (slot)
				*slot = a->mod ? (void *)a->mod : &neg_module;
		}
		if (a->mod == (void *)&neg_module)
			a->mod = NULL;
		a->has_bias = a->mod &&
			      !elfmod_bias(a->mod, e->start, e->offset, e->x,
					   &a->bias);
		a->build_id = build_id_hex(s, a->mod);
		k++;
	}
	lt_strmap_free(&exec_idents, NULL);
	*out = v;
	*nout = k;
	return 0;
}

static int refresh(struct symbolizer *s);

int symbolizer_refresh(struct symbolizer *s)
{
	int err;

	uint64_t t0 = now_ns();

	err = refresh(s);
	s->ns += now_ns() - t0;
	return err;
}

static int refresh(struct symbolizer *s)
{
	struct map_entry *maps;
	struct amap *nv, *merged;
	size_t n, nn, i, k;
	bool dropped;
	int err;

	err = procmaps_read(s->pid, &maps, &n);
	if (!err && !n) {		/* zombie: keep what we had */
		procmaps_free(maps, n);
		err = -ESRCH;
	}
	if (err) {
		if (err == -ENOENT || err == -ESRCH)
			s->gone = true;
		return err == -ENOENT ? -ESRCH : err;
	}
	s->refreshes++;
	s->gone = false;
	if (exe_changed(s)) {		/* exec: forget the old program */
		flush_addrs(s);
		free(s->am);
		s->am = NULL;
		s->nam = 0;
		s->exe_mod = NULL;
		s->exe_path = NULL;
		s->go_done = false;
		lt_strmap_free(&s->idents, NULL);
	}
	err = build_entries(s, maps, n, &nv, &nn);
	if (err) {
		procmaps_free(maps, n);
		return err;
	}
	merged = realloc(nv, (nn + s->nam ? nn + s->nam : 1) * sizeof(*nv));
	if (!merged) {
		free(nv);
		procmaps_free(maps, n);
		return -ENOMEM;
	}
	/* Keep old mappings nothing new covers (unloaded libraries, and
	 * everything once the process is gone). */
	k = nn;
	for (i = 0; i < s->nam; i++)
		if (!overlaps(merged, nn, &s->am[i]))
			merged[k++] = s->am[i];
	qsort(merged, k, sizeof(*merged), cmp_amap);
	/* A replaced entry invalidates cached frames; new entries only
	 * the "unmapped" answers, which are retried on a new generation. */
	dropped = false;
	for (i = 0; !dropped && i < s->nam; i++) {
		const struct amap *a = am_find(merged, k, s->am[i].start);

		dropped = !a || !amap_eq(a, &s->am[i]);
	}
	if (dropped)
		flush_addrs(s);
	if (dropped || k != s->nam) {
		s->gen++;
		free(s->am);
		s->am = merged;
		s->nam = k;
	} else {
		free(merged);
	}
	procmaps_free(s->maps, s->nmaps);
	s->maps = maps;
	s->nmaps = n;
	if (!s->exe_mod)
		find_exe(s);
	return 0;
}

struct symbolizer *symbolizer_new_cache(int pid, struct symcache *c)
{
	struct symbolizer *s;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->pid = pid;
	s->cache = c;
	c->refs++;
	s->perfmap = perfmap_new(pid);
	err = symbolizer_refresh(s);
	if (err) {
		symbolizer_free(s);
		errno = -err;
		return NULL;
	}
	return s;
}

struct symbolizer *symbolizer_new(int pid)
{
	struct symbolizer *s;

	if (!default_cache) {
		struct symcache *c = symcache_new();

		if (!c) {
			errno = ENOMEM;
			return NULL;
		}
		default_cache = c;
		s = symbolizer_new_cache(pid, c);
		symcache_put(c);	/* the symbolizer holds it now */
		return s;
	}
	return symbolizer_new_cache(pid, default_cache);
}

void symbolizer_free(struct symbolizer *s)
{
	struct debuginfo_stats ds;

	if (!s)
		return;
	debuginfo_get_stats(&ds);
	lt_info("symbolize: pid %d: %llu lookups (%llu cached), %zu modules, "
		"%.1f ms; debuginfod: %llu queries, %llu found, %.1f ms\n",
		s->pid, (unsigned long long)s->lookups,
		(unsigned long long)s->hits, s->cache->mods.len, s->ns / 1e6,
		(unsigned long long)ds.queries, (unsigned long long)ds.found,
		ds.ns / 1e6);
	flush_addrs(s);
	perfmap_free(s->perfmap);
	procmaps_free(s->maps, s->nmaps);
	free(s->missing);
	free(s->am);
	lt_strmap_free(&s->idents, NULL);
	lt_strmap_free(&s->strs, NULL);
	symcache_put(s->cache);
	free(s);
}

/* Address map entry for addr; re-reads the maps (rate limited) on a miss
 * while the process lives, for libraries loaded since the last refresh. */
static const struct amap *find_entry(struct symbolizer *s, uint64_t addr)
{
	const struct amap *a = am_find(s->am, s->nam, addr);
	uint64_t now;

	if (a || s->gone)
		return a;
	now = now_ns();
	if (now - s->last_miss_refresh < MISS_REFRESH_NS)
		return NULL;
	s->last_miss_refresh = now;
	if (symbolizer_refresh(s))
		return NULL;
	return am_find(s->am, s->nam, addr);
}

static bool hints_quiet;
static unsigned int hints_held;

void symbolizer_hints_quiet(bool quiet)
{
	hints_quiet = quiet;
}

unsigned int symbolizer_hints_held(void)
{
	return hints_held;
}

/* A frame without a name: once per module, say what would name it. */
static void hint_once(struct symbolizer *s, const struct amap *a)
{
	char root[64], why[1024];
	struct sym_missing *v;

	snprintf(root, sizeof(root), "/proc/%d/root", s->pid);
	if (!elfmod_symbols_hint(a->mod, root, a->path, why, sizeof(why)))
		return;
	if (hints_quiet) {
		hints_held++;
		lt_info("%s\n", why);
	} else {
		lt_warn("%s\n", why);
	}
	v = realloc(s->missing, (s->nmissing + 1) * sizeof(*v));
	if (!v)
		return;
	s->missing = v;
	v[s->nmissing] = (struct sym_missing){
		.module = a->path,
		.build_id = a->build_id,
		.hint = lt_strmap_intern(&s->strs, why),
	};
	if (v[s->nmissing].hint)
		s->nmissing++;
}

size_t symbolizer_missing(const struct symbolizer *s,
			  const struct sym_missing **out)
{
	*out = s->missing;
	return s->nmissing;
}

/* Executable memory no file backs: anonymous, or named by the kernel for
 * where it lies ("[heap]": Chromium's renderer was seen running V8 code in
 * an executable part of its brk heap), but not the kernel's own code pages
 * ([vdso], [vsyscall], [uprobes]). */
static bool jit_memory(const struct map_entry *e)
{
	return e->x && (!e->path[0] || !strcmp(e->path, "[heap]") ||
			!strncmp(e->path, "[anon:", 6) ||
			!strncmp(e->path, "[stack", 6));
}

static struct cached *resolve(struct symbolizer *s, uint64_t addr,
			      bool is_return)
{
	const struct amap *a = find_entry(s, addr);
	struct frame f[CACHE_FRAMES];
	const char *module = NULL, *jit = NULL;
	struct cached *c;
	int n = 0, i;

	if (a && a->mod && a->path[0] == '/')
		elfmod_fetch_debug(a->mod, a->path);	/* once per module */
	if (a && a->mod && a->has_bias)
		n = elfmod_lookup(a->mod, addr - a->bias - is_return, f,
				  CACHE_FRAMES);
	if (a && a->mod && (n <= 0 || !f[0].function))
		hint_once(s, a);
	if (a) {
		module = a->path;
	} else {		/* anonymous, [heap], [stack], ... */
		const struct map_entry *e =
			procmaps_find(s->maps, s->nmaps, addr);

		if (e && e->path[0] && !jit_memory(e))
			module = lt_strmap_intern(&s->strs, e->path);
		else if (e && e->x) {	/* code a JIT wrote: a frame, not data */
			module = lt_strmap_intern(&s->strs, SYM_JIT_MODULE);
			s->jit_seen = true;
			jit = perfmap_find(s->perfmap, addr - is_return,
					   &s->strs);
		}
	}
	if (n <= 0) {
		memset(f, 0, sizeof(f[0]));
		f[0].function = jit;
		n = 1;
	}
	c = malloc(sizeof(*c) + n * sizeof(c->f[0]));
	if (!c)
		return NULL;
	c->n = n;
	c->gen = s->gen;
	c->unmapped = !a;
	/* JIT code the perf map does not name yet: ask again next time */
	if (module && !jit && !strcmp(module, SYM_JIT_MODULE))
		c->gen = UINT64_MAX;
	for (i = 0; i < n; i++) {
		c->f[i] = f[i];
		c->f[i].addr = addr;
		c->f[i].module = module;
		if (a && a->path[0] == '/') {
			c->f[i].has_offset = true;
			c->f[i].offset = a->off + (addr - is_return - a->start);
			c->f[i].build_id = a->build_id;
			c->f[i].in_exe = (a->mod && a->mod == s->exe_mod) ||
					 a->path == s->exe_path;
			c->f[i].has_elf_addr = a->has_bias;
			c->f[i].elf_addr = addr - is_return - a->bias;
		}
	}
	return c;
}

int symbolize(struct symbolizer *s, uint64_t addr, bool is_return,
	      struct frame *out, int max)
{
	uint64_t key = addr << 1 | is_return, v;
	struct cached *c;
	int n;

	if (max < 1)
		return -EINVAL;
	s->lookups++;
	c = u64map_get(&s->addrs, key, &v) ? (struct cached *)(uintptr_t)v
					    : NULL;
	if (c && c->unmapped && c->gen != s->gen) {
		u64map_del(&s->addrs, key);
		free(c);
		c = NULL;
	}
	if (c) {
		s->hits++;
	} else {
		uint64_t t0 = now_ns();

		c = resolve(s, addr, is_return);
		s->ns += now_ns() - t0;
		if (!c || u64map_put(&s->addrs, key, (uintptr_t)c)) {
			free(c);
			memset(out, 0, sizeof(*out));
			out->addr = addr;
			return 1;
		}
	}
	n = c->n < max ? c->n : max;
	memcpy(out, c->f, n * sizeof(*out));
	return n;
}

static uint16_t native_machine(void)
{
#if defined(__x86_64__)
	return EM_X86_64;
#elif defined(__aarch64__)
	return EM_AARCH64;
#elif defined(__i386__)
	return EM_386;
#else
	return EM_NONE;
#endif
}

/* Anonymous executable memory (JIT): read the target's bytes. */
static bool mem_call_before(struct symbolizer *s, uint64_t addr)
{
	const struct map_entry *e = procmaps_find(s->maps, s->nmaps, addr - 1);
	uint8_t buf[9];
	uint64_t from;
	char path[64];
	ssize_t r;
	int fd;

	if (!e || !e->x || s->gone)
		return false;
	from = addr - e->start < sizeof(buf) ? e->start : addr - sizeof(buf);
	snprintf(path, sizeof(path), "/proc/%d/mem", s->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	r = pread(fd, buf, addr - from, from);
	close(fd);
	return r == (ssize_t)(addr - from) &&
	       lt_is_call_before(native_machine(), buf, r);
}

bool symbolizer_is_return_addr(struct symbolizer *s, uint64_t addr)
{
	const struct amap *a;

	if (!addr)
		return false;
	a = find_entry(s, addr);
	if (!a)
		return mem_call_before(s, addr);
	/* The call ends at addr, so its bytes lie just before it. */
	if (!a->x || !a->mod || addr == a->start)
		return false;
	return elfmod_call_before(a->mod, a->off + (addr - a->start));
}

bool symbolizer_call_target(struct symbolizer *s, uint64_t ret,
			    uint64_t *target)
{
	const struct amap *a = ret ? find_entry(s, ret) : NULL;
	int64_t rel;

	if (!a || !a->x || !a->mod || ret == a->start ||
	    !elfmod_direct_call(a->mod, a->off + (ret - a->start), &rel))
		return false;
	*target = ret + rel;
	return true;
}

const char *symbolizer_go_version(struct symbolizer *s)
{
	char path[64];
	struct elfmod *m;
	const char *v;
	int fd;

	if (s->go_done)
		return s->go_version;
	if (s->exe_mod) {
		s->go_version = elfmod_go_version(s->exe_mod);
		s->go_done = true;
		return s->go_version;
	}
	if (s->gone)
		return NULL;
	snprintf(path, sizeof(path), "/proc/%d/exe", s->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || elfmod_open_fd(fd, &m))
		return NULL;
	v = elfmod_go_version(m);
	s->go_version = v ? lt_strmap_intern(&s->strs, v) : NULL;
	s->go_done = true;
	elfmod_free(m);
	return s->go_version;
}

int symbolizer_bias(struct symbolizer *s, uint64_t addr, uint64_t *bias)
{
	const struct amap *a = find_entry(s, addr);

	if (!a || !a->has_bias)
		return -ENOENT;
	*bias = a->bias;
	return 0;
}

int symbolizer_module(struct symbolizer *s, uint64_t addr,
		      struct elfmod **mod, uint64_t *bias)
{
	const struct amap *a = find_entry(s, addr);

	if (!a || !a->mod || !a->has_bias)
		return -ENOENT;
	*mod = a->mod;
	*bias = a->bias;
	return 0;
}

void symbolizer_get_stats(const struct symbolizer *s,
			  struct symbolizer_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->mappings = s->nam;
	st->modules = s->cache->mods.len;
	st->module_loads = s->cache->loads;
	st->module_reuses = s->cache->reuses;
	st->lookups = s->lookups;
	st->hits = s->hits;
	st->refreshes = s->refreshes;
	st->ns = s->ns;
	st->gone = s->gone;
}

bool symbolizer_has_jit(const struct symbolizer *s)
{
	return s && s->jit_seen;
}
