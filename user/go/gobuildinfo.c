/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Go metadata from an ELF besides the pclntab: the version in
 * .go.buildinfo, runtime.firstmoduledata, and small ELF helpers.
 *
 * .go.buildinfo starts with a 32-byte header: 14 bytes "\xff Go buildinf:",
 * pointer size, flags. With flags & 2 (Go 1.18+) the version and module
 * strings follow inline, each prefixed by its uvarint length. Before, two
 * pointers at offset 16 point to Go string headers {data, len} in the data
 * segment (flags & 1: big-endian). The section keeps its name in stripped
 * binaries; without section headers the writable segments are searched for
 * the magic at 16-byte alignment.
 */
#include <errno.h>
#include <string.h>
#include "go/gopclntab.h"

#define BI_MAGIC "\xff Go buildinf:"
#define BI_MAGIC_LEN 14
#define BI_HDR 32
#define BI_ALIGN 16


int go_elf_read(Elf *elf, uint64_t addr, void *buf, size_t len)
{
	size_t n, i;

	if (elf_getphdrnum(elf, &n))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		GElf_Phdr ph;
		Elf_Data *d;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD ||
		    addr < ph.p_vaddr || addr - ph.p_vaddr > ph.p_filesz ||
		    len > ph.p_filesz - (addr - ph.p_vaddr))
			continue;
		d = elf_getdata_rawchunk(elf, (int64_t)(ph.p_offset + addr -
							 ph.p_vaddr),
					 len, ELF_T_BYTE);
		if (!d || !d->d_buf)
			return -EIO;
		memcpy(buf, d->d_buf, len);
		return 0;
	}
	return -ENOENT;
}

int go_elf_section(Elf *elf, const char *name, GElf_Shdr *out)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return -ENOENT;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, out) || out->sh_type == SHT_NOBITS)
			continue;
		n = elf_strptr(elf, shstrndx, out->sh_name);
		if (n && !strcmp(n, name))
			return 0;
	}
	return -ENOENT;
}

/* Calls fn on the file bytes of each writable PT_LOAD segment until it
 * returns true. */
static bool each_data_segment(Elf *elf,
			      bool (*fn)(const uint8_t *p, const GElf_Phdr *ph,
					 void *arg),
			      void *arg)
{
	size_t n, i;

	if (elf_getphdrnum(elf, &n))
		return false;
	for (i = 0; i < n; i++) {
		GElf_Phdr ph;
		Elf_Data *d;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD ||
		    !(ph.p_flags & PF_W) || !ph.p_filesz)
			continue;
		d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset,
					 ph.p_filesz, ELF_T_BYTE);
		if (d && d->d_buf && fn(d->d_buf, &ph, arg))
			return true;
	}
	return false;
}

struct md_search {
	uint64_t want0, want1, *words;
	size_t n;
	unsigned int ps;
	bool be;
};

static bool md_in_segment(const uint8_t *p, const GElf_Phdr *ph, void *arg)
{
	struct md_search *m = arg;
	uint64_t off;
	size_t k;

	for (off = (m->ps - ph->p_vaddr % m->ps) % m->ps;
	     off + m->n * m->ps <= ph->p_filesz; off += m->ps) {
		if (go_read_uint(p + off, m->ps, m->be) != m->want0 ||
		    go_read_uint(p + off + m->ps, m->ps, m->be) != m->want1)
			continue;
		for (k = 0; k < m->n; k++)
			m->words[k] = go_read_uint(p + off + k * m->ps, m->ps,
					       m->be);
		return true;
	}
	return false;
}

int go_moduledata(Elf *elf, uint64_t pcheader, uint64_t funcnametab,
		  unsigned int ptrsize, bool big_endian, uint64_t *words,
		  size_t n)
{
	struct md_search m = { pcheader, funcnametab, words, n, ptrsize,
			       big_endian };

	if ((ptrsize != 4 && ptrsize != 8) || n < 2)
		return -EINVAL;
	return each_data_segment(elf, md_in_segment, &m) ? 0 : -ENOENT;
}

struct blob {
	const uint8_t *p;
	size_t avail;
};

static bool blob_in_segment(const uint8_t *p, const GElf_Phdr *ph, void *arg)
{
	struct blob *b = arg;
	uint64_t off;

	for (off = (BI_ALIGN - ph->p_vaddr % BI_ALIGN) % BI_ALIGN;
	     off + BI_HDR <= ph->p_filesz; off += BI_ALIGN) {
		if (!memcmp(p + off, BI_MAGIC, BI_MAGIC_LEN)) {
			b->p = p + off;
			b->avail = ph->p_filesz - off;
			return true;
		}
	}
	return false;
}

/* The blob: from the section, or found in a writable segment. */
static const uint8_t *find_blob(Elf *elf, size_t *avail)
{
	struct blob b = { NULL, 0 };
	GElf_Shdr sh;

	if (!go_elf_section(elf, ".go.buildinfo", &sh) &&
	    sh.sh_size >= BI_HDR) {
		Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)sh.sh_offset,
						   sh.sh_size, ELF_T_BYTE);

		if (d && d->d_buf &&
		    !memcmp(d->d_buf, BI_MAGIC, BI_MAGIC_LEN)) {
			*avail = sh.sh_size;
			return d->d_buf;
		}
	}
	if (!each_data_segment(elf, blob_in_segment, &b))
		return NULL;
	*avail = b.avail;
	return b.p;
}

static int copy_out(const uint8_t *s, uint64_t slen, char *buf, size_t len)
{
	if (!slen || (slen >= 2 && memcmp(s, "go", 2) && memcmp(s, "de", 2)))
		return -ENOENT;
	if (slen >= len)
		return -ENOSPC;
	memcpy(buf, s, slen);
	buf[slen] = '\0';
	return 0;
}

int go_buildinfo_version(Elf *elf, char *buf, size_t len)
{
	const uint8_t *b;
	size_t avail = 0;
	uint8_t flags, ps;
	bool be;

	if (!elf || !buf || !len)
		return -EINVAL;
	b = find_blob(elf, &avail);
	if (!b)
		return -ENOENT;
	ps = b[14];
	flags = b[15];
	be = flags & 1;
	if (flags & 2) {
		uint64_t slen = 0, off = BI_HDR;
		unsigned int shift;

		for (shift = 0; shift < 64; shift += 7) {
			if (off >= avail)
				return -ENOENT;
			slen |= (uint64_t)(b[off] & 0x7f) << shift;
			if (!(b[off++] & 0x80))
				break;
		}
		if (shift >= 64 || slen > avail - off)
			return -ENOENT;
		return copy_out(b + off, slen, buf, len);
	}
	if (ps != 4 && ps != 8)
		return -ENOENT;
	{
		uint8_t hdr[16], str[256];
		uint64_t data, slen;

		/* versPtr -> string header {data, len} -> bytes. */
		if (go_elf_read(elf, go_read_uint(b + 16, ps, be), hdr, 2 * ps))
			return -ENOENT;
		data = go_read_uint(hdr, ps, be);
		slen = go_read_uint(hdr + ps, ps, be);
		if (slen > sizeof(str) || go_elf_read(elf, data, str, slen))
			return -ENOENT;
		return copy_out(str, slen, buf, len);
	}
}
