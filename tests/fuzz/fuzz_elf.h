/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Fuzz harness helper: wraps fuzz bytes as one section of a minimal ELF64
 * x86-64 executable (one PT_LOAD covering the file, a .text section), so
 * the parsers that take an Elf see the bytes where they look for them.
 * Header-only, shared by the harnesses.
 */
#ifndef LT_FUZZ_ELF_H
#define LT_FUZZ_ELF_H
#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_VADDR 0x400000ULL

/* Returns a malloc'd image of *len bytes: [ehdr][phdr][text 256][data]
 * [shstrtab][shdrs]; the data section is named name, of type type. */
static inline uint8_t *fuzz_elf_wrap(const char *name, uint32_t type,
				     const uint8_t *data, size_t size,
				     size_t *len)
{
	const char strs[] = "\0.text\0.shstrtab\0";
	size_t nlen = strlen(name) + 1, text_off, data_off, str_off, sh_off, total;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	Elf64_Shdr *sh;
	uint8_t *img;

	text_off = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);
	data_off = text_off + 256;
	str_off = data_off + size;
	sh_off = (str_off + sizeof(strs) + nlen + 7) & ~7UL;
	total = sh_off + 4 * sizeof(Elf64_Shdr);
	img = calloc(1, total);
	if (!img)
		return NULL;
	eh = (Elf64_Ehdr *)img;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = FUZZ_VADDR + text_off;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_shoff = sh_off;
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 1;
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = 4;
	eh->e_shstrndx = 3;
	ph = (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr));
	ph->p_type = PT_LOAD;
	ph->p_flags = PF_R | PF_X;
	ph->p_vaddr = ph->p_paddr = FUZZ_VADDR;
	ph->p_filesz = ph->p_memsz = total;
	ph->p_align = 0x1000;
	memset(img + text_off, 0xcc, 256);	/* int3 */
	memcpy(img + data_off, data, size);
	memcpy(img + str_off, strs, sizeof(strs));
	memcpy(img + str_off + sizeof(strs), name, nlen);
	sh = (Elf64_Shdr *)(img + sh_off);
	sh[1].sh_name = 1;		/* .text */
	sh[1].sh_type = SHT_PROGBITS;
	sh[1].sh_flags = SHF_ALLOC | SHF_EXECINSTR;
	sh[1].sh_addr = FUZZ_VADDR + text_off;
	sh[1].sh_offset = text_off;
	sh[1].sh_size = 256;
	sh[2].sh_name = sizeof(strs);	/* name */
	sh[2].sh_type = type;
	sh[2].sh_flags = SHF_ALLOC;
	sh[2].sh_addr = FUZZ_VADDR + data_off;
	sh[2].sh_offset = data_off;
	sh[2].sh_size = size;
	sh[3].sh_name = 7;		/* .shstrtab */
	sh[3].sh_type = SHT_STRTAB;
	sh[3].sh_offset = str_off;
	sh[3].sh_size = sizeof(strs) + nlen;
	*len = total;
	return img;
}
/* Moves the data section of an image from fuzz_elf_wrap to addr (its
 * section header only: what pc-relative encodings are relative to). */
static inline void fuzz_elf_set_addr(uint8_t *img, uint64_t addr)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Shdr *sh = (Elf64_Shdr *)(img + eh->e_shoff);

	sh[2].sh_addr = addr;
}
#endif
