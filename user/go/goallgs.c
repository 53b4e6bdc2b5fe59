/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Reading the goroutines that already exist in a live Go process.
 *
 * runtime.allgs is a []*g holding every g ever created (dead ones are
 * reused, never removed). We read its header, the pointer array in one
 * call, then the gs and their stack tops in batches of process_vm_readv
 * iovecs (1024 per call), so 30,000 goroutines cost ~60 syscalls. Nothing
 * is written to the target and it is never stopped: the values are a
 * racy snapshot, checked for sanity before use.
 *
 * Finding allgs without .symtab: runtime.forEachG is
 * `lock(&allglock); for _, gp := range allgs {...}`; its only 8-byte
 * RIP-relative loads are allgs.ptr and allgs.len, i.e. A and A+8.
 * runtime.allgadd appends to it and touches A, A+8 and A+16 (cap). Both
 * give .symtab's address on Go 1.19 and 1.21 .. 1.27 (test_goruntime), and
 * forEachG works on stripped production binaries (externally linked and
 * boringcrypto builds included). Go 1.17, 1.18 and 1.20 were not
 * measured here (no toolchain).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <elf.h>
#include <sys/uio.h>
#include "go/gopclntab.h"
#include "go/goallgs.h"
#include "go/goprobes.h"
#include "go/goruntime.h"
#include "go/gorip.h"

#define BATCH_IOV 1024		/* IOV_MAX */
#define STACK_WINDOW 4096	/* bytes of stack read per g up front */
#define MAX_ALLGLEN (16u << 20)

/* Locating allgs */

struct rip_refs {
	uint64_t addr[256];
	int n;
};

static bool has_addr(const struct rip_refs *r, uint64_t a)
{
	for (int i = 0; i < r->n; i++)
		if (r->addr[i] == a)
			return true;
	return false;
}

/* Lowest data address A referenced with A+8 (and A+16 when need_cap). */
static int find_slice(Elf *elf, const struct gopcln *t, const char *func,
		      bool loads_only, bool need_cap, uint64_t *addr)
{
	struct rip_refs r;
	uint64_t best = 0;

	r.n = go_rip_refs(elf, t, func, 8, loads_only, r.addr, 256);
	if (r.n < 0)
		return r.n;
	for (int i = 0; i < r.n; i++) {
		uint64_t a = r.addr[i];

		if (!go_is_data_addr(elf, a) || !has_addr(&r, a + 8) ||
		    (need_cap && !has_addr(&r, a + 16)))
			continue;
		if (!best || a < best)
			best = a;
	}
	if (!best)
		return -ENOENT;
	*addr = best;
	return 0;
}

int go_allgs_locate_code(Elf *elf, const struct gopcln *t, const char *func,
			 uint64_t *addr)
{
	bool foreach = strcmp(func, "runtime.forEachG") == 0;

	/* forEachG: loads of allgs and allgs+8; allgadd: loads and stores
	 * of allgs, +8 and +16 (append). */
	return find_slice(elf, t, func, foreach, !foreach, addr);
}

int go_allgs_locate(Elf *elf, const struct gopcln *t, uint64_t *addr,
		    const char **how)
{
	uint64_t size;

	if (go_elf_symbol(elf, "runtime.allgs", addr, &size) == 0) {
		*how = "symtab";
		return 0;
	}
	if (go_allgs_locate_code(elf, t, "runtime.forEachG", addr) == 0) {
		*how = "forEachG";
		return 0;
	}
	if (go_allgs_locate_code(elf, t, "runtime.allgadd", addr) == 0) {
		*how = "allgadd";
		return 0;
	}
	return -ENOENT;
}

int go_load_bias(int pid, uint64_t elf_entry, uint64_t *bias)
{
	char path[64];
	uint64_t aux[2 * 64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, aux, sizeof(aux));
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	for (ssize_t i = 0; i + 1 < n / 8; i += 2) {
		if (aux[i] == AT_NULL)
			break;
		if (aux[i] == AT_ENTRY) {
			*bias = aux[i + 1] - elf_entry;
			return 0;
		}
	}
	return -ENOENT;
}

/* Batched reads */

struct rreq {
	uint64_t addr;
	size_t len;
	void *buf;
	bool ok;
};

/* Reads every request; a request that faults is marked !ok and the rest
 * go on. Returns 0, or -errno when the process cannot be read at all. */
static int read_batch(int pid, struct rreq *r, size_t n, size_t *calls)
{
	struct iovec local[BATCH_IOV], remote[BATCH_IOV];
	size_t i = 0;

	while (i < n) {
		size_t j = 0, k = 0;
		ssize_t got;

		while (k < BATCH_IOV && i + k < n) {
			struct rreq *q = &r[i + k];

			local[k].iov_base = q->buf;
			local[k].iov_len = q->len;
			remote[k].iov_base = (void *)(uintptr_t)q->addr;
			remote[k].iov_len = q->len;
			k++;
		}
		got = process_vm_readv(pid, local, k, remote, k, 0);
		(*calls)++;
		if (got < 0) {
			if (errno != EFAULT)
				return -errno;
			got = 0;
		}
		/* Whole elements that arrived are ok; the first short one
		 * faulted: mark it and go on after it. */
		while (j < k && (size_t)got >= r[i + j].len) {
			got -= r[i + j].len;
			r[i + j].ok = true;
			j++;
		}
		if (j < k) {
			r[i + j].ok = false;
			j++;
		}
		i += j;
	}
	return 0;
}

static int read_one(int pid, uint64_t addr, void *buf, size_t len,
		    size_t *calls)
{
	struct iovec l = { buf, len }, rm = { (void *)(uintptr_t)addr, len };

	ssize_t got;

	(*calls)++;
	got = process_vm_readv(pid, &l, 1, &rm, 1, 0);
	if (got < 0)
		return -errno;
	return got == (ssize_t)len ? 0 : -EFAULT;
}

/* Per-g parsing and unwinding */

static uint64_t rd64(const uint8_t *b, int off)
{
	uint64_t v;

	memcpy(&v, b + off, 8);
	return v;
}

static uint32_t rd32(const uint8_t *b, int off)
{
	uint32_t v;

	memcpy(&v, b + off, 4);
	return v;
}

static void parse_g(const struct go_runtime *rt, const uint8_t *b,
		    struct go_g *g)
{
	const struct go_offsets *o = &rt->off;
	uint32_t st = rd32(b, o->atomicstatus);

	g->status = st & ~GO_G_SCAN;
	g->scan = st & GO_G_SCAN;
	g->goid = rd64(b, o->goid);
	g->parent_goid = o->parent_goid >= 0 ? rd64(b, o->parent_goid) : 0;
	g->waitreason = b[o->waitreason];
	g->waitreason_name = go_wait_reason_name(rt, g->waitreason);
	memcpy(&g->waitsince, b + o->waitsince, 8);
	g->gopc = rd64(b, o->gopc);
	g->startpc = rd64(b, o->startpc);
	g->sched_pc = rd64(b, o->sched_pc);
	g->sched_sp = rd64(b, o->sched_sp);
	g->sched_bp = rd64(b, o->sched_bp);
	g->stack_lo = rd64(b, o->stack_lo);
	g->stack_hi = rd64(b, o->stack_hi);
}

static bool is_dead(uint32_t status)
{
	return status == GO_G_DEAD || status == GO_G_IDLE ||
	       status == GO_G_DEADEXTRA;
}

/* sched is meaningful: not running, and for syscalls only from Go 1.23
 * (save() stored sched.bp from then on). */
static bool can_unwind(const struct go_runtime *rt, const struct go_g *g)
{
	if (g->status == GO_G_RUNNING || is_dead(g->status))
		return false;
	if (g->sched_sp < g->stack_lo || g->sched_sp >= g->stack_hi)
		return false;
	if (g->status == GO_G_SYSCALL && rt->version_minor < 23)
		return false;
	return true;
}

/* Frame-pointer walk from sched: pcs[0] = sched.pc, then [fp+8] while
 * fp = [fp] climbs within [sched.sp, stack.hi). Frames come from the
 * window read up front; past it, the next STACK_WINDOW bytes are read. */
static void unwind(int pid, struct go_g *g, const uint8_t *win,
		   uint64_t wstart, size_t wlen, uint64_t *pcs, int max,
		   size_t *calls)
{
	uint8_t more[STACK_WINDOW];
	uint64_t fp = g->sched_bp, prev = 0;
	int n = 0;

	pcs[n++] = g->sched_pc;
	while (fp) {
		uint64_t fr[2];

		if (n == max || fp < g->sched_sp || fp + 16 > g->stack_hi ||
		    fp <= prev || (fp & 7)) {
			g->truncated = true;
			break;
		}
		if (!win || fp < wstart || fp + 16 > wstart + wlen) {
			wlen = g->stack_hi - fp < STACK_WINDOW ?
				       g->stack_hi - fp : STACK_WINDOW;
			wstart = fp;
			win = more;
			if (read_one(pid, fp, more, wlen, calls) != 0) {
				g->truncated = true;
				break;
			}
		}
		memcpy(fr, win + (fp - wstart), 16);
		if (!fr[1])
			break;
		pcs[n++] = fr[1];
		prev = fp;
		fp = fr[0];
	}
	g->pcs = pcs;
	g->npcs = n;
}

static int read_tid(int pid, const struct go_runtime *rt, const uint8_t *gb,
		    size_t *calls)
{
	uint64_t m = rd64(gb, rt->off.m), procid;

	if (!m || read_one(pid, m + rt->off.m_procid, &procid, 8, calls))
		return 0;
	return procid < (1u << 31) ? (int)procid : 0;
}

struct chunk {
	struct rreq greq[BATCH_IOV], sreq[BATCH_IOV];
	struct go_g g[BATCH_IOV];
	uint8_t *gbuf, *sbuf;
	uint64_t *pcs;
};

static int do_chunk(int pid, const struct go_runtime *rt,
		    const uint64_t *gptrs, size_t n, struct chunk *c,
		    int max_frames, const struct go_allgs_opts *opts,
		    go_g_fn fn, void *ctx, struct go_allgs_stats *st)
{
	size_t gsz = rt->off.g_size, ns = 0;
	int err;

	for (size_t i = 0; i < n; i++)	/* nil entries: nothing to read */
		c->greq[i] = (struct rreq){ .addr = gptrs[i],
					    .len = gptrs[i] ? gsz : 0,
					    .buf = c->gbuf + i * gsz };
	err = read_batch(pid, c->greq, n, &st->syscalls);
	if (err)
		return err;
	/* Stack tops of the gs that can be unwound, in one more batch. */
	for (size_t i = 0; i < n; i++) {
		struct go_g *g = &c->g[i];

		memset(g, 0, sizeof(*g));
		if (!c->greq[i].ok || !gptrs[i])
			continue;
		g->gaddr = gptrs[i];
		g->bias = st->bias;
		parse_g(rt, c->greq[i].buf, g);
		if (!can_unwind(rt, g))
			continue;
		c->sreq[ns++] = (struct rreq){
			.addr = g->sched_sp,
			.len = g->stack_hi - g->sched_sp < STACK_WINDOW ?
				       g->stack_hi - g->sched_sp :
				       STACK_WINDOW,
			.buf = c->sbuf + i * STACK_WINDOW,
		};
	}
	err = read_batch(pid, c->sreq, ns, &st->syscalls);
	if (err)
		return err;
	for (size_t i = 0, s = 0; i < n; i++) {
		struct go_g *g = &c->g[i];
		uint64_t *pcs = c->pcs + i * max_frames;

		if (!c->greq[i].ok || !gptrs[i]) {
			st->unreadable++;
			continue;
		}
		if (is_dead(g->status)) {
			st->dead++;
			if (!opts->include_dead)
				continue;
		}
		if (g->status == GO_G_RUNNING || g->status == GO_G_SYSCALL)
			g->tid = read_tid(pid, rt, c->greq[i].buf,
					  &st->syscalls);
		if (can_unwind(rt, g)) {
			struct rreq *sr = &c->sreq[s++];

			unwind(pid, g, sr->ok ? sr->buf : NULL, sr->addr,
			       sr->len, pcs, max_frames, &st->syscalls);
		} else if (g->status == GO_G_SYSCALL && g->sched_pc) {
			pcs[0] = g->sched_pc;
			g->pcs = pcs;
			g->npcs = 1;
			g->truncated = true;
		}
		st->reported++;
		err = fn(g, ctx);
		if (err)
			return err;
	}
	return 0;
}

int go_read_allgs(int pid, const struct go_runtime *rt,
		  const struct go_allgs_opts *opts, go_g_fn fn, void *ctx,
		  struct go_allgs_stats *stats)
{
	struct go_allgs_opts defopts = { 0 };
	struct go_allgs_stats st = { 0 };
	struct chunk *c = NULL;
	uint64_t hdr[3], *gptrs = NULL;
	int max_frames, err;

	if (!rt->allgs_addr)
		return -ENOTSUP;
	if (!opts)
		opts = &defopts;
	max_frames = opts->max_frames > 0 ? opts->max_frames : 64;
	if (max_frames > 512)
		max_frames = 512;
	err = go_load_bias(pid, rt->entry, &st.bias);
	if (err == -ENOENT)
		err = -ESRCH;	/* no /proc/PID: gone */
	if (err)
		goto out;
	if (!rt->pie && st.bias) {
		err = -ENOEXEC;
		goto out;
	}
	err = read_one(pid, rt->allgs_addr + st.bias, hdr, sizeof(hdr),
		       &st.syscalls);
	if (err)
		goto out;
	/* ptr, len, cap */
	if (hdr[1] > hdr[2] || hdr[1] > MAX_ALLGLEN || (hdr[1] && !hdr[0]) ||
	    (hdr[0] & 7)) {
		err = -ENOEXEC;
		goto out;
	}
	st.allglen = hdr[1];
	if (!st.allglen)
		goto out;
	gptrs = malloc(st.allglen * 8);
	c = calloc(1, sizeof(*c));
	if (!gptrs || !c) {
		err = -ENOMEM;
		goto out;
	}
	c->gbuf = malloc((size_t)BATCH_IOV * rt->off.g_size);
	c->sbuf = malloc((size_t)BATCH_IOV * STACK_WINDOW);
	c->pcs = malloc((size_t)BATCH_IOV * max_frames * sizeof(uint64_t));
	if (!c->gbuf || !c->sbuf || !c->pcs) {
		err = -ENOMEM;
		goto out;
	}
	err = read_one(pid, hdr[0], gptrs, st.allglen * 8, &st.syscalls);
	if (err)
		goto out;
	for (size_t i = 0; i < st.allglen; i += BATCH_IOV) {
		size_t n = st.allglen - i < BATCH_IOV ? st.allglen - i :
							BATCH_IOV;

		err = do_chunk(pid, rt, gptrs + i, n, c, max_frames, opts, fn,
			       ctx, &st);
		if (err)
			break;
	}
out:
	if (c) {
		free(c->gbuf);
		free(c->sbuf);
		free(c->pcs);
		free(c);
	}
	free(gptrs);
	if (stats)
		*stats = st;
	return err;
}
