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

/* Syscall arguments kept from entry to exit, per thread. */
struct lt_sys_args {
	__u32 type;
	__u32 pad;
	__u64 stack_id;
	__u64 a[5];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct lt_sys_args);
} sys_args SEC(".maps");

/* Page -> stack id of the fault that first touched it. Released pages are
 * deleted by user space when it sees munmap/madvise, so a touch after that
 * counts again. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 21);	/* resized by user space */
	__type(key, __u64);
	__type(value, __u64);
} pages SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);	/* resized by user space */
	__type(key, __u64);
	__type(value, struct lt_fault_stat);
} fault_stats SEC(".maps");

static __always_inline int sys_enter(struct trace_event_raw_sys_enter *ctx,
				     enum lt_event_type type, int nargs,
				     bool want_stack)
{
	struct lt_sys_args a = { .type = type };
	__u32 tid;

	if (!lt_is_target())
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
	if (nargs > 4)
		a.a[4] = ctx->args[4];
	if (want_stack)
		a.stack_id = lt_capture_user_stack(ctx);
	if (bpf_map_update_elem(&sys_args, &tid, &a, BPF_ANY))
		lt_drop(LT_DROP_ARGS_MAP);
	return 0;
}

static __always_inline int sys_exit(enum lt_event_type type, long ret)
{
	struct lt_mem_event e = {};
	struct lt_sys_args *a;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;

	if ((id >> 32) != targ_tgid)
		return 0;
	a = bpf_map_lookup_elem(&sys_args, &tid);
	if (!a || a->type != type) {
		lt_drop(LT_DROP_ARGS_MISS);
		return 0;
	}
	/* Failed calls change nothing; brk "fails" by returning the old break. */
	if (type != LT_EV_BRK && (ret < 0 && ret > -4096))
		goto out;
	e.type = type;
	e.tid = tid;
	e.ts_ns = bpf_ktime_get_ns();
	e.stack_id = a->stack_id;
	e.fd = -1;
	switch (type) {
	case LT_EV_MMAP:	/* addr, len, prot, flags, fd */
		e.addr = ret;
		e.len = a->a[1];
		e.prot = a->a[2];
		e.flags = a->a[3];
		e.fd = (int)a->a[4];
		break;
	case LT_EV_MUNMAP:	/* addr, len */
		e.addr = a->a[0];
		e.len = a->a[1];
		break;
	case LT_EV_MREMAP:	/* old, old_len, new_len, flags, new_addr */
		e.addr = a->a[0];
		e.len = a->a[1];
		e.new_len = a->a[2];
		e.flags = a->a[3];
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
		break;
	default:
		break;
	}
	/* The user registers and stack are those of the syscall's entry:
	 * the thread has not returned to user space yet. */
	lt_output(&e, sizeof(e), __builtin_offsetof(struct lt_mem_event, copy_bytes),
		  e.stack_id);
out:
	bpf_map_delete_elem(&sys_args, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mmap")
int lt_mmap_enter(struct trace_event_raw_sys_enter *ctx)
{
	return sys_enter(ctx, LT_EV_MMAP, 6, true);
}

SEC("tracepoint/syscalls/sys_exit_mmap")
int lt_mmap_exit(struct trace_event_raw_sys_exit *ctx)
{
	return sys_exit(LT_EV_MMAP, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_munmap")
int lt_munmap_enter(struct trace_event_raw_sys_enter *ctx)
{
	return sys_enter(ctx, LT_EV_MUNMAP, 2, false);
}

SEC("tracepoint/syscalls/sys_exit_munmap")
int lt_munmap_exit(struct trace_event_raw_sys_exit *ctx)
{
	return sys_exit(LT_EV_MUNMAP, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_mremap")
int lt_mremap_enter(struct trace_event_raw_sys_enter *ctx)
{
	return sys_enter(ctx, LT_EV_MREMAP, 5, true);
}

SEC("tracepoint/syscalls/sys_exit_mremap")
int lt_mremap_exit(struct trace_event_raw_sys_exit *ctx)
{
	return sys_exit(LT_EV_MREMAP, ctx->ret);
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
	return sys_exit(LT_EV_BRK, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_madvise")
int lt_madvise_enter(struct trace_event_raw_sys_enter *ctx)
{
	return sys_enter(ctx, LT_EV_MADVISE, 3, false);
}

SEC("tracepoint/syscalls/sys_exit_madvise")
int lt_madvise_exit(struct trace_event_raw_sys_exit *ctx)
{
	return sys_exit(LT_EV_MADVISE, ctx->ret);
}

SEC("tracepoint/exceptions/page_fault_user")
int lt_page_fault(struct lt_page_fault_args *ctx)
{
	struct lt_fault_stat one = { .pages = 1 }, *st;
	__u64 page, stack_id;
	long err;

	if (!lt_is_target())
		return 0;
	page = ctx->address >> LT_PAGE_SHIFT;
	if (bpf_map_lookup_elem(&pages, &page))
		return 0;	/* touched before: not a new resident page */
	stack_id = lt_capture_user_stack(ctx);
	err = bpf_map_update_elem(&pages, &page, &stack_id, BPF_NOEXIST);
	if (err) {
		/* EEXIST: another CPU counted this page first; not a loss. */
		if (err != -17)
			lt_drop(LT_DROP_PAGES_MAP);
		return 0;
	}
	st = bpf_map_lookup_elem(&fault_stats, &stack_id);
	if (st) {
		__sync_fetch_and_add(&st->pages, 1);
		return 0;
	}
	if (bpf_map_update_elem(&fault_stats, &stack_id, &one, BPF_NOEXIST)) {
		st = bpf_map_lookup_elem(&fault_stats, &stack_id);
		if (st)
			__sync_fetch_and_add(&st->pages, 1);
		else
			lt_drop(LT_DROP_FAULT_MAP);
	}
	return 0;
}
