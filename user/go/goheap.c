// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Reading the Go runtime's heap profile from a live process (goheap.h).
 *
 * runtime.mbuckets heads a list (through bucket.allnext) of every memory
 * profile bucket: {next, allnext, typ, hash, size, nstk} (48 bytes on
 * amd64, Go 1.19 .. 1.27), then stk[nstk] (return PCs, inlined frames
 * expanded), then the memRecord: `active` (counts as of the last
 * published GC cycle) and future[3] (cycles not published yet). Buckets
 * are never freed or moved and their stacks never change; only the counts
 * move, so a racy read is a consistent list with slightly stale counts.
 *
 * What runtime.MemProfile reports, we compute the same way: active plus
 * future[cycle % 3] (MemProfile flushes that one first), and when no cycle
 * was ever published (all actives zero), every future summed. The counts
 * are sampled: pprof scales them by 1/(1 - e^(-size/rate)).
 *
 * Buckets come from persistentalloc chunks, newest first in the list, so
 * the list mostly walks down through memory: we read 16 KiB windows
 * ending at the bucket we need, and fall back to exact reads where a
 * window would cross an unmapped page.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <elfutils/libdw.h>
#include <dwarf.h>
#include "go/goallgs.h"
#include "go/godwarf.h"
#include "go/goheap.h"
#include "go/gopclntab.h"
#include "go/gorip.h"
#include "go/goruntime.h"

#define MEM_PROFILE 1		/* bucketType memProfile */
#define WINDOW (16u << 10)
#define AHEAD 1024		/* bytes past a bucket header read with it */
#define DEF_MAX_BUCKETS 1000000
#define DEF_MAX_BYTES (256u << 20)

/* Layouts */

int go_heap_layout_table(int minor, struct go_heap_layout *l)
{
	if (minor < 17 || minor > GO_TABLES_MAX_MINOR)
		return -ENOTSUP;
	memset(l, 0, sizeof(*l));
	l->bucket_size = 48;
	l->off_allnext = 8;
	l->off_typ = 16;
	l->off_size = 32;
	l->off_nstk = 40;
	l->off_allocs = 0;
	l->off_frees = 8;
	if (minor >= 27) {	/* byte counters dropped */
		l->cycle_size = 16;
		l->off_alloc_bytes = l->off_free_bytes = -1;
	} else {
		l->cycle_size = 32;
		l->off_alloc_bytes = 16;
		l->off_free_bytes = 24;
	}
	l->off_active = 0;
	l->off_future = l->cycle_size;
	l->record_size = 4 * l->cycle_size;
	l->max_stack = minor >= 23 ? 1024 : 32;
	return 0;
}

static int dw_size(Dwarf_Die *d)
{
	Dwarf_Attribute a;
	Dwarf_Word v;

	if (!dwarf_attr(d, DW_AT_byte_size, &a) || dwarf_formudata(&a, &v))
		return -ENOENT;
	return v > 4096 ? -ERANGE : (int)v;
}

int go_heap_layout_dwarf(Elf *elf, struct go_heap_layout *l)
{
	struct go_dw_want w[] = {
		{ .name = "runtime.bucket" },
		{ .name = "runtime.memRecord" },
		{ .name = "runtime.memRecordCycle" },
	};
	struct go_heap_layout r = { 0 };
	int err = 0, rec_size;
	Dwarf *dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);

	if (!dw)
		return -ENOENT;
	go_dw_find_structs(dw, w, 3);
	if (!w[0].found || !w[1].found || !w[2].found) {
		err = -ENOENT;
		goto out;
	}
	r.bucket_size = dw_size(&w[0].die);
	r.off_allnext = go_dw_member_offset(&w[0].die, "allnext");
	r.off_typ = go_dw_member_offset(&w[0].die, "typ");
	r.off_size = go_dw_member_offset(&w[0].die, "size");
	r.off_nstk = go_dw_member_offset(&w[0].die, "nstk");
	r.off_active = go_dw_member_offset(&w[1].die, "active");
	r.off_future = go_dw_member_offset(&w[1].die, "future");
	rec_size = dw_size(&w[1].die);
	r.cycle_size = dw_size(&w[2].die);
	r.off_allocs = go_dw_member_offset(&w[2].die, "allocs");
	r.off_frees = go_dw_member_offset(&w[2].die, "frees");
	r.off_alloc_bytes = go_dw_member_offset(&w[2].die, "alloc_bytes");
	r.off_free_bytes = go_dw_member_offset(&w[2].die, "free_bytes");
	if (r.bucket_size <= 0 || r.off_allnext < 0 || r.off_typ < 0 ||
	    r.off_size < 0 || r.off_nstk < 0 || r.off_active < 0 ||
	    r.off_future < 0 || rec_size <= 0 || r.cycle_size <= 0 ||
	    r.off_allocs < 0 || r.off_frees < 0 ||
	    r.off_future + 3 * r.cycle_size > rec_size) {
		err = -ENOENT;
		goto out;
	}
	if (r.off_alloc_bytes < 0 || r.off_free_bytes < 0)
		r.off_alloc_bytes = r.off_free_bytes = -1;
	r.record_size = rec_size;
	r.from_dwarf = true;
	*l = r;
out:
	dwarf_end(dw);
	return err;
}

/* Locating the variables */

int go_heap_locate_code(Elf *elf, const struct gopcln *t, struct go_heap *h)
{
	if (go_rip_single_load(elf, t, "runtime.mProf_FlushLocked", 8,
			       &h->mbuckets) ||
	    go_rip_single_load(elf, t, "runtime.allocmcache", 8, &h->rate) ||
	    go_rip_single_load(elf, t, "runtime.mProf_PostSweep", 4,
			       &h->cycle))
		return -ENOENT;
	return 0;
}

static bool has_func(const struct go_runtime *rt, const char *name)
{
	struct gopcln_func f;
	uint64_t v, sz;

	if (rt->pcln && gopcln_find_func(rt->pcln, name, false, &f) == 0)
		return true;
	return go_elf_symbol(rt->elf, name, &v, &sz) == 0;
}

int go_heap_open(const struct go_runtime *rt, struct go_heap *h, char *msg,
		 size_t msglen)
{
	uint64_t sz, flag;
	int err;

	memset(h, 0, sizeof(*h));
	if (msg && msglen)
		msg[0] = '\0';
	h->version_minor = rt->version_minor;
	err = -ENOENT;
	if (rt->has_dwarf)
		err = go_heap_layout_dwarf(rt->elf, &h->lay);
	if (err && go_heap_layout_table(rt->version_minor, &h->lay)) {
		snprintf(msg, msglen, "Go %s: heap profile layout unknown "
			 "(no table, no DWARF)", rt->version[0] ? rt->version :
			 "(unknown version)");
		return -ENOTSUP;
	}
	if (h->lay.max_stack == 0)	/* DWARF does not say */
		h->lay.max_stack = rt->version_minor &&
				   rt->version_minor < 23 ? 32 : 1024;
	/* The linker sets disableMemoryProfiling exactly when it dropped
	 * this function as unreachable. */
	h->off_by_linker = !has_func(rt, rt->version_minor &&
					 rt->version_minor < 23 ?
					 "runtime.MemProfile" :
					 "runtime.memProfileInternal");
	if (go_elf_symbol(rt->elf, "runtime.disableMemoryProfiling", &flag,
			  &sz) == 0) {
		uint8_t v = 0;

		if (go_elf_read(rt->elf, flag, &v, 1) == 0 && v)
			h->off_by_linker = true;
	}
	if (h->off_by_linker)
		return 0;	/* nothing to read: no need to find it */
	if (go_elf_symbol(rt->elf, "runtime.mbuckets", &h->mbuckets, &sz) == 0 &&
	    go_elf_symbol(rt->elf, "runtime.MemProfileRate", &h->rate, &sz) == 0 &&
	    go_elf_symbol(rt->elf, "runtime.mProfCycle", &h->cycle, &sz) == 0) {
		h->how = "symtab";
		return 0;
	}
	if (go_heap_locate_code(rt->elf, rt->pcln, h) == 0) {
		h->how = "code";
		return 0;
	}
	snprintf(msg, msglen, "runtime.mbuckets, MemProfileRate or mProfCycle "
		 "not found in %s", rt->path);
	return -ENOTSUP;
}

/* Reading */

struct reader {
	int pid;
	uint8_t *buf;		/* WINDOW bytes */
	uint64_t start;
	size_t len;
	size_t max_bytes;
	struct go_heap_profile *p;
};

/* One read of [addr, addr+len) into r->buf; keeps what arrived. */
static int fill(struct reader *r, uint64_t addr, size_t len)
{
	struct iovec l = { r->buf, len }, rm = { (void *)(uintptr_t)addr, len };
	ssize_t got;

	if (r->p->bytes_read + len > r->max_bytes)
		return -E2BIG;
	r->p->syscalls++;
	got = process_vm_readv(r->pid, &l, 1, &rm, 1, 0);
	r->start = addr;
	r->len = got > 0 ? (size_t)got : 0;
	r->p->bytes_read += r->len;
	if (got < 0 && errno != EFAULT)
		return -errno;
	return 0;
}

static bool covers(const struct reader *r, uint64_t addr, size_t len)
{
	return r->len && addr >= r->start && addr + len <= r->start + r->len;
}

/* Pointer to len target bytes at addr (len <= WINDOW), or NULL (err set
 * when the process cannot be read at all). down: the walk goes down. */
static const uint8_t *need(struct reader *r, uint64_t addr, size_t len,
			   bool down, int *err)
{
	uint64_t end = addr + len;

	*err = 0;
	if (len > WINDOW || end < addr)
		return NULL;
	if (covers(r, addr, len))
		return r->buf + (addr - r->start);
	if (down && end >= WINDOW) {
		/* End past this bucket: its stack and record (read next)
		 * are in the same window. A read cut short by an unmapped
		 * page above still covers what is below it. */
		uint64_t top = end + AHEAD;

		*err = fill(r, top - WINDOW, WINDOW);
		if (!*err && covers(r, addr, len))
			return r->buf + (addr - r->start);
	}
	if (!*err) {
		*err = fill(r, addr, WINDOW);
		if (!*err && covers(r, addr, len))
			return r->buf + (addr - r->start);
	}
	if (!*err) {
		*err = fill(r, addr, len);
		if (!*err && covers(r, addr, len))
			return r->buf + (addr - r->start);
	}
	return NULL;
}

static uint64_t rd(const uint8_t *b, int off)
{
	uint64_t v;

	memcpy(&v, b + off, 8);
	return v;
}

struct counts {
	uint64_t allocs, frees, alloc_bytes, free_bytes;
};

static void add_cycle(const struct go_heap_layout *l, const uint8_t *c,
		      uint64_t size, struct counts *out)
{
	uint64_t a = rd(c, l->off_allocs), f = rd(c, l->off_frees);

	out->allocs += a;
	out->frees += f;
	if (l->off_alloc_bytes >= 0) {
		out->alloc_bytes += rd(c, l->off_alloc_bytes);
		out->free_bytes += rd(c, l->off_free_bytes);
	} else {
		out->alloc_bytes += a * size;
		out->free_bytes += f * size;
	}
}

static int push(struct go_heap_profile *p, const struct go_heap_rec *rec,
		const uint8_t *stk)
{
	if (p->n == p->cap) {
		size_t c = p->cap ? p->cap * 2 : 256;
		struct go_heap_rec *r = realloc(p->recs, c * sizeof(*r));

		if (!r)
			return -ENOMEM;
		p->recs = r;
		p->cap = c;
	}
	if (p->npcs + rec->nstk > p->cap_pcs) {
		size_t c = p->cap_pcs ? p->cap_pcs * 2 : 4096;
		uint64_t *v;

		while (c < p->npcs + rec->nstk)
			c *= 2;
		v = realloc(p->pcs, c * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->pcs = v;
		p->cap_pcs = c;
	}
	p->recs[p->n] = *rec;
	/* stk points into pcs, which may move: store the index for now. */
	p->recs[p->n].stk = (const uint64_t *)(uintptr_t)p->npcs;
	memcpy(p->pcs + p->npcs, stk, rec->nstk * 8);
	p->npcs += rec->nstk;
	p->n++;
	return 0;
}

/* A bucket that could not be read ends the walk: a read cap (truncated),
 * an unreadable address (bad), or a process that cannot be read (err). */
static void cut(struct go_heap_profile *p, int *err)
{
	if (*err == -E2BIG) {
		p->truncated = true;
		*err = 0;
	} else if (!*err) {
		p->bad++;
	}
}

/* Walks the list once. pend[i]: future[cycle%3] of recs[i]; all[i]: the
 * sum of every future, for the no-cycle-yet case. */
static int walk(struct reader *r, const struct go_heap_layout *l,
		uint64_t head, uint32_t cycle, size_t max_buckets,
		struct counts **pendp, struct counts **allp)
{
	struct go_heap_profile *p = r->p;
	struct counts *pend = NULL, *all = NULL;
	uint64_t b = head, prev = 0;
	size_t cap = 0;
	int err = 0;

	while (b) {
		const uint8_t *hdr, *full, *rec;
		struct go_heap_rec out = { 0 };
		struct counts act = { 0 };
		uint64_t nstk, typ;
		size_t total;

		if (p->n >= max_buckets) {
			p->truncated = true;
			break;
		}
		if (b & 7) {
			p->bad++;
			break;
		}
		hdr = need(r, b, l->bucket_size, prev > b, &err);
		if (!hdr) {
			cut(p, &err);
			break;
		}
		typ = rd(hdr, l->off_typ);
		nstk = rd(hdr, l->off_nstk);
		if (typ != MEM_PROFILE || nstk > (uint64_t)l->max_stack) {
			p->bad++;
			break;
		}
		total = l->bucket_size + nstk * 8 + l->record_size;
		full = need(r, b, total, prev > b, &err);
		if (!full) {
			cut(p, &err);
			break;
		}
		out.size = rd(full, l->off_size);
		out.nstk = nstk;
		rec = full + l->bucket_size + nstk * 8;
		add_cycle(l, rec + l->off_active, out.size, &act);
		if (p->n == cap) {
			size_t c = cap ? cap * 2 : 256;
			struct counts *a = realloc(pend, c * sizeof(*a));
			struct counts *s = a ? realloc(all, c * sizeof(*s)) : NULL;

			if (a)
				pend = a;
			if (!a || !s) {
				err = -ENOMEM;
				break;
			}
			all = s;
			cap = c;
		}
		memset(&pend[p->n], 0, sizeof(pend[0]));
		memset(&all[p->n], 0, sizeof(all[0]));
		for (int i = 0; i < 3; i++) {
			const uint8_t *c = rec + l->off_future + i * l->cycle_size;

			add_cycle(l, c, out.size, &all[p->n]);
			if ((uint32_t)i == cycle % 3)
				add_cycle(l, c, out.size, &pend[p->n]);
		}
		out.allocs = act.allocs;
		out.frees = act.frees;
		out.alloc_bytes = act.alloc_bytes;
		out.free_bytes = act.free_bytes;
		err = push(p, &out, full + l->bucket_size);
		if (err)
			break;
		prev = b;
		b = rd(full, l->off_allnext);
	}
	*pendp = pend;
	*allp = all;
	return err;
}

static void reset(struct go_heap_profile *p)
{
	p->n = 0;
	p->npcs = 0;
	p->bad = 0;
	p->truncated = false;
}

int go_heap_read(int pid, const struct go_runtime *rt, const struct go_heap *h,
		 const struct go_heap_opts *opts, struct go_heap_profile *out)
{
	struct go_heap_opts o = opts ? *opts : (struct go_heap_opts){ 0 };
	struct reader r = { .pid = pid };
	struct counts *pend = NULL, *all = NULL;
	uint64_t head = 0;
	uint32_t cyc = 0, cyc2 = 0;
	bool published = false;
	int err;

	memset(out, 0, sizeof(*out));
	if (h->off_by_linker)
		return -ENOTSUP;
	if (!o.max_buckets)
		o.max_buckets = DEF_MAX_BUCKETS;
	if (!o.max_bytes)
		o.max_bytes = DEF_MAX_BYTES;
	r.max_bytes = o.max_bytes;
	r.p = out;
	err = go_load_bias(pid, rt->entry, &out->bias);
	if (err == -ENOENT)
		err = -ESRCH;
	if (err)
		return err;
	if (!rt->pie && out->bias)
		return -ENOEXEC;
	r.buf = malloc(WINDOW);
	if (!r.buf)
		return -ENOMEM;
	/* A cycle published while we walk mixes counts of two cycles: walk
	 * again (once) when mProfCycle moved. */
	for (int tries = 0; tries < 2; tries++) {
		struct iovec l[3] = { { &head, 8 }, { &out->rate, 8 }, { &cyc, 4 } };
		struct iovec rm[3] = {
			{ (void *)(uintptr_t)(h->mbuckets + out->bias), 8 },
			{ (void *)(uintptr_t)(h->rate + out->bias), 8 },
			{ (void *)(uintptr_t)(h->cycle + out->bias), 4 },
		};

		out->syscalls++;
		if (process_vm_readv(pid, l, 3, rm, 3, 0) != 20) {
			err = errno == EFAULT ? -ENOEXEC : -errno;
			goto done;
		}
		free(pend);
		free(all);
		pend = all = NULL;
		reset(out);
		r.len = 0;
		err = walk(&r, &h->lay, head, cyc >> 1, o.max_buckets, &pend,
			   &all);
		if (err)
			goto done;
		out->syscalls++;
		l[0] = (struct iovec){ &cyc2, 4 };
		if (process_vm_readv(pid, l, 1, &rm[2], 1, 0) != 4 ||
		    cyc2 >> 1 == cyc >> 1)
			break;
	}
	out->cycle = cyc >> 1;
	out->flushed = cyc & 1;
	for (size_t i = 0; i < out->n; i++)
		if (out->recs[i].allocs || out->recs[i].frees ||
		    pend[i].allocs || pend[i].frees)
			published = true;
	out->before_gc = !published;
	for (size_t i = 0; i < out->n; i++) {
		struct go_heap_rec *rec = &out->recs[i];
		const struct counts *c = published ? &pend[i] : &all[i];

		rec->allocs += c->allocs;
		rec->frees += c->frees;
		rec->alloc_bytes += c->alloc_bytes;
		rec->free_bytes += c->free_bytes;
		rec->stk = out->pcs + (uintptr_t)rec->stk;
	}
done:
	free(pend);
	free(all);
	free(r.buf);
	if (err)
		go_heap_profile_free(out);
	return err;
}

void go_heap_profile_free(struct go_heap_profile *p)
{
	free(p->recs);
	free(p->pcs);
	p->recs = NULL;
	p->pcs = NULL;
	p->n = p->cap = p->npcs = p->cap_pcs = 0;
}

void go_heap_scale(uint64_t count, uint64_t size, int64_t rate,
		   double *objects, double *bytes)
{
	double scale = 1;

	if (count && size && rate > 1)
		scale = 1 / (1 - exp(-(double)size / (double)rate));
	*objects = (double)count * scale;
	*bytes = (double)count * (double)size * scale;
}
