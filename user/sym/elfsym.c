// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Per-ELF-module symbolization: opening, load bias, build id, symbols and
 * Go. DWARF and separate debug files are in elfdwarf.c, call instructions
 * in elfcall.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <gelf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include "sym/elfsym.h"
#include "sym/elfsym_int.h"
#include "go/gopclntab.h"

/* From libstdc++ (the binary links -lstdc++). */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

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

Elf_Scn *elfsym_find_scn(Elf *elf, const char *name, GElf_Shdr *out)
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

bool elfsym_names_readable(Elf *elf)
{
	size_t shstrndx;

	/* Unreadable names hide .gopclntab from a search by name: it is
	 * then looked for through the segments. */
	return !elf_getshdrstrndx(elf, &shstrndx) && shstrndx &&
	       elf_strptr(elf, shstrndx, 0);
}

Elf_Scn *elfsym_find_scn_type(Elf *elf, Elf64_Word type)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == type)
			return scn;
	return NULL;
}

bool elfsym_has_debug_info(Elf *elf)
{
	return elfsym_find_scn(elf, ".debug_info", NULL) ||
	       elfsym_find_scn(elf, ".zdebug_info", NULL);
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
	m->has_symtab = elfsym_find_scn_type(elf, SHT_SYMTAB);
	m->has_dynsym = elfsym_find_scn_type(elf, SHT_DYNSYM);
	m->has_dwarf = elfsym_has_debug_info(elf);
	m->maybe_go = elfsym_find_scn(elf, ".gopclntab", NULL) ||
		      elfsym_find_scn(elf, ".go.buildinfo", NULL) ||
		      elfsym_find_scn(elf, ".note.go.buildid", NULL) ||
		      !elf_nextscn(elf, NULL) || !elfsym_names_readable(elf);
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
	void *code = NULL;
	struct stat st;
	size_t len = 0;
	Elf *elf;
	int err;

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
	if (!fstat(fd, &st) && st.st_size > 0) {
		code = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (code == MAP_FAILED)
			code = NULL;
		else
			len = st.st_size;
	}
	close(fd);
	err = elfmod_init(elf, NULL, out);
	if (err) {
		if (code)
			munmap(code, len);
		return err;
	}
	(*out)->code = code;
	(*out)->code_len = len;
	return 0;
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
	if (m->cfi_eh)
		dwarf_cfi_end(m->cfi_eh);
	if (m->dw)
		dwarf_end(m->dw);
	free(m->cus);
	free(m->syms);
	lt_strmap_free(&m->strs, free);
	if (m->dbg_elf)
		elf_end(m->dbg_elf);
	free(m->dbg_path);
	elf_end(m->elf);
	if (m->code)
		munmap(m->code, m->code_len);
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

/* ---- symbols ---- */

const char *elfmod_demangle(struct elfmod *m, const char *name)
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
	if ((scn = elfsym_find_scn_type(m->elf, SHT_SYMTAB)))
		load_symtab(&v, &n, &cap, m->elf, scn);
	else if (m->dbg_elf &&
		 (scn = elfsym_find_scn_type(m->dbg_elf, SHT_SYMTAB)))
		load_symtab(&v, &n, &cap, m->dbg_elf, scn);
	if (!n && (scn = elfsym_find_scn_type(m->elf, SHT_DYNSYM)))
		load_symtab(&v, &n, &cap, m->elf, scn);
	/* no section headers to read (stripped of them, or cut): the
	 * dynamic loader's view still names the exported functions */
	if (!n && !elfsym_find_scn_type(m->elf, SHT_DYNSYM) &&
	    !elfsym_load_dynamic(m, &v, &n, &cap)) {
		m->has_dynsym = true;
		m->dynsym_from_phdr = true;
	}
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

const char *elfmod_sym_name(struct elfmod *m, struct esym *s)
{
	if (!s->demangled) {
		s->name = elfmod_demangle(m, s->name);
		s->demangled = true;
	}
	return s->name;
}

bool elfmod_names_from_go(struct elfmod *m)
{
	if (m->maybe_go && !m->go_done) {
		m->go_done = true;
		if (gopcln_open(m->elf, &m->go))
			m->go = NULL;
	}
	return m->go != NULL;
}

void elfmod_forget_lookups(struct elfmod *m)
{
	free(m->syms);
	m->syms = NULL;
	m->nsyms = 0;
	m->syms_done = false;
	if (m->dwarf_done && !m->dw) {
		m->dwarf_done = false;
		m->cfi_dbg_done = false;
		free(m->cus);
		m->cus = NULL;
		m->ncus = 0;
		m->cus_done = false;
	}
}

/* ---- Go ---- */

static int go_lookup(struct elfmod *m, uint64_t pc, struct frame *out,
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

int elfmod_lookup(struct elfmod *m, uint64_t pc, struct frame *out,
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
		n = elfmod_dwarf_lookup(m, pc, sym, out, max);
		if (n > 0)
			return n;
	}
	if (!sym)
		return 0;
	memset(out, 0, sizeof(*out));
	out->function = elfmod_sym_name(m, sym);
	return 1;
}

void elfmod_get_info(struct elfmod *m, struct elfmod_info *info)
{
	if (!m->syms_done)
		load_syms(m);
	elfmod_names_from_go(m);
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
