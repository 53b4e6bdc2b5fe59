// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The memory syscall sites of a process's mapped code (memsites.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <capstone/capstone.h>
#include <elfutils/libdw.h>
#include <gelf.h>
#include "go/disasm.h"
#include "go/gopclntab.h"
#include "proc/procmaps.h"
#include "trace/memsites.h"
#include "util/log.h"

/* `mov $NR, %eax` (b8 NR 00 00 00) then `syscall` (0f 05). */
#define PAT_LEN 7

static int nr_type(uint8_t nr)
{
	switch (nr) {
	case 9:  return LT_EV_MMAP;
	case 11: return LT_EV_MUNMAP;
	case 25: return LT_EV_MREMAP;
	case 12: return LT_EV_BRK;
	case 28: return LT_EV_MADVISE;
	default: return -1;
	}
}

struct proof {
	uint64_t mov, sys, after;
	unsigned int seen;	/* bit 0 mov, 1 syscall, 2 after */
};

static int on_insn(const struct cs_insn *insn, void *c)
{
	struct proof *p = c;

	if (insn->address == p->mov)
		p->seen |= 1;
	else if (insn->address == p->sys && insn->id == X86_INS_SYSCALL)
		p->seen |= 2;
	else if (insn->address == p->after)
		p->seen |= 4;
	return insn->address >= p->after;	/* done */
}

/* The syscall at sys (its mov 5 bytes before) is code: the CFI's function
 * around it decodes cleanly, with instructions starting at the mov, the
 * syscall and the one after. */
static bool proven(Elf *elf, Dwarf_CFI *cfi, uint64_t sys)
{
	struct proof p = { .mov = sys - 5, .sys = sys, .after = sys + 2 };
	Dwarf_Frame *fr = NULL;
	Dwarf_Addr start, end;
	int undecoded = 0;
	bool ok;

	if (!cfi || dwarf_cfi_addrframe(cfi, sys, &fr) || !fr)
		return false;
	ok = dwarf_frame_info(fr, &start, &end, NULL) >= 0;
	free(fr);
	/* The probed instruction is inside the function too. */
	if (!ok || start > p.mov || end <= p.after)
		return false;
	if (go_disasm(elf, start, end, false, on_insn, &p, &undecoded) < 0)
		return false;
	return p.seen == 7 && !undecoded;
}

/* File offset of link-time address vaddr, from the program headers. */
static bool file_offset(Elf *elf, uint64_t vaddr, uint64_t *off)
{
	size_t n;

	if (elf_getphdrnum(elf, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < ph.p_filesz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return true;
		}
	}
	return false;
}

static int scan_elf(Elf *elf, const char *path, const char *name,
		    struct mem_sites *out, char *why, size_t len)
{
	Dwarf_CFI *cfi = NULL;
	const uint8_t *raw;
	GElf_Shdr sh;
	GElf_Ehdr eh;
	size_t fsize, n;
	int err = 0;

	if (!gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &n))
		return lt_doubt(why, len, "%s is not an ELF file leaktrace can read", name);
	if (eh.e_machine != EM_X86_64)
		return lt_doubt(why, len, "%s is not x86-64 code", name);
	/* Go code (a c-shared library a C program loaded) makes its
	 * runtime's system calls with the number in a register too: the
	 * pattern cannot stand for them. The same test as alloc_find's. */
	if (!go_elf_section(elf, ".gopclntab", &sh) ||
	    !go_elf_section(elf, ".go.buildinfo", &sh))
		return lt_doubt(why, len, "%s holds Go code, whose runtime makes its own system calls", name);
	raw = (const uint8_t *)elf_rawfile(elf, &fsize);
	if (!raw)
		return lt_doubt(why, len, "%s could not be read", name);
	for (size_t i = 0; i < n && !err; i++) {
		GElf_Phdr ph;
		const uint8_t *b;
		uint64_t sz;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD ||
		    !(ph.p_flags & PF_X))
			continue;
		if (ph.p_offset > fsize || ph.p_filesz > fsize - ph.p_offset)
			return lt_doubt(why, len, "%s is truncated", name);
		b = raw + ph.p_offset;
		sz = ph.p_filesz;
		for (uint64_t j = 0; j + PAT_LEN <= sz; j++) {
			const uint8_t *q = b + j;
			struct mem_site *s;
			uint64_t sys, off;
			int type;

			if (q[0] != 0xb8 || q[5] != 0x0f || q[6] != 0x05 ||
			    q[2] || q[3] || q[4] || (type = nr_type(q[1])) < 0)
				continue;
			sys = ph.p_vaddr + j + 5;
			if (!cfi)
				cfi = dwarf_getcfi_elf(elf);
			if (!proven(elf, cfi, sys)) {
				err = lt_doubt(why, len, "%s makes a memory system call at 0x%llx that could not be proven an instruction boundary",
					    name, (unsigned long long)sys);
				break;
			}
			if (out->n == MEMSITES_MAX) {
				err = lt_doubt(why, len, "more than %d memory system call sites in the mapped code",
					    MEMSITES_MAX);
				break;
			}
			if (!file_offset(elf, sys + 2, &off)) {
				err = lt_doubt(why, len, "%s: no file offset for 0x%llx",
					    name, (unsigned long long)sys);
				break;
			}
			s = &out->s[out->n++];
			snprintf(s->path, sizeof(s->path), "%s", path);
			s->offset = off;
			s->vaddr = sys;
			s->type = type;
		}
	}
	if (cfi)
		dwarf_cfi_end(cfi);
	return err;
}

static int scan(const char *path, const char *name, const struct stat *want,
		struct mem_sites *out, char *why, size_t len)
{
	struct stat st;
	Elf *elf;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lt_doubt(why, len, "%s cannot be read (%s)", name, strerror(errno));
	/* The file the process runs, not one installed over it since: a
	 * probe on the new file would never fire in the old mapping. */
	if (fstat(fd, &st) ||
	    (want && (st.st_ino != want->st_ino || st.st_dev != want->st_dev))) {
		close(fd);
		return lt_doubt(why, len, "%s was replaced on disk after the process mapped it", name);
	}
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf) {
		close(fd);
		return lt_doubt(why, len, "%s is not an ELF file leaktrace can read", name);
	}
	out->files++;
	err = scan_elf(elf, path, name, out, why, len);
	elf_end(elf);
	close(fd);
	return err;
}

int memsites_scan_file(const char *path, struct mem_sites *out, char *why,
		       size_t len)
{
	return scan(path, path, NULL, out, why, len);
}

int memsites_find(pid_t pid, struct mem_sites *out, char *why, size_t len)
{
	struct map_entry *m;
	size_t n;
	int err, per_type[LT_EV_MADVISE + 1] = { 0 };

	memset(out, 0, sizeof(*out));
	err = procmaps_read(pid, &m, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n && !err; i++) {
		char full[4096 + 32];
		struct stat want = { 0 };
		bool seen = false;

		if (!m[i].x)
			continue;
		if (m[i].path[0] != '/') {
			/* [vdso] makes no memory call; code with no file (a
			 * JIT's) is not scanned: the check of the mapped size
			 * against VmSize is what would notice it. */
			continue;
		}
		for (size_t j = 0; j < i && !seen; j++)
			seen = m[j].x && m[j].inode == m[i].inode &&
			       m[j].dev_major == m[i].dev_major &&
			       m[j].dev_minor == m[i].dev_minor;
		if (seen)
			continue;
		/* The mapped file as the process sees it (through its
		 * mount namespace and overlay, as the path will be). */
		snprintf(full, sizeof(full), "/proc/%d/map_files/%llx-%llx", pid,
			 (unsigned long long)m[i].start, (unsigned long long)m[i].end);
		if (stat(full, &want)) {
			err = lt_doubt(why, len, "%s: its mapping cannot be read (%s)",
				    m[i].path, strerror(errno));
			break;
		}
		snprintf(full, sizeof(full), "/proc/%d/root%s", pid, m[i].path);
		err = scan(full, m[i].path, &want, out, why, len);
	}
	procmaps_free(m, n);
	if (err)
		return err;
	for (int i = 0; i < out->n; i++)
		per_type[out->s[i].type]++;
	if (!per_type[LT_EV_MMAP] || !per_type[LT_EV_MUNMAP])
		return lt_doubt(why, len, "no mmap or munmap call of the usual form in the mapped code");
	return 0;
}
