// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Goroutine lifecycle from Go runtime uprobes (amd64 register ABI, Go 1.17+).
 * Never a uretprobe: Go moves stacks and walks return addresses, so returns
 * are probed with uprobes on the RET instructions that user space found.
 *   runqput call in newproc.func1 (after newproc1)   RBX = new g, or
 *   runtime.newproc1 RETs   RAX = new g: creation, with the creator's stack
 *   runtime.gopark entry    R14 = g, CL = wait reason: parked
 *   runtime.gopark RETs     R14 = g: woken
 *   goexit0's gdestroy call, or gdestroy/goexit0 entry  RAX = g: exited
 *     (only with --go-parks: live goroutines come from reads of allgs)
 *   a go statement's CALL runtime.newproc   R14 = creator: its stack
 * One object per executable serves every traced process running it
 * (user/trace/goexe.h): with targ_tgid 0 the "traced" map filters, records
 * carry the tgid, and the parked map's key holds it.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* g struct offsets for the target's Go version (set before load). */
const volatile __u32 off_goid = 152;
const volatile __u32 off_parent_goid = 0;	/* 0: no such field */
const volatile __u32 off_gopc = 280;
/* Go < 1.21 has no g.parentGoid: the creator is g0.m.curg (lt_go_new runs
 * on the system stack, R14 = g0). 0: not needed. */
const volatile __u32 off_g_m = 48;
const volatile __u32 off_m_curg = 0;
/* lt_go_new sits on the runqput call (new g in RBX), not on RETs (RAX). */
const volatile bool newg_in_rbx = false;
/* The parked map is used (--go-parks). */
const volatile bool track_parks = false;

/* Goroutines parked now (struct lt_parked in leaktrace.h), of every
 * traced process of this executable. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 20);	/* resized by user space */
	__type(key, struct lt_park_key);
	__type(value, struct lt_parked);
} parked SEC(".maps");

/* Probe hits by enum lt_go_hit, and the time lt_go_new itself ran, summed
 * over every process of the executable (one object serves them all): user
 * space keeps their cost in budget. */
__u64 go_hits[LT_GO_HIT_MAX] = {};
__u64 go_new_ns = 0;
/* Duty-cycled: the creation probe's window ends then (ktime ns; 0 none).
 * Past it, while user space is late to detach, the program does nothing. */
__u64 go_new_until_ns = 0;
/* A continuous window's cost bounded here, not only at user space's next
 * tick (as malloc_cap in malloc.bpf.c): once the creation hits reach
 * go_new_cap (0: none) the window ends here and now (go_new_until_ns),
 * and go_new_capped_ns says when. The hits up to the cap are all
 * counted, so the rate user space measures over the cut window is right;
 * past it a creation costs the mechanism and these few loads. */
__u64 go_new_cap = 0;
__u64 go_new_capped_ns = 0;
/* When the hits reached go_new_mark (0: no mark; user space sets it to
 * half a continuous window's first cap): the rate of a cut window is
 * that of its hits from the mark to the cap, not over the attach before
 * them, nor over its first hits (they wait for the breakpoint in every
 * thread, and for a NOP's rewrite into a call). */
__u64 go_new_mark = 0;
__u64 go_new_mark_ns = 0;
/* Creations that hit the probe past its window's end (while user space
 * detaches, or before it saw a cut): not recorded, but the mechanism ran:
 * what the detaches really cost is measured by them. */
__u64 go_new_late = 0;

static __always_inline struct lt_park_key park_key(__u64 g)
{
	struct lt_park_key k = {
		.tgid = bpf_get_current_pid_tgid() >> 32,
		.goid = 0,
	};

	bpf_probe_read_user(&k.goid, sizeof(k.goid), (void *)(g + off_goid));
	return k;
}

static __always_inline __u64 g_read(__u64 g, __u32 off)
{
	__u64 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (void *)(g + off));
	return v;
}

/* goid of the goroutine whose creation runs on g0 (R14) now. */
static __always_inline __u64 creator_from_g0(__u64 g0)
{
	__u64 m = g_read(g0, off_g_m), curg = m ? g_read(m, off_m_curg) : 0;

	return curg ? g_read(curg, off_goid) : 0;
}

SEC("uprobe")
int lt_go_new(struct pt_regs *ctx)
{
	struct lt_go_event *e;
	__u64 ax = ctx->ax, bx = ctx->bx, g, t0;

	/* Two fixed loads: a ctx offset chosen at run time is refused. */
	barrier_var(ax);
	barrier_var(bx);
	g = newg_in_rbx ? bx : ax;

	if (!lt_is_target() || !g)
		return 0;
	t0 = bpf_ktime_get_ns();
	if (go_new_until_ns && t0 > go_new_until_ns) {
		__sync_fetch_and_add(&go_new_late, 1);
		return 0;
	}
	if (lt_window_capped(go_hits[LT_GO_HIT_NEW], t0, &go_new_cap, &go_new_capped_ns,
			     &go_new_mark, &go_new_mark_ns, &go_new_until_ns)) {
		__sync_fetch_and_add(&go_new_late, 1);
		return 0;
	}
	__sync_fetch_and_add(&go_hits[LT_GO_HIT_NEW], 1);
	e = lt_reserve(sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->type = LT_EV_GO_NEW;
	e->tgid = bpf_get_current_pid_tgid() >> 32;
	e->ts_ns = t0;
	e->goid = g_read(g, off_goid);
	if (off_parent_goid)
		e->parent_goid = g_read(g, off_parent_goid);
	else if (off_m_curg)
		e->parent_goid = creator_from_g0(ctx->r14);
	e->gopc = g_read(g, off_gopc);
	/* At a RET the frame is popped: SP holds the return address. At the
	 * call site SP holds a local that differs per goroutine: leave it out,
	 * or every creation would be a stack of its own. */
	e->stack_id = lt_capture_stack(PT_REGS_IP(ctx),
				       newg_in_rbx ? 0 : PT_REGS_SP(ctx),
				       PT_REGS_FP(ctx));
	lt_submit(e);
	__sync_fetch_and_add(&go_new_ns, bpf_ktime_get_ns() - t0);
	return 0;
}

/* On one go statement's CALL of runtime.newproc, in the creating
 * function (R14 = the creating g): the full creator stack, for a go
 * statement whose goroutines the reads found alive but whose creation the
 * duty-cycled lt_go_new never saw. gopc carries the probe's address (the
 * CALL, or the NOP Go pads it with): user space knows its go statement. */
SEC("uprobe")
int lt_go_stmt(struct pt_regs *ctx)
{
	struct lt_go_event *e;

	if (!lt_is_target())
		return 0;
	__sync_fetch_and_add(&go_hits[LT_GO_HIT_STMT], 1);
	e = lt_reserve(sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->type = LT_EV_GO_STMT;
	e->tgid = bpf_get_current_pid_tgid() >> 32;
	e->ts_ns = bpf_ktime_get_ns();
	e->parent_goid = g_read(ctx->r14, off_goid);
	e->gopc = PT_REGS_IP(ctx);
	e->stack_id = lt_capture_stack(PT_REGS_IP(ctx), 0, PT_REGS_FP(ctx));
	lt_submit(e);
	return 0;
}

SEC("uprobe")
int lt_go_gopark(struct pt_regs *ctx)
{
	struct lt_parked p = {};
	struct lt_park_key k;

	if (!lt_is_target())
		return 0;
	k = park_key(ctx->r14);
	p.since_ns = bpf_ktime_get_ns();
	p.reason = ctx->cx & 0xff;
	bpf_probe_read_user(&p.caller_pc, sizeof(p.caller_pc),
			    (void *)PT_REGS_SP(ctx));
	if (bpf_map_update_elem(&parked, &k, &p, BPF_ANY))
		lt_drop(LT_DROP_GO_MAP);
	return 0;
}

SEC("uprobe")
int lt_go_gopark_ret(struct pt_regs *ctx)
{
	struct lt_park_key k;

	if (!lt_is_target())
		return 0;
	k = park_key(ctx->r14);
	bpf_map_delete_elem(&parked, &k);
	return 0;
}

SEC("uprobe")
int lt_go_exit(struct pt_regs *ctx)
{
	struct lt_go_event *e;
	__u64 g = ctx->ax, goid;	/* Go ABI: first argument in RAX */

	if (!lt_is_target() || !g)
		return 0;
	goid = g_read(g, off_goid);
	if (track_parks) {
		struct lt_park_key k = {
			.tgid = bpf_get_current_pid_tgid() >> 32,
			.goid = goid,
		};

		bpf_map_delete_elem(&parked, &k);
	}
	e = lt_reserve(sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->type = LT_EV_GO_EXIT;
	e->tgid = bpf_get_current_pid_tgid() >> 32;
	e->ts_ns = bpf_ktime_get_ns();
	e->goid = goid;
	lt_submit(e);
	return 0;
}
