// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Per-ELF-module symbolization: symbols, DWARF, Go, debug files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <dwarf.h>
#include <gelf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <zlib.h>
#include "elfsym.h"
#include "gopclntab.h"

/* From libstdc++ (the binary links -lstdc++). */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

#define BUILD_ID_MAX 64

struct esym {
	uint64_t addr, size;
	uint64_t limit;		/* end of its section, for size 0 */
	const char *name;	/* ELF string table, or demangled in m->strs */
	uint8_t bind;
	bool demangled;		/* name is final */
};

struct cu_range {
	uint64_t lo, hi;
	Dwarf_Die die;
};

struct elfmod {
	Elf *elf;
	void *mem;		/* image for elf_memory(), or NULL */
	uint16_t machine;
	uint16_t type;
	uint8_t build_id[BUILD_ID_MAX];
	size_t build_id_len;
	GElf_Phdr *loads;
	size_t nloads;
	bool has_symtab, has_dwarf, has_dynsym, maybe_go;

	Elf *dbg_elf;		/* separate debug file */
	char *dbg_path;

	bool syms_done;
	struct esym *syms;
	size_t nsyms;

	bool dwarf_done;
	Dwarf *dw;
	bool cus_done;
	struct cu_range *cus;
	size_t ncus;

	bool go_done;
	struct gopcln *go;
	bool gover_done;
	char gover[64];

	struct lt_strmap strs;	/* mangled -> demangled names */
};

/* ---- string map ---- */

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 0x100000001b3ULL;
	return h | 1;	/* never 0 */
}

static struct lt_strslot *strmap_find(const struct lt_strmap *m,
				      const char *key, uint64_t h)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct lt_strslot *sl = &m->slots[i];

		if (!sl->key || (sl->hash == h && !strcmp(sl->key, key)))
			return sl;
	}
}

void *lt_strmap_get(const struct lt_strmap *m, const char *key)
{
	struct lt_strslot *sl = strmap_find(m, key, str_hash(key));

	return sl && sl->key ? sl->val : NULL;
}

static int strmap_grow(struct lt_strmap *m)
{
	struct lt_strmap n = { .cap = m->cap ? m->cap * 2 : 64 };
	size_t i;

	n.slots = calloc(n.cap, sizeof(*n.slots));
	if (!n.slots)
		return -ENOMEM;
	for (i = 0; i < m->cap; i++) {
		struct lt_strslot *sl = &m->slots[i];

		if (sl->key)
			*strmap_find(&n, sl->key, sl->hash) = *sl;
	}
	free(m->slots);
	m->slots = n.slots;
	m->cap = n.cap;
	return 0;
}

void **lt_strmap_slot(struct lt_strmap *m, const char *key,
		      const char **stored)
{
	uint64_t h = str_hash(key);
	struct lt_strslot *sl;

	if ((m->len + 1) * 4 > m->cap * 3 && strmap_grow(m))
		return NULL;
	sl = strmap_find(m, key, h);
	if (!sl->key) {
		sl->key = strdup(key);
		if (!sl->key)
			return NULL;
		sl->hash = h;
		sl->val = NULL;
		m->len++;
	}
	if (stored)
		*stored = sl->key;
	return &sl->val;
}

const char *lt_strmap_intern(struct lt_strmap *m, const char *s)
{
	const char *k;

	return lt_strmap_slot(m, s, &k) ? k : NULL;
}

void lt_strmap_free(struct lt_strmap *m, void (*free_val)(void *))
{
	size_t i;

	for (i = 0; i < m->cap; i++) {
		if (!m->slots[i].key)
			continue;
		if (free_val && m->slots[i].val)
			free_val(m->slots[i].val);
		free(m->slots[i].key);
	}
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* ---- opening ---- */

static Elf_Scn *find_scn(Elf *elf, const char *name, GElf_Shdr *out)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *n;

		if (!gelf_getshdr(scn, &sh))
			continue;
		n = elf_strptr(elf, shstrndx, sh.sh_name);
		if (n && !strcmp(n, name)) {
			if (out)
				*out = sh;
			return scn;
		}
	}
	return NULL;
}

static Elf_Scn *find_scn_type(Elf *elf, Elf64_Word type)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == type)
			return scn;
	return NULL;
}

static bool has_debug_info(Elf *elf)
{
	return find_scn(elf, ".debug_info", NULL) ||
	       find_scn(elf, ".zdebug_info", NULL);
}

static int elfmod_init(Elf *elf, void *mem, struct elfmod **out)
{
	struct elfmod *m;
	const void *id;
	GElf_Ehdr eh;
	size_t i, nph;
	ssize_t idlen;

	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    elf_getphdrnum(elf, &nph)) {
		elf_end(elf);
		free(mem);
		return -ENOEXEC;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		goto nomem;
	m->elf = elf;
	m->mem = mem;
	m->machine = eh.e_machine;
	m->type = eh.e_type;
	idlen = dwelf_elf_gnu_build_id(elf, &id);
	if (idlen > 0 && idlen <= BUILD_ID_MAX) {
		memcpy(m->build_id, id, idlen);
		m->build_id_len = idlen;
	}
	m->loads = calloc(nph ? nph : 1, sizeof(*m->loads));
	if (!m->loads)
		goto nomem;
	for (i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD)
			m->loads[m->nloads++] = ph;
	}
	m->has_symtab = find_scn_type(elf, SHT_SYMTAB);
	m->has_dynsym = find_scn_type(elf, SHT_DYNSYM);
	m->has_dwarf = has_debug_info(elf);
	m->maybe_go = find_scn(elf, ".gopclntab", NULL) ||
		      find_scn(elf, ".go.buildinfo", NULL) ||
		      find_scn(elf, ".note.go.buildid", NULL) ||
		      !elf_nextscn(elf, NULL);
	*out = m;
	return 0;
nomem:
	if (m)
		free(m->loads);
	free(m);
	elf_end(elf);
	free(mem);
	return -ENOMEM;
}

int elfmod_open_fd(int fd, struct elfmod **out)
{
	Elf *elf;

	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf) {
		close(fd);
		return -ENOEXEC;
	}
	/* Reads everything now unless mapped; libelf drops the fd after. */
	if (elf_cntl(elf, ELF_C_FDREAD)) {
		elf_end(elf);
		close(fd);
		return -EIO;
	}
	close(fd);
	return elfmod_init(elf, NULL, out);
}

int elfmod_open_mem(void *buf, size_t len, struct elfmod **out)
{
	Elf *elf;

	elf_version(EV_CURRENT);
	elf = elf_memory(buf, len);
	if (!elf) {
		free(buf);
		return -ENOEXEC;
	}
	return elfmod_init(elf, buf, out);
}

void elfmod_free(struct elfmod *m)
{
	if (!m)
		return;
	if (m->go)
		gopcln_close(m->go);
	if (m->dw)
		dwarf_end(m->dw);
	free(m->cus);
	free(m->syms);
	lt_strmap_free(&m->strs, free);
	if (m->dbg_elf)
		elf_end(m->dbg_elf);
	free(m->dbg_path);
	elf_end(m->elf);
	free(m->mem);
	free(m->loads);
	free(m);
}

size_t elfmod_build_id(const struct elfmod *m, const uint8_t **id)
{
	*id = m->build_id;
	return m->build_id_len;
}

int elfmod_bias(const struct elfmod *m, uint64_t start, uint64_t off,
		bool exec, uint64_t *bias)
{
	uint64_t pgsz = (uint64_t)sysconf(_SC_PAGESIZE);
	const GElf_Phdr *best = NULL;
	size_t i;

	/* The mapping at off comes from the PT_LOAD whose file range (page
	 * aligned down, the way the loader maps it) covers off. Two segments
	 * can share a page in small binaries: prefer the one whose X flag
	 * matches the mapping. */
	for (i = 0; i < m->nloads; i++) {
		const GElf_Phdr *ph = &m->loads[i];
		uint64_t lo = ph->p_offset & ~(pgsz - 1);
		uint64_t hi = ph->p_offset + ph->p_filesz;

		if (off < lo || (off >= hi && off != lo))
			continue;
		if (!best || (!!(ph->p_flags & PF_X) == exec &&
			      !!(best->p_flags & PF_X) != exec))
			best = ph;
	}
	if (!best)
		return -ENOENT;
	/* runtime(o) = bias + p_vaddr + (o - p_offset), runtime(off) = start */
	*bias = start - off + best->p_offset - best->p_vaddr;
	return 0;
}

/* ---- separate debug files ---- */

static bool id_matches(struct elfmod *m, Elf *dbg)
{
	const void *id;
	ssize_t len = dwelf_elf_gnu_build_id(dbg, &id);

	if (!m->build_id_len || len <= 0)
		return true;	/* nothing to compare; caller checks crc */
	return (size_t)len == m->build_id_len &&
	       !memcmp(id, m->build_id, len);
}

static bool crc_matches(Elf *dbg, GElf_Word crc)
{
	size_t size;
	char *raw = elf_rawfile(dbg, &size);
	uLong c = crc32(0L, Z_NULL, 0);

	while (raw && size) {
		uInt chunk = size > (1u << 30) ? (1u << 30) : (uInt)size;

		c = crc32(c, (const Bytef *)raw, chunk);
		raw += chunk;
		size -= chunk;
	}
	return raw && (GElf_Word)c == crc;
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
	if (!(!m->has_dwarf && has_debug_info(dbg)) &&
	    !(!m->has_symtab && find_scn_type(dbg, SHT_SYMTAB)))
		goto reject;
	if (!id_matches(m, dbg))
		goto reject;
	if (check_crc && !m->build_id_len && !crc_matches(dbg, crc))
		goto reject;
	m->dbg_path = strdup(path);
	if (!m->dbg_path)
		goto reject;
	m->dbg_elf = dbg;
	m->has_dwarf |= has_debug_info(dbg);
	m->has_symtab |= !!find_scn_type(dbg, SHT_SYMTAB);
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

int elfmod_find_debug(struct elfmod *m, const char *root, const char *path)
{
	static const char *const fmts[] = {
		"%.*s/%s", "%.*s/.debug/%s", "/usr/lib/debug%.*s/%s",
	};
	const char *link, *slash;
	GElf_Word crc = 0;
	char rest[4096];
	size_t i, n;
	int dirlen;

	if (m->dbg_elf)
		return 0;
	if (m->has_dwarf && m->has_symtab)
		return -ENOENT;
	if (m->build_id_len >= 2) {
		n = snprintf(rest, sizeof(rest),
			     "/usr/lib/debug/.build-id/%02x/", m->build_id[0]);
		for (i = 1; i < m->build_id_len; i++)
			n += snprintf(rest + n, sizeof(rest) - n, "%02x",
				      m->build_id[i]);
		snprintf(rest + n, sizeof(rest) - n, ".debug");
		if (!try_debug_roots(m, root, rest, false, 0))
			return 0;
	}
	link = dwelf_elf_gnu_debuglink(m->elf, &crc);
	if (!link || !*link || strchr(link, '/') || !path)
		return -ENOENT;
	slash = strrchr(path, '/');
	if (!slash)
		return -ENOENT;
	dirlen = (int)(slash - path);
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		int len = snprintf(rest, sizeof(rest), fmts[i], dirlen, path,
				   link);

		if (len > 0 && len < (int)sizeof(rest) &&
		    !try_debug_roots(m, root, rest, true, crc))
			return 0;
	}
	return -ENOENT;
}

/* ---- symbols ---- */

static const char *demangle(struct elfmod *m, const char *name)
{
	const char *key;
	void **slot;
	char *d;
	int status;

	if (!name || name[0] != '_' || name[1] != 'Z')
		return name;
	slot = lt_strmap_slot(&m->strs, name, &key);
	if (!slot)
		return name;
	if (!*slot) {
		d = __cxa_demangle(name, NULL, NULL, &status);
		*slot = status == 0 && d ? d : strdup(name);
		if (status != 0)
			free(d);
		if (!*slot)
			return key;
	}
	return *slot;
}

static int load_symtab(struct esym **v, size_t *n, size_t *cap, Elf *elf,
		       Elf_Scn *scn)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	GElf_Shdr sh;
	size_t i, cnt;

	if (!data || !gelf_getshdr(scn, &sh) || !sh.sh_entsize)
		return 0;
	cnt = sh.sh_size / sh.sh_entsize;
	for (i = 0; i < cnt; i++) {
		GElf_Shdr ssh;
		GElf_Sym sym;
		const char *name;
		uint64_t limit;
		int type;

		if (!gelf_getsym(data, i, &sym))
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
		    sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		name = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		if (sym.st_shndx < SHN_LORESERVE &&
		    gelf_getshdr(elf_getscn(elf, sym.st_shndx), &ssh))
			limit = ssh.sh_addr + ssh.sh_size;
		else
			limit = UINT64_MAX;
		if (*n == *cap) {
			struct esym *nv;

			*cap = *cap ? *cap * 2 : 256;
			nv = realloc(*v, *cap * sizeof(**v));
			if (!nv)
				return -ENOMEM;
			*v = nv;
		}
		(*v)[(*n)++] = (struct esym){
			.addr = sym.st_value,
			.size = sym.st_size,
			.limit = limit,
			.name = name,
			.bind = GELF_ST_BIND(sym.st_info),
		};
	}
	return 0;
}

static int bind_rank(uint8_t bind)
{
	return bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
}

static size_t underscores(const char *s)
{
	size_t n = 0;

	while (s[n] == '_')
		n++;
	return n;
}

/* Address order; among aliases the best name first: sized, exported,
 * fewest leading underscores, global before weak ("malloc" before
 * "__libc_malloc", weak "mmap" before global "__mmap"). */
static int cmp_sym(const void *a, const void *b)
{
	const struct esym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (!x->size != !y->size)
		return x->size ? -1 : 1;
	if ((x->bind == STB_LOCAL) != (y->bind == STB_LOCAL))
		return x->bind == STB_LOCAL ? 1 : -1;
	if (underscores(x->name) != underscores(y->name))
		return underscores(x->name) < underscores(y->name) ? -1 : 1;
	if (bind_rank(x->bind) != bind_rank(y->bind))
		return bind_rank(x->bind) - bind_rank(y->bind);
	return strcmp(x->name, y->name);
}

static void load_syms(struct elfmod *m)
{
	struct esym *v = NULL;
	size_t n = 0, cap = 0, i, j;
	Elf_Scn *scn;

	m->syms_done = true;
	if ((scn = find_scn_type(m->elf, SHT_SYMTAB)))
		load_symtab(&v, &n, &cap, m->elf, scn);
	else if (m->dbg_elf && (scn = find_scn_type(m->dbg_elf, SHT_SYMTAB)))
		load_symtab(&v, &n, &cap, m->dbg_elf, scn);
	if (!n && (scn = find_scn_type(m->elf, SHT_DYNSYM)))
		load_symtab(&v, &n, &cap, m->elf, scn);
	if (!n) {
		free(v);
		return;
	}
	qsort(v, n, sizeof(*v), cmp_sym);
	for (i = 1, j = 1; i < n; i++)	/* one symbol per address */
		if (v[i].addr != v[j - 1].addr)
			v[j++] = v[i];
	m->syms = v;
	m->nsyms = j;
}

static struct esym *find_sym(struct elfmod *m, uint64_t pc)
{
	size_t lo = 0, hi, i, k;

	if (!m->syms_done)
		load_syms(m);
	hi = m->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->syms[mid].addr <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	i = lo - 1;
	if (!m->syms[i].size)	/* size unknown: to the next one or the
				 * end of its section */
		return pc < m->syms[i].limit ? &m->syms[i] : NULL;
	if (pc < m->syms[i].addr + m->syms[i].size)
		return &m->syms[i];
	/* Past its end: a few earlier symbols may enclose pc (nesting). */
	for (k = 1; k <= 4 && k <= i; k++) {
		struct esym *s = &m->syms[i - k];

		if (s->size && pc < s->addr + s->size)
			return s;
	}
	return NULL;
}

static const char *sym_name(struct elfmod *m, struct esym *s)
{
	if (!s->demangled) {
		s->name = demangle(m, s->name);
		s->demangled = true;
	}
	return s->name;
}

/* ---- DWARF ---- */

static void load_dwarf(struct elfmod *m)
{
	m->dwarf_done = true;
	if (has_debug_info(m->elf))
		m->dw = dwarf_begin_elf(m->elf, DWARF_C_READ, NULL);
	if (!m->dw && m->dbg_elf)
		m->dw = dwarf_begin_elf(m->dbg_elf, DWARF_C_READ, NULL);
}

static int cmp_cu(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* CU address ranges from the CU DIEs, for when .debug_aranges is missing
 * or incomplete. */
static void load_cus(struct elfmod *m)
{
	Dwarf_CU *cu = NULL;
	size_t cap = 0;
	Dwarf_Die die;
	uint8_t type;

	m->cus_done = true;
	while (dwarf_get_units(m->dw, cu, &cu, NULL, &type, &die, NULL) == 0) {
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;

		if (type != DW_UT_compile && type != DW_UT_skeleton &&
		    type != DW_UT_partial)
			continue;
		while ((off = dwarf_ranges(&die, off, &base, &lo, &hi)) > 0) {
			if (lo >= hi)
				continue;
			if (m->ncus == cap) {
				struct cu_range *nv;

				cap = cap ? cap * 2 : 64;
				nv = realloc(m->cus, cap * sizeof(*nv));
				if (!nv)
					return;
				m->cus = nv;
			}
			m->cus[m->ncus++] = (struct cu_range){ lo, hi, die };
		}
	}
	qsort(m->cus, m->ncus, sizeof(*m->cus), cmp_cu);
}

static bool find_cu(struct elfmod *m, uint64_t pc, Dwarf_Die *cu)
{
	size_t lo = 0, hi, k;

	if (dwarf_addrdie(m->dw, pc, cu))
		return true;
	if (!m->cus_done)
		load_cus(m);
	hi = m->ncus;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->cus[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (k = lo; k > 0 && lo - k < 8; k--) {
		if (pc < m->cus[k - 1].hi) {
			*cu = m->cus[k - 1].die;
			return true;
		}
	}
	return false;
}

static const char *die_name(struct elfmod *m, Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *s;

	/* A mangled linkage name has the full C++ name; a C one is only an
	 * asm label (glibc's __GI_ aliases), so DW_AT_name is better. */
	if ((dwarf_attr_integrate(die, DW_AT_linkage_name, &a) ||
	     dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a)) &&
	    (s = dwarf_formstring(&a)) && s[0] == '_' && s[1] == 'Z')
		return demangle(m, s);
	if (dwarf_attr_integrate(die, DW_AT_name, &a))
		return dwarf_formstring(&a);
	return NULL;
}

static void call_site(Dwarf_Die *cu, Dwarf_Die *die, const char **file,
		      int *line)
{
	Dwarf_Attribute a;
	Dwarf_Files *files;
	Dwarf_Word v;
	size_t nf;

	*file = NULL;
	*line = 0;
	if (dwarf_attr(die, DW_AT_call_line, &a) && !dwarf_formudata(&a, &v))
		*line = (int)v;
	if (dwarf_attr(die, DW_AT_call_file, &a) && !dwarf_formudata(&a, &v) &&
	    !dwarf_getsrcfiles(cu, &files, &nf) && v < nf)
		*file = dwarf_filesrc(files, v, NULL, NULL);
}

static int dwarf_lookup(struct elfmod *m, uint64_t pc, struct esym *sym,
			struct sym_frame *out, int max)
{
	Dwarf_Die cu, *scopes = NULL;
	const char *file = NULL;
	Dwarf_Line *ln;
	int line = 0, n = 0, i, ns;
	bool phys = false;

	if (!m->dwarf_done)
		load_dwarf(m);
	if (!m->dw || !find_cu(m, pc, &cu))
		return 0;
	ln = dwarf_getsrc_die(&cu, pc);
	if (ln) {
		file = dwarf_linesrc(ln, NULL, NULL);
		if (dwarf_lineno(ln, &line))
			line = 0;
	}
	ns = dwarf_getscopes(&cu, pc, &scopes);
	for (i = 0; i < ns && n < max; i++) {
		Dwarf_Die *d = &scopes[i];
		struct sym_frame *f;
		int tag = dwarf_tag(d);

		if (tag != DW_TAG_inlined_subroutine &&
		    tag != DW_TAG_subprogram)
			continue;
		f = &out[n++];
		memset(f, 0, sizeof(*f));
		f->function = die_name(m, d);
		f->file = file;
		f->line = line;
		if (tag == DW_TAG_subprogram) {
			/* The physical function: the symbol has the public
			 * alias ("malloc") and the full C++ name, DWARF the
			 * clean name of clones ("f.constprop.0", "f.cold"). */
			if (sym && (!f->function || !strchr(sym->name, '.')))
				f->function = sym_name(m, sym);
			phys = true;
			break;
		}
		f->inlined = true;
		call_site(&cu, d, &file, &line);
	}
	free(scopes);
	if (!phys && n < max) {	/* no subprogram: use the symbol */
		struct sym_frame *f = &out[n];

		if (!n && !sym && !file)
			return 0;
		memset(f, 0, sizeof(*f));
		f->function = sym ? sym_name(m, sym) : NULL;
		f->file = file;
		f->line = line;
		n++;
	}
	return n;
}

/* ---- Go ---- */

static int go_lookup(struct elfmod *m, uint64_t pc, struct sym_frame *out,
		     int max)
{
	struct gopcln_frame gf[16];
	int n, i;

	if (!m->maybe_go)
		return 0;
	if (!m->go_done) {
		m->go_done = true;
		if (gopcln_open(m->elf, &m->go))
			m->go = NULL;
	}
	if (!m->go)
		return 0;
	n = gopcln_lookup(m->go, pc, gf, max < 16 ? max : 16);
	for (i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].function = gf[i].func;
		out[i].file = gf[i].file;
		out[i].line = gf[i].line;
		out[i].inlined = i < n - 1;
	}
	return n > 0 ? n : 0;
}

const char *elfmod_go_version(struct elfmod *m)
{
	if (!m->gover_done) {
		m->gover_done = true;
		if (!m->maybe_go ||
		    go_buildinfo_version(m->elf, m->gover, sizeof(m->gover)))
			m->gover[0] = '\0';
	}
	return m->gover[0] ? m->gover : NULL;
}

/* ---- lookup ---- */

int elfmod_lookup(struct elfmod *m, uint64_t pc, struct sym_frame *out,
		  int max)
{
	struct esym *sym;
	int n;

	if (max < 1)
		return 0;
	n = go_lookup(m, pc, out, max);
	if (n > 0)
		return n;
	sym = find_sym(m, pc);
	if (m->has_dwarf) {
		n = dwarf_lookup(m, pc, sym, out, max);
		if (n > 0)
			return n;
	}
	if (!sym)
		return 0;
	memset(out, 0, sizeof(*out));
	out->function = sym_name(m, sym);
	return 1;
}

void elfmod_get_info(struct elfmod *m, struct elfmod_info *info)
{
	if (!m->syms_done)
		load_syms(m);
	if (m->maybe_go && !m->go_done) {
		m->go_done = true;
		if (gopcln_open(m->elf, &m->go))
			m->go = NULL;
	}
	memset(info, 0, sizeof(*info));
	info->machine = m->machine;
	info->non_pie = m->type == ET_EXEC;
	info->has_symtab = m->has_symtab;
	info->has_dynsym = m->has_dynsym;
	info->has_dwarf = m->has_dwarf;
	info->is_go = m->go != NULL;
	info->nsyms = m->nsyms;
	info->debug_path = m->dbg_path;
}

/* ---- return addresses ---- */

/* ff /2 (call near indirect) of exactly n bytes at p, with an optional
 * notrack (3e) and REX prefix. */
static bool x86_ff2(const uint8_t *p, size_t n)
{
	size_t i = 0, len;
	uint8_t modrm, mod, rm;

	if (i < n && p[i] == 0x3e)
		i++;
	if (i < n && (p[i] & 0xf0) == 0x40)
		i++;
	if (i + 2 > n || p[i] != 0xff)
		return false;
	modrm = p[i + 1];
	if (((modrm >> 3) & 7) != 2)
		return false;
	mod = modrm >> 6;
	rm = modrm & 7;
	len = i + 2;
	if (mod != 3 && rm == 4) {	/* SIB byte */
		if (len >= n)
			return false;
		if (mod == 0 && (p[len] & 7) == 5)
			len += 4;	/* no base: disp32 */
		len++;
	}
	if (mod == 1)
		len += 1;
	else if (mod == 2 || (mod == 0 && rm == 5))
		len += 4;	/* disp32 or rip-relative */
	return len == n;
}

bool lt_is_call_before(uint16_t machine, const uint8_t *code, size_t len)
{
	size_t k;

	switch (machine) {
	case EM_X86_64:
	case EM_386:
		if (len >= 5 && code[len - 5] == 0xe8)
			return true;
		for (k = 2; k <= 9 && k <= len; k++)
			if (x86_ff2(code + len - k, k))
				return true;
		return false;
	case EM_AARCH64: {
		uint32_t insn;

		if (len < 4)
			return false;
		code += len - 4;
		insn = code[0] | code[1] << 8 | code[2] << 16 |
		       (uint32_t)code[3] << 24;
		return (insn & 0xfc000000) == 0x94000000 ||	/* BL */
		       (insn & 0xfffffc1f) == 0xd63f0000;	/* BLR */
	}
	default:
		return false;
	}
}

bool elfmod_call_before(const struct elfmod *m, uint64_t off)
{
	size_t size, n;
	const uint8_t *raw = (const uint8_t *)elf_rawfile(m->elf, &size);

	if (!raw || off > size)
		return false;
	n = off < 9 ? off : 9;
	return lt_is_call_before(m->machine, raw + off - n, n);
}

bool elfmod_direct_call(const struct elfmod *m, uint64_t off, int64_t *rel)
{
	size_t size;
	const uint8_t *raw = (const uint8_t *)elf_rawfile(m->elf, &size);
	int32_t d;

	if (!raw || off > size || off < 5 ||
	    (m->machine != EM_X86_64 && m->machine != EM_386) ||
	    raw[off - 5] != 0xe8)
		return false;
	memcpy(&d, raw + off - 4, sizeof(d));
	*rel = d;
	return true;
}
