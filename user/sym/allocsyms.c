// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "proc/procmaps.h"
#include "sym/allocsyms.h"
#include "util/log.h"

/* The entry points probed, by the argument layout their calls have. */
static const struct {
	const char *name;
	enum lt_malloc_fn fn;
	bool cxx;	/* C++ operators: only where the allocator defines
			 * them itself (libstdc++'s reach malloc) */
} entry_points[] = {
	{ "malloc", LT_MF_MALLOC },
	{ "valloc", LT_MF_MALLOC },
	{ "pvalloc", LT_MF_MALLOC },
	{ "calloc", LT_MF_CALLOC },
	{ "realloc", LT_MF_REALLOC },
	{ "memalign", LT_MF_MEMALIGN },
	{ "aligned_alloc", LT_MF_MEMALIGN },
	{ "posix_memalign", LT_MF_POSIX_MEMALIGN },
	{ "free", LT_MF_FREE },
	{ "cfree", LT_MF_FREE },
	/* jemalloc's non-standard API (redis's zmalloc may call these) */
	{ "mallocx", LT_MF_MALLOC },
	{ "rallocx", LT_MF_REALLOC },
	{ "dallocx", LT_MF_FREE },
	{ "sdallocx", LT_MF_FREE },
	/* tcmalloc's and jemalloc's own operator new/delete */
	{ "tc_malloc", LT_MF_MALLOC },
	{ "tc_calloc", LT_MF_CALLOC },
	{ "tc_realloc", LT_MF_REALLOC },
	{ "tc_free", LT_MF_FREE },
	{ "_Znwm", LT_MF_MALLOC, true },
	{ "_Znam", LT_MF_MALLOC, true },
	{ "_ZnwmRKSt9nothrow_t", LT_MF_MALLOC, true },
	{ "_ZnamRKSt9nothrow_t", LT_MF_MALLOC, true },
	{ "_ZnwmSt11align_val_t", LT_MF_MALLOC, true },
	{ "_ZnamSt11align_val_t", LT_MF_MALLOC, true },
	{ "_ZdlPv", LT_MF_FREE, true },
	{ "_ZdaPv", LT_MF_FREE, true },
	{ "_ZdlPvm", LT_MF_FREE, true },
	{ "_ZdaPvm", LT_MF_FREE, true },
	{ "_ZdlPvSt11align_val_t", LT_MF_FREE, true },
	{ "_ZdaPvSt11align_val_t", LT_MF_FREE, true },
	{ "_ZdlPvmSt11align_val_t", LT_MF_FREE, true },
	{ "_ZdaPvmSt11align_val_t", LT_MF_FREE, true },
};
#define NENTRY (sizeof(entry_points) / sizeof(entry_points[0]))

/* Prefixes of an allocator linked into an executable (redis's vendored
 * jemalloc is built with je_). */
static const char *const prefixes[] = { "je_", "tc_" };

struct modsyms {
	uint64_t off[NENTRY];		/* file offset + 1; 0 not defined */
	uint64_t pre_off[2][NENTRY];	/* the same with a prefix */
	bool is_go;			/* has Go code (.gopclntab) */
};

/* File offset of link-time address vaddr, from the PT_LOAD holding it. */
static bool vaddr_to_off(Elf *elf, uint64_t vaddr, uint64_t *off)
{
	size_t n;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD ||
		    !(ph.p_flags & PF_X))
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return true;
		}
	}
	return false;
}

static void note_sym(Elf *elf, const char *name, uint64_t vaddr,
		     struct modsyms *ms)
{
	uint64_t off;

	for (size_t i = 0; i < NENTRY; i++) {
		uint64_t *slot = NULL;

		if (!strcmp(name, entry_points[i].name)) {
			slot = &ms->off[i];
		} else {
			for (size_t p = 0; p < 2; p++) {
				size_t l = strlen(prefixes[p]);

				if (!strncmp(name, prefixes[p], l) &&
				    !strcmp(name + l, entry_points[i].name))
					slot = &ms->pre_off[p][i];
			}
		}
		if (slot && !*slot && vaddr_to_off(elf, vaddr, &off))
			*slot = off + 1;
	}
}

/* Reads the defined functions among the entry points from .dynsym and
 * .symtab of the file at path. */
static int read_module(const char *path, struct modsyms *ms)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	Elf *elf;
	int fd;

	memset(ms, 0, sizeof(*ms));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (elf)
			elf_end(elf);
		close(fd);
		return -ENOEXEC;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		const char *sname;
		size_t shstrndx;
		Elf_Data *d;
		size_t cnt;

		/* Go code in the file: its allocator entry points are never
		 * probed (a uretprobe patches the return address on the stack,
		 * and Go moves its stacks). Stripped Go binaries keep it. */
		if (gelf_getshdr(scn, &sh) && !elf_getshdrstrndx(elf, &shstrndx) &&
		    (sname = elf_strptr(elf, shstrndx, sh.sh_name)) &&
		    (!strcmp(sname, ".gopclntab") || !strcmp(sname, ".go.buildinfo")))
			ms->is_go = true;
		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB) ||
		    !sh.sh_entsize || !(d = elf_getdata(scn, NULL)))
			continue;
		cnt = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < cnt; i++) {
			GElf_Sym s;
			const char *name;

			if (!gelf_getsym(d, (int)i, &s) || !s.st_value ||
			    s.st_shndx == SHN_UNDEF ||
			    (GELF_ST_TYPE(s.st_info) != STT_FUNC &&
			     GELF_ST_TYPE(s.st_info) != STT_GNU_IFUNC))
				continue;
			/* an IFUNC resolver is not the function */
			if (GELF_ST_TYPE(s.st_info) == STT_GNU_IFUNC)
				continue;
			name = elf_strptr(elf, sh.sh_link, s.st_name);
			if (name)
				note_sym(elf, name, s.st_value, ms);
		}
	}
	elf_end(elf);
	close(fd);
	return 0;
}

static void add_probe(struct alloc_found *out, const char *path,
		      const char *prefix, size_t i, uint64_t off)
{
	for (int k = 0; k < out->n; k++)
		if (out->probes[k].offset == off &&
		    !strcmp(out->probes[k].path, path))
			return;	/* an alias of one already probed */
	if (out->n == ALLOC_MAX_PROBES)
		return;
	struct alloc_probe *p = &out->probes[out->n++];

	snprintf(p->path, sizeof(p->path), "%s", path);
	snprintf(p->sym, sizeof(p->sym), "%s%s", prefix, entry_points[i].name);
	p->offset = off;
	p->fn = entry_points[i].fn;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static bool is_libc(const char *path)
{
	const char *b = base_name(path);

	return !strncmp(b, "libc.so", 7) || !strncmp(b, "libc-", 5);
}

static bool is_loader(const char *path)
{
	return !strncmp(base_name(path), "ld-linux", 8) ||
	       !strncmp(base_name(path), "ld-musl", 7);
}

bool alloc_module_is_go(const char *path)
{
	struct modsyms ms;

	return !read_module(path, &ms) && ms.is_go;
}

int alloc_find(pid_t pid, struct alloc_found *out)
{
	char exe[PATH_MAX] = "", link[64], full[4096 + 64];
	struct map_entry *maps = NULL;
	struct modsyms ms;
	const char *chosen = NULL, *libc = NULL, *prev = "";
	size_t n = 0;
	ssize_t l;
	int err;

	memset(out, 0, sizeof(*out));
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	l = readlink(link, exe, sizeof(exe) - 1);
	exe[l > 0 ? l : 0] = 0;
	err = procmaps_read(pid, &maps, &n);
	if (err)
		return err;
	/* The executable's own allocator: prefixed (je_malloc) probed beside
	 * the one serving malloc; unprefixed, it serves malloc. */
	for (size_t i = 0; i < n && !chosen; i++) {
		const char *path = maps[i].path;

		if (!maps[i].x || path[0] != '/' || !strcmp(path, prev))
			continue;
		prev = path;
		snprintf(full, sizeof(full), "/proc/%d/root%s", pid, path);
		if (is_loader(path) || read_module(full, &ms))
			continue;
		if (ms.is_go) {
			lt_debug("allocator: %s has Go code: not probed\n", path);
			continue;
		}
		if (exe[0] && !strcmp(path, exe)) {
			for (size_t p = 0; p < 2; p++) {
				if (!ms.pre_off[p][0])
					continue;
				for (size_t k = 0; k < NENTRY; k++)
					if (ms.pre_off[p][k])
						add_probe(out, full, prefixes[p], k,
							  ms.pre_off[p][k] - 1);
				snprintf(out->prefixed, sizeof(out->prefixed), "%s in %s",
					 prefixes[p], base_name(path));
			}
		}
		if (!ms.off[0])
			continue;	/* does not define malloc */
		if (is_libc(path)) {
			libc = path;
			continue;
		}
		chosen = path;
	}
	if (!chosen)
		chosen = libc;
	if (chosen) {
		snprintf(full, sizeof(full), "/proc/%d/root%s", pid, chosen);
		if (!read_module(full, &ms) && !ms.is_go) {
			bool own_cxx = !is_libc(chosen);

			for (size_t k = 0; k < NENTRY; k++)
				if (ms.off[k] && (own_cxx || !entry_points[k].cxx))
					add_probe(out, full, "", k, ms.off[k] - 1);
		}
		snprintf(out->module, sizeof(out->module), "%s", chosen);
		snprintf(out->name, sizeof(out->name), "%s",
			 is_libc(chosen) ? "glibc" :
			 strstr(chosen, "jemalloc") ? "jemalloc" :
			 strstr(chosen, "tcmalloc") ? "tcmalloc" :
			 exe[0] && !strcmp(chosen, exe) ? "linked into the executable" :
			 base_name(chosen));
	}
	procmaps_free(maps, n);
	return out->n ? 0 : -ENOENT;
}
