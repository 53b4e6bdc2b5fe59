// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include <bpf/bpf.h>
#include <linux/types.h>
#include "leaktrace.h"
#include "trace/pages.h"

#define PAGE_SIZE_ (1ULL << LT_PAGE_SHIFT)
#define PAGE_UP(x) (((x) + PAGE_SIZE_ - 1) & ~(PAGE_SIZE_ - 1))
/* Releases up to this many pages look each chunk up; larger ranges scan
 * the pages map instead when it holds fewer chunks. Also the largest
 * request to BPF (bpf_loop runs at most 1 << 23 callbacks). */
#define RELEASE_LOOKUP_MAX (1ULL << 24)
/* The map key of a page's chunk (needs p: the keys carry the tgid). */
#define CHUNK_OF(page) LT_CHUNK_KEY(p->tgid, (page) >> LT_CHUNK_SHIFT)
#define LO_OF(key) (LT_CHUNK_OF_KEY(key) << LT_CHUNK_SHIFT)
#define SLOT_OF(page) ((page) & (LT_CHUNK_PAGES - 1))

void pages_init(struct pages *p, int map_fd, int release_fd, int move_fd)
{
	memset(p, 0, sizeof(*p));
	p->map_fd = map_fd;
	p->release_fd = release_fd;
	p->move_fd = move_fd;
	u64map_init(&p->released);
	u64map_init(&p->lazy);
}

void pages_free(struct pages *p)
{
	u64map_free(&p->released);
	u64map_free(&p->lazy);
}

/* Runs one of the syscall programs on pages [first, last). */
static void ask_bpf(struct pages *p, int prog_fd, uint64_t first,
		    uint64_t last, uint64_t dest, bool lazy)
{
	struct lt_pages_req req = { .first = first, .last = last,
				    .dest = dest, .lazy = lazy, .tgid = p->tgid };
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &req,
		    .ctx_size_in = sizeof(req));

	if (bpf_prog_test_run_opts(prog_fd, &o) || o.retval)
		p->failed++;
}

/* Kernels without bpf_loop: the chunk edits done here. */
static void count_release(struct pages *p, uint64_t stack_id, uint64_t n,
			  bool lazy)
{
	uint64_t *v = u64map_ref(&p->released, stack_id);

	if (v)
		*v += n;
	if (lazy && (v = u64map_ref(&p->lazy, stack_id)))
		*v += n;
	p->released_pages += n;
	if (lazy)
		p->lazy_pages += n;
}

/* Writes a chunk back, or deletes it when no page in it is tracked. */
static void chunk_store(struct pages *p, uint64_t key, const struct lt_chunk *c)
{
	for (unsigned i = 0; i < LT_CHUNK_PAGES; i++) {
		if (c->sid[i]) {
			bpf_map_update_elem(p->map_fd, &key, c, BPF_ANY);
			return;
		}
	}
	bpf_map_delete_elem(p->map_fd, &key);
}

/* Clears the slots [from, to) of one chunk, counting what they held. */
static void edit_release(struct pages *p, uint64_t key, unsigned from,
			 unsigned to, bool lazy)
{
	struct lt_chunk c;
	bool changed = false;

	if (bpf_map_lookup_elem(p->map_fd, &key, &c))
		return;
	for (unsigned i = from; i < to && i < LT_CHUNK_PAGES; i++) {
		if (!c.sid[i])
			continue;
		count_release(p, c.sid[i], 1, lazy);
		c.sid[i] = 0;
		changed = true;
	}
	if (changed)
		chunk_store(p, key, &c);
}

/* Releases pages [first, last), all inside chunk key. */
static void release_in_chunk(struct pages *p, uint64_t key, uint64_t first,
			     uint64_t last, bool lazy)
{
	uint64_t lo = LO_OF(key);

	if (first < lo)
		first = lo;
	if (last > lo + LT_CHUNK_PAGES)
		last = lo + LT_CHUNK_PAGES;
	if (p->release_fd >= 0)
		ask_bpf(p, p->release_fd, first, last, 0, lazy);
	else
		edit_release(p, key, first - lo, last - lo, lazy);
}

void pages_release(struct pages *p, uint64_t start, uint64_t end, bool lazy,
		   uint64_t held)
{
	uint64_t first = start >> LT_PAGE_SHIFT, last = PAGE_UP(end) >> LT_PAGE_SHIFT;
	uint64_t key, next, chunks;

	if (last <= first)
		return;
	/* No more chunks hold pages than pages are held. */
	chunks = CHUNK_OF(last - 1) - CHUNK_OF(first) + 1;
	if (chunks <= RELEASE_LOOKUP_MAX >> LT_CHUNK_SHIFT || chunks <= held) {
		if (p->release_fd >= 0) {
			for (uint64_t a = first; a < last; a += RELEASE_LOOKUP_MAX)
				ask_bpf(p, p->release_fd, a,
					last - a > RELEASE_LOOKUP_MAX ?
						a + RELEASE_LOOKUP_MAX : last,
					0, lazy);
			return;
		}
		for (key = CHUNK_OF(first); key <= CHUNK_OF(last - 1); key++)
			release_in_chunk(p, key, first, last, lazy);
		return;
	}
	/* A huge range over a small map: walk the map (reading only). */
	if (bpf_map_get_next_key(p->map_fd, NULL, &key))
		return;
	for (;;) {
		int more = !bpf_map_get_next_key(p->map_fd, &key, &next);
		uint64_t lo = LO_OF(key);

		if (LT_TGID_OF_KEY(key) == p->tgid &&
		    lo + LT_CHUNK_PAGES > first && lo < last)
			release_in_chunk(p, key, first, last, lazy);
		if (!more)
			break;
		key = next;
	}
}

/* Kernels without bpf_loop: moves slots chunk by chunk here. */
static void edit_move(struct pages *p, uint64_t from0, uint64_t to0, uint64_t n)
{
	uint64_t skey = UINT64_MAX, dkey = UINT64_MAX;
	struct lt_chunk src, dst;
	bool shave = false, dhave = false, sdirty = false, ddirty = false;

	for (uint64_t i = 0; i <= n; i++) {
		uint64_t from = from0 + i, to = to0 + i;

		/* Write back a chunk when the walk leaves it (and at the end). */
		if (i == n || CHUNK_OF(from) != skey) {
			if (sdirty)
				chunk_store(p, skey, &src);
			sdirty = false;
		}
		if (i == n || CHUNK_OF(to) != dkey) {
			if (ddirty)
				chunk_store(p, dkey, &dst);
			ddirty = false;
		}
		if (i == n)
			break;
		if (CHUNK_OF(from) != skey) {
			skey = CHUNK_OF(from);
			shave = !bpf_map_lookup_elem(p->map_fd, &skey, &src);
		}
		if (!shave || !src.sid[SLOT_OF(from)])
			continue;
		if (CHUNK_OF(to) != dkey) {
			dkey = CHUNK_OF(to);
			dhave = !bpf_map_lookup_elem(p->map_fd, &dkey, &dst);
			if (!dhave)
				memset(&dst, 0, sizeof(dst));
		}
		dst.sid[SLOT_OF(to)] = src.sid[SLOT_OF(from)];
		src.sid[SLOT_OF(from)] = 0;
		sdirty = ddirty = true;
	}
}

void pages_move(struct pages *p, uint64_t old, uint64_t len, uint64_t new)
{
	uint64_t n = PAGE_UP(len) >> LT_PAGE_SHIFT;
	uint64_t from = old >> LT_PAGE_SHIFT, to = new >> LT_PAGE_SHIFT;

	if (n > RELEASE_LOOKUP_MAX)
		n = RELEASE_LOOKUP_MAX;
	if (p->move_fd >= 0)
		ask_bpf(p, p->move_fd, from, from + n, to, false);
	else
		edit_move(p, from, to, n);
}
