/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* User stack copies for low-rate events (layout in leaktrace.h): user
 * space unwinds them with the binaries' CFI when the frame-pointer stack
 * stops early (code built without frame pointers). User space tells, per
 * frame-pointer stack id, how much to copy in "copy_need": 0 when the
 * frame pointers were enough (never copied again), else the bytes its
 * unwinds read plus slack. Stacks it has not seen get ucopy_bytes.
 * Include after common.bpf.h, only from objects that send copies.
 */
#ifndef LT_UCOPY_BPF_H
#define LT_UCOPY_BPF_H

#include "common.bpf.h"

/* Bytes of user stack to copy, 0 = off (--stack-copy-kb). */
const volatile __u32 ucopy_bytes = LT_UCOPY_DEF_KB << 10;

__u64 ucopy_stats[LT_UC_MAX] = {};

/* Frame-pointer stack id -> bytes of stack to copy (0: none). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, LT_COPY_NEED_MAX);
	__type(key, __u64);
	__type(value, __u32);
} copy_need SEC(".maps");

/* The record is built here (struct lt_ucopy_buf in leaktrace.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lt_ucopy_buf);
} ucopy_buf SEC(".maps");

static __always_inline void lt_uc_count(enum lt_ucopy_stat what)
{
	if (what < LT_UC_MAX)
		__sync_fetch_and_add(&ucopy_stats[what], 1);
}

/* Copies up to lim bytes of the user stack from sp into b->data, page
 * piece by page piece, stopping at the first piece that cannot be read
 * (unmapped or not resident). Returns the bytes copied. */
static __always_inline __u32 lt_copy_stack(struct lt_ucopy_buf *b, __u64 sp,
					   __u64 lim)
{
	__u64 len = 0, want;

	if (lim > LT_UCOPY_MAX)
		lim = LT_UCOPY_MAX;
#pragma unroll
	for (int i = 0; i < LT_UCOPY_MAX_KB / 4 + 1; i++) {
		want = i == 0 ? 4096 - (sp & 4095) : 4096;
		if (want > lim - len)
			want = lim - len;
		if (!want || want > 4096 || len > LT_UCOPY_MAX - 4096)
			break;
		if (bpf_probe_read_user(&b->data[len], want, (void *)(sp + len)))
			break;
		len += want;
	}
	return len;
}

/* A uretprobe (leaktrace's own on the allocator, or another tool's)
 * replaces the return address of the probed function with its trampoline
 * until the function returns: an unwind of a copy taken inside it (brk in
 * malloc) would stop there. The kernel keeps each original with the stack
 * slot it was in (current->utask->return_instances, innermost first): put
 * them back in the copy. The two innermost only: ours, and one nested
 * (glibc's realloc calling malloc, another tool's): each level is unrolled
 * into every copying program, and eight cost ~450 ms of verification at
 * attach (two: ~65 ms). */
#define LT_URET_FIX_MAX 2

static __always_inline void lt_fix_uretprobes(struct lt_ucopy_buf *b, __u64 sp,
					      __u32 len)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct return_instance *ri;
	struct uprobe_task *ut;

	if (!bpf_core_field_exists(task->utask))
		return;
	ut = BPF_CORE_READ(task, utask);
	if (!ut)
		return;
	ri = BPF_CORE_READ(ut, return_instances);
	for (int i = 0; i < LT_URET_FIX_MAX && ri; i++) {
		__u64 slot = BPF_CORE_READ(ri, stack);
		__u64 ret = BPF_CORE_READ(ri, orig_ret_vaddr);
		__u64 off = slot - sp;

		if (slot >= sp && off + 8 <= len && off <= LT_UCOPY_MAX - 8)
			__builtin_memcpy(&b->data[off], &ret, 8);
		ri = BPF_CORE_READ(ri, next);
	}
}

/* The kernel runs a probed instruction out of line, in the [uprobes] page
 * (xol_vaddr): an event it causes there (a first touch by malloc's first
 * instructions, while our own probe on it is hit) has an IP in no file.
 * The instruction's own address is utask->vaddr: unwinding goes on from
 * there with its function's CFI. 128 bytes: x86's XOL slot. */
static __always_inline __u64 lt_fix_xol_ip(__u64 ip)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct uprobe_task *ut;
	__u64 xol;

	if (!bpf_core_field_exists(task->utask))
		return ip;
	ut = BPF_CORE_READ(task, utask);
	if (!ut)
		return ip;
	xol = BPF_CORE_READ(ut, xol_vaddr);
	if (!xol || ip < xol || ip >= xol + 128)
		return ip;
	return BPF_CORE_READ(ut, vaddr);
}

/* Whether ip is still in the [uprobes] page (the return trampoline of a
 * uretprobe, which pushes registers on the user stack): no file, no CFI,
 * nothing a copy could be unwound from. */
static __always_inline bool lt_in_uprobes_page(__u64 ip)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct xol_area *area;
	__u64 base;

	if (!bpf_core_field_exists(task->mm->uprobes_state))
		return false;
	area = BPF_CORE_READ(task, mm, uprobes_state.xol_area);
	if (!area)
		return false;
	base = BPF_CORE_READ(area, vaddr);
	return ip >= base && ip < base + 4096;
}

/* Sends the event record ev (ev_size bytes, a constant; copy_bytes at
 * copy_off inside it) to the ring buffer, followed by a copy of the user
 * stack when the event's frame-pointer stack is not known complete. */
static __always_inline void lt_output(const void *ev, __u32 ev_size,
				      __u32 copy_off, __u64 stack_id)
{
	struct lt_ucopy_buf *b;
	struct pt_regs *regs;
	__u32 zero = 0, len, lim = ucopy_bytes, *need;
	__u8 *rec;

	if (!ucopy_bytes || !stack_id || ev_size > LT_EV_ROOM ||
	    copy_off + sizeof(__u32) > ev_size)
		goto plain;
	need = bpf_map_lookup_elem(&copy_need, &stack_id);
	if (need) {
		if (!*need) {
			lt_uc_count(LT_UC_SKIPPED);
			goto plain;
		}
		if (*need < lim)
			lim = *need;
	}
	/* Copies take at most half of the ring: under a burst events keep
	 * flowing with frame-pointer stacks only. */
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + LT_UCOPY_MAX >
	    bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 2) {
		lt_uc_count(LT_UC_RINGBUF);
		goto plain;
	}
	b = bpf_map_lookup_elem(&ucopy_buf, &zero);
	regs = lt_user_regs();
	if (!b || !regs)
		goto plain;
	b->hdr.ip = lt_fix_xol_ip(PT_REGS_IP_CORE(regs));
	if (lt_in_uprobes_page(b->hdr.ip))
		goto plain;
	b->hdr.sp = PT_REGS_SP_CORE(regs);
	b->hdr.fp = PT_REGS_FP_CORE(regs);
#if defined(__TARGET_ARCH_arm64)
	b->hdr.lr = BPF_CORE_READ(regs, regs[30]);
#else
	b->hdr.lr = 0;
#endif
	b->hdr.pad = 0;
	len = lt_copy_stack(b, b->hdr.sp, lim);
	if (!len) {
		lt_uc_count(LT_UC_READ_FAILED);
		goto plain;
	}
	if (len > LT_UCOPY_MAX)
		len = LT_UCOPY_MAX;
	lt_fix_uretprobes(b, b->hdr.sp, len);
	b->hdr.len = len;
	rec = b->ev + LT_EV_ROOM - ev_size;
	__builtin_memcpy(rec, ev, ev_size);
	*(__u32 *)(rec + copy_off) = sizeof(struct lt_ucopy) + len;
	if (!bpf_ringbuf_output(&events, rec,
				ev_size + sizeof(struct lt_ucopy) + len,
				lt_rb_flags())) {
		lt_uc_count(LT_UC_COPIED);
		return;
	}
	lt_uc_count(LT_UC_RINGBUF);
plain:
	if (bpf_ringbuf_output(&events, (void *)ev, ev_size, lt_rb_flags()))
		lt_drop(LT_DROP_RINGBUF);
}

#endif /* LT_UCOPY_BPF_H */
