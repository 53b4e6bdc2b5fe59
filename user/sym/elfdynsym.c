// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* .dynsym without section headers: a file whose section headers are gone
 * (sstrip, a cut or corrupted e_shoff) still has what the dynamic loader
 * reads: PT_DYNAMIC names the symbol table (DT_SYMTAB, DT_SYMENT), its
 * strings (DT_STRTAB, DT_STRSZ) and a hash table (DT_GNU_HASH or DT_HASH)
 * from which the number of symbols follows. Addresses there are virtual;
 * the PT_LOAD segments map them to file offsets. Every count and offset is
 * checked against the file (elf_getdata_rawchunk refuses what lies
 * outside it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <gelf.h>
#include "sym/elfsym.h"
#include "sym/elfsym_int.h"

#define MAX_DYNSYMS (1u << 22)	/* more is not a real .dynsym */

/* File offset of virtual address va with at least len bytes in the file
 * behind it; false when no PT_LOAD holds them. */
static bool va_to_off(const struct elfmod *m, uint64_t va, uint64_t len,
		      uint64_t *off)
{
	for (size_t i = 0; i < m->nloads; i++) {
		const GElf_Phdr *ph = &m->loads[i];

		if (va < ph->p_vaddr || va - ph->p_vaddr >= ph->p_filesz ||
		    len > ph->p_filesz - (va - ph->p_vaddr))
			continue;
		*off = ph->p_offset + (va - ph->p_vaddr);
		return true;
	}
	return false;
}

/* Bytes the file holds from virtual address va on (0 if none). */
static uint64_t va_avail(const struct elfmod *m, uint64_t va)
{
	for (size_t i = 0; i < m->nloads; i++) {
		const GElf_Phdr *ph = &m->loads[i];

		if (va >= ph->p_vaddr && va - ph->p_vaddr < ph->p_filesz)
			return ph->p_filesz - (va - ph->p_vaddr);
	}
	return 0;
}

/* End of the PT_LOAD holding va (the bound of a symbol of size 0). */
static uint64_t load_end(const struct elfmod *m, uint64_t va)
{
	for (size_t i = 0; i < m->nloads; i++) {
		const GElf_Phdr *ph = &m->loads[i];

		if (va >= ph->p_vaddr && va - ph->p_vaddr < ph->p_memsz)
			return ph->p_vaddr + ph->p_memsz;
	}
	return va;
}

static const void *chunk(struct elfmod *m, uint64_t va, uint64_t len,
			 Elf_Type type, Elf_Data **out)
{
	uint64_t off;

	*out = NULL;
	if (!len || !va_to_off(m, va, len, &off))
		return NULL;
	*out = elf_getdata_rawchunk(m->elf, (int64_t)off, len, type);
	return *out ? (*out)->d_buf : NULL;
}

/* Symbols in DT_HASH: its nchain. */
static uint64_t count_hash(struct elfmod *m, uint64_t va)
{
	Elf_Data *d;
	const uint32_t *w = chunk(m, va, 8, ELF_T_WORD, &d);

	return w ? w[1] : 0;
}

/* Symbols in DT_GNU_HASH: one past the last symbol any chain reaches
 * (symbols below symoffset are not hashed, but counted). */
static uint64_t count_gnu_hash(struct elfmod *m, uint64_t va, bool is64)
{
	uint64_t nb, symoff, bloom, words, last = 0, i, nchain;
	const uint32_t *h, *chain;
	Elf_Data *d;

	h = chunk(m, va, 16, ELF_T_WORD, &d);
	if (!h)
		return 0;
	nb = h[0];
	symoff = h[1];
	bloom = h[2] * (uint64_t)(is64 ? 2 : 1);	/* in 32-bit words */
	if (!nb || nb > MAX_DYNSYMS || bloom > MAX_DYNSYMS)
		return 0;
	words = 4 + bloom + nb;
	h = chunk(m, va, words * 4, ELF_T_WORD, &d);
	if (!h)
		return 0;
	for (i = 0; i < nb; i++)
		if (h[4 + bloom + i] > last)
			last = h[4 + bloom + i];
	if (last < symoff)
		return symoff;	/* nothing hashed */
	/* the chains, as far as the file goes: walk the last to its end
	 * (bit 0 set) */
	nchain = va_avail(m, va + words * 4) / 4;
	if (nchain > MAX_DYNSYMS)
		nchain = MAX_DYNSYMS;
	if (last - symoff >= nchain)
		return 0;
	chain = chunk(m, va + words * 4, nchain * 4, ELF_T_WORD, &d);
	if (!chain)
		return 0;
	for (i = last - symoff; i < nchain; i++)
		if (chain[i] & 1)
			return symoff + i + 1;
	return 0;
}

static int push(struct esym **v, size_t *n, size_t *cap, struct esym e)
{
	if (*n == *cap) {
		struct esym *nv;

		*cap = *cap ? *cap * 2 : 256;
		nv = realloc(*v, *cap * sizeof(**v));
		if (!nv)
			return -ENOMEM;
		*v = nv;
	}
	(*v)[(*n)++] = e;
	return 0;
}

int elfsym_load_dynamic(struct elfmod *m, struct esym **v, size_t *n,
			size_t *cap)
{
	uint64_t symtab = 0, strtab = 0, strsz = 0, syment = 0, hash = 0;
	uint64_t gnu_hash = 0, count = 0;
	const GElf_Phdr *dyn_ph = NULL;
	Elf_Data *dd, *sd, *strd;
	const char *strs;
	GElf_Phdr ph;
	size_t nph, i, before = *n;
	bool is64 = gelf_getclass(m->elf) == ELFCLASS64;

	if (elf_getphdrnum(m->elf, &nph))
		return -ENOENT;
	for (i = 0; i < nph && !dyn_ph; i++)
		if (gelf_getphdr(m->elf, i, &ph) && ph.p_type == PT_DYNAMIC)
			dyn_ph = &ph;
	if (!dyn_ph || !dyn_ph->p_filesz)
		return -ENOENT;
	dd = elf_getdata_rawchunk(m->elf, (int64_t)dyn_ph->p_offset,
				  dyn_ph->p_filesz, ELF_T_DYN);
	if (!dd)
		return -ENOENT;
	for (i = 0;; i++) {
		GElf_Dyn d;

		if (!gelf_getdyn(dd, (int)i, &d) || d.d_tag == DT_NULL)
			break;
		switch (d.d_tag) {
		case DT_SYMTAB: symtab = d.d_un.d_ptr; break;
		case DT_STRTAB: strtab = d.d_un.d_ptr; break;
		case DT_STRSZ: strsz = d.d_un.d_val; break;
		case DT_SYMENT: syment = d.d_un.d_val; break;
		case DT_HASH: hash = d.d_un.d_ptr; break;
		case DT_GNU_HASH: gnu_hash = d.d_un.d_ptr; break;
		}
	}
	if (!symtab || !strtab || !strsz ||
	    syment != (is64 ? sizeof(Elf64_Sym) : sizeof(Elf32_Sym)))
		return -ENOENT;
	if (gnu_hash)
		count = count_gnu_hash(m, gnu_hash, is64);
	if (!count && hash)
		count = count_hash(m, hash);
	/* the linker puts .dynstr right after .dynsym: a bound either way */
	if (strtab > symtab && (!count || count > (strtab - symtab) / syment))
		count = (strtab - symtab) / syment;
	if (!count || count > MAX_DYNSYMS)
		return -ENOENT;
	strs = chunk(m, strtab, strsz, ELF_T_BYTE, &strd);
	if (!strs || !chunk(m, symtab, count * syment, ELF_T_SYM, &sd))
		return -ENOENT;
	for (i = 0; i < count; i++) {
		GElf_Sym sym;
		int type;

		if (!gelf_getsym(sd, (int)i, &sym))
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
		    sym.st_shndx == SHN_UNDEF || !sym.st_value ||
		    sym.st_name >= strsz || !strs[sym.st_name] ||
		    !memchr(strs + sym.st_name, '\0', strsz - sym.st_name))
			continue;
		if (push(v, n, cap, (struct esym){
				.addr = sym.st_value,
				.size = sym.st_size,
				.limit = load_end(m, sym.st_value),
				.name = strs + sym.st_name,
				.bind = GELF_ST_BIND(sym.st_info),
			}))
			return -ENOMEM;
	}
	return *n > before ? 0 : -ENOENT;
}
