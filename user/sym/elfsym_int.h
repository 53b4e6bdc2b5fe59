/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Internal to the ELF module code, not for other users: struct elfmod and
 * the helpers shared by elfsym.c (opening, bias, symbols, Go), elfdwarf.c
 * (separate debug files, DWARF lines and inlined frames) and elfcall.c
 * (call instructions before return addresses). The API is elfsym.h.
 */
#ifndef LT_ELFSYM_INT_H
#define LT_ELFSYM_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <gelf.h>
#include <elfutils/libdw.h>
#include "sym/elfsym.h"

struct gopcln;

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
	/* The file mapped shared, for code bytes (elfcall.c): libelf's map is
	 * private, and the kernel writes uprobe breakpoints into private
	 * executable-capable maps of a probed file (ours included, under a
	 * probe attached for every process). NULL: read libelf's. */
	void *code;
	size_t code_len;
	uint16_t machine;
	uint16_t type;
	uint8_t build_id[BUILD_ID_MAX];
	size_t build_id_len;
	GElf_Phdr *loads;
	size_t nloads;
	bool has_symtab, has_dwarf, has_dynsym, maybe_go;
	bool dynsym_from_phdr;	/* .dynsym read through PT_DYNAMIC */

	Elf *dbg_elf;		/* separate debug file */
	char *dbg_path;
	bool hinted;		/* "no symbols" said (debuginfo.c) */
	bool fetched;		/* debuginfod asked (debuginfo.c) */

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

	bool cfi_eh_done, cfi_dbg_done;
	Dwarf_CFI *cfi_eh;	/* .eh_frame (dwarf_getcfi_elf, ours to end) */
	Dwarf_CFI *cfi_dbg;	/* .debug_frame (owned by dw) */
};

/* elfsym.c */
/* Section named name (its header in *out if out), or NULL. */
Elf_Scn *elfsym_find_scn(Elf *elf, const char *name, GElf_Shdr *out);
/* First section of this sh_type, or NULL. */
Elf_Scn *elfsym_find_scn_type(Elf *elf, Elf64_Word type);
/* The section name table can be read. */
bool elfsym_names_readable(Elf *elf);
/* Has .debug_info or .zdebug_info. */
bool elfsym_has_debug_info(Elf *elf);
/* C++ name for a mangled one, kept in m->strs; other names as they are. */
const char *elfmod_demangle(struct elfmod *m, const char *name);
/* The symbol's name, demangled on first use. */
const char *elfmod_sym_name(struct elfmod *m, struct esym *s);

/* A Go module whose .gopclntab names every frame (no debug file needed). */
bool elfmod_names_from_go(struct elfmod *m);
/* What symbols and DWARF were loaded without a debug file, dropped so
 * the next lookup reads them with it. */
void elfmod_forget_lookups(struct elfmod *m);

/* elfdynsym.c */
/* Appends the FUNC symbols of the dynamic symbol table found through
 * PT_DYNAMIC (for files without section headers). 0, -ENOENT (none) or
 * -ENOMEM. */
int elfsym_load_dynamic(struct elfmod *m, struct esym **v, size_t *n,
			size_t *cap);

/* elfdwarf.c */
/* Frames for pc from DWARF (loaded on first use), innermost first; sym is
 * the ELF symbol covering pc or NULL. Number written, 0 if none. */
int elfmod_dwarf_lookup(struct elfmod *m, uint64_t pc, struct esym *sym,
			struct frame *out, int max);
#endif
