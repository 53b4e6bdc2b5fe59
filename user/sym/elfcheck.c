// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Damage report for an ELF module: a file cut short or with inconsistent
 * headers loses symbols without any error from libelf. Says, once per
 * module, what is lost and what is still read.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <gelf.h>
#include "sym/elfsym.h"
#include "sym/elfsym_int.h"
#include "util/log.h"

struct damage {
	char *buf;
	size_t len, used;
};

static void add(struct damage *d, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (d->used >= d->len)
		return;
	if (d->used)
		d->used += snprintf(d->buf + d->used, d->len - d->used, "; ");
	if (d->used >= d->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(d->buf + d->used, d->len - d->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		d->used += n;
}

/* Sections whose bytes run past the file's end, by name when readable. */
static void cut_sections(Elf *elf, size_t size, size_t shstrndx, bool names,
			 struct damage *d)
{
	char list[256] = "";
	size_t used = 0, ncut = 0;
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name = NULL;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS ||
		    sh.sh_type == SHT_NULL)
			continue;
		if (sh.sh_offset <= size && sh.sh_size <= size - sh.sh_offset)
			continue;
		ncut++;
		if (names)
			name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && used < sizeof(list))
			used += snprintf(list + used, sizeof(list) - used, "%s%s",
					 used ? ", " : "", name ? name : "?");
	}
	if (ncut)
		add(d, "%zu section%s cut by the file's end%s%s%s: their symbols, "
		    "DWARF or tables are lost", ncut, ncut > 1 ? "s" : "",
		    used ? " (" : "", list, used ? ")" : "");
}

/* The dynamic loader's view is there (.dynsym through PT_DYNAMIC). */
static bool has_dynamic(Elf *elf)
{
	size_t nph, i;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &nph))
		return false;
	for (i = 0; i < nph; i++)
		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_DYNAMIC)
			return true;
	return false;
}

/* What still works without section headers. */
#define GO_STILL " (a Go binary's .gopclntab is still found through its segment)"

int elfmod_damage(struct elfmod *m, char *buf, size_t len)
{
	struct damage d = { buf, len, 0 };
	size_t size = 0, shnum = 0, shstrndx = 0;
	bool names = true;
	GElf_Ehdr eh;

	buf[0] = '\0';
	if (!elf_rawfile(m->elf, &size) || !gelf_getehdr(m->elf, &eh))
		return 0;
	if (eh.e_shoff && (eh.e_shoff > size ||
			   (uint64_t)eh.e_shnum * eh.e_shentsize > size - eh.e_shoff)) {
		add(&d, "section headers at %#lx lie past the file's end (%zu bytes: cut "
		    "short?): .symtab, .dynsym and DWARF are not read%s",
		    (unsigned long)eh.e_shoff, size, GO_STILL);
		return 1;
	}
	if (eh.e_shoff % 8) {
		add(&d, "section headers at %#lx are misaligned (corrupt e_shoff): "
		    ".symtab, .dynsym and DWARF are not trusted%s",
		    (unsigned long)eh.e_shoff, GO_STILL);
		return 1;
	}
	if (eh.e_shoff == 0 || elf_getshdrnum(m->elf, &shnum) || !shnum) {
		add(&d, "no section headers (e_shoff %#lx): .symtab and DWARF are not "
		    "read%s%s", (unsigned long)eh.e_shoff, has_dynamic(m->elf) ?
		    "; exported functions are still named from .dynsym, found "
		    "through PT_DYNAMIC" : "", GO_STILL);
		return 1;
	}
	if (elf_getshdrstrndx(m->elf, &shstrndx) || !shstrndx ||
	    shstrndx >= shnum || !elf_strptr(m->elf, shstrndx, 0)) {
		names = false;
		add(&d, "section names are unreadable (e_shstrndx %u): sections found "
		    "by name (.gopclntab, .debug_*, .gnu_debuglink) are not; .symtab "
		    "still is", eh.e_shstrndx);
	}
	cut_sections(m->elf, size, shstrndx, names, &d);
	return d.used > 0;
}

void elfmod_warn_damage(struct elfmod *m, const char *path)
{
	char why[512];

	if (elfmod_damage(m, why, sizeof(why)))
		lt_warn("%s: damaged ELF: %s\n", path, why);
}
