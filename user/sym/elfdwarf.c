// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Per-ELF-module DWARF: source lines and inlined frames via libdw (the
 * separate debug file is found by debuginfo.c). */
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
