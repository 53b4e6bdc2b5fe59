// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Per-ELF-module DWARF: separate debug files (by build id or
 * .gnu_debuglink), source lines and inlined frames via libdw. */
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
#include "sym/elfsym.h"
#include "sym/elfsym_int.h"

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

/* ---- DWARF ---- */

static void load_dwarf(struct elfmod *m)
{
	m->dwarf_done = true;
	if (elfsym_has_debug_info(m->elf))
		m->dw = dwarf_begin_elf(m->elf, DWARF_C_READ, NULL);
	if (!m->dw && m->dbg_elf)
		m->dw = dwarf_begin_elf(m->dbg_elf, DWARF_C_READ, NULL);
}

Dwarf_CFI *elfmod_cfi(struct elfmod *m, bool eh)
{
	if (eh) {
		if (!m->cfi_eh_done) {
			m->cfi_eh_done = true;
			m->cfi_eh = dwarf_getcfi_elf(m->elf);
		}
		return m->cfi_eh;
	}
	if (!m->cfi_dbg_done) {
		m->cfi_dbg_done = true;
		if (!m->dwarf_done)
			load_dwarf(m);
		if (m->dw)
			m->cfi_dbg = dwarf_getcfi(m->dw);
	}
	return m->cfi_dbg;
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
	if (m->ncus)	/* qsort(NULL, 0) is undefined (found by fuzzing) */
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
		return elfmod_demangle(m, s);
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

int elfmod_dwarf_lookup(struct elfmod *m, uint64_t pc, struct esym *sym,
			struct frame *out, int max)
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
		struct frame *f;
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
				f->function = elfmod_sym_name(m, sym);
			phys = true;
			break;
		}
		f->inlined = true;
		call_site(&cu, d, &file, &line);
	}
	free(scopes);
	if (!phys && n < max) {	/* no subprogram: use the symbol */
		struct frame *f = &out[n];

		if (!n && !sym && !file)
			return 0;
		memset(f, 0, sizeof(*f));
		f->function = sym ? elfmod_sym_name(m, sym) : NULL;
		f->file = file;
		f->line = line;
		n++;
	}
	return n;
}
