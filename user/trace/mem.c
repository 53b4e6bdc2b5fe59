// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "sym/funcnames.h"
#include "trace/brk.h"
#include "trace/faultsplit.h"
#include "trace/loader.h"
#include "trace/mem.h"
#include "trace/mem_int.h"
#include "trace/pages.h"
#include "trace/ranges.h"
#include "trace/vmcheck.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "mem.skel.h"

#define PAGE_SIZE_ (1ULL << LT_PAGE_SHIFT)
#define PAGE_UP(x) (((x) + PAGE_SIZE_ - 1) & ~(PAGE_SIZE_ - 1))
/* Above every user address (5-level paging: 2^56). */
#define LT_USER_TOP (1ULL << 57)

struct mem {
	struct mem_bpf *skel;		/* the run's (struct mem_obj) */
	struct mem_obj *obj;
	struct model *model;		/* where the sites live */
	struct stacks *stacks;
	int copy_need_fd;		/* shared, for stack copies */
	struct ranges *ranges;
	struct vmcheck *vm;		/* every mapping, against VmSize */
	bool vm_said;			/* a miss was said */
	struct pages pages;		/* the kernel's page map, as edited */
	struct brk_state brk;
	struct fault_splits splits;
	uint64_t faulted_pages;		/* sum of the kernel's counters */
	uint64_t failed_said;		/* page requests refused, warned of */
	uint32_t exec_lost;		/* lost exec records handled */
	struct mem_stats st;
};

int mem_open(struct lt_target *ctx, struct mem_obj *obj,
	     const struct lt_maps *maps)
{
	struct mem *m;
	uint64_t cur = 0;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	ctx->mem = m;
	m->skel = obj->skel;
	m->obj = obj;
	m->model = &ctx->model;
	m->stacks = &ctx->stacks;
	m->copy_need_fd = maps->copy_need_fd;
	faultsplit_init(&m->splits);
	/* The break already reached; a spawned target syncs on its first
	 * brk(0) after exec instead. */
	if (!ctx->target.spawned) {
		uint64_t start_brk = 0, cur_brk = 0;

		if (!procstat_start_brk(ctx->target.pid, &start_brk, &cur_brk))
			cur = PAGE_UP(cur_brk);
	}
	brk_init(&m->brk, cur);
	pages_init(&m->pages, bpf_map__fd(obj->skel->maps.pages),
		   obj->release_fd, obj->move_fd);
	m->pages.tgid = target_host_pid(&ctx->target);
	m->ranges = ranges_new();
	m->vm = vmcheck_new();
	if (!m->ranges || !m->vm)
		return -ENOMEM;
	/* After the probes are on: a call made meanwhile is seen again
	 * (adding or removing a range twice changes nothing). A spawned
	 * target is seeded once it runs. One process only: node-wide, a
	 * read of /proc/PID/maps for every process whose size changed, every
	 * interval, would cost more than what it finds there (shmat). */
	if (!ctx->target.spawned && maps->targ_tgid)
		vmcheck_seed(m->vm, ctx->target.proc_pid);
	return 0;
}

void mem_close(struct lt_target *ctx)
{
	struct mem *m = ctx->mem;

	if (!m)
		return;
	/* A shared object outlives the target: forget its kernel state (no
	 * growth with process churn). */
	if (m->skel && !m->skel->rodata->targ_tgid && m->obj)
		mem_obj_forget(m->obj, m->pages.tgid);
	ranges_free(m->ranges);
	vmcheck_free(m->vm);
	pages_free(&m->pages);
	brk_free(&m->brk);
	faultsplit_free(&m->splits);
	free(m);
	ctx->mem = NULL;
}

const struct mem_stats *mem_stats(const struct lt_target *ctx)
{
	return &ctx->mem->st;
}

void mem_ucopy_stats(const struct lt_target *ctx, uint64_t *out)
{
	if (!ctx->mem || !ctx->mem->skel->bss)
		return;
	for (int i = 0; i < LT_UC_MAX; i++)
		out[i] += ctx->mem->skel->bss->ucopy_stats[i];
}

uint64_t mem_fault_samples(const struct lt_target *ctx, uint64_t *split_ids)
{
	*split_ids = ctx->mem ? faultsplit_split_ids(&ctx->mem->splits) : 0;
	return ctx->mem ? ctx->mem->splits.samples : 0;
}

/* Pages tracked now: a bound on the page map's chunks. */
static uint64_t held_pages(const struct mem *m)
{
	return m->faulted_pages > m->st.released_pages ?
	       m->faulted_pages - m->st.released_pages : 0;
}

static void release_pages(struct mem *m, uint64_t start, uint64_t end,
			  bool lazy)
{
	pages_release(&m->pages, start, end, lazy, held_pages(m));
}

static void on_removed(void *c, uint32_t tag, uint64_t start, uint64_t end)
{
	struct site *s = model_get(c, tag);

	if (s)
		s->freed += end - start;
}

static uint32_t site_tag(struct mem *m, enum site_kind kind, uint64_t stack_id)
{
	struct site *s = stacks_site(m->stacks, m->model, kind, stack_id);

	if (!s)
		return UINT32_MAX;
	s->created++;
	return s->id;
}

static void handle_brk(struct mem *m, const struct lt_mem_event *e,
		       uint64_t stack_id)
{
	struct brk_step st;

	brk_event(&m->brk, PAGE_UP(e->addr), !e->len, stack_id, &st);
	if (st.change == BRK_GROW) {
		if (st.first_growth)
			stacks_site(m->stacks, m->model, SITE_BRK, stack_id);
		ranges_add(m->ranges, st.from, st.to,
			   site_tag(m, SITE_BRK, st.charge_id), on_removed,
			   m->model);
	} else if (st.change == BRK_SHRINK) {
		ranges_remove(m->ranges, st.from, st.to, on_removed, m->model);
		release_pages(m, st.from, st.to, false);
	}
}

/* The target exec'd: the old image's address space is gone, with no
 * munmap for any of it. Its ranges leave as freed (their sites stay in
 * the report as history, nothing outstanding), its touched pages as
 * released unless BPF already forgot them at the exec (bpf_released), and
 * the break is learnt again from the new image. */
static void forget_all(struct mem *m, bool bpf_released)
{
	ranges_remove(m->ranges, 0, UINT64_MAX, on_removed, m->model);
	if (!bpf_released)
		release_pages(m, 0, LT_USER_TOP, false);
	brk_free(&m->brk);
	brk_init(&m->brk, 0);
}

void mem_exec(struct lt_target *ctx)
{
	struct mem *m = ctx->mem;
	uint32_t lost;

	if (!m || !m->skel->bss)
		return;
	lost = m->skel->bss->exec_lost;
	if (lost == m->exec_lost)
		return;
	/* The ring buffer had no room for the record: forget now, late.
	 * Pages and ranges of the new image from before now go too. */
	lt_warn("an exec record was lost (ring buffer full): the old image's memory is forgotten late, the new image's first mappings and pages with it\n");
	forget_all(m, false);
	m->exec_lost = lost;
}

void mem_handle(struct lt_target *ctx, const struct lt_mem_event *e)
{
	struct mem *m = ctx->mem;
	uint64_t len = PAGE_UP(e->len), sid = e->stack_id;

	m->st.events++;
	/* A stack copy follows the record: unwind it if frame pointers
	 * did not reach the callers. */
	if (e->copy_bytes)
		sid = stacks_event_id(m->stacks, m->copy_need_fd, e->stack_id,
				      e + 1, e->copy_bytes);
	switch (e->type) {
	case LT_EV_MMAP:
		vmcheck_map(m->vm, e->addr, len);
		/* replaces what was there (BPF forgot small ranges) */
		if ((e->flags & MAP_FIXED) && !e->bpf_released)
			release_pages(m, e->addr, e->addr + len, false);
		if (e->prot == PROT_NONE) {	/* reservation, not memory */
			ranges_remove(m->ranges, e->addr, e->addr + len,
				      on_removed, m->model);
			break;
		}
		ranges_add(m->ranges, e->addr, e->addr + len,
			   site_tag(m, SITE_MMAP, sid), on_removed, m->model);
		break;
	case LT_EV_MUNMAP:
		vmcheck_unmap(m->vm, e->addr, len);
		ranges_remove(m->ranges, e->addr, e->addr + len, on_removed,
			      m->model);
		if (!e->bpf_released)
			release_pages(m, e->addr, e->addr + len, false);
		break;
	case LT_EV_MREMAP: {
		uint64_t new_len = PAGE_UP(e->new_len);

		vmcheck_remap(m->vm, e->addr, len, e->new_addr, new_len);
		if (new_len < len)
			release_pages(m, e->addr + new_len, e->addr + len, false);
		if (e->new_addr != e->addr)
			pages_move(&m->pages, e->addr, len < new_len ? len : new_len,
				   e->new_addr);
		ranges_remap(m->ranges, e->addr, len, e->new_addr, new_len,
			     new_len > len ? site_tag(m, SITE_MMAP, sid)
					   : UINT32_MAX,
			     on_removed, m->model);
		break;
	}
	case LT_EV_BRK:
		vmcheck_brk(m->vm, e->addr);
		handle_brk(m, e, sid);
		break;
	case LT_EV_EXEC:
		vmcheck_exec(m->vm);
		forget_all(m, e->bpf_released);
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
static bool in_allocator(struct mem *m, uint64_t fp_id)
{
	const struct resolved_stack *r = stacks_resolve(m->stacks, fp_id);

	return r->n && fn_is_allocator(r->frames[0].function);
}

void mem_fault_sample(struct lt_target *ctx, const struct lt_fault_sample *e)
{
	struct mem *m = ctx->mem;
	uint64_t id;

	if (!e->copy_bytes)
		return;
	id = stacks_event_id(m->stacks, m->copy_need_fd, e->stack_id, e + 1,
			     e->copy_bytes);
	faultsplit_add(&m->splits, e->stack_id, id,
		       !faultsplit_known(&m->splits, e->stack_id) &&
		       in_allocator(m, e->stack_id));
}

/* The caller an unwound allocator stack stands for: its frames after the
 * allocator's own (sysmalloc < _int_malloc < malloc < f and _int_malloc <
 * malloc < f are both f's), hashed; the id itself when nothing is left. */
static uint64_t heap_caller(void *arg, uint64_t id)
{
	const struct resolved_stack *r = stacks_resolve(arg, id);
	uint64_t h = LT_HASH_INIT;
	int i = 0;

	while (i < r->n && fn_is_allocator(r->frames[i].function))
		i++;
	if (i == r->n)
		return id;
	for (; i < r->n; i++)
		h = lt_hash_u64(h, r->frames[i].addr);
	return h;
}

/* Adds a share of one fault stack's counters to the site of stack id. */
static void add_fault_share(struct mem *m, uint64_t id, double share,
			    const struct lt_fault_stat *fs, uint64_t rel,
			    uint64_t lazy)
{
	struct site *s = stacks_site(m->stacks, m->model, SITE_FAULT, id);
	double held = (double)fs->pages - (double)rel;

	if (!s)
		return;
	s->bytes += (uint64_t)((held > 0 ? held : 0) * share + 0.5) * PAGE_SIZE_;
	s->freed += (uint64_t)(rel * share + 0.5) * PAGE_SIZE_;
	s->lazyfree += (uint64_t)(lazy * share + 0.5) * PAGE_SIZE_;
	s->created += (uint64_t)(fs->pages * share + 0.5);
}

void mem_collect(struct lt_target *ctx)
{
	struct mem *m = ctx->mem;
	struct model *model = m->model;
	const struct fault_entry *fe;
	struct lt_fault_stat fs;
	uint64_t key, total = 0, rel_bpf = 0, lazy_bpf = 0, heap_top;
	size_t nfe;

	for (size_t i = 0; i < model->n; i++) {
		struct site *s = model->sites[i];

		if (s->kind == SITE_FAULT)
			s->bytes = s->freed = s->lazyfree = s->created = 0;
		else if (s->kind == SITE_MMAP || s->kind == SITE_BRK)
			s->bytes = ranges_bytes(m->ranges, s->id);
	}
	heap_top = faultsplit_heap_top(&m->splits, heap_caller, m->stacks);
	/* this process's entries of the run's snapshot (mem_obj_snapshot) */
	fe = mem_obj_faults(m->obj, m->pages.tgid, &nfe);
	for (size_t e = 0; e < nfe; e++) {
		key = fe[e].k.sid;
		fs = fe[e].v;
		{
			const struct fault_split *sp = faultsplit_get(&m->splits, key);
			uint64_t rel = 0, lazy = 0;

			/* Released by user space's own edits (old kernels)
			 * plus in BPF. */
			u64map_get(&m->pages.released, key, &rel);
			u64map_get(&m->pages.lazy, key, &lazy);
			rel += fs.released;
			lazy += fs.lazy;
			total += fs.pages;
			rel_bpf += fs.released;
			lazy_bpf += fs.lazy;
			/* Sampled unwinds split the pages between the stacks
			 * this frame-pointer stack stood for. */
			if (!sp || !sp->total)
				add_fault_share(m, key, 1.0, &fs, rel, lazy);
			else if (heap_top && sp->heap)
				add_fault_share(m, heap_top, 1.0, &fs, rel, lazy);
			else
				for (size_t i = 0; i < sp->n; i++)
					add_fault_share(m, sp->t[i].id,
							(double)sp->t[i].samples /
								sp->total,
							&fs, rel, lazy);
		}
	}
	m->faulted_pages = total;
	if (m->pages.failed > m->failed_said) {
		lt_warn("%llu page releases or moves were refused by the kernel: resident pages may be overstated\n",
			(unsigned long long)m->pages.failed);
		m->failed_said = m->pages.failed;
	}
	/* Released by user-space edits plus in BPF (recounted at every
	 * collect). */
	m->st.released_pages = m->pages.released_pages + rel_bpf;
	m->st.lazyfree_pages = m->pages.lazy_pages + lazy_bpf;
	m->st.mapped_total = ranges_total(m->ranges);
}

void mem_check_vm(struct lt_target *ctx, uint64_t vm_size)
{
	struct mem *m = ctx->mem;
	struct vm_miss x;
	char why[200];
	bool switching;

	if (!m || vmcheck_check(m->vm, ctx->target.proc_pid, vm_size, &x) != 1)
		return;
	m->st.unseen_mapped += x.mapped_bytes;
	m->st.unseen_unmapped += x.unmapped_bytes;
	m->st.vm_misses++;
	switching = m->obj && m->obj->via_uprobes;
	snprintf(why, sizeof(why), "0x%llx-0x%llx %s with no call seen at the syscall sites",
		 (unsigned long long)x.start, (unsigned long long)x.end,
		 x.mapped ? "mapped" : "unmapped");
	if (!m->vm_said || switching)
		lt_warn("process %d: %s%s%s (%llu KiB mapped, %llu KiB unmapped unseen)%s\n",
			ctx->target.pid, why, x.path[0] ? " from " : "", x.path,
			(unsigned long long)(x.mapped_bytes >> 10),
			(unsigned long long)(x.unmapped_bytes >> 10),
			switching ? ": memory calls are seen by the syscall tracepoints from now on"
				  : " (shmat, io_uring or a lost record?): mapped sizes may be off");
	else
		lt_info("process %d: %s\n", ctx->target.pid, why);
	m->vm_said = true;
	if (switching)
		mem_obj_to_tracepoints(m->obj, lt_target_elapsed(ctx), why);
}

void mem_seed_vm(struct lt_target *ctx)
{
	if (ctx->mem)
		vmcheck_seed(ctx->mem->vm, ctx->target.proc_pid);
}
