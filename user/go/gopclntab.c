/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Reader for Go's .gopclntab (pclntab magics 0xfffffffa, 0xfffffff0 and
 * 0xfffffff1: Go 1.16 and later). Layout facts, all offsets relative to the
 * start of the table:
 *
 *   header: u32 magic, u8 0, u8 0, u8 pc quantum, u8 pointer size, then
 *           pointer-sized words: nfunc, nfiles, [textStart (1.18+)],
 *           funcnametab, cutab, filetab, pctab, functab offsets.
 *   functab: nfunc (entry, funcoff) pairs plus the end pc; u32 text offsets
 *           from 1.18, pointers before. funcoff is relative to functab.
 *   _func:  [entry], nameOff, args, deferreturn, pcsp, pcfile, pcln,
 *           npcdata, cuOffset, [startLine (1.20+)], funcID, flag, pad,
 *           nfuncdata, then u32 pcdata[npcdata] (offsets into pctab), then
 *           funcdata[nfuncdata]: u32 offsets from moduledata.gofunc (1.18+)
 *           or pointer-aligned absolute pointers (1.16-1.17).
 *   pcvalue tables: pairs of uvarints (zig-zag value delta, pc delta in
 *           quanta), starting at value -1 and the function entry.
 *
 * Nothing is copied: names and files point into the ELF's data, which the
 * caller keeps alive. Every read is bounds checked, the input is untrusted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "go/gopclntab.h"

#define MAGIC_116 0xfffffffaU
#define MAGIC_118 0xfffffff0U
#define MAGIC_120 0xfffffff1U

#define PCDATA_INLTREEINDEX 2
#define FUNCDATA_INLTREE 3
#define MAX_INLINE_DEPTH 128
#define MAX_SEGS 16
/* moduledata words read: enough for every known layout (gofunc at 43). */
#define MD_WORDS 48

struct seg {
	uint64_t vaddr, filesz;
	const uint8_t *data;
};

struct gopcln {
	int ver;			/* 116, 118 or 120 */
	bool be;			/* big-endian target */
	unsigned int ptrsize, quantum;
	const uint8_t *tab;		/* the whole pclntab */
	uint64_t size, addr;		/* its size and link-time address */
	uint64_t nfunc;
	uint64_t funcnames, cutab, filetab, pctab, functab; /* offsets */
	uint64_t text_start;
	uint64_t gofunc;		/* funcdata base (1.18+), 0 if unknown */
	unsigned int func_hdr;		/* bytes before pcdata[] in _func */
	unsigned int funcid_at;		/* offset of funcID in _func */
	uint8_t wrapper_id;
	int nsegs;
	struct seg segs[MAX_SEGS];
};

/* ---- bounds-checked reads ---------------------------------------------- */

static bool in_tab(const struct gopcln *t, uint64_t off, uint64_t len)
{
	return off <= t->size && len <= t->size - off;
}

uint64_t go_read_uint(const uint8_t *p, unsigned int n, bool be)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)p[be ? n - 1 - i : i] << (8 * i);
	return v;
}

static uint32_t rd32(const struct gopcln *t, uint64_t off)
{
	return in_tab(t, off, 4) ? (uint32_t)go_read_uint(t->tab + off, 4, t->be) : 0;
}

static uint64_t rdptr(const struct gopcln *t, uint64_t off)
{
	return in_tab(t, off, t->ptrsize) ?
		go_read_uint(t->tab + off, t->ptrsize, t->be) : 0;
}

static const char *str_at(const struct gopcln *t, uint64_t off)
{
	if (off >= t->size || !memchr(t->tab + off, 0, t->size - off))
		return NULL;
	return (const char *)t->tab + off;
}

/* Loaded file bytes at a link-time address, NULL if not in a segment. */
static const uint8_t *vptr(const struct gopcln *t, uint64_t addr, uint64_t len)
{
	int i;

	for (i = 0; i < t->nsegs; i++) {
		const struct seg *s = &t->segs[i];

		if (addr >= s->vaddr && addr - s->vaddr <= s->filesz &&
		    len <= s->filesz - (addr - s->vaddr))
			return s->data + (addr - s->vaddr);
	}
	return NULL;
}

/* ---- pcvalue tables ---------------------------------------------------- */

static bool uvarint(const struct gopcln *t, uint64_t *off, uint32_t *out)
{
	uint32_t v = 0;
	unsigned int shift;

	for (shift = 0; shift < 35; shift += 7) {
		uint8_t b;

		if (*off >= t->size)
			return false;
		b = t->tab[(*off)++];
		v |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

/* Value of the pcvalue table at pctab offset tab_off for target pc. */
static bool pcvalue(const struct gopcln *t, uint32_t tab_off, uint64_t entry,
		    uint64_t target, int32_t *out)
{
	uint64_t off = t->pctab + tab_off, pc = entry;
	int32_t val = -1;
	bool first = true;

	if (!tab_off || target < entry)
		return false;
	for (;;) {
		uint32_t uv, pcd;

		if (!uvarint(t, &off, &uv) || (uv == 0 && !first))
			return false;
		/* zig-zag; unsigned so hostile input cannot overflow */
		val = (int32_t)((uint32_t)val + ((uv & 1) ? ~(uv >> 1) :
							     (uv >> 1)));
		if (!uvarint(t, &off, &pcd))
			return false;
		pc += (uint64_t)pcd * t->quantum;
		if (target < pc) {
			*out = val;
			return true;
		}
		first = false;
	}
}

/* ---- function table ---------------------------------------------------- */

static unsigned int ftab_field(const struct gopcln *t)
{
	return t->ver >= 118 ? 4 : t->ptrsize;
}

/* Entry pc of functab slot i (i == nfunc: end of the last function). */
static uint64_t ftab_pc(const struct gopcln *t, uint64_t i)
{
	uint64_t off = t->functab + 2 * i * ftab_field(t);

	if (t->ver >= 118)
		return t->text_start + rd32(t, off);
	return rdptr(t, off);
}

static uint64_t ftab_funcoff(const struct gopcln *t, uint64_t i)
{
	uint64_t off = t->functab + (2 * i + 1) * ftab_field(t);

	return t->functab + (t->ver >= 118 ? rd32(t, off) : rdptr(t, off));
}

/* Field k of _func counting the u32s after the 1.16 entry pointer:
 * 0 nameOff, 1 args, 2 deferreturn, 3 pcsp, 4 pcfile, 5 pcln, 6 npcdata,
 * 7 cuOffset, 8 startLine (1.20+). */
enum { F_NAME, F_ARGS, F_DEFERRET, F_PCSP, F_PCFILE, F_PCLN, F_NPCDATA,
       F_CUOFF };

static uint32_t ffield(const struct gopcln *t, uint64_t f, int k)
{
	return rd32(t, f + (t->ver >= 118 ? 4 : t->ptrsize) + 4 * k);
}

static uint32_t pcdata_off(const struct gopcln *t, uint64_t f, uint32_t i)
{
	if (i >= ffield(t, f, F_NPCDATA))
		return 0;
	return rd32(t, f + t->func_hdr + 4 * i);
}

/* Link-time address of funcdata i of function f, 0 if none. */
static uint64_t funcdata(const struct gopcln *t, uint64_t f, uint8_t i)
{
	uint64_t p = f + t->func_hdr + 4 * (uint64_t)ffield(t, f, F_NPCDATA);
	uint32_t off;

	if (!in_tab(t, f + t->funcid_at, 4) ||
	    i >= t->tab[f + t->funcid_at + 3])
		return 0;
	if (t->ver < 118) {
		if (t->ptrsize == 8 && ((t->addr + p) & 4))
			p += 4;
		return rdptr(t, p + (uint64_t)i * t->ptrsize);
	}
	off = rd32(t, p + 4 * (uint64_t)i);
	if (off == UINT32_MAX || !t->gofunc)
		return 0;
	return t->gofunc + off;
}

static const char *func_name(const struct gopcln *t, int32_t nameoff)
{
	return nameoff < 0 ? NULL : str_at(t, t->funcnames + (uint32_t)nameoff);
}

static uint8_t func_id(const struct gopcln *t, uint64_t f)
{
	return in_tab(t, f + t->funcid_at, 1) ? t->tab[f + t->funcid_at] : 0;
}

/* Index of the function containing pc, or -1. */
static int64_t find_index(const struct gopcln *t, uint64_t pc)
{
	uint64_t lo = 0, hi = t->nfunc;

	if (!t->nfunc || pc < ftab_pc(t, 0) || pc >= ftab_pc(t, t->nfunc))
		return -1;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (ftab_pc(t, mid) <= pc)
			lo = mid;
		else
			hi = mid;
	}
	return (int64_t)lo;
}

static void fill_func(const struct gopcln *t, uint64_t i,
		      struct gopcln_func *out)
{
	uint64_t f = ftab_funcoff(t, i);

	out->name = func_name(t, (int32_t)ffield(t, f, F_NAME));
	if (!out->name)
		out->name = "?";
	out->entry = ftab_pc(t, i);
	out->end = ftab_pc(t, i + 1);
	out->funcid = func_id(t, f);
	out->wrapper = out->funcid && out->funcid == t->wrapper_id;
}

/* File name for file index fileno of the CU at cu_off. */
static const char *file_name(const struct gopcln *t, uint32_t cu_off,
			     int32_t fileno)
{
	uint32_t off;

	if (fileno < 0)
		return NULL;
	off = rd32(t, t->cutab + 4 * ((uint64_t)cu_off + (uint32_t)fileno));
	if (off == UINT32_MAX || !in_tab(t, t->cutab, 4 * ((uint64_t)cu_off +
						     (uint32_t)fileno + 1)))
		return NULL;
	return str_at(t, t->filetab + off);
}

static void pos_at(const struct gopcln *t, uint64_t f, uint64_t entry,
		   uint64_t pc, struct gopcln_frame *fr)
{
	int32_t fileno, line;

	fr->file = NULL;
	fr->line = 0;
	if (pcvalue(t, ffield(t, f, F_PCFILE), entry, pc, &fileno))
		fr->file = file_name(t, ffield(t, f, F_CUOFF), fileno);
	if (pcvalue(t, ffield(t, f, F_PCLN), entry, pc, &line) && line > 0)
		fr->line = line;
}

int gopcln_lookup(const struct gopcln *t, uint64_t pc,
		  struct gopcln_frame *out, int max)
{
	unsigned int sz = t && t->ver >= 120 ? 16 : 20;
	uint64_t f, entry, tree, cur = pc;
	int n = 0, depth;
	int64_t i;

	if (!t || max <= 0)
		return 0;
	i = find_index(t, pc);
	if (i < 0)
		return 0;
	f = ftab_funcoff(t, (uint64_t)i);
	entry = ftab_pc(t, (uint64_t)i);
	tree = funcdata(t, f, FUNCDATA_INLTREE);
	/* Each inlined call records its name and parentPc, the offset of an
	 * instruction whose position is the call site in the caller: step
	 * out one level at a time, keeping room for the physical frame. */
	for (depth = 0; tree && depth < MAX_INLINE_DEPTH; depth++) {
		const uint8_t *ic;
		int32_t ix, name, parent_pc;

		if (!pcvalue(t, pcdata_off(t, f, PCDATA_INLTREEINDEX), entry,
			     cur, &ix) || ix < 0)
			break;
		ic = vptr(t, tree + (uint64_t)ix * sz, sz);
		if (!ic)
			break;
		/* 1.20+: funcID, pad[3], nameOff, parentPc, startLine.
		 * before: parent, funcID, pad, file, line, func_, parentPc. */
		name = (int32_t)go_read_uint(ic + (sz == 16 ? 4 : 12), 4, t->be);
		parent_pc = (int32_t)go_read_uint(ic + (sz == 16 ? 8 : 16), 4, t->be);
		if (n < max - 1) {
			out[n].func = func_name(t, name);
			if (!out[n].func)
				out[n].func = "?";
			out[n].entry = 0;
			pos_at(t, f, entry, cur, &out[n]);
			n++;
		}
		if (parent_pc < 0)
			break;
		cur = entry + (uint32_t)parent_pc;
	}
	out[n].func = func_name(t, (int32_t)ffield(t, f, F_NAME));
	if (!out[n].func)
		out[n].func = "?";
	out[n].entry = entry;
	pos_at(t, f, entry, cur, &out[n]);
	return n + 1;
}

int gopcln_find_func(const struct gopcln *t, const char *name,
		     bool skip_wrappers, struct gopcln_func *out)
{
	uint64_t i;

	for (i = 0; t && i < t->nfunc; i++) {
		uint64_t f = ftab_funcoff(t, i);
		const char *n = func_name(t, (int32_t)ffield(t, f, F_NAME));

		if (!n || n[0] != name[0] || strcmp(n, name))
			continue;
		if (skip_wrappers && func_id(t, f) == t->wrapper_id &&
		    t->wrapper_id)
			continue;
		fill_func(t, i, out);
		return 0;
	}
	return -ENOENT;
}

int gopcln_func_for_pc(const struct gopcln *t, uint64_t pc,
		       struct gopcln_func *out)
{
	int64_t i = t ? find_index(t, pc) : -1;

	if (i < 0)
		return -ENOENT;
	fill_func(t, (uint64_t)i, out);
	return 0;
}

int gopcln_func_own_entry(const struct gopcln *t, uint64_t pc, uint64_t *entry)
{
	int64_t i = t ? find_index(t, pc) : -1;
	uint64_t f;

	if (i < 0)
		return -ENOENT;
	f = ftab_funcoff(t, (uint64_t)i);
	if (!in_tab(t, f, ftab_field(t)))
		return -ENOENT;
	*entry = t->ver >= 118 ? t->text_start + rd32(t, f) : rdptr(t, f);
	return 0;
}

size_t gopcln_func_count(const struct gopcln *t)
{
	return t ? (size_t)t->nfunc : 0;
}

int gopcln_func_at(const struct gopcln *t, size_t i, struct gopcln_func *out)
{
	if (!t || i >= t->nfunc)
		return -ENOENT;
	fill_func(t, i, out);
	return 0;
}

uint64_t gopcln_text_start(const struct gopcln *t)
{
	return t ? t->text_start : 0;
}

uint8_t gopcln_wrapper_funcid(const struct gopcln *t)
{
	return t ? t->wrapper_id : 0;
}

/* ---- opening ----------------------------------------------------------- */

/* Parses and checks the header at tab[0..size); 0 or -ENOENT. */
static int parse_header(struct gopcln *t)
{
	uint32_t le = (uint32_t)go_read_uint(t->tab, 4, false);
	uint32_t be = (uint32_t)go_read_uint(t->tab, 4, true);
	uint64_t w[8], fsize;
	unsigned int nw, i;

	if (t->size < 16 || t->tab[4] || t->tab[5])
		return -ENOENT;
	if (le == MAGIC_116 || le == MAGIC_118 || le == MAGIC_120)
		t->be = false;
	else if (be == MAGIC_116 || be == MAGIC_118 || be == MAGIC_120)
		t->be = true;
	else
		return -ENOENT;
	le = t->be ? be : le;
	t->ver = le == MAGIC_116 ? 116 : le == MAGIC_118 ? 118 : 120;
	t->quantum = t->tab[6];
	t->ptrsize = t->tab[7];
	if ((t->quantum != 1 && t->quantum != 2 && t->quantum != 4) ||
	    (t->ptrsize != 4 && t->ptrsize != 8))
		return -ENOENT;
	nw = t->ver >= 118 ? 8 : 7;
	if (!in_tab(t, 8, (uint64_t)nw * t->ptrsize))
		return -ENOENT;
	for (i = 0; i < nw; i++)
		w[i] = rdptr(t, 8 + (uint64_t)i * t->ptrsize);
	t->nfunc = w[0];
	i = t->ver >= 118 ? 3 : 2;
	if (t->ver >= 118)
		t->text_start = w[2];
	t->funcnames = w[i];
	t->cutab = w[i + 1];
	t->filetab = w[i + 2];
	t->pctab = w[i + 3];
	t->functab = w[i + 4];
	fsize = (2 * t->nfunc + 1) * ftab_field(t);
	if (!t->nfunc || t->nfunc > t->size || !in_tab(t, t->functab, fsize) ||
	    t->funcnames >= t->size || t->cutab >= t->size ||
	    t->filetab >= t->size || t->pctab >= t->size)
		return -ENOENT;
	t->funcid_at = (t->ver >= 118 ? 4 : t->ptrsize) +
		       4 * (t->ver >= 120 ? 9 : 8);
	t->func_hdr = t->funcid_at + 4;
	return 0;
}

static int load_segments(Elf *elf, struct gopcln *t)
{
	size_t n, i;

	if (elf_getphdrnum(elf, &n))
		return -EINVAL;
	for (i = 0; i < n && t->nsegs < MAX_SEGS; i++) {
		GElf_Phdr ph;
		Elf_Data *d;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD ||
		    !ph.p_filesz)
			continue;
		/* Text is never read: skip executable segments. */
		if (ph.p_flags & PF_X)
			continue;
		d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset,
					 ph.p_filesz, ELF_T_BYTE);
		if (!d || !d->d_buf)
			continue;
		t->segs[t->nsegs].vaddr = ph.p_vaddr;
		t->segs[t->nsegs].filesz = ph.p_filesz;
		t->segs[t->nsegs].data = d->d_buf;
		t->nsegs++;
	}
	return 0;
}

/* Without section headers: scan the non-executable segments for a header
 * that parses. */
static int scan_segments(struct gopcln *t)
{
	int i;

	for (i = 0; i < t->nsegs; i++) {
		const struct seg *s = &t->segs[i];
		uint64_t off;

		for (off = 0; off + 64 <= s->filesz; off += 4) {
			uint32_t m = (uint32_t)go_read_uint(s->data + off, 4, false);

			if (m != MAGIC_116 && m != MAGIC_118 && m != MAGIC_120 &&
			    __builtin_bswap32(m) != MAGIC_116 &&
			    __builtin_bswap32(m) != MAGIC_118 &&
			    __builtin_bswap32(m) != MAGIC_120)
				continue;
			t->tab = s->data + off;
			t->size = s->filesz - off;
			t->addr = s->vaddr + off;
			if (!parse_header(t))
				return 0;
		}
	}
	t->tab = NULL;
	return -ENOENT;
}

/* NN of the first "go1.NN" in a version string, 0 if none. */
static int minor_of(const char *version)
{
	const char *p = strstr(version, "go1.");

	return p ? atoi(p + 4) : 0;
}

/* gofunc's word index in moduledata. Go 1.18-1.19: 38; 1.20-1.26: 40
 * (covctrs added); 1.27: 43 (typedesclen, itaboffset, itabsize added).
 * From 1.26 on the word after gofunc is epclntab: with the exact end of
 * the table known, that finds it for 1.26+ and unknown versions too. */
static int gofunc_index(const struct gopcln *t, const uint64_t *w,
			int minor, uint64_t tab_end)
{
	int i;

	if (t->ver == 118)
		return 38;
	if (minor >= 20 && minor <= 25)
		return 40;
	if (tab_end)
		for (i = 40; i + 1 < MD_WORDS; i++)
			if (w[i + 1] == tab_end)
				return i;
	return minor >= 27 ? 43 : 40;
}

static void find_text_and_gofunc(Elf *elf, struct gopcln *t, bool have_end)
{
	uint64_t w[MD_WORDS];
	bool md = !go_moduledata(elf, t->addr, t->addr + t->funcnames,
				 t->ptrsize, t->be, w, MD_WORDS);
	char ver[64] = "";
	GElf_Shdr sh;

	if (!t->text_start && md)
		t->text_start = w[22];
	if (!t->text_start && !go_elf_section(elf, ".text", &sh))
		t->text_start = sh.sh_addr;
	if (t->ver < 118 || !md)
		return;
	go_buildinfo_version(elf, ver, sizeof(ver));
	t->gofunc = w[gofunc_index(t, w, minor_of(ver),
				   have_end ? t->addr + t->size : 0)];
	if (!vptr(t, t->gofunc, 1))
		t->gofunc = 0;
}

/* Go's FuncIDWrapper is the last entry of an enum that grows between
 * releases (21 in 1.19-1.21, 22 in 1.22-1.24, 23 from 1.25). Every other
 * special ID marks one or two runtime functions, while hundreds of
 * autogenerated functions (ABI wrappers, method wrappers, eq/hash) carry
 * the wrapper ID, so take the most common non-zero ID. */
static uint8_t guess_wrapper_id(const struct gopcln *t)
{
	uint32_t count[256] = { 0 }, best_count = 0;
	uint64_t i;
	int id, best = 0;

	for (i = 0; i < t->nfunc; i++)
		count[func_id(t, ftab_funcoff(t, i))]++;
	for (id = 1; id < 256; id++) {
		if (count[id] && count[id] >= best_count) {
			best = id;
			best_count = count[id];
		}
	}
	return (uint8_t)best;
}

int gopcln_open(Elf *elf, struct gopcln **out)
{
	struct gopcln *t;
	GElf_Shdr sh;
	bool have_end = false;
	int err;

	*out = NULL;
	if (!elf || elf_kind(elf) != ELF_K_ELF)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	err = load_segments(elf, t);
	if (err)
		goto fail;
	if (!go_elf_section(elf, ".gopclntab", &sh) ||
	    !go_elf_section(elf, ".data.rel.ro.gopclntab", &sh)) {
		Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)sh.sh_offset,
						   sh.sh_size, ELF_T_BYTE);

		if (!d || !d->d_buf) {
			err = -EIO;
			goto fail;
		}
		t->tab = d->d_buf;
		t->size = sh.sh_size;
		t->addr = sh.sh_addr;
		have_end = true;
		err = parse_header(t);
	} else {
		err = scan_segments(t);
	}
	if (err)
		goto fail;
	find_text_and_gofunc(elf, t, have_end);
	if (t->ver >= 118 && !t->text_start) {
		err = -ENOENT;
		goto fail;
	}
	t->wrapper_id = guess_wrapper_id(t);
	*out = t;
	return 0;
fail:
	free(t);
	return err;
}

void gopcln_close(struct gopcln *t)
{
	free(t);
}
