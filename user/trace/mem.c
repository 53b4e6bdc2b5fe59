// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include "util/hashmap.h"
#include "util/log.h"
#include "trace/mem.h"
#include "mem.skel.h"
#include "trace/ranges.h"
#include "trace/task.h"

#define PAGE_SIZE_ (1ULL << LT_PAGE_SHIFT)
#define PAGE_UP(x) (((x) + PAGE_SIZE_ - 1) & ~(PAGE_SIZE_ - 1))
#define PAGE_DOWN(x) ((x) & ~(PAGE_SIZE_ - 1))
/* Releases up to this many pages look each chunk up; larger ranges scan
 * the pages map instead when it holds fewer chunks. */
#define RELEASE_LOOKUP_MAX (1ULL << 24)
#define CHUNK_OF(page) ((page) >> LT_CHUNK_SHIFT)
#define SLOT_OF(page) ((page) & (LT_CHUNK_PAGES - 1))


/* What the samples of one fault stack id unwound to: its pages are split
 * between these stacks in proportion (the id itself when an unwind got no
 * further). */
struct fault_split {
	uint64_t fp_id;
	bool heap;		/* the fault stack starts inside malloc */
	uint64_t total;
	size_t n, cap;
	struct split_target {
		uint64_t id, samples;
	} *t;
};

struct mem {
	struct mem_bpf *skel;
	struct fault_split *splits;	/* one per sampled fault stack id */
	size_t nsplits, capsplits;
	struct u64map split_index;	/* fault stack id -> splits index + 1 */
	uint64_t fault_samples;		/* sampled faults received with a copy */
	struct ranges *ranges;
	struct u64map released;		/* stack id -> pages released */
	struct u64map lazy;		/* stack id -> pages MADV_FREE'd */
	uint64_t brk_cur;		/* page-aligned break, 0 unknown */
	struct u64map brk_by_stack;	/* stack id -> bytes of brk growth */
	uint64_t brk_top_id, brk_top_bytes;	/* the stack growing it most */
	uint64_t faulted_pages;		/* sum of the kernel's counters */
	uint64_t released_bpf, lazy_bpf;	/* the same, released in BPF */
	struct mem_stats st;
	int pages_fd;
};

static uint32_t pow2_at_least(uint64_t v)
{
	uint32_t p = 4096;

	while (p < v && p < (1U << 30))
		p <<= 1;
	return p;
}

int mem_open(struct lt_ctx *ctx)
{
	struct lt_opts *o = &ctx->opts;
	struct mem *m;
	bool bpf_release;
	int err;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	ctx->mem = m;
	u64map_init(&m->released);
	u64map_init(&m->lazy);
	u64map_init(&m->brk_by_stack);
	u64map_init(&m->split_index);
	m->ranges = ranges_new();
	if (!m->ranges)
		return -ENOMEM;
	m->skel = mem_bpf__open();
	if (!m->skel) {
		err = -errno;
		lt_err("cannot open the memory BPF programs: %s\n", strerror(-err));
		return err;
	}
	m->skel->rodata->targ_tgid = target_host_pid(&ctx->target);
	m->skel->rodata->fp_jumps = ctx->target.is_go;
	ctx->wakeup_bytes = pow2_at_least((uint64_t)o->ringbuf_mb << 20) / 4;
	m->skel->rodata->wakeup_bytes = ctx->wakeup_bytes;
	m->skel->rodata->ucopy_bytes = o->stack_copy_kb << 10;
	m->skel->rodata->fault_sample = o->fault_sample;
	if ((err = bpf_map__set_max_entries(m->skel->maps.stacks, o->max_stacks)) ||
	    /* Chunks: room for max_pages touched pages even when only one
	     * page in 16 of a chunk is touched (thread stacks, sparse heaps). */
	    (err = bpf_map__set_max_entries(m->skel->maps.pages,
			(o->max_pages >> 4) ? o->max_pages >> 4 : 1)) ||
	    (err = bpf_map__set_max_entries(m->skel->maps.fault_stats,
					    o->max_fault_stacks)) ||
	    (err = bpf_map__set_max_entries(m->skel->maps.events,
			pow2_at_least((uint64_t)o->ringbuf_mb << 20)))) {
		lt_err("cannot size BPF maps: %s\n", strerror(-err));
		return err;
	}
	/* Small releases in BPF where bpf_loop exists (5.17+); before that
	 * user space releases every range. */
	bpf_release = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT,
					      BPF_FUNC_loop, NULL) == 1;
	bpf_program__set_autoload(m->skel->progs.lt_munmap_exit, !bpf_release);
	bpf_program__set_autoload(m->skel->progs.lt_madvise_exit, !bpf_release);
	bpf_program__set_autoload(m->skel->progs.lt_munmap_exit_rel, bpf_release);
	bpf_program__set_autoload(m->skel->progs.lt_madvise_exit_rel, bpf_release);
	err = mem_bpf__load(m->skel);
	if (err) {
		err = -errno;
		if (err == -EPERM || err == -EACCES)
			lt_err("loading BPF programs was refused: run as root (CAP_BPF and CAP_PERFMON)\n");
		else
			lt_err("cannot load the memory BPF programs: %s (-vv shows the verifier log)\n",
			       strerror(-err));
		return err;
	}
	err = mem_bpf__attach(m->skel);
	if (err) {
		err = -errno;
		lt_err("cannot attach the memory tracepoints: %s (is tracefs mounted on /sys/kernel/tracing?)\n",
		       strerror(-err));
		return err;
	}
	m->pages_fd = bpf_map__fd(m->skel->maps.pages);
	/* The break already reached; a spawned target syncs on its first
	 * brk(0) after exec instead. */
	if (!ctx->target.spawned) {
		uint64_t start_brk = 0, cur_brk = 0;

		if (!procstat_start_brk(ctx->target.pid, &start_brk, &cur_brk))
			m->brk_cur = PAGE_UP(cur_brk);
	}
	return 0;
}

int mem_stacks_fd(const struct lt_ctx *ctx)
{
	return bpf_map__fd(ctx->mem->skel->maps.stacks);
}

int mem_copy_need_fd(const struct lt_ctx *ctx)
{
	return bpf_map__fd(ctx->mem->skel->maps.copy_need);
}

int mem_ucopy_buf_fd(const struct lt_ctx *ctx)
{
	return bpf_map__fd(ctx->mem->skel->maps.ucopy_buf);
}

struct json_object *mem_unwind_json(const struct lt_ctx *ctx)
{
	uint64_t uc[LT_UC_MAX] = {}, split = 0, samples;
	struct json_object *o;

	for (int i = 0; i < LT_UC_MAX; i++) {
		if (ctx->mem && ctx->mem->skel->bss)
			uc[i] += ctx->mem->skel->bss->ucopy_stats[i];
	}
	task_ucopy_stats(ctx, uc);
	o = stacks_unwind_json(&ctx->stacks, uc);
	samples = mem_fault_samples(ctx, &split);
	json_object_object_add(o, "fault_samples", json_object_new_int64(samples));
	json_object_object_add(o, "fault_stacks_split", json_object_new_int64(split));
	return o;
}

int mem_events_fd(const struct lt_ctx *ctx)
{
	return bpf_map__fd(ctx->mem->skel->maps.events);
}

void mem_close(struct lt_ctx *ctx)
{
	struct mem *m = ctx->mem;

	if (!m)
		return;
	mem_bpf__destroy(m->skel);
	ranges_free(m->ranges);
	u64map_free(&m->released);
	u64map_free(&m->lazy);
	u64map_free(&m->brk_by_stack);
	u64map_free(&m->split_index);
	for (size_t i = 0; i < m->nsplits; i++)
		free(m->splits[i].t);
	free(m->splits);
	free(m);
	ctx->mem = NULL;
}

const struct mem_stats *mem_stats(const struct lt_ctx *ctx)
{
	return &ctx->mem->st;
}

/* No new records from now on (before the last drain). */
void mem_stop(struct lt_ctx *ctx)
{
	if (ctx->mem && ctx->mem->skel->bss)
		ctx->mem->skel->bss->lt_stop = 1;
}

void mem_drops(const struct lt_ctx *ctx, uint64_t *out)
{
	if (!ctx->mem || !ctx->mem->skel->bss)
		return;
	for (int i = 0; i < LT_DROP_MAX; i++)
		out[i] += ctx->mem->skel->bss->drops[i];
}

static void count_release(struct mem *m, uint64_t stack_id, uint64_t n,
			  bool lazy)
{
	uint64_t *v = u64map_ref(&m->released, stack_id);

	if (v)
		*v += n;
	if (lazy && (v = u64map_ref(&m->lazy, stack_id)))
		*v += n;
	m->st.released_pages += n;
	if (lazy)
		m->st.lazyfree_pages += n;
}

/* Writes a chunk back, or deletes it when no page in it is tracked. */
static void chunk_store(struct mem *m, uint64_t key, const struct lt_chunk *c)
{
	for (unsigned i = 0; i < LT_CHUNK_PAGES; i++) {
		if (c->sid[i]) {
			bpf_map_update_elem(m->pages_fd, &key, c, BPF_ANY);
			return;
		}
	}
	bpf_map_delete_elem(m->pages_fd, &key);
}

/* Clears the slots [from, to) of one chunk (slot numbers), counting what
 * they held; the chunk is deleted once empty. */
static void release_chunk(struct mem *m, uint64_t key, unsigned from,
			  unsigned to, bool lazy)
{
	struct lt_chunk c;
	bool changed = false;

	if (bpf_map_lookup_elem(m->pages_fd, &key, &c))
		return;
	for (unsigned i = from; i < to && i < LT_CHUNK_PAGES; i++) {
		if (!c.sid[i])
			continue;
		count_release(m, c.sid[i], 1, lazy);
		c.sid[i] = 0;
		changed = true;
	}
	if (changed)
		chunk_store(m, key, &c);
}

/* Forgets the tracked pages of [start, end): they are no longer resident
 * (or, with MADV_FREE, only until the kernel needs them). BPF does this
 * itself for small munmap/madvise ranges; a page BPF sets in a chunk while
 * we rewrite it may be forgotten (then counted again if touched again). */
static void release_pages(struct mem *m, uint64_t start, uint64_t end,
			  bool lazy)
{
	uint64_t first = start >> LT_PAGE_SHIFT, last = PAGE_UP(end) >> LT_PAGE_SHIFT;
	uint64_t held = m->faulted_pages > m->st.released_pages ?
			m->faulted_pages - m->st.released_pages : 0;
	uint64_t key, next, chunks;

	if (last <= first)
		return;
	/* No more chunks hold pages than pages are held. */
	chunks = CHUNK_OF(last - 1) - CHUNK_OF(first) + 1;
	if (chunks <= RELEASE_LOOKUP_MAX >> LT_CHUNK_SHIFT || chunks <= held) {
		for (key = CHUNK_OF(first); key <= CHUNK_OF(last - 1); key++) {
			uint64_t lo = key << LT_CHUNK_SHIFT;

			release_chunk(m, key, first > lo ? first - lo : 0,
				      last - lo < LT_CHUNK_PAGES ? last - lo
								 : LT_CHUNK_PAGES,
				      lazy);
		}
		return;
	}
	/* A huge range over a small map: walk the map instead. */
	if (bpf_map_get_next_key(m->pages_fd, NULL, &key))
		return;
	for (;;) {
		int more = !bpf_map_get_next_key(m->pages_fd, &key, &next);
		uint64_t lo = key << LT_CHUNK_SHIFT;

		if (lo + LT_CHUNK_PAGES > first && lo < last)
			release_chunk(m, key, first > lo ? first - lo : 0,
				      last - lo < LT_CHUNK_PAGES ? last - lo
								 : LT_CHUNK_PAGES,
				      lazy);
		if (!more)
			break;
		key = next;
	}
}

/* mremap moved pages: their first touch stays attributed where it was. */
static void move_pages(struct mem *m, uint64_t old, uint64_t len, uint64_t new)
{
	uint64_t n = PAGE_UP(len) >> LT_PAGE_SHIFT;
	uint64_t from0 = old >> LT_PAGE_SHIFT, to0 = new >> LT_PAGE_SHIFT;
	uint64_t skey = UINT64_MAX, dkey = UINT64_MAX;
	struct lt_chunk src, dst;
	bool shave = false, dhave = false, sdirty = false, ddirty = false;

	if (n > RELEASE_LOOKUP_MAX)
		n = RELEASE_LOOKUP_MAX;
	for (uint64_t i = 0; i <= n; i++) {
		uint64_t from = from0 + i, to = to0 + i;

		/* Write back a chunk when the walk leaves it (and at the end). */
		if (i == n || CHUNK_OF(from) != skey) {
			if (sdirty)
				chunk_store(m, skey, &src);
			sdirty = false;
		}
		if (i == n || CHUNK_OF(to) != dkey) {
			if (ddirty)
				chunk_store(m, dkey, &dst);
			ddirty = false;
		}
		if (i == n)
			break;
		if (CHUNK_OF(from) != skey) {
			skey = CHUNK_OF(from);
			shave = !bpf_map_lookup_elem(m->pages_fd, &skey, &src);
		}
		if (!shave || !src.sid[SLOT_OF(from)])
			continue;
		if (CHUNK_OF(to) != dkey) {
			dkey = CHUNK_OF(to);
			dhave = !bpf_map_lookup_elem(m->pages_fd, &dkey, &dst);
			if (!dhave)
				memset(&dst, 0, sizeof(dst));
		}
		dst.sid[SLOT_OF(to)] = src.sid[SLOT_OF(from)];
		src.sid[SLOT_OF(from)] = 0;
		sdirty = ddirty = true;
	}
}

static void on_removed(void *c, uint32_t tag, uint64_t start, uint64_t end)
{
	struct site *s = model_get(&((struct lt_ctx *)c)->model, tag);

	if (s)
		s->freed += end - start;
}

static uint32_t site_tag(struct lt_ctx *ctx, enum site_kind kind,
			 uint64_t stack_id)
{
	struct site *s = stacks_site(&ctx->stacks, &ctx->model, kind, stack_id);

	if (!s)
		return UINT32_MAX;
	s->created++;
	return s->id;
}

static void handle_brk(struct lt_ctx *ctx, const struct lt_mem_event *e,
		       uint64_t stack_id)
{
	struct mem *m = ctx->mem;
	uint64_t brk = PAGE_UP(e->addr);

	if (!e->len || !m->brk_cur) {	/* a query, or first sight: sync */
		m->brk_cur = brk;
		return;
	}
	if (brk > m->brk_cur) {
		uint64_t *v = u64map_ref(&m->brk_by_stack, stack_id);

		/* The heap is shared: which malloc crosses its top is chance
		 * (a caller that frees everything may be the one that needs
		 * the next page). Growth goes to the stack that has grown it
		 * most, not to whoever happened to cross the top. */
		if (v) {
			/* Known from its first growth on, so that its series
			 * covers the window once it leads. */
			if (!*v)
				stacks_site(&ctx->stacks, &ctx->model, SITE_BRK,
					    stack_id);
			*v += brk - m->brk_cur;
			if (*v > m->brk_top_bytes || !m->brk_top_id) {
				m->brk_top_bytes = *v;
				m->brk_top_id = stack_id;
			}
		}
		ranges_add(m->ranges, m->brk_cur, brk,
			   site_tag(ctx, SITE_BRK, m->brk_top_id ? m->brk_top_id
								 : stack_id),
			   on_removed, ctx);
	} else if (brk < m->brk_cur) {
		ranges_remove(m->ranges, brk, m->brk_cur, on_removed, ctx);
		release_pages(m, brk, m->brk_cur, false);
	}
	m->brk_cur = brk;
}

void mem_handle(struct lt_ctx *ctx, const struct lt_mem_event *e)
{
	struct mem *m = ctx->mem;
	uint64_t len = PAGE_UP(e->len), sid = e->stack_id;

	m->st.events++;
	/* A stack copy follows the record: unwind it if frame pointers
	 * did not reach the callers. */
	if (e->copy_bytes)
		sid = stacks_event_id(&ctx->stacks, mem_copy_need_fd(ctx),
				      e->stack_id, e + 1, e->copy_bytes);
	switch (e->type) {
	case LT_EV_MMAP:
		if (e->flags & MAP_FIXED)	/* replaces what was there */
			release_pages(m, e->addr, e->addr + len, false);
		if (e->prot == PROT_NONE) {	/* reservation, not memory */
			ranges_remove(m->ranges, e->addr, e->addr + len,
				      on_removed, ctx);
			break;
		}
		ranges_add(m->ranges, e->addr, e->addr + len,
			   site_tag(ctx, SITE_MMAP, sid), on_removed, ctx);
		break;
	case LT_EV_MUNMAP:
		ranges_remove(m->ranges, e->addr, e->addr + len, on_removed, ctx);
		if (!e->bpf_released)
			release_pages(m, e->addr, e->addr + len, false);
		break;
	case LT_EV_MREMAP: {
		uint64_t new_len = PAGE_UP(e->new_len);

		if (new_len < len)
			release_pages(m, e->addr + new_len, e->addr + len, false);
		if (e->new_addr != e->addr)
			move_pages(m, e->addr, len < new_len ? len : new_len,
				   e->new_addr);
		ranges_remap(m->ranges, e->addr, len, e->new_addr, new_len,
			     new_len > len ? site_tag(ctx, SITE_MMAP, sid)
					   : UINT32_MAX,
			     on_removed, ctx);
		break;
	}
	case LT_EV_BRK:
		handle_brk(ctx, e, sid);
		break;
	case LT_EV_MADVISE:
		if (e->flags < LT_MADV_MAX) {
			m->st.madvise_bytes[e->flags] += len;
			m->st.madvise_calls[e->flags]++;
		}
		if (!e->bpf_released && lt_madv_releases(e->flags))
			release_pages(m, e->addr, e->addr + len,
				      e->flags == LT_MADV_FREE);
		break;
	default:
		break;
	}
}

/* Faults inside the allocator touch heap pages; which caller's malloc
 * crosses into a new page is chance (a caller that frees all it takes
 * touches pages others then fill), as with brk. */
static bool in_allocator(struct lt_ctx *ctx, uint64_t fp_id)
{
	static const char *const fns[] = {
		"malloc", "__libc_malloc", "_int_malloc", "sysmalloc",
		"calloc", "__libc_calloc", "realloc", "__libc_realloc",
		"_int_realloc", "tcache_init", "malloc_consolidate",
		"_int_memalign", "__libc_memalign", "posix_memalign",
	};
	const struct resolved_stack *r = stacks_resolve(&ctx->stacks, fp_id);
	const char *fn = r->n ? r->frames[0].function : NULL;

	for (size_t i = 0; fn && i < sizeof(fns) / sizeof(fns[0]); i++)
		if (!strcmp(fn, fns[i]))
			return true;
	return false;
}

static struct fault_split *split_get(struct lt_ctx *ctx, uint64_t fp_id,
				     bool add)
{
	struct mem *m = ctx->mem;
	uint64_t idx;
	struct fault_split *v;

	if (u64map_get(&m->split_index, fp_id, &idx))
		return &m->splits[idx - 1];
	if (!add)
		return NULL;
	if (m->nsplits == m->capsplits) {
		size_t cap = m->capsplits ? m->capsplits * 2 : 64;

		v = realloc(m->splits, cap * sizeof(*v));
		if (!v)
			return NULL;
		m->splits = v;
		m->capsplits = cap;
	}
	v = &m->splits[m->nsplits];
	memset(v, 0, sizeof(*v));
	v->fp_id = fp_id;
	v->heap = in_allocator(ctx, fp_id);
	if (u64map_put(&m->split_index, fp_id, m->nsplits + 1))
		return NULL;
	m->nsplits++;
	return v;
}

void mem_fault_sample(struct lt_ctx *ctx, const struct lt_fault_sample *e)
{
	struct mem *m = ctx->mem;
	struct fault_split *sp;
	uint64_t id;
	size_t i;

	if (!e->copy_bytes)
		return;
	m->fault_samples++;
	id = stacks_event_id(&ctx->stacks, mem_copy_need_fd(ctx), e->stack_id,
			     e + 1, e->copy_bytes);
	sp = split_get(ctx, e->stack_id, true);
	if (!sp)
		return;
	for (i = 0; i < sp->n && sp->t[i].id != id; i++)
		;
	if (i == sp->n) {
		if (sp->n == sp->cap) {
			size_t cap = sp->cap ? sp->cap * 2 : 4;
			struct split_target *t = realloc(sp->t, cap * sizeof(*t));

			if (!t)
				return;
			sp->t = t;
			sp->cap = cap;
		}
		sp->t[sp->n++] = (struct split_target){ .id = id };
	}
	sp->t[i].samples++;
	sp->total++;
}

/* The caller whose sampled faults inside the allocator are most numerous
 * (0: none): heap pages first touched in the allocator are credited to it,
 * the brk rule for resident pages. */
static uint64_t heap_top_target(struct lt_ctx *ctx)
{
	struct mem *m = ctx->mem;
	struct u64map votes;
	uint64_t best = 0, best_n = 0, *v;

	u64map_init(&votes);
	for (size_t i = 0; i < m->nsplits; i++) {
		struct fault_split *sp = &m->splits[i];

		if (!sp->heap)
			continue;
		for (size_t k = 0; k < sp->n; k++) {
			if (sp->t[k].id == sp->fp_id ||
			    !(v = u64map_ref(&votes, sp->t[k].id)))
				continue;
			*v += sp->t[k].samples;
			if (*v > best_n) {
				best_n = *v;
				best = sp->t[k].id;
			}
		}
	}
	u64map_free(&votes);
	return best;
}

/* Adds a share of one fault stack's counters to the site of stack id. */
static void add_fault_share(struct lt_ctx *ctx, uint64_t id, double share,
			    const struct lt_fault_stat *fs, uint64_t rel,
			    uint64_t lazy)
{
	struct site *s = stacks_site(&ctx->stacks, &ctx->model, SITE_FAULT, id);
	double held = (double)fs->pages - (double)rel;

	if (!s)
		return;
	s->bytes += (uint64_t)((held > 0 ? held : 0) * share + 0.5) * PAGE_SIZE_;
	s->freed += (uint64_t)(rel * share + 0.5) * PAGE_SIZE_;
	s->lazyfree += (uint64_t)(lazy * share + 0.5) * PAGE_SIZE_;
	s->created += (uint64_t)(fs->pages * share + 0.5);
}

uint64_t mem_fault_samples(const struct lt_ctx *ctx, uint64_t *split_ids)
{
	uint64_t n = 0;

	for (size_t i = 0; ctx->mem && i < ctx->mem->nsplits; i++)
		n += ctx->mem->splits[i].n > 1 ||
		     (ctx->mem->splits[i].n == 1 &&
		      ctx->mem->splits[i].t[0].id != ctx->mem->splits[i].fp_id);
	*split_ids = n;
	return ctx->mem ? ctx->mem->fault_samples : 0;
}

void mem_collect(struct lt_ctx *ctx)
{
	struct mem *m = ctx->mem;
	int fd = bpf_map__fd(m->skel->maps.fault_stats);
	struct lt_fault_stat fs;
	uint64_t key, next, total = 0, rel_bpf = 0, lazy_bpf = 0, heap_top;
	bool have;

	for (size_t i = 0; i < ctx->model.n; i++) {
		struct site *s = ctx->model.sites[i];

		if (s->kind == SITE_FAULT)
			s->bytes = s->freed = s->lazyfree = s->created = 0;
		else if (s->kind == SITE_MMAP || s->kind == SITE_BRK)
			s->bytes = ranges_bytes(m->ranges, s->id);
	}
	heap_top = heap_top_target(ctx);
	have = !bpf_map_get_next_key(fd, NULL, &key);
	while (have) {
		bool more = !bpf_map_get_next_key(fd, &key, &next);

		if (!bpf_map_lookup_elem(fd, &key, &fs)) {
			const struct fault_split *sp = split_get(ctx, key, false);
			uint64_t rel = 0, lazy = 0;

			u64map_get(&m->released, key, &rel);
			u64map_get(&m->lazy, key, &lazy);
			rel += fs.released;
			lazy += fs.lazy;
			total += fs.pages;
			rel_bpf += fs.released;
			lazy_bpf += fs.lazy;
			/* Sampled unwinds split the pages between the stacks
			 * this frame-pointer stack stood for. */
			if (!sp || !sp->total)
				add_fault_share(ctx, key, 1.0, &fs, rel, lazy);
			else if (heap_top && sp->heap)
				add_fault_share(ctx, heap_top, 1.0, &fs, rel, lazy);
			else
				for (size_t i = 0; i < sp->n; i++)
					add_fault_share(ctx, sp->t[i].id,
							(double)sp->t[i].samples /
								sp->total,
							&fs, rel, lazy);
		}
		have = more;
		key = next;
	}
	m->faulted_pages = total;
	/* Released here plus released in BPF (recounted at every collect). */
	m->st.released_pages += rel_bpf - m->released_bpf;
	m->st.lazyfree_pages += lazy_bpf - m->lazy_bpf;
	m->released_bpf = rel_bpf;
	m->lazy_bpf = lazy_bpf;
	m->st.mapped_total = ranges_total(m->ranges);
}
