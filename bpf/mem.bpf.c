// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Memory tracing: mmap, munmap, mremap, brk and madvise (records to the ring
 * buffer at syscall exit, with the caller's stack), and first touches of
 * pages (aggregated per stack in the kernel, never one record per fault).
 */
#include "common.bpf.h"
#include "ucopy.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* exceptions:page_fault_user; the record type is not in BTF, the layout is
 * the tracepoint's stable format. */
struct lt_page_fault_args {
	__u64 common;
	unsigned long address;
	unsigned long ip;
	unsigned long error_code;
};

/* Memory calls are seen either by the syscall tracepoints or by uprobes
 * on the instruction right after each memory syscall of the C library
 * (user space chooses, per run: the tracepoints make every system call of
 * every process on the host take the kernel's slow path while attached).
 * Set by user space, switched to 0 when it falls back to the tracepoints. */
__u32 mem_via_uprobes = 0;
/* Hits of the syscall-site probes (user space keeps them in a budget). */
__u64 site_hits = 0;

/* Syscall arguments kept from entry to exit, per thread. */
struct lt_sys_args {
	__u32 type;
	__u32 pad;
	__u64 stack_id;
	__u64 a[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct lt_sys_args);
} sys_args SEC(".maps");

/* LT_CHUNK_KEY(tgid, page >> LT_CHUNK_SHIFT) -> stack id of the first touch of each of
 * its pages. Released pages are cleared (small ranges here at munmap or
 * madvise, others by user space), so a touch after that counts again. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 15);	/* resized by user space */
	__type(key, __u64);
	__type(value, struct lt_chunk);
} pages SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lt_chunk);
} chunk_scratch SEC(".maps");

/* One first touch in fault_sample (0: none) whose stack may be incomplete
 * is sent with a stack copy (--fault-sample). */
const volatile __u32 fault_sample = LT_FAULT_SAMPLE_DEF;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} fault_tick SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);	/* resized by user space */
	__type(key, struct lt_fault_key);
	__type(value, struct lt_fault_stat);
} fault_stats SEC(".maps");

static __always_inline int sys_enter(struct trace_event_raw_sys_enter *ctx,
				     enum lt_event_type type, int nargs,
				     bool want_stack)
{
	struct lt_sys_args a = { .type = type };
	__u32 tid;

	if (mem_via_uprobes || !lt_is_target())
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	/* Direct ctx loads at constant offsets, only the syscall's own
	 * arguments: the record of a 2-argument syscall ends after args[1],
	 * and reading past it makes the attach fail (nargs is a constant at
	 * every call site, so the other loads compile away). */
	a.a[0] = ctx->args[0];
	if (nargs > 1)
		a.a[1] = ctx->args[1];
	if (nargs > 2)
		a.a[2] = ctx->args[2];
	if (nargs > 3)
		a.a[3] = ctx->args[3];
	if (want_stack)
		a.stack_id = lt_capture_user_stack();
	if (bpf_map_update_elem(&sys_args, &tid, &a, BPF_ANY))
		lt_drop(LT_DROP_ARGS_MAP);
	return 0;
}

struct release_ctx {
	__u64 first, last;	/* pages [first, last) */
	__u64 key0;		/* first chunk's key */
	bool lazy;
};

/* bpf_loop callback: releases the range's pages in chunk key0 + i. */
static long release_chunk(__u32 i, void *data)
{
	struct release_ctx *r = data;
	__u64 key = r->key0 + i, lo = LT_CHUNK_OF_KEY(key) << LT_CHUNK_SHIFT;
	struct lt_fault_key fk = { .tgid = LT_TGID_OF_KEY(key) };
	struct lt_fault_stat *st;
	struct lt_chunk *c;
	bool left = false;

	if (lo >= r->last)
		return 1;
	c = bpf_map_lookup_elem(&pages, &key);
	if (!c)
		return 0;
	for (int j = 0; j < LT_CHUNK_PAGES; j++) {
		fk.sid = c->sid[j];
		if (!fk.sid)
			continue;
		if (lo + j < r->first || lo + j >= r->last) {
			left = true;
			continue;
		}
		c->sid[j] = 0;
		st = bpf_map_lookup_elem(&fault_stats, &fk);
		if (!st)
			continue;
		__sync_fetch_and_add(&st->released, 1);
		if (r->lazy)
			__sync_fetch_and_add(&st->lazy, 1);
	}
	if (!left)
		bpf_map_delete_elem(&pages, &key);
	return 0;
}

/* Forgets the touched pages of [addr, addr + len) and counts them released
 * on the stacks that first touched them, for ranges of up to
 * LT_RELEASE_BPF_PAGES; returns false when the range is left to user
 * space. Needs bpf_loop (5.17): older kernels load the programs without
 * it and user space releases everything. */
static __always_inline bool release_range(__u32 tgid, __u64 addr, __u64 len,
					  bool lazy)
{
	struct release_ctx r = { .lazy = lazy };

	r.first = addr >> LT_PAGE_SHIFT;
	r.last = (addr + len + (1ULL << LT_PAGE_SHIFT) - 1) >> LT_PAGE_SHIFT;
	if (r.last <= r.first)
		return true;
	if (r.last - r.first > LT_RELEASE_BPF_PAGES)
		return false;
	r.key0 = LT_CHUNK_KEY(tgid, r.first >> LT_CHUNK_SHIFT);
	bpf_loop(((r.last - 1) >> LT_CHUNK_SHIFT) - (r.first >> LT_CHUNK_SHIFT) + 1,
		 release_chunk, &r, 0);
	return true;
}

/* The releases and moves user space learns of and BPF did not do at the
 * syscall's exit (struct lt_pages_req in leaktrace.h): run by user space,
 * in its own process, never in the target's path. They keep BPF the only
 * writer of "pages". */
SEC("syscall")
int lt_pages_release(struct lt_pages_req *req)
{
	struct release_ctx r = { .lazy = req->lazy };

	r.first = req->first;
	r.last = req->last;
	if (r.last <= r.first)
		return 0;
	r.key0 = LT_CHUNK_KEY(req->tgid, r.first >> LT_CHUNK_SHIFT);
	return bpf_loop(((r.last - 1) >> LT_CHUNK_SHIFT) -
			(r.first >> LT_CHUNK_SHIFT) + 1, release_chunk, &r, 0) < 0;
}

/* Zeroed chunk to insert from, for the syscall programs only (the fault
 * program's chunk_scratch may be in use on this CPU when we are
 * preempted). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lt_chunk);
} move_scratch SEC(".maps");

struct move_ctx {
	__u64 first, last;	/* source pages [first, last) */
	__u64 dest;		/* destination of page first */
	__u64 key0;		/* first source chunk's key */
	__u32 tgid;
};

/* Records sid as the first touch of page (its chunk made if needed). A
 * global function, verified once: inlined in move_chunk's loop the paths
 * multiply past the verifier's limit. */
__noinline int set_touch(__u32 tgid, __u64 page, __u64 sid)
{
	__u64 key = LT_CHUNK_KEY(tgid, page >> LT_CHUNK_SHIFT);
	__u32 idx = page & (LT_CHUNK_PAGES - 1), zero = 0;
	struct lt_chunk *c = bpf_map_lookup_elem(&pages, &key), *z;
	long err;

	if (c) {
		c->sid[idx] = sid;
		return 0;
	}
	z = bpf_map_lookup_elem(&move_scratch, &zero);
	if (!z)
		return 0;
	z->sid[idx] = sid;
	err = bpf_map_update_elem(&pages, &key, z, BPF_NOEXIST);
	z->sid[idx] = 0;
	if (err == -17) {	/* EEXIST: a fault made it meanwhile */
		c = bpf_map_lookup_elem(&pages, &key);
		if (c)
			c->sid[idx] = sid;
	} else if (err) {
		lt_drop(LT_DROP_PAGES_MAP);
	}
	return 0;
}

/* bpf_loop callback: moves the touched pages of source chunk key0 + i. */
static long move_chunk(__u32 i, void *data)
{
	struct move_ctx *r = data;
	__u64 key = r->key0 + i, lo = LT_CHUNK_OF_KEY(key) << LT_CHUNK_SHIFT;
	__u64 sid, page;
	struct lt_chunk *c;

	if (lo >= r->last)
		return 1;
	c = bpf_map_lookup_elem(&pages, &key);
	if (!c)
		return 0;
	for (int j = 0; j < LT_CHUNK_PAGES; j++) {
		sid = c->sid[j];
		page = lo + j;
		if (!sid || page < r->first || page >= r->last)
			continue;
		c->sid[j] = 0;
		set_touch(r->tgid, page - r->first + r->dest, sid);
	}
	/* Deleted once empty (pages may have moved into it: look again). */
	for (int j = 0; j < LT_CHUNK_PAGES; j++)
		if (c->sid[j])
			return 0;
	bpf_map_delete_elem(&pages, &key);
	return 0;
}

SEC("syscall")
int lt_pages_move(struct lt_pages_req *req)
{
	struct move_ctx r = {};

	r.first = req->first;
	r.last = req->last;
	r.dest = req->dest;
	r.tgid = req->tgid;
	if (r.last <= r.first)
		return 0;
	r.key0 = LT_CHUNK_KEY(req->tgid, r.first >> LT_CHUNK_SHIFT);
	return bpf_loop(((r.last - 1) >> LT_CHUNK_SHIFT) -
			(r.first >> LT_CHUNK_SHIFT) + 1, move_chunk, &r, 0) < 0;
}

/* Processes user space has released (host tgid -> 1): lt_sweep deletes
 * their chunks and fault counters, in one pass over each map. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} gone SEC(".maps");

static long sweep_chunk(struct bpf_map *map, __u64 *key, struct lt_chunk *c,
			void *data)
{
	__u32 tgid = LT_TGID_OF_KEY(*key);

	if (bpf_map_lookup_elem(&gone, &tgid))
		bpf_map_delete_elem(map, key);
	return 0;
}

static long sweep_fault(struct bpf_map *map, struct lt_fault_key *key,
			struct lt_fault_stat *st, void *data)
{
	__u32 tgid = key->tgid;

	if (bpf_map_lookup_elem(&gone, &tgid))
		bpf_map_delete_elem(map, key);
	return 0;
}

/* Run by user space (BPF_PROG_RUN) once per interval in which processes
 * were released: the kernel walks the maps, not one syscall per entry. */
SEC("syscall")
int lt_sweep(void *ctx)
{
	bpf_for_each_map_elem(&pages, sweep_chunk, NULL, 0);
	bpf_for_each_map_elem(&fault_stats, sweep_fault, NULL, 0);
	return 0;
}

/* The record of one memory call: a (its arguments), ret its result. */
static __always_inline void mem_record(__u64 id, const struct lt_sys_args *a,
				       enum lt_event_type type, long ret,
				       bool release)
{
	struct lt_mem_event e = {};

	/* Failed calls change nothing; brk "fails" by returning the old break. */
	if (type != LT_EV_BRK && (ret < 0 && ret > -4096))
		return;
	e.type = type;
	e.tgid = id >> 32;
	e.stack_id = a->stack_id;
	switch (type) {
	case LT_EV_MMAP:	/* addr, len, prot, flags */
		e.addr = ret;
		e.len = a->a[1];
		e.prot = a->a[2];
		e.flags = a->a[3];
		/* MAP_FIXED replaces what was there: its pages are forgotten
		 * now, before the new mapping's first touches (user space
		 * reads the record later, after the target may have touched
		 * them: a Go heap growing by 4 MiB lost half its pages so). */
		if (release && (e.flags & LT_MAP_FIXED))
			e.bpf_released = release_range(id >> 32, e.addr, e.len,
						       false);
		break;
	case LT_EV_MUNMAP:	/* addr, len */
		e.addr = a->a[0];
		e.len = a->a[1];
		if (release)
			e.bpf_released = release_range(id >> 32, e.addr, e.len,
						       false);
		break;
	case LT_EV_MREMAP:	/* old, old_len, new_len */
		e.addr = a->a[0];
		e.len = a->a[1];
		e.new_len = a->a[2];
		e.new_addr = ret;
		break;
	case LT_EV_BRK:		/* requested break */
		e.addr = ret;
		e.len = a->a[0];
		break;
	case LT_EV_MADVISE:	/* addr, len, advice */
		e.addr = a->a[0];
		e.len = a->a[1];
		e.flags = a->a[2];
		if (release && lt_madv_releases(e.flags))
			e.bpf_released = release_range(id >> 32, e.addr, e.len,
						       e.flags == LT_MADV_FREE);
		break;
	default:
		break;
	}
	/* The user registers and stack are those of the syscall's entry:
	 * the thread has not returned to user space yet (or, in a uprobe
	 * right after the syscall instruction, has run nothing since). */
	lt_output(&e, sizeof(e), __builtin_offsetof(struct lt_mem_event, copy_bytes),
		  e.stack_id);
}

static __always_inline int sys_exit(enum lt_event_type type, long ret,
				    bool release)
{
	struct lt_sys_args *a;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;

	if (mem_via_uprobes || !lt_is_tgid(id >> 32))
		return 0;
	a = bpf_map_lookup_elem(&sys_args, &tid);
	if (!a || a->type != type) {
		lt_drop(LT_DROP_ARGS_MISS);
		return 0;
	}
	mem_record(id, a, type, ret, release);
	bpf_map_delete_elem(&sys_args, &tid);
	return 0;
}

/* A uprobe on the instruction right after a `syscall` of the C library
 * (x86-64: the instruction clobbers only rax, rcx and r11): the arguments
 * are still in rdi, rsi, rdx, r10, the result in rax. One hit a call, no
 * entry map, no return probe. Other architectures lose an argument
 * register to the result: user space uses the tracepoints there. */
static __always_inline int after_syscall(struct pt_regs *ctx,
					 enum lt_event_type type,
					 bool want_stack, bool release)
{
#if defined(__TARGET_ARCH_x86)
	struct lt_sys_args a = { .type = type };
	__u64 id = bpf_get_current_pid_tgid();

	if (!mem_via_uprobes || !lt_is_tgid(id >> 32))
		return 0;
	__sync_fetch_and_add(&site_hits, 1);
	a.a[0] = ctx->di;
	a.a[1] = ctx->si;
	a.a[2] = ctx->dx;
	a.a[3] = ctx->r10;
	if (want_stack)
		a.stack_id = lt_capture_stack(ctx->ip, ctx->sp, ctx->bp);
	mem_record(id, &a, type, (long)ctx->ax, release);
#endif
	return 0;
}

SEC("uprobe")
int lt_mmap_after(struct pt_regs *ctx)
{
	return after_syscall(ctx, LT_EV_MMAP, true, false);
}

SEC("uprobe")
int lt_mmap_after_rel(struct pt_regs *ctx)
{
	return after_syscall(ctx, LT_EV_MMAP, true, true);
}

SEC("uprobe")
int lt_munmap_after(struct pt_regs *ctx)
{
	return after_syscall(ctx, LT_EV_MUNMAP, false, false);
}

SEC("uprobe")
int lt_munmap_after_rel(struct pt_regs *ctx)
{
	return after_syscall(ctx, LT_EV_MUNMAP, false, true);
}

SEC("uprobe")
int lt_mremap_after(struct pt_regs *ctx)
{
	return after_syscall(ctx, LT_EV_MREMAP, true, false);
}

SEC("uprobe")
int lt_brk_after(struct pt_regs *ctx)
{
#if defined(__TARGET_ARCH_x86)
	/* brk(0) only asks for the break: no stack needed. */
	if (ctx->di == 0)
		return after_syscall(ctx, LT_EV_BRK, false, false);
#endif
	return after_syscall(ctx, LT_EV_BRK, true, false);
}

SEC("uprobe")
int lt_madvise_after(struct pt_regs *ctx)
{
	return after_syscall(ctx, LT_EV_MADVISE, false, false);
}

SEC("uprobe")
int lt_madvise_after_rel(struct pt_regs *ctx)
{
	return after_syscall(ctx, LT_EV_MADVISE, false, true);
}

SEC("tracepoint/syscalls/sys_enter_mmap")
int lt_mmap_enter(struct trace_event_raw_sys_enter *ctx)
{
	return sys_enter(ctx, LT_EV_MMAP, 4, true);
}

SEC("tracepoint/syscalls/sys_exit_mmap")
int lt_mmap_exit(struct trace_event_raw_sys_exit *ctx)
{
	return sys_exit(LT_EV_MMAP, ctx->ret, false);
}

/* The same, releasing what a MAP_FIXED mapping replaces in BPF (kernels
 * with bpf_loop). */
SEC("tracepoint/syscalls/sys_exit_mmap")
int lt_mmap_exit_rel(struct trace_event_raw_sys_exit *ctx)
{
	return sys_exit(LT_EV_MMAP, ctx->ret, true);
}

SEC("tracepoint/syscalls/sys_enter_munmap")
int lt_munmap_enter(struct trace_event_raw_sys_enter *ctx)
{
	return sys_enter(ctx, LT_EV_MUNMAP, 2, false);
}

SEC("tracepoint/syscalls/sys_exit_munmap")
int lt_munmap_exit(struct trace_event_raw_sys_exit *ctx)
{
	return sys_exit(LT_EV_MUNMAP, ctx->ret, false);
}

/* The same, releasing small ranges in BPF (kernels with bpf_loop). */
SEC("tracepoint/syscalls/sys_exit_munmap")
int lt_munmap_exit_rel(struct trace_event_raw_sys_exit *ctx)
{
	return sys_exit(LT_EV_MUNMAP, ctx->ret, true);
}

SEC("tracepoint/syscalls/sys_enter_mremap")
int lt_mremap_enter(struct trace_event_raw_sys_enter *ctx)
{
	return sys_enter(ctx, LT_EV_MREMAP, 3, true);
}

SEC("tracepoint/syscalls/sys_exit_mremap")
int lt_mremap_exit(struct trace_event_raw_sys_exit *ctx)
{
	return sys_exit(LT_EV_MREMAP, ctx->ret, false);
}

SEC("tracepoint/syscalls/sys_enter_brk")
int lt_brk_enter(struct trace_event_raw_sys_enter *ctx)
{
	/* brk(0) only asks for the break: no stack needed. */
	return sys_enter(ctx, LT_EV_BRK, 1, ctx->args[0] != 0);
}

SEC("tracepoint/syscalls/sys_exit_brk")
int lt_brk_exit(struct trace_event_raw_sys_exit *ctx)
{
	return sys_exit(LT_EV_BRK, ctx->ret, false);
}

SEC("tracepoint/syscalls/sys_enter_madvise")
int lt_madvise_enter(struct trace_event_raw_sys_enter *ctx)
{
	return sys_enter(ctx, LT_EV_MADVISE, 3, false);
}

SEC("tracepoint/syscalls/sys_exit_madvise")
int lt_madvise_exit(struct trace_event_raw_sys_exit *ctx)
{
	return sys_exit(LT_EV_MADVISE, ctx->ret, false);
}

SEC("tracepoint/syscalls/sys_exit_madvise")
int lt_madvise_exit_rel(struct trace_event_raw_sys_exit *ctx)
{
	return sys_exit(LT_EV_MADVISE, ctx->ret, true);
}

/* bpf_for_each_map_elem callback: forgets one chunk of an image the
 * target left by exec, its pages counted released on the stacks that
 * first touched them. */
static long forget_chunk(struct bpf_map *map, __u64 *key, struct lt_chunk *c,
			 __u32 *tgid)
{
	struct lt_fault_key fk = { .tgid = *tgid };
	struct lt_fault_stat *st;

	if (LT_TGID_OF_KEY(*key) != *tgid)
		return 0;	/* another traced process's page */
	for (int j = 0; j < LT_CHUNK_PAGES; j++) {
		fk.sid = c->sid[j];
		if (!fk.sid)
			continue;
		st = bpf_map_lookup_elem(&fault_stats, &fk);
		if (st)
			__sync_fetch_and_add(&st->released, 1);
	}
	bpf_map_delete_elem(&pages, key);
	return 0;
}

/* The target exec'd: its old address space went away without a munmap.
 * A record tells user space in order with the rest (it forgets the old
 * image's ranges); with release the old pages are forgotten here, before
 * the new image runs a single instruction, so none of its first touches
 * can be taken for the old image's. */
/* Exec records the ring buffer had no room for: user space forgets the
 * old image late. */
__u32 exec_lost = 0;

static __always_inline int on_exec(bool release)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct lt_mem_event *e;

	if (!lt_is_tgid(tgid))
		return 0;
	if (release)
		bpf_for_each_map_elem(&pages, forget_chunk, &tgid, 0);
	e = lt_reserve(sizeof(*e));
	if (!e) {
		__sync_fetch_and_add(&exec_lost, 1);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = LT_EV_EXEC;
	e->tgid = tgid;
	e->bpf_released = release;
	lt_submit(e);
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int lt_exec(void *ctx)
{
	return on_exec(false);
}

/* The same, forgetting the pages in BPF (kernels with bpf_loop). */
SEC("tracepoint/sched/sched_process_exec")
int lt_exec_rel(void *ctx)
{
	return on_exec(true);
}

/* Sends the first touch of a stack user space has not seen yet, then every
 * fault_sample-th first touch whose stack is not known complete, with a
 * copy of the stack for user space to unwind with CFI. Without the first
 * copy a quiet service (a few hundred first touches a minute) would get
 * no CFI-unwound stack at all. */
static __always_inline void fault_copy(__u64 sid, __u64 addr)
{
	struct lt_fault_sample e = {};
	__u32 zero = 0, *tick, *need, first = ucopy_bytes;
	struct pt_regs *regs;

	if (!fault_sample || !ucopy_bytes || sid == LT_SID_UNKNOWN)
		return;
	/* A first touch of the page the stack pointer is in (a thread's
	 * new stack): there is nothing to copy yet. */
	regs = lt_user_regs();
	if (!regs || (PT_REGS_SP_CORE(regs) >> LT_PAGE_SHIFT) ==
		     (addr >> LT_PAGE_SHIFT))
		return;
	need = bpf_map_lookup_elem(&copy_need, &sid);
	if (need && !*need)
		return;		/* frame pointers are enough */
	/* Never seen: mark it (user space later writes what it learned)
	 * and copy now. A full map falls back to sampling. */
	if (need || bpf_map_update_elem(&copy_need, &sid, &first, BPF_NOEXIST)) {
		tick = bpf_map_lookup_elem(&fault_tick, &zero);
		if (!tick || ++*tick < fault_sample)
			return;
		*tick = 0;
	}
	e.type = LT_EV_FAULT_SAMPLE;
	e.tgid = bpf_get_current_pid_tgid() >> 32;
	e.stack_id = sid;
	lt_output(&e, sizeof(e),
		  __builtin_offsetof(struct lt_fault_sample, copy_bytes), sid);
}

SEC("tracepoint/exceptions/page_fault_user")
int lt_page_fault(struct lt_page_fault_args *ctx)
{
	struct lt_fault_stat one = { .pages = 1 }, *st;
	struct lt_fault_key fk = {};
	struct lt_chunk *c, *z;
	__u64 page, key, sid;
	__u32 zero = 0, idx, tgid = bpf_get_current_pid_tgid() >> 32;
	long err;

	if (!lt_is_tgid(tgid))
		return 0;
	page = ctx->address >> LT_PAGE_SHIFT;
	key = LT_CHUNK_KEY(tgid, page >> LT_CHUNK_SHIFT);
	idx = page & (LT_CHUNK_PAGES - 1);
	c = bpf_map_lookup_elem(&pages, &key);
	if (c && c->sid[idx])
		return 0;	/* touched before: not a new resident page */
	sid = lt_capture_user_stack();
	if (!sid)
		sid = LT_SID_UNKNOWN;
	if (c) {
		c->sid[idx] = sid;
	} else {
		/* New chunk: insert a zeroed one with this page set. */
		z = bpf_map_lookup_elem(&chunk_scratch, &zero);
		if (!z)
			return 0;
		z->sid[idx] = sid;
		err = bpf_map_update_elem(&pages, &key, z, BPF_NOEXIST);
		z->sid[idx] = 0;
		if (err == -17) {	/* EEXIST: another CPU made it */
			c = bpf_map_lookup_elem(&pages, &key);
			if (!c || c->sid[idx])
				return 0;
			c->sid[idx] = sid;
		} else if (err) {
			lt_drop(LT_DROP_PAGES_MAP);
			return 0;
		}
	}
	fk.sid = sid;
	fk.tgid = tgid;
	st = bpf_map_lookup_elem(&fault_stats, &fk);
	if (st) {
		__sync_fetch_and_add(&st->pages, 1);
	} else if (bpf_map_update_elem(&fault_stats, &fk, &one, BPF_NOEXIST)) {
		st = bpf_map_lookup_elem(&fault_stats, &fk);
		if (st)
			__sync_fetch_and_add(&st->pages, 1);
		else
			lt_drop(LT_DROP_FAULT_MAP);
	}
	fault_copy(sid, ctx->address);
	return 0;
}
